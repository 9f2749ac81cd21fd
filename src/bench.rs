//! `ppgd bench`: a load tool for any PPG that speaks PAP over HTTP (ppgd, Kannel's PPG).
//!
//! It POSTs push-messages at a target concurrency or rate, for a count or a duration, over
//! keep-alive HTTP/1.1 connections (one per worker, `http`), and reports the PAP answers (rate, latency percentiles, result codes).
//! Given the SMSC simulator's record (`ppgd sim --record FILE`, JSON lines, one per submit_sm),
//! it reassembles what reached the SMSC, matches every complete message to its push-id (the MMS
//! transaction id, or the SI si-id, both set to the push-id) and its destination, and reports
//! what was lost and what arrived twice. It fails if a push answered with a success code (1xxx)
//! never reached the SMSC within `--drain`.
//!
//! The per-push work is kept small so that the tool is not the bottleneck: each content kind is
//! built once as a template whose push-id and destination digits sit at known offsets, and a push
//! is a copy of the template with those fixed-width fields overwritten.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal as _, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use memchr::memmem;

use crate::client::{PushArgs, basic_auth, build_request};
use crate::mms::NotificationInd;
use crate::pap::PapDocument;
use crate::sms::{Fragment, Reassembler, Sar};
use crate::wbxml::ServiceIndication;
use crate::wsp::PushPdu;

mod http;

/// What each push carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContentKind {
    /// An MMS m-notification-ind that fits one SMS.
    Mms,
    /// An MMS m-notification-ind with a long X-Mms-Content-Location: three SMS segments.
    Mms3,
    /// A Service Indication (the PPG compiles it to WBXML).
    Si,
    /// mms, mms3 and si in turn.
    Mix,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The PPG's PAP URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/wappush")]
    pub url: String,
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// Pushes to send (with --duration: whichever ends first). Neither: 1000.
    #[arg(long)]
    pub count: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Target pushes per second (paced; still at most --concurrency in flight). Default: as fast
    /// as the PPG answers.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Send for this long ("60s", "5min").
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    #[arg(long, value_enum, default_value = "mms")]
    pub content: ContentKind,
    /// Addresses per push (each a distinct number).
    #[arg(long, default_value_t = 1)]
    pub addresses: u32,
    /// The simulator's JSON-lines record (`ppgd sim --record`): check that every accepted push
    /// arrived complete, count duplicates, measure accept-to-submit latency.
    #[arg(long)]
    pub sim_record: Option<PathBuf>,
    /// After the last answer, wait at most this long for accepted pushes to reach the SMSC.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// Fail if more than this many duplicate arrivals are seen (delivery is at-least-once: a
    /// reconnect or a crash may resend what was in flight). Default: duplicates are only counted.
    #[arg(long)]
    pub max_duplicates: Option<u64>,
    /// PAP version of the documents sent: 1.0 (Kannel) or 2.0.
    #[arg(long, default_value = "2.0")]
    pub pap_version: String,
    /// Seconds to wait for each answer.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Prefix of the push-ids (default: "b" and 8 hex digits unique to this run).
    #[arg(long)]
    pub id_prefix: Option<String>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// One content kind made ready to send: the request body with the places to patch.
#[derive(Debug, Clone)]
struct Template {
    content_type: String,
    body: Vec<u8>,
    /// Offsets of the push-id's 10 index digits.
    id_at: Vec<usize>,
    /// For each address: offsets of its 8 variable digits.
    addr_at: Vec<Vec<usize>>,
}

const ID_DIGITS: usize = 10;
const ADDR_DIGITS: usize = 8;
/// Destinations are +4917 followed by 8 digits; push i, address j gets (i*K + j) mod 10^8.
const ADDR_PREFIX: &str = "4917";
/// Long enough for three segments whether the PPG uses 8-bit or 16-bit concatenation references
/// (the WSP push is then about 330 octets; 128 or 127 user data octets a segment).
const MMS3_LOCATION_LEN: usize = 260;

/// The requests `ppgd bench` sends. Public for the tests.
#[derive(Debug, Clone)]
pub struct Payloads {
    prefix: String,
    templates: Vec<Template>,
    addresses: u32,
}

impl Payloads {
    pub fn new(
        kind: ContentKind,
        prefix: &str,
        addresses: u32,
        pap_version: &str,
    ) -> anyhow::Result<Payloads> {
        if addresses == 0 {
            bail!("--addresses must be at least 1");
        }
        let kinds: &[ContentKind] = match kind {
            ContentKind::Mix => &[ContentKind::Mms, ContentKind::Mms3, ContentKind::Si],
            ContentKind::Mms => &[ContentKind::Mms],
            ContentKind::Mms3 => &[ContentKind::Mms3],
            ContentKind::Si => &[ContentKind::Si],
        };
        let templates = kinds
            .iter()
            .map(|k| template(*k, prefix, addresses, pap_version))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Payloads {
            prefix: prefix.to_string(),
            templates,
            addresses,
        })
    }

    pub fn push_id(&self, i: u64) -> String {
        format!("{}{i:0ID_DIGITS$}", self.prefix)
    }

    /// The index of one of our push-ids.
    pub fn index_of(&self, push_id: &str) -> Option<u64> {
        let digits = push_id.strip_prefix(&self.prefix)?;
        if digits.len() != ID_DIGITS {
            return None;
        }
        digits.parse().ok()
    }

    /// Which template push `i` is made from (the content kinds take turns).
    fn template_of(&self, i: u64) -> usize {
        usize::try_from(i % self.templates.len() as u64).unwrap_or(0)
    }

    /// (Content-Type, body) of push `i`.
    pub fn request(&self, i: u64) -> (&str, Vec<u8>) {
        let mut body = Vec::new();
        self.body_into(i, &mut body);
        (&self.templates[self.template_of(i)].content_type, body)
    }

    /// Appends the body of push `i` to `out`.
    fn body_into(&self, i: u64, out: &mut Vec<u8>) {
        let t = &self.templates[self.template_of(i)];
        let start = out.len();
        out.extend_from_slice(&t.body);
        let body = &mut out[start..];
        let mut id = [0u8; ID_DIGITS];
        put_digits(&mut id, i);
        for &at in &t.id_at {
            body[at..at + ID_DIGITS].copy_from_slice(&id);
        }
        for (j, places) in t.addr_at.iter().enumerate() {
            let mut digits = [0u8; ADDR_DIGITS];
            put_digits(&mut digits, i * u64::from(self.addresses) + j as u64);
            for &at in places {
                body[at..at + ADDR_DIGITS].copy_from_slice(&digits);
            }
        }
    }

    /// The push-id request `i` carries, into `out` (replacing what it held).
    fn push_id_into(&self, i: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.prefix.as_bytes());
        let mut id = [0u8; ID_DIGITS];
        put_digits(&mut id, i);
        out.extend_from_slice(&id);
    }
}

/// The last `out.len()` decimal digits of `n`, zero-padded (`format!("{:0w$}", n % 10^w)`).
fn put_digits(out: &mut [u8], mut n: u64) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

