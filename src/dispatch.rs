//! The dispatcher: store → segments → SMPP pool → store.
//!
//! It leases due recipients from the store, segments each one's stored WSP Push PDU for the SMSC
//! the route picks, submits through the pool and records the outcome. A recipient leaves the queue
//! only through a recorded outcome; anything that breaks in between (a crash, a kill -9) leaves a
//! lease that runs out, so the recipient is submitted again (at-least-once; see README).
//!
//! Receipts from the pool are written to the store before they are acknowledged to the SMSC.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tracing::{debug, info, warn};

use crate::config::{DispatchConfig, SmscConfig};
use crate::metrics::Metrics;
use crate::pap::PapCode;
use crate::smpp::pool::{OutboundMessage, Pool, Receipt, SubmitOutcome};
use crate::sms::{self, Ports};
use crate::store::{FinalEvent, Job, MessageState, PushStore, ReceiptMatch, ReceiptUpdate};
use crate::util::UtcTime;

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

pub struct Dispatcher<S: PushStore> {
    store: Arc<S>,
    pool: Pool,
    cfg: DispatchConfig,
    /// retry_deadline per SMSC name; the longest applies when a recipient found no route.
    retry_deadline: Duration,
    lease: Duration,
    metrics: Metrics,
    wake: Arc<Notify>,
}

/// Something that can wake the dispatcher when a push was stored.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
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
        waker: &Waker,
    ) -> Arc<Self> {
        let retry_deadline = smscs
            .iter()
            .map(|s| s.retry_deadline)
            .max()
            .unwrap_or(Duration::from_secs(600));
        Arc::new(Dispatcher {
            store,
            pool,
            cfg,
            retry_deadline,
            lease,
            metrics,
            wake: waker.0.clone(),
        })
    }

    /// Leases and submits due recipients until `shutdown` turns true; then waits for the
    /// submissions in flight (their outcome is recorded) and returns.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency));
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = permits.available_permits();
            let mut leased = 0;
            if free > 0 {
                let now = UtcTime::now();
                let until = now.plus_secs(self.lease.as_secs().max(1) as i64);
                match self.store.lease_due(now, free.min(256), until).await {
                    Ok(jobs) => {
                        leased = jobs.len();
                        for job in jobs {
                            let permit = permits
                                .clone()
                                .acquire_owned()
                                .await
                                .expect("semaphore never closed");
                            let me = self.clone();
                            let stop = shutdown.clone();
                            tokio::spawn(async move {
                                me.handle(job, stop).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => warn!(error = %e, "leasing due pushes failed; retrying"),
                }
            }
            if permits.available_permits() == 0 {
                // Every slot is busy: look again as soon as one submission finishes.
                tokio::select! {
                    p = permits.clone().acquire_owned() => drop(p),
                    _ = shutdown.changed() => {}
                }
            } else if leased == 0 {
                // Nothing due: sleep until a push is stored (wake) or the poll interval.
                tokio::select! {
                    _ = self.wake.notified() => {}
                    // Another instance sharing the store made a recipient due (PostgreSQL NOTIFY).
                    _ = self.store.store_wake() => {}
                    _ = tokio::time::sleep(self.cfg.poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        // Let submissions in flight record their outcome.
        let _ = permits.acquire_many(self.cfg.concurrency as u32).await;
        info!("dispatcher stopped");
    }

    async fn handle(&self, job: Job, mut shutdown: watch::Receiver<bool>) {
        let now = UtcTime::now();
        if let Some(before) = job.deliver_before
            && now >= before
        {
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
        let destination = format!("+{}", job.msisdn);
        let first_attempt = job.first_attempt_at.unwrap_or(now);
        let started = Instant::now();
        let mut last_problem = String::from("no SMSC session is bound for this destination");
        let deadline = started + attempt_window(self.lease);
        let mut attempt = self
            .try_routes(&job, &destination, deadline, &mut last_problem)
            .await;
        if attempt == Attempt::NoSession {
            // No session anywhere for this destination: wait (once, inside the attempt window)
            // for one to be bound again rather than back off for a reconnect; not past a
            // shutdown, though: then the recipient goes back to the store at once.
            let limit = RECONNECT_GRACE.min(deadline.saturating_duration_since(Instant::now()));
            let up = tokio::select! {
                up = self.pool.wait_route_up(&destination, limit) => up,
                _ = shutdown.wait_for(|stop| *stop) => false,
            };
            if up {
                attempt = self
                    .try_routes(&job, &destination, deadline, &mut last_problem)
                    .await;
            }
        }
        if attempt == Attempt::Done {
            return;
        }
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
    /// records the outcome (`Done`), or says why none did, with the last problem in
    /// `last_problem` for the retry record.
    async fn try_routes(
        &self,
        job: &Job,
        destination: &str,
        deadline: Instant,
        last_problem: &mut String,
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
                        *last_problem = format!("cannot segment for SMSC {}: {e}", route.name);
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
                );
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
                        format!("SMSC {} kept answering {name} (0x{status:08X})", route.name);
                    only_unavailable = false;
                    break;
                }
                SubmitOutcome::Unavailable => {
                    *last_problem = format!("SMSC {} has no bound session", route.name);
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
    metrics
        .pushes_finished
        .with_label_values(&[event.state.as_str()])
        .inc();
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
