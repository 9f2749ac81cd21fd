//! Throughput of the embedded store (SQLite, WAL, synchronous=FULL) on the real disk under
//! `target/` (not a tmpfs: the figures include the fsync).
//! Run: `cargo bench --bench store`.
//!
//! - insert_push/1: one caller, every insert waits for its own commit (fsync-bound).
//! - insert_push/256: 256 concurrent callers: group commit shares one fsync per batch.
//! - lease_submit: lease_due of 64 then record_submitted of each (concurrently), per recipient.
//! - status: a statusquery (read connection) while nothing writes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ppgd::metrics::Metrics;
use ppgd::store::sqlite::SqliteStore;
use ppgd::store::{PushStore, SubmittedSegment};
use ppgd::util::UtcTime;

#[path = "fixtures.rs"]
mod fixtures;
use fixtures::{NEXT_ID, new_push};

fn open(dir: &std::path::Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir, u64::MAX, 256, Metrics::new()).expect("open store"))
}

/// Inserts `count` pushes from `callers` concurrent tasks; returns the elapsed time.
async fn insert_concurrently(store: &Arc<SqliteStore>, count: u64, callers: u64) -> Duration {
    let now = UtcTime(1_790_000_000);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let s = store.clone();
        let mine = count / callers + u64::from(c < count % callers);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                s.insert_push(new_push(now)).await.expect("insert");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

fn store_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");

    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));

    for callers in [1u64, 256] {
        let store = open(&tmp.path().join(format!("insert-{callers}")));
        g.bench_function(format!("insert_push/{callers}"), |b| {
            b.iter_custom(|iters| rt.block_on(insert_concurrently(&store, iters, callers)))
        });
    }

    let store = open(&tmp.path().join("lease"));
    g.bench_function("lease_submit", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                insert_concurrently(&store, iters, 256).await;
                let now = UtcTime(1_790_000_000);
                let start = Instant::now();
                let mut done = 0;
                while done < iters {
                    let jobs = store
                        .lease_due(now, 64, now.plus_secs(30))
                        .await
                        .expect("lease");
                    assert!(!jobs.is_empty(), "queue ran dry");
                    let mut tasks = Vec::new();
                    for j in jobs {
                        let s = store.clone();
                        tasks.push(tokio::spawn(async move {
                            let seg = vec![SubmittedSegment {
                                seqnum: 1,
                                message_id: format!("m{}", j.recipient_id),
                            }];
                            s.record_submitted(j.recipient_id, "smsc1", seg, false, now)
                                .await
                                .expect("submitted");
                        }));
                    }
                    for t in tasks {
                        t.await.expect("task");
                        done += 1;
                    }
                }
                start.elapsed()
            })
        })
    });

    let store = open(&tmp.path().join("status"));
    rt.block_on(insert_concurrently(&store, 10_000, 256));
    let probe = format!(
        "bench-{}@ppg.example",
        NEXT_ID.load(Ordering::Relaxed) - 5_000
    );
    g.bench_function("status", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let st = store.status(&probe, &[]).await.expect("status");
                    assert!(st.is_some());
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, store_benches);
criterion_main!(benches);