fn template(
    kind: ContentKind,
    prefix: &str,
    addresses: u32,
    pap_version: &str,
) -> anyhow::Result<Template> {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        a: PushArgs,
    }
    let mut a = Wrap::try_parse_from(["push"])?.a;
    // Placeholders: letters cannot occur by chance in the rest of the body's fields we touch;
    // the address placeholders are digits (the address grammar wants them) starting 99.
    let id_placeholder = "Q".repeat(ID_DIGITS);
    a.push_id = Some(format!("{prefix}{id_placeholder}"));
    a.pap_version = pap_version.to_string();
    let addr_placeholder = |j: u32| format!("{ADDR_PREFIX}99{j:06}");
    a.to = (0..addresses)
        .map(|j| format!("+{}", addr_placeholder(j)))
        .collect();
    match kind {
        ContentKind::Mms => a.mms_location = Some("http://mmsc.example/m".into()),
        ContentKind::Mms3 => {
            let base = "http://mmsc.example/";
            let pad = "x".repeat(MMS3_LOCATION_LEN.saturating_sub(base.len()));
            a.mms_location = Some(format!("{base}{pad}"));
        }
        ContentKind::Si => {
            a.si_href = Some("http://wap.example/si".into());
            a.si_text = "ppgd bench".into();
        }
        ContentKind::Mix => bail!("mix is made of the other kinds"),
    }
    let (content_type, body) = build_request(&a)?;
    let finder = memmem::Finder::new(id_placeholder.as_bytes());
    let id_at: Vec<usize> = finder.find_iter(&body).collect();
    if id_at.is_empty() {
        bail!("the push-id is not in the request body");
    }
    let mut addr_at = Vec::new();
    for j in 0..addresses {
        let p = addr_placeholder(j);
        let places: Vec<usize> = memmem::find_iter(&body, p.as_bytes())
            .map(|at| at + ADDR_PREFIX.len())
            .collect();
        if places.is_empty() {
            bail!("address {j} is not in the request body");
        }
        addr_at.push(places);
    }
    Ok(Template {
        content_type,
        body,
        id_at,
        addr_at,
    })
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Answer {
    /// A PAP document with this result code (HTTP status alongside).
    Pap {
        code: u16,
        http: u16,
    },
    /// An HTTP answer without a PAP result code.
    Http(u16),
    Timeout,
    /// Connection refused or reset, or another transport error.
    Transport,
}

impl Answer {
    pub fn accepted(&self) -> bool {
        matches!(self, Answer::Pap { code, http } if (1000..2000).contains(code) && (200..300).contains(http))
    }

    fn label(&self) -> String {
        match self {
            Answer::Pap { code, http } if (200..300).contains(http) => code.to_string(),
            Answer::Pap { code, http } => format!("{code}/http{http}"),
            Answer::Http(s) => format!("http{s}"),
            Answer::Timeout => "timeout".into(),
            Answer::Transport => "transport-error".into(),
        }
    }
}

fn classify(status: u16, body: &[u8]) -> Answer {
    match PapDocument::parse(body) {
        Ok(doc) => match crate::client::answer_codes(&doc.message).first() {
            Some(&code) => Answer::Pap { code, http: status },
            None => Answer::Http(status),
        },
        Err(_) => Answer::Http(status),
    }
}

/// Classifies answers, remembering the ones it parsed. The answers of a run differ from one
/// another mostly in the push-id they echo and their reply-time: an answer that is byte for byte
/// one seen before but for those (this request's own push-id; a reply-time that reads as a PAP
/// time, as the document parser reads it) is classified as that one was, without parsing the
/// document again. Any other answer is parsed whole, as [`classify`] does.
struct Classifier {
    /// (skeleton, answer), at most [`Classifier::REMEMBERED`], replaced in turn.
    known: Vec<(Vec<u8>, Answer)>,
    replace: usize,
    masked: Vec<u8>,
    key: Vec<u8>,
    reply_time: memmem::Finder<'static>,
    /// The push-ids' common prefix (none when empty): a push-id is found as its prefix followed
    /// by the rest of it.
    prefix: Option<memmem::Finder<'static>>,
    /// The last reply-time that read as a PAP time (answers within a second share it).
    valid_time: Option<[u8; 20]>,
}

impl Classifier {
    const REMEMBERED: usize = 8;

    /// For push-ids that all start with `prefix`.
    fn new(prefix: &str) -> Classifier {
        Classifier {
            known: Vec::new(),
            replace: 0,
            masked: Vec::new(),
            key: Vec::new(),
            reply_time: memmem::Finder::new(b"reply-time=\"").into_owned(),
            prefix: (!prefix.is_empty())
                .then(|| memmem::Finder::new(prefix.as_bytes()).into_owned()),
            valid_time: None,
        }
    }

    fn classify(&mut self, status: u16, body: &[u8], push_id: &[u8]) -> Answer {
        if !self.skeleton(status, body, push_id) {
            return classify(status, body);
        }
        if let Some((_, a)) = self.known.iter().find(|(k, _)| *k == self.key) {
            return *a;
        }
        let a = classify(status, body);
        let entry = (self.key.clone(), a);
        if self.known.len() < Self::REMEMBERED {
            self.known.push(entry);
        } else {
            self.known[self.replace] = entry;
            self.replace = (self.replace + 1) % Self::REMEMBERED;
        }
        a
    }

    /// Into `key`: the status, then `body` with the value of its first `reply-time` attribute
    /// (when it reads as a PAP time) and every occurrence of `push_id` replaced by markers that
    /// cannot occur in a body (NUL octets). False, and nothing to compare, when the body or the
    /// push-id holds a NUL.
    fn skeleton(&mut self, status: u16, body: &[u8], push_id: &[u8]) -> bool {
        const TIME: &[u8] = b"\0T\0";
        const ID: &[u8] = b"\0I\0";
        self.key.clear();
        if push_id.is_empty()
            || memchr::memchr(0, body).is_some()
            || memchr::memchr(0, push_id).is_some()
        {
            return false;
        }
        let time = self
            .reply_time
            .find(body)
            .map(|at| at + self.reply_time.needle().len())
            .filter(|&at| body.get(at + 20) == Some(&b'"'))
            .filter(|&at| {
                let t = &body[at..at + 20];
                if self.valid_time.is_some_and(|v| v == t) {
                    return true;
                }
                let valid = std::str::from_utf8(t)
                    .is_ok_and(|t| crate::util::UtcTime::parse_pap(t).is_ok());
                if valid {
                    self.valid_time = t.try_into().ok();
                }
                valid
            });
        let body = match time {
            Some(at) => {
                self.masked.clear();
                self.masked.extend_from_slice(&body[..at]);
                self.masked.extend_from_slice(TIME);
                self.masked.extend_from_slice(&body[at + 20..]);
                &self.masked[..]
            }
            None => body,
        };
        self.key.extend_from_slice(&status.to_be_bytes());
        let mut from = 0;
        let mut mask = |at: usize, key: &mut Vec<u8>| {
            if at >= from && body[at..].starts_with(push_id) {
                key.extend_from_slice(&body[from..at]);
                key.extend_from_slice(ID);
                from = at + push_id.len();
            }
        };
        match &self.prefix {
            Some(p) if push_id.starts_with(p.needle()) => {
                for at in p.find_iter(body) {
                    mask(at, &mut self.key);
                }
            }
            _ => {
                for at in memmem::find_iter(body, push_id) {
                    mask(at, &mut self.key);
                }
            }
        }
        self.key.extend_from_slice(&body[from..]);
        true
    }
}

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(mut v: Vec<u64>) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        // Nearest rank.
        let at = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[rank - 1]
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: v[v.len() - 1],
        }
    }

    fn ms(&self) -> String {
        let f = |us: u64| us as f64 / 1000.0;
        format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            f(self.p50),
            f(self.p90),
            f(self.p99),
            f(self.max)
        )
    }
}

