//! The SMSC simulator (`ppgd sim`, and in-process in tests and benchmarks): a real SMPP 3.4
//! server on the same tolerant codec, with latency, its own window, throttling, fault injection,
//! delivery receipts, a JSON-lines record of every submit_sm and reassembly of concatenated
//! messages.

pub mod cli;

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rusmpp::pdus::{
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DeliverSm, SubmitSm, SubmitSmResp,
};
use rusmpp::tlvs::{MessageDeliveryRequestTlvValue, TlvValue};
use rusmpp::types::OctetString;
use rusmpp::values::{ErrorCodeNetworkType, EsmClass, MessageState, NetworkErrorCode};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::codec::Framed;

use crate::config::SimConfig;
use crate::smpp::codec::{Frame, TolerantCodec};
use crate::smpp::conn::Io;
use crate::smpp::status;
use crate::smpp::window::Sequence;
use crate::util::UtcTime;

/// Counters the simulator keeps (tests assert on them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    pub connections: u64,
    pub binds: u64,
    pub bind_refused: u64,
    /// submit_sm accepted (answered ESME_ROK).
    pub submits: u64,
    /// submit_sm answered ESME_RTHROTTLED (window, rate or random).
    pub throttled: u64,
    /// Connections the simulator dropped (fault injection or pause).
    pub dropped_connections: u64,
    pub receipts_sent: u64,
    pub receipts_acked: u64,
    /// deliver_sm_resp with a non-zero status (the receipt is redelivered).
    pub receipts_nacked: u64,
    pub generic_nacks: u64,
    pub enquire_links: u64,
    pub unbinds: u64,
    /// Segments that did not fit with the others of their message (inconsistent concatenation).
    pub reassembly_errors: u64,
    /// Per bound session (in bind order): the most submit_sm outstanding at once.
    pub max_outstanding_seen: Vec<usize>,
}

impl SimStats {
    pub fn max_outstanding(&self) -> usize {
        self.max_outstanding_seen.iter().copied().max().unwrap_or(0)
    }
}

/// One reassembled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    pub destination: String,
    /// The concatenated user data without UDHs.
    pub payload: Vec<u8>,
    pub segments: usize,
    /// submit_sm_resp message ids, in segment order.
    pub message_ids: Vec<String>,
}

struct Inner {
    cfg: SimConfig,
    local_addr: SocketAddr,
    stats: Mutex<SimStats>,
    messages: Mutex<Vec<SimMessage>>,
    /// Whether `messages` keeps each reassembled message (tests read them); `ppgd sim` only
    /// counts them (`messages_total`), so that a long run does not hold every message in memory.
    keep_messages: bool,
    messages_total: AtomicU64,
    reasm: Mutex<Reassembly>,
    changed: watch::Sender<u64>,
    kill: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    paused_until: Mutex<Option<Instant>>,
    rng: Mutex<StdRng>,
    next_id: AtomicU64,
    sessions: AtomicUsize,
    rate_tat: Mutex<Option<Instant>>,
    record: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
    /// `receipts_any_receiver`: receipts waiting for any receiver session (when due, receipt).
    orphans: Mutex<VecDeque<(Instant, Box<DeliverSm>)>>,
    orphan_ready: tokio::sync::Notify,
}

