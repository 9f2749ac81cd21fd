//! The PAP listener (WAP-247 §8, HTTP binding): authenticates the PI, reads the request under the
//! body limit, parses it, and answers. A push is answered 1001 only once the store has it synced.
//!
//! Every outcome is a PAP document with HTTP 202 (200 for PIs configured so), except HTTP-level
//! faults: 401 with a Basic challenge, 403 for a source network not allowed, 404 for a wrong path,
//! 405 for a wrong method, 413 for a body over the limit, 429 for a PI over its rate, 503 with
//! Retry-After when the queue is full. The mapping lives in [`error::Rejection::answer`].

pub mod auth;
pub mod error;
pub mod ops;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service;
use tracing::{info, warn};

use crate::compile::{CompileOptions, Content};
use crate::config::{Config, PiConfig, TlsServerConfig};
use crate::dispatch::{Dispatcher, observe_final};
use crate::metrics::Metrics;
use crate::pap::{
    Address, AddressType, BadMessageResponse, CancelMessage, CancelResponse, CancelResult,
    CcqMessage, CcqResponse, DeliveryMethod, PapCode, PapDocument, PapMessage, PapRequest,
    PapVersion, PushResponse, PushSubmission, ResponseResult, StatusQueryMessage,
    StatusQueryResponse, StatusQueryResult,
};
use crate::smpp::pool::Pool;
use crate::smpp::session::RateLimiter;
use crate::store::{MessageState, NewPush, NewRecipient, PushStore};
use crate::util::UtcTime;
use error::{Answer, Rejection};

/// Shared state of the PAP listener.
pub struct PapState<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for PapState<S> {
    fn clone(&self) -> Self {
        PapState {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S> {
    store: Arc<S>,
    pool: Pool,
    metrics: Metrics,
    /// Wakes for pushes stored unleased; takes the pushes stored leased (the fast path).
    dispatcher: Arc<Dispatcher<S>>,
    /// Replaced whole on SIGHUP.
    pis: RwLock<Arc<Vec<PiConfig>>>,
    limiters: Mutex<HashMap<String, RateLimiter>>,
    path: String,
    body_limit: usize,
    sender_name: String,
    sender_address: String,
    compile: CompileOptions,
    tid: AtomicU8,
}

impl<S: PushStore> PapState<S> {
    pub fn new(
        cfg: &Config,
        store: Arc<S>,
        pool: Pool,
        metrics: Metrics,
        dispatcher: Arc<Dispatcher<S>>,
    ) -> Self {
        let scheme = if cfg.pap.tls.is_some() {
            "https"
        } else {
            "http"
        };
        PapState {
            inner: Arc::new(Inner {
                store,
                pool,
                metrics,
                dispatcher,
                pis: RwLock::new(Arc::new(cfg.pap.pi.clone())),
                limiters: Mutex::new(HashMap::new()),
                path: cfg.pap.path.clone(),
                body_limit: cfg.pap.body_limit,
                sender_name: cfg.pap.sender_name.clone(),
                sender_address: cfg
                    .pap
                    .sender_address
                    .clone()
                    .unwrap_or_else(|| format!("{scheme}://{}{}", cfg.pap.listen, cfg.pap.path)),
                compile: CompileOptions {
                    mms_content_type_text: cfg.dispatch.mms_content_type_text,
                },
                tid: AtomicU8::new(0),
            }),
        }
    }

    /// Replaces the PI accounts (SIGHUP); requests in flight keep the accounts they started with.
    pub fn reload_pis(&self, pis: Vec<PiConfig>) {
        *self.inner.pis.write().expect("PI lock never poisoned") = Arc::new(pis);
        self.inner
            .limiters
            .lock()
            .expect("limiter lock never poisoned")
            .clear();
    }
}

/// Makes one [`PapService`] per accepted connection, with the peer's address (for `allow_ips`):
/// for `axum::serve` (plain HTTP) and `axum_server` (HTTPS) alike.
pub struct MakePapService<S> {
    state: PapState<S>,
}

impl<S> Clone for MakePapService<S> {
    fn clone(&self) -> Self {
        MakePapService {
            state: self.state.clone(),
        }
    }
}

impl<S> MakePapService<S> {
    pub fn new(state: PapState<S>) -> Self {
        MakePapService { state }
    }

    fn for_peer(&self, peer: SocketAddr) -> PapService<S> {
        PapService {
            state: self.state.clone(),
            peer,
        }
    }
}

impl<S> Service<IncomingStream<'_, TcpListener>> for MakePapService<S> {
    type Response = PapService<S>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<PapService<S>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, TcpListener>) -> Self::Future {
        std::future::ready(Ok(self.for_peer(*stream.remote_addr())))
    }
}

impl<S> Service<SocketAddr> for MakePapService<S> {
    type Response = PapService<S>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<PapService<S>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, peer: SocketAddr) -> Self::Future {
        std::future::ready(Ok(self.for_peer(peer)))
    }
}

