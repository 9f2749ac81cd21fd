//! The shared store: PostgreSQL, for several ppgd instances behind one load balancer (issue 6).
//!
//! The semantics of the embedded store ([`super::sqlite`]), with a schema that parts from it
//! where the server's costs differ (`schema`); what else differs is what sharing needs:
//! - Leases: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING ...`:
//!   two instances leasing at once never get the same recipient and never wait for each other.
//!   Leases are NOT released at start (another instance may hold them): only their expiry frees
//!   them, so the work of an instance that died is taken over `[store] lease` after its last lease.
//! - Duplicate push-ids are refused by the UNIQUE constraint (`ON CONFLICT (push_id) DO NOTHING`),
//!   never by a read-then-write, so two instances cannot both accept one push-id.
//! - Receipt correlation is the UNIQUE (smsc, message_id) of `segment`: a receipt arriving on any
//!   instance's SMPP session completes the push. The recipient row is locked (`FOR UPDATE`)
//!   before its segments are counted, so two receipts for two segments of one recipient handled
//!   at once by two instances cannot both miss the last one.
//! - `expire_due` and `cancel` lock the recipients they look at (`FOR UPDATE [SKIP LOCKED]`) and
//!   re-check the lease under that lock: a recipient another instance holds under a live lease
//!   is never expired or cancelled under it.
//! - Wakeups: every transaction that makes a recipient due NOTIFYs [`CHANNEL`]; a listener task
//!   per instance LISTENs on its own connection and wakes the dispatcher through
//!   [`PushStore::store_wake`], so a push accepted by one instance is leased by any in
//!   milliseconds. Polling stays as the fallback (the listener reconnects after a lost connection,
//!   and a NOTIFY sent while it was away is lost; the poll finds the push anyway).
//!
//! Group commit and batching (issue 6: one transaction for many writes, pipelined queries):
//! - `insert_push` hands its push to the insert writers over one channel; a writer takes every
//!   push waiting (up to `batch_max`) and stores the batch with ONE statement (the push and
//!   recipient INSERTs as CTEs over `unnest` arrays, and the NOTIFY): one round trip, one implicit
//!   transaction, one commit (one WAL flush, `synchronous_commit` as configured, on by default)
//!   before the server answers. [`WRITERS`] writers share the channel, so one batch is sent while
//!   another commits. A batch PostgreSQL aborts with 40001/40P01 is run once more.
//! - The outcome writes (`record_submitted`, `record_retry`, `record_final`, `record_receipt`,
//!   `notification_done`, `notification_retry`) go the same way to [`OUTCOME_WRITERS`] writers: one
//!   transaction per batch, one set-based statement per kind of write, sent as a pipeline (one
//!   round trip without receipts, two with). How a batch keeps each call's meaning (row locks,
//!   order, deadlock retry, failures): the `outcome` module (`postgres/outcome.rs`).
//! - Every final transition (these, `expire_due`, `cancel`) is the set-based `finish_many`.
//!
//! Plans: every hot statement is key lookups or an ordered scan of a queue index, so the pool's
//! sessions turn off the scans and joins that read whole tables and keep ONE generic plan per
//! statement (`pool_for`): plans made on cold statistics (a new database, before autovacuum's
//! first ANALYZE) would otherwise read every pending row per batch, and planning each execution
//! instead cost a third of the server's CPU. Migration 2 adds partial queue indexes for the same
//! reason ([`schema`]). BENCHMARKS.md, "Scale-out (PostgreSQL)", has the
//! figures and where the time goes.
//!
//! The queue limit counts recipients not final. Counting them is a scan of every pending entry,
//! so the writers keep the count cached for [`DEPTH_CACHE`] (100 ms) near the limit and
//! [`DEPTH_CACHE_FAR`] (1 s) below half of it, corrected by their own inserts and by this
//! instance's final transitions in between (one writer recounts at a time). Pushes accepted by
//! other instances since the last count are not counted yet, so N instances may overshoot the
//! limit by what they accept in 100 ms.
//!
//! TLS to the database: `[store] tls` (the CA that signed the server's certificate, and the name
//! to verify), required when set; see the `tls` module.

#[path = "postgres/outcome.rs"]
mod outcome;
#[path = "postgres/schema.rs"]
pub mod schema;
#[path = "postgres/tls.rs"]
pub mod tls;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::Row;
use tokio_postgres::config::SslMode;

use outcome::{FinishArgs, FinishReq, Outcome};
use tls::PgTls;

use super::{
    CancelOutcome, FinalEvent, Job, MessageState, NewPush, Notification, Priority, PushStore,
    QueueStats, ReceiptMatch, ReceiptUpdate, RecipientStatus, StoreError, SubmittedSegment,
};
use crate::config::TlsClientConfig;
use crate::metrics::Metrics;
use crate::util::UtcTime;

