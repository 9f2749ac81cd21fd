//! One SMPP session task (io): connect (TCP_NODELAY, optional TLS), bind within bind_timeout,
//! then one select loop over the socket, the SMSC's job queue, receipt acknowledgements and the
//! timers of the pure pieces in `smpp::session` and `smpp::window`. When the session ends, every
//! job in its window goes back to the queue for another session, and it reconnects with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiver, BindTransmitter, DeliverSmResp};
use rusmpp::values::{InterfaceVersion, Npi, Ton};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::Framed;

use crate::config::BindMode;
use crate::metrics::SessionMetrics;
use crate::smpp::codec::{Frame, TolerantCodec, encode_submit_sm};
use crate::smpp::pdu::{Delivery, canonical_message_id, parse_deliver_sm};
use crate::smpp::pool::{Job, JobResult, Receipt, SmscShared};
use crate::smpp::session::{AdaptiveRate, Backoff, CUT_PAUSE, EnquireLink, LinkAction, Throttle};
use crate::smpp::status::{self, Disposition};
use crate::smpp::window::{Sequence, Window};

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Conn = Framed<Box<dyn Io>, TolerantCodec>;

pub(crate) struct SessionContext {
    pub smsc: Arc<SmscShared>,
    pub idx: usize,
    pub metrics: SessionMetrics,
    pub receipts: mpsc::Sender<Receipt>,
    pub shutdown: watch::Receiver<bool>,
    pub bound: watch::Sender<usize>,
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("bind refused with command_status {0:#x}")]
    Refused(u32),
    #[error("no bind response within bind_timeout")]
    BindTimeout,
    #[error("connection closed during bind")]
    Closed,
}