/// The PAP listener for one connection: POST on the PAP path; 405 with `Allow: POST` for other
/// methods there, 404 elsewhere; a Content-Length from an exact body size and no body for HEAD.
/// That is what an axum `Router` with one `post` route and a fallback answered, without its
/// route table, method router and extension layers (~6,000 instructions per request).
pub struct PapService<S> {
    state: PapState<S>,
    peer: SocketAddr,
}

impl<S> Clone for PapService<S> {
    fn clone(&self) -> Self {
        PapService {
            state: self.state.clone(),
            peer: self.peer,
        }
    }
}

impl<S, B> Service<Request<B>> for PapService<S>
where
    S: PushStore,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let state = self.state.clone();
        let peer = self.peer;
        Box::pin(async move { Ok(route(state, peer, req).await) })
    }
}

async fn route<S: PushStore, B>(st: PapState<S>, peer: SocketAddr, req: Request<B>) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let head = req.method() == Method::HEAD;
    let mut resp = if req.uri().path() != st.inner.path {
        (StatusCode::NOT_FOUND, "no PAP endpoint here\n").into_response()
    } else if req.method() != Method::POST {
        let mut resp = StatusCode::METHOD_NOT_ALLOWED.into_response();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        resp
    } else {
        let (parts, body) = req.into_parts();
        handle(st, peer, parts.headers, Body::new(body)).await
    };
    if !resp.headers().contains_key(header::CONTENT_LENGTH)
        && let Some(n) = resp.body().size_hint().exact()
    {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if head {
        *resp.body_mut() = Body::empty();
    }
    resp
}

/// Serves PAP on `listener` (HTTPS when `tls` is set) until `stop` changes.
pub async fn serve<S: PushStore>(
    listener: TcpListener,
    tls: Option<TlsServerConfig>,
    state: PapState<S>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let app = MakePapService::new(state);
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await?;
        }
        Some(t) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key).await?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                let _ = stop.changed().await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle)
                .serve(app)
                .await?;
        }
    }
    Ok(())
}

