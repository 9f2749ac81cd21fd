//! The bench's HTTP/1.1 client: one keep-alive connection per worker, one request at a time on
//! it, no pipelining, as any PI would send. Neither `notify::PapClient` (hyper_util's pooled
//! client) nor hyper's connection: the request is bytes prepared once per content kind (only
//! the push-id and the address digits change), written with one write, and the answer is read
//! into the connection's buffer and framed here; hyper's request channel, header maps, body
//! collection and wake-ups cost the bench about as much CPU as the simulator spends per push,
//! on the same cores as the gateway it measures.
//!
//! What goes on the wire is what PapClient sends: `POST <path> HTTP/1.1` with Content-Type,
//! Authorization (when given), Host (with the port when not 80) and Content-Length, named and
//! ordered as hyper writes them (a test compares). Answers are read as RFC 9112 frames them for
//! a client: HTTP/1.0 or 1.1; interim 1xx answers skipped; a body by Transfer-Encoding chunked,
//! Content-Length, or the connection's end; the connection kept only when the answer allows it
//! (HTTP/1.1 without `Connection: close`, HTTP/1.0 with `Connection: keep-alive`) and is whole.
//! Like hyper_util's client, a request that could not be sent on a reused connection (the
//! server closed it while idle) is sent once more on a new one.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use hyper::Uri;
use hyper::header::HeaderValue;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Where every request goes, parsed once.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host (without IPv6 brackets) and port to connect to.
    host: String,
    port: u16,
    /// The request target: the URL's path and query.
    path: String,
    host_header: String,
    authorization: Option<String>,
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
            .with_context(|| format!("--url {url:?}"))?
            .to_string();
        // Header values as hyper would take them (no control characters).
        HeaderValue::from_str(&host_header)?;
        if let Some(a) = authorization {
            HeaderValue::from_str(a)?;
        }
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: uri.port_u16().unwrap_or(80),
            path,
            host_header,
            authorization: authorization.map(str::to_string),
        })
    }

    /// The head of a POST of `length` octets of `content_type`: the request is this head
    /// followed by the body.
    pub fn head(&self, content_type: &str, length: usize) -> anyhow::Result<Vec<u8>> {
        HeaderValue::from_str(content_type)?;
        let mut h = format!(
            "POST {} HTTP/1.1\r\ncontent-type: {content_type}\r\n",
            self.path
        );
        if let Some(a) = &self.authorization {
            h.push_str(&format!("authorization: {a}\r\n"));
        }
        h.push_str(&format!(
            "host: {}\r\ncontent-length: {length}\r\n\r\n",
            self.host_header
        ));
        Ok(h.into_bytes())
    }
}

/// How an exchange failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Transport,
}

/// One worker's connection, opened on first use and again after the server closed it.
pub struct Client {
    io: Io,
    timeout: Duration,
    /// One timer for every request of this client, set to a request's deadline and moved to a
    /// later request's only when it fires before that request's answer: a timer in the
    /// runtime's wheel per request (inserted, then removed at the answer) would cost more than
    /// the answers take to read.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The connection and what was read from it.
struct Io {
    target: Arc<Target>,
    conn: Option<TcpStream>,
    /// What was read from the connection; an answer is taken from its start.
    buf: Vec<u8>,
    /// Octets of `buf` the last answer took (dropped before the next exchange).
    used: usize,
    /// A chunked answer's body, put together.
    body: Vec<u8>,
}

/// The largest answer head and body taken (hyper's defaults are of this order).
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

impl Client {
    pub fn new(target: Arc<Target>, timeout: Duration) -> Client {
        Client {
            io: Io {
                target,
                conn: None,
                buf: Vec::with_capacity(4096),
                used: 0,
                body: Vec::new(),
            },
            timeout,
            timer: None,
        }
    }

