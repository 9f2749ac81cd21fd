//! The dispatcher: store → segments → SMPP pool → store.
//!
//! It leases due recipients from the store, segments each one's stored WSP Push PDU for the SMSC
//! the route picks, submits through the pool and records the outcome. A recipient leaves the queue
//! only through a recorded outcome; anything that breaks in between (a crash, a kill -9) leaves a
//! lease that runs out, so the recipient is submitted again (at-least-once; see README).
//!
//! The fast path: when this instance has a free permit for every recipient of a new push and
//! no queue is waiting, the PAP listener stores the push already leased to it ([`Dispatcher::reserve`],
//! `NewPush::lease_until`) and hands the jobs over after the commit ([`Dispatcher::after_insert`]):
//! no lease query, no wake. The lease is the same as the query's, so a crash between insert and
//! submission leaves a lease that runs out, as above.
//!
//! Receipts from the pool are written to the store before they are acknowledged to the SMSC.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{DispatchConfig, SmscConfig};
use crate::metrics::Metrics;
use crate::pap::PapCode;
use crate::smpp::pool::{OutboundMessage, Pool, Receipt, SubmitOutcome};
use crate::sms::{self, Ports};
use crate::store::{
    FinalEvent, Job, MessageState, NewPush, PushStore, ReceiptMatch, ReceiptUpdate,
};
use crate::util::UtcTime;

/// Recipients leased by one lease query at most.
const LEASE_BATCH: usize = 256;

/// Recipients leased at most by a lease query that nothing asked for (the poll, with no push
/// queued and no query come back full since the last short one): a probe for recipients due
/// by time alone (retries, deliver-after), usually few. The permits a query takes are held
/// until it returns, and the PAP fast path finds none while they are: at 128 requests in
/// flight a 256-permit probe every `poll` left 2-40 % of the pushes of a scenario-1 run
/// without one, stored unleased, and each put the pushes after it in the queue until a lease
/// query came back short. A probe that comes back full marks the backlog, and the next query
/// takes a full batch.
const PROBE_BATCH: usize = 16;

/// Receipts being stored at once (see `run_receipts`): the receipt channel holds 1024, an SMPP
/// window is tens; 256 lets a batching store fill its batches (`[store] batch_max` defaults
/// to 256 too) without unbounded tasks.
const RECEIPTS_IN_FLIGHT: usize = 256;

/// How long a submission waits for a session to come back when none of its SMSCs has one bound,
/// before the recipient goes back to the store with a retry backoff. A dropped SMPP connection is
/// usually bound again within the reconnect backoff (`reconnect_min`, 500 ms by default): without
/// this wait every push leased in that gap would sit out `retry_min` (or more) for a blip.
const RECONNECT_GRACE: Duration = Duration::from_secs(5);

/// What one pass over a recipient's routes came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// An outcome was recorded (submitted, or refused for good).
    Done,
    /// No route had a bound session, or each lost it under the submission.
    NoSession,
    /// Transient refusals or a route that cannot carry the push: retry later.
    Failed,
}

/// command_status values that say the destination address itself is wrong (→ PAP 2002).
const ADDRESS_STATUSES: &[u32] = &[0x0B, 0x50, 0x51];

/// How long one pool.submit may retry transient failures before the recipient goes back to the
/// store with a backoff: two thirds of the lease, so the attempt always ends (and its outcome is
/// recorded) while this instance still holds the lease — otherwise the recipient could be leased
/// again and submitted twice.
fn attempt_window(lease: Duration) -> Duration {
    (lease * 2 / 3).max(Duration::from_millis(500))
}

pub struct Dispatcher<S> {
    store: Arc<S>,
    pool: Pool,
    cfg: DispatchConfig,
    /// retry_deadline per SMSC name; the longest applies when a recipient found no route.
    retry_deadline: Duration,
    lease: Duration,
    metrics: Metrics,
    wake: Notify,
    /// One permit per submission in flight (`cfg.concurrency`). The lease loop takes them
    /// before its lease query and the PAP fast path before its insert, so every job leased
    /// has its permit at once (a job waiting for one would spend its lease waiting). A job
    /// gives its permit back once no SMSC will be asked again in this attempt, before it
    /// records the outcome: a store write waiting for its group commit is no submission, and
    /// at 128 requests in flight those waits held enough permits for the PAP fast path to
    /// find none (see [`Self::records`]).
    permits: Arc<Semaphore>,
    /// Every job, until its outcome is recorded: the shutdown drain waits for them after the
    /// last permit came back.
    records: TaskTracker,
    /// The store keeps the fast path from overtaking a queue itself
    /// ([`PushStore::orders_fast_path`]); otherwise `backlog` is the estimate.
    store_orders_fast_path: bool,
    backlog: Backlog,
    shutdown: watch::Receiver<bool>,
}