/// What kind of PAP message a request carried (a bounded metric label).
fn message_label(req: Option<&PapRequest<'_>>) -> &'static str {
    match req {
        Some(PapRequest::Push(_)) => crate::metrics::PUSH_MESSAGE,
        Some(PapRequest::Document(d)) => d.message.element(),
        None => "unparsed",
    }
}

/// The PAP version family to answer in, guessed from raw bytes when the document did not parse.
fn version_hint(body: &[u8]) -> PapVersion {
    let probe = &body[..body.len().min(512)];
    let text = String::from_utf8_lossy(probe);
    if text.contains("PAP 1.0") || text.contains("DTD PAP//EN") {
        PapVersion::V1_0
    } else {
        PapVersion::V2_0
    }
}

struct Reply {
    version: PapVersion,
    message: PapMessage,
    answer: Answer,
}

async fn handle<S: PushStore>(
    st: PapState<S>,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let inner = &st.inner;
    let pis = inner.pis.read().expect("PI lock never poisoned").clone();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let pi = match auth::authenticate(&pis, authorization, peer.ip()) {
        Ok(pi) => pi,
        Err(e) => {
            warn!(peer = %peer, error = %e, "PAP request refused");
            return http_refusal(inner, Rejection::Auth(e));
        }
    };
    if let Err(r) = check_rate(inner, pi) {
        warn!(pi = %pi.name, "PAP request over the PI's rate limit");
        return pap_reply(inner, pi, started, "unparsed", rate_reply(r));
    }
    // 413 before reading a body that announces itself too large.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > inner.body_limit as u64) {
        return http_refusal(
            inner,
            Rejection::BodyTooLarge {
                limit: inner.body_limit,
            },
        );
    }
    let body = match read_body(body, inner.body_limit).await {
        Ok(b) => b,
        Err(r) => return http_refusal(inner, r),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let request = PapRequest::parse(content_type, &body);
    let label = message_label(request.as_ref().ok());
    if label == crate::metrics::PUSH_MESSAGE {
        inner.metrics.pap_push_requests().inc();
    } else {
        inner.metrics.pap_requests.with_label_values(&[label]).inc();
    }
    let reply = match request {
        Err(e) => {
            let push_id = e.push_id().map(str::to_string);
            warn!(pi = %pi.name, push_id = push_id.as_deref().unwrap_or("-"), error = %e, "bad PAP request");
            let version = version_hint(&body);
            let fragment = e.fragment().map(str::to_string);
            let rejection = Rejection::Pap(Box::new(e));
            let answer = rejection.answer();
            let desc = Some(rejection.to_string());
            let message = match push_id {
                // The push-id was read: answer as a push-response for it.
                Some(push_id) if label == "push-message" || label == "unparsed" => push_response(
                    inner,
                    push_id,
                    answer.code.unwrap_or(PapCode::BadRequest),
                    desc,
                ),
                _ => PapMessage::BadMessageResponse(BadMessageResponse {
                    code: answer.code.unwrap_or(PapCode::BadRequest),
                    desc,
                    bad_message_fragment: fragment,
                }),
            };
            Reply {
                version,
                message,
                answer,
            }
        }
        Ok(PapRequest::Push(sub)) => {
            // Kannel's test PI sends X-Wap-Application-Id as an HTTP request header rather than
            // in the content entity: honour it when the entity has none.
            let app_id = headers
                .get("x-wap-application-id")
                .and_then(|v| v.to_str().ok());
            push(inner, pi, *sub, app_id).await
        }
        Ok(PapRequest::Document(doc)) => {
            let version = doc.version;
            match doc.message {
                PapMessage::StatusQuery(q) => status_query(inner, version, q).await,
                PapMessage::Cancel(c) => cancel(inner, version, c).await,
                PapMessage::Ccq(c) => ccq(version, c),
                // PapRequest::parse only lets the three above through as documents.
                other => {
                    let rejection = Rejection::Pap(Box::new(crate::pap::PapError::Submission(
                        crate::pap::SubmissionError::NotStandalone {
                            element: other.element(),
                        },
                    )));
                    Reply {
                        version,
                        answer: rejection.answer(),
                        message: PapMessage::BadMessageResponse(BadMessageResponse {
                            code: PapCode::BadRequest,
                            desc: Some(rejection.to_string()),
                            bad_message_fragment: None,
                        }),
                    }
                }
            }
        }
    };
    pap_reply(inner, pi, started, label, reply)
}

/// The whole body, at most `limit` octets (more: `BodyTooLarge`, as `http_body_util::Limited`
/// answered): what `Limited::new(body, limit).collect()` gave, without its frame queue. A body
/// that comes in one frame (the usual PAP request) is used as it is, not copied.
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Rejection::BodyRead(e.to_string()))?;
        // Trailers carry no octets of the document.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > limit {
            return Err(Rejection::BodyTooLarge { limit });
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            None => joined.extend_from_slice(&data),
            Some(f) => {
                joined.reserve(f.len() + data.len());
                joined.extend_from_slice(&f);
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(joined),
    })
}

