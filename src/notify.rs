//! Result notifications (WAP-247 §8.4): once a recipient of a push that named
//! `ppg-notify-requested-to` is final, a resultnotification-message is POSTed there and retried
//! with backoff until the PI answers with a resultnotification-response. The store queues the
//! notification in the same transaction as the final state, so pending notifications survive
//! restarts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, info, warn};

use crate::config::{NotifyConfig, TlsClientConfig};
use crate::dispatch::backoff;
use crate::metrics::Metrics;
use crate::pap::{
    Address, AddressType, PapCode, PapDocument, PapMessage, PapVersion, ResultNotificationMessage,
};
use crate::store::{Notification, PushStore};
use crate::util::UtcTime;

/// An HTTP/1.1 client for PAP messages (notifications, and the `ppgd push` client): http://
/// always, https:// when it was given CA certificates to verify servers with.
#[derive(Clone)]
pub struct PapClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// https:// allowed (a CA file was configured).
    https: bool,
    timeout: Duration,
}

/// What came back from a POST.
#[derive(Debug, Clone)]
pub struct PapReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP: {0}")]
    Http(String),
}

impl PapClient {
    /// http:// only.
    pub fn new(timeout: Duration) -> Self {
        Self::build(timeout, None).expect("a client without TLS roots cannot fail to build")
    }

    /// http://, and https:// verified against the CA certificates of `tls` (each server's name
    /// is the host of its URL, so `server_name` must not be set).
    pub fn with_tls(timeout: Duration, tls: Option<&TlsClientConfig>) -> Result<Self, String> {
        if let Some(name) = tls.and_then(|t| t.server_name.as_deref()) {
            return Err(format!(
                "tls.server_name = {name:?}: each URL names its own host; remove it"
            ));
        }
        Self::build(timeout, tls)
    }

    fn build(timeout: Duration, tls: Option<&TlsClientConfig>) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        // The HTTPS connector below decides by scheme; the plain one must let https through.
        http.enforce_http(false);
        // Without CAs, https:// is refused in `post` before any connection.
        let config = crate::util::tls::client_config_or_none(tls)?;
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(PapClient {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
            https: tls.is_some(),
            timeout,
        })
    }

    /// POSTs `body` with the given content type (and optional Basic credentials).
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        authorization: Option<&str>,
        body: Bytes,
    ) -> Result<PapReply, PostError> {
        let uri: hyper::Uri =
            url.parse()
                .map_err(|e: hyper::http::uri::InvalidUri| PostError::Url {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") if self.https => {}
            Some("https") => {
                return Err(PostError::Url {
                    url: url.to_string(),
                    reason: "https:// needs the CA certificates to verify the server with \
                             ([notify] tls = { ca = \"/etc/ssl/certs/ca-certificates.crt\" } \
                             for notifications, --ca for ppgd push)"
                        .into(),
                });
            }
            _ => {
                return Err(PostError::Url {
                    url: url.to_string(),
                    reason: "only http:// and https:// URLs".into(),
                });
            }
        }
        let mut req = hyper::Request::post(uri).header(hyper::header::CONTENT_TYPE, content_type);
        if let Some(auth) = authorization {
            req = req.header(hyper::header::AUTHORIZATION, auth);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| PostError::Http(e.to_string()))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| PostError::Http(format!("{e:#}")))?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| PostError::Http(e.to_string()))?
                .to_bytes();
            Ok(PapReply {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| PostError::Timeout(self.timeout))?
    }
}