/// Whether due recipients may be waiting in the store ahead of a new push: the fast path
/// must not let a new push overtake them. `marks` counts what may have queued something (a push
/// stored unleased, a lease query that came back full, a wake from another instance sharing
/// the store); a lease query that came back short proves the queue empty as of the marks
/// counted before it started. A push stored unleased marks AFTER its commit, so a lease query
/// that started before the commit (and may have missed it) does not clear it.
///
/// Recipients that became due by time alone (a retry, a deliver-after) are seen at the next
/// poll, as before; meanwhile a new push may go first when permits are free, which takes
/// nothing from them (they find free permits too).
struct Backlog {
    marks: AtomicU64,
    cleared: AtomicU64,
}

impl Backlog {
    fn new() -> Self {
        // Unknown until the first lease query: the store may hold a queue from before a restart.
        Backlog {
            marks: AtomicU64::new(1),
            cleared: AtomicU64::new(0),
        }
    }
    fn mark(&self) {
        self.marks.fetch_add(1, Ordering::SeqCst);
    }
    fn marks(&self) -> u64 {
        self.marks.load(Ordering::SeqCst)
    }
    fn cleared_as_of(&self, marks: u64) {
        self.cleared.store(marks, Ordering::SeqCst);
    }
    fn empty(&self) -> bool {
        self.marks.load(Ordering::SeqCst) == self.cleared.load(Ordering::SeqCst)
    }
}

/// Permits reserved for a push to be stored leased (the fast path): one per recipient.
pub struct Reservation {
    permits: OwnedSemaphorePermit,
    lease_until: UtcTime,
}

impl Reservation {
    /// What the push's `lease_until` must be.
    pub fn lease_until(&self) -> UtcTime {
        self.lease_until
    }
}

impl<S: PushStore> Dispatcher<S> {
    pub fn new(
        store: Arc<S>,
        pool: Pool,
        cfg: DispatchConfig,
        smscs: &[SmscConfig],
        lease: Duration,
        metrics: Metrics,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let retry_deadline = smscs
            .iter()
            .map(|s| s.retry_deadline)
            .max()
            .unwrap_or(Duration::from_secs(600));
        Arc::new(Dispatcher {
            store_orders_fast_path: store.orders_fast_path(),
            store,
            pool,
            permits: Arc::new(Semaphore::new(cfg.concurrency)),
            records: TaskTracker::new(),
            cfg,
            retry_deadline,
            lease,
            metrics,
            wake: Notify::new(),
            backlog: Backlog::new(),
            shutdown,
        })
    }

    /// A push was stored unleased: it may be due now.
    pub fn queued(&self) {
        self.backlog.mark();
        self.wake.notify_one();
    }

    /// The fast path: permits for every recipient of `push`, when this instance may store it
    /// already leased and submit it at once, without a lease query: the push is due now, no
    /// queue is waiting ahead of it, every recipient gets a permit, and no shutdown began.
    /// None: store it unleased and call [`Self::queued`]. A store that orders the fast path
    /// itself ([`PushStore::orders_fast_path`]) judges the queue ahead exactly at insert; the
    /// `backlog` estimate here is for the others.
    pub fn reserve(&self, push: &NewPush) -> Option<Reservation> {
        let n = u32::try_from(push.recipients.len()).ok()?;
        if n == 0
            || push.deliver_after.is_some_and(|t| t > push.received_at)
            || (!self.store_orders_fast_path && !self.backlog.empty())
        {
            return None;
        }
        let permits = self.permits.clone().try_acquire_many_owned(n).ok()?;
        // Checked after taking the permits: if no shutdown began by now, the shutdown drain
        // (which waits for every permit) cannot have finished, so it waits for these jobs.
        if *self.shutdown.borrow() {
            return None;
        }
        Some(Reservation {
            permits,
            lease_until: push
                .received_at
                .plus_secs(self.lease.as_secs().max(1) as i64),
        })
    }