fn check_rate<S>(inner: &Inner<S>, pi: &PiConfig) -> Result<(), Rejection> {
    let Some(rate) = pi.rate else { return Ok(()) };
    let mut limiters = inner.limiters.lock().expect("limiter lock never poisoned");
    let limiter = limiters
        .entry(pi.name.clone())
        .or_insert_with(|| RateLimiter::new(Some(rate)));
    // Allow a burst of up to one second's worth before refusing.
    match limiter.try_reserve(Instant::now(), Duration::from_secs(1)) {
        Ok(()) => Ok(()),
        Err(wait) => Err(Rejection::RateLimited {
            pi: pi.name.clone(),
            rate,
            retry_after_secs: wait.as_secs().max(1),
        }),
    }
}

fn rate_reply(r: Rejection) -> Reply {
    let answer = r.answer();
    Reply {
        version: PapVersion::V2_0,
        message: PapMessage::BadMessageResponse(BadMessageResponse {
            code: answer.code.unwrap_or(PapCode::ServiceUnavailable),
            desc: Some(r.to_string()),
            bad_message_fragment: None,
        }),
        answer,
    }
}

fn push_response<S>(
    inner: &Inner<S>,
    push_id: String,
    code: PapCode,
    desc: Option<String>,
) -> PapMessage {
    PapMessage::PushResponse(PushResponse {
        push_id,
        sender_address: Some(inner.sender_address.clone()),
        sender_name: Some(inner.sender_name.clone()),
        reply_time: Some(UtcTime::now()),
        progress_notes: Vec::new(),
        result: ResponseResult { code, desc },
    })
}

/// A push-response for a refused push, logged with its push-id.
fn refuse_push<S>(
    inner: &Inner<S>,
    version: PapVersion,
    push_id: &str,
    rejection: Rejection,
) -> Reply {
    warn!(push_id = %push_id, error = %rejection, "push refused");
    let answer = rejection.answer();
    Reply {
        version,
        message: push_response(
            inner,
            push_id.to_string(),
            answer.code.unwrap_or(PapCode::BadRequest),
            Some(rejection.to_string()),
        ),
        answer,
    }
}