/// The LISTEN/NOTIFY channel: a recipient became due (new push, retry).
pub const CHANNEL: &str = "ppgd_due";
/// How long the writer trusts its count of recipients not final.
pub const DEPTH_CACHE: Duration = Duration::from_millis(100);
/// How long the writer trusts its count while the queue is below half its limit. Counting is a
/// scan of every pending entry (tens of ms at 10^5-10^6 pending, measured): ten times a second
/// per instance it costs the database a large share of a core for nothing when the limit is far.
/// Other instances would have to accept more than half the limit within this second for the
/// limit to be passed unseen.
pub const DEPTH_CACHE_FAR: Duration = Duration::from_secs(1);
/// Connections in the pool (the writers take theirs from it; the listener has its own).
const POOL_SIZE: usize = 32;
/// Insert writer tasks: while one batch commits, the next is sent by another. Two, not three:
/// fewer writers make larger batches (fewer statements and commits per push); scenario 1 with the
/// server on the same two cores, alternating builds: 2+2 writers 9.6-9.9k accepted/s and 159-182
/// ticks of server CPU per 20k pushes, 3+3 writers 7.8-9.0k/s and 189 ticks. One of each used
/// less server CPU still but let throughput swing (6.6-10.5k/s): a batch waits for the previous
/// commit.
const WRITERS: usize = 2;
/// Outcome writer tasks (record_*, notifications), sharing their own channel likewise.
const OUTCOME_WRITERS: usize = 2;
/// PAP code of a recipient still pending (WAP-247 §9.13: 1001 accepted for processing).
const PENDING_CODE: i64 = 1001;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => StoreError::Backend(format!("postgres: {}: {}", db.code().code(), db)),
            None => StoreError::Backend(format!("postgres: {}", with_causes(&e))),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Backend(format!("postgres pool: {}", with_causes(&e)))
    }
}

/// An error with its chain of causes ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer"): the outer message alone does not say what to fix.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        // deadpool repeats its inner error's text in its own.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// One `insert_push` waiting for the writer.
struct InsertCall {
    push: NewPush,
    answer: oneshot::Sender<Result<Vec<Job>, StoreError>>,
}

/// Recipients not final as last counted, and this instance's changes since.
struct Depth {
    value: u64,
    counted_at: Option<Instant>,
}

/// The PostgreSQL store. Dropping it stops the writer (after its current batch) and the listener.
pub struct PgStore {
    pool: Pool,
    tx: Option<mpsc::Sender<InsertCall>>,
    /// The outcome writers' channel (record_*, notification_done/retry).
    outcomes: Option<mpsc::Sender<Outcome>>,
    depth: Arc<Mutex<Depth>>,
    wake: Arc<Notify>,
    listener: JoinHandle<()>,
    queue_limit: u64,
}

/// The planner settings of every pooled session (why: `pool_for`).
pub const SESSION_OPTIONS: &str = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off \
    -c enable_bitmapscan=off -c enable_hashjoin=off -c enable_mergejoin=off";

/// Every statement the store runs per push or per batch, by name: the plan test
/// (`generic_plans_probe_keys` in proto-tests/store.rs) explains each one's generic plan on an
/// empty database and on steady-state statistics.
pub const HOT_STATEMENTS: &[(&str, &str)] = &[
    ("insert", INSERT_SQL),
    ("lease", LEASE_SQL),
    ("submitted", outcome::SUBMITTED_SQL),
    ("retry", outcome::RETRY_SQL),
    ("finish", outcome::FINISH_SQL),
    ("receipt_lock", outcome::RECEIPT_LOCK_SQL),
    ("segment_outcome", outcome::SEGMENT_OUTCOME_SQL),
    ("outstanding", outcome::OUTSTANDING_SQL),
    ("notification_retry", outcome::NOTIFICATION_RETRY_SQL),
    ("notification_done", outcome::NOTIFICATION_DONE_SQL),
    ("expire", EXPIRE_SQL),
    ("receipt_timeout", RECEIPT_TIMEOUT_SQL),
];

/// Gives the planner back every plan for the rest of a transaction (a table-wide job on a pool
/// session, see `pool_for`).
const FREE_PLANNER: &str = "SET LOCAL enable_seqscan = on; SET LOCAL enable_bitmapscan = on;
    SET LOCAL enable_hashjoin = on; SET LOCAL enable_mergejoin = on;
    SET LOCAL plan_cache_mode = auto";

/// Parses the URL and opens a pool (no connection is made yet): over TLS when `[store] tls` is
/// set (then required: `sslmode=require`), else without (`sslmode=disable`; a URL asking for
/// TLS without `[store] tls` to verify the server with is refused).
fn pool_for(
    url: &str,
    tls: Option<&TlsClientConfig>,
    size: usize,
) -> Result<(tokio_postgres::Config, PgTls, Pool), StoreError> {
    let mut pg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("store.url: {e}")))?;
    match (tls.is_some(), pg.get_ssl_mode()) {
        (true, SslMode::Disable) => {
            return Err(StoreError::Backend(
                "store.url says sslmode=disable but [store] tls is set: remove one".into(),
            ));
        }
        (true, _) => {
            pg.ssl_mode(SslMode::Require);
        }
        (false, SslMode::Require) => {
            return Err(StoreError::Backend(
                "store.url asks for sslmode=require: set [store] tls (ca = the PEM file of the \
                 CA that signed the server's certificate) so that the server can be verified"
                    .into(),
            ));
        }
        (false, _) => {
            pg.ssl_mode(SslMode::Disable);
        }
    }
    let connector = PgTls::new(tls).map_err(|e| StoreError::Backend(format!("store.tls: {e}")))?;
    // Plans: every statement of the store is a set of key lookups (an `unnest` array joined to
    // primary keys, or an ordered scan of a queue index that stops at a LIMIT), so the right plan
    // is the same whatever the sizes: nested loops over index scans. The pool's sessions are told
    // so (seq scans, bitmap scans, hash and merge joins off), which makes the plan independent of
    // the statistics, and then a generic plan (planned once per connection and statement) is as
    // good as a custom one. Measured on scenario 1: planning was a third of the server's CPU with
    // a custom plan per execution (plan_cache_mode=force_custom_plan, used before because a
    // generic plan made on a new, nearly empty database seq-scanned `push` for every batch long
    // after it held 10^5 rows: 30-90 ms per batch instead of < 1 ms). Table-wide maintenance
    // (cleanup) turns the planner back on for its own transaction ([`FREE_PLANNER`]).
    let mut pooled = pg.clone();
    let options = match pg.get_options() {
        Some(o) if !o.is_empty() => format!("{o} {SESSION_OPTIONS}"),
        _ => SESSION_OPTIONS.to_string(),
    };
    pooled.options(&options);
    let mgr = Manager::from_config(
        pooled,
        connector.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(mgr)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))?;
    Ok((pg, connector, pool))
}

