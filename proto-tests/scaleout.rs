//! Scale-out on PostgreSQL (issue 6): two `ppgd serve` child processes share one database and one
//! simulator (in this test process).
//!
//! Instance A binds as a transmitter, B as a transceiver, and the simulator routes the receipts
//! of A's submissions to any receiver session (`receipts_any_receiver`): every receipt of a
//! message A submitted reaches B, which must complete a push it neither accepted nor submitted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ppgd::client::{PushArgs, basic_auth, build_request};
use ppgd::config::SimConfig;
use ppgd::notify::PapClient;
use ppgd::pap::{PapDocument, PapMessage};
use ppgd::sim::Simulator;
use ppgd::store::MessageState;
use tokio::sync::Mutex;

use super::crash::{Instance, arrivals, free_port, push_args};
use super::e2e::{PASS, USER, get, wait_for};

struct Node {
    url: String,
    ready: String,
    config: PathBuf,
    log: PathBuf,
}

fn node(dir: &Path, name: &str, db_url: &str, smsc_port: u16, bind: &str) -> Node {
    let (pap_port, metrics_port) = (free_port(), free_port());
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"
[pap]
listen = "127.0.0.1:{pap_port}"
[[pap.pi]]
name = "mmsc"
username = "{USER}"
password = "{PASS}"
[store]
backend = "postgres"
url = "{db_url}"
lease = "2s"
[[smsc]]
name = "sim"
port = {smsc_port}
system_id = "wapgw"
password = "secret"
bind = "{bind}"
sessions = 2
window = 20
reconnect_min = "100ms"
reconnect_max = "1s"
[dispatch]
poll = "500ms"
[metrics]
listen = "127.0.0.1:{metrics_port}"
"#
        ),
    )
    .unwrap();
    Node {
        url: format!("http://127.0.0.1:{pap_port}/wappush"),
        ready: format!("http://127.0.0.1:{metrics_port}/readyz"),
        config,
        log: dir.join(format!("{name}.log")),
    }
}

async fn send(client: &PapClient, url: &str, args: &PushArgs) -> Option<PapMessage> {
    let (ct, body) = build_request(args).unwrap();
    let reply = client
        .post(url, &ct, Some(&basic_auth(USER, PASS)), Bytes::from(body))
        .await
        .ok()?;
    PapDocument::parse(&reply.body).ok().map(|d| d.message)
}

fn code(m: &PapMessage) -> u16 {
    match m {
        PapMessage::PushResponse(r) => r.result.code.as_u16(),
        PapMessage::BadMessageResponse(r) => r.code.as_u16(),
        other => panic!("expected a push-response, got {other:?}"),
    }
}

async fn states(client: &PapClient, url: &str, push_id: &str) -> Vec<MessageState> {
    let mut q = push_args(url, push_id);
    q.push_id = None;
    q.to.clear();
    q.status = Some(push_id.into());
    match send(client, url, &q).await {
        Some(PapMessage::StatusQueryResponse(r)) => {
            r.results.iter().map(|x| x.message_state).collect()
        }
        other => panic!("statusquery {push_id}: {other:?}"),
    }
}