async fn push<S: PushStore>(
    inner: &Inner<S>,
    pi: &PiConfig,
    sub: PushSubmission<'_>,
    request_app_id: Option<&str>,
) -> Reply {
    let version = sub.version;
    let msg = &sub.push;
    let push_id = msg.push_id.as_str();
    let refuse = |r: Rejection| refuse_push(inner, version, push_id, r);
    let now = UtcTime::now();

    if msg.replace_push_id.is_some() {
        return refuse(Rejection::ReplacementNotSupported);
    }
    let qos = msg.qos.clone().unwrap_or_default();
    if qos.network_required == Some(true)
        && let Some(n) = &qos.network
        && !(n.eq_ignore_ascii_case("GSM") || n.eq_ignore_ascii_case("Any"))
    {
        return refuse(Rejection::NetworkNotAvailable(n.clone()));
    }
    if qos.bearer_required == Some(true)
        && let Some(b) = &qos.bearer
        && !(b.eq_ignore_ascii_case("SMS") || b.eq_ignore_ascii_case("Any"))
    {
        return refuse(Rejection::BearerNotAvailable(b.clone()));
    }
    if let Some(before) = msg.deliver_before {
        if before <= now {
            return refuse(Rejection::AlreadyExpired(before.to_string()));
        }
        if let Some(after) = msg.deliver_after
            && after >= before
        {
            return refuse(Rejection::EmptyDeliveryWindow {
                after: after.to_string(),
                before: before.to_string(),
            });
        }
    }

    // Recipients: PLMN numbers this PI may reach.
    let mut recipients = Vec::with_capacity(msg.addresses.len());
    for address in &msg.addresses {
        if address.kind != AddressType::Plmn {
            return refuse(Rejection::Address {
                address: address.raw.clone(),
                problem: format!(
                    "TYPE={} cannot be reached by this SMS-only PPG; use TYPE=PLMN with an E.164 number",
                    address.kind.as_str()
                ),
            });
        }
        let msisdn = match address.msisdn() {
            Ok(m) => m,
            Err(e) => {
                return refuse(Rejection::Address {
                    address: address.raw.clone(),
                    problem: e.to_string(),
                });
            }
        };
        if !auth::destination_allowed(pi, &msisdn) {
            return refuse(Rejection::DestinationForbidden {
                address: address.raw.clone(),
                allowed: pi.allow_prefixes.as_deref().unwrap_or_default().join(", "),
            });
        }
        recipients.push(NewRecipient {
            address: address.raw.clone(),
            msisdn,
        });
    }

    // Content → WSP Push PDU.
    let entity_headers: Vec<(&str, &str)> = sub.content.headers.iter().collect();
    let content = Content {
        content_type: sub.content.content_type,
        application_id: sub.content.application_id.or(request_app_id),
        headers: &entity_headers,
        body: &sub.content.body,
    };
    let tid = inner.tid.fetch_add(1, Ordering::Relaxed);
    let compiled = match crate::compile::compile(&content, tid, &inner.compile) {
        Ok(c) => c,
        Err(e) => return refuse(Rejection::Content(e)),
    };

    // Refuse, before 1001, what no SMSC on the route could carry.
    for r in &recipients {
        // The routes match on digits (a leading '+' is ignored).
        let routes = inner.pool.route(&r.msisdn);
        let fits = routes.iter().any(|route| {
            crate::sms::segment_count(compiled.wsp_pdu.len(), route.carriage) <= route.max_segments
        });
        if let (false, Some(first)) = (fits, routes.first()) {
            return refuse(Rejection::TooManySegments {
                address: r.address.clone(),
                needed: crate::sms::segment_count(compiled.wsp_pdu.len(), first.carriage),
                allowed: first.max_segments,
                smsc: first.name.clone(),
            });
        }
    }

    let count = recipients.len();
    let mut new = NewPush {
        push_id: push_id.to_string(),
        pi: pi.name.clone(),
        pap_version: version.as_str().to_string(),
        received_at: now,
        deliver_after: msg.deliver_after,
        deliver_before: msg.deliver_before,
        priority: qos.priority_or_default(),
        confirmed: matches!(
            qos.delivery_method_or_default(),
            DeliveryMethod::Confirmed | DeliveryMethod::PreferConfirmed
        ),
        notify_to: msg.ppg_notify_requested_to.clone(),
        wsp_pdu: compiled.wsp_pdu,
        recipients,
        lease_until: None,
    };
    // The fast path: when the dispatcher can take every recipient now, the push is stored
    // leased to it and handed over after the commit, with no lease query. The permits are
    // held from here; an insert that fails drops them.
    let reservation = inner.dispatcher.reserve(&new);
    new.lease_until = reservation.as_ref().map(|r| r.lease_until());
    let jobs = match inner.store.insert_push(new).await {
        Ok(jobs) => jobs,
        Err(e) => return refuse(Rejection::from(e)),
    };
    inner.metrics.pushes_accepted.inc_by(count as u64);
    inner.dispatcher.after_insert(jobs, reservation);
    info!(push_id = %push_id, pi = %pi.name, recipients = count, content = %compiled.delivered_type, "push accepted");
    Reply {
        version,
        message: push_response(
            inner,
            push_id.to_string(),
            PapCode::Accepted,
            // One address is the common case: no formatting for it.
            Some(if count == 1 {
                String::from("accepted for delivery to 1 address(es)")
            } else {
                format!("accepted for delivery to {count} address(es)")
            }),
        ),
        answer: Answer {
            status: StatusCode::ACCEPTED,
            code: Some(PapCode::Accepted),
            retry_after: None,
            challenge: false,
        },
    }
}

fn ok_answer(code: PapCode) -> Answer {
    Answer {
        status: StatusCode::ACCEPTED,
        code: Some(code),
        retry_after: None,
        challenge: false,
    }
}

/// The address a store row was accepted with, as a PAP address for the answer.
fn answer_address(raw: &str) -> Address {
    Address::parse(raw).unwrap_or_else(|_| Address::new(AddressType::Plmn, raw, None))
}

