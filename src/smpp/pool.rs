//! The SMPP pool the dispatcher calls: every session of every SMSC, routing by destination
//! prefix, and `submit` with transient retries inside until the message deadline.
//!
//! Each SMSC has one queue of segment jobs shared by its sessions: a session takes a job when its
//! window has room and the rate limiters give it a slot. A job is never lost: a dropped session,
//! a response timeout or ESME_RTHROTTLED puts it back at the front of the queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusmpp::pdus::SubmitSm;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{RouteConfig, SmscConfig};
use crate::metrics::Metrics;
use crate::smpp::pdu::{PduError, build_submit_sm};
use crate::smpp::session::RateLimiter;
use crate::smpp::status::{self, Disposition};

/// One SMSC the dispatcher may try for a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmscRoute {
    pub name: String,
    pub carriage: crate::sms::Carriage,
    pub max_segments: usize,
    /// At least one bound session now.
    pub up: bool,
}

/// One message (all its segments) for one destination.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// E.164 digits without '+' (dest_addr).
    pub destination: String,
    pub segments: Vec<crate::sms::Segment>,
    /// Ask for receipts: registered_delivery from config, else 0.
    pub receipt: bool,
    /// Absolute validity_period (from deliver-before); None = the SMSC config default.
    pub validity: Option<crate::util::UtcTime>,
    /// Transient retries stop here.
    pub deadline: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// One message_id per segment, in order.
    Accepted { message_ids: Vec<String> },
    /// A permanent status, or a transient one until the deadline.
    Rejected {
        status: u32,
        name: &'static str,
        permanent: bool,
        segment: usize,
    },
    /// No bound session on that SMSC now (the caller tries the next route).
    Unavailable,
}

/// A delivery receipt for the gateway. Send `true` on `ack` once it is stored: only then does the
/// SMSC get deliver_sm_resp ESME_ROK (false or no answer in time: ESME_RX_T_APPN, it redelivers).
#[derive(Debug)]
pub struct Receipt {
    pub smsc: String,
    pub message_id: String,
    pub outcome: crate::store::ReceiptOutcome,
    pub detail: String,
    pub ack: oneshot::Sender<bool>,
}

/// What a session answers for one job.
#[derive(Debug)]
pub(crate) enum JobResult {
    Accepted(String),
    Status(u32),
    /// The deadline passed while queued (carries the last transient status, 0 = none).
    Expired(u32),
    /// The pool shut down.
    Closed,
}

/// One segment waiting for a session.
#[derive(Debug)]
pub(crate) struct Job {
    /// Shared with the submitter, which queues it again after a transient failure.
    pub sm: Arc<SubmitSm>,
    pub deadline: Instant,
    pub reply: oneshot::Sender<JobResult>,
    /// The last transient status this job met (throttles are retried inside the session).
    pub last_status: Arc<AtomicU32>,
}

/// State shared by the sessions of one SMSC.
pub(crate) struct SmscShared {
    pub cfg: SmscConfig,
    queue: Mutex<VecDeque<Job>>,
    pub notify: Notify,
    pub bound: AtomicUsize,
    pub limiter: Mutex<RateLimiter>,
    pub tls: Option<Result<tokio_rustls::TlsConnector, String>>,
}

impl SmscShared {
    pub fn new(cfg: &SmscConfig) -> Self {
        SmscShared {
            cfg: cfg.clone(),
            queue: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            bound: AtomicUsize::new(0),
            limiter: Mutex::new(RateLimiter::new(cfg.rate)),
            tls: tls_connector(cfg),
        }
    }

    /// Whether a job waits in the queue (answered or not).
    pub fn has_jobs(&self) -> bool {
        self.queue.lock().is_ok_and(|q| !q.is_empty())
    }

    pub fn push_back(&self, job: Job) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_back(job);
        }
        self.notify.notify_one();
    }

    pub fn push_front(&self, job: Job) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_front(job);
        }
        self.notify.notify_one();
    }

    /// The next job whose submitter still waits; jobs past their deadline are answered here.
    pub fn pop(&self, now: Instant) -> Option<Job> {
        let mut q = self.queue.lock().ok()?;
        while let Some(job) = q.pop_front() {
            if job.reply.is_closed() {
                continue;
            }
            if job.deadline <= now {
                let last = job.last_status.load(Ordering::Relaxed);
                let _ = job.reply.send(JobResult::Expired(last));
                continue;
            }
            return Some(job);
        }
        None
    }

    fn close_queue(&self) {
        if let Ok(mut q) = self.queue.lock() {
            for job in q.drain(..) {
                let _ = job.reply.send(JobResult::Closed);
            }
        }
    }

    /// The SMSC-wide rate slot.
    pub fn reserve(&self, now: Instant) -> Instant {
        self.limiter
            .lock()
            .map(|mut l| l.reserve(now))
            .unwrap_or(now)
    }
}