/// What the SMSC received, from the simulator's record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// submit_sm lines read (every segment, ours or not).
    pub segments: u64,
    /// Segments per second between the first and the last submit_sm of this run.
    pub segments_per_sec: f64,
    /// Complete messages carrying one of our push-ids.
    pub messages: u64,
    /// Accepted (push, address) pairs that never arrived.
    pub lost: u64,
    /// Arrivals of an accepted (push, address) beyond the first.
    pub duplicates: u64,
    /// Complete messages for pushes that were not answered 1xxx (timed out, refused...).
    pub unaccepted_arrivals: u64,
    /// Complete messages that are not ours (another run) or could not be decoded.
    pub foreign: u64,
    /// From the POST of the push to the submit_sm of its last segment.
    pub accept_to_submit: Percentiles,
    /// A few lost push-ids, for the operator.
    pub lost_examples: Vec<String>,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub sent: u64,
    pub accepted: u64,
    pub elapsed: Duration,
    pub accepted_per_sec: f64,
    /// PAP response latency (all answers).
    pub latency: Percentiles,
    /// Answer label ("1001", "4001/http503", "timeout"...) → count.
    pub codes: BTreeMap<String, u64>,
    pub arrivals: Option<Arrivals>,
}

impl BenchReport {
    pub fn lost(&self) -> Option<u64> {
        self.arrivals.as_ref().map(|a| a.lost)
    }

    /// The summary, several lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let codes: Vec<String> = self.codes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!(
            "pushes: {} sent, {} accepted in {:.1} s: {:.0} accepted/s\n",
            self.sent,
            self.accepted,
            self.elapsed.as_secs_f64(),
            self.accepted_per_sec
        ));
        s.push_str(&format!("PAP latency: {}\n", self.latency.ms()));
        s.push_str(&format!("PAP codes: {}\n", codes.join(" ")));
        match &self.arrivals {
            Some(a) => {
                s.push_str(&format!(
                    "SMSC: {} segments, {:.0} segments/s, {} messages ({} for unaccepted pushes, {} foreign)\n",
                    a.segments, a.segments_per_sec, a.messages, a.unaccepted_arrivals, a.foreign
                ));
                s.push_str(&format!(
                    "accept-to-submit (POST to last segment): {}\n",
                    a.accept_to_submit.ms()
                ));
                s.push_str(&format!("lost {} duplicates {}", a.lost, a.duplicates));
                if !a.lost_examples.is_empty() {
                    s.push_str(&format!(" (lost e.g. {})", a.lost_examples.join(", ")));
                }
                s.push('\n');
            }
            None => s.push_str("lost ? (no --sim-record: arrivals not checked)\n"),
        }
        s
    }

    /// One `key=value` line for scripts.
    pub fn line(&self) -> String {
        let code = |k: &str| self.codes.get(k).copied().unwrap_or(0);
        let rejected: u64 = self
            .codes
            .iter()
            .filter(|(k, _)| k.starts_with("4001") || k.as_str() == "http503")
            .map(|(_, v)| *v)
            .sum();
        let mut s = format!(
            "sent={} accepted={} accepted_per_s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} code1001={} rejected_4001={}",
            self.sent,
            self.accepted,
            self.accepted_per_sec,
            self.latency.p50 as f64 / 1000.0,
            self.latency.p90 as f64 / 1000.0,
            self.latency.p99 as f64 / 1000.0,
            self.latency.max as f64 / 1000.0,
            code("1001"),
            rejected,
        );
        if let Some(a) = &self.arrivals {
            s.push_str(&format!(
                " segments_per_s={:.0} submit_p50_ms={:.2} submit_p99_ms={:.2} lost={} duplicates={}",
                a.segments_per_sec,
                a.accept_to_submit.p50 as f64 / 1000.0,
                a.accept_to_submit.p99 as f64 / 1000.0,
                a.lost,
                a.duplicates
            ));
        }
        s
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One finished request.
#[derive(Debug, Clone, Copy)]
struct Sent {
    index: u64,
    /// Wall clock of the POST, µs since the epoch (compared with the simulator's record).
    at_us: u64,
    latency_us: u64,
    answer: Answer,
}

struct Progress {
    sent: AtomicU64,
    accepted: AtomicU64,
    failed: AtomicU64,
}

/// Runs the load and, with a record, the arrival check. Does not print the summary.
pub async fn bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if let Some(r) = args.rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--rate must be a positive number");
    }
    let count = match (args.count, args.duration) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => 1000,
    };
    let auth = match (&args.username, &args.password) {
        (Some(u), Some(p)) => Some(basic_auth(u, p)),
        (None, None) => None,
        _ => bail!("give both --username and --password, or neither"),
    };
    let prefix = args.id_prefix.clone().unwrap_or_else(|| {
        let seed = now_us() ^ (u64::from(std::process::id()) << 20);
        format!("b{:08x}-", seed & 0xFFFF_FFFF)
    });
    let payloads = Arc::new(Payloads::new(
        args.content,
        &prefix,
        args.addresses,
        &args.pap_version,
    )?);
    // Where this run's part of the record starts.
    let mut follower = match &args.sim_record {
        Some(p) => Some(RecordFollower::open(p)?),
        None => None,
    };

    let target = Arc::new(http::Target::new(&args.url, auth.as_deref())?);
    // One request head per template (the body's length does not change with the digits
    // patched in), shared by every request made from it.
    let heads = Arc::new(
        payloads
            .templates
            .iter()
            .map(|t| target.head(&t.content_type, t.body.len()))
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Progress {
        sent: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let start = Instant::now();
    let deadline = args.duration.map(|d| start + d);
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (payloads, next, progress, heads) = (
            payloads.clone(),
            next.clone(),
            progress.clone(),
            heads.clone(),
        );
        let mut client = http::Client::new(target.clone(), args.timeout);
        let rate = args.rate;
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut classifier = Classifier::new(&payloads.prefix);
            let mut push_id = Vec::new();
            let mut request = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                if let Some(r) = rate {
                    let at = start + Duration::from_secs_f64(index as f64 / r);
                    tokio::time::sleep_until(at.into()).await;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                request.clear();
                request.extend_from_slice(&heads[payloads.template_of(index)]);
                payloads.body_into(index, &mut request);
                payloads.push_id_into(index, &mut push_id);
                let at_us = now_us();
                let t0 = Instant::now();
                let answer = match client.post(&request).await {
                    Ok((status, body)) => classifier.classify(status, body, &push_id),
                    Err(http::Failure::Timeout) => Answer::Timeout,
                    Err(http::Failure::Transport) => Answer::Transport,
                };
                let latency_us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                progress.sent.fetch_add(1, Ordering::Relaxed);
                if answer.accepted() {
                    progress.accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                }
                done.push(Sent {
                    index,
                    at_us,
                    latency_us,
                    answer,
                });
            }
            done
        }));
    }
    let show = !args.quiet;
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            let every = if tty {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if !show {
                    continue;
                }
                let sent = progress.sent.load(Ordering::Relaxed);
                let acc = progress.accepted.load(Ordering::Relaxed);
                let failed = progress.failed.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(0.001);
                let of = if count == u64::MAX {
                    String::new()
                } else {
                    format!("/{count}")
                };
                let line = format!(
                    "[{secs:6.1}s] sent {sent}{of}  accepted {acc} ({:.0}/s)  not accepted {failed}",
                    acc as f64 / secs
                );
                let mut e = std::io::stderr().lock();
                if tty {
                    let _ = write!(e, "\r{line}   ");
                } else {
                    let _ = writeln!(e, "{line}");
                }
                let _ = e.flush();
            }
        })
    };
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.context("a bench worker panicked")?);
    }
    let elapsed = start.elapsed();
    ticker.abort();
    if show && std::io::stderr().is_terminal() {
        eprintln!();
    }

    let accepted = results.iter().filter(|r| r.answer.accepted()).count() as u64;
    let mut codes = BTreeMap::new();
    for r in &results {
        *codes.entry(r.answer.label()).or_insert(0u64) += 1;
    }
    let latency = Percentiles::of(results.iter().map(|r| r.latency_us).collect());
    let arrivals = match follower.as_mut() {
        Some(f) => Some(check_arrivals(f, &payloads, &results, args.drain, show).await?),
        None => None,
    };
    Ok(BenchReport {
        sent: results.len() as u64,
        accepted,
        elapsed,
        accepted_per_sec: accepted as f64 / elapsed.as_secs_f64().max(1e-6),
        latency,
        codes,
        arrivals,
    })
}

