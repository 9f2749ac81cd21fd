//! The bench's HTTP/1.1 client: one keep-alive connection per worker, one request at a time on
//! it, no pipelining, as any PI would send. It is not `notify::PapClient` (hyper_util's pooled
//! client) because the pool's checkout, the URI parse and clone and the header building per
//! request, and the connection task woken across threads, cost the bench about as much CPU as
//! the simulator spends per push, on the same cores as the gateway it measures.
//!
//! What goes on the wire is what PapClient sends: `POST <path> HTTP/1.1` with Content-Type,
//! Authorization (when given), Host (with the port when not 80) and Content-Length. Like
//! hyper_util's client, a request that could not be handed to a reused connection (the server
//! closed it while idle) is sent again once on a new one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where every request goes, parsed once.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host (without IPv6 brackets) and port to connect to.
    host: String,
    port: u16,
    /// The request target: the URL's path and query.
    path: Uri,
    host_header: HeaderValue,
    authorization: Option<HeaderValue>,
}

impl Target {
    pub fn new(url: &str, authorization: Option<&str>) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("--url {url:?}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!("--url {url}: ppgd bench speaks http:// only"),
            _ => bail!("--url {url}: only http:// URLs"),
        }
        let Some(host) = uri.host() else {
            bail!("--url {url}: no host");
        };
        // As hyper_util's client writes Host: the port only when it is not the default one.
        let host_header = match uri.port_u16() {
            Some(p) if p != 80 => format!("{host}:{p}"),
            _ => host.to_string(),
        };
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse::<Uri>()
            .with_context(|| format!("--url {url:?}"))?;
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: uri.port_u16().unwrap_or(80),
            path,
            host_header: HeaderValue::from_str(&host_header)?,
            authorization: authorization.map(HeaderValue::from_str).transpose()?,
        })
    }

    /// A POST of `body` with this content type.
    fn request(&self, content_type: &HeaderValue, body: Bytes) -> Request<Full<Bytes>> {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(CONTENT_TYPE, content_type.clone());
        if let Some(a) = &self.authorization {
            headers.insert(AUTHORIZATION, a.clone());
        }
        headers.insert(HOST, self.host_header.clone());
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = headers;
        req
    }
}

/// How an exchange failed.
#[derive(Debug)]
pub enum Failure {
    Timeout,
    Transport,
}

type Connection = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    /// Polled by the worker itself while it waits (no task of its own: no cross-task wake-ups).
    /// None once it ended (closed by the server, or failed): dropping it closes the request
    /// channel, so that a request sent after the end fails at once instead of waiting forever.
    conn: Option<Connection>,
}

/// One worker's connection, opened on first use and again after the server closed it.
pub struct Client {
    target: std::sync::Arc<Target>,
    timeout: Duration,
    conn: Option<Conn>,
}

impl Client {
    pub fn new(target: std::sync::Arc<Target>, timeout: Duration) -> Client {
        Client {
            target,
            timeout,
            conn: None,
        }
    }

    /// POSTs `body`; the HTTP status and the whole response body, within the timeout (which,
    /// as with PapClient, covers connecting too).
    pub async fn post(
        &mut self,
        content_type: &HeaderValue,
        body: Bytes,
    ) -> Result<(u16, Bytes), Failure> {
        let req = self.target.request(content_type, body);
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(())) => {
                self.conn = None;
                Err(Failure::Transport)
            }
            Err(_) => {
                // The answer may still come on it: never reuse a connection with one pending.
                self.conn = None;
                Err(Failure::Timeout)
            }
        }
    }

    async fn exchange(&mut self, mut req: Request<Full<Bytes>>) -> Result<(u16, Bytes), ()> {
        loop {
            let reused = match &self.conn {
                Some(c) if c.conn.is_some() && !c.sender.is_closed() => true,
                _ => {
                    self.conn = Some(connect(&self.target).await?);
                    false
                }
            };
            let c = self.conn.as_mut().ok_or(())?;
            let sender = &mut c.sender;
            let sent = drive(&mut c.conn, async {
                if sender.ready().await.is_err() {
                    return Err(Some(req));
                }
                match sender.try_send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.into_body().collect().await.map_err(|_| None)?;
                        Ok((status, body.to_bytes()))
                    }
                    Err(mut e) => Err(e.take_message()),
                }
            })
            .await;
            match sent {
                Ok(r) => return Ok(r),
                // Not sent, on a connection the server may have closed while it was idle: once
                // more on a new one.
                Err(Some(r)) if reused => {
                    self.conn = None;
                    req = r;
                }
                Err(_) => return Err(()),
            }
        }
    }
}

async fn connect(t: &Target) -> Result<Conn, ()> {
    let addrs = tokio::net::lookup_host((t.host.as_str(), t.port))
        .await
        .map_err(|_| ())?;
    let mut tcp = None;
    for a in addrs {
        if let Ok(s) = TcpStream::connect(a).await {
            tcp = Some(s);
            break;
        }
    }
    let tcp = tcp.ok_or(())?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(|_| ())?;
    Ok(Conn {
        sender,
        conn: Some(Box::pin(conn)),
    })
}

/// Runs `f` while polling the connection that carries its request and response (first, so that
/// a close by the server while the connection was idle is seen before a request is sent on it).
async fn drive<F: Future>(conn: &mut Option<Connection>, f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| {
        if let Some(c) = conn
            && c.as_mut().poll(cx).is_ready()
        {
            *conn = None;
        }
        f.as_mut().poll(cx)
    })
    .await
}
