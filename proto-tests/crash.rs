//! Durability under a crash: `ppgd serve` runs as a child process, is killed with SIGKILL while
//! pushes are coming in, and is started again on the same store. Every push it answered 1001
//! must reach the SMSC (the simulator, in this test process). Duplicates are allowed (delivery is
//! at-least-once) and counted.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ppgd::client::{basic_auth, build_request};
use ppgd::config::SimConfig;
use ppgd::notify::PapClient;
use ppgd::pap::{PapDocument, PapMessage};
use ppgd::sim::{SimHandle, Simulator};
use tokio::sync::Mutex;

use super::e2e::{PASS, USER, get, wait_for};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Instance {
    child: Child,
}

impl Instance {
    pub fn start(config: &std::path::Path, log: &std::path::Path) -> Instance {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ppgd"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ppgd starts");
        Instance { child }
    }
    pub fn kill9(&mut self) {
        // std's kill() is SIGKILL on Unix: no chance to flush or unbind.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// push-id → how many times its notification reached the simulator.
pub fn arrivals(sim: &SimHandle) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in sim.messages() {
        let pdu = ppgd::wsp::PushPdu::decode(&m.payload).expect("WSP push");
        let n = ppgd::mms::NotificationInd::decode(&pdu.body).expect("m-notification-ind");
        *seen.entry(n.transaction_id).or_insert(0) += 1;
    }
    seen
}

pub fn write_config(
    dir: &std::path::Path,
    pap_port: u16,
    metrics_port: u16,
    smsc_port: u16,
) -> std::path::PathBuf {
    let path = dir.join("ppgd.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[pap]
listen = "127.0.0.1:{pap_port}"
[[pap.pi]]
name = "mmsc"
username = "{USER}"
password = "{PASS}"
[store]
path = "{store}"
[[smsc]]
name = "sim"
port = {smsc_port}
system_id = "wapgw"
password = "secret"
sessions = 2
window = 20
reconnect_min = "100ms"
reconnect_max = "1s"
[dispatch]
poll = "100ms"
[metrics]
listen = "127.0.0.1:{metrics_port}"
"#,
            store = dir.join("store").display()
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_accepted_push() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(
        SimConfig {
            latency: Duration::from_millis(2),
            ..SimConfig::default()
        },
        listener,
    );
    let (pap_port, metrics_port) = (free_port(), free_port());
    let config = write_config(dir.path(), pap_port, metrics_port, sim.local_addr().port());
    let log = dir.path().join("ppgd.log");
    let ready = format!("http://127.0.0.1:{metrics_port}/readyz");
    let url = format!("http://127.0.0.1:{pap_port}/wappush");

    let mut instance = Instance::start(&config, &log);
    wait_for("first start", || async { get(&ready).await.0 == 200 }).await;

    const TOTAL: usize = 600;
    const KILL_AFTER: usize = 200;
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let client = PapClient::new(Duration::from_secs(5));
    let auth = basic_auth(USER, PASS);

    // Eight PIs push until TOTAL. A request that gets no answer (the gateway is down) is sent
    // again, as a PI would, until the gateway is back: pushers that moved on instead could use
    // up every push-id while it restarts. The push-id stays the same, so a push stored just
    // before the kill is answered as a duplicate, not accepted twice.
    let pusher = |accepted: Arc<Mutex<HashSet<String>>>, next: Arc<AtomicUsize>| {
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        async move {
            let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= TOTAL {
                    return;
                }
                let push_id = format!("crash-{i}");
                let mut args = push_args(&url, &push_id);
                args.mms_location = Some(format!("http://mmsc.example/{push_id}"));
                let (ct, body) = build_request(&args).unwrap();
                let body = Bytes::from(body);
                let reply = loop {
                    match client.post(&url, &ct, Some(&auth), body.clone()).await {
                        Ok(reply) => break Some(reply),
                        Err(_) if tokio::time::Instant::now() < give_up => {
                            tokio::time::sleep(Duration::from_millis(20)).await
                        }
                        Err(_) => break None,
                    }
                };
                if let Some(reply) = reply
                    && let Ok(doc) = PapDocument::parse(&reply.body)
                    && let PapMessage::PushResponse(r) = doc.message
                    && r.result.code.as_u16() == 1001
                {
                    accepted.lock().await.insert(push_id);
                }
            }
        }
    };
    let mut workers = Vec::new();
    for _ in 0..8 {
        workers.push(tokio::spawn(pusher(accepted.clone(), next.clone())));
    }
    wait_for("pushes before the kill", || async {
        accepted.lock().await.len() >= KILL_AFTER
    })
    .await;
    instance.kill9();
    let at_kill = accepted.lock().await.len();
    // The pushers keep trying while the gateway is down (their requests fail), then it comes back.
    let mut instance = Instance::start(&config, &log);
    wait_for("restart", || async { get(&ready).await.0 == 200 }).await;
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("pushers finish")
            .unwrap();
    }
    let accepted = accepted.lock().await.clone();
    assert!(
        accepted.len() > at_kill,
        "no push accepted after the restart"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let seen = arrivals(&sim);
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|id| !seen.contains_key(*id))
            .collect();
        if missing.is_empty() || tokio::time::Instant::now() > deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        missing.is_empty(),
        "{} of {} accepted pushes never reached the SMSC, e.g. {:?}\nlog:\n{}",
        missing.len(),
        accepted.len(),
        &missing[..missing.len().min(5)],
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let seen = arrivals(&sim);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "crash test: {} accepted ({at_kill} before SIGKILL), all delivered, {duplicates} duplicate(s)",
        accepted.len()
    );
    // At-least-once: only what was in flight at the kill may come twice (at most one window per session).
    assert!(duplicates <= 2 * 20, "{duplicates} duplicates");
    instance.kill9();
}