/// Follows the record until every accepted push arrived or `drain` is over.
async fn check_arrivals(
    f: &mut RecordFollower,
    payloads: &Payloads,
    results: &[Sent],
    drain: Duration,
    show: bool,
) -> anyhow::Result<Arrivals> {
    let by_index: IndexMap<&Sent> = results.iter().map(|r| (r.index, r)).collect();
    let expected = payloads.addresses as usize;
    let accepted: Vec<u64> = results
        .iter()
        .filter(|r| r.answer.accepted())
        .map(|r| r.index)
        .collect();
    let until = Instant::now() + drain;
    let missing = loop {
        f.read_new(payloads)?;
        let missing = accepted
            .iter()
            .filter(|i| f.seen.get(i).map_or(0, Arrived::destinations) < expected)
            .count();
        if missing == 0 || Instant::now() >= until {
            break missing;
        }
        if show {
            eprint!("\rdraining: {missing} accepted pushes not at the SMSC yet   ");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if show && missing > 0 {
        eprintln!();
    }
    // Once more, for arrivals that came in with the last ones.
    f.read_new(payloads)?;
    let mut a = Arrivals {
        segments: f.segments,
        segments_per_sec: match (f.first_t, f.last_t) {
            (Some(a), Some(b)) if b > a => f.segments as f64 / ((b - a) as f64 / 1e6),
            _ => 0.0,
        },
        foreign: f.foreign,
        ..Arrivals::default()
    };
    let mut submit = Vec::new();
    for (index, arrived) in &f.seen {
        let count: u64 = arrived.iter().map(|d| d.copies).sum();
        a.messages += count;
        match by_index.get(index) {
            Some(s) if s.answer.accepted() => {
                a.duplicates += count - arrived.destinations() as u64;
                for d in arrived.iter() {
                    submit.push(d.first_t.saturating_sub(s.at_us));
                }
            }
            _ => a.unaccepted_arrivals += count,
        }
    }
    for i in &accepted {
        let got = f.seen.get(i).map_or(0, Arrived::destinations);
        if got < expected {
            a.lost += (expected - got) as u64;
            if a.lost_examples.len() < 5 {
                a.lost_examples.push(payloads.push_id(*i));
            }
        }
    }
    a.accept_to_submit = Percentiles::of(submit);
    Ok(a)
}

/// A hasher for the push indexes (u64 keys, no adversary): one multiplication, as FxHash.
#[derive(Default)]
struct IndexHasher(u64);

impl std::hash::Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A map keyed by push index.
type IndexMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IndexHasher>>;

/// One destination of a push as the record showed it: how many complete copies arrived, and
/// the submit time (µs) of the earliest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arrival {
    destination: Box<str>,
    copies: u64,
    first_t: u64,
}

/// The arrivals of one push, by destination (the first one kept inline: most pushes have one).
#[derive(Debug, Clone)]
struct Arrived {
    first: Arrival,
    more: Vec<Arrival>,
}

impl Arrived {
    fn new(destination: &str, t: u64) -> Arrived {
        Arrived {
            first: Arrival {
                destination: destination.into(),
                copies: 1,
                first_t: t,
            },
            more: Vec::new(),
        }
    }

    fn add(&mut self, destination: &str, t: u64) {
        match std::iter::once(&mut self.first)
            .chain(self.more.iter_mut())
            .find(|d| &*d.destination == destination)
        {
            Some(d) => {
                d.copies += 1;
                d.first_t = d.first_t.min(t);
            }
            None => self.more.push(Arrival {
                destination: destination.into(),
                copies: 1,
                first_t: t,
            }),
        }
    }

    /// Distinct destinations reached.
    fn destinations(&self) -> usize {
        1 + self.more.len()
    }

    fn iter(&self) -> impl Iterator<Item = &Arrival> {
        std::iter::once(&self.first).chain(self.more.iter())
    }
}

/// How much of the record is read at a time.
const RECORD_CHUNK: usize = 256 * 1024;

/// Reads the simulator's record from where it stood when the run began, as it grows: a chunk
/// at a time, the lines taken where they lie in the chunk (only a line cut by the chunk's end
/// is copied aside).
struct RecordFollower {
    /// Positioned at the first octet not read yet.
    file: std::fs::File,
    chunk: Vec<u8>,
    /// The start of a line whose end has not been read yet.
    pending: Vec<u8>,
    /// The user data of the line being read (hex decoded), reused.
    data: Vec<u8>,
    reasm: Reassembler<String, u64>,
    segments: u64,
    first_t: Option<u64>,
    last_t: Option<u64>,
    foreign: u64,
    /// push index → its arrivals.
    seen: IndexMap<Arrived>,
    identifier: Identifier,
}

/// The fields of one record line bench needs (see `crate::sim`).
#[derive(Debug, PartialEq, serde::Deserialize)]
struct RecordLine<'a> {
    #[serde(default)]
    t_us: Option<u64>,
    #[serde(borrow)]
    destination_addr: Cow<'a, str>,
    esm_class: u8,
    #[serde(borrow)]
    short_message: Cow<'a, str>,
    #[serde(default, borrow)]
    message_payload: Option<Cow<'a, str>>,
    #[serde(default)]
    sar: Option<[u32; 3]>,
}