    /// What follows the insert of a push: with a reservation and the jobs the store leased,
    /// submits them (unused permits go back); otherwise (no reservation, or a store that stored
    /// the push unleased after all, see [`PushStore::orders_fast_path`]) the push is queued.
    pub fn after_insert(self: &Arc<Self>, jobs: Vec<Job>, reservation: Option<Reservation>) {
        match reservation {
            Some(r) if !jobs.is_empty() => self.start_leased(jobs, r),
            _ => self.queued(),
        }
    }

    /// Submits the jobs of a push stored leased with `reservation`; unused permits go back.
    fn start_leased(self: &Arc<Self>, jobs: Vec<Job>, mut reservation: Reservation) {
        self.metrics
            .dispatch_leased_insert()
            .inc_by(jobs.len() as u64);
        for job in jobs {
            let Some(permit) = reservation.permits.split(1) else {
                // More jobs than permits cannot happen (one per recipient); the lease runs out.
                warn!(push_id = %job.push_id, "no permit for a job leased at insert; the lease will run out");
                continue;
            };
            self.spawn(job, permit);
        }
    }

    fn spawn(self: &Arc<Self>, job: Job, permit: OwnedSemaphorePermit) {
        let me = self.clone();
        let stop = self.shutdown.clone();
        self.records
            .spawn(async move { me.handle(job, stop, Some(permit)).await });
    }

    /// One lease query for as many due recipients as there are free permits (at most
    /// [`LEASE_BATCH`], or [`PROBE_BATCH`] when no backlog is known); starts each job leased
    /// and keeps `backlog` current. None: no permit could be reserved (none free, or the fast
    /// path took some since they were counted).
    async fn lease_once(self: &Arc<Self>) -> Option<usize> {
        let batch = if self.backlog.empty() {
            PROBE_BATCH
        } else {
            LEASE_BATCH
        };
        let free = self.permits.available_permits().min(batch);
        if free == 0 {
            return None;
        }
        // Taken before the query (see `permits`).
        let mut reserved = self
            .permits
            .clone()
            .try_acquire_many_owned(free as u32)
            .ok()?;
        let now = UtcTime::now();
        let until = now.plus_secs(self.lease.as_secs().max(1) as i64);
        let marks = self.backlog.marks();
        match self.store.lease_due(now, free, until).await {
            Ok(jobs) => {
                let leased = jobs.len();
                self.metrics
                    .dispatch_leased
                    .with_label_values(&["query"])
                    .inc_by(leased as u64);
                if leased < free {
                    self.backlog.cleared_as_of(marks);
                } else {
                    self.backlog.mark();
                }
                for job in jobs {
                    // A store returns at most `free` rows; were it ever more, the extra job's
                    // lease runs out and it is leased again, rather than the dispatcher dying.
                    let Some(permit) = reserved.split(1) else {
                        warn!(push_id = %job.push_id, "lease query returned more jobs than asked; the lease will run out");
                        continue;
                    };
                    self.spawn(job, permit);
                }
                Some(leased)
            }
            Err(e) => {
                self.backlog.mark();
                warn!(error = %e, "leasing due pushes failed; retrying");
                Some(0)
            }
        }
    }

