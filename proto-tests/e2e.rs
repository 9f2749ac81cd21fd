//! End-to-end: the whole gateway in-process (PAP over real HTTP, SMPP over real TCP to the
//! built-in simulator), every PAP message type and every error path of issue 4.
//!
//! Waits are bounded polls on an observable condition (never a fixed sleep).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use ppgd::app::Gateway;
use ppgd::client::{PushArgs, basic_auth, build_request};
use ppgd::config::Config;
use ppgd::notify::{PapClient, PapReply};
use ppgd::pap::{PapDocument, PapMessage};
use ppgd::sim::SimMessage;
use ppgd::wsp::PushPdu;

pub const USER: &str = "mmsc";
pub const PASS: &str = "secret";

/// A test config: everything on loopback port 0, the simulator in-process, a temp store.
pub fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::from_toml(&format!(
        r#"
[pap]
listen = "127.0.0.1:0"
body_limit = 65536
[[pap.pi]]
name = "mmsc"
username = "{USER}"
password = "{PASS}"
allow_ips = ["127.0.0.0/8"]
allow_prefixes = ["+49", "+358", "+447700"]
[store]
path = "{}"
queue_limit = 1000
[[smsc]]
name = "sim"
port = 0
system_id = "wapgw"
password = "secret"
sessions = 2
window = 20
source_addr = "12345"
max_segments = 4
[dispatch]
poll = "50ms"
retry_min = "200ms"
[metrics]
listen = "127.0.0.1:0"
[sim]
enabled = true
listen = "127.0.0.1:0"
system_id = "wapgw"
password = "secret"
receipts = "100ms"
"#,
        dir.display()
    ))
    .expect("test config");
    cfg.notify.retry_min = Duration::from_millis(200);
    cfg
}

pub struct TestGateway {
    pub gw: Gateway,
    pub url: String,
    pub client: PapClient,
    _dir: tempfile::TempDir,
}

impl TestGateway {
    pub async fn start() -> TestGateway {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        edit(&mut cfg);
        let gw = Gateway::start(cfg).await.expect("gateway starts");
        let url = format!("http://{}/wappush", gw.pap_addr);
        let t = TestGateway {
            gw,
            url,
            client: PapClient::new(Duration::from_secs(10)),
            _dir: dir,
        };
        // Ready once an SMPP session is bound (readyz).
        let ready = format!("http://{}/readyz", t.gw.metrics_addr.unwrap());
        wait_for("readyz", || async { get(&ready).await.0 == 200 }).await;
        t
    }

    pub fn args(&self) -> PushArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct W {
            #[command(flatten)]
            a: PushArgs,
        }
        let mut a = W::parse_from(["push"]).a;
        a.url = self.url.clone();
        a.username = Some(USER.into());
        a.password = Some(PASS.into());
        a
    }

    /// Sends what `ppgd push` would send for these arguments.
    pub async fn send(&self, args: &PushArgs) -> (PapReply, PapMessage) {
        let (ct, body) = build_request(args).unwrap();
        self.post(&ct, body).await
    }

    pub async fn post(&self, content_type: &str, body: Vec<u8>) -> (PapReply, PapMessage) {
        let reply = self
            .client
            .post(
                &self.url,
                content_type,
                Some(&basic_auth(USER, PASS)),
                Bytes::from(body),
            )
            .await
            .expect("POST");
        let doc = PapDocument::parse(&reply.body).unwrap_or_else(|e| {
            panic!(
                "answer is not PAP ({e}): {}",
                String::from_utf8_lossy(&reply.body)
            )
        });
        (reply, doc.message)
    }

    pub fn sim_messages(&self) -> Vec<SimMessage> {
        self.gw.sim.as_ref().unwrap().messages()
    }

    /// Waits until the simulator holds `n` complete messages.
    pub async fn wait_messages(&self, n: usize) -> Vec<SimMessage> {
        wait_for("simulator messages", || async {
            self.sim_messages().len() >= n
        })
        .await;
        self.sim_messages()
    }
}