fn logs(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_receipts_status_cancel_and_take_over_after_sigkill() {
    let Some(db) = super::pg::fresh_db().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(
        SimConfig {
            latency: Duration::from_millis(2),
            receipts: Some(Duration::from_millis(20)),
            receipts_any_receiver: true,
            ..SimConfig::default()
        },
        listener,
    );
    let smsc_port = sim.local_addr().port();
    let a = node(dir.path(), "a", &db, smsc_port, "transmitter");
    let b = node(dir.path(), "b", &db, smsc_port, "transceiver");
    let client = PapClient::new(Duration::from_secs(5));

    // 1. A alone: it accepts and submits confirmed pushes; their receipts wait in the simulator
    //    for a receiver session, which only B will have.
    let mut ia = Instance::start(&a.config, &a.log);
    wait_for("A ready", || async { get(&a.ready).await.0 == 200 }).await;
    let confirmed: Vec<String> = (0..5).map(|i| format!("conf-{i}")).collect();
    for id in &confirmed {
        let mut p = push_args(&a.url, id);
        p.mms_location = Some(format!("http://mmsc.example/{id}"));
        p.confirmed = true;
        let m = send(&client, &a.url, &p).await.expect("A answers");
        assert_eq!(code(&m), 1001, "{m:?}");
    }
    wait_for("A submitted every confirmed push", || async {
        confirmed
            .iter()
            .all(|id| arrivals(&sim).contains_key(id.as_str()))
    })
    .await;
    for id in &confirmed {
        assert_eq!(
            states(&client, &a.url, id).await,
            [MessageState::Pending],
            "no receipt can have reached A (transmitter)"
        );
    }

    // 2. B starts: it receives A's receipts, completes A's pushes, and answers for them.
    let mut ib = Instance::start(&b.config, &b.log);
    wait_for("B ready", || async { get(&b.ready).await.0 == 200 }).await;
    for id in &confirmed {
        let c = client.clone();
        let (url, pid) = (b.url.clone(), id.clone());
        wait_for("a receipt through B completes A's push", move || {
            let (c, url, id) = (c.clone(), url.clone(), pid.clone());
            async move { states(&c, &url, &id).await == [MessageState::Delivered] }
        })
        .await;
        // A sees the same state.
        assert_eq!(states(&client, &a.url, id).await, [MessageState::Delivered]);
    }

    // 3. A push-id accepted by B is refused by A (the UNIQUE constraint, across instances).
    let mut dup = push_args(&b.url, "shared-id");
    dup.mms_location = Some("http://mmsc.example/shared".into());
    assert_eq!(code(&send(&client, &b.url, &dup).await.unwrap()), 1001);
    let m = send(&client, &a.url, &dup).await.unwrap();
    assert_ne!(
        code(&m),
        1001,
        "duplicate push-id accepted by the other instance: {m:?}"
    );

    // 4. Cancel on the other instance: accepted by B (deliver-after in an hour), cancelled by A.
    let mut later = push_args(&b.url, "later");
    later.mms_location = Some("http://mmsc.example/later".into());
    later.deliver_after = Some(ppgd::util::UtcTime::now().plus_secs(3600).format_pap());
    assert_eq!(code(&send(&client, &b.url, &later).await.unwrap()), 1001);
    let mut c = push_args(&a.url, "later");
    c.push_id = None;
    c.to.clear();
    c.cancel = Some("later".into());
    match send(&client, &a.url, &c).await {
        Some(PapMessage::CancelResponse(r)) => {
            assert_eq!(r.results.len(), 1);
            assert_eq!(r.results[0].code.as_u16(), 1000);
        }
        other => panic!("cancel: {other:?}"),
    }
    assert_eq!(
        states(&client, &b.url, "later").await,
        [MessageState::Cancelled]
    );

    // 5. Load on both; A is killed with SIGKILL. Every push answered 1001 by either instance
    //    reaches the simulator: B takes over A's leases once they run out (lease = 2s).
    const TOTAL: usize = 400;
    const KILL_AFTER: usize = 120;
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        // Half the pushers start on A, half on B; like a load balancer, a request A cannot
        // answer (it is dead) is sent to B.
        let urls = if w % 2 == 0 {
            vec![a.url.clone(), b.url.clone()]
        } else {
            vec![b.url.clone()]
        };
        let (client, accepted, next) = (client.clone(), accepted.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= TOTAL {
                    return;
                }
                let push_id = format!("load-{i}");
                for url in &urls {
                    let mut p = push_args(url, &push_id);
                    p.mms_location = Some(format!("http://mmsc.example/{push_id}"));
                    match send(&client, url, &p).await {
                        Some(PapMessage::PushResponse(r)) => {
                            if r.result.code.as_u16() == 1001 {
                                accepted.lock().await.insert(push_id.clone());
                            }
                            break;
                        }
                        // No answer, or an answer that is not PAP: the next instance.
                        _ => continue,
                    }
                }
            }
        }));
    }
    wait_for("pushes before the kill", || async {
        accepted.lock().await.len() >= KILL_AFTER
    })
    .await;
    ia.kill9();
    let at_kill = accepted.lock().await.len();
    let unsent_at_kill = {
        let seen = arrivals(&sim);
        accepted
            .lock()
            .await
            .iter()
            .filter(|id| !seen.contains_key(*id))
            .count()
    };
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("pushers finish")
            .unwrap();
    }
    let accepted = accepted.lock().await.clone();
    assert!(accepted.len() > at_kill, "B accepted nothing after A died");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let seen = arrivals(&sim);
        let missing: Vec<String> = accepted
            .iter()
            .filter(|id| !seen.contains_key(*id))
            .cloned()
            .collect();
        if missing.is_empty() || tokio::time::Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        missing.is_empty(),
        "{} of {} accepted pushes never reached the SMSC, e.g. {:?}\nlogs:\n{}",
        missing.len(),
        accepted.len(),
        &missing[..missing.len().min(5)],
        logs(&[&a, &b])
    );
    let seen = arrivals(&sim);
    let duplicates: usize = accepted.iter().map(|id| seen[id] - 1).sum();
    eprintln!(
        "scale-out: {} accepted ({at_kill} before SIGKILL of A, {unsent_at_kill} of them not yet at the SMSC then), all delivered, {duplicates} duplicate(s)",
        accepted.len()
    );
    // At-least-once: only what A had in flight at the kill may come twice (its two windows).
    assert!(duplicates <= 2 * 20, "{duplicates} duplicates");
    ib.kill9();
}

/// `ppgd store migrate`, run by two processes at once on an empty database: both succeed (the
/// advisory lock serialises them) and the schema is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_migrate_from_two_processes_at_once() {
    let Some(db) = super::pg::fresh_db().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let n = node(dir.path(), "m", &db, free_port(), "transceiver");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ppgd"))
            .args(["store", "migrate", "--config"])
            .arg(&n.config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ppgd starts")
    };
    let known: Vec<i64> = ppgd::store::postgres::schema::MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .collect();
    let latest = *known.last().unwrap();
    let (first, second) = (run(), run());
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains(&format!("store schema at version {latest}")),
            "{err}"
        );
    }
    let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query("SELECT version FROM schema_version", &[])
        .await
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, known);
}