/// Applies the migrations (`ppgd store migrate`; `PgStore::connect` does it too).
pub async fn migrate(url: &str, tls: Option<&TlsClientConfig>) -> Result<i64, StoreError> {
    let (_, _, pool) = pool_for(url, tls, 1)?;
    let mut client = pool.get().await?;
    schema::migrate(&mut client, UtcTime::now()).await
}

impl PgStore {
    /// Connects, applies the migrations (under the advisory lock), starts the writer and the
    /// LISTEN task. Leases found in the database are left alone: other instances may hold them.
    pub async fn connect(
        url: &str,
        tls: Option<&TlsClientConfig>,
        queue_limit: u64,
        batch_max: usize,
        metrics: Metrics,
    ) -> Result<PgStore, StoreError> {
        let (pg, connector, pool) = pool_for(url, tls, POOL_SIZE)?;
        // Counted once before the writers start, so that no writer accepts against a count of 0.
        let pending = {
            let mut client = pool.get().await?;
            schema::migrate(&mut client, UtcTime::now()).await?;
            count_pending(&client).await?
        };
        let depth = Arc::new(Mutex::new(Depth {
            value: pending,
            counted_at: Some(Instant::now()),
        }));
        let (tx, rx) = mpsc::channel::<InsertCall>(batch_max.max(1) * 16);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(writer_loop(
                pool.clone(),
                rx.clone(),
                batch_max.max(1),
                queue_limit,
                depth.clone(),
                metrics.clone(),
            ));
        }
        let (otx, orx) = mpsc::channel::<Outcome>(batch_max.max(1) * 16);
        let orx = Arc::new(tokio::sync::Mutex::new(orx));
        for _ in 0..OUTCOME_WRITERS {
            tokio::spawn(outcome::writer_loop(
                pool.clone(),
                orx.clone(),
                batch_max.max(1),
                depth.clone(),
                metrics.clone(),
            ));
        }
        let wake = Arc::new(Notify::new());
        // The first LISTEN is in place before connect returns: a push stored after it wakes us.
        let (ready_tx, ready_rx) = oneshot::channel();
        let listener = tokio::spawn(listen_loop(pg, connector, wake.clone(), Some(ready_tx)));
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                listener.abort();
                return Err(e);
            }
            Err(_) => {
                return Err(StoreError::Backend(
                    "the postgres LISTEN task ended before it listened".into(),
                ));
            }
        }
        Ok(PgStore {
            pool,
            tx: Some(tx),
            outcomes: Some(otx),
            depth,
            wake,
            listener,
            queue_limit,
        })
    }

    /// The configured queue limit.
    pub fn queue_limit(&self) -> u64 {
        self.queue_limit
    }

    /// Hands an outcome write (`make` given the channel its answer comes back on) to the outcome
    /// writers and waits for that answer.
    async fn outcome<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Outcome,
    ) -> Result<T, StoreError> {
        let tx = self.outcomes.as_ref().ok_or(StoreError::Closed)?;
        let (answer, wait) = oneshot::channel();
        tx.send(make(answer))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    /// This instance made `n` recipients final: they no longer count against the limit.
    fn finished(&self, n: usize) {
        if n > 0
            && let Ok(mut d) = self.depth.lock()
        {
            d.value = d.value.saturating_sub(n as u64);
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.tx.take();
        self.outcomes.take();
        self.listener.abort();
    }
}

/// Keeps one connection LISTENing on [`CHANNEL`]; every notification wakes the dispatcher.
/// Reconnects with a backoff when the connection is lost (polling covers the gap).
async fn listen_loop(
    pg: tokio_postgres::Config,
    connector: PgTls,
    wake: Arc<Notify>,
    mut ready: Option<oneshot::Sender<Result<(), StoreError>>>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match pg.connect(connector.clone()).await {
            Ok((client, mut conn)) => {
                // The connection yields notifications only while it is polled: drive it here and
                // send LISTEN through the client beside it.
                let (msg_tx, mut msg_rx) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    loop {
                        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                            Some(Ok(m)) => {
                                if msg_tx.send(m).is_err() {
                                    return;
                                }
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "postgres LISTEN connection failed");
                                return;
                            }
                            None => return,
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        if let Some(r) = ready.take() {
                            let _ = r.send(Ok(()));
                        }
                        // Whatever was stored while we were away is found by this wake.
                        wake.notify_one();
                        while let Some(m) = msg_rx.recv().await {
                            if let tokio_postgres::AsyncMessage::Notification(_) = m {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Err(e.into()));
                            driver.abort();
                            return;
                        }
                    }
                }
                driver.abort();
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e.into()));
                    return;
                }
                tracing::warn!(error = %e, "cannot connect the postgres LISTEN connection; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn count_pending(client: &tokio_postgres::Client) -> Result<u64, StoreError> {
    let n: i64 = client
        .query_one(
            // Pending = due or waiting (not submitted / submitted): each count reads its own
            // partial queue index (recipient_due, recipient_receipt_wait).
            "SELECT (SELECT COUNT(*) FROM recipient WHERE state = 'pending' AND submitted = FALSE)
                  + (SELECT COUNT(*) FROM recipient WHERE state = 'pending' AND submitted = TRUE)",
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A writer: one transaction per batch of waiting `insert_push` calls. [`WRITERS`] of them share
/// the channel, so one batch forms (and is sent) while another commits.
async fn writer_loop(
    pool: Pool,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<InsertCall>>>,
    batch_max: usize,
    queue_limit: u64,
    depth: Arc<Mutex<Depth>>,
    metrics: Metrics,
) {
    let mut batch: Vec<InsertCall> = Vec::with_capacity(batch_max);
    loop {
        let got = rx.lock().await.recv_many(&mut batch, batch_max).await;
        if got == 0 {
            return;
        }
        let started = Instant::now();
        let size = batch.len();
        let calls: Vec<InsertCall> = std::mem::take(&mut batch);
        let client = match pool.get().await {
            Ok(c) => c,
            Err(e) => {
                let why = e.to_string();
                for c in calls {
                    let _ = c.answer.send(Err(StoreError::Backend(format!(
                        "cannot begin a store transaction: {why}"
                    ))));
                }
                continue;
            }
        };
        // The count against the queue limit: recounted when older than DEPTH_CACHE, or than
        // DEPTH_CACHE_FAR while the queue is below half the limit.
        let stale = depth
            .lock()
            .map(|d| {
                let trust = if d.value < queue_limit / 2 {
                    DEPTH_CACHE_FAR
                } else {
                    DEPTH_CACHE
                };
                d.counted_at.is_none_or(|t| t.elapsed() >= trust)
            })
            .unwrap_or(true);
        // Claimed before counting: the other writers keep the cached count meanwhile instead of
        // scanning the same entries at the same moment.
        let claimed = stale
            && depth
                .lock()
                .map(|mut d| {
                    let mine = d.counted_at.is_none_or(|t| t.elapsed() >= DEPTH_CACHE);
                    if mine {
                        d.counted_at = Some(Instant::now());
                    }
                    mine
                })
                .unwrap_or(false);
        if claimed
            && let Ok(n) = count_pending(&client).await
            && let Ok(mut d) = depth.lock()
        {
            d.value = n;
            d.counted_at = Some(Instant::now());
        }
        // Refused at once: over the limit, or a push-id twice in this batch. The rest is
        // reserved in the count (so concurrent writers cannot both take the last places) and
        // goes to the database, whose UNIQUE (push_id) refuses what another transaction holds.
        let mut accepted: Vec<InsertCall> = Vec::with_capacity(calls.len());
        {
            let Ok(mut d) = depth.lock() else {
                for c in calls {
                    let _ = c.answer.send(Err(StoreError::Closed));
                }
                continue;
            };
            for c in calls {
                let n = c.push.recipients.len() as u64;
                if d.value.saturating_add(n) > queue_limit {
                    let _ = c.answer.send(Err(StoreError::QueueFull {
                        depth: d.value,
                        limit: queue_limit,
                    }));
                    continue;
                }
                if accepted.iter().any(|a| a.push.push_id == c.push.push_id) {
                    let push_id = c.push.push_id.clone();
                    let _ = c.answer.send(Err(StoreError::DuplicatePushId { push_id }));
                    continue;
                }
                d.value += n;
                accepted.push(c);
            }
        }
        if accepted.is_empty() {
            continue;
        }
        let unreserve = |n: u64| {
            if n > 0
                && let Ok(mut d) = depth.lock()
            {
                d.value = d.value.saturating_sub(n);
            }
        };
        // Two batches inserting the same push-ids in opposite orders (a PI that resends a
        // timed-out push through the load balancer to another instance) can deadlock on the
        // UNIQUE index; PostgreSQL aborts one (40P01). The statement is its own transaction, so
        // nothing of it was kept: run it once more rather than refuse every push of the batch.
        let mut result = insert_batch(&client, &accepted).await;
        if let Err(e) = &result
            && outcome::retryable(e.code())
        {
            tracing::warn!(error = %e, batch = size, "store insert aborted by PostgreSQL (deadlock or serialization); retrying it once");
            result = insert_batch(&client, &accepted).await;
        }
        match result.map_err(StoreError::from) {
            Ok(inserted) => {
                let mut refused = 0u64;
                for (c, stored) in accepted.into_iter().zip(inserted) {
                    if let Some(ids) = stored {
                        let _ = c.answer.send(Ok(leased_jobs(c.push, &ids)));
                    } else {
                        refused += c.push.recipients.len() as u64;
                        let push_id = c.push.push_id.clone();
                        let _ = c.answer.send(Err(StoreError::DuplicatePushId { push_id }));
                    }
                }
                unreserve(refused);
                if let Ok(d) = depth.lock() {
                    metrics.queue_depth.set(d.value as i64);
                }
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, batch = size, "store commit failed; every push of the batch was refused");
                unreserve(
                    accepted
                        .iter()
                        .map(|c| c.push.recipients.len() as u64)
                        .sum(),
                );
                for c in accepted {
                    let _ = c.answer.send(Err(StoreError::Backend(format!(
                        "store commit failed: {why}"
                    ))));
                }
            }
        }
        metrics.store_commit_batch_size.observe(size as f64);
        metrics
            .store_commit_duration
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The jobs of a push stored leased (`ids` from [`insert_batch`]); none for a push not leased.
fn leased_jobs(push: NewPush, ids: &[i64]) -> Vec<Job> {
    if push.lease_until.is_none() {
        return Vec::new();
    }
    if ids.len() != push.recipients.len() {
        // Cannot happen (every recipient of a stored push is stored with it); if it did, the
        // leases run out and the recipients are leased again: late, not lost.
        tracing::error!(push_id = %push.push_id, "leased at insert but the recipient ids did not come back; the lease will run out");
        return Vec::new();
    }
    push.leased_jobs(ids)
}

/// Stores a batch in one transaction; for each push, None when its push-id is taken (the UNIQUE
/// constraint said so), else the ids of its recipients stored leased, in the order of
/// `recipients` (empty when the push was not leased).
async fn insert_batch(
    client: &deadpool_postgres::Client,
    calls: &[InsertCall],
) -> Result<Vec<Option<Vec<i64>>>, tokio_postgres::Error> {
    let mut push_id = Vec::with_capacity(calls.len());
    let mut pi = Vec::with_capacity(calls.len());
    let mut pap_version = Vec::with_capacity(calls.len());
    let mut received_at = Vec::with_capacity(calls.len());
    let mut deliver_after = Vec::with_capacity(calls.len());
    let mut deliver_before = Vec::with_capacity(calls.len());
    let mut priority = Vec::with_capacity(calls.len());
    let mut confirmed = Vec::with_capacity(calls.len());
    let mut notify_to = Vec::with_capacity(calls.len());
    let mut wsp_pdu = Vec::with_capacity(calls.len());
    for c in calls {
        let p = &c.push;
        push_id.push(p.push_id.as_str());
        pi.push(p.pi.as_str());
        pap_version.push(p.pap_version.as_str());
        received_at.push(p.received_at.0);
        deliver_after.push(p.deliver_after.map(|t| t.0));
        deliver_before.push(p.deliver_before.map(|t| t.0));
        priority.push(p.priority as i64);
        confirmed.push(p.confirmed);
        notify_to.push(p.notify_to.as_deref());
        wsp_pdu.push(p.wsp_pdu.as_slice());
    }
    // Recipients as flat arrays keyed by push-id: the statement joins them to the push rows it
    // inserted (a push refused by ON CONFLICT gets no recipients).
    let mut r_push_id = Vec::new();
    let mut r_address = Vec::new();
    let mut r_msisdn = Vec::new();
    let mut r_lease_until = Vec::new();
    for c in calls {
        for r in &c.push.recipients {
            r_push_id.push(c.push.push_id.as_str());
            r_address.push(r.address.as_str());
            r_msisdn.push(r.msisdn.as_str());
            r_lease_until.push(c.push.lease_until.map(|t| t.0));
        }
    }
    // ONE statement, so one round trip and one implicit transaction: its commit (the WAL flush,
    // synchronous_commit=on) happens before the server answers, and tokio-postgres returns only
    // after that answer (ReadyForQuery), so every push is durable when its caller hears Ok.
    let ins = client.prepare_cached(INSERT_SQL).await?;
    let rows = client
        .query(
            &ins,
            &[
                &push_id,
                &pi,
                &pap_version,
                &received_at,
                &deliver_after,
                &deliver_before,
                &priority,
                &confirmed,
                &notify_to,
                &wsp_pdu,
                &r_push_id,
                &r_address,
                &r_msisdn,
                &PENDING_CODE,
                &CHANNEL,
                &r_lease_until,
            ],
        )
        .await?;
    // push-id → the (address, id) of its recipients stored leased, ids ascending.
    let mut stored: std::collections::HashMap<String, Vec<(String, i64)>> =
        std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let ids: Option<Vec<i64>> = r.try_get(2)?;
        let addresses: Option<Vec<String>> = r.try_get(3)?;
        let leased = addresses.unwrap_or_default().into_iter();
        stored.insert(r.try_get(0)?, leased.zip(ids.unwrap_or_default()).collect());
    }
    Ok(calls
        .iter()
        .map(|c| {
            let mut leased = stored.remove(&c.push.push_id)?;
            // Matched by address, not by the order rows came back in; a push naming one address
            // twice gets its ids in ascending order (either way the same msisdn).
            let ids = c
                .push
                .recipients
                .iter()
                .filter_map(|r| {
                    let i = leased.iter().position(|(a, _)| *a == r.address)?;
                    Some(leased.remove(i).1)
                })
                .collect();
            Some(ids)
        })
        .collect())
}

/// The batch insert: pushes (a push-id already taken is skipped by the UNIQUE constraint, never
/// by a read-then-write), their recipients joined by push-id, and one NOTIFY when a recipient was
/// stored (delivered to the listeners at commit). The NOTIFY sits in a CTE read by a scalar
/// subquery because a plain SELECT CTE that nothing reads is never run. `ORDER BY t.k`: recipient
/// ids follow the order of the addresses in the push (statusquery lists them by id), whatever
/// join the planner picks. A push leased at insert (`$16` per recipient) is this instance's
/// already: it wakes nobody (no NOTIFY unless a recipient was stored unleased), and its leased
/// recipients come back as (id, address) arrays, to be matched by address.
const INSERT_SQL: &str = "WITH p AS (
         INSERT INTO push (push_id, pi, pap_version, received_at, deliver_after,
             deliver_before, priority, confirmed, notify_to, wsp_pdu)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
             $5::bigint[], $6::bigint[], $7::bigint[], $8::boolean[], $9::text[],
             $10::bytea[])
         ON CONFLICT (push_id) DO NOTHING
         RETURNING push_id, id, received_at, deliver_after, deliver_before, priority),
     r AS (
         INSERT INTO recipient (push, address, msisdn, state, code, description,
             updated_at, next_attempt_at, priority, received_at, deliver_before, leased_until,
             attempts, first_attempt_at)
         SELECT p.id, t.a, t.m, 'pending', $14, 'accepted for processing', p.received_at,
             COALESCE(p.deliver_after, p.received_at), p.priority, p.received_at,
             p.deliver_before, t.lu,
             CASE WHEN t.lu IS NULL THEN 0 ELSE 1 END,
             CASE WHEN t.lu IS NULL THEN NULL ELSE p.received_at END
         FROM unnest($11::text[], $12::text[], $13::text[], $16::bigint[])
             WITH ORDINALITY AS t(pid, a, m, lu, k)
         JOIN p ON p.push_id = t.pid
         ORDER BY t.k
         RETURNING id, push, address, leased_until IS NOT NULL AS leased),
     n AS (SELECT pg_notify($15, '')
           FROM (SELECT 1 FROM r WHERE NOT r.leased LIMIT 1) AS any_unleased),
     l AS (SELECT push, array_agg(id ORDER BY id) AS ids,
               array_agg(address ORDER BY id) AS addresses
           FROM r WHERE r.leased GROUP BY push)
     SELECT p.push_id, (SELECT COUNT(*) FROM n), l.ids, l.addresses
     FROM p LEFT JOIN l ON l.push = p.id";

