//! `ppgd bench` against the whole gateway in-process (built-in simulator with a record): a small
//! mixed run must come back with every push accepted, every (push, address) arrived complete
//! exactly once, and the summary fields filled. The long scenarios live in `proto-tests/load/`.

use std::time::Duration;

use ppgd::bench::{BenchArgs, ContentKind, bench};

use super::e2e::{PASS, TestGateway, USER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_mix_against_the_gateway_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.jsonl");
    let rec = record.clone();
    let t = TestGateway::start_with(move |cfg| cfg.sim.record = Some(rec)).await;
    let args = BenchArgs {
        url: t.url.clone(),
        username: Some(USER.into()),
        password: Some(PASS.into()),
        count: Some(60),
        concurrency: 8,
        rate: None,
        duration: None,
        content: ContentKind::Mix,
        addresses: 2,
        sim_record: Some(record),
        drain: Duration::from_secs(30),
        max_duplicates: Some(0),
        pap_version: "2.0".into(),
        timeout: Duration::from_secs(10),
        id_prefix: Some("bt0-".into()),
        quiet: true,
    };
    let r = bench(&args).await.expect("bench runs");
    assert_eq!((r.sent, r.accepted), (60, 60), "{}", r.render());
    assert_eq!(r.codes.get("1001"), Some(&60), "{:?}", r.codes);
    assert!(r.accepted_per_sec > 0.0);
    assert!(r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
    let a = r.arrivals.clone().expect("record checked");
    assert_eq!(
        (a.lost, a.duplicates, a.unaccepted_arrivals),
        (0, 0, 0),
        "{}",
        r.render()
    );
    // 20 pushes each of mms (1 segment), mms3 (3) and si (1), to 2 addresses each.
    assert_eq!(a.messages, 120);
    assert_eq!(a.segments, 2 * (20 + 3 * 20 + 20));
    assert!(a.segments_per_sec > 0.0);
    assert!(a.accept_to_submit.p50 > 0 && a.accept_to_submit.max >= a.accept_to_submit.p50);
    let line = r.line();
    for key in [
        "accepted_per_s=",
        "p99_ms=",
        "segments_per_s=",
        "lost=0",
        "duplicates=0",
    ] {
        assert!(line.contains(key), "{key} not in {line}");
    }
}
