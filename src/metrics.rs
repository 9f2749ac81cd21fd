//! The one catalogue of Prometheus metrics. Every name ppgd exposes is declared here and nowhere
//! else; `dashboards/` may use only these names (a test checks it).
//!
//! Rules: `ppgd_` prefix, `_total` for counters, `_seconds` histograms in base units, and bounded
//! label sets only (message type, PAP code, SMSC name, session index, command_status name, final
//! state). Never a push-id, an address or an error text as a label.

use std::sync::{Arc, OnceLock};

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

use crate::store::MessageState;

/// What kind of series a catalogue entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// (name, kind, labels, help) for every metric ppgd exposes.
pub const CATALOGUE: &[(&str, Kind, &[&str], &str)] = &[
    (
        "ppgd_build_info",
        Kind::Gauge,
        &["version"],
        "Always 1; the version label says which ppgd runs.",
    ),
    (
        "ppgd_pap_requests_total",
        Kind::Counter,
        &["message"],
        "PAP requests received, by PAP message type.",
    ),
    (
        "ppgd_pap_responses_total",
        Kind::Counter,
        &["message", "code"],
        "PAP answers sent, by message type and PAP result code.",
    ),
    (
        "ppgd_pap_response_duration_seconds",
        Kind::Histogram,
        &["message"],
        "Time from request received to PAP answer sent (includes the durable store sync).",
    ),
    (
        "ppgd_http_rejections_total",
        Kind::Counter,
        &["status"],
        "HTTP-level refusals (401, 404, 405, 413, 503) before a PAP document was read.",
    ),
    (
        "ppgd_pushes_accepted_total",
        Kind::Counter,
        &[],
        "Push recipients accepted (answered 1001), one per address.",
    ),
    (
        "ppgd_pushes_finished_total",
        Kind::Counter,
        &["state"],
        "Push recipients that reached a final PAP message-state.",
    ),
    (
        "ppgd_dispatch_leased_total",
        Kind::Counter,
        &["how"],
        "Push recipients leased for submission: how=insert stored already leased (the fast path), how=query by the lease query.",
    ),
    (
        "ppgd_queue_depth",
        Kind::Gauge,
        &[],
        "Push recipients accepted and not yet final.",
    ),
    (
        "ppgd_queue_oldest_age_seconds",
        Kind::Gauge,
        &[],
        "Age of the oldest push recipient not yet submitted.",
    ),
    (
        "ppgd_push_submit_latency_seconds",
        Kind::Histogram,
        &[],
        "From accept to the last segment's submit_sm_resp.",
    ),
    (
        "ppgd_push_delivery_latency_seconds",
        Kind::Histogram,
        &[],
        "From accept to the final delivery receipt.",
    ),
    (
        "ppgd_push_segments",
        Kind::Histogram,
        &[],
        "SMS segments per push recipient.",
    ),
    (
        "ppgd_smpp_session_bound",
        Kind::Gauge,
        &["smsc", "session"],
        "1 while the SMPP session is bound, else 0.",
    ),
    (
        "ppgd_smpp_binds_total",
        Kind::Counter,
        &["smsc"],
        "Successful binds, first binds and rebinds.",
    ),
    (
        "ppgd_smpp_bind_failures_total",
        Kind::Counter,
        &["smsc", "command_status"],
        "Binds refused by the SMSC (by command_status) or failed at the transport (status \"transport\").",
    ),
    (
        "ppgd_smpp_submit_sm_total",
        Kind::Counter,
        &["smsc", "session"],
        "submit_sm PDUs sent.",
    ),
    (
        "ppgd_smpp_submit_sm_resp_total",
        Kind::Counter,
        &["smsc", "command_status"],
        "submit_sm_resp received, by command_status name.",
    ),
    (
        "ppgd_smpp_window_in_use",
        Kind::Gauge,
        &["smsc", "session"],
        "Requests outstanding in the session window.",
    ),
    (
        "ppgd_smpp_adaptive_rate",
        Kind::Gauge,
        &["smsc", "session"],
        "submit_sm/s the session paces at: learnt from ESME_RTHROTTLED (adaptive_rate), else session_rate; 0 = unlimited.",
    ),
    (
        "ppgd_smpp_throttle_pauses_total",
        Kind::Counter,
        &["smsc"],
        "Pauses after ESME_RTHROTTLED or ESME_RMSGQFUL (with adaptive_rate, only those that cut the rate).",
    ),
    (
        "ppgd_smpp_response_timeouts_total",
        Kind::Counter,
        &["smsc"],
        "Requests whose response did not come in time (they are retried).",
    ),
    (
        "ppgd_smpp_enquire_link_failures_total",
        Kind::Counter,
        &["smsc"],
        "enquire_link left unanswered; the session is dropped and rebound.",
    ),
    (
        "ppgd_smpp_receipts_total",
        Kind::Counter,
        &["smsc", "state"],
        "Delivery receipts received, by message state.",
    ),
    (
        "ppgd_smpp_receipts_malformed_total",
        Kind::Counter,
        &["smsc"],
        "deliver_sm receipts that could not be parsed.",
    ),
    (
        "ppgd_smpp_receipts_unmatched_total",
        Kind::Counter,
        &["smsc"],
        "Receipts whose message_id matched no submitted segment.",
    ),
    (
        "ppgd_notifications_total",
        Kind::Counter,
        &["outcome"],
        "Result notifications: sent, acknowledged, retried, failed.",
    ),
    (
        "ppgd_store_commit_batch_size",
        Kind::Histogram,
        &[],
        "Writes grouped into one durable store commit.",
    ),
    (
        "ppgd_store_commit_duration_seconds",
        Kind::Histogram,
        &[],
        "Time of one durable store commit (including the sync).",
    ),
    // The process family every Prometheus client library exports, under its standard names (so
    // the usual process dashboards and alerts work); read from /proc at each scrape (Linux).
    (
        "process_cpu_seconds_total",
        Kind::Counter,
        &[],
        "Total user and system CPU time spent in seconds.",
    ),
    (
        "process_resident_memory_bytes",
        Kind::Gauge,
        &[],
        "Resident memory size in bytes.",
    ),
    (
        "process_virtual_memory_bytes",
        Kind::Gauge,
        &[],
        "Virtual memory size in bytes.",
    ),
    (
        "process_open_fds",
        Kind::Gauge,
        &[],
        "Number of open file descriptors.",
    ),
    (
        "process_max_fds",
        Kind::Gauge,
        &[],
        "Maximum number of open file descriptors.",
    ),
    (
        "process_threads",
        Kind::Gauge,
        &[],
        "Number of OS threads in the process.",
    ),
    (
        "process_start_time_seconds",
        Kind::Gauge,
        &[],
        "Start time of the process since unix epoch in seconds.",
    ),
];

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0, 1800.0,
];
const SEGMENT_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 16.0, 32.0, 255.0];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// All metric handles. Cheap to clone (the handles are reference counted).
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub pap_requests: IntCounterVec,
    pub pap_responses: IntCounterVec,
    pub pap_response_duration: HistogramVec,
    pub http_rejections: IntCounterVec,
    pub pushes_accepted: IntCounter,
    pub pushes_finished: IntCounterVec,
    pub dispatch_leased: IntCounterVec,
    pub queue_depth: IntGauge,
    pub queue_oldest_age: IntGauge,
    pub push_submit_latency: Histogram,
    pub push_delivery_latency: Histogram,
    pub push_segments: Histogram,
    pub smpp_session_bound: IntGaugeVec,
    pub smpp_binds: IntCounterVec,
    pub smpp_bind_failures: IntCounterVec,
    pub smpp_submit_sm: IntCounterVec,
    pub smpp_submit_sm_resp: IntCounterVec,
    pub smpp_window_in_use: IntGaugeVec,
    pub smpp_adaptive_rate: GaugeVec,
    pub smpp_throttle_pauses: IntCounterVec,
    pub smpp_response_timeouts: IntCounterVec,
    pub smpp_enquire_link_failures: IntCounterVec,
    pub smpp_receipts: IntCounterVec,
    pub smpp_receipts_malformed: IntCounterVec,
    pub smpp_receipts_unmatched: IntCounterVec,
    pub notifications: IntCounterVec,
    pub store_commit_batch_size: Histogram,
    pub store_commit_duration: Histogram,
    hot: Arc<Hot>,
}