    /// Sends `request` (a head from [`Target::head`] and its body); the HTTP status and the whole
    /// response body, within the timeout (which, as with PapClient, covers connecting too).
    pub async fn post(&mut self, request: &[u8]) -> Result<(u16, &[u8]), Failure> {
        let io = &mut self.io;
        io.buf.drain(..io.used);
        io.used = 0;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        let answer = {
            let mut exchange = std::pin::pin!(io.exchange(request));
            loop {
                tokio::select! {
                    biased;
                    a = &mut exchange => break Some(a),
                    () = timer.as_mut() => {
                        if tokio::time::Instant::now() >= deadline {
                            break None;
                        }
                        // Set for an earlier request: now for this one.
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        match answer {
            Some(Ok(answer)) => {
                let body = match answer.body {
                    Body::At(from, to) => &io.buf[from..to],
                    Body::Chunked => &io.body[..],
                };
                Ok((answer.status, body))
            }
            Some(Err(())) => {
                io.drop_conn();
                Err(Failure::Transport)
            }
            None => {
                // The answer may still come on it: never reuse a connection with one pending.
                io.drop_conn();
                Err(Failure::Timeout)
            }
        }
    }
}

impl Io {
    fn drop_conn(&mut self) {
        self.conn = None;
        self.buf.clear();
        self.used = 0;
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Answer, ()> {
        let mut reused = self.conn.is_some() && self.idle_and_open();
        if !reused {
            self.drop_conn();
            self.conn = Some(connect(&self.target).await?);
        }
        loop {
            let conn = self.conn.as_mut().ok_or(())?;
            match conn.write_all(request).await {
                Ok(()) => break,
                // Not sent, on a connection the server may have closed while it was idle: once
                // more on a new one.
                Err(_) if reused => {
                    self.drop_conn();
                    self.conn = Some(connect(&self.target).await?);
                    reused = false;
                }
                Err(_) => return Err(()),
            }
        }
        let answer = self.read_answer().await?;
        if !answer.keep {
            self.conn = None;
        }
        Ok(answer)
    }

    /// Whether the idle connection can take a request: nothing came on it since the last answer
    /// (an end, a reset or stray octets mean it cannot). Asks the socket only when the runtime
    /// saw it become readable; otherwise costs no system call.
    fn idle_and_open(&mut self) -> bool {
        let Some(conn) = &self.conn else {
            return false;
        };
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(conn.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Reads more of the answer into `buf`; false at the connection's end.
    async fn fill(&mut self) -> Result<bool, ()> {
        let conn = self.conn.as_mut().ok_or(())?;
        if self.buf.capacity() - self.buf.len() < 2048 {
            self.buf.reserve(8192);
        }
        let n = conn.read_buf(&mut self.buf).await.map_err(|_| ())?;
        Ok(n > 0)
    }

    async fn read_answer(&mut self) -> Result<Answer, ()> {
        loop {
            let head = loop {
                if let Some(head) = parse_head(&self.buf)? {
                    break head;
                }
                if self.buf.len() > MAX_HEAD || !self.fill().await? {
                    return Err(());
                }
            };
            if (100..200).contains(&head.status) {
                // Interim answer (100 Continue, 102, 103): the final one follows. 101 is a
                // protocol switch nobody asked for.
                if head.status == 101 {
                    return Err(());
                }
                self.buf.drain(..head.len);
                continue;
            }
            let keep = head.keep_alive;
            let from = head.len;
            let no_body = head.status == 204 || head.status == 304;
            return match head.framing {
                _ if no_body => {
                    self.used = from;
                    Ok(Answer::new(head.status, Body::At(from, from), keep))
                }
                Framing::Chunked => loop {
                    match dechunk(&self.buf[from..], &mut self.body)? {
                        Some(len) => {
                            self.used = from + len;
                            break Ok(Answer::new(head.status, Body::Chunked, keep));
                        }
                        None => {
                            if self.buf.len() - from > MAX_BODY + MAX_HEAD || !self.fill().await? {
                                return Err(());
                            }
                        }
                    }
                },
                Framing::Length(n) => {
                    if n > MAX_BODY {
                        return Err(());
                    }
                    while self.buf.len() < from + n {
                        if !self.fill().await? {
                            return Err(());
                        }
                    }
                    self.used = from + n;
                    Ok(Answer::new(head.status, Body::At(from, from + n), keep))
                }
                Framing::UntilClose => {
                    while self.fill().await? {
                        if self.buf.len() - from > MAX_BODY {
                            return Err(());
                        }
                    }
                    self.used = self.buf.len();
                    Ok(Answer::new(
                        head.status,
                        Body::At(from, self.buf.len()),
                        false,
                    ))
                }
            };
        }
    }
}

/// A whole answer: its status, where its body is, whether the connection takes another request.
struct Answer {
    status: u16,
    body: Body,
    keep: bool,
}

impl Answer {
    fn new(status: u16, body: Body, keep: bool) -> Answer {
        Answer { status, body, keep }
    }
}

enum Body {
    /// In the read buffer, from..to.
    At(usize, usize),
    /// Put together in `Client::body`.
    Chunked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

/// An answer's head: status line and the header fields that frame it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    status: u16,
    /// Octets up to and including the blank line.
    len: usize,
    framing: Framing,
    keep_alive: bool,
}

/// The head at the start of `buf`, once it is all there (`Ok(None)` until then). Lines end
/// with CRLF (a bare LF is taken too, as httparse does).
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut lines = Lines { buf, at: 0 };
    let Some(status_line) = lines.next() else {
        return Ok(None);
    };
    let (version, rest) = match status_line {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            v @ (b'0' | b'1'),
            b' ',
            rest @ ..,
        ] => (*v, rest),
        _ => return Err(()),
    };
    let status = match rest {
        [a, b, c, tail @ ..]
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && (tail.is_empty() || tail[0] == b' ') =>
        {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(()),
    };
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive = false;
    loop {
        let Some(line) = lines.next() else {
            return Ok(None);
        };
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|b| *b == b':').ok_or(())?;
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.is_empty() || name.iter().any(|b| !is_token(*b)) {
            return Err(());
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            // One value, or the same value repeated (in one field or several).
            for v in value.split(|b| *b == b',') {
                let v = trim(v);
                if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
                    return Err(());
                }
                let n = v.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                if length.is_some_and(|l| l != n) {
                    return Err(());
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
            // Chunked only when it is the last coding applied.
            chunked = value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|b| *b == b',') {
                let token = trim(token);
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let framing = if transfer_encoding {
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    let keep_alive = framing != Framing::UntilClose && !close && (version == b'1' || keep_alive);
    Ok(Some(Head {
        status,
        len: lines.at,
        framing,
        keep_alive,
    }))
}

/// A chunked body at the start of `buf`, decoded into `out`: the octets it took, once it is all
/// there with its trailer section (`Ok(None)` until then).
fn dechunk(buf: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, ()> {
    out.clear();
    let mut lines = Lines { buf, at: 0 };
    loop {
        let Some(size_line) = lines.next() else {
            return Ok(None);
        };
        // chunk-size [ chunk-ext ]
        let digits = size_line
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let rest = trim(&size_line[digits..]);
        if digits == 0 || digits > 15 || !(rest.is_empty() || rest[0] == b';') {
            return Err(());
        }
        let size = size_line[..digits].iter().fold(0usize, |n, d| {
            n * 16 + usize::from(char::from(*d).to_digit(16).unwrap_or(0) as u8)
        });
        if size == 0 {
            // The trailer section, up to its blank line.
            loop {
                match lines.next() {
                    None => return Ok(None),
                    Some([]) => return Ok(Some(lines.at)),
                    Some(_) => {}
                }
            }
        }
        if out.len() + size > MAX_BODY {
            return Err(());
        }
        let from = lines.at;
        let Some(data) = buf.get(from..from + size) else {
            return Ok(None);
        };
        out.extend_from_slice(data);
        lines.at = from + size;
        match lines.next() {
            None => return Ok(None),
            Some([]) => {}
            Some(_) => return Err(()),
        }
    }
}

/// Lines of `buf` from `at`, without their CRLF (or LF); a line not ended yet is not given.
struct Lines<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.at..)?;
        let nl = memchr::memchr(b'\n', rest)?;
        self.at += nl + 1;
        let line = &rest[..nl];
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// RFC 9110 tchar.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

async fn connect(t: &Target) -> Result<TcpStream, ()> {
    let addrs = tokio::net::lookup_host((t.host.as_str(), t.port))
        .await
        .map_err(|_| ())?;
    for a in addrs {
        if let Ok(s) = TcpStream::connect(a).await {
            let _ = s.set_nodelay(true);
            return Ok(s);
        }
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    use tokio::net::TcpListener;

    #[test]
    fn the_request_head_is_what_hyper_wrote() {
        let t = Target::new(
            "http://127.0.0.1:28180/wappush",
            Some("Basic YmVuY2g6YmVuY2g="),
        )
        .unwrap();
        let head = t
            .head(
                "multipart/related; boundary=ppgd-boundary-0; type=\"application/xml\"",
                476,
            )
            .unwrap();
        // As captured (strace) from the hyper-based client this one replaces.
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "POST /wappush HTTP/1.1\r\ncontent-type: multipart/related; boundary=ppgd-boundary-0; \
             type=\"application/xml\"\r\nauthorization: Basic YmVuY2g6YmVuY2g=\r\nhost: \
             127.0.0.1:28180\r\ncontent-length: 476\r\n\r\n"
        );
        let t = Target::new("http://example.org/a?b=c", None).unwrap();
        assert_eq!(
            String::from_utf8(t.head("text/plain", 0).unwrap()).unwrap(),
            "POST /a?b=c HTTP/1.1\r\ncontent-type: text/plain\r\nhost: example.org\r\ncontent-length: 0\r\n\r\n"
        );
        let t = Target::new("http://[::1]:80", None).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 80, "/"));
        assert!(Target::new("https://x/", None).is_err());
        assert!(t.head("a\nb", 1).is_err());
    }

    #[test]
    fn heads_frame_answers_as_rfc_9112_says() {
        let head = |s: &str| parse_head(s.as_bytes());
        let h = head("HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.status, h.framing, h.keep_alive, h.len),
            (202, Framing::Length(5), true, 44)
        );
        let h = head("HTTP/1.0 202 Accepted\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), false));
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 5, 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head("HTTP/1.0 200\nServer: Kannel\n\n").unwrap().unwrap();
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (200, Framing::UntilClose, false)
        );
        assert_eq!(
            head("HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n"),
            Ok(None)
        );
        assert_eq!(head("HTTP/1.1 20"), Ok(None));
        for bad in [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
        ] {
            assert_eq!(head(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies_are_put_together() {
        let mut out = Vec::new();
        let body = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        assert_eq!(dechunk(body, &mut out), Ok(Some(body.len() - 4)));
        assert_eq!(out, b"hello, world");
        for cut in 0..body.len() - 4 {
            assert_eq!(dechunk(&body[..cut], &mut out), Ok(None), "{cut}");
        }
        assert_eq!(
            dechunk(b"A\r\n0123456789\r\n0\r\n\r\n", &mut out),
            Ok(Some(20))
        );
        assert_eq!(out, b"0123456789");
        assert_eq!(dechunk(b"zz\r\n", &mut out), Err(()));
        assert_eq!(dechunk(b"3\r\nabcX\r\n", &mut out), Err(()));
    }

    /// A server that answers each request it reads (head and Content-Length body) with the
    /// next of `answers`, then closes when told to (`None`); what it read, request by request.
    async fn server(
        answers: Vec<Option<&'static str>>,
    ) -> (Arc<Target>, tokio::task::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/p", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut answers = answers.into_iter().peekable();
            'conns: while answers.peek().is_some() {
                let Ok((s, _)) = l.accept().await else { break };
                let mut s = BufReader::new(s);
                loop {
                    let mut req = String::new();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                            continue 'conns;
                        }
                        if let Some(v) = line.strip_prefix("content-length: ") {
                            length = v.trim().parse().unwrap();
                        }
                        req.push_str(&line);
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    s.read_exact(&mut body).await.unwrap();
                    req.push_str(&String::from_utf8(body).unwrap());
                    seen.push(req);
                    match answers.next() {
                        Some(Some(a)) => s.get_mut().write_all(a.as_bytes()).await.unwrap(),
                        Some(None) => continue 'conns,
                        None => break 'conns,
                    }
                    if a_close(&seen) {
                        continue 'conns;
                    }
                }
            }
            seen
        });
        (Arc::new(Target::new(&url, None).unwrap()), task)
    }

    /// The test server closes after answers that say so (the last request's marker).
    fn a_close(seen: &[String]) -> bool {
        seen.last().is_some_and(|r| r.ends_with("close"))
    }

    fn request(t: &Target, body: &str) -> Vec<u8> {
        let mut r = t.head("text/plain", body.len()).unwrap();
        r.extend_from_slice(body.as_bytes());
        r
    }

    #[tokio::test]
    async fn answers_of_every_framing_and_connections_reused_when_they_can_be() {
        let (t, server) = server(vec![
            Some("HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok"),
            Some("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"),
            Some("HTTP/1.0 202 Accepted\r\nContent-Length: 3\r\n\r\nold"),
            Some("HTTP/1.0 202 Accepted\r\n\r\nuntil the end"),
            Some("HTTP/1.1 204 No Content\r\n\r\n"),
        ])
        .await;
        let mut c = Client::new(t.clone(), Duration::from_secs(5));
        assert_eq!(c.post(&request(&t, "1")).await, Ok((202, &b"ok"[..])));
        assert_eq!(c.post(&request(&t, "2")).await, Ok((200, &b"abc"[..])));
        // HTTP/1.0 without keep-alive: the connection ends with the answer.
        assert_eq!(c.post(&request(&t, "3close")).await, Ok((202, &b"old"[..])));
        assert!(c.io.conn.is_none());
        assert_eq!(
            c.post(&request(&t, "4close")).await,
            Ok((202, &b"until the end"[..]))
        );
        assert_eq!(c.post(&request(&t, "5")).await, Ok((204, &b""[..])));
        drop(c);
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 5);
        assert!(
            seen[0].starts_with("POST /p HTTP/1.1\r\ncontent-type: text/plain\r\nhost: 127.0.0.1:"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0].ends_with("\r\ncontent-length: 1\r\n\r\n1"),
            "{}",
            seen[0]
        );
    }

    #[tokio::test]
    async fn a_request_after_an_idle_close_goes_on_a_new_connection() {
        // The server answers, then closes the (idle) connection; the next request must not be
        // lost on it. Then a request the server reads but never answers: a transport failure.
        let (t, server) = server(vec![
            Some("HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok"),
            Some("HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok"),
            None,
        ])
        .await;
        let mut c = Client::new(t.clone(), Duration::from_secs(5));
        assert_eq!(c.post(&request(&t, "1close")).await, Ok((202, &b"ok"[..])));
        // The close reaches the client while it is idle.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(c.post(&request(&t, "2")).await, Ok((202, &b"ok"[..])));
        assert_eq!(c.post(&request(&t, "3")).await, Err(Failure::Transport));
        drop(c);
        assert_eq!(server.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn each_request_has_the_whole_timeout() {
        // Answers after 0, 200 and 200 ms; the timeout is 300 ms: the timer set for the first
        // request fires during the second, whose own deadline has not passed.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let t =
            Arc::new(Target::new(&format!("http://{}/", l.local_addr().unwrap()), None).unwrap());
        let serve = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let mut s = BufReader::new(s);
            for delay in [0, 200, 200, 500] {
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    if s.read_line(&mut line).await.unwrap() == 0 {
                        return;
                    }
                }
                let mut body = [0u8; 1];
                s.read_exact(&mut body).await.unwrap();
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let a = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok";
                if s.get_mut().write_all(a).await.is_err() {
                    return;
                }
            }
        });
        let mut c = Client::new(t.clone(), Duration::from_millis(300));
        for _ in 0..3 {
            assert_eq!(c.post(&request(&t, "x")).await, Ok((202, &b"ok"[..])));
        }
        assert_eq!(c.post(&request(&t, "x")).await, Err(Failure::Timeout));
        serve.abort();
    }

    #[tokio::test]
    async fn no_answer_within_the_timeout_is_a_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let t =
            Arc::new(Target::new(&format!("http://{}/", l.local_addr().unwrap()), None).unwrap());
        let hold = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(s);
        });
        let mut c = Client::new(t.clone(), Duration::from_millis(200));
        assert_eq!(c.post(&request(&t, "x")).await, Err(Failure::Timeout));
        assert!(c.io.conn.is_none());
        hold.abort();
    }
}