/// The lease: the head of the queue (recipient_due, in queue order), locked and skipped when
/// another transaction holds it, leased until `$2`.
const LEASE_SQL: &str = "UPDATE recipient r SET leased_until = $2, attempts = r.attempts + 1,
         first_attempt_at = COALESCE(r.first_attempt_at, $1)
     FROM push p
     WHERE p.id = r.push AND r.id IN (
         SELECT id FROM recipient
         WHERE state = 'pending' AND submitted = FALSE AND next_attempt_at <= $1
           AND (leased_until IS NULL OR leased_until <= $1)
         ORDER BY priority, received_at, id
         LIMIT $3
         FOR UPDATE SKIP LOCKED)
     RETURNING r.id, p.push_id, r.address, r.msisdn, r.received_at, p.deliver_before,
         r.priority, p.confirmed, p.wsp_pdu, r.attempts, r.first_attempt_at";

/// Recipients whose deliver-before time passed before they were submitted (the partial index
/// recipient_deliver_before), except those under a live lease.
const EXPIRE_SQL: &str = "SELECT id FROM recipient
     WHERE deliver_before IS NOT NULL AND deliver_before < $1
       AND state = 'pending' AND submitted = FALSE
       AND (leased_until IS NULL OR leased_until <= $1)
     ORDER BY id
     FOR UPDATE SKIP LOCKED";