struct PoolInner {
    smscs: Vec<Arc<SmscShared>>,
    routes: Vec<RouteConfig>,
    accepting: AtomicBool,
    shutdown: watch::Sender<bool>,
    bound: watch::Sender<usize>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

fn tls_connector(cfg: &SmscConfig) -> Option<Result<tokio_rustls::TlsConnector, String>> {
    let tls = cfg.tls.as_ref()?;
    Some(
        crate::util::tls::client_config(tls)
            .map(|config| tokio_rustls::TlsConnector::from(Arc::new(config))),
    )
}

/// Maps a local PDU build failure to the command_status an SMSC would have answered.
fn build_status(e: &PduError) -> u32 {
    match e {
        PduError::Field {
            field: "destination_addr",
            ..
        } => 0x0B,
        PduError::Field {
            field: "source_addr",
            ..
        } => 0x0A,
        PduError::Field {
            field: "service_type",
            ..
        } => 0x15,
        PduError::Field { .. } | PduError::Time(_) => 0x62,
        PduError::ShortMessage { .. } => 0x01,
    }
}

enum SegmentError {
    Status { status: u32, permanent: bool },
    Unavailable,
}

impl Pool {
    /// Spawns every session of every SMSC; returns at once.
    pub fn start(
        smscs: &[SmscConfig],
        routes: &[RouteConfig],
        metrics: Metrics,
        receipts: mpsc::Sender<Receipt>,
    ) -> Pool {
        let (shutdown, _) = watch::channel(false);
        let (bound, _) = watch::channel(0usize);
        let shared: Vec<Arc<SmscShared>> = smscs
            .iter()
            .map(|cfg| Arc::new(SmscShared::new(cfg)))
            .collect();
        let inner = Arc::new(PoolInner {
            smscs: shared.clone(),
            routes: routes.to_vec(),
            accepting: AtomicBool::new(true),
            shutdown,
            bound,
            tasks: Mutex::new(Vec::new()),
        });
        let mut tasks = Vec::new();
        for smsc in &shared {
            for idx in 0..smsc.cfg.sessions.max(1) {
                let ctx = crate::smpp::conn::SessionContext {
                    smsc: smsc.clone(),
                    idx,
                    metrics: metrics.smpp_session(&smsc.cfg.name, idx),
                    receipts: receipts.clone(),
                    shutdown: inner.shutdown.subscribe(),
                    bound: inner.bound.clone(),
                };
                tasks.push(tokio::spawn(crate::smpp::conn::run(ctx)));
            }
        }
        if let Ok(mut t) = inner.tasks.lock() {
            *t = tasks;
        }
        Pool { inner }
    }

    /// The SMSCs to try for an E.164 destination ("+4917..."), in route order (longest prefix
    /// wins; no match = all SMSCs in config order).
    pub fn route(&self, destination: &str) -> Vec<SmscRoute> {
        let dest = destination.trim_start_matches('+');
        let mut best: Option<&RouteConfig> = None;
        for r in &self.inner.routes {
            let p = r.prefix.trim_start_matches('+');
            if dest.starts_with(p)
                && best.is_none_or(|b| p.len() > b.prefix.trim_start_matches('+').len())
            {
                best = Some(r);
            }
        }
        let names: Vec<&str> = match best {
            Some(r) => r.smsc.iter().map(String::as_str).collect(),
            None => self
                .inner
                .smscs
                .iter()
                .map(|s| s.cfg.name.as_str())
                .collect(),
        };
        names
            .into_iter()
            .filter_map(|n| self.smsc(n))
            .map(|s| SmscRoute {
                name: s.cfg.name.clone(),
                carriage: s.cfg.carriage,
                max_segments: s.cfg.max_segments,
                up: s.bound.load(Ordering::Relaxed) > 0,
            })
            .collect()
    }

    fn smsc(&self, name: &str) -> Option<&Arc<SmscShared>> {
        self.inner.smscs.iter().find(|s| s.cfg.name == name)
    }