    /// Leases and submits due recipients until shutdown; then waits for the submissions in
    /// flight (their outcome is recorded) and returns.
    pub async fn run(self: Arc<Self>) {
        let mut shutdown = self.shutdown.clone();
        let concurrency = u32::try_from(self.cfg.concurrency).unwrap_or(u32::MAX);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let leased = match self.lease_once().await {
                Some(n) => n,
                // The fast path took permits between the count and the reservation: count again.
                None if self.permits.available_permits() > 0 => continue,
                None => 0,
            };
            if self.permits.available_permits() == 0 {
                // Every slot is busy, so due recipients may be waiting: look again as soon as
                // one submission finishes.
                self.backlog.mark();
                tokio::select! {
                    p = self.permits.clone().acquire_owned() => drop(p),
                    _ = shutdown.changed() => {}
                }
            } else if leased == 0 {
                // Nothing due: sleep until a push is stored (wake) or the poll interval.
                tokio::select! {
                    _ = self.wake.notified() => {}
                    // Another instance sharing the store made a recipient due (PostgreSQL
                    // NOTIFY): it waits in the queue until leased.
                    _ = self.store.store_wake() => self.backlog.mark(),
                    _ = tokio::time::sleep(self.cfg.poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        // Let submissions in flight end (the fast path's too: they hold permits), then their
        // outcomes be recorded. With every permit here nothing can spawn a job any more.
        let _ = self.permits.acquire_many(concurrency).await;
        self.records.close();
        self.records.wait().await;
        info!("dispatcher stopped");
    }

    /// Submits one leased recipient and records the outcome. `permit` goes back as soon as no
    /// SMSC will be asked again in this attempt (see `permits`).
    async fn handle(
        &self,
        job: Job,
        mut shutdown: watch::Receiver<bool>,
        mut permit: Option<OwnedSemaphorePermit>,
    ) {
        let now = UtcTime::now();
        if let Some(before) = job.deliver_before
            && now >= before
        {
            drop(permit);
            let desc = format!("deliver-before-timestamp {before} passed before submission");
            self.finish(
                &job,
                MessageState::Expired,
                PapCode::ServiceFailure.as_u16(),
                &desc,
            )
            .await;
            return;
        }
        // The routes match on digits (a leading '+' is ignored): no "+" copy needed.
        let destination = job.msisdn.as_str();
        let first_attempt = job.first_attempt_at.unwrap_or(now);
        let started = Instant::now();
        let mut last_problem = Cow::Borrowed("no SMSC session is bound for this destination");
        let deadline = started + attempt_window(self.lease);
        let mut attempt = self
            .try_routes(&job, destination, deadline, &mut last_problem, &mut permit)
            .await;
        if attempt == Attempt::NoSession {
            // No session anywhere for this destination: wait (once, inside the attempt window)
            // for one to be bound again rather than back off for a reconnect; not past a
            // shutdown, though: then the recipient goes back to the store at once.
            let limit = RECONNECT_GRACE.min(deadline.saturating_duration_since(Instant::now()));
            let up = tokio::select! {
                up = self.pool.wait_route_up(destination, limit) => up,
                _ = shutdown.wait_for(|stop| *stop) => false,
            };
            if up {
                attempt = self
                    .try_routes(&job, destination, deadline, &mut last_problem, &mut permit)
                    .await;
            }
        }
        if attempt == Attempt::Done {
            return;
        }
        drop(permit);
        // Nothing accepted it: retry later, or give up past the deadline.
        let now = UtcTime::now();
        if now.0 - first_attempt.0 >= self.retry_deadline.as_secs() as i64 {
            let desc = format!("gave up after {}s: {last_problem}", now.0 - first_attempt.0);
            self.finish(
                &job,
                MessageState::Undeliverable,
                PapCode::ServiceUnavailable.as_u16(),
                &desc,
            )
            .await;
            return;
        }
        let backoff = backoff(self.cfg.retry_min, self.cfg.retry_max, job.attempts);
        let retry_at = now.plus_secs(backoff.as_secs().max(1) as i64);
        debug!(push_id = %job.push_id, retry_in = ?backoff, problem = %last_problem, "will retry");
        if let Err(e) = self
            .store
            .record_retry(job.recipient_id, retry_at, &last_problem, now)
            .await
        {
            warn!(push_id = %job.push_id, error = %e, "recording a retry failed; the lease will run out");
        }
    }

    /// One pass over the destination's routes: submits on the first that takes the push and
    /// records the outcome (`Done`, `permit` given back first), or says why none did, with
    /// the last problem in `last_problem` for the retry record.
    async fn try_routes(
        &self,
        job: &Job,
        destination: &str,
        deadline: Instant,
        last_problem: &mut Cow<'static, str>,
        permit: &mut Option<OwnedSemaphorePermit>,
    ) -> Attempt {
        // Stays true while every route was down or lost its sessions under the submission.
        let mut only_unavailable = true;
        for route in self.pool.route(destination) {
            if !route.up {
                continue;
            }
            // The 8-bit concatenation reference must differ between consecutive messages to the
            // same handset; the recipient id does (it only grows).
            let reference = (job.recipient_id & 0xFFFF) as u16;
            let segments =
                match sms::segment(&job.wsp_pdu, route.carriage, reference, Ports::WSP_PUSH) {
                    Ok(s) => s,
                    Err(e) => {
                        *last_problem =
                            format!("cannot segment for SMSC {}: {e}", route.name).into();
                        only_unavailable = false;
                        continue;
                    }
                };
            if segments.len() > route.max_segments {
                *last_problem = format!(
                    "needs {} segments, SMSC {} allows {}",
                    segments.len(),
                    route.name,
                    route.max_segments
                )
                .into();
                only_unavailable = false;
                continue;
            }
            let count = segments.len();
            let message = OutboundMessage {
                destination: job.msisdn.clone(),
                segments,
                receipt: job.confirmed,
                validity: job.deliver_before,
                deadline,
            };
            debug!(push_id = %job.push_id, smsc = %route.name, segments = count, "submitting");
            match self.pool.submit(&route.name, message).await {
                SubmitOutcome::Accepted { message_ids } => {
                    permit.take();
                    self.metrics.push_segments.observe(count as f64);
                    let segs = message_ids
                        .into_iter()
                        .enumerate()
                        .map(|(i, message_id)| crate::store::SubmittedSegment {
                            seqnum: i as u32 + 1,
                            message_id,
                        })
                        .collect();
                    let now = UtcTime::now();
                    self.metrics
                        .push_submit_latency
                        .observe((now.0 - job.received_at.0).max(0) as f64);
                    match self
                        .store
                        .record_submitted(job.recipient_id, &route.name, segs, job.confirmed, now)
                        .await
                    {
                        Ok(event) => {
                            info!(push_id = %job.push_id, address = %job.address, smsc = %route.name, segments = count, "submitted");
                            if let Some(e) = event {
                                self.finished(&e);
                            }
                        }
                        // The SMSC has it but we could not record that: the lease runs out and the
                        // push is sent again (at-least-once), which beats losing it.
                        Err(e) => {
                            warn!(push_id = %job.push_id, error = %e, "recording a submission failed")
                        }
                    }
                    return Attempt::Done;
                }
                SubmitOutcome::Rejected {
                    status,
                    name,
                    permanent: true,
                    segment,
                } => {
                    let code = if ADDRESS_STATUSES.contains(&status) {
                        PapCode::AddressError.as_u16()
                    } else {
                        PapCode::ServiceFailure.as_u16()
                    };
                    let desc = format!(
                        "SMSC {} refused segment {} with {name} (0x{status:08X})",
                        route.name,
                        segment + 1
                    );
                    permit.take();
                    self.finish(job, MessageState::Undeliverable, code, &desc)
                        .await;
                    return Attempt::Done;
                }
                SubmitOutcome::Rejected {
                    status,
                    name,
                    permanent: false,
                    ..
                } => {
                    *last_problem =
                        format!("SMSC {} kept answering {name} (0x{status:08X})", route.name)
                            .into();
                    only_unavailable = false;
                    break;
                }
                SubmitOutcome::Unavailable => {
                    *last_problem = format!("SMSC {} has no bound session", route.name).into();
                }
            }
        }
        if only_unavailable {
            Attempt::NoSession
        } else {
            Attempt::Failed
        }
    }

    async fn finish(&self, job: &Job, state: MessageState, code: u16, desc: &str) {
        match self
            .store
            .record_final(job.recipient_id, state, code, desc, UtcTime::now())
            .await
        {
            Ok(Some(event)) => self.finished(&event),
            Ok(None) => {}
            Err(e) => {
                warn!(push_id = %job.push_id, error = %e, "recording a final state failed; the lease will run out")
            }
        }
    }

    /// Counts and logs a recipient reaching its final state.
    pub fn finished(&self, event: &FinalEvent) {
        observe_final(&self.metrics, event);
    }

    /// Writes receipts to the store, then lets the session acknowledge them to the SMSC.
    ///
    /// Up to `RECEIPTS_IN_FLIGHT` (256) receipts are stored at once: a store that batches its writes
    /// (PostgreSQL: one transaction for every write waiting) can only batch what is in flight,
    /// and one receipt at a time would cost one commit each. Acknowledgements may then go out of
    /// order, which SMPP allows (a deliver_sm_resp names its sequence_number); two receipts for one
    /// segment stored at once are the store's to order (the PostgreSQL store keeps the second one
    /// for its next batch).
    pub async fn run_receipts(self: Arc<Self>, mut receipts: mpsc::Receiver<Receipt>) {
        let slots = Arc::new(Semaphore::new(RECEIPTS_IN_FLIGHT));
        while let Some(r) = receipts.recv().await {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let me = self.clone();
            tokio::spawn(async move {
                me.store_receipt(r).await;
                drop(slot);
            });
        }
        // Let the receipts in flight be stored and acknowledged.
        let _ = slots.acquire_many(RECEIPTS_IN_FLIGHT as u32).await;
    }

    async fn store_receipt(&self, r: Receipt) {
        let update = ReceiptUpdate {
            smsc: r.smsc.clone(),
            message_id: r.message_id.clone(),
            outcome: r.outcome,
            detail: r.detail.clone(),
        };
        let stored = match self.store.record_receipt(update, UtcTime::now()).await {
            Ok(ReceiptMatch::Final(event)) => {
                self.metrics
                    .push_delivery_latency
                    .observe((event.at.0 - event.received_at.0).max(0) as f64);
                self.finished(&event);
                true
            }
            Ok(ReceiptMatch::Recorded) => true,
            Ok(ReceiptMatch::Unmatched) => {
                self.metrics
                    .smpp_receipts_unmatched
                    .with_label_values(&[r.smsc.as_str()])
                    .inc();
                debug!(smsc = %r.smsc, message_id = %r.message_id, "receipt matches no submitted segment");
                true
            }
            Err(e) => {
                warn!(smsc = %r.smsc, message_id = %r.message_id, error = %e, "storing a receipt failed; the SMSC will redeliver it");
                false
            }
        };
        let _ = r.ack.send(stored);
    }

    /// Expires queued recipients past deliver-before and confirmed ones whose receipt never came;
    /// keeps the queue gauges current; forgets old final pushes.
    pub async fn run_housekeeping(
        self: Arc<Self>,
        retention: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_cleanup = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = UtcTime::now();
            let receipt_deadline = now.plus_secs(-(self.cfg.receipt_timeout.as_secs() as i64));
            match self.store.expire_due(now, receipt_deadline).await {
                Ok(events) => events.iter().for_each(|e| self.finished(e)),
                Err(e) => warn!(error = %e, "expiring pushes failed"),
            }
            if let Ok(stats) = self.store.queue_stats().await {
                self.metrics.queue_depth.set(stats.depth as i64);
                self.metrics.queue_oldest_age.set(
                    stats
                        .oldest_unsubmitted
                        .map(|t| (now.0 - t.0).max(0))
                        .unwrap_or(0),
                );
            }
            if last_cleanup.elapsed() >= Duration::from_secs(3600) {
                last_cleanup = Instant::now();
                match self
                    .store
                    .cleanup(now.plus_secs(-(retention.as_secs() as i64)))
                    .await
                {
                    Ok(n) if n > 0 => info!(pushes = n, "forgot final pushes past retention"),
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "cleanup failed"),
                }
            }
        }
    }
}

/// Counts and logs one final state (shared by the dispatcher and the PAP cancel path).
pub fn observe_final(metrics: &Metrics, event: &FinalEvent) {
    metrics.finished_counter(event.state).inc();
    info!(push_id = %event.push_id, address = %event.address, state = event.state.as_str(), code = event.code, desc = %event.desc, "final");
}

/// Exponential backoff: min · 2^attempts, capped at max.
pub fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
    min.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{NewRecipient, Priority};

