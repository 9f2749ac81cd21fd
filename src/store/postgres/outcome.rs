//! Batched outcome writes of the PostgreSQL store: `record_submitted`, `record_retry`,
//! `record_final`, `record_receipt`, `notification_done` and `notification_retry` (issue 6).
//!
//! Each call becomes an [`Outcome`] sent over one channel; an outcome writer takes every call
//! waiting (up to `batch_max`) and applies them in ONE transaction of set-based statements (one
//! `unnest` statement per kind of write, whatever the number of calls), pipelined: the requests
//! are sent back to back on one connection without waiting for each answer (tokio-postgres sends
//! a request when its future is first polled, and [`run`] polls them together, in order), and the
//! server runs them in that order. A batch without receipts is ONE round trip (BEGIN, the writes,
//! COMMIT); a batch with receipts is two (the receipt's recipient and pap-version decide the final
//! state in Rust before the final transitions are written). One commit answers every caller.
//!
//! The calls of one batch were all in flight together (none was answered), so any order among
//! them is one the callers could have seen; the writer applies them by kind (submissions, retries,
//! notifications, receipts, then every final transition), which keeps the result of each call
//! what it would be run alone in that order. Two calls touching the same recipient (or the same
//! segment, or the same notification) in one batch would need row-by-row order inside a
//! set-based statement, so the second one waits for the writer's next batch instead ([`Keys`]).
//!
//! Locks (what the per-call transactions did, kept): a receipt locks its recipient
//! (`FOR UPDATE`, in id order) before its segment's outcome is written and the segments are
//! counted, so two receipts for the last two segments of one recipient handled at once by two
//! instances (or two writers) cannot both see the other segment outstanding. A final transition
//! only changes a recipient still pending (the first outcome stands).
//!
//! Failure: a batch that fails is rolled back and every call in it is answered with `Backend`
//! (nothing is silently dropped: the dispatcher then lets the lease run out; a receipt is not
//! acknowledged and the SMSC sends it again). A deadlock (40P01) or serialization failure (40001),
//! which PostgreSQL resolves by aborting one transaction of the cycle, is retried once with the
//! whole batch: no statement of the aborted attempt is kept.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::{CHANNEL, Depth, receipt_desc};
use crate::metrics::Metrics;
use crate::store::{
    FinalEvent, MessageState, ReceiptMatch, ReceiptUpdate, StoreError, SubmittedSegment,
};
use crate::util::UtcTime;

type Answer<T> = oneshot::Sender<Result<T, StoreError>>;

/// One outcome write waiting for an outcome writer.
pub(super) enum Outcome {
    Submitted {
        recipient_id: i64,
        smsc: String,
        segments: Vec<SubmittedSegment>,
        confirmed: bool,
        now: UtcTime,
        answer: Answer<Option<FinalEvent>>,
    },
    Retry {
        recipient_id: i64,
        retry_at: UtcTime,
        desc: String,
        now: UtcTime,
        answer: Answer<()>,
    },
    Final {
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: String,
        now: UtcTime,
        answer: Answer<Option<FinalEvent>>,
    },
    Receipt {
        receipt: ReceiptUpdate,
        now: UtcTime,
        answer: Answer<ReceiptMatch>,
    },
    NotificationDone {
        id: i64,
        answer: Answer<()>,
    },
    NotificationRetry {
        id: i64,
        retry_at: UtcTime,
        answer: Answer<()>,
    },
}

/// What one call gets when its batch commits.
enum Reply {
    Event(Option<FinalEvent>),
    Unit,
    Receipt(ReceiptMatch),
}

impl Outcome {
    /// Answers with the batch's result for this call (an error replaces any reply).
    fn answer(self, r: Result<Reply, &str>) {
        let err = |why: &str| StoreError::Backend(format!("store commit failed: {why}"));
        match self {
            Outcome::Submitted { answer, .. } | Outcome::Final { answer, .. } => {
                let _ = answer.send(match r {
                    Ok(Reply::Event(e)) => Ok(e),
                    Ok(_) => Err(err("internal: wrong reply kind")),
                    Err(w) => Err(err(w)),
                });
            }
            Outcome::Receipt { answer, .. } => {
                let _ = answer.send(match r {
                    Ok(Reply::Receipt(m)) => Ok(m),
                    Ok(_) => Err(err("internal: wrong reply kind")),
                    Err(w) => Err(err(w)),
                });
            }
            Outcome::Retry { answer, .. }
            | Outcome::NotificationDone { answer, .. }
            | Outcome::NotificationRetry { answer, .. } => {
                let _ = answer.send(match r {
                    Ok(Reply::Unit) => Ok(()),
                    Ok(_) => Err(err("internal: wrong reply kind")),
                    Err(w) => Err(err(w)),
                });
            }
        }
    }
}