async fn status_query<S: PushStore>(
    inner: &Inner<S>,
    version: PapVersion,
    q: StatusQueryMessage,
) -> Reply {
    let wanted: Vec<String> = q.addresses.iter().map(|a| a.raw.clone()).collect();
    let results = match inner.store.status(&q.push_id, &wanted).await {
        Ok(Some(rows)) if !rows.is_empty() => rows
            .into_iter()
            .map(|r| StatusQueryResult {
                addresses: vec![answer_address(&r.address)],
                qos: None,
                event_time: Some(r.updated_at),
                message_state: r.state,
                code: PapCode::from_u16(r.code),
                desc: (!r.desc.is_empty()).then_some(r.desc),
            })
            .collect(),
        Ok(_) => {
            let r = Rejection::UnknownPushId(q.push_id.clone());
            vec![StatusQueryResult {
                addresses: q.addresses.clone(),
                qos: None,
                event_time: None,
                message_state: MessageState::Unknown,
                code: r.answer().code.unwrap_or(PapCode::PushIdNotFound),
                desc: Some(r.to_string()),
            }]
        }
        Err(e) => {
            let r = Rejection::from(e);
            warn!(push_id = %q.push_id, error = %r, "statusquery failed");
            let answer = r.answer();
            return Reply {
                version,
                message: PapMessage::StatusQueryResponse(StatusQueryResponse {
                    push_id: q.push_id,
                    results: vec![StatusQueryResult {
                        addresses: q.addresses,
                        qos: None,
                        event_time: None,
                        message_state: MessageState::Unknown,
                        code: answer.code.unwrap_or(PapCode::InternalServerError),
                        desc: Some(r.to_string()),
                    }],
                }),
                answer,
            };
        }
    };
    Reply {
        version,
        message: PapMessage::StatusQueryResponse(StatusQueryResponse {
            push_id: q.push_id,
            results,
        }),
        answer: ok_answer(PapCode::Ok),
    }
}

async fn cancel<S: PushStore>(inner: &Inner<S>, version: PapVersion, c: CancelMessage) -> Reply {
    let wanted: Vec<String> = c.addresses.iter().map(|a| a.raw.clone()).collect();
    let results = match inner
        .store
        .cancel(&c.push_id, &wanted, UtcTime::now())
        .await
    {
        Ok(Some(outcomes)) if !outcomes.is_empty() => outcomes
            .into_iter()
            .map(|o| {
                if let Some(event) = &o.event {
                    observe_final(&inner.metrics, event);
                }
                let (code, desc) = if o.cancelled {
                    (PapCode::Ok, "cancelled before submission".to_string())
                } else {
                    (
                        PapCode::CancellationNotPossible,
                        "already submitted to the SMSC or final".to_string(),
                    )
                };
                CancelResult {
                    addresses: vec![answer_address(&o.address)],
                    code,
                    desc: Some(desc),
                }
            })
            .collect(),
        Ok(_) => {
            let r = Rejection::UnknownPushId(c.push_id.clone());
            vec![CancelResult {
                addresses: c.addresses.clone(),
                code: r.answer().code.unwrap_or(PapCode::PushIdNotFound),
                desc: Some(r.to_string()),
            }]
        }
        Err(e) => {
            let r = Rejection::from(e);
            warn!(push_id = %c.push_id, error = %r, "cancel failed");
            let answer = r.answer();
            return Reply {
                version,
                message: PapMessage::CancelResponse(CancelResponse {
                    push_id: c.push_id,
                    results: vec![CancelResult {
                        addresses: c.addresses,
                        code: answer.code.unwrap_or(PapCode::InternalServerError),
                        desc: Some(r.to_string()),
                    }],
                }),
                answer,
            };
        }
    };
    info!(push_id = %c.push_id, "cancel-message answered");
    Reply {
        version,
        message: PapMessage::CancelResponse(CancelResponse {
            push_id: c.push_id,
            results,
        }),
        answer: ok_answer(PapCode::Ok),
    }
}