    /// A dispatcher, the sender that starts its shutdown, and the directory of its store.
    type TestDispatcher = (
        Arc<Dispatcher<SqliteStore>>,
        watch::Sender<bool>,
        tempfile::TempDir,
    );

    /// A dispatcher over a fresh embedded store with no SMSC: its jobs find no route and go
    /// back after the attempt window of the lease (`lease_secs`), with a retry a minute later (a
    /// store clock in whole seconds must not make them due again within a test).
    /// `run` is not started.
    fn dispatcher(concurrency: usize, lease_secs: u64) -> TestDispatcher {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new();
        let store = SqliteStore::open(dir.path(), 1000, 64, metrics.clone()).unwrap();
        let (receipts, _) = mpsc::channel(1);
        let pool = Pool::start(&[], &[], metrics.clone(), receipts);
        let cfg = DispatchConfig {
            concurrency,
            retry_min: Duration::from_secs(60),
            retry_max: Duration::from_secs(600),
            ..DispatchConfig::default()
        };
        let (stop, shutdown) = watch::channel(false);
        let d = Dispatcher::new(
            Arc::new(store),
            pool,
            cfg,
            &[],
            Duration::from_secs(lease_secs),
            metrics,
            shutdown,
        );
        (d, stop, dir)
    }

    fn new_push(id: &str, recipients: usize) -> NewPush {
        NewPush {
            push_id: id.into(),
            pi: "mmsc".into(),
            pap_version: "2.0".into(),
            received_at: UtcTime::now(),
            deliver_after: None,
            deliver_before: None,
            priority: Priority::Medium,
            confirmed: false,
            notify_to: None,
            wsp_pdu: vec![0x5a; 20],
            recipients: (0..recipients)
                .map(|i| NewRecipient {
                    address: format!("WAPPUSH=+4917000{i}/TYPE=PLMN"),
                    msisdn: format!("4917000{i}"),
                })
                .collect(),
            lease_until: None,
        }
    }