/// Confirmed recipients submitted before `$1` still without their receipt (recipient_receipt_wait).
const RECEIPT_TIMEOUT_SQL: &str = "SELECT id FROM recipient
     WHERE state = 'pending' AND submitted = TRUE AND updated_at < $1
     ORDER BY id
     FOR UPDATE SKIP LOCKED";

fn priority_from(v: i64) -> Priority {
    match v {
        0 => Priority::High,
        1 => Priority::Medium,
        _ => Priority::Low,
    }
}

fn code_from(v: i64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn count_from(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

fn receipt_desc(outcome: &str, detail: &str) -> String {
    if detail.is_empty() {
        format!("{outcome} (delivery receipt)")
    } else {
        format!("{outcome} (delivery receipt: {detail})")
    }
}

fn job_from(r: &Row) -> Result<Job, StoreError> {
    let attempts_now: i64 = r.try_get(9)?;
    let first: Option<i64> = r.try_get(10)?;
    Ok(Job {
        recipient_id: r.try_get(0)?,
        push_id: r.try_get(1)?,
        address: r.try_get(2)?,
        msisdn: r.try_get(3)?,
        received_at: UtcTime(r.try_get(4)?),
        deliver_before: r.try_get::<_, Option<i64>>(5)?.map(UtcTime),
        priority: priority_from(r.try_get(6)?),
        confirmed: r.try_get(7)?,
        wsp_pdu: r.try_get(8)?,
        // RETURNING shows the row after this lease: attempts before it is one less, and
        // first_attempt_at was set by this lease when it is the first.
        attempts: count_from(attempts_now - 1),
        first_attempt_at: if attempts_now <= 1 {
            None
        } else {
            first.map(UtcTime)
        },
    })
}

/// The one way recipients become final (the embedded store's `finish`, set-based): sets the
/// states and queues the result notifications in the same statement when the push asked for one
/// (the push is forgotten by the cleanup once none of its recipients is pending). One event per
/// request; None when the recipient is unknown or already final (the first outcome stands), or
/// an earlier request of the same call finished it. One statement.
async fn finish_many<C: GenericClient>(
    c: &C,
    reqs: &[FinishReq],
) -> Result<Vec<Option<FinalEvent>>, StoreError> {
    if let Some(r) = reqs.iter().find(|r| !r.state.is_final()) {
        return Err(StoreError::Backend(format!(
            "recipient {}: {} is not a final state",
            r.recipient_id,
            r.state.as_str()
        )));
    }
    let args = FinishArgs::new(reqs);
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let st = c.prepare_cached(outcome::FINISH_SQL).await?;
    let rows = c.query(&st, &args.finish_params()).await?;
    Ok(outcome::finish_events(reqs, &rows)?)
}

impl PushStore for PgStore {
    async fn insert_push(&self, push: NewPush) -> Result<Vec<Job>, StoreError> {
        let (answer, wait) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(InsertCall { push, answer })
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    async fn lease_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(LEASE_SQL).await?;
        // The plan is the ordered scan of recipient_due that stops after LIMIT rows, as the
        // embedded store pins its with INDEXED BY: the pool's sessions allow no bitmap scan,
        // which on cold statistics read and sorted EVERY due row instead (measured ~10 ms per
        // lease at 2·10^4 due). One statement: its own implicit transaction.
        let rows = client
            .query(&stmt, &[&now.0, &lease_until.0, &limit])
            .await?;
        let mut jobs = rows.iter().map(job_from).collect::<Result<Vec<_>, _>>()?;
        // RETURNING has no order: queue order again.
        jobs.sort_by_key(|j| (j.priority, j.received_at, j.recipient_id));
        Ok(jobs)
    }

    async fn record_submitted(
        &self,
        recipient_id: i64,
        smsc: &str,
        segments: Vec<SubmittedSegment>,
        confirmed: bool,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        self.outcome(|answer| Outcome::Submitted {
            recipient_id,
            smsc: smsc.to_string(),
            segments,
            confirmed,
            now,
            answer,
        })
        .await
    }

    async fn record_retry(
        &self,
        recipient_id: i64,
        retry_at: UtcTime,
        desc: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        self.outcome(|answer| Outcome::Retry {
            recipient_id,
            retry_at,
            desc: desc.to_string(),
            now,
            answer,
        })
        .await
    }

    async fn record_final(
        &self,
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        self.outcome(|answer| Outcome::Final {
            recipient_id,
            state,
            code,
            desc: desc.to_string(),
            now,
            answer,
        })
        .await
    }

    async fn record_receipt(
        &self,
        receipt: ReceiptUpdate,
        now: UtcTime,
    ) -> Result<ReceiptMatch, StoreError> {
        self.outcome(|answer| Outcome::Receipt {
            receipt,
            now,
            answer,
        })
        .await
    }

    async fn expire_due(
        &self,
        now: UtcTime,
        receipt_deadline: UtcTime,
    ) -> Result<Vec<FinalEvent>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Locked, and skipped when another transaction (a lease in progress) holds them: a
        // recipient under a live lease of any instance is not expired under it.
        let expired: Vec<i64> = tx
            .query(EXPIRE_SQL, &[&now.0])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        // Only confirmed recipients wait after submission; the wait counts from the submission.
        let timed_out: Vec<i64> = tx
            .query(RECEIPT_TIMEOUT_SQL, &[&receipt_deadline.0])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let reqs: Vec<FinishReq> = expired
            .into_iter()
            .map(|id| FinishReq {
                recipient_id: id,
                state: MessageState::Expired,
                code: 4000,
                desc: "deliver-before-timestamp passed before the message could be submitted"
                    .into(),
                at: now,
                smsc: None,
            })
            .chain(timed_out.into_iter().map(|id| FinishReq {
                recipient_id: id,
                state: MessageState::Timeout,
                code: 4000,
                desc: "no delivery receipt from the SMSC in time".into(),
                at: now,
                smsc: None,
            }))
            .collect();
        let events: Vec<FinalEvent> = finish_many(&tx, &reqs)
            .await?
            .into_iter()
            .flatten()
            .collect();
        tx.commit().await?;
        self.finished(events.len());
        Ok(events)
    }

    async fn status(
        &self,
        push_id: &str,
        addresses: &[String],
    ) -> Result<Option<Vec<RecipientStatus>>, StoreError> {
        let client = self.pool.get().await?;
        let find = client
            .prepare_cached("SELECT id FROM push WHERE push_id = $1")
            .await?;
        let Some(push_row) = client.query_opt(&find, &[&push_id]).await? else {
            return Ok(None);
        };
        let push_row: i64 = push_row.try_get(0)?;
        let sel = client
            .prepare_cached(
                "SELECT address, state, code, description, updated_at FROM recipient
                 WHERE push = $1 ORDER BY id",
            )
            .await?;
        let mut out = Vec::new();
        for r in client.query(&sel, &[&push_row]).await? {
            let address: String = r.try_get(0)?;
            if !addresses.is_empty() && !addresses.contains(&address) {
                continue;
            }
            let state: String = r.try_get(1)?;
            out.push(RecipientStatus {
                address,
                state: MessageState::parse(&state).unwrap_or(MessageState::Unknown),
                code: code_from(r.try_get(2)?),
                desc: r.try_get(3)?,
                updated_at: UtcTime(r.try_get(4)?),
            });
        }
        Ok(Some(out))
    }

    async fn cancel(
        &self,
        push_id: &str,
        addresses: &[String],
        now: UtcTime,
    ) -> Result<Option<Vec<CancelOutcome>>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(push_row) = tx
            .query_opt("SELECT id FROM push WHERE push_id = $1", &[&push_id])
            .await?
        else {
            return Ok(None);
        };
        let push_row: i64 = push_row.try_get(0)?;
        // Locked: a lease taken by another instance meanwhile waits for us, and we see every
        // lease committed before (the lease check below is made under the lock).
        let rows = tx
            .query(
                "SELECT id, address, state, submitted, leased_until FROM recipient
                 WHERE push = $1 ORDER BY id FOR UPDATE",
                &[&push_row],
            )
            .await?;
        // (address, recipient to cancel): the ones not submitted, not leased, still pending.
        let mut asked: Vec<(String, Option<i64>)> = Vec::new();
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let address: String = r.try_get(1)?;
            let state: String = r.try_get(2)?;
            let submitted: bool = r.try_get(3)?;
            let leased_until: Option<i64> = r.try_get(4)?;
            if !addresses.is_empty() && !addresses.contains(&address) {
                continue;
            }
            let leased = leased_until.is_some_and(|t| t > now.0);
            let cancellable = state == MessageState::Pending.as_str() && !submitted && !leased;
            asked.push((address, cancellable.then_some(id)));
        }
        let reqs: Vec<FinishReq> = asked
            .iter()
            .filter_map(|(_, id)| *id)
            .map(|id| FinishReq {
                recipient_id: id,
                state: MessageState::Cancelled,
                code: 1000,
                desc: "cancelled by the push initiator".into(),
                at: now,
                smsc: None,
            })
            .collect();
        let mut events = finish_many(&tx, &reqs).await?.into_iter();
        let mut out = Vec::with_capacity(asked.len());
        let mut n = 0;
        for (address, id) in asked {
            let event = if id.is_some() {
                events.next().flatten()
            } else {
                None
            };
            n += usize::from(event.is_some());
            out.push(CancelOutcome {
                address,
                cancelled: event.is_some(),
                event,
            });
        }
        tx.commit().await?;
        self.finished(n);
        Ok(Some(out))
    }

    async fn notifications_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE notification SET leased_until = $2, attempts = attempts + 1
                 WHERE id IN (
                     SELECT id FROM notification
                     WHERE next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                     ORDER BY next_attempt_at, id
                     LIMIT $3
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id, url, push_id, pap_version, address, state, code, description,
                     received_at, event_at, attempts, created_at, next_attempt_at",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&now.0, &lease_until.0, &limit])
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut order = Vec::with_capacity(rows.len());
        for r in &rows {
            let state: String = r.try_get(5)?;
            let attempts_now: i64 = r.try_get(10)?;
            order.push(r.try_get::<_, i64>(12)?);
            out.push(Notification {
                id: r.try_get(0)?,
                url: r.try_get(1)?,
                push_id: r.try_get(2)?,
                pap_version: r.try_get(3)?,
                address: r.try_get(4)?,
                state: MessageState::parse(&state).unwrap_or(MessageState::Unknown),
                code: code_from(r.try_get(6)?),
                desc: r.try_get(7)?,
                received_at: UtcTime(r.try_get(8)?),
                event_at: UtcTime(r.try_get(9)?),
                // Attempts made before this one (RETURNING shows the row after the lease).
                attempts: count_from(attempts_now - 1),
                created_at: UtcTime(r.try_get(11)?),
            });
        }
        let mut keyed: Vec<(i64, Notification)> = order.into_iter().zip(out).collect();
        keyed.sort_by_key(|(due, n)| (*due, n.id));
        Ok(keyed.into_iter().map(|(_, n)| n).collect())
    }

    async fn notification_done(&self, id: i64, _delivered: bool) -> Result<(), StoreError> {
        self.outcome(|answer| Outcome::NotificationDone { id, answer })
            .await
    }

    async fn notification_retry(&self, id: i64, retry_at: UtcTime) -> Result<(), StoreError> {
        self.outcome(|answer| Outcome::NotificationRetry {
            id,
            retry_at,
            answer,
        })
        .await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let client = self.pool.get().await?;
        let depth = count_pending(&client).await?;
        if let Ok(mut d) = self.depth.lock() {
            d.value = depth;
            d.counted_at = Some(Instant::now());
        }
        // One index seek per priority on recipient_due instead of a scan of the whole queue.
        let oldest: Option<i64> = client
            .query_one(
                "SELECT MIN(t) FROM (
                     SELECT (SELECT received_at FROM recipient
                             WHERE state = 'pending' AND submitted = FALSE AND priority = k.p
                             ORDER BY received_at LIMIT 1) AS t
                     FROM (VALUES (0::bigint), (1), (2)) AS k(p)) AS m",
                &[],
            )
            .await?
            .try_get(0)?;
        Ok(QueueStats {
            depth,
            oldest_unsubmitted: oldest.map(UtcTime),
        })
    }

    async fn cleanup(&self, before: UtcTime) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        // Whole-table work: the planner may choose any plan in this transaction (pool_for).
        let tx = client.transaction().await?;
        tx.batch_execute(FREE_PLANNER).await?;
        // A push is forgotten once every recipient of it is final since before `$1` (its
        // recipients' updated_at is the time of their final transition); a push without
        // recipients, once received before. Nothing marks a push final on the hot path (since
        // migration 6): this reads the old pushes (push_received_at) and their recipients
        // (recipient_push). Their recipients and segments go in the same statement (no foreign
        // keys since migration 4: children are only ever written in the statement that writes or
        // reads their parent, see schema.rs).
        let forgotten: i64 = tx
            .query_one(
                "WITH gone AS (
                     DELETE FROM push p
                     WHERE p.received_at < $1
                       AND NOT EXISTS (SELECT 1 FROM recipient r
                                       WHERE r.push = p.id
                                         AND (r.state = 'pending' OR r.updated_at >= $1))
                     RETURNING id),
                 r AS (
                     DELETE FROM recipient WHERE push IN (SELECT id FROM gone) RETURNING id),
                 s AS (
                     DELETE FROM segment WHERE recipient IN (SELECT id FROM r))
                 SELECT COUNT(*) FROM gone",
                &[&before.0],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(u64::try_from(forgotten).unwrap_or(0))
    }

    fn store_wake(&self) -> impl std::future::Future<Output = ()> + Send {
        self.wake.notified()
    }
}