pub fn push_args(url: &str, push_id: &str) -> ppgd::client::PushArgs {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct W {
        #[command(flatten)]
        a: ppgd::client::PushArgs,
    }
    let mut a = W::parse_from(["push"]).a;
    a.url = url.into();
    a.to = vec!["+491701234567".into()];
    a.push_id = Some(push_id.into());
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_unbinds_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // A slow SMSC, so that submissions are in flight when SIGTERM comes.
    let sim = Simulator::start(
        SimConfig {
            latency: Duration::from_millis(200),
            ..SimConfig::default()
        },
        listener,
    );
    let (pap_port, metrics_port) = (free_port(), free_port());
    let config = write_config(dir.path(), pap_port, metrics_port, sim.local_addr().port());
    let log = dir.path().join("ppgd.log");
    let ready = format!("http://127.0.0.1:{metrics_port}/readyz");
    let url = format!("http://127.0.0.1:{pap_port}/wappush");
    let mut instance = Instance::start(&config, &log);
    wait_for("start", || async { get(&ready).await.0 == 200 }).await;

    let client = PapClient::new(Duration::from_secs(5));
    let auth = basic_auth(USER, PASS);
    let mut accepted = Vec::new();
    for i in 0..60 {
        let push_id = format!("term-{i}");
        let mut args = push_args(&url, &push_id);
        args.mms_location = Some(format!("http://mmsc.example/{push_id}"));
        let (ct, body) = build_request(&args).unwrap();
        let reply = client
            .post(&url, &ct, Some(&auth), Bytes::from(body))
            .await
            .unwrap();
        assert_eq!(reply.status, 202);
        accepted.push(push_id);
    }
    let pid = instance.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let s = instance.child.wait();
        (instance, s)
    });
    let (instance, status) = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .expect("ppgd exits after SIGTERM")
        .unwrap();
    assert!(status.unwrap().success(), "exit status after SIGTERM");
    drop(instance);
    assert!(
        sim.stats().unbinds >= 2,
        "sessions unbound: {:?}",
        sim.stats()
    );
    // What was still queued is delivered by the next start.
    let _again = Instance::start(&config, &log);
    wait_for("every accepted push delivered", || async {
        let seen = arrivals(&sim);
        accepted.iter().all(|id| seen.contains_key(id))
    })
    .await;
    // A drain records the outcome of every submission the SMSC answered before the process
    // exits, so the next start submits none of them again: no duplicate after a clean stop
    // (at-least-once only allows them after a crash).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let twice: Vec<_> = arrivals(&sim).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(
        twice.is_empty(),
        "submitted twice across SIGTERM: {twice:?}"
    );
}