/// The label children every push uses, each looked up at its first use and kept (a
/// `with_label_values` hashes the labels and takes a lock at every call). A series still
/// appears when it is first used, as with `with_label_values`.
#[derive(Default)]
struct Hot {
    pap_push_requests: OnceLock<IntCounter>,
    pap_push_accepted: OnceLock<IntCounter>,
    pap_push_duration: OnceLock<Histogram>,
    leased_insert: OnceLock<IntCounter>,
    finished: [OnceLock<IntCounter>; 9],
}

/// The label a PAP push-message request counts under (`ppgd_pap_requests_total{message}`).
pub const PUSH_MESSAGE: &str = "push-message";

fn entry(name: &str) -> (&'static str, &'static [&'static str], &'static str) {
    let (n, _, labels, help) = CATALOGUE
        .iter()
        .find(|(n, ..)| *n == name)
        .unwrap_or_else(|| panic!("metric {name} is not in the catalogue"));
    (n, labels, help)
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        macro_rules! reg {
            ($m:expr) => {{
                let m = $m.expect("metric definition is valid");
                registry
                    .register(Box::new(m.clone()))
                    .expect("metric registered once");
                m
            }};
        }
        let counter_vec = |name: &str| {
            let (n, labels, help) = entry(name);
            IntCounterVec::new(Opts::new(n, help), labels)
        };
        let gauge_vec = |name: &str| {
            let (n, labels, help) = entry(name);
            IntGaugeVec::new(Opts::new(n, help), labels)
        };
        let histogram = |name: &str, buckets: &[f64]| {
            let (n, _, help) = entry(name);
            Histogram::with_opts(HistogramOpts::new(n, help).buckets(buckets.to_vec()))
        };
        let m = Metrics {
            pap_requests: reg!(counter_vec("ppgd_pap_requests_total")),
            pap_responses: reg!(counter_vec("ppgd_pap_responses_total")),
            pap_response_duration: reg!({
                let (n, labels, help) = entry("ppgd_pap_response_duration_seconds");
                HistogramVec::new(
                    HistogramOpts::new(n, help).buckets(LATENCY_BUCKETS.to_vec()),
                    labels,
                )
            }),
            http_rejections: reg!(counter_vec("ppgd_http_rejections_total")),
            pushes_accepted: reg!({
                let (n, _, help) = entry("ppgd_pushes_accepted_total");
                IntCounter::new(n, help)
            }),
            pushes_finished: reg!(counter_vec("ppgd_pushes_finished_total")),
            dispatch_leased: reg!(counter_vec("ppgd_dispatch_leased_total")),
            queue_depth: reg!({
                let (n, _, help) = entry("ppgd_queue_depth");
                IntGauge::new(n, help)
            }),
            queue_oldest_age: reg!({
                let (n, _, help) = entry("ppgd_queue_oldest_age_seconds");
                IntGauge::new(n, help)
            }),
            push_submit_latency: reg!(histogram(
                "ppgd_push_submit_latency_seconds",
                LATENCY_BUCKETS
            )),
            push_delivery_latency: reg!(histogram(
                "ppgd_push_delivery_latency_seconds",
                LATENCY_BUCKETS
            )),
            push_segments: reg!(histogram("ppgd_push_segments", SEGMENT_BUCKETS)),
            smpp_session_bound: reg!(gauge_vec("ppgd_smpp_session_bound")),
            smpp_binds: reg!(counter_vec("ppgd_smpp_binds_total")),
            smpp_bind_failures: reg!(counter_vec("ppgd_smpp_bind_failures_total")),
            smpp_submit_sm: reg!(counter_vec("ppgd_smpp_submit_sm_total")),
            smpp_submit_sm_resp: reg!(counter_vec("ppgd_smpp_submit_sm_resp_total")),
            smpp_window_in_use: reg!(gauge_vec("ppgd_smpp_window_in_use")),
            smpp_adaptive_rate: reg!({
                let (n, labels, help) = entry("ppgd_smpp_adaptive_rate");
                GaugeVec::new(Opts::new(n, help), labels)
            }),
            smpp_throttle_pauses: reg!(counter_vec("ppgd_smpp_throttle_pauses_total")),
            smpp_response_timeouts: reg!(counter_vec("ppgd_smpp_response_timeouts_total")),
            smpp_enquire_link_failures: reg!(counter_vec("ppgd_smpp_enquire_link_failures_total")),
            smpp_receipts: reg!(counter_vec("ppgd_smpp_receipts_total")),
            smpp_receipts_malformed: reg!(counter_vec("ppgd_smpp_receipts_malformed_total")),
            smpp_receipts_unmatched: reg!(counter_vec("ppgd_smpp_receipts_unmatched_total")),
            notifications: reg!(counter_vec("ppgd_notifications_total")),
            store_commit_batch_size: reg!(histogram("ppgd_store_commit_batch_size", BATCH_BUCKETS)),
            store_commit_duration: reg!(histogram(
                "ppgd_store_commit_duration_seconds",
                LATENCY_BUCKETS
            )),
            registry: registry.clone(),
            hot: Arc::default(),
        };
        let build = reg!({
            let (n, labels, help) = entry("ppgd_build_info");
            IntGaugeVec::new(Opts::new(n, help), labels)
        });
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        // Both ways exist from the start, so the ratio can be read before the first push.
        for how in ["insert", "query"] {
            m.dispatch_leased.with_label_values(&[how]);
        }
        registry
            .register(Box::new(ProcessCollector::new()))
            .expect("process metrics registered once");
        m
    }

    /// The text exposition format for `/metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics cannot fail");
        out
    }

    /// `ppgd_pap_requests_total{message="push-message"}`.
    pub fn pap_push_requests(&self) -> &IntCounter {
        self.hot
            .pap_push_requests
            .get_or_init(|| self.pap_requests.with_label_values(&[PUSH_MESSAGE]))
    }

    /// `ppgd_pap_responses_total{message="push-message", code="1001"}`.
    pub fn pap_push_accepted(&self) -> &IntCounter {
        self.hot.pap_push_accepted.get_or_init(|| {
            self.pap_responses
                .with_label_values(&[PUSH_MESSAGE, "1001"])
        })
    }

    /// `ppgd_pap_response_duration_seconds{message="push-message"}`.
    pub fn pap_push_duration(&self) -> &Histogram {
        self.hot.pap_push_duration.get_or_init(|| {
            self.pap_response_duration
                .with_label_values(&[PUSH_MESSAGE])
        })
    }

    /// `ppgd_dispatch_leased_total{how="insert"}`.
    pub fn dispatch_leased_insert(&self) -> &IntCounter {
        self.hot
            .leased_insert
            .get_or_init(|| self.dispatch_leased.with_label_values(&["insert"]))
    }

    /// `ppgd_pushes_finished_total{state}`.
    pub fn finished_counter(&self, state: MessageState) -> &IntCounter {
        let slot = match state {
            MessageState::Pending => 0,
            MessageState::Delivered => 1,
            MessageState::Undeliverable => 2,
            MessageState::Expired => 3,
            MessageState::Cancelled => 4,
            MessageState::Aborted => 5,
            MessageState::Timeout => 6,
            MessageState::Rejected => 7,
            MessageState::Unknown => 8,
        };
        self.hot.finished[slot]
            .get_or_init(|| self.pushes_finished.with_label_values(&[state.as_str()]))
    }

    /// Handles for one SMPP session, with the label children resolved once (hot path).
    pub fn smpp_session(&self, smsc: &str, session: usize) -> SessionMetrics {
        let idx = session.to_string();
        SessionMetrics {
            smsc: smsc.to_string(),
            bound: self.smpp_session_bound.with_label_values(&[smsc, &idx]),
            submit_sm: self.smpp_submit_sm.with_label_values(&[smsc, &idx]),
            window_in_use: self.smpp_window_in_use.with_label_values(&[smsc, &idx]),
            adaptive_rate: self.smpp_adaptive_rate.with_label_values(&[smsc, &idx]),
            binds: self.smpp_binds.with_label_values(&[smsc]),
            throttle_pauses: self.smpp_throttle_pauses.with_label_values(&[smsc]),
            response_timeouts: self.smpp_response_timeouts.with_label_values(&[smsc]),
            enquire_link_failures: self.smpp_enquire_link_failures.with_label_values(&[smsc]),
            receipts_malformed: self.smpp_receipts_malformed.with_label_values(&[smsc]),
            resp_ok: OnceLock::new(),
            all: self.clone(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Metric handles of one SMPP session.
#[derive(Clone)]
pub struct SessionMetrics {
    pub smsc: String,
    pub bound: IntGauge,
    pub submit_sm: IntCounter,
    pub window_in_use: IntGauge,
    /// The session's pacing rate (submit_sm/s; 0 = unlimited).
    pub adaptive_rate: Gauge,
    pub binds: IntCounter,
    pub throttle_pauses: IntCounter,
    pub response_timeouts: IntCounter,
    pub enquire_link_failures: IntCounter,
    pub receipts_malformed: IntCounter,
    /// `submit_sm_resp` with ESME_ROK, looked up at its first use.
    resp_ok: OnceLock<IntCounter>,
    all: Metrics,
}

impl SessionMetrics {
    /// A bind refused: `status` is the command_status name (bounded set) or "transport".
    pub fn bind_failed(&self, status: &str) {
        self.all
            .smpp_bind_failures
            .with_label_values(&[self.smsc.as_str(), status])
            .inc();
    }
    /// A submit_sm_resp arrived with this command_status name.
    pub fn submit_sm_resp(&self, status: &str) {
        let resp = &self.all.smpp_submit_sm_resp;
        if status == "ESME_ROK" {
            self.resp_ok
                .get_or_init(|| resp.with_label_values(&[self.smsc.as_str(), status]))
                .inc();
        } else {
            resp.with_label_values(&[self.smsc.as_str(), status]).inc();
        }
    }
    /// A delivery receipt arrived with this final state name (DELIVRD, UNDELIV, ...).
    pub fn receipt(&self, state: &str) {
        self.all
            .smpp_receipts
            .with_label_values(&[self.smsc.as_str(), state])
            .inc();
    }
}

/// The standard `process_*` metrics, read from `/proc/self` when scraped (the prometheus crate has
/// a collector for this behind its `process` feature, which pulls in `procfs`; these seven values
/// are a few lines of /proc). On a system without /proc the family is exposed with no samples
/// updated (zeros), never an error on the scrape.
struct ProcessCollector {
    cpu: prometheus::Counter,
    rss: IntGauge,
    vsize: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
    threads: IntGauge,
    start_time: prometheus::Gauge,
    descs: Vec<prometheus::core::Desc>,
}

/// /proc reports CPU times in USER_HZ clock ticks, which Linux fixes at 100 for user space on
/// every architecture (sysconf(_SC_CLK_TCK)).
const USER_HZ: f64 = 100.0;

impl ProcessCollector {
    fn new() -> Self {
        let gauge = |name: &str| {
            let (n, _, help) = entry(name);
            IntGauge::new(n, help).expect("metric definition is valid")
        };
        let (n, _, help) = entry("process_cpu_seconds_total");
        let cpu = prometheus::Counter::new(n, help).expect("metric definition is valid");
        let (n, _, help) = entry("process_start_time_seconds");
        let start_time = prometheus::Gauge::new(n, help).expect("metric definition is valid");
        let mut c = ProcessCollector {
            cpu,
            rss: gauge("process_resident_memory_bytes"),
            vsize: gauge("process_virtual_memory_bytes"),
            open_fds: gauge("process_open_fds"),
            max_fds: gauge("process_max_fds"),
            threads: gauge("process_threads"),
            start_time,
            descs: Vec::new(),
        };
        c.descs = c.parts().iter().flat_map(|m| m.desc()).cloned().collect();
        if let Some(t) = read_start_time() {
            c.start_time.set(t);
        }
        c
    }

    /// The seven metrics, for `desc` and `collect` alike.
    fn parts(&self) -> [&dyn prometheus::core::Collector; 7] {
        [
            &self.cpu,
            &self.rss,
            &self.vsize,
            &self.open_fds,
            &self.max_fds,
            &self.threads,
            &self.start_time,
        ]
    }

    fn refresh(&self) {
        if let Some(st) = read_proc_stat() {
            // A counter only goes up: add what the kernel counted since the last scrape.
            let total = st.cpu_ticks as f64 / USER_HZ;
            let delta = total - self.cpu.get();
            if delta > 0.0 {
                self.cpu.inc_by(delta);
            }
            self.threads.set(st.threads);
            self.vsize.set(st.vsize);
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(kb) = status_kb(&status, "VmRSS:")
        {
            self.rss.set(kb * 1024);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(dir.count() as i64);
        }
        if let Some(max) = read_max_fds() {
            self.max_fds.set(max);
        }
    }
}

impl prometheus::core::Collector for ProcessCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.refresh();
        self.parts().iter().flat_map(|m| m.collect()).collect()
    }
}

struct ProcStat {
    cpu_ticks: u64,
    threads: i64,
    vsize: i64,
    start_ticks: u64,
}

/// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
/// hence the split at the last ')'): proc(5) fields 14 utime, 15 stime, 20 num_threads,
/// 22 starttime, 23 vsize.
fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        cpu_ticks: field(14)? + field(15)?,
        threads: i64::try_from(field(20)?).ok()?,
        start_ticks: field(22)?,
        vsize: i64::try_from(field(23)?).ok()?,
    })
}