/// The rows a batch's calls touch; a call whose rows an earlier call of the batch already
/// touches waits for the next batch (a set-based statement cannot apply two changes to one row
/// in call order).
#[derive(Default)]
struct Keys {
    recipients: HashSet<i64>,
    segments: HashSet<(String, String)>,
    notifications: HashSet<i64>,
}

impl Keys {
    /// Takes the call's rows if none is taken yet; false (and nothing taken) otherwise.
    fn take(&mut self, c: &Outcome) -> bool {
        match c {
            Outcome::Submitted {
                recipient_id,
                smsc,
                segments,
                ..
            } => {
                if self.recipients.contains(recipient_id)
                    || segments.iter().any(|s| {
                        self.segments
                            .contains(&(smsc.clone(), s.message_id.clone()))
                    })
                {
                    return false;
                }
                self.recipients.insert(*recipient_id);
                for s in segments {
                    self.segments.insert((smsc.clone(), s.message_id.clone()));
                }
                true
            }
            Outcome::Retry { recipient_id, .. } | Outcome::Final { recipient_id, .. } => {
                self.recipients.insert(*recipient_id)
            }
            Outcome::Receipt { receipt, .. } => self
                .segments
                .insert((receipt.smsc.clone(), receipt.message_id.clone())),
            Outcome::NotificationDone { id, .. } | Outcome::NotificationRetry { id, .. } => {
                self.notifications.insert(*id)
            }
        }
    }
}