    /// As [`dispatcher`], for a store that does not order the fast path itself (PostgreSQL):
    /// the dispatcher's `backlog` estimate decides.
    fn estimating_dispatcher(concurrency: usize, lease_secs: u64) -> TestDispatcher {
        let (mut d, stop, dir) = dispatcher(concurrency, lease_secs);
        Arc::get_mut(&mut d)
            .expect("not shared yet")
            .store_orders_fast_path = false;
        (d, stop, dir)
    }

    /// Reserves, inserts with the reservation's lease and hands over as the PAP listener does;
    /// returns how many jobs the store leased at insert.
    async fn push_through(d: &Arc<Dispatcher<SqliteStore>>, id: &str) -> Option<usize> {
        let mut p = new_push(id, 1);
        let r = d.reserve(&p)?;
        p.lease_until = Some(r.lease_until());
        let jobs = d.store.insert_push(p).await.unwrap();
        let leased = jobs.len();
        d.after_insert(jobs, Some(r));
        Some(leased)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fast_path_needs_a_due_push_and_a_permit_per_recipient() {
        let (d, stop, _dir) = dispatcher(4, 30);
        let p = new_push("p", 2);
        let r = d.reserve(&p).expect("a due push, permits free");
        assert_eq!(d.permits.available_permits(), 2);
        assert_eq!(r.lease_until(), p.received_at.plus_secs(30));
        // An insert that fails drops the reservation: the permits go back.
        drop(r);
        assert_eq!(d.permits.available_permits(), 4);
        // Not every recipient gets a permit: stored unleased.
        assert!(d.reserve(&new_push("big", 5)).is_none());
        assert!(d.reserve(&new_push("none", 0)).is_none());
        // deliver-after in the future: not due, never leased at insert.
        let mut later = new_push("later", 1);
        later.deliver_after = Some(later.received_at.plus_secs(60));
        assert!(d.reserve(&later).is_none());
        // No fast path once shutdown began.
        stop.send(true).unwrap();
        assert!(d.reserve(&p).is_none());
        assert_eq!(d.permits.available_permits(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_keeps_a_new_push_behind_recipients_no_lease_query_took_yet() {
        let (d, _stop, _dir) = dispatcher(4, 30);
        // Before the first lease query the store may hold a queue from before a restart: the
        // push is stored unleased, its permit goes back and it waits for the lease query.
        assert_eq!(push_through(&d, "first").await, Some(0));
        assert_eq!(d.permits.available_permits(), 4);
        assert_eq!(d.lease_once().await, Some(1));
        // That query came back short: nothing waits, the next push is stored leased.
        assert_eq!(push_through(&d, "second").await, Some(1));
        // A push stored unleased (here: no permit for every recipient) puts the next one
        // behind it, until a lease query takes it.
        d.store.insert_push(new_push("big", 5)).await.unwrap();
        d.queued();
        assert_eq!(push_through(&d, "third").await, Some(0));
        assert_eq!(d.permits.available_permits(), 2);
        // Two permits, six due recipients: the query comes back full and more still wait.
        assert_eq!(d.lease_once().await, Some(2));
        assert_eq!(push_through(&d, "fourth").await, None, "no permit free");
        let leased = |how: &str| d.metrics.dispatch_leased.with_label_values(&[how]).get();
        assert_eq!((leased("insert"), leased("query")), (1, 3));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lease_query_nothing_asked_for_is_a_probe_that_leaves_the_permits_free() {
        let (d, _stop, _dir) = dispatcher(PROBE_BATCH * 8, 30);
        assert_eq!(
            d.lease_once().await,
            Some(0),
            "the start-up query, a full batch"
        );
        // Recipients due without a push queued (as retries come due): found by the poll's
        // probe, which takes PROBE_BATCH permits, not every free one.
        let due = PROBE_BATCH * 3;
        d.store.insert_push(new_push("due", due)).await.unwrap();
        assert!(d.backlog.empty());
        assert_eq!(d.lease_once().await, Some(PROBE_BATCH));
        // It came back full: a backlog, and the next query takes what is free.
        assert!(!d.backlog.empty());
        assert_eq!(d.lease_once().await, Some(due - PROBE_BATCH));
        assert!(d.backlog.empty(), "it came back short");
        let leased = |how: &str| d.metrics.dispatch_leased.with_label_values(&[how]).get();
        assert_eq!(leased("query"), due as u64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_drain_waits_for_outcomes_recorded_after_the_permits_came_back() {
        let (d, stop, _dir) = dispatcher(8, 30);
        assert_eq!(d.lease_once().await, Some(0));
        // No SMSC: each job waits for a session inside its attempt window, holding its permit.
        let ids: Vec<String> = (0..4).map(|i| format!("drain-{i}")).collect();
        for id in &ids {
            assert_eq!(push_through(&d, id).await, Some(1));
        }
        let run = tokio::spawn(d.clone().run());
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Shutdown: every job stops waiting, gives its permit back, then records its retry.
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the dispatcher stops")
            .unwrap();
        // Committed before run returned: a status query (a reader, not queued behind the
        // writer's commands) already sees each retry's description.
        for id in &ids {
            let status = d.store.status(id, &[]).await.unwrap();
            let status = status.expect("a known push-id");
            assert!(
                status.iter().all(|r| r.desc.contains("no SMSC session")),
                "{id}'s retry was not recorded when the dispatcher stopped: {status:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn estimated_backlog_the_fast_path_needs_no_backlog() {
        let (d, _stop, _dir) = estimating_dispatcher(4, 30);
        let p = new_push("p", 2);
        // Before the first lease query the store may hold a queue from before a restart.
        assert!(d.reserve(&p).is_none());
        assert_eq!(d.lease_once().await, Some(0));
        assert!(d.reserve(&p).is_some(), "no backlog, permits free");
        // A push stored unleased is a backlog until a lease query comes back short.
        d.queued();
        assert!(d.reserve(&p).is_none());
        assert_eq!(d.lease_once().await, Some(0));
        assert!(d.reserve(&p).is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn estimated_backlog_a_lease_query_that_came_back_full_is_a_backlog() {
        // A 1 s lease: the two jobs give their permits back after its attempt window.
        let (d, _stop, _dir) = estimating_dispatcher(2, 1);
        assert_eq!(d.lease_once().await, Some(0));
        d.store.insert_push(new_push("queued", 3)).await.unwrap();
        d.queued();
        // Two of three leased: the third waits in the store.
        assert_eq!(d.lease_once().await, Some(2));
        let free = || d.permits.available_permits() == 2;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !free() {
            assert!(
                Instant::now() < deadline,
                "the jobs never gave their permits back"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Permits are free again, yet a new push must not overtake the third recipient.
        assert!(d.reserve(&new_push("new", 1)).is_none());
        assert_eq!(d.lease_once().await, Some(1));
        assert!(d.reserve(&new_push("new", 1)).is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_stored_leased_is_handed_over_not_leased_again() {
        let (d, _stop, _dir) = dispatcher(4, 30);
        assert_eq!(d.lease_once().await, Some(0));
        let mut p = new_push("fast", 2);
        let r = d.reserve(&p).unwrap();
        p.lease_until = Some(r.lease_until());
        let jobs = d.store.insert_push(p).await.unwrap();
        assert_eq!(jobs.len(), 2);
        d.after_insert(jobs, Some(r));
        assert_eq!(
            d.permits.available_permits(),
            2,
            "the jobs hold the permits"
        );
        // The lease query does not see them.
        assert_eq!(d.lease_once().await, Some(0));
        let leased = |how: &str| d.metrics.dispatch_leased.with_label_values(&[how]).get();
        assert_eq!((leased("insert"), leased("query")), (2, 0));
    }

    #[test]
    fn an_attempt_ends_inside_its_lease() {
        for secs in [1, 2, 30, 300] {
            let lease = Duration::from_secs(secs);
            assert!(attempt_window(lease) < lease, "{secs}");
        }
        assert_eq!(
            attempt_window(Duration::from_secs(30)),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let (min, max) = (Duration::from_secs(5), Duration::from_secs(300));
        assert_eq!(backoff(min, max, 0), Duration::from_secs(5));
        assert_eq!(backoff(min, max, 1), Duration::from_secs(10));
        assert_eq!(backoff(min, max, 5), Duration::from_secs(160));
        assert_eq!(backoff(min, max, 6), Duration::from_secs(300));
        assert_eq!(backoff(min, max, 1000), Duration::from_secs(300));
    }
}
