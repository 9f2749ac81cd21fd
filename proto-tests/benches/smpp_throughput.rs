//! submit_sm throughput pool → simulator over loopback (issue 3): a zero-latency simulator, and
//! one answering after 20 ms with 4 sessions × window 50, whose window-bound rate is
//! 4 × 50 / 0.02 s = 10,000/s (goal ≥ 90 %).
//!
//! cargo bench --bench smpp_throughput

use std::time::{Duration, Instant};

use bytes::Bytes;
use ppgd::config::{SimConfig, SmscConfig};
use ppgd::metrics::Metrics;
use ppgd::sim::Simulator;
use ppgd::smpp::{OutboundMessage, Pool, SubmitOutcome};
use ppgd::sms::Segment;

async fn run(latency: Duration, sessions: usize, window: usize, n: usize) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sim = Simulator::start(
        SimConfig {
            latency,
            window: 10_000,
            ..SimConfig::default()
        },
        listener,
    );
    let cfg = SmscConfig {
        name: "sim".into(),
        port: sim.local_addr().port(),
        system_id: "wapgw".into(),
        password: "secret".into(),
        source_addr: "1234".into(),
        sessions,
        window,
        ..SmscConfig::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let pool = Pool::start(&[cfg], &[], Metrics::new(), tx);
    pool.wait_bound(sessions).await;
    let seg = Segment {
        user_data: Bytes::from(
            [
                &[
                    0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x01, 0x01, 0x01,
                ][..],
                &[0x42; 128][..],
            ]
            .concat(),
        ),
        udhi: true,
        in_message_payload: false,
        sar: None,
        ports_tlv: None,
    };
    // Enough submitters in flight to keep every window full.
    let concurrency = (sessions * window * 2).max(64);
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let per = n / concurrency;
    for c in 0..concurrency {
        let pool = pool.clone();
        let seg = seg.clone();
        set.spawn(async move {
            for i in 0..per {
                let m = OutboundMessage {
                    destination: format!("49{c:04}{i:06}"),
                    segments: vec![seg.clone()],
                    receipt: false,
                    validity: None,
                    deadline: Instant::now() + Duration::from_secs(60),
                };
                match pool.submit("sim", m).await {
                    SubmitOutcome::Accepted { .. } => {}
                    other => panic!("{other:?}"),
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let rate = (per * concurrency) as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(sim.stats().submits as usize, per * concurrency);
    pool.shutdown(Duration::from_secs(5)).await;
    sim.shutdown();
    rate
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("nproc={nproc}");
    for (label, latency, sessions, window, n) in [
        (
            "zero latency, 1 session x window 50",
            Duration::ZERO,
            1,
            50,
            100_000,
        ),
        (
            "zero latency, 4 sessions x window 50",
            Duration::ZERO,
            4,
            50,
            100_000,
        ),
        (
            "20 ms latency, 4 sessions x window 50",
            Duration::from_millis(20),
            4,
            50,
            50_000,
        ),
    ] {
        let rate = rt.block_on(run(latency, sessions, window, n));
        let bound = if latency.is_zero() {
            f64::NAN
        } else {
            (sessions * window) as f64 / latency.as_secs_f64()
        };
        if bound.is_nan() {
            println!("{label}: {rate:.0} submit_sm/s");
        } else {
            println!(
                "{label}: {rate:.0} submit_sm/s ({:.1}% of the window-bound {bound:.0}/s)",
                100.0 * rate / bound
            );
        }
    }
}