impl Inner {
    fn update(&self, f: impl FnOnce(&mut SimStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
        // Nobody waits (`ppgd sim`, most tests): skip the wake-up of no one, which takes a lock
        // per slot of the watch's notifier, several times per submit_sm. `wait_until` subscribes
        // before it reads the stats, so it never misses a change made after its check.
        if self.changed.receiver_count() > 0 {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    fn random(&self) -> f64 {
        self.rng
            .lock()
            .map(|mut r| r.random::<f64>())
            .unwrap_or(1.0)
    }

    /// Smooth throughput limit with one interval of tolerance.
    fn rate_allows(&self, now: Instant) -> bool {
        let Some(rate) = self.cfg.throttle_rate.filter(|r| r.is_finite() && *r > 0.0) else {
            return true;
        };
        let interval = Duration::from_secs_f64(1.0 / rate);
        let Ok(mut tat) = self.rate_tat.lock() else {
            return true;
        };
        let t = tat.unwrap_or(now).max(now);
        if t > now + interval {
            return false;
        }
        *tat = Some(t + interval);
        true
    }
}

pub struct Simulator;

/// Handle to a running simulator. Cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

impl Simulator {
    pub fn start(cfg: SimConfig, listener: TcpListener) -> SimHandle {
        Self::start_with(cfg, listener, None, true)
    }

    /// As `start`, but the reassembled messages are only counted, not kept ([`SimHandle::messages`]
    /// stays empty; the summary's `messages=` counts them): `ppgd sim`, which runs for as long as
    /// a load test and never reads them back.
    pub fn start_counting(cfg: SimConfig, listener: TcpListener) -> SimHandle {
        Self::start_with(cfg, listener, None, false)
    }

    /// The same over TLS (the TLS test, SMSCs reached over TLS).
    pub fn start_tls(
        cfg: SimConfig,
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
    ) -> SimHandle {
        Self::start_with(
            cfg,
            listener,
            Some(tokio_rustls::TlsAcceptor::from(tls)),
            true,
        )
    }

    fn start_with(
        cfg: SimConfig,
        listener: TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
        keep_messages: bool,
    ) -> SimHandle {
        let local_addr = listener.local_addr().unwrap_or(cfg.listen);
        let record = cfg.record.as_ref().and_then(|p| match std::fs::File::create(p) {
            Ok(f) => Some(Mutex::new(std::io::BufWriter::with_capacity(RECORD_BUFFER, f))),
            Err(e) => {
                tracing::error!(path = %p.display(), error = %e, "cannot create the record file");
                None
            }
        });
        let inner = Arc::new(Inner {
            rng: Mutex::new(StdRng::seed_from_u64(cfg.seed)),
            cfg,
            local_addr,
            stats: Mutex::new(SimStats::default()),
            messages: Mutex::new(Vec::new()),
            keep_messages,
            messages_total: AtomicU64::new(0),
            reasm: Mutex::new(Reassembly::new()),
            changed: watch::channel(0).0,
            kill: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            paused_until: Mutex::new(None),
            next_id: AtomicU64::new(0x1000_0000),
            sessions: AtomicUsize::new(0),
            rate_tat: Mutex::new(None),
            record,
            orphans: Mutex::new(VecDeque::new()),
            orphan_ready: tokio::sync::Notify::new(),
        });
        if inner.record.is_some() {
            tokio::spawn(flush_record_loop(Arc::downgrade(&inner)));
        }
        tokio::spawn(accept_loop(inner.clone(), listener, tls));
        SimHandle { inner }
    }
}

impl SimHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    pub fn stats(&self) -> SimStats {
        self.inner
            .stats
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<SimMessage> {
        self.inner
            .messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Waits until `pred` holds for the stats (woken on every change; no polling).
    pub async fn wait_until(&self, pred: impl Fn(&SimStats) -> bool) {
        let mut rx = self.inner.changed.subscribe();
        loop {
            if pred(&self.stats()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// "SMSC down": drop every connection and refuse new ones for `d`.
    pub fn pause(&self, d: Duration) {
        if let Ok(mut p) = self.inner.paused_until.lock() {
            *p = Some(Instant::now() + d);
        }
        self.inner.kill.send_modify(|n| *n += 1);
    }

    /// Writes out what the record holds in its buffer, so that a reader (`ppgd bench
    /// --sim-record`) sees every submit_sm taken in so far as whole lines.
    pub fn flush_record(&self) {
        if let Some(r) = &self.inner.record
            && let Ok(mut f) = r.lock()
        {
            let _ = f.flush();
        }
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        self.inner.kill.send_modify(|n| *n += 1);
        if let Some(r) = &self.inner.record
            && let Ok(mut f) = r.lock()
        {
            let _ = f.flush();
        }
    }

    /// One line for `ppgd sim`.
    pub fn summary(&self) -> String {
        let s = self.stats();
        format!(
            "binds={} refused={} submits={} throttled={} dropped={} receipts={}/{} messages={} max_outstanding={}",
            s.binds,
            s.bind_refused,
            s.submits,
            s.throttled,
            s.dropped_connections,
            s.receipts_acked,
            s.receipts_sent,
            self.inner.messages_total.load(Ordering::Relaxed),
            s.max_outstanding()
        )
    }
}

/// The record's buffer: about 140 lines of a one-segment push, so that at tens of thousands of
/// submit_sm a second the record costs a few hundred writes a second, not thousands.
const RECORD_BUFFER: usize = 64 * 1024;

/// The record is buffered (one write per submit_sm would cost a syscall each); writing it out a
/// few times a second lets `ppgd bench --sim-record` follow it while the simulator runs. Ends
/// with the simulator (shutdown, or every handle dropped).
async fn flush_record_loop(inner: std::sync::Weak<Inner>) {
    let mut shutdown = match inner.upgrade() {
        Some(i) => i.shutdown.subscribe(),
        None => return,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Some(i) = inner.upgrade() else { return };
        SimHandle { inner: i }.flush_record();
    }
}

async fn accept_loop(
    inner: Arc<Inner>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "sim accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let paused = inner
            .paused_until
            .lock()
            .map(|p| p.is_some_and(|u| Instant::now() < u))
            .unwrap_or(false);
        if paused {
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        inner.update(|s| s.connections += 1);
        let inner = inner.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let io: Box<dyn Io> = match tls {
                None => Box::new(tcp),
                Some(acc) => match acc.accept(tcp).await {
                    Ok(t) => Box::new(t),
                    Err(e) => {
                        tracing::warn!(error = %e, "sim TLS handshake failed");
                        return;
                    }
                },
            };
            serve(inner, io).await;
        });
    }
}

enum Due {
    /// `cmd` is the submit_sm, kept whole rather than copied out of its command.
    SubmitResp {
        seq: u32,
        cmd: Box<Command>,
        /// The message id to answer with (written in hex: [`MessageId`]).
        id: u64,
    },
    Receipt(Box<DeliverSm>),
}

fn receipt_for(inner: &Inner, sm: &SubmitSm, id: &str, submitted: UtcTime) -> DeliverSm {
    // Ids are issued in hex (`next_id`); this SMSC may repeat them in decimal in receipts.
    let decimal;
    let id = match u64::from_str_radix(id, 16) {
        Ok(n) if inner.cfg.receipt_id_decimal => {
            decimal = n.to_string();
            decimal.as_str()
        }
        _ => id,
    };
    let w = inner.cfg.receipt_mix;
    let total: u32 = w.iter().sum::<u32>().max(1);
    let pick = inner.random() * f64::from(total);
    let (stat, state, err) = if pick < f64::from(w[0]) {
        ("DELIVRD", MessageState::Delivered, 0u16)
    } else if pick < f64::from(w[0] + w[1]) {
        ("UNDELIV", MessageState::Undeliverable, 1)
    } else {
        ("EXPIRED", MessageState::Expired, 0)
    };
    let date = |t: UtcTime| {
        t.format_digits14()
            .get(2..12)
            .unwrap_or_default()
            .to_string()
    };
    let done = UtcTime::now();
    let dlvrd = if stat == "DELIVRD" { "001" } else { "000" };
    let text = format!(
        "id:{id} sub:001 dlvrd:{dlvrd} submit date:{} done date:{} stat:{stat} err:{err:03} text:",
        date(submitted),
        date(done)
    );
    let mut d = DeliverSm::default();
    d.source_addr = sm.destination_addr.clone();
    d.source_addr_ton = sm.dest_addr_ton;
    d.source_addr_npi = sm.dest_addr_npi;
    d.destination_addr = sm.source_addr.clone();
    d.esm_class = EsmClass::from(crate::smpp::pdu::ESM_DELIVERY_RECEIPT);
    d.set_short_message(OctetString::from_vec(text.into_bytes()).unwrap_or_default());
    if inner.cfg.receipt_tlvs {
        let mut tlvs = vec![MessageDeliveryRequestTlvValue::MessageState(state)];
        if let Ok(rid) = id.parse() {
            tlvs.insert(0, MessageDeliveryRequestTlvValue::ReceiptedMessageId(rid));
        }
        if err != 0 {
            tlvs.push(MessageDeliveryRequestTlvValue::NetworkErrorCode(
                NetworkErrorCode::new(ErrorCodeNetworkType::Gsm, err),
            ));
        }
        d.set_tlvs(tlvs);
    }
    d
}

/// Concatenated messages being put together, with the submit_sm_resp message id of each segment.
struct Reassembly {
    segments: crate::sms::Reassembler<String, Instant>,
    /// (destination, reference, 16-bit reference?) → message id by seqnum.
    ids: std::collections::HashMap<(String, u16, bool), std::collections::BTreeMap<u8, String>>,
}

impl Reassembly {
    fn new() -> Self {
        Reassembly {
            segments: crate::sms::Reassembler::new(100_000),
            ids: std::collections::HashMap::new(),
        }
    }
}

fn accept_submit(inner: &Inner, session: usize, sm: &SubmitSm, id: &str) {
    use crate::sms::{Fragment, Sar};
    let mut payload_tlv = None;
    let mut sar = (None, None, None);
    for tlv in sm.tlvs() {
        match tlv.value() {
            Some(TlvValue::MessagePayload(p)) => payload_tlv = Some(p.value.as_ref()),
            Some(TlvValue::SarMsgRefNum(r)) => sar.0 = Some(*r),
            Some(TlvValue::SarTotalSegments(t)) => sar.1 = Some(*t),
            Some(TlvValue::SarSegmentSeqnum(s)) => sar.2 = Some(*s),
            _ => {}
        }
    }
    let short: &[u8] = sm.short_message().as_ref();
    let data: &[u8] = payload_tlv.unwrap_or(short);
    let udhi = u8::from(sm.esm_class) & crate::smpp::pdu::ESM_UDHI != 0;
    let mut udh_error = None;
    let fragment = if udhi {
        Fragment::from_user_data(data).unwrap_or_else(|e| {
            udh_error = Some(e);
            Fragment::from_sar(data, None, None)
        })
    } else if let (Some(reference), Some(total), Some(seqnum)) = sar {
        Fragment::from_sar(
            data,
            Some(Sar {
                reference,
                total,
                seqnum,
            }),
            None,
        )
    } else {
        Fragment::from_sar(data, None, None)
    };
    let concat = fragment.concat;
    let destination = sm.destination_addr.as_str();
    if let Some(rec) = &inner.record {
        // Microseconds since the Unix epoch when the submit_sm was taken in: `ppgd bench` compares
        // it with the time it POSTed the push (same host, same clock).
        let t_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        if let Ok(mut f) = rec.lock() {
            let _ = write_record(
                &mut *f,
                &Record {
                    t_us,
                    session,
                    message_id: id,
                    sm,
                    destination,
                    short,
                    payload: payload_tlv,
                    sar: concat.map(|c| [c.reference.into(), c.total.into(), c.seqnum.into()]),
                },
            );
        }
    }
    if let Some(e) = udh_error {
        tracing::warn!(destination = %destination, error = %e, "simulator: submit_sm with UDHI has no valid UDH");
        inner.update(|s| s.reassembly_errors += 1);
    }
    let complete = match concat {
        // A message on its own is whole as it came; only counted, there is nothing to keep.
        None if !inner.keep_messages => Some(None),
        _ => inner
            .reasm
            .lock()
            .ok()
            .and_then(|mut r| reassemble(inner, &mut r, destination, fragment, id)),
    };
    if let Some(message) = complete {
        inner.messages_total.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = message
            && let Ok(mut all) = inner.messages.lock()
        {
            all.push(m);
        }
    }
    inner.update(|s| s.submits += 1);
}

/// Adds a segment to the messages being put together. `Some` when it completed one: with the
/// message when the simulator keeps them.
fn reassemble(
    inner: &Inner,
    r: &mut Reassembly,
    destination: &str,
    fragment: crate::sms::Fragment<'_>,
    id: &str,
) -> Option<Option<SimMessage>> {
    use crate::sms::Progress;
    let concat = fragment.concat;
    let keep = inner.keep_messages;
    // The segments' message ids are only needed for the messages kept.
    let key = concat
        .filter(|_| keep)
        .map(|c| (destination.to_string(), c.reference, c.wide));
    match r
        .segments
        .push(destination.to_string(), fragment, Instant::now())
    {
        Ok(Progress::Complete(w)) => {
            if !keep {
                return Some(None);
            }
            let mut ids = key.and_then(|k| r.ids.remove(&k)).unwrap_or_default();
            ids.insert(concat.map_or(1, |c| c.seqnum), id.to_string());
            let message_ids = ids.into_values().collect::<Vec<_>>();
            Some(Some(SimMessage {
                destination: destination.to_string(),
                payload: w.payload,
                segments: message_ids.len(),
                message_ids,
            }))
        }
        Ok(Progress::Pending { .. }) => {
            if let (Some(k), Some(c)) = (key, concat) {
                r.ids.entry(k).or_default().insert(c.seqnum, id.to_string());
            }
            None
        }
        Ok(Progress::Duplicate) => None,
        Err(e) => {
            tracing::warn!(destination = %destination, error = %e, "simulator: inconsistent segment");
            inner.update(|s| s.reassembly_errors += 1);
            None
        }
    }
}

/// The fields of one record line.
struct Record<'a> {
    t_us: u64,
    session: usize,
    message_id: &'a str,
    sm: &'a SubmitSm,
    destination: &'a str,
    short: &'a [u8],
    payload: Option<&'a [u8]>,
    sar: Option<[u32; 3]>,
}

/// Writes one record line straight into the (buffered) file: no JSON tree, no string per octet,
/// no formatting machinery. The keys come in the order serde_json's map gave them when the line
/// was built as a `serde_json::Value` (sorted), so the record reads byte for byte as it always
/// did (a test compares the two); strings are escaped as serde_json escapes them.
fn write_record(out: &mut impl Write, r: &Record) -> std::io::Result<()> {
    let sm = r.sm;
    out.write_all(b"{\"data_coding\":")?;
    write_u64(out, u8::from(sm.data_coding).into())?;
    out.write_all(b",\"dest_npi\":")?;
    write_u64(out, u8::from(sm.dest_addr_npi).into())?;
    out.write_all(b",\"dest_ton\":")?;
    write_u64(out, u8::from(sm.dest_addr_ton).into())?;
    out.write_all(b",\"destination_addr\":")?;
    write_string(out, r.destination)?;
    out.write_all(b",\"esm_class\":")?;
    write_u64(out, u8::from(sm.esm_class).into())?;
    out.write_all(b",\"message_id\":")?;
    write_string(out, r.message_id)?;
    out.write_all(b",\"message_payload\":")?;
    match r.payload {
        Some(p) => write_hex(out, p)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"registered_delivery\":")?;
    write_u64(out, u8::from(sm.registered_delivery).into())?;
    out.write_all(b",\"sar\":")?;
    match r.sar {
        Some([a, b, c]) => {
            out.write_all(b"[")?;
            write_u64(out, a.into())?;
            out.write_all(b",")?;
            write_u64(out, b.into())?;
            out.write_all(b",")?;
            write_u64(out, c.into())?;
            out.write_all(b"]")?;
        }
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"service_type\":")?;
    write_string(out, sm.service_type.value().as_str())?;
    out.write_all(b",\"session\":")?;
    write_u64(out, r.session as u64)?;
    out.write_all(b",\"short_message\":")?;
    write_hex(out, r.short)?;
    out.write_all(b",\"source_addr\":")?;
    write_string(out, sm.source_addr.as_str())?;
    out.write_all(b",\"source_npi\":")?;
    write_u64(out, u8::from(sm.source_addr_npi).into())?;
    out.write_all(b",\"source_ton\":")?;
    write_u64(out, u8::from(sm.source_addr_ton).into())?;
    out.write_all(b",\"t_us\":")?;
    write_u64(out, r.t_us)?;
    out.write_all(b",\"validity_period\":")?;
    write_string(out, sm.validity_period.as_str())?;
    out.write_all(b"}\n")
}

/// A JSON string as serde_json writes it: as it is when nothing in it needs escaping (the
/// addresses and ids the simulator sees), through serde_json otherwise.
fn write_string(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde_json::to_writer(out, s).map_err(std::io::Error::other)
    }
}

/// A number in decimal, as `Display` writes it.
fn write_u64(out: &mut impl Write, mut n: u64) -> std::io::Result<()> {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.write_all(&digits[at..])
}

/// Octets as a JSON string of upper-case hex digits, two per octet.
fn write_hex(out: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut chunk = [0u8; 256];
    out.write_all(b"\"")?;
    for part in b.chunks(chunk.len() / 2) {
        for (i, x) in part.iter().enumerate() {
            chunk[2 * i] = DIGITS[usize::from(x >> 4)];
            chunk[2 * i + 1] = DIGITS[usize::from(x & 0x0F)];
        }
        out.write_all(&chunk[..2 * part.len()])?;
    }
    out.write_all(b"\"")
}

/// A message id as the simulator issues it: upper-case hex without leading zeros, as
/// `format!("{:X}")` writes it, on the stack.
struct MessageId {
    digits: [u8; 16],
    at: usize,
}

impl MessageId {
    fn new(mut n: u64) -> MessageId {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut digits = [0u8; 16];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = DIGITS[(n & 0xF) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        MessageId { digits, at }
    }

    fn as_str(&self) -> &str {
        // Hex digits only: always UTF-8.
        std::str::from_utf8(&self.digits[self.at..]).unwrap_or_default()
    }
}

/// A submit_sm_resp with ESME_ROK and this message id (and no TLVs), appended to `dst` as the
/// codec would encode `SubmitSmResp::new(id, vec![])`, without building the PDU (a test
/// compares the two).
fn put_submit_sm_resp(dst: &mut bytes::BytesMut, seq: u32, id: &str) {
    use bytes::BufMut as _;
    let length = crate::smpp::codec::HEADER_LEN + id.len() + 1;
    dst.reserve(length);
    dst.put_u32(length as u32);
    dst.put_u32(u32::from(CommandId::SubmitSmResp));
    dst.put_u32(status::ESME_ROK);
    dst.put_u32(seq);
    dst.put_slice(id.as_bytes());
    dst.put_u8(0);
}

/// Whether the read buffer already holds the next PDU whole (or a length the codec rejects at
/// once), so that taking it needs no read and no wait.
fn pdu_buffered(buf: &[u8]) -> bool {
    buf.len() >= crate::smpp::codec::HEADER_LEN && {
        let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        length < crate::smpp::codec::HEADER_LEN || length <= buf.len()
    }
}

async fn serve(inner: Arc<Inner>, io: Box<dyn Io>) {
    let mut conn = Framed::new(io, TolerantCodec::default());
    let mut kill = inner.kill.subscribe();
    let mut session: Option<usize> = None;
    let mut can_receive = false;
    let mut due: VecDeque<(Instant, Due)> = VecDeque::new();
    let mut outstanding = 0usize;
    let mut on_conn = 0u64;
    let mut seq = Sequence::default();
    let mut sent_receipts: std::collections::HashMap<u32, Box<DeliverSm>> =
        std::collections::HashMap::new();
    let latency = inner.cfg.latency;
    // The answers to the PDUs read together (in one read) are written together, with one write,
    // as an SMSC behind a socket would: the PDUs already in the read buffer are taken before the
    // answers are flushed. Not when the simulator paces by rate (`throttle_rate`): there whether
    // a submit_sm is throttled depends on when it arrives, and answers written in bunches make
    // the client send in bunches (the adaptive-rate test saw more throttling). Nor when it drops
    // connections on its own (`drop_after`, `drop_ratio`): answers written together just before
    // a drop reach the client less often than answers written as they came (scenario 4 counted
    // 659-695 duplicates instead of 384-412). There every answer is written at once as before.
    let batch = inner.cfg.throttle_rate.is_none()
        && inner.cfg.drop_after.is_none()
        && inner.cfg.drop_ratio <= 0.0;
    // This session's most submit_sm outstanding so far, as published in the stats.
    let mut max_seen = 0usize;
    let dropped = loop {
        // Dropped first, as the `select!` below prefers it, even over answers that are due.
        if kill.has_changed().unwrap_or(true) {
            // The answers already given (and recorded) go out first, as they had when every
            // answer was written at once; not waiting long on a client that does not read.
            if batch {
                let _ = tokio::time::timeout(Duration::from_millis(100), conn.flush()).await;
            }
            break true;
        }
        // What is due (submit_sm_resp past the latency, receipts) is answered before the next
        // PDU is read: with no latency every submit_sm is answered before the next one is looked
        // at, and the window counts as it always did.
        let now = Instant::now();
        let mut failed = false;
        let mut drop_now = false;
        for _ in 0..due.len() {
            let Some((t, d)) = due.pop_front() else { break };
            if t > now {
                due.push_back((t, d));
                continue;
            }
            match d {
                Due::SubmitResp { seq: s, cmd, id } => {
                    let Some(Pdu::SubmitSm(sm)) = cmd.pdu() else {
                        continue;
                    };
                    outstanding = outstanding.saturating_sub(1);
                    let id = MessageId::new(id);
                    let id = id.as_str();
                    put_submit_sm_resp(conn.write_buffer_mut(), s, id);
                    accept_submit(&inner, session.unwrap_or(0), sm, id);
                    // drop_after counts answered submits: the ones still in flight are lost
                    // with the connection, as with a real SMSC crash.
                    on_conn += 1;
                    if inner.cfg.drop_after.is_some_and(|n| on_conn >= n) {
                        drop_now = true;
                        break;
                    }
                    if let (Some(delay), true) = (
                        inner.cfg.receipts,
                        can_receive && u8::from(sm.registered_delivery) & 0x03 != 0,
                    ) {
                        let d = receipt_for(&inner, sm, id, UtcTime::now());
                        due.push_back((now + delay, Due::Receipt(Box::new(d))));
                    } else if let (Some(delay), true) = (
                        inner.cfg.receipts,
                        inner.cfg.receipts_any_receiver
                            && u8::from(sm.registered_delivery) & 0x03 != 0,
                    ) {
                        let d = receipt_for(&inner, sm, id, UtcTime::now());
                        if let Ok(mut o) = inner.orphans.lock() {
                            o.push_back((now + delay, Box::new(d)));
                        }
                        inner.orphan_ready.notify_one();
                    }
                }
                Due::Receipt(d) => {
                    let s = seq.next_seq();
                    if conn
                        .feed(Command::new(
                            CommandStatus::EsmeRok,
                            s,
                            Pdu::DeliverSm((*d).clone()),
                        ))
                        .await
                        .is_err()
                    {
                        failed = true;
                        break;
                    }
                    sent_receipts.insert(s, d);
                    inner.update(|st| st.receipts_sent += 1);
                }
            }
        }
        if failed {
            break true;
        }
        if drop_now {
            let _ = conn.flush().await;
            break true;
        }
        let frame = if batch && pdu_buffered(conn.read_buffer()) {
            // Read with the ones just handled: taken from the buffer, the answers wait.
            conn.next().await
        } else {
            // Nothing to write costs nothing.
            if conn.flush().await.is_err() {
                break true;
            }
            let next = due.iter().map(|(t, _)| *t).min();
            tokio::select! {
                biased;
                _ = kill.changed() => break true,
                _ = async { if let Some(t) = next { tokio::time::sleep_until(t.into()).await } }, if next.is_some() => continue,
                _ = inner.orphan_ready.notified(), if can_receive && inner.cfg.receipts_any_receiver => {
                    if let Ok(mut o) = inner.orphans.lock() {
                        due.extend(o.drain(..).map(|(t, d)| (t, Due::Receipt(d))));
                    }
                    continue;
                }
                frame = conn.next() => frame,
            }
        };
        let cmd = match frame {
            None | Some(Err(_)) => break false,
            Some(Ok(Frame::Malformed {
                command_id,
                sequence_number,
                ..
            })) => {
                inner.update(|s| s.generic_nacks += 1);
                if command_id & 0x8000_0000 == 0 {
                    let nack = Command::new(
                        CommandStatus::from(status::ESME_RINVCMDLEN),
                        sequence_number,
                        Pdu::GenericNack,
                    );
                    let sent = if batch {
                        conn.feed(nack).await
                    } else {
                        conn.send(nack).await
                    };
                    if sent.is_err() {
                        break false;
                    }
                }
                continue;
            }
            Some(Ok(Frame::Command(c))) => c,
        };
        let s = cmd.sequence_number();
        let reply: Option<Command> = match cmd.pdu() {
            Some(
                p @ (Pdu::BindTransceiver(_) | Pdu::BindTransmitter(_) | Pdu::BindReceiver(_)),
            ) => {
                let (sid, pw) = match p {
                    Pdu::BindTransceiver(b) => (b.system_id.as_str(), b.password.as_str()),
                    Pdu::BindTransmitter(b) => (b.system_id.as_str(), b.password.as_str()),
                    Pdu::BindReceiver(b) => (b.system_id.as_str(), b.password.as_str()),
                    _ => ("", ""),
                };
                let st = if sid != inner.cfg.system_id {
                    status::ESME_RINVSYSID
                } else if pw != inner.cfg.password {
                    status::ESME_RINVPASWD
                } else {
                    status::ESME_ROK
                };
                let id = inner.cfg.system_id.parse().unwrap_or_default();
                let pdu: Pdu = match cmd.id() {
                    CommandId::BindTransmitter => BindTransmitterResp::new(id, None).into(),
                    CommandId::BindReceiver => BindReceiverResp::new(id, None).into(),
                    _ => BindTransceiverResp::new(id, None).into(),
                };
                let r = Command::new(CommandStatus::from(st), s, pdu);
                if st != status::ESME_ROK {
                    inner.update(|x| x.bind_refused += 1);
                    let _ = conn.send(r).await;
                    break false;
                }
                can_receive = cmd.id() != CommandId::BindTransmitter;
                let idx = inner.sessions.fetch_add(1, Ordering::Relaxed);
                session = Some(idx);
                max_seen = 0;
                inner.update(|x| {
                    x.binds += 1;
                    if x.max_outstanding_seen.len() <= idx {
                        x.max_outstanding_seen.resize(idx + 1, 0);
                    }
                });
                Some(r)
            }
            Some(Pdu::SubmitSm(_)) => {
                let now = Instant::now();
                let throttled = |st: u32| {
                    Some(Command::new(
                        CommandStatus::from(st),
                        s,
                        SubmitSmResp::default(),
                    ))
                };
                if session.is_none() {
                    throttled(0x04)
                } else if outstanding >= inner.cfg.window
                    || !inner.rate_allows(now)
                    || inner.random() < inner.cfg.throttle_ratio
                {
                    inner.update(|x| x.throttled += 1);
                    throttled(status::ESME_RTHROTTLED)
                } else {
                    if inner.cfg.drop_ratio > 0.0 && inner.random() < inner.cfg.drop_ratio {
                        break true;
                    }
                    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
                    outstanding += 1;
                    // Only a new maximum changes the stats (this session alone writes its entry).
                    if outstanding > max_seen {
                        max_seen = outstanding;
                        let idx = session.unwrap_or(0);
                        inner.update(|x| {
                            if let Some(m) = x.max_outstanding_seen.get_mut(idx) {
                                *m = (*m).max(max_seen);
                            }
                        });
                    }
                    due.push_back((now + latency, Due::SubmitResp { seq: s, cmd, id }));
                    None
                }
            }
            Some(Pdu::DeliverSmResp(_)) => {
                if let Some(d) = sent_receipts.remove(&s) {
                    if u32::from(cmd.status()) == status::ESME_ROK {
                        inner.update(|x| x.receipts_acked += 1);
                    } else {
                        inner.update(|x| x.receipts_nacked += 1);
                        let delay = inner.cfg.receipts.unwrap_or_default();
                        due.push_back((Instant::now() + delay, Due::Receipt(d)));
                    }
                }
                None
            }
            Some(Pdu::EnquireLink) => {
                inner.update(|x| x.enquire_links += 1);
                Some(Command::new(
                    CommandStatus::EsmeRok,
                    s,
                    Pdu::EnquireLinkResp,
                ))
            }
            Some(Pdu::Unbind) => {
                inner.update(|x| x.unbinds += 1);
                let _ = conn
                    .send(Command::new(CommandStatus::EsmeRok, s, Pdu::UnbindResp))
                    .await;
                break false;
            }
            _ if u32::from(cmd.id()) & 0x8000_0000 == 0 => {
                inner.update(|x| x.generic_nacks += 1);
                Some(Command::new(
                    CommandStatus::from(status::ESME_RINVCMDID),
                    s,
                    Pdu::GenericNack,
                ))
            }
            _ => None,
        };
        if let Some(r) = reply {
            // Written with the other answers of this read (flushed before the next read waits).
            let sent = if batch {
                conn.feed(r).await
            } else {
                conn.send(r).await
            };
            if sent.is_err() {
                break false;
            }
        }
    };
    if dropped {
        inner.update(|x| x.dropped_connections += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record line as it was built before `write_record`: a `serde_json::Value`.
    fn as_value(r: &Record) -> String {
        let sm = r.sm;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        let line = serde_json::json!({
            "t_us": r.t_us,
            "session": r.session,
            "message_id": r.message_id,
            "service_type": sm.service_type.value().as_str(),
            "source_addr": sm.source_addr.as_str(),
            "source_ton": u8::from(sm.source_addr_ton),
            "source_npi": u8::from(sm.source_addr_npi),
            "destination_addr": r.destination,
            "dest_ton": u8::from(sm.dest_addr_ton),
            "dest_npi": u8::from(sm.dest_addr_npi),
            "esm_class": u8::from(sm.esm_class),
            "data_coding": u8::from(sm.data_coding),
            "registered_delivery": u8::from(sm.registered_delivery),
            "validity_period": sm.validity_period.as_str(),
            "short_message": hex(r.short),
            "message_payload": r.payload.map(hex),
            "sar": r.sar,
        });
        format!("{line}\n")
    }

    #[test]
    fn submit_sm_resp_written_as_the_codec_encodes_it() {
        for n in [0u64, 9, 0xA, 0x1000_0000, 0x1234_ABCD, u64::MAX] {
            let id = MessageId::new(n);
            assert_eq!(id.as_str(), format!("{n:X}"));
            let mut ours = bytes::BytesMut::new();
            put_submit_sm_resp(&mut ours, 0x0102_0304, id.as_str());
            let theirs = crate::smpp::codec::encode_command(&Command::new(
                CommandStatus::EsmeRok,
                0x0102_0304,
                SubmitSmResp::new(id.as_str().parse().unwrap(), vec![]),
            ));
            assert_eq!(&ours[..], &theirs[..], "{n:X}");
        }
    }

    #[test]
    fn buffered_pdus_are_whole_ones() {
        let pdu = [0u8, 0, 0, 17, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0xFF];
        assert!(pdu_buffered(&pdu));
        assert!(!pdu_buffered(&pdu[..16]));
        assert!(!pdu_buffered(&pdu[..3]));
        // A length the codec refuses at once: taking it needs no read either.
        assert!(pdu_buffered(&[
            0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9
        ]));
    }

    #[test]
    fn record_lines_read_as_the_json_value_wrote_them() {
        let mut sm = SubmitSm::default();
        sm.source_addr = "ab\"c\\d\u{1}".parse().unwrap();
        sm.destination_addr = "+491701234567".parse().unwrap();
        sm.source_addr_ton = rusmpp::values::Ton::International;
        sm.esm_class = EsmClass::from(0x40);
        sm.data_coding = rusmpp::values::DataCoding::from(0xF5);
        sm.registered_delivery = rusmpp::values::RegisteredDelivery::from(1);
        sm.validity_period = "261125120000000+".parse().unwrap();
        // Strings with nothing to escape (the usual case), a DEL and non-ASCII (not escaped).
        let mut plain = SubmitSm::default();
        plain.source_addr = "12345".parse().unwrap();
        plain.destination_addr = "491700000000".parse().unwrap();
        plain.data_coding = rusmpp::values::DataCoding::from(0xFF);
        let long: Vec<u8> = (0..=255u8).chain(0..=255).collect();
        for (short, payload, sar) in [
            (
                &[0x06u8, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0xFF][..],
                None,
                None,
            ),
            (&[][..], Some(&long[..]), Some([513u32, 3, 2])),
            (&long[..200], None, Some([7, 2, 1])),
            (&long[..1], None, Some([u32::MAX, 0, 10])),
        ] {
            for (sm, destination, t_us, session) in [
                (&sm, "+491701234567", 1_764_000_000_123_456, 3),
                (&plain, "4917\u{7f}é", 0, 0),
                (&plain, "\"\n", u64::MAX, usize::MAX),
            ] {
                let r = Record {
                    t_us,
                    session,
                    message_id: "1000002A",
                    sm,
                    destination,
                    short,
                    payload,
                    sar,
                };
                let mut out = Vec::new();
                write_record(&mut out, &r).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), as_value(&r));
            }
        }
    }
}