impl<'a> RecordLine<'a> {
    /// A record line: read directly when it is laid out as `ppgd sim` writes it (its keys in its
    /// order, no space, no escape, unsigned integers), else by serde_json. The direct reading
    /// takes only lines serde_json takes too, and gives the same fields (a test compares them).
    fn parse(line: &'a [u8]) -> Option<RecordLine<'a>> {
        match RecordLine::parse_as_written(line) {
            Some(r) => Some(r),
            None => serde_json::from_slice(line).ok(),
        }
    }

    fn parse_as_written(line: &'a [u8]) -> Option<RecordLine<'a>> {
        let mut c = Cursor { b: line, at: 0 };
        c.lit(b"{\"data_coding\":")?;
        c.uint()?;
        c.lit(b",\"dest_npi\":")?;
        c.uint()?;
        c.lit(b",\"dest_ton\":")?;
        c.uint()?;
        c.lit(b",\"destination_addr\":")?;
        let destination_addr = c.string()?;
        c.lit(b",\"esm_class\":")?;
        let esm_class = u8::try_from(c.uint()?).ok()?;
        c.lit(b",\"message_id\":")?;
        c.string()?;
        c.lit(b",\"message_payload\":")?;
        let message_payload = if c.lit(b"null").is_some() {
            None
        } else {
            Some(Cow::Borrowed(c.string()?))
        };
        c.lit(b",\"registered_delivery\":")?;
        c.uint()?;
        c.lit(b",\"sar\":")?;
        let sar = if c.lit(b"null").is_some() {
            None
        } else {
            c.lit(b"[")?;
            let a = u32::try_from(c.uint()?).ok()?;
            c.lit(b",")?;
            let b = u32::try_from(c.uint()?).ok()?;
            c.lit(b",")?;
            let d = u32::try_from(c.uint()?).ok()?;
            c.lit(b"]")?;
            Some([a, b, d])
        };
        c.lit(b",\"service_type\":")?;
        c.string()?;
        c.lit(b",\"session\":")?;
        c.uint()?;
        c.lit(b",\"short_message\":")?;
        let short_message = c.string()?;
        c.lit(b",\"source_addr\":")?;
        c.string()?;
        c.lit(b",\"source_npi\":")?;
        c.uint()?;
        c.lit(b",\"source_ton\":")?;
        c.uint()?;
        c.lit(b",\"t_us\":")?;
        let t_us = c.uint()?;
        c.lit(b",\"validity_period\":")?;
        c.string()?;
        c.lit(b"}")?;
        (c.at == line.len()).then_some(RecordLine {
            t_us: Some(t_us),
            destination_addr: Cow::Borrowed(destination_addr),
            esm_class,
            short_message: Cow::Borrowed(short_message),
            message_payload,
            sar,
        })
    }
}

/// Reads a record line as `ppgd sim` lays it out; None at the first thing it does not expect.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        if self.b.get(self.at..)?.starts_with(s) {
            self.at += s.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON unsigned integer that fits a u64 (no sign, no leading zero, no fraction).
    fn uint(&mut self) -> Option<u64> {
        let digits = self.b.get(self.at..)?;
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || (n > 1 && digits[0] == b'0') {
            return None;
        }
        let mut v = 0u64;
        for d in &digits[..n] {
            v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        // Not a fraction or an exponent (JSON numbers go on with '.', 'e' or 'E').
        if matches!(digits.get(n), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at += n;
        Some(v)
    }

    /// A JSON string with nothing escaped in it (no backslash, no control character).
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.b.get(self.at..)?;
        if rest.first() != Some(&b'"') {
            return None;
        }
        let len = memchr::memchr2(b'"', b'\\', &rest[1..])?;
        if rest[1 + len] != b'"' {
            return None;
        }
        let s = &rest[1..1 + len];
        // No control character (a fold without early exit, which the compiler vectorises).
        if s.iter().fold(false, |c, b| c | (*b < 0x20)) {
            return None;
        }
        let s = std::str::from_utf8(s).ok()?;
        self.at += len + 2;
        Some(s)
    }
}

/// Hex digits into octets (into `out`, replacing what it held), as `crate::decode::parse_hex`
/// reads them: directly when the text is hex digits only, which is what the simulator writes;
/// by parse_hex otherwise (separators, "0x").
fn hex_into(text: &str, out: &mut Vec<u8>) -> bool {
    /// Each octet's value as a hex digit, 0xFF when it is not one.
    const DIGIT: [u8; 256] = {
        let mut t = [0xFFu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'A' as usize + i] = 10 + i as u8;
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    out.clear();
    let b = text.as_bytes();
    // Hex digits only (a fold without early exit, which the compiler vectorises).
    if b.len().is_multiple_of(2)
        && !b
            .iter()
            .fold(false, |bad, c| bad | (DIGIT[usize::from(*c)] == 0xFF))
    {
        out.extend(
            b.chunks_exact(2)
                .map(|pair| (DIGIT[usize::from(pair[0])] << 4) | DIGIT[usize::from(pair[1])]),
        );
        return true;
    }
    match crate::decode::parse_hex(text) {
        Ok(v) => {
            *out = v;
            true
        }
        Err(_) => false,
    }
}

impl RecordFollower {
    fn open(path: &Path) -> anyhow::Result<RecordFollower> {
        let mut file = std::fs::File::open(path)
            .with_context(|| format!("--sim-record {}", path.display()))?;
        let offset = file.metadata()?.len();
        file.seek(std::io::SeekFrom::Start(offset))?;
        Ok(RecordFollower {
            file,
            chunk: Vec::new(),
            pending: Vec::new(),
            data: Vec::new(),
            reasm: Reassembler::new(100_000),
            segments: 0,
            first_t: None,
            last_t: None,
            foreign: 0,
            seen: IndexMap::default(),
            identifier: Identifier::default(),
        })
    }

    /// Reads what was added to the record since the last call, up to its last whole line.
    fn read_new(&mut self, payloads: &Payloads) -> anyhow::Result<()> {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(RECORD_CHUNK, 0);
        loop {
            let n = match self.file.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.chunk = chunk;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            let mut rest = &chunk[..n];
            if !self.pending.is_empty() {
                // The end of the line the last chunk cut.
                let Some(nl) = memchr::memchr(b'\n', rest) else {
                    self.pending.extend_from_slice(rest);
                    continue;
                };
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(&rest[..nl]);
                self.line(&line, payloads);
                line.clear();
                self.pending = line;
                rest = &rest[nl + 1..];
            }
            let mut from = 0;
            for nl in memchr::memchr_iter(b'\n', rest) {
                self.line(&rest[from..nl], payloads);
                from = nl + 1;
            }
            self.pending.extend_from_slice(&rest[from..]);
        }
        self.chunk = chunk;
        Ok(())
    }

    fn line(&mut self, line: &[u8], payloads: &Payloads) {
        if line.is_empty() {
            return;
        }
        let Some(r) = RecordLine::parse(line) else {
            self.foreign += 1;
            return;
        };
        self.segments += 1;
        let t = r.t_us.unwrap_or(0);
        self.first_t = Some(self.first_t.map_or(t, |f| f.min(t)));
        self.last_t = Some(self.last_t.map_or(t, |l| l.max(t)));
        let hex = r.message_payload.as_deref().unwrap_or(&r.short_message);
        let mut data = std::mem::take(&mut self.data);
        if hex_into(hex, &mut data) {
            self.user_data(&r, &data, t, payloads);
        } else {
            self.foreign += 1;
        }
        self.data = data;
    }

    fn user_data(&mut self, r: &RecordLine, data: &[u8], t: u64, payloads: &Payloads) {
        // UDHI (SMPP 3.4 §5.2.12): the user data starts with a UDH; otherwise the record's
        // `sar` holds the SAR TLVs, if any.
        let fragment = if r.esm_class & 0x40 != 0 {
            match Fragment::from_user_data(data) {
                Ok(f) => f,
                Err(_) => {
                    self.foreign += 1;
                    return;
                }
            }
        } else {
            let sar = r.sar.and_then(|[a, b, c]| {
                Some(Sar {
                    reference: u16::try_from(a).ok()?,
                    total: u8::try_from(b).ok()?,
                    seqnum: u8::try_from(c).ok()?,
                })
            });
            Fragment::from_sar(data, sar, None)
        };
        let destination = &*r.destination_addr;
        // A message on its own is whole as it is (the reassembler would hand it back at once).
        let whole;
        let payload = if fragment.concat.is_none() {
            fragment.data
        } else {
            match self.reasm.push(destination.to_string(), fragment, t) {
                Ok(crate::sms::Progress::Complete(w)) => {
                    whole = w;
                    &whole.payload[..]
                }
                Ok(crate::sms::Progress::Pending { .. } | crate::sms::Progress::Duplicate) => {
                    return;
                }
                Err(_) => {
                    self.foreign += 1;
                    return;
                }
            }
        };
        match self.identifier.index(payload, payloads) {
            Some(index) => match self.seen.get_mut(&index) {
                Some(a) => a.add(destination, t),
                None => {
                    self.seen.insert(index, Arrived::new(destination, t));
                }
            },
            None => self.foreign += 1,
        }
    }
}

/// Finds whose push a complete message is, remembering the messages it decoded: the messages of
/// a run differ from one another mostly in the WSP transaction id (their first octet) and the
/// digits of the push-id they carry. A message that is byte for byte one decoded before but for
/// those (its first octet; the digits after our prefix where that message carried its push-id,
/// the only place it did) is that push's, without decoding it again: the decoders read
/// neither the transaction id's value nor the digits' values but to copy them. Any other
/// message is decoded whole, as [`identify`] does.
#[derive(Debug, Default)]
struct Identifier {
    known: Vec<KnownPdu>,
    replace: usize,
}

/// A message decoded before, and where its push-id is.
#[derive(Debug)]
struct KnownPdu {
    pdu: Vec<u8>,
    at: usize,
}

impl Identifier {
    const REMEMBERED: usize = 8;

    /// The index of the push `wsp` (a whole WSP push PDU) is for; None when it is not one of
    /// this run's pushes or does not decode.
    fn index(&mut self, wsp: &[u8], payloads: &Payloads) -> Option<u64> {
        let prefix = payloads.prefix.as_bytes();
        let len = prefix.len() + ID_DIGITS;
        for k in &self.known {
            if k.pdu.len() == wsp.len()
                && wsp[1..k.at] == k.pdu[1..k.at]
                && wsp[k.at + len..] == k.pdu[k.at + len..]
            {
                let id = &wsp[k.at..k.at + len];
                if id.starts_with(prefix) && id[prefix.len()..].iter().all(u8::is_ascii_digit) {
                    return Some(
                        id[prefix.len()..]
                            .iter()
                            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
                    );
                }
            }
        }
        let id = identify(wsp)?;
        let index = payloads.index_of(&id)?;
        let digits = &id.as_bytes()[prefix.len()..];
        if digits.iter().all(u8::is_ascii_digit) {
            let mut places = memmem::find_iter(wsp, id.as_bytes());
            if let (Some(at), None) = (places.next(), places.next())
                && at >= 1
            {
                let known = KnownPdu {
                    pdu: wsp.to_vec(),
                    at,
                };
                if self.known.len() < Self::REMEMBERED {
                    self.known.push(known);
                } else {
                    self.known[self.replace] = known;
                    self.replace = (self.replace + 1) % Self::REMEMBERED;
                }
            }
        }
        Some(index)
    }
}

/// The push-id a complete message carries: the MMS transaction id or the SI si-id.
pub fn identify(wsp: &[u8]) -> Option<String> {
    let pdu = PushPdu::decode(wsp).ok()?;
    if let Ok(n) = NotificationInd::decode(&pdu.body) {
        return Some(n.transaction_id);
    }
    ServiceIndication::from_wbxml(&pdu.body).ok()?.si_id
}

/// `ppgd bench`: runs, prints the summary and the one-line form, fails on loss.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let report = bench(&args).await?;
    print!("{}", report.render());
    println!("bench: {}", report.line());
    if let Some(a) = &report.arrivals {
        if a.lost > 0 {
            bail!(
                "{} accepted (push, address) pairs never reached the SMSC within --drain {:?}",
                a.lost,
                args.drain
            );
        }
        if let Some(max) = args.max_duplicates
            && a.duplicates > max
        {
            bail!("{} duplicate arrivals (allowed: {max})", a.duplicates);
        }
    }
    if report.accepted == 0 {
        bail!("nothing was accepted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let p = Percentiles::of((1..=100).collect());
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50, 90, 99, 100));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
        assert_eq!(Percentiles::of(vec![7]).p99, 7);
    }

    #[test]
    fn templates_patch_push_id_and_addresses() {
        let p = Payloads::new(ContentKind::Mix, "bt-", 2, "2.0").unwrap();
        for i in [0u64, 1, 2, 12345] {
            let (ct, body) = p.request(i);
            assert!(ct.starts_with("multipart/related"), "{ct}");
            let text = String::from_utf8_lossy(&body);
            let id = p.push_id(i);
            assert!(text.contains(&format!("push-id=\"{id}\"")), "{text}");
            assert_eq!(p.index_of(&id), Some(i));
            for j in 0..2u64 {
                let n = format!("+4917{:08}", i * 2 + j);
                assert!(text.contains(&n), "address {n} missing in {text}");
            }
            assert!(!text.contains("QQQQ"));
        }
        let mut id = Vec::new();
        p.push_id_into(12345, &mut id);
        assert_eq!(id, p.push_id(12345).as_bytes());
        for n in [0u64, 7, 99_999_999, 123_456_789_012, u64::MAX] {
            let mut d = [0u8; ADDR_DIGITS];
            put_digits(&mut d, n);
            assert_eq!(d, format!("{:08}", n % 100_000_000).as_bytes());
        }
        assert_eq!(p.index_of("bt-12"), None);
        assert_eq!(p.index_of("other-0000000001"), None);
    }

    /// The content body (after the blank line of the last MIME part) for sizes.
    fn mms_body(kind: ContentKind) -> Vec<u8> {
        let p = Payloads::new(kind, "b00000000-", 1, "2.0").unwrap();
        let (_, body) = p.request(7);
        // The m-notification-ind starts with X-Mms-Message-Type (0x8C) m-notification-ind (0x82).
        let at = memmem::find(&body, &[0x8C, 0x82]).expect("notification in the body");
        let n = NotificationInd::decode(&body[at..])
            .or_else(|_| {
                // The part ends with the closing boundary: decode up to it.
                let end = memmem::find(&body[at..], b"\r\n--").expect("boundary");
                NotificationInd::decode(&body[at..at + end])
            })
            .expect("decodes");
        assert_eq!(n.transaction_id, "b00000000-0000000007");
        n.encode()
    }

    #[test]
    fn mms_fits_one_segment_and_mms3_needs_three() {
        // One segment: 140 octets less the 7-octet port UDH, less ~10 octets of WSP push header.
        assert!(mms_body(ContentKind::Mms).len() < 110);
        // Three segments of 127 or 128 octets: between 256 and 381 octets of WSP push in all.
        let n = mms_body(ContentKind::Mms3).len();
        assert!((270..350).contains(&n), "{n}");
    }

    /// A record line as the simulator writes it (keys sorted, as serde_json's map writes them).
    fn record_line(source: &str, payload: Option<&str>, sar: Option<[u32; 3]>, t: u64) -> String {
        let v = serde_json::json!({
            "t_us": t,
            "session": 1,
            "message_id": "1000002A",
            "service_type": "",
            "source_addr": source,
            "source_ton": 1,
            "source_npi": 1,
            "destination_addr": "491700000001",
            "dest_ton": 1,
            "dest_npi": 1,
            "esm_class": 64,
            "data_coding": 245,
            "registered_delivery": 0,
            "validity_period": "",
            "short_message": "0605040B8423F0",
            "message_payload": payload,
            "sar": sar,
        });
        v.to_string()
    }

    #[test]
    fn record_lines_read_directly_as_serde_reads_them() {
        fn serde(l: &str) -> Option<RecordLine<'_>> {
            serde_json::from_slice(l.as_bytes()).ok()
        }
        let written = [
            record_line("12345", None, None, 1_764_000_000_123_456),
            record_line("", Some("00FFab"), Some([513, 3, 2]), 0),
            record_line("ppgd", None, Some([u32::MAX, 0, 10]), u64::MAX),
        ];
        for l in &written {
            let direct = RecordLine::parse_as_written(l.as_bytes());
            assert!(direct.is_some(), "{l}");
            assert_eq!(direct, serde(l), "{l}");
        }
        // Anything else is left to serde_json, which takes it or not as before.
        let w = &written[0];
        let others = [
            record_line("a\"b\\c\u{1}", None, None, 1),
            record_line("é", None, None, 1),
            w.replace("\"esm_class\":64", "\"esm_class\":064"),
            w.replace("\"esm_class\":64", "\"esm_class\":640"),
            w.replace("\"esm_class\":64", "\"esm_class\":6.4e1"),
            w.replace("\"dest_npi\":1", "\"dest_npi\":1.0"),
            w.replace("\"dest_npi\":1", "\"dest_npi\":-1"),
            w.replace("\"t_us\":1764000000123456", "\"t_us\":18446744073709551616"),
            w.replace("\"sar\":null", "\"sar\":[1,2]"),
            w.replace("\"sar\":null", "\"sar\":[1,2,4294967296]"),
            w.replace(",\"data_coding\"", ", \"data_coding\""),
            w.replace("{\"data_coding\":245,", "{")
                .replace("}", ",\"data_coding\":245}"),
            w.replace("\"message_id\":\"1000002A\",", ""),
            format!("{w} "),
            format!("{w}x"),
            w.replace("\"short_message\":\"0605", "\"short_message\":\"\\u0030605"),
            w[..w.len() - 1].to_string(),
            String::new(),
        ];
        for l in &others {
            if let Some(direct) = RecordLine::parse_as_written(l.as_bytes()) {
                assert_eq!(Some(direct), serde(l), "{l}");
            }
            assert_eq!(RecordLine::parse(l.as_bytes()), serde(l), "{l}");
        }
        // The control character and the escaped digit: read by serde_json, not directly.
        assert!(RecordLine::parse_as_written(others[0].as_bytes()).is_none());
        assert!(serde(&others[0]).is_some());
        assert!(RecordLine::parse_as_written(others[15].as_bytes()).is_none());
        assert_eq!(
            serde(&others[15]).map(|r| r.short_message.into_owned()),
            Some("0605040B8423F0".to_string())
        );
    }