/// Why a bound session ended.
enum End {
    Shutdown,
    Dropped(&'static str),
}

pub(crate) async fn run(mut ctx: SessionContext) {
    let cfg = ctx.smsc.cfg.clone();
    let mut backoff = Backoff::new(cfg.reconnect_min, cfg.reconnect_max);
    // The learnt rate outlives a reconnect: the SMSC behind the new bind is the same one.
    let ceiling = match (cfg.session_rate, cfg.rate) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut adaptive =
        AdaptiveRate::new(ceiling, cfg.session_rate, Instant::now()).shared_by(cfg.sessions);
    ctx.metrics
        .adaptive_rate
        .set(adaptive.rate().unwrap_or(0.0));
    loop {
        if *ctx.shutdown.borrow() {
            return;
        }
        let delay = match connect_and_bind(&ctx).await {
            Ok((conn, seq)) => {
                backoff.reset();
                ctx.metrics.binds.inc();
                ctx.metrics.bound.set(1);
                ctx.smsc.bound.fetch_add(1, Ordering::Relaxed);
                ctx.bound.send_modify(|n| *n += 1);
                tracing::info!(smsc = %cfg.name, session = ctx.idx, "SMPP session bound");
                let end = bound_loop(&mut ctx, conn, seq, &mut adaptive).await;
                ctx.smsc.bound.fetch_sub(1, Ordering::Relaxed);
                ctx.bound.send_modify(|n| *n = n.saturating_sub(1));
                ctx.metrics.bound.set(0);
                ctx.metrics.window_in_use.set(0);
                match end {
                    End::Shutdown => {
                        tracing::info!(smsc = %cfg.name, session = ctx.idx, "SMPP session unbound");
                        return;
                    }
                    End::Dropped(why) => {
                        tracing::warn!(smsc = %cfg.name, session = ctx.idx, why, "SMPP session dropped; reconnecting");
                        backoff.next_delay(rand::random::<f64>())
                    }
                }
            }
            Err(SessionError::Refused(st)) if status::is_credentials_error(st) => {
                ctx.metrics.bind_failed(status::name(st));
                tracing::error!(smsc = %cfg.name, session = ctx.idx, status = status::name(st), code = st,
                    "SMPP bind REFUSED: check system_id / password / system_type; retrying at the maximum backoff");
                backoff.max_delay(rand::random::<f64>())
            }
            Err(SessionError::Refused(st)) => {
                ctx.metrics.bind_failed(status::name(st));
                tracing::warn!(smsc = %cfg.name, session = ctx.idx, status = status::name(st), code = st, "SMPP bind refused");
                backoff.next_delay(rand::random::<f64>())
            }
            Err(e) => {
                ctx.metrics.bind_failed("transport");
                tracing::warn!(smsc = %cfg.name, session = ctx.idx, error = %e, "SMPP connect/bind failed");
                backoff.next_delay(rand::random::<f64>())
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.shutdown.changed() => return,
        }
    }
}

async fn connect_and_bind(ctx: &SessionContext) -> Result<(Conn, Sequence), SessionError> {
    let cfg = &ctx.smsc.cfg;
    let tcp = TcpStream::connect((cfg.host.as_str(), cfg.port))
        .await
        .map_err(SessionError::Connect)?;
    tcp.set_nodelay(true).map_err(SessionError::Connect)?;
    let io: Box<dyn Io> = match &ctx.smsc.tls {
        None => Box::new(tcp),
        Some(Err(e)) => return Err(SessionError::Tls(e.clone())),
        Some(Ok(connector)) => {
            let name = cfg
                .tls
                .as_ref()
                .and_then(|t| t.server_name.clone())
                .unwrap_or_else(|| cfg.host.clone());
            let name = rustls_pki_types::ServerName::try_from(name)
                .map_err(|e| SessionError::Tls(e.to_string()))?;
            let tls = tokio::time::timeout(cfg.bind_timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| SessionError::BindTimeout)?
                .map_err(|e| SessionError::Tls(e.to_string()))?;
            Box::new(tls)
        }
    };
    let mut conn = Framed::new(io, TolerantCodec::default());
    let mut seq = Sequence::default();
    let bind_seq = seq.next_seq();
    let field = |s: &str| {
        s.parse()
            .map_err(|_| SessionError::Refused(status::ESME_RINVSYSID))
    };
    let (system_id, password, system_type, range) = (
        field(&cfg.system_id)?,
        cfg.password
            .parse()
            .map_err(|_| SessionError::Refused(status::ESME_RINVPASWD))?,
        cfg.system_type
            .parse()
            .map_err(|_| SessionError::Refused(status::ESME_RINVSYSTYP))?,
        cfg.address_range
            .parse()
            .map_err(|_| SessionError::Refused(status::ESME_RINVSYSID))?,
    );
    let pdu: Pdu = match cfg.bind {
        BindMode::Transceiver => BindTransceiver::new(
            system_id,
            password,
            system_type,
            InterfaceVersion::Smpp3_4,
            Ton::from(cfg.addr_ton),
            Npi::from(cfg.addr_npi),
            range,
        )
        .into(),
        BindMode::Transmitter => BindTransmitter::new(
            system_id,
            password,
            system_type,
            InterfaceVersion::Smpp3_4,
            Ton::from(cfg.addr_ton),
            Npi::from(cfg.addr_npi),
            range,
        )
        .into(),
    };
    conn.send(Command::new(CommandStatus::EsmeRok, bind_seq, pdu))
        .await
        .map_err(|_| SessionError::Closed)?;
    let resp = tokio::time::timeout(cfg.bind_timeout, async {
        loop {
            match conn.next().await {
                Some(Ok(Frame::Command(cmd)))
                    if cmd.sequence_number() == bind_seq
                        && matches!(
                            cmd.id(),
                            CommandId::BindTransceiverResp
                                | CommandId::BindTransmitterResp
                                | CommandId::GenericNack
                        ) =>
                {
                    return Ok(u32::from(cmd.status()));
                }
                Some(Ok(_)) => continue,
                _ => return Err(SessionError::Closed),
            }
        }
    })
    .await
    .map_err(|_| SessionError::BindTimeout)??;
    // ESME_RALYBND counts as bound (Kannel does the same, digest §6.1).
    if resp != status::ESME_ROK && resp != 0x05 {
        return Err(SessionError::Refused(resp));
    }
    Ok((conn, seq))
}

fn requeue(smsc: &SmscShared, job: Job) {
    smsc.push_front(job);
}

async fn bound_loop(
    ctx: &mut SessionContext,
    mut conn: Conn,
    mut seq: Sequence,
    adaptive: &mut AdaptiveRate,
) -> End {
    let smsc = ctx.smsc.clone();
    let cfg = smsc.cfg.clone();
    let m = ctx.metrics.clone();
    // Each outstanding job with the instant it was sent (the adaptive rate judges answers by it).
    let mut window: Window<(Job, Instant)> = Window::new(cfg.window);
    let mut link = EnquireLink::new(cfg.enquire_link, cfg.response_timeout, Instant::now());
    let mut throttle = Throttle::default();
    let mut staged: Option<(Job, Instant)> = None;
    let mut acks: FuturesUnordered<futures::future::BoxFuture<'static, (u32, bool)>> =
        FuturesUnordered::new();
    let mut draining: Option<Instant> = None;
    let mut unbind_seq: Option<u32> = None;
    let far = Duration::from_secs(3600);

    let end = 'session: loop {
        let now = Instant::now();
        // Send what may be sent now: the staged job when its rate slot has come, then more jobs
        // while the window has room (pipelining: one flush for the batch).
        let mut wrote = false;
        loop {
            if throttle.is_paused(now) || window.is_full() {
                break;
            }
            if staged.is_none()
                && draining.is_none()
                && let Some(job) = smsc.pop(now)
            {
                // The SMSC-wide `rate` and the session's own pace (session_rate, or the rate
                // learnt from throttling): after a cut the window refills at that pace.
                let at = smsc.reserve(now).max(adaptive.reserve(now));
                staged = Some((job, at));
            }
            let Some((_, at)) = &staged else { break };
            if *at > now {
                break;
            }
            let Some((job, _)) = staged.take() else { break };
            if job.reply.is_closed() {
                continue;
            }
            let s = seq.next_seq();
            let sm = job.sm.clone();
            if window
                .insert(s, (job, now), now + cfg.response_timeout)
                .is_err()
            {
                break;
            }
            // Straight into the write buffer (one flush below for the batch): the PDU is
            // encoded from the job's copy, not moved into a command.
            encode_submit_sm(s, &sm, conn.write_buffer_mut());
            adaptive.sent(now);
            m.submit_sm.inc();
            wrote = true;
        }
        if wrote && conn.flush().await.is_err() {
            break 'session End::Dropped("write failed");
        }
        m.window_in_use.set(window.len() as i64);
        m.adaptive_rate.set(adaptive.rate().unwrap_or(0.0));
        if let Some(d) = draining {
            if window.is_empty() && unbind_seq.is_none() {
                let s = seq.next_seq();
                unbind_seq = Some(s);
                if conn
                    .send(Command::new(CommandStatus::EsmeRok, s, Pdu::Unbind))
                    .await
                    .is_err()
                {
                    break 'session End::Shutdown;
                }
            }
            if now >= d {
                tracing::warn!(smsc = %cfg.name, session = ctx.idx, outstanding = window.len(), "shutdown deadline: closing with requests outstanding");
                break 'session End::Shutdown;
            }
        }

        let mut wake = link.next_event();
        if let Some(d) = window.next_deadline() {
            wake = wake.min(d);
        }
        if let Some((_, at)) = &staged {
            wake = wake.min(*at);
        }
        if let Some(u) = throttle.until().filter(|u| *u > now) {
            wake = wake.min(u);
        }
        if let Some(d) = draining {
            wake = wake.min(d);
        }
        let wake = wake.min(now + far);
        let can_take =
            draining.is_none() && staged.is_none() && !window.is_full() && !throttle.is_paused(now);

        tokio::select! {
            biased;
            frame = conn.next() => {
                let now = Instant::now();
                link.received(now);
                match frame {
                    None => break 'session End::Dropped("connection closed by the SMSC"),
                    Some(Err(e)) => {
                        tracing::warn!(smsc = %cfg.name, session = ctx.idx, error = %e, "SMPP framing error");
                        break 'session End::Dropped("framing error");
                    }
                    Some(Ok(Frame::Malformed { command_id, sequence_number, error })) => {
                        tracing::warn!(smsc = %cfg.name, session = ctx.idx, command_id, sequence_number, error, "malformed PDU from the SMSC");
                        if command_id & 0x8000_0000 == 0 {
                            let nack = Command::new(CommandStatus::from(status::ESME_RINVCMDLEN), sequence_number, Pdu::GenericNack);
                            if conn.send(nack).await.is_err() {
                                break 'session End::Dropped("write failed");
                            }
                        } else if let Some((job, _)) = window.handle_response(sequence_number) {
                            requeue(&smsc, job);
                        }
                    }
                    Some(Ok(Frame::Command(cmd))) => {
                        let s = cmd.sequence_number();
                        let st = u32::from(cmd.status());
                        match cmd.id() {
                            CommandId::SubmitSmResp | CommandId::GenericNack => {
                                let Some((job, sent)) = window.handle_response(s) else {
                                    if cmd.id() == CommandId::GenericNack {
                                        link.answered(s, now);
                                    }
                                    continue;
                                };
                                m.submit_sm_resp(status::name(st));
                                if st == status::ESME_ROK && cmd.id() == CommandId::SubmitSmResp {
                                    // An epoch may close (and the rate be cut) on a clean answer too.
                                    if cfg.adaptive_rate && adaptive.on_response(now, sent, false) {
                                        throttle.pause(now, cfg.throttle_pause.min(CUT_PAUSE));
                                        m.throttle_pauses.inc();
                                    }
                                    let id = match cmd.pdu() {
                                        Some(Pdu::SubmitSmResp(r)) => canonical_message_id(r.message_id().as_str(), cfg.submit_message_id),
                                        _ => String::new(),
                                    };
                                    let _ = job.reply.send(JobResult::Accepted(id));
                                } else {
                                    let st = if st == 0 { status::ESME_RUNKNOWNERR } else { st };
                                    if status::disposition(st) == Disposition::Throttle {
                                        if !cfg.adaptive_rate {
                                            throttle.pause(now, cfg.throttle_pause);
                                            m.throttle_pauses.inc();
                                        } else if adaptive.on_response(now, sent, true) {
                                            // The rate was cut (a short pause, then paced), or
                                            // a storm waits for an accepted answer (held).
                                            throttle.pause(now, cfg.throttle_pause.min(CUT_PAUSE));
                                            m.throttle_pauses.inc();
                                        }
                                        job.last_status.store(st, Ordering::Relaxed);
                                        requeue(&smsc, job);
                                    } else {
                                        let _ = job.reply.send(JobResult::Status(st));
                                    }
                                }
                            }
                            CommandId::EnquireLinkResp => link.answered(s, now),
                            CommandId::EnquireLink
                                if conn.send(Command::new(CommandStatus::EsmeRok, s, Pdu::EnquireLinkResp)).await.is_err() =>
                            {
                                break 'session End::Dropped("write failed");
                            }
                            CommandId::EnquireLink => {}
                            CommandId::DeliverSm => {
                                let Some(Pdu::DeliverSm(d)) = cmd.pdu() else { continue };
                                match parse_deliver_sm(d) {
                                    Delivery::Receipt(r) => {
                                        m.receipt(r.stat);
                                        let (tx, rx) = oneshot::channel();
                                        let receipt = Receipt { smsc: cfg.name.clone(), message_id: canonical_message_id(&r.message_id, cfg.receipt_message_id), outcome: r.outcome, detail: r.detail, ack: tx };
                                        match ctx.receipts.try_send(receipt) {
                                            Ok(()) => {
                                                let wait = cfg.response_timeout;
                                                acks.push(Box::pin(async move {
                                                    let ok = matches!(tokio::time::timeout(wait, rx).await, Ok(Ok(true)));
                                                    (s, ok)
                                                }));
                                            }
                                            Err(_) => acks.push(Box::pin(async move { (s, false) })),
                                        }
                                    }
                                    Delivery::NotReceipt => acks.push(Box::pin(async move { (s, true) })),
                                    Delivery::Malformed(e) => {
                                        m.receipts_malformed.inc();
                                        tracing::warn!(smsc = %cfg.name, session = ctx.idx, error = %e, "malformed delivery receipt (acknowledged, ignored)");
                                        acks.push(Box::pin(async move { (s, true) }));
                                    }
                                }
                            }
                            CommandId::Unbind => {
                                let _ = conn.send(Command::new(CommandStatus::EsmeRok, s, Pdu::UnbindResp)).await;
                                break 'session if draining.is_some() { End::Shutdown } else { End::Dropped("unbind from the SMSC") };
                            }
                            CommandId::UnbindResp if unbind_seq == Some(s) => break 'session End::Shutdown,
                            id if u32::from(id) & 0x8000_0000 == 0 => {
                                let nack = Command::new(CommandStatus::from(status::ESME_RINVCMDID), s, Pdu::GenericNack);
                                if conn.send(nack).await.is_err() {
                                    break 'session End::Dropped("write failed");
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            Some((s, ok)) = acks.next(), if !acks.is_empty() => {
                let st = if ok { CommandStatus::EsmeRok } else { CommandStatus::from(status::ESME_RX_T_APPN) };
                if conn.send(Command::new(st, s, DeliverSmResp::default())).await.is_err() {
                    break 'session End::Dropped("write failed");
                }
            }
            _ = smsc.notify.notified(), if can_take => {
                // Jobs come in bursts: one store commit answers several PAP requests, each of
                // which starts a submission. Woken by the first, this task would run next
                // (tokio runs a task woken by the running task at once, its LIFO slot) and write
                // one submit_sm per flush. Yielding once lets the tasks already ready queue
                // their jobs first, so the burst goes out in one write. tokio wakes a yielded
                // task once its worker has no other task ready, or at its next driver poll
                // (every 61 polls) under load: when idle the yield is one pass of the
                // scheduler (microseconds). Windowing, rate slots and order are untouched:
                // the jobs are taken below as before.
                if smsc.has_jobs() {
                    tokio::task::yield_now().await;
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = ctx.shutdown.changed(), if draining.is_none() => {
                draining = Some(Instant::now() + cfg.shutdown_timeout);
                if let Some((job, _)) = staged.take() {
                    requeue(&smsc, job);
                }
            }
        }

        let now = Instant::now();
        for (_, (job, sent)) in window.poll_timeouts(now) {
            m.response_timeouts.inc();
            // An SMSC that stops answering under load: counted like a throttle (a burst of them
            // cuts the rate; a lone one on a dead link changes nothing).
            if cfg.adaptive_rate && adaptive.on_response(now, sent, true) {
                throttle.pause(now, cfg.throttle_pause.min(CUT_PAUSE));
                m.throttle_pauses.inc();
            }
            tracing::warn!(smsc = %cfg.name, session = ctx.idx, "submit_sm response timeout; retrying");
            requeue(&smsc, job);
        }
        match link.poll(now) {
            LinkAction::Nothing => {}
            LinkAction::Send => {
                let s = seq.next_seq();
                link.sent(s, now);
                if conn
                    .send(Command::new(CommandStatus::EsmeRok, s, Pdu::EnquireLink))
                    .await
                    .is_err()
                {
                    break 'session End::Dropped("write failed");
                }
            }
            LinkAction::Dead => {
                m.enquire_link_failures.inc();
                break 'session End::Dropped("enquire_link unanswered");
            }
        }
    };
    // Nothing is lost: whatever was in flight or staged goes back for another session.
    if let Some((job, _)) = staged.take() {
        requeue(&smsc, job);
    }
    for (job, _) in window.drain() {
        requeue(&smsc, job);
    }
    end
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU32, AtomicUsize};
    use std::task::{Context, Poll};

    use rusmpp::pdus::{SubmitSm, SubmitSmResp};
    use tokio::io::ReadBuf;

    use super::*;
    use crate::config::SmscConfig;
    use crate::metrics::Metrics;

    /// The session's end of the socket, counting the writes that reach it.
    struct Counted {
        inner: TcpStream,
        writes: Arc<AtomicUsize>,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let r = Pin::new(&mut self.inner).poll_write(cx, buf);
            if matches!(r, Poll::Ready(Ok(_))) {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            r
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// One job through the session, as the pool's `submit_segment` queues it.
    async fn submit(smsc: Arc<SmscShared>) -> bool {
        let (tx, rx) = oneshot::channel();
        smsc.push_back(Job {
            sm: Arc::new(SubmitSm::default()),
            deadline: Instant::now() + Duration::from_secs(30),
            reply: tx,
            last_status: Arc::new(AtomicU32::new(0)),
        });
        matches!(rx.await, Ok(JobResult::Accepted(_)))
    }

    /// Jobs queued by tasks that became ready together (one store commit answers several PAP
    /// requests, each starts a submission) leave in a few writes, not one write each. On a
    /// multi-threaded runtime (the one `ppgd serve` runs), where a task woken by the running
    /// task runs next: without the session's yield this burst took one write per job.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_burst_of_jobs_leaves_in_a_few_writes() {
        const BURST: usize = 20;
        let cfg = SmscConfig {
            name: "t".into(),
            window: 50,
            ..SmscConfig::default()
        };
        let smsc = Arc::new(SmscShared::new(&cfg));
        // The SMSC, on a thread of its own as a real one is a process of its own (a peer on
        // this runtime would be woken by each write and change the order tasks run in):
        // accepts every submit_sm.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let (tcp, _) = listener.accept().await.expect("accept");
                let mut peer = Framed::new(tcp, TolerantCodec::default());
                let mut id = 0u32;
                while let Some(Ok(Frame::Command(cmd))) = peer.next().await {
                    if cmd.id() == CommandId::SubmitSm {
                        id += 1;
                        let resp = SubmitSmResp::new(id.to_string().parse().expect("id"), vec![]);
                        let s = cmd.sequence_number();
                        if peer
                            .send(Command::new(CommandStatus::EsmeRok, s, resp))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        });
        let tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let writes = Arc::new(AtomicUsize::new(0));
        let io: Box<dyn Io> = Box::new(Counted {
            inner: tcp,
            writes: writes.clone(),
        });
        let (_stop, shutdown) = watch::channel(false);
        let (receipts, _receipts) = mpsc::channel(1);
        let mut ctx = SessionContext {
            smsc: smsc.clone(),
            idx: 0,
            metrics: Metrics::new().smpp_session("t", 0),
            receipts,
            shutdown,
            bound: watch::channel(0).0,
        };
        let session = tokio::spawn(async move {
            let mut adaptive = AdaptiveRate::new(None, None, Instant::now());
            let conn = Framed::new(io, TolerantCodec::default());
            bound_loop(&mut ctx, conn, Sequence::default(), &mut adaptive).await;
        });
        // One job alone: the session is bound and waits for the next ones.
        assert!(submit(smsc.clone()).await);
        let before = writes.load(Ordering::Relaxed);

        // The burst starts from a task on the runtime, as the PAP handlers do.
        let jobs = smsc.clone();
        let accepted = tokio::spawn(async move {
            let tasks: Vec<_> = (0..BURST)
                .map(|_| tokio::spawn(submit(jobs.clone())))
                .collect();
            futures::future::join_all(tasks).await
        })
        .await
        .expect("burst");
        assert!(accepted.iter().all(|r| matches!(r, Ok(true))));
        let burst_writes = writes.load(Ordering::Relaxed) - before;
        assert!(
            burst_writes <= 3,
            "{BURST} jobs queued together took {burst_writes} writes"
        );
        session.abort();
    }
}