fn ccq(version: PapVersion, c: CcqMessage) -> Reply {
    let r = Rejection::CcqNotSupported;
    let answer = r.answer();
    Reply {
        version,
        message: PapMessage::CcqResponse(CcqResponse {
            query_id: c.query_id,
            code: answer
                .code
                .unwrap_or(PapCode::CapabilityMatchingNotSupported),
            desc: Some(r.to_string()),
            address: c.address,
        }),
        answer,
    }
}

/// Writes a PAP document answer, with the status the mapping chose (202, or 200 for PIs that
/// want it), and records the metrics.
fn pap_reply<S>(
    inner: &Inner<S>,
    pi: &PiConfig,
    started: Instant,
    label: &'static str,
    reply: Reply,
) -> Response {
    let code = reply.answer.code.map(|c| c.as_u16()).unwrap_or(0);
    let m = &inner.metrics;
    let seconds = started.elapsed().as_secs_f64();
    if label == crate::metrics::PUSH_MESSAGE {
        // Every push comes here: the children are looked up once.
        if code == PapCode::Accepted.as_u16() {
            m.pap_push_accepted().inc();
        } else {
            m.pap_responses
                .with_label_values(&[label, &code_label(code)])
                .inc();
        }
        m.pap_push_duration().observe(seconds);
    } else {
        m.pap_responses
            .with_label_values(&[label, &code_label(code)])
            .inc();
        m.pap_response_duration
            .with_label_values(&[label])
            .observe(seconds);
    }
    let mut status = reply.answer.status;
    if status == StatusCode::ACCEPTED && pi.http_200 {
        status = StatusCode::OK;
    }
    let doc = PapDocument {
        version: reply.version,
        supported_versions: None,
        product_name: Some(inner.sender_name.clone()),
        message: reply.message,
    };
    let mut resp = (status, doc.to_xml()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    if let Some(secs) = reply.answer.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A bounded label for a PAP code: the named codes, else its class.
fn code_label(code: u16) -> std::borrow::Cow<'static, str> {
    match PapCode::from_u16(code) {
        PapCode::Other(_) => match code / 1000 {
            1 => "1xxx",
            2 => "2xxx",
            3 => "3xxx",
            4 => "4xxx",
            5 => "5xxx",
            _ => "other",
        }
        .into(),
        named => named.as_u16().to_string().into(),
    }
}

/// An HTTP-level refusal (no PAP document was read).
fn http_refusal<S>(inner: &Inner<S>, rejection: Rejection) -> Response {
    let answer = rejection.answer();
    inner
        .metrics
        .http_rejections
        .with_label_values(&[answer.status.as_str()])
        .inc();
    let mut resp = (answer.status, format!("{rejection}\n")).into_response();
    if answer.challenge {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ppgd\", charset=\"UTF-8\""),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::{Body, Bytes, Rejection, code_label, read_body};

    fn chunked(parts: &[&'static str]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        Body::from_stream(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_under_its_limit() {
        let one = read_body(Body::from("<pap/>"), 6).await;
        assert_eq!(one.ok(), Some(Bytes::from_static(b"<pap/>")));
        let several = read_body(chunked(&["<p", "", "ap", "/>"]), 6).await;
        assert_eq!(several.ok(), Some(Bytes::from_static(b"<pap/>")));
        assert_eq!(read_body(Body::empty(), 0).await.ok(), Some(Bytes::new()));
        // One octet over, in one frame or in the last of several: 413.
        for body in [Body::from("<pap/>"), chunked(&["<pa", "p/>"])] {
            assert!(matches!(
                read_body(body, 5).await,
                Err(Rejection::BodyTooLarge { limit: 5 })
            ));
        }
        let broken = Body::from_stream(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"<pa")),
            Err(std::io::Error::other("connection reset")),
        ]));
        match read_body(broken, 100).await {
            Err(Rejection::BodyRead(e)) => assert!(e.contains("connection reset"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn code_labels_are_bounded() {
        // Named PAP codes label as themselves; anything else collapses to its class.
        assert_eq!(code_label(1001), "1001");
        assert_eq!(code_label(3011), "3011");
        assert_eq!(code_label(2999), "2xxx");
        assert_eq!(code_label(5027), "5xxx");
        assert_eq!(code_label(0), "other");
    }
}