    /// Submits every segment of one message to one SMSC, all on that SMSC. Transient failures
    /// (throttle, timeouts, dropped sessions, retryable statuses) are retried inside with backoff
    /// until `message.deadline`; resolves with one outcome.
    pub async fn submit(&self, smsc: &str, message: OutboundMessage) -> SubmitOutcome {
        let Some(shared) = self.smsc(smsc).cloned() else {
            return SubmitOutcome::Unavailable;
        };
        if !self.inner.accepting.load(Ordering::Relaxed)
            || shared.bound.load(Ordering::Relaxed) == 0
        {
            return SubmitOutcome::Unavailable;
        }
        let mut pdus = Vec::with_capacity(message.segments.len());
        for (i, seg) in message.segments.iter().enumerate() {
            match build_submit_sm(
                seg,
                &shared.cfg,
                &message.destination,
                message.receipt,
                message.validity,
            ) {
                Ok(sm) => pdus.push(Arc::new(sm)),
                Err(e) => {
                    tracing::warn!(smsc, segment = i, error = %e, "submit_sm cannot be built");
                    let status = build_status(&e);
                    return SubmitOutcome::Rejected {
                        status,
                        name: status::name(status),
                        permanent: true,
                        segment: i,
                    };
                }
            }
        }
        // Most pushes are one segment: no join for those.
        let results = if let [sm] = &pdus[..] {
            vec![submit_segment(&shared, sm.clone(), message.deadline).await]
        } else {
            futures::future::join_all(
                pdus.into_iter()
                    .map(|sm| submit_segment(&shared, sm, message.deadline)),
            )
            .await
        };
        let mut ids = Vec::with_capacity(results.len());
        let mut transient: Option<(usize, u32)> = None;
        let mut unavailable = false;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(id) => ids.push(id),
                Err(SegmentError::Status {
                    status,
                    permanent: true,
                }) => {
                    return SubmitOutcome::Rejected {
                        status,
                        name: status::name(status),
                        permanent: true,
                        segment: i,
                    };
                }
                Err(SegmentError::Status {
                    status,
                    permanent: false,
                }) => {
                    transient.get_or_insert((i, status));
                }
                Err(SegmentError::Unavailable) => unavailable = true,
            }
        }
        match transient {
            Some((segment, status)) => SubmitOutcome::Rejected {
                status,
                name: status::name(status),
                permanent: false,
                segment,
            },
            None if unavailable => SubmitOutcome::Unavailable,
            None => SubmitOutcome::Accepted { message_ids: ids },
        }
    }

    pub fn bound_sessions(&self) -> usize {
        self.inner
            .smscs
            .iter()
            .map(|s| s.bound.load(Ordering::Relaxed))
            .sum()
    }

    /// Waits at most `limit` for one of `destination`'s SMSCs to have a bound session; true if
    /// one has (at once when one has already).
    pub async fn wait_route_up(&self, destination: &str, limit: Duration) -> bool {
        let mut rx = self.inner.bound.subscribe();
        let up = rx.wait_for(|_| self.route(destination).iter().any(|r| r.up));
        matches!(tokio::time::timeout(limit, up).await, Ok(Ok(_)))
    }

    /// Waits until at least `n` sessions are bound (tests, readiness).
    pub async fn wait_bound(&self, n: usize) {
        let mut rx = self.inner.bound.subscribe();
        let _ = rx.wait_for(|_| self.bound_sessions() >= n).await;
    }

    /// Stop taking submits, let windows drain, unbind; at most `deadline`.
    pub async fn shutdown(&self, deadline: Duration) {
        self.inner.accepting.store(false, Ordering::Relaxed);
        let _ = self.inner.shutdown.send(true);
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        if tokio::time::timeout(deadline, futures::future::join_all(tasks))
            .await
            .is_err()
        {
            tracing::warn!("SMPP shutdown deadline passed; aborting sessions");
            for a in aborts {
                a.abort();
            }
        }
        for s in &self.inner.smscs {
            s.close_queue();
        }
    }
}

async fn submit_segment(
    shared: &SmscShared,
    sm: Arc<SubmitSm>,
    deadline: Instant,
) -> Result<String, SegmentError> {
    let mut unknown_attempts = 0;
    let mut backoff = Duration::from_millis(50);
    let mut last = 0u32;
    loop {
        let (tx, rx) = oneshot::channel();
        let last_status = Arc::new(AtomicU32::new(last));
        shared.push_back(Job {
            sm: sm.clone(),
            deadline,
            reply: tx,
            last_status: last_status.clone(),
        });
        let result = tokio::time::timeout_at(deadline.into(), rx).await;
        let status = match result {
            Ok(Ok(JobResult::Accepted(id))) => return Ok(id),
            Ok(Ok(JobResult::Status(s))) => s,
            Ok(Ok(JobResult::Expired(s))) => {
                let s = if s != 0 { s } else { last };
                return if s == 0 {
                    Err(SegmentError::Unavailable)
                } else {
                    Err(SegmentError::Status {
                        status: s,
                        permanent: false,
                    })
                };
            }
            Ok(Ok(JobResult::Closed)) | Ok(Err(_)) => return Err(SegmentError::Unavailable),
            Err(_) => {
                let s = last_status.load(Ordering::Relaxed);
                return if s == 0 {
                    Err(SegmentError::Unavailable)
                } else {
                    Err(SegmentError::Status {
                        status: s,
                        permanent: false,
                    })
                };
            }
        };
        match status::disposition(status) {
            Disposition::Permanent => {
                return Err(SegmentError::Status {
                    status,
                    permanent: true,
                });
            }
            Disposition::Retry | Disposition::Throttle => {
                if !status::is_known(status) {
                    unknown_attempts += 1;
                    if unknown_attempts >= status::UNKNOWN_RETRY_CAP {
                        return Err(SegmentError::Status {
                            status,
                            permanent: true,
                        });
                    }
                }
                last = status;
                let now = Instant::now();
                if now + backoff >= deadline {
                    return Err(SegmentError::Status {
                        status,
                        permanent: false,
                    });
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