/// True for the SQLSTATEs after which the same transaction, run again, may succeed: PostgreSQL
/// aborted it to break a deadlock (40P01) or a serialization conflict (40001).
pub(super) fn retryable(code: Option<&SqlState>) -> bool {
    code.is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// An outcome writer. Several share the channel: while one batch commits, the next forms and is
/// sent by another.
pub(super) async fn writer_loop(
    pool: Pool,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Outcome>>>,
    batch_max: usize,
    depth: Arc<Mutex<Depth>>,
    metrics: Metrics,
) {
    // Calls deferred because an earlier call of their batch touched the same rows.
    let mut carry: VecDeque<Outcome> = VecDeque::new();
    loop {
        let mut calls: Vec<Outcome> = carry.drain(..).collect();
        if calls.is_empty() {
            if rx.lock().await.recv_many(&mut calls, batch_max).await == 0 {
                return;
            }
        } else if let Ok(mut g) = rx.try_lock() {
            // Never wait with deferred calls in hand: they are due now.
            while calls.len() < batch_max {
                match g.try_recv() {
                    Ok(c) => calls.push(c),
                    Err(_) => break,
                }
            }
        }
        let mut keys = Keys::default();
        let mut batch = Vec::with_capacity(calls.len());
        for c in calls {
            // A final transition to a state that is not final is the caller's bug: refused
            // alone, the rest of the batch goes on.
            if let Outcome::Final { state, .. } = &c
                && !state.is_final()
            {
                let why = format!("{} is not a final state", state.as_str());
                if let Outcome::Final { answer, .. } = c {
                    let _ = answer.send(Err(StoreError::Backend(why)));
                }
                continue;
            }
            if keys.take(&c) {
                batch.push(c);
            } else {
                carry.push_back(c);
            }
        }
        let started = Instant::now();
        let size = batch.len();
        let result = match pool.get().await {
            Ok(client) => {
                let mut r = apply(&client, &batch).await;
                if let Err(e) = &r
                    && retryable(e.code())
                {
                    tracing::warn!(error = %e, batch = size, "store batch aborted by PostgreSQL (deadlock or serialization); retrying it once");
                    // An abort in the first round trip of a batch with receipts leaves the
                    // transaction open (aborted): without a ROLLBACK the retry's statements
                    // would all fail with 25P02. (After a one-round-trip batch there is no
                    // transaction left and the ROLLBACK only warns.)
                    r = match client.batch_execute("ROLLBACK").await {
                        Ok(()) => apply(&client, &batch).await,
                        Err(rollback) => Err(rollback),
                    };
                }
                if r.is_err() && client.batch_execute("ROLLBACK").await.is_err() {
                    // The connection is unusable (or in an unknown state): never reuse it.
                    let _ = deadpool_postgres::Object::take(client);
                }
                r.map_err(|e| StoreError::from(e).to_string())
            }
            Err(e) => Err(format!("cannot begin a store transaction: {e}")),
        };
        match result {
            Ok(replies) => {
                let finished = replies
                    .iter()
                    .filter(|r| {
                        matches!(
                            r,
                            Reply::Event(Some(_)) | Reply::Receipt(ReceiptMatch::Final(_))
                        )
                    })
                    .count();
                if finished > 0
                    && let Ok(mut d) = depth.lock()
                {
                    d.value = d.value.saturating_sub(finished as u64);
                }
                for (c, r) in batch.into_iter().zip(replies) {
                    c.answer(Ok(r));
                }
            }
            Err(why) => {
                tracing::error!(error = %why, batch = size, "store batch failed; every outcome of the batch was refused");
                for c in batch {
                    c.answer(Err(&why));
                }
            }
        }
        metrics.store_commit_batch_size.observe(size as f64);
        metrics
            .store_commit_duration
            .observe(started.elapsed().as_secs_f64());
    }
}

type Step<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Runs the steps as one pipeline: every request is sent before the first answer is read
/// (`join_all` polls its futures in order, and each tokio-postgres request goes out at its
/// future's first poll), so the server runs them in order with no round trip in between. The
/// first error is the cause; the statements after it fail with 25P02 (transaction aborted), and a
/// COMMIT after it rolls back.
async fn run(steps: Vec<Step<'_>>) -> Result<Vec<Vec<Row>>, tokio_postgres::Error> {
    futures::future::join_all(steps).await.into_iter().collect()
}

fn step<'a, F>(f: F) -> Step<'a>
where
    F: Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a,
{
    Box::pin(f)
}

fn simple<'a>(c: &'a Client, sql: &'static str) -> Step<'a> {
    step(async move { c.batch_execute(sql).await.map(|()| Vec::new()) })
}

/// The state a recipient must be in for a submission, retry or final transition to apply to it,
/// passed as a parameter, never written in the statement: a literal `r.state = 'pending'` lets
/// the planner read `recipient` from end to end through any partial index whose predicate it
/// implies (`recipient_pending_push` until migration 5), joining the batch's ids as a filter.
/// Statistics taken in steady state (a few pending recipients among millions) make that scan look
/// cheapest, and it is: until an SMSC outage leaves 10^5 pushes pending and every batch reads all
/// of them. A parameter cannot prove a predicate in a generic plan (the pool's sessions plan
/// generically, see `pool_for`), so the only way to the recipients is one recipient_pkey probe
/// per id, whatever index is added later. `generic_plans_probe_keys` (proto-tests/store.rs)
/// checks the plans.
const PENDING: &str = "pending";

// Statement texts; prepared once per connection (`prepare_cached`).

pub(super) const SUBMITTED_SQL: &str = "WITH u AS (
         UPDATE recipient r SET submitted = TRUE, smsc = t.smsc, leased_until = NULL,
             updated_at = t.at, description = t.description
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])
             AS t(id, smsc, at, description)
         WHERE r.id = t.id AND r.state = $9
         RETURNING r.id),
     s AS (
         INSERT INTO segment (recipient, seqnum, smsc, message_id, outcome)
         SELECT g.rid, g.seq, g.smsc, g.mid, NULL
         FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::text[]) AS g(rid, seq, smsc, mid)
         WHERE g.rid IN (SELECT id FROM u)
         ON CONFLICT (smsc, message_id) DO UPDATE SET
             recipient = excluded.recipient, seqnum = excluded.seqnum, outcome = NULL)
     SELECT id FROM u";

pub(super) const RETRY_SQL: &str =
    "UPDATE recipient r SET leased_until = NULL, next_attempt_at = t.retry_at,
         description = t.description, updated_at = t.at
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
         AS t(id, retry_at, description, at)
     WHERE r.id = t.id AND r.state = $5";

const NOTIFY_SQL: &str = "SELECT pg_notify($1, '')";

/// Locks the recipient of every matched receipt, in id order (two transactions locking
/// overlapping sets in one order cannot deadlock on them).
pub(super) const RECEIPT_LOCK_SQL: &str = "SELECT t.i, s.recipient, p.pap_version
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(smsc, mid, i)
     JOIN segment s ON s.smsc = t.smsc AND s.message_id = t.mid
     JOIN recipient r ON r.id = s.recipient
     JOIN push p ON p.id = r.push
     ORDER BY r.id
     FOR UPDATE OF r";