/// Sends due notifications until `shutdown`.
pub async fn run<S: PushStore>(
    store: Arc<S>,
    cfg: NotifyConfig,
    client: PapClient,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let lease = cfg.timeout * 2 + Duration::from_secs(5);
    loop {
        let free = permits.available_permits();
        let mut got = 0;
        if free > 0 {
            let now = UtcTime::now();
            match store
                .notifications_due(now, free, now.plus_secs(lease.as_secs() as i64))
                .await
            {
                Ok(due) => {
                    got = due.len();
                    for n in due {
                        let permit = permits.clone().acquire_owned().await.expect("never closed");
                        let (store, client, cfg, metrics) =
                            (store.clone(), client.clone(), cfg.clone(), metrics.clone());
                        tokio::spawn(async move {
                            deliver(&*store, &client, &cfg, &metrics, n).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => warn!(error = %e, "reading due result notifications failed"),
            }
        }
        if got == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

async fn deliver<S: PushStore>(
    store: &S,
    client: &PapClient,
    cfg: &NotifyConfig,
    metrics: &Metrics,
    n: Notification,
) {
    let body = Bytes::from(build_message(&n));
    let outcome = client.post(&n.url, "application/xml", None, body).await;
    metrics.notifications.with_label_values(&["sent"]).inc();
    let problem = match outcome {
        Ok(reply) if (200..300).contains(&reply.status) => match parse_ack(&reply.body) {
            Ok(code) => {
                if code != 1000 {
                    warn!(push_id = %n.push_id, code, "PI answered the result notification with a non-1000 code; not resending");
                }
                info!(push_id = %n.push_id, address = %n.address, url = %n.url, "result notification acknowledged");
                metrics
                    .notifications
                    .with_label_values(&["acknowledged"])
                    .inc();
                if let Err(e) = store.notification_done(n.id, true).await {
                    warn!(push_id = %n.push_id, error = %e, "recording the acknowledgement failed; it may be sent again");
                }
                return;
            }
            Err(why) => format!("HTTP {} but {why}", reply.status),
        },
        Ok(reply) => format!("HTTP {}", reply.status),
        Err(e) => e.to_string(),
    };
    let now = UtcTime::now();
    if now.0 - n.created_at.0 >= cfg.give_up_after.as_secs() as i64 {
        warn!(push_id = %n.push_id, url = %n.url, problem = %problem, attempts = n.attempts + 1, "giving up on a result notification");
        metrics.notifications.with_label_values(&["failed"]).inc();
        let _ = store.notification_done(n.id, false).await;
        return;
    }
    let wait = backoff(cfg.retry_min, cfg.retry_max, n.attempts);
    debug!(push_id = %n.push_id, url = %n.url, problem = %problem, retry_in = ?wait, "result notification not acknowledged");
    metrics.notifications.with_label_values(&["retried"]).inc();
    if let Err(e) = store
        .notification_retry(n.id, now.plus_secs(wait.as_secs().max(1) as i64))
        .await
    {
        warn!(push_id = %n.push_id, error = %e, "recording a notification retry failed");
    }
}

/// The resultnotification-message for one final recipient, in the PI's PAP version.
pub fn build_message(n: &Notification) -> String {
    let version = match n.pap_version.as_str() {
        "1.0" => PapVersion::V1_0,
        "2.1" => PapVersion::V2_1,
        _ => PapVersion::V2_0,
    };
    let address = Address::parse(&n.address)
        .unwrap_or_else(|_| Address::new(AddressType::Plmn, &n.address, None));
    PapDocument {
        version,
        supported_versions: None,
        product_name: None,
        message: PapMessage::ResultNotification(ResultNotificationMessage {
            push_id: n.push_id.clone(),
            sender_address: None,
            sender_name: Some(concat!("ppgd/", env!("CARGO_PKG_VERSION")).to_string()),
            received_time: Some(n.received_at),
            // Always sent (digest §1.3: BlackBerry treats it as optional, so never required).
            event_time: Some(n.event_at),
            message_state: n.state,
            code: PapCode::from_u16(n.code),
            desc: (!n.desc.is_empty()).then(|| n.desc.clone()),
            address,
            qos: None,
        }),
    }
    .to_xml()
}

/// The code of the PI's resultnotification-response; an error when the body is not one.
pub fn parse_ack(body: &[u8]) -> Result<u16, String> {
    match PapDocument::parse(body) {
        Ok(PapDocument {
            message: PapMessage::ResultNotificationResponse(r),
            ..
        }) => Ok(r.code.as_u16()),
        Ok(other) => Err(format!(
            "the answer is a <{}>, not a resultnotification-response",
            other.message.element()
        )),
        Err(e) => Err(format!("the answer is not a PAP document: {e}")),
    }
}