fn read_proc_stat() -> Option<ProcStat> {
    parse_proc_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn status_kb(status: &str, key: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Boot time (/proc/stat `btime`) plus the process start in ticks since boot.
fn read_start_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(btime as f64 + read_proc_stat()?.start_ticks as f64 / USER_HZ)
}

/// The soft limit of "Max open files" in /proc/self/limits ("unlimited" gives none).
fn read_max_fds() -> Option<i64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_follow_the_conventions() {
        for (name, kind, _, help) in CATALOGUE {
            // Ours carry the prefix; the process family keeps its standard names.
            assert!(
                name.starts_with("ppgd_") || name.starts_with("process_"),
                "{name}"
            );
            assert!(!help.is_empty(), "{name} has no help");
            match kind {
                Kind::Counter => assert!(name.ends_with("_total"), "{name}"),
                Kind::Gauge | Kind::Histogram => assert!(!name.ends_with("_total"), "{name}"),
            }
        }
    }

    #[test]
    fn proc_stat_fields_survive_a_command_name_with_spaces_and_parens() {
        let line = "4242 (ppgd (serve) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 \
                    7 0 12345 987654321 5000 18446744073709551615";
        let st = parse_proc_stat(line).expect("parses");
        assert_eq!(st.cpu_ticks, 325);
        assert_eq!(st.threads, 7);
        assert_eq!(st.start_ticks, 12345);
        assert_eq!(st.vsize, 987_654_321);
        assert!(parse_proc_stat("4242 (ppgd) S 1").is_none());
        assert_eq!(
            status_kb("Name:\tppgd\nVmRSS:\t  20176 kB\n", "VmRSS:"),
            Some(20176)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_read_this_process() {
        let m = Metrics::new();
        let text = m.render();
        let value = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
                .parse()
                .expect("a number")
        };
        assert!(value("process_resident_memory_bytes") > 1e6);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_threads") >= 1.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = value("process_start_time_seconds");
        assert!(
            started > now - 86_400.0 && started <= now + 1.0,
            "{started} vs {now}"
        );
        assert!(value("process_cpu_seconds_total") >= 0.0);
    }

    #[test]
    fn the_hot_children_are_the_labelled_series_and_appear_at_first_use() {
        let m = Metrics::new();
        let text = m.render();
        assert!(!text.contains("message=\"push-message\""), "{text}");
        assert!(!text.contains("ppgd_pushes_finished_total{"), "{text}");
        // A clone made before the first use shares the children.
        let clone = m.clone();
        m.pap_push_requests().inc();
        clone.pap_push_requests().inc();
        m.pap_push_accepted().inc();
        m.pap_push_duration().observe(0.002);
        m.dispatch_leased_insert().inc_by(3);
        m.finished_counter(MessageState::Delivered).inc();
        m.finished_counter(MessageState::Expired).inc();
        let text = m.render();
        for line in [
            "ppgd_pap_requests_total{message=\"push-message\"} 2",
            "ppgd_pap_responses_total{code=\"1001\",message=\"push-message\"} 1",
            "ppgd_pap_response_duration_seconds_count{message=\"push-message\"} 1",
            "ppgd_dispatch_leased_total{how=\"insert\"} 3",
            "ppgd_pushes_finished_total{state=\"delivered\"} 1",
            "ppgd_pushes_finished_total{state=\"expired\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        let s = m.smpp_session("smsc1", 0);
        s.submit_sm_resp("ESME_ROK");
        s.submit_sm_resp("ESME_ROK");
        s.submit_sm_resp("ESME_RTHROTTLED");
        let resp = |st: &str| {
            m.smpp_submit_sm_resp
                .with_label_values(&["smsc1", st])
                .get()
        };
        assert_eq!((resp("ESME_ROK"), resp("ESME_RTHROTTLED")), (2, 1));
    }

    #[test]
    fn every_catalogue_entry_is_registered() {
        let m = Metrics::new();
        // Touch one child of each vector so that gather() shows every family.
        let s = m.smpp_session("smsc1", 0);
        s.bind_failed("ESME_RINVPASWD");
        s.submit_sm_resp("ESME_ROK");
        s.receipt("DELIVRD");
        s.submit_sm.inc();
        m.smpp_receipts_unmatched
            .with_label_values(&["smsc1"])
            .inc();
        m.pap_requests.with_label_values(&["push-message"]).inc();
        m.pap_responses
            .with_label_values(&["push-message", "1001"])
            .inc();
        m.pap_response_duration
            .with_label_values(&["push-message"])
            .observe(0.001);
        m.http_rejections.with_label_values(&["401"]).inc();
        m.pushes_finished.with_label_values(&["delivered"]).inc();
        m.notifications.with_label_values(&["sent"]).inc();
        let text = m.render();
        for (name, ..) in CATALOGUE {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing from /metrics"
            );
        }
    }
}