pub(super) const SEGMENT_OUTCOME_SQL: &str = "UPDATE segment s SET outcome = t.o
     FROM unnest($1::text[], $2::text[], $3::text[]) AS t(smsc, mid, o)
     WHERE s.smsc = t.smsc AND s.message_id = t.mid";

/// Segments not (yet) delivered, per recipient of a delivered receipt (counted after this
/// batch's outcomes are written, under the recipient lock).
pub(super) const OUTSTANDING_SQL: &str = "SELECT recipient,
         COUNT(*) FILTER (WHERE outcome IS NULL OR outcome <> 'delivered')
     FROM segment
     WHERE recipient IN (
         SELECT s.recipient FROM unnest($1::text[], $2::text[]) AS t(smsc, mid)
         JOIN segment s ON s.smsc = t.smsc AND s.message_id = t.mid)
     GROUP BY recipient";

pub(super) const NOTIFICATION_RETRY_SQL: &str =
    "UPDATE notification n SET leased_until = NULL, next_attempt_at = t.at
     FROM unnest($1::bigint[], $2::bigint[]) AS t(id, at) WHERE n.id = t.id";

pub(super) const NOTIFICATION_DONE_SQL: &str =
    "DELETE FROM notification WHERE id = ANY($1::bigint[])";

/// One final transition (the embedded store's `finish`, for many recipients at once).
pub(super) struct FinishReq {
    pub recipient_id: i64,
    pub state: MessageState,
    pub code: u16,
    pub desc: String,
    pub at: UtcTime,
    /// The SMSC that accepted an unconfirmed submission (marked submitted in the same UPDATE);
    /// None for every other final transition.
    pub smsc: Option<String>,
}

/// Sets the final state of every recipient still pending and queues its result notification
/// (when the push asked for one), in ONE statement. RETURNING gives what the event needs. (The
/// push itself is not written: the cleanup forgets it once every recipient is final.)
///
/// `smsc` is set for an unconfirmed submission (accepted by the SMSC is final): the recipient is
/// marked submitted in the same row version instead of a submission UPDATE followed by this one.
pub(super) const FINISH_SQL: &str = "WITH t AS (
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[],
             $6::text[])
             AS t(id, state, code, description, at, smsc)),
     f AS (
         UPDATE recipient r SET state = t.state, code = t.code, description = t.description,
             updated_at = t.at, leased_until = NULL,
             submitted = r.submitted OR t.smsc IS NOT NULL, smsc = COALESCE(t.smsc, r.smsc)
         FROM t, push p
         WHERE r.id = t.id AND r.state = $7 AND p.id = r.push
         RETURNING r.id, p.push_id, p.pap_version, p.notify_to, p.received_at, r.address,
             t.state, t.code, t.description, t.at),
     n AS (
         INSERT INTO notification (url, push_id, pap_version, address, state, code,
             description, received_at, event_at, attempts, next_attempt_at, created_at)
         SELECT notify_to, push_id, pap_version, address, state, code, description,
             received_at, at, 0, at, at
         FROM f WHERE notify_to IS NOT NULL)
     SELECT id, push_id, received_at, address FROM f";

/// The arrays of a finish: the first request for a recipient counts, later ones get None.
pub(super) struct FinishArgs {
    ids: Vec<i64>,
    states: Vec<&'static str>,
    codes: Vec<i64>,
    descs: Vec<String>,
    ats: Vec<i64>,
    smscs: Vec<Option<String>>,
}