/// Polls `cond` every 20 ms for at most 20 s.
pub async fn wait_for<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn get(url: &str) -> (u16, String) {
    let uri: hyper::Uri = url.parse().unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    match client.get(uri).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
        Err(_) => (0, String::new()),
    }
}

/// One HTTP/1.1 request line (no body) to `addr`; the whole answer as text.
async fn raw_http(addr: &str, request_line: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{request_line} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn push_code(m: &PapMessage) -> u16 {
    match m {
        PapMessage::PushResponse(r) => r.result.code.as_u16(),
        PapMessage::BadMessageResponse(r) => r.code.as_u16(),
        other => panic!("expected a push-response, got {other:?}"),
    }
}

fn desc(m: &PapMessage) -> String {
    match m {
        PapMessage::PushResponse(r) => r.result.desc.clone().unwrap_or_default(),
        PapMessage::BadMessageResponse(r) => r.desc.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mms_notification_reaches_the_smsc_byte_for_byte() {
    let t = TestGateway::start().await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into()];
    a.push_id = Some("e2e-mms-1".into());
    a.mms_location = Some("http://mmsc.example/m/e2e-mms-1".into());
    let (reply, msg) = t.send(&a).await;
    assert_eq!(reply.status, 202);
    assert_eq!(push_code(&msg), 1001, "{}", desc(&msg));
    let m = &t.wait_messages(1).await[0];
    assert_eq!(m.destination, "491701234567");
    let pdu = PushPdu::decode(&m.payload).unwrap();
    assert!(pdu.content_type.is("application/vnd.wap.mms-message"));
    // The PI's notification is passed through untouched.
    let (_, body) = build_request(&a).unwrap();
    let sent = ppgd::mms::NotificationInd::decode(&pdu.body).unwrap();
    assert_eq!(sent.content_location, "http://mmsc.example/m/e2e-mms-1");
    assert!(
        body.windows(pdu.body.len())
            .any(|w| w == pdu.body.as_slice()),
        "the WSP body is not the PI's bytes"
    );
    // Minimal headers: content type + application id mms.ua, nothing from HTTP.
    assert_eq!(pdu.headers.len(), 1, "{:?}", pdu.headers);
    assert_eq!(
        pdu.headers[0],
        ppgd::wsp::Header::ApplicationId(ppgd::wsp::AppId::Code(4))
    );
}

/// An SMSC that drops the connection after every answered submit_sm: a push leased while the
/// only session is reconnecting waits for it to be bound again instead of going back to the
/// store with a retry backoff. retry_min is 60 s here, so every push arriving within the 20 s of
/// `wait_for` shows that none sat out a backoff for a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_waits_for_a_dropped_session_not_for_a_retry_backoff() {
    let t = TestGateway::start_with(|c| {
        c.sim.drop_after = Some(1);
        c.smsc[0].sessions = 1;
        c.smsc[0].reconnect_min = Duration::from_millis(20);
        c.smsc[0].reconnect_max = Duration::from_millis(100);
        c.dispatch.retry_min = Duration::from_secs(60);
        c.dispatch.retry_max = Duration::from_secs(60);
    })
    .await;
    let n = 8;
    for i in 0..n {
        let mut a = t.args();
        a.to = vec!["+491701234567".into()];
        a.push_id = Some(format!("blip-{i}"));
        a.mms_location = Some(format!("http://mmsc.example/m/blip-{i}"));
        let (_, msg) = t.send(&a).await;
        assert_eq!(push_code(&msg), 1001, "{}", desc(&msg));
    }
    let arrived = || {
        let mut seen: Vec<String> = t
            .sim_messages()
            .iter()
            .filter_map(|m| PushPdu::decode(&m.payload).ok())
            .filter_map(|p| ppgd::mms::NotificationInd::decode(&p.body).ok())
            .map(|n| n.content_location)
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    wait_for("every push despite a drop after each submit", || async {
        arrived().len() == n
    })
    .await;
    assert!(
        t.gw.sim.as_ref().unwrap().stats().dropped_connections >= 1,
        "the simulator dropped no connection: the test tested nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_addresses_are_delivered_and_tracked_each() {
    let t = TestGateway::start().await;
    let mut a = t.args();
    a.to = vec![
        "+491700000001".into(),
        "+491700000002".into(),
        "+491700000003".into(),
    ];
    a.push_id = Some("e2e-multi".into());
    a.mms_location = Some("http://mmsc.example/m/multi".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    let msgs = t.wait_messages(3).await;
    let mut dests: Vec<_> = msgs.iter().map(|m| m.destination.clone()).collect();
    dests.sort();
    assert_eq!(dests, ["491700000001", "491700000002", "491700000003"]);
    let mut q = t.args();
    q.status = Some("e2e-multi".into());
    let results = loop {
        let (_, m) = t.send(&q).await;
        let PapMessage::StatusQueryResponse(r) = m else {
            panic!("{m:?}")
        };
        if r.results
            .iter()
            .all(|x| x.message_state == ppgd::store::MessageState::Delivered)
        {
            break r.results;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(results.len(), 3);
    // A status query for one address answers for that one only.
    q.to = vec!["WAPPUSH=+491700000002/TYPE=PLMN".into()];
    let (_, m) = t.send(&q).await;
    let PapMessage::StatusQueryResponse(r) = m else {
        panic!()
    };
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].addresses[0].value, "+491700000002");
}

/// The fast path: with free permits and no queue, the push is stored already leased and
/// submitted without a lease query (the poll is an hour, and the counters say which way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_free_capacity_is_stored_leased_and_submitted_at_once() {
    let t = TestGateway::start_with(|c| c.dispatch.poll = Duration::from_secs(3600)).await;
    let leased = |how: &str| t.gw.metrics.dispatch_leased.with_label_values(&[how]).get();
    // Until its first lease query answers, the dispatcher cannot know that the store holds no
    // queue from before (a restart), so a push that arrives first goes through the queue. One
    // such push first; once it is submitted, the queue is known empty.
    let mut a = t.args();
    a.to = vec!["+491700000009".into()];
    a.push_id = Some("fast-warm-up".into());
    a.mms_location = Some("http://mmsc.example/m/fast-warm-up".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    t.wait_messages(1).await;
    let before = (leased("insert"), leased("query"));
    for i in 0..3 {
        let mut a = t.args();
        a.to = vec!["+491700000001".into(), "+491700000002".into()];
        a.push_id = Some(format!("fast-{i}"));
        a.mms_location = Some(format!("http://mmsc.example/m/fast-{i}"));
        assert_eq!(push_code(&t.send(&a).await.1), 1001);
    }
    t.wait_messages(7).await;
    assert_eq!(
        (leased("insert") - before.0, leased("query") - before.1),
        (6, 0)
    );
}

/// More recipients than free permits: stored unleased and leased by the query, and while
/// they wait in the store (a backlog) a new push is not stored leased either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_beyond_free_capacity_goes_through_the_queue() {
    let t = TestGateway::start_with(|c| c.dispatch.concurrency = 2).await;
    let leased = |how: &str| t.gw.metrics.dispatch_leased.with_label_values(&[how]).get();
    let mut a = t.args();
    a.to = (1..=5).map(|i| format!("+49170000000{i}")).collect();
    a.push_id = Some("queued".into());
    a.mms_location = Some("http://mmsc.example/m/queued".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    t.wait_messages(5).await;
    assert_eq!((leased("insert"), leased("query")), (0, 5));
    // Once the queue is empty again (a lease query came back short), the fast path is back.
    for i in 0.. {
        assert!(i < 100, "the fast path never came back");
        let mut b = t.args();
        b.to = vec!["+491700000009".into()];
        b.push_id = Some(format!("after-{i}"));
        b.mms_location = Some(format!("http://mmsc.example/m/after-{i}"));
        assert_eq!(push_code(&t.send(&b).await.1), 1001);
        t.wait_messages(6 + i).await;
        if leased("insert") > 0 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn si_and_sl_are_compiled_to_wbxml() {
    let t = TestGateway::start().await;
    let mut si = t.args();
    si.to = vec!["+491701111111".into()];
    si.push_id = Some("e2e-si".into());
    si.si_href = Some("http://www.example.com/news".into());
    si.si_text = "Fresh news".into();
    si.si_action = Some("signal-high".into());
    assert_eq!(push_code(&t.send(&si).await.1), 1001);
    let mut sl = t.args();
    sl.to = vec!["+491702222222".into()];
    sl.push_id = Some("e2e-sl".into());
    sl.sl_href = Some("https://www.example.org/app".into());
    sl.sl_action = Some("execute-high".into());
    assert_eq!(push_code(&t.send(&sl).await.1), 1001);
    let msgs = t.wait_messages(2).await;
    for m in msgs {
        let pdu = PushPdu::decode(&m.payload).unwrap();
        let doc = ppgd::wbxml::decompile(&pdu.body).unwrap();
        match doc {
            ppgd::wbxml::Document::Si(s) => {
                assert!(pdu.content_type.is("application/vnd.wap.sic"));
                assert_eq!(s.href.as_deref(), Some("http://www.example.com/news"));
                assert_eq!(s.text, "Fresh news");
                assert_eq!(m.destination, "491701111111");
            }
            ppgd::wbxml::Document::Sl(s) => {
                assert!(pdu.content_type.is("application/vnd.wap.slc"));
                assert_eq!(s.href, "https://www.example.org/app");
                assert_eq!(m.destination, "491702222222");
            }
            other => panic!("{other:?}"),
        }
        // charset=utf-8 rides in the content type (digest §7 pitfall 3).
        assert_eq!(
            &pdu.content_type.encode()[..],
            &[0x03, pdu.content_type.encode()[1], 0x81, 0xEA]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_as_kannel_and_nowsms_send_them() {
    let t = TestGateway::start().await;
    for name in [
        "kannel-test-ppg.mime",
        "nowsms-lowercase.mime",
        "base64-content.mime",
    ] {
        let (ct, body) = super::pap::mime(name);
        let (reply, msg) = t.post(&ct, body).await;
        assert_eq!(reply.status, 202, "{name}");
        assert_eq!(push_code(&msg), 1001, "{name}: {}", desc(&msg));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_level_faults_get_http_statuses() {
    let t = TestGateway::start().await;
    let (ct, body) = build_request(&{
        let mut a = t.args();
        a.to = vec!["+491701234567".into()];
        a.mms_location = Some("http://mmsc.example/x".into());
        a
    })
    .unwrap();
    // No credentials: 401 with a Basic challenge.
    let r = t
        .client
        .post(&t.url, &ct, None, Bytes::from(body.clone()))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    // Wrong password.
    let r = t
        .client
        .post(
            &t.url,
            &ct,
            Some(&basic_auth(USER, "nope")),
            Bytes::from(body.clone()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    // Wrong path: 404.
    let wrong = t.url.replace("/wappush", "/other");
    let r = t
        .client
        .post(
            &wrong,
            &ct,
            Some(&basic_auth(USER, PASS)),
            Bytes::from(body.clone()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    // Wrong method: 405.
    assert_eq!(get(&t.url).await.0, 405);
    // What the router answered before the PAP listener was its own service, on the wire.
    let addr = t
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let r = raw_http(&addr, "GET /wappush").await;
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    assert!(r.contains("\r\nallow: POST\r\n"), "{r}");
    assert!(r.contains("\r\ncontent-length: 0\r\n"), "{r}");
    let r = raw_http(&addr, "HEAD /wappush").await;
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    assert!(r.contains("\r\nallow: POST\r\n"), "{r}");
    let r = raw_http(&addr, "GET /wappush/").await;
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    assert!(
        r.contains("\r\ncontent-type: text/plain; charset=utf-8\r\n"),
        "{r}"
    );
    assert!(r.contains("\r\ncontent-length: 21\r\n"), "{r}");
    assert!(r.ends_with("\r\n\r\nno PAP endpoint here\n"), "{r}");
    let r = raw_http(&addr, "HEAD /other").await;
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    assert!(r.contains("\r\ncontent-length: 21\r\n"), "{r}");
    assert!(r.ends_with("\r\n\r\n"), "no body for HEAD: {r}");
    // The query string is not part of the path.
    let r = raw_http(&addr, "GET /wappush?x=1").await;
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    // Too large: 413.
    let big = vec![b'x'; 70_000];
    let r = t
        .client
        .post(&t.url, &ct, Some(&basic_auth(USER, PASS)), Bytes::from(big))
        .await
        .unwrap();
    assert_eq!(r.status, 413);
}

/// (what, the request, expected PAP code, a word the desc must contain)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pap_errors_get_their_codes_and_a_useful_desc() {
    let t = TestGateway::start().await;
    let base = || {
        let mut a = t.args();
        a.to = vec!["+491701234567".into()];
        a.mms_location = Some("http://mmsc.example/x".into());
        a
    };
    // Accept one push to make a duplicate.
    let mut first = base();
    first.push_id = Some("dup".into());
    assert_eq!(push_code(&t.send(&first).await.1), 1001);

    let mut cases: Vec<(&str, PushArgs, u16, &str)> = Vec::new();
    cases.push(("duplicate push-id", first.clone(), 2007, "already in use"));
    let mut a = base();
    a.to = vec!["+441701234567".into()];
    cases.push(("destination not allowed", a, 2001, "may not push"));
    let mut a = base();
    a.to = vec!["WAPPUSH=someone%40example.com/TYPE=USER@ppg.example".into()];
    cases.push(("USER address", a, 2002, "TYPE=PLMN"));
    let mut a = base();
    a.deliver_before = Some("2001-01-01T00:00:00Z".into());
    cases.push(("deliver-before already past", a, 2001, "already past"));
    let mut a = base();
    a.mms_location = None;
    a.si_href = Some("http://www.example.com/".into());
    a.si_action = Some("signal-high".into());
    a.file = None;
    cases.push(("control case: SI is fine", a, 1001, "accepted"));
    let mut a = base();
    a.mms_location = Some(format!("http://mmsc.example/{}", "x".repeat(600)));
    cases.push((
        "more segments than the SMSC allows",
        a,
        3006,
        "allows at most 4",
    ));
    for (what, args, code, word) in cases {
        let (reply, msg) = t.send(&args).await;
        assert_eq!(reply.status, 202, "{what}");
        assert_eq!(push_code(&msg), code, "{what}: {}", desc(&msg));
        assert!(desc(&msg).contains(word), "{what}: {}", desc(&msg));
    }

    // Raw documents: malformed XML → badmessage-response 2000 quoting the fragment.
    let (reply, msg) = t
        .post(
            "application/xml",
            b"<?xml version=\"1.0\"?><pap><statusquery-message push-id=\"x\"><oops/></pap>"
                .to_vec(),
        )
        .await;
    assert_eq!(reply.status, 202);
    let PapMessage::BadMessageResponse(b) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(b.code.as_u16(), 2000);
    assert!(b.bad_message_fragment.is_some(), "{b:?}");
    // Not multipart, not XML.
    let (_, msg) = t.post("text/plain", b"hello".to_vec()).await;
    assert_eq!(push_code(&msg), 2000);
    // An invalid MMS notification: the violations are listed.
    let (ct, body) = ppgd::pap::write_push_submission(
        &control_doc("bad-mms"),
        &[("Content-Type", "application/vnd.wap.mms-message")],
        &[0x8C, 0x82, 0x98, b'a', 0x00, 0x8D, 0x92],
    );
    let (_, msg) = t.post(&ct, body).await;
    assert_eq!(push_code(&msg), 2000, "{}", desc(&msg));
    assert!(desc(&msg).contains("Content-Location"), "{}", desc(&msg));
    // WML needs a compiler we do not have.
    let (ct, body) = ppgd::pap::write_push_submission(
        &control_doc("wml"),
        &[("Content-Type", "text/vnd.wap.wml")],
        b"<wml/>",
    );
    assert_eq!(push_code(&t.post(&ct, body).await.1), 3006);
    // Unknown push-id in statusquery and cancel: 2004.
    let mut q = t.args();
    q.status = Some("never-sent".into());
    let (_, m) = t.send(&q).await;
    let PapMessage::StatusQueryResponse(r) = m else {
        panic!()
    };
    assert_eq!(r.results[0].code.as_u16(), 2004);
    let mut c = t.args();
    c.cancel = Some("never-sent".into());
    let (_, m) = t.send(&c).await;
    let PapMessage::CancelResponse(r) = m else {
        panic!()
    };
    assert_eq!(r.results[0].code.as_u16(), 2004);
    // ccq: no capability database.
    let ccq = PapDocument {
        version: ppgd::pap::PapVersion::V2_0,
        supported_versions: None,
        product_name: None,
        message: PapMessage::Ccq(ppgd::pap::CcqMessage {
            query_id: "q1".into(),
            app_id: None,
            address: ppgd::pap::Address::plmn("+491701234567", None),
        }),
    };
    let (_, m) = t.post("application/xml", ccq.to_xml().into_bytes()).await;
    let PapMessage::CcqResponse(r) = m else {
        panic!("{m:?}")
    };
    assert_eq!(r.code.as_u16(), 3004);
}

fn control_doc(push_id: &str) -> PapDocument {
    PapDocument {
        version: ppgd::pap::PapVersion::V2_0,
        supported_versions: None,
        product_name: None,
        message: PapMessage::Push(ppgd::pap::PushMessage {
            push_id: push_id.into(),
            deliver_before: None,
            deliver_after: None,
            source_reference: None,
            ppg_notify_requested_to: None,
            progress_notes_requested: None,
            replace_push_id: None,
            replace_method: None,
            addresses: vec![ppgd::pap::Address::plmn("+491701234567", None)],
            qos: None,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_4001() {
    let t = TestGateway::start_unready(|c| {
        c.store.queue_limit = 2;
        // Nothing listens on port 1: no session binds, so the queue only fills.
        c.smsc[0].port = 1;
    })
    .await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into(), "+491701234568".into()];
    a.mms_location = Some("http://mmsc.example/q".into());
    a.push_id = Some("fill".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    a.push_id = Some("over".into());
    let (reply, msg) = t.send(&a).await;
    assert_eq!(reply.status, 503);
    assert_eq!(push_code(&msg), 4001);
    assert!(reply.body.len() > 10);
}

impl TestGateway {
    /// For configurations that never bind (no readyz wait).
    pub async fn start_unready(edit: impl FnOnce(&mut Config)) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        edit(&mut cfg);
        let gw = Gateway::start(cfg).await.expect("gateway starts");
        let url = format!("http://{}/wappush", gw.pap_addr);
        TestGateway {
            gw,
            url,
            client: PapClient::new(Duration::from_secs(10)),
            _dir: dir,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_deliver_after_and_status_says_cancelled() {
    let t = TestGateway::start().await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into(), "+491701234568".into()];
    a.push_id = Some("later".into());
    a.mms_location = Some("http://mmsc.example/later".into());
    a.deliver_after = Some(ppgd::util::UtcTime::now().plus_secs(3600).format_pap());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    // Cancel one address, then the rest.
    let mut c = t.args();
    c.cancel = Some("later".into());
    c.to = vec!["WAPPUSH=+491701234567/TYPE=PLMN".into()];
    let (_, m) = t.send(&c).await;
    let PapMessage::CancelResponse(r) = m else {
        panic!("{m:?}")
    };
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].code.as_u16(), 1000);
    c.to.clear();
    let (_, m) = t.send(&c).await;
    let PapMessage::CancelResponse(r) = m else {
        panic!()
    };
    let mut codes: Vec<u16> = r.results.iter().map(|x| x.code.as_u16()).collect();
    codes.sort();
    // The first address is already cancelled (final): 2008; the second is cancelled now.
    assert_eq!(codes, [1000, 2008]);
    let mut q = t.args();
    q.status = Some("later".into());
    let (_, m) = t.send(&q).await;
    let PapMessage::StatusQueryResponse(r) = m else {
        panic!()
    };
    assert!(
        r.results
            .iter()
            .all(|x| x.message_state == ppgd::store::MessageState::Cancelled)
    );
    assert!(t.sim_messages().is_empty());
}

type Notifications = std::sync::Arc<std::sync::Mutex<Vec<PapMessage>>>;

/// A PI's result-notification endpoint: records every notification, answers 1000.
async fn notification_sink() -> (String, Notifications) {
    let (app, got) = notification_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// The same endpoint over HTTPS with a certificate for "localhost" (`cert` and `key`, PEM).
async fn notification_sink_tls(cert: &str, key: &str) -> (String, Notifications) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (app, got) = notification_app();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.as_bytes().to_vec(),
        key.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "https://localhost:{}/notify",
        listener.local_addr().unwrap().port()
    );
    let server = axum_server::from_tcp_rustls(listener, config).unwrap();
    tokio::spawn(async move { server.serve(app.into_make_service()).await.unwrap() });
    (url, got)
}

fn notification_app() -> (axum::Router, Notifications) {
    use axum::routing::post;
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = got.clone();
    let app = axum::Router::new().route(
        "/notify",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let doc = PapDocument::parse(&body).expect("notification is PAP");
                let push_id = match &doc.message {
                    PapMessage::ResultNotification(n) => n.push_id.clone(),
                    other => panic!("{other:?}"),
                };
                store.lock().unwrap().push(doc.message);
                let answer = PapDocument {
                    version: doc.version,
                    supported_versions: None,
                    product_name: None,
                    message: PapMessage::ResultNotificationResponse(
                        ppgd::pap::ResultNotificationResponse {
                            push_id,
                            code: ppgd::pap::PapCode::Ok,
                            desc: None,
                            addresses: vec![],
                        },
                    ),
                };
                ([("content-type", "application/xml")], answer.to_xml())
            }
        }),
    );
    (app, got)
}

/// TLS both ways: the PI pushes over https:// to a PAP listener with `[pap] tls` (verified with
/// the CA it was given, as `ppgd push --ca` does), and the result notification goes back over
/// https:// to the PI, verified against `[notify] tls`. Without `[notify] tls` an https://
/// notification URL is refused by the client, naming the setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_result_notification_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let gw_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pi_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let file = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let gw_crt = file("gw.crt", gw_cert.cert.pem());
    let gw_key = file("gw.key", gw_cert.signing_key.serialize_pem());
    let pi_crt = file("pi.crt", pi_cert.cert.pem());
    let (notify_url, got) =
        notification_sink_tls(&pi_cert.cert.pem(), &pi_cert.signing_key.serialize_pem()).await;
    let mut t = TestGateway::start_with(|c| {
        c.pap.tls = Some(ppgd::config::TlsServerConfig {
            cert: gw_crt.clone(),
            key: gw_key,
        });
        c.notify.tls = Some(ppgd::config::TlsClientConfig {
            ca: pi_crt,
            server_name: None,
        });
    })
    .await;
    t.url = format!("https://localhost:{}/wappush", t.gw.pap_addr.port());
    t.client = PapClient::with_tls(
        Duration::from_secs(10),
        Some(&ppgd::config::TlsClientConfig {
            ca: gw_crt,
            server_name: None,
        }),
    )
    .unwrap();
    let mut a = t.args();
    a.to = vec!["+491701234567".into()];
    a.push_id = Some("tls-1".into());
    a.mms_location = Some("http://mmsc.example/m/tls-1".into());
    a.confirmed = true;
    a.notify_to = Some(notify_url.clone());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    wait_for("result notification over https", || async {
        !got.lock().unwrap().is_empty()
    })
    .await;
    let PapMessage::ResultNotification(n) = got.lock().unwrap()[0].clone() else {
        panic!()
    };
    assert_eq!((n.push_id.as_str(), n.code.as_u16()), ("tls-1", 1000));
    let err = PapClient::new(Duration::from_secs(5))
        .post(&notify_url, "application/xml", None, Bytes::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("[notify] tls"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_delivery_ends_in_a_result_notification() {
    let t = TestGateway::start().await;
    let (url, got) = notification_sink().await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into()];
    a.push_id = Some("confirmed-1".into());
    a.mms_location = Some(format!("http://mmsc.example/{}", "long".repeat(40)));
    a.confirmed = true;
    a.notify_to = Some(url);
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    wait_for("result notification", || async {
        !got.lock().unwrap().is_empty()
    })
    .await;
    let n = got.lock().unwrap()[0].clone();
    let PapMessage::ResultNotification(n) = n else {
        panic!()
    };
    assert_eq!(n.push_id, "confirmed-1");
    assert_eq!(n.message_state, ppgd::store::MessageState::Delivered);
    assert_eq!(n.code.as_u16(), 1000);
    assert!(n.event_time.is_some());
    // It needed two segments, each with its own receipt.
    assert_eq!(t.sim_messages()[0].segments, 2);
    // The sink has answered; ppgd counts the notification once it has read that answer and
    // recorded it, a moment later.
    wait_for("the acknowledged notification counted", || async {
        t.gw.metrics
            .render()
            .contains("ppgd_notifications_total{outcome=\"acknowledged\"} 1")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_from_a_running_gateway_pass_promtool() {
    let t = TestGateway::start().await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into()];
    a.mms_location = Some("http://mmsc.example/m".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);
    t.wait_messages(1).await;
    let (status, text) = get(&format!("http://{}/metrics", t.gw.metrics_addr.unwrap())).await;
    assert_eq!(status, 200);
    for name in [
        "ppgd_pap_requests_total{message=\"push-message\"} 1",
        "ppgd_pushes_accepted_total 1",
        "ppgd_smpp_session_bound{session=\"0\",smsc=\"sim\"} 1",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(
        get(&format!("http://{}/healthz", t.gw.metrics_addr.unwrap()))
            .await
            .0,
        200
    );
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && said.trim().is_empty(),
                "promtool: {said}"
            );
        }
        Err(_) if std::env::var("REQUIRE_TEST_TOOLS").as_deref() != Ok("1") => {
            eprintln!("promtool not installed: /metrics not checked by promtool");
        }
        Err(e) => panic!("promtool required (REQUIRE_TEST_TOOLS=1) but: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reload_swaps_pi_accounts_and_names_what_needs_a_restart() {
    let t = TestGateway::start().await;
    let mut a = t.args();
    a.to = vec!["+491701234567".into()];
    a.mms_location = Some("http://mmsc.example/r".into());
    a.push_id = Some("before-reload".into());
    assert_eq!(push_code(&t.send(&a).await.1), 1001);

    let dir = tempfile::tempdir().unwrap();
    let mut new = config(dir.path());
    new.pap.pi[0].password = "rotated".into();
    new.smsc[0].window = 5;
    let restart = t.gw.reload(&new);
    // store.path differs (another temp dir) and the SMSC window changed: both need a restart.
    assert!(
        restart.contains(&"smsc") && restart.contains(&"store"),
        "{restart:?}"
    );
    assert!(!restart.contains(&"pap (listener)"), "{restart:?}");

    // The old password no longer works, the new one does; the SMPP sessions stayed up.
    let (ct, body) = build_request(&a).unwrap();
    let r = t
        .client
        .post(
            &t.url,
            &ct,
            Some(&basic_auth(USER, PASS)),
            Bytes::from(body.clone()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    a.push_id = Some("after-reload".into());
    let (ct, body) = build_request(&a).unwrap();
    let r = t
        .client
        .post(
            &t.url,
            &ct,
            Some(&basic_auth(USER, "rotated")),
            Bytes::from(body),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    t.wait_messages(2).await;
    assert_eq!(
        t.gw.sim.as_ref().unwrap().stats().binds,
        2,
        "sessions were rebound"
    );
}