    #[test]
    fn hex_read_as_parse_hex_reads_it() {
        for text in [
            "",
            "00",
            "0605040B8423F0",
            "abCDef",
            "0x41 42",
            "41:42,43",
            "123",
            "zz",
            "4G",
        ] {
            let mut out = vec![9];
            let ok = hex_into(text, &mut out);
            match crate::decode::parse_hex(text) {
                Ok(v) => assert!(ok && out == v, "{text}"),
                Err(_) => assert!(!ok, "{text}"),
            }
        }
    }

    #[test]
    fn the_follower_reads_lines_cut_by_its_chunks() {
        let dir = std::env::temp_dir().join(format!("ppgd-bench-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("record.jsonl");
        std::fs::write(&path, "left from an earlier run\n").unwrap();
        let payloads = Payloads::new(ContentKind::Mms, "bf-", 1, "2.0").unwrap();
        let mut f = RecordFollower::open(&path).unwrap();
        // Lines of an unknown message (foreign) long enough that a chunk ends inside one, and
        // the file read while a line is half written.
        let line = record_line("1", Some(&"AB".repeat(RECORD_CHUNK / 3)), None, 5);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for _ in 0..4 {
            writeln!(file, "{line}").unwrap();
        }
        write!(file, "{}", &line[..100]).unwrap();
        f.read_new(&payloads).unwrap();
        assert_eq!((f.segments, f.foreign), (4, 4));
        writeln!(file, "{}", &line[100..]).unwrap();
        writeln!(file).unwrap();
        f.read_new(&payloads).unwrap();
        assert_eq!((f.segments, f.foreign), (5, 5));
        assert!(f.pending.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn classifier_remembers_answers_but_for_push_id_and_reply_time() {
        let body = |id: &str, time: &str, code: u16| {
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 2.0//EN\" \
                 \"http://www.wapforum.org/DTD/pap_2.0.dtd\">\n<pap product-name=\"ppgd/0.1.0\">\n\
                 <push-response push-id=\"{id}\" sender-name=\"ppgd\" reply-time=\"{time}\">\n\
                 <response-result code=\"{code}\" desc=\"x\"/>\n</push-response>\n</pap>\n"
            )
        };
        // Found by their prefix, or (no prefix) by the whole push-id: the same skeletons.
        for prefix in ["b1-", ""] {
            classifier_cases(body, Classifier::new(prefix));
        }
    }

    fn classifier_cases(body: impl Fn(&str, &str, u16) -> String, mut c: Classifier) {
        let cases = [
            ("b1-0000000001", "2026-12-07T03:48:12Z", 1001, 202),
            ("b1-0000000002", "2026-12-07T03:48:13Z", 1001, 202),
            ("b1-0000000003", "2026-12-07T03:48:13Z", 2007, 202),
            ("b1-0000000004", "2026-12-07T03:48:14Z", 1001, 200),
            // Not a PAP time: parsed whole (the parser refuses the document).
            ("b1-0000000005", "2026-13-07T03:48:14Z", 1001, 202),
            ("b1-0000000006", "2026-12-07 03:48:14Z", 1001, 202),
            ("b1-0000000007", "2026-12-07T03:48:15Z", 1001, 202),
        ];
        for (id, time, code, status) in cases {
            let b = body(id, time, code);
            let got = c.classify(status, b.as_bytes(), id.as_bytes());
            assert_eq!(got, classify(status, b.as_bytes()), "{id}");
        }
        assert_eq!(
            c.classify(
                202,
                body("b1-0000000009", "2026-12-07T03:48:15Z", 1001).as_bytes(),
                b"b1-0000000009"
            ),
            Answer::Pap {
                code: 1001,
                http: 202
            }
        );
        // Remembered: the 1001/202, 2007/202, 1001/200 answers and the two refused ones.
        assert_eq!(c.known.len(), 5, "{:?}", c.known);
        // An answer that echoes another request's push-id is not this one's skeleton.
        let other = body("b1-0000000008", "2026-12-07T03:48:15Z", 1001);
        assert_eq!(
            c.classify(202, other.as_bytes(), b"b1-0000000010"),
            classify(202, other.as_bytes())
        );
        assert_eq!(c.known.len(), 6);
        // Refused documents are remembered as refused, the same as a full parse says.
        let bad = body("b1-0000000011", "2026-13-07T03:48:14Z", 1001);
        assert_eq!(
            c.classify(202, bad.as_bytes(), b"b1-0000000011"),
            Answer::Http(202)
        );
        let nul = format!("{}\0", body("b1-0000000012", "2026-12-07T03:48:15Z", 1001));
        assert_eq!(
            c.classify(202, nul.as_bytes(), b"b1-0000000012"),
            classify(202, nul.as_bytes())
        );
    }

    /// A WSP push of an m-notification-ind with this transaction id and content location.
    fn mms_push(tid: u8, id: &str, location: &str) -> Vec<u8> {
        let n = NotificationInd::new(
            id,
            crate::wsp::Version::new(1, 2),
            100,
            crate::mms::TimeValue::Relative(60),
            location,
        );
        PushPdu {
            tid,
            pdu_type: crate::wsp::PduType::Push,
            content_type: crate::wsp::ContentType::parse_mime("application/vnd.wap.mms-message")
                .unwrap(),
            headers: vec![],
            body: n.encode(),
        }
        .encode()
    }

    #[test]
    fn identifier_remembers_messages_but_for_transaction_id_and_push_id_digits() {
        let p = Payloads::new(ContentKind::Mix, "b1-", 1, "2.0").unwrap();
        let reference = |wsp: &[u8]| identify(wsp).and_then(|id| p.index_of(&id));
        let mut ident = Identifier::default();
        let mut twisted = mms_push(9, "b1-0000000004", "http://x/y");
        let at = memmem::find(&twisted, b"http://x/y").unwrap();
        twisted[at] = 0x80;
        let messages = [
            mms_push(1, "b1-0000000003", "http://x/y"),
            mms_push(2, "b1-0000000004", "http://x/y"),
            mms_push(3, "b1-0000000005", "http://x/z"),
            mms_push(3, "b1-00000000x5", "http://x/y"),
            mms_push(3, "b1-+000000005", "http://x/y"),
            mms_push(3, "b2-0000000005", "http://x/y"),
            // The push-id twice: not remembered (which one the decoder read is not known).
            mms_push(4, "b1-0000000006", "http://x/b1-0000000006"),
            mms_push(4, "b1-0000000007", "http://x/b1-0000000006"),
            twisted,
            vec![],
            vec![1],
        ];
        for m in &messages {
            assert_eq!(ident.index(m, &p), reference(m), "{m:02X?}");
        }
        // Remembered: the first message (the second is the same but for the remembered
        // parts), the third, and the eighth (its own push-id once; the location's is text);
        // the others were decoded whole.
        assert_eq!(ident.known.len(), 3, "{:?}", ident.known);
        assert_eq!(ident.index(&messages[1], &p), Some(4));
    }

    #[test]
    fn identify_mms_and_si() {
        let n = NotificationInd::new(
            "b1-0000000003",
            crate::wsp::Version::new(1, 2),
            100,
            crate::mms::TimeValue::Relative(60),
            "http://x/y",
        );
        let pdu = PushPdu {
            tid: 1,
            pdu_type: crate::wsp::PduType::Push,
            content_type: crate::wsp::ContentType::parse_mime("application/vnd.wap.mms-message")
                .unwrap(),
            headers: vec![],
            body: n.encode(),
        };
        assert_eq!(identify(&pdu.encode()).as_deref(), Some("b1-0000000003"));
        assert_eq!(identify(&[0x01, 0x06]), None);
    }

    #[test]
    fn answers_count_as_accepted_only_for_1xxx_over_2xx() {
        assert!(
            Answer::Pap {
                code: 1001,
                http: 202
            }
            .accepted()
        );
        assert!(
            Answer::Pap {
                code: 1000,
                http: 200
            }
            .accepted()
        );
        assert!(
            !Answer::Pap {
                code: 4001,
                http: 503
            }
            .accepted()
        );
        assert!(!Answer::Http(200).accepted());
        assert_eq!(
            Answer::Pap {
                code: 4001,
                http: 503
            }
            .label(),
            "4001/http503"
        );
    }
}