impl FinishArgs {
    pub(super) fn new(reqs: &[FinishReq]) -> FinishArgs {
        let mut seen = HashSet::with_capacity(reqs.len());
        let mut a = FinishArgs {
            ids: Vec::with_capacity(reqs.len()),
            states: Vec::with_capacity(reqs.len()),
            codes: Vec::with_capacity(reqs.len()),
            descs: Vec::with_capacity(reqs.len()),
            ats: Vec::with_capacity(reqs.len()),
            smscs: Vec::with_capacity(reqs.len()),
        };
        for r in reqs {
            if seen.insert(r.recipient_id) {
                a.ids.push(r.recipient_id);
                a.states.push(r.state.as_str());
                a.codes.push(i64::from(r.code));
                a.descs.push(r.desc.clone());
                a.ats.push(r.at.0);
                a.smscs.push(r.smsc.clone());
            }
        }
        a
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(super) fn finish_params(&self) -> [&(dyn ToSql + Sync); 7] {
        [
            &self.ids,
            &self.states,
            &self.codes,
            &self.descs,
            &self.ats,
            &self.smscs,
            &PENDING,
        ]
    }
}

/// The events of a finish, one per request (None: not pending any more, or a later request for a
/// recipient finished by an earlier one).
pub(super) fn finish_events(
    reqs: &[FinishReq],
    rows: &[Row],
) -> Result<Vec<Option<FinalEvent>>, tokio_postgres::Error> {
    let mut done: HashMap<i64, (String, i64, String)> = HashMap::with_capacity(rows.len());
    for r in rows {
        done.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    Ok(reqs
        .iter()
        .map(|q| {
            // remove: a second request for the same recipient gets None.
            done.remove(&q.recipient_id)
                .map(|(push_id, received_at, address)| FinalEvent {
                    push_id,
                    address,
                    state: q.state,
                    code: q.code,
                    desc: q.desc.clone(),
                    received_at: UtcTime(received_at),
                    at: q.at,
                })
        })
        .collect())
}

/// What the receipts of a batch need after the first round trip.
struct ReceiptIn<'a> {
    call: usize,
    rc: &'a ReceiptUpdate,
    now: UtcTime,
}

/// The statement when `needed` (prepared once per connection, cached after), else None.
async fn prepare_if(
    client: &deadpool_postgres::Client,
    needed: bool,
    sql: &str,
) -> Result<Option<tokio_postgres::Statement>, tokio_postgres::Error> {
    if needed {
        Ok(Some(client.prepare_cached(sql).await?))
    } else {
        Ok(None)
    }
}

/// Applies one batch in one transaction; one reply per call, in call order.
async fn apply(
    client: &deadpool_postgres::Client,
    calls: &[Outcome],
) -> Result<Vec<Reply>, tokio_postgres::Error> {
    let c: &Client = client;
    // Inputs, by kind.
    let (mut sub_id, mut sub_smsc, mut sub_at, mut sub_desc) = (vec![], vec![], vec![], vec![]);
    let (mut seg_rid, mut seg_seq, mut seg_smsc, mut seg_mid) = (vec![], vec![], vec![], vec![]);
    let (mut rt_id, mut rt_at, mut rt_desc, mut rt_now) = (vec![], vec![], vec![], vec![]);
    let (mut nr_id, mut nr_at, mut nd_id) = (vec![], vec![], vec![]);
    let mut receipts: Vec<ReceiptIn<'_>> = vec![];
    // record_final and unconfirmed submissions (call index, request); receipts add theirs later.
    let (mut fin_calls, mut fin_reqs): (Vec<usize>, Vec<FinishReq>) = (vec![], vec![]);
    for (i, call) in calls.iter().enumerate() {
        match call {
            Outcome::Submitted {
                recipient_id,
                smsc,
                segments,
                confirmed,
                now,
                ..
            } => {
                if *confirmed {
                    sub_id.push(*recipient_id);
                    sub_smsc.push(smsc.as_str());
                    sub_at.push(now.0);
                    sub_desc.push(format!(
                        "submitted to SMSC {smsc}, waiting for the delivery receipt"
                    ));
                    // An SMSC may reuse a message_id once the old message is long gone: the
                    // newest submission owns it. One row per message_id (ON CONFLICT DO UPDATE
                    // may not touch a row twice in one statement): a message_id the SMSC gave
                    // twice keeps its last segment, as row-by-row upserts would.
                    let first = seg_mid.len();
                    for s in segments {
                        if let Some(j) = seg_mid[first..]
                            .iter()
                            .position(|m: &&str| *m == s.message_id)
                        {
                            seg_seq[first + j] = i64::from(s.seqnum);
                        } else {
                            seg_rid.push(*recipient_id);
                            seg_seq.push(i64::from(s.seqnum));
                            seg_smsc.push(smsc.as_str());
                            seg_mid.push(s.message_id.as_str());
                        }
                    }
                } else {
                    // Unconfirmed: accepted by the SMSC is final, so submitted and final are
                    // one UPDATE (the finish marks it submitted to `smsc`), only if pending.
                    fin_calls.push(i);
                    fin_reqs.push(FinishReq {
                        recipient_id: *recipient_id,
                        state: MessageState::Delivered,
                        code: 1000,
                        desc: format!("accepted by SMSC {smsc}"),
                        at: *now,
                        smsc: Some(smsc.clone()),
                    });
                }
            }
            Outcome::Retry {
                recipient_id,
                retry_at,
                desc,
                now,
                ..
            } => {
                rt_id.push(*recipient_id);
                rt_at.push(retry_at.0);
                rt_desc.push(desc.as_str());
                rt_now.push(now.0);
            }
            Outcome::Final {
                recipient_id,
                state,
                code,
                desc,
                now,
                ..
            } => {
                fin_calls.push(i);
                fin_reqs.push(FinishReq {
                    recipient_id: *recipient_id,
                    state: *state,
                    code: *code,
                    desc: desc.clone(),
                    at: *now,
                    smsc: None,
                });
            }
            Outcome::Receipt { receipt, now, .. } => receipts.push(ReceiptIn {
                call: i,
                rc: receipt,
                now: *now,
            }),
            Outcome::NotificationDone { id, .. } => nd_id.push(*id),
            Outcome::NotificationRetry { id, retry_at, .. } => {
                nr_id.push(*id);
                nr_at.push(retry_at.0);
            }
        }
    }
    // Receipt inputs: every receipt is looked up (Unmatched vs Recorded); only a non-intermediate
    // one writes its segment's outcome (the segment outcome word does not depend on the PAP
    // version, only the recipient state does).
    let rc_smsc: Vec<&str> = receipts.iter().map(|r| r.rc.smsc.as_str()).collect();
    let rc_mid: Vec<&str> = receipts.iter().map(|r| r.rc.message_id.as_str()).collect();
    let rc_idx: Vec<i64> = (0..receipts.len() as i64).collect();
    let (mut so_smsc, mut so_mid, mut so_out) = (vec![], vec![], vec![]);
    let (mut dl_smsc, mut dl_mid) = (vec![], vec![]);
    for r in &receipts {
        if let Some((outcome, state)) = r.rc.outcome.recipient_state("2.0") {
            so_smsc.push(r.rc.smsc.as_str());
            so_mid.push(r.rc.message_id.as_str());
            so_out.push(outcome);
            if state == MessageState::Delivered {
                dl_smsc.push(r.rc.smsc.as_str());
                dl_mid.push(r.rc.message_id.as_str());
            }
        }
    }

    // Statements (one round trip the first time on a connection, cached after).
    let st_sub = prepare_if(client, !sub_id.is_empty(), SUBMITTED_SQL).await?;
    let st_retry = prepare_if(client, !rt_id.is_empty(), RETRY_SQL).await?;
    let st_notify = prepare_if(client, !rt_id.is_empty(), NOTIFY_SQL).await?;
    let st_lock = prepare_if(client, !receipts.is_empty(), RECEIPT_LOCK_SQL).await?;
    let st_so = prepare_if(client, !so_smsc.is_empty(), SEGMENT_OUTCOME_SQL).await?;
    let st_out = prepare_if(client, !dl_smsc.is_empty(), OUTSTANDING_SQL).await?;
    let st_nr = prepare_if(client, !nr_id.is_empty(), NOTIFICATION_RETRY_SQL).await?;
    let st_nd = prepare_if(client, !nd_id.is_empty(), NOTIFICATION_DONE_SQL).await?;
    let st_finish = client.prepare_cached(FINISH_SQL).await?;

    // Without receipts every final transition is known before the first round trip, which
    // then finishes and commits too.
    let args_now = FinishArgs::new(if receipts.is_empty() { &fin_reqs } else { &[] });

    // First round trip: BEGIN and every write that needs no answer from Rust. Submissions
    // first: a receipt in the same batch then finds the segments they wrote.
    let mut steps: Vec<Step<'_>> = vec![simple(c, "BEGIN")];
    if let Some(st) = &st_sub {
        let (a, b, cc, d) = (&sub_id, &sub_smsc, &sub_at, &sub_desc);
        let (e, f, g, h) = (&seg_rid, &seg_seq, &seg_smsc, &seg_mid);
        steps.push(step(async move {
            c.query(st, &[a, b, cc, d, e, f, g, h, &PENDING]).await
        }));
    }
    if let (Some(st), Some(stn)) = (&st_retry, &st_notify) {
        let (a, b, cc, d) = (&rt_id, &rt_at, &rt_desc, &rt_now);
        steps.push(step(
            async move { c.query(st, &[a, b, cc, d, &PENDING]).await },
        ));
        // Another instance may be idle with free capacity: it takes the retry when due. The
        // NOTIFY is delivered at COMMIT.
        steps.push(step(async move { c.query(stn, &[&CHANNEL]).await }));
    }
    if let Some(st) = &st_nr {
        let (a, b) = (&nr_id, &nr_at);
        steps.push(step(async move { c.query(st, &[a, b]).await }));
    }
    if let Some(st) = &st_nd {
        let a = &nd_id;
        steps.push(step(async move { c.query(st, &[a]).await }));
    }
    let i_lock = steps.len();
    if let Some(st) = &st_lock {
        let (a, b, cc) = (&rc_smsc, &rc_mid, &rc_idx);
        steps.push(step(async move { c.query(st, &[a, b, cc]).await }));
    }
    if let Some(st) = &st_so {
        let (a, b, cc) = (&so_smsc, &so_mid, &so_out);
        steps.push(step(async move { c.query(st, &[a, b, cc]).await }));
    }
    let i_out = steps.len();
    if let Some(st) = &st_out {
        let (a, b) = (&dl_smsc, &dl_mid);
        steps.push(step(async move { c.query(st, &[a, b]).await }));
    }

    let mut replies: Vec<Option<Reply>> = calls
        .iter()
        .map(|call| match call {
            // A confirmed submission waits for its receipts (or was final already: the outcome
            // recorded first stands); either way no event now.
            Outcome::Submitted { .. } => Some(Reply::Event(None)),
            Outcome::Final { .. } => Some(Reply::Event(None)),
            Outcome::Retry { .. }
            | Outcome::NotificationDone { .. }
            | Outcome::NotificationRetry { .. } => Some(Reply::Unit),
            Outcome::Receipt { .. } => None,
        })
        .collect();

    if receipts.is_empty() {
        let args = &args_now;
        let i_fin = steps.len();
        if !args.is_empty() {
            let (st, a) = (&st_finish, args);
            steps.push(step(async move { c.query(st, &a.finish_params()).await }));
        }
        steps.push(simple(c, "COMMIT"));
        let rows = run(steps).await?;
        if !args.is_empty() {
            for (k, e) in fin_calls
                .iter()
                .zip(finish_events(&fin_reqs, &rows[i_fin])?)
            {
                replies[*k] = Some(Reply::Event(e));
            }
        }
        return Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or(Reply::Unit))
            .collect());
    }
    let rows = run(steps).await?;

    // Receipts: matched segment → (recipient, pap_version), and segments outstanding.
    let mut matched: HashMap<usize, (i64, String)> = HashMap::new();
    for r in &rows[i_lock] {
        let n: i64 = r.try_get(0)?;
        matched.insert(n as usize, (r.try_get(1)?, r.try_get(2)?));
    }
    let mut outstanding: HashMap<i64, i64> = HashMap::new();
    if st_out.is_some() {
        for r in &rows[i_out] {
            outstanding.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    // Per recipient, in call order: the first failure makes it final (digest §6.5: 4000 with the
    // SMSC's words); otherwise the delivered receipt that leaves no segment outstanding does.
    let mut by_recipient: HashMap<i64, Vec<(usize, &'static str, MessageState)>> = HashMap::new();
    for (n, r) in receipts.iter().enumerate() {
        let Some((rid, pap_version)) = matched.get(&n) else {
            replies[r.call] = Some(Reply::Receipt(ReceiptMatch::Unmatched));
            continue;
        };
        replies[r.call] = Some(Reply::Receipt(ReceiptMatch::Recorded));
        if let Some((outcome, state)) = r.rc.outcome.recipient_state(pap_version) {
            by_recipient
                .entry(*rid)
                .or_default()
                .push((n, outcome, state));
        }
    }
    // Every final transition of the batch: record_final and submissions first, then receipts
    // (the order the writer applies the kinds in); a recipient finishes once.
    let mut reqs = fin_reqs;
    let mut rc_of_req: Vec<usize> = vec![];
    for (rid, list) in &by_recipient {
        let failed = list.iter().find(|(_, _, s)| *s != MessageState::Delivered);
        let pick = match failed {
            Some((n, outcome, state)) => Some((*n, *outcome, *state, 4000)),
            None if outstanding.get(rid).copied().unwrap_or(0) == 0 => list
                .last()
                .map(|(n, outcome, state)| (*n, *outcome, *state, 1000)),
            None => None,
        };
        if let Some((n, outcome, state, code)) = pick {
            let r = &receipts[n];
            rc_of_req.push(n);
            reqs.push(FinishReq {
                recipient_id: *rid,
                state,
                code,
                desc: receipt_desc(outcome, &r.rc.detail),
                at: r.now,
                smsc: None,
            });
        }
    }
    let args = FinishArgs::new(&reqs);
    let mut steps: Vec<Step<'_>> = vec![];
    if !args.is_empty() {
        let (st, a) = (&st_finish, &args);
        steps.push(step(async move { c.query(st, &a.finish_params()).await }));
    }
    steps.push(simple(c, "COMMIT"));
    let rows = run(steps).await?;
    if !args.is_empty() {
        let events = finish_events(&reqs, &rows[0])?;
        let n_plain = fin_calls.len();
        for (j, e) in events.into_iter().enumerate() {
            if j < n_plain {
                replies[fin_calls[j]] = Some(Reply::Event(e));
            } else if let Some(e) = e {
                let call = receipts[rc_of_req[j - n_plain]].call;
                replies[call] = Some(Reply::Receipt(ReceiptMatch::Final(e)));
            }
        }
    }
    Ok(replies
        .into_iter()
        .map(|r| r.unwrap_or(Reply::Unit))
        .collect())
}

#[cfg(test)]
use crate::store::ReceiptOutcome;

#[cfg(test)]
fn segment_word(o: ReceiptOutcome) -> Option<&'static str> {
    o.recipient_state("2.0").map(|(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlock_and_serialization_failures_are_retried_nothing_else() {
        assert!(retryable(Some(&SqlState::T_R_DEADLOCK_DETECTED)));
        assert!(retryable(Some(&SqlState::T_R_SERIALIZATION_FAILURE)));
        assert!(retryable(Some(&SqlState::from_code("40P01"))));
        assert!(retryable(Some(&SqlState::from_code("40001"))));
        // A unique violation, an aborted transaction, a lost connection (no SQLSTATE): the same
        // batch would fail again or cannot be resent on this connection.
        assert!(!retryable(Some(&SqlState::UNIQUE_VIOLATION)));
        assert!(!retryable(Some(&SqlState::IN_FAILED_SQL_TRANSACTION)));
        assert!(!retryable(Some(&SqlState::QUERY_CANCELED)));
        assert!(!retryable(None));
    }

    #[test]
    fn the_segment_outcome_word_does_not_depend_on_the_pap_version() {
        for o in [
            ReceiptOutcome::Intermediate,
            ReceiptOutcome::Delivered,
            ReceiptOutcome::Expired,
            ReceiptOutcome::Undeliverable,
            ReceiptOutcome::Deleted,
            ReceiptOutcome::Rejected,
            ReceiptOutcome::Unknown,
        ] {
            assert_eq!(
                segment_word(o),
                o.recipient_state("1.0").map(|(w, _)| w),
                "{o:?}"
            );
        }
    }

    fn sub(rid: i64, mids: &[&str]) -> Outcome {
        Outcome::Submitted {
            recipient_id: rid,
            smsc: "s".into(),
            segments: mids
                .iter()
                .enumerate()
                .map(|(i, m)| SubmittedSegment {
                    seqnum: i as u32 + 1,
                    message_id: m.to_string(),
                })
                .collect(),
            confirmed: true,
            now: UtcTime(0),
            answer: oneshot::channel().0,
        }
    }

    fn receipt(mid: &str) -> Outcome {
        Outcome::Receipt {
            receipt: ReceiptUpdate {
                smsc: "s".into(),
                message_id: mid.into(),
                outcome: ReceiptOutcome::Delivered,
                detail: String::new(),
            },
            now: UtcTime(0),
            answer: oneshot::channel().0,
        }
    }

    #[test]
    fn a_second_call_on_the_same_rows_waits_for_the_next_batch() {
        let mut k = Keys::default();
        assert!(k.take(&sub(1, &["a", "b"])));
        assert!(!k.take(&sub(1, &["c"])), "same recipient");
        assert!(!k.take(&receipt("b")), "a segment this batch submits");
        assert!(k.take(&receipt("z")));
        assert!(!k.take(&receipt("z")), "the same receipt twice");
        assert!(k.take(&sub(2, &["c"])), "a failed take took nothing");
        let retry = Outcome::Retry {
            recipient_id: 2,
            retry_at: UtcTime(0),
            desc: String::new(),
            now: UtcTime(0),
            answer: oneshot::channel().0,
        };
        assert!(!k.take(&retry));
        let done = |id| Outcome::NotificationDone {
            id,
            answer: oneshot::channel().0,
        };
        assert!(k.take(&done(2)), "notification ids are not recipient ids");
        assert!(!k.take(&done(2)));
    }
}
