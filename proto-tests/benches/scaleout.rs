//! Scale-out (issue 6): the same harness against the embedded SQLite store, one PostgreSQL
//! instance and two PostgreSQL instances sharing one database.
//! Run: `cargo bench --bench scaleout` (needs Debian's postgresql package; the bench starts its
//! own throwaway server with `fsync=on`, like the tests).
//!
//! An "instance" is one store object with its own connection pool, writer and LISTEN connection,
//! as one `ppgd serve` process has; two instances split the callers between them.
//!
//! - insert_push/256: 256 concurrent callers insert one-recipient pushes (what a PAP listener
//!   under load does; group commit shares one sync per batch).
//! - accept_dispatch: the queue's whole life per push: insert (256 callers), then every instance
//!   leases 64 at a time and records each one submitted (unconfirmed: final) until the queue is
//!   empty.

#[path = "../pg.rs"]
#[allow(dead_code)]
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ppgd::metrics::Metrics;
use ppgd::store::postgres::PgStore;
use ppgd::store::sqlite::SqliteStore;
use ppgd::store::{AnyStore, PushStore, SubmittedSegment};
use ppgd::util::UtcTime;

#[path = "fixtures.rs"]
mod fixtures;
use fixtures::new_push;

const NOW: UtcTime = UtcTime(1_790_000_000);

/// Inserts `count` pushes from 256 tasks spread over the instances.
async fn insert(instances: &[Arc<AnyStore>], count: u64) -> Duration {
    const CALLERS: u64 = 256;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CALLERS {
        let s = instances[c as usize % instances.len()].clone();
        let mine = count / CALLERS + u64::from(c < count % CALLERS);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                s.insert_push(new_push(NOW)).await.expect("insert");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

/// Every instance leases and records until the queue is empty; returns how many it did.
async fn drain(s: Arc<AnyStore>) -> u64 {
    let mut done = 0;
    loop {
        let jobs = s
            .lease_due(NOW, 64, NOW.plus_secs(30))
            .await
            .expect("lease");
        if jobs.is_empty() {
            return done;
        }
        let mut tasks = Vec::new();
        for j in jobs {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let seg = vec![SubmittedSegment {
                    seqnum: 1,
                    message_id: format!("m{}", j.recipient_id),
                }];
                s.record_submitted(j.recipient_id, "smsc1", seg, false, NOW)
                    .await
                    .expect("submitted");
            }));
        }
        for t in tasks {
            t.await.expect("task");
            done += 1;
        }
    }
}

async fn accept_dispatch(instances: &[Arc<AnyStore>], count: u64) -> Duration {
    let start = Instant::now();
    insert(instances, count).await;
    let drains: Vec<_> = instances
        .iter()
        .map(|s| tokio::spawn(drain(s.clone())))
        .collect();
    let mut done = 0;
    for d in drains {
        done += d.await.expect("drain");
    }
    assert!(done >= count, "drained {done} of {count}");
    start.elapsed()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");

    // (name, instances) for each setup; each benchmark gets fresh stores.
    let setups: Vec<(&str, usize)> = vec![("sqlite", 1), ("postgres-1", 1), ("postgres-2", 2)];
    let open = |name: &str, n: usize, tag: &str| -> Option<Vec<Arc<AnyStore>>> {
        if name == "sqlite" {
            let s = SqliteStore::open(&tmp.path().join(tag), u64::MAX, 256, Metrics::new())
                .expect("open sqlite");
            return Some(vec![Arc::new(AnyStore::Embedded(s))]);
        }
        rt.block_on(async {
            let url = pg::fresh_db().await?;
            let mut v = Vec::new();
            for _ in 0..n {
                let s = PgStore::connect(&url, None, u64::MAX, 256, Metrics::new())
                    .await
                    .expect("connect postgres");
                v.push(Arc::new(AnyStore::Postgres(s)));
            }
            Some(v)
        })
    };

    let mut g = c.benchmark_group("scaleout");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for (name, n) in &setups {
        let Some(instances) = open(name, *n, &format!("insert-{name}")) else {
            eprintln!("notice: PostgreSQL not installed: {name} skipped");
            continue;
        };
        g.bench_function(format!("insert_push/256/{name}"), |b| {
            b.iter_custom(|iters| rt.block_on(insert(&instances, iters)))
        });
        let Some(instances) = open(name, *n, &format!("cycle-{name}")) else {
            continue;
        };
        g.bench_function(format!("accept_dispatch/{name}"), |b| {
            b.iter_custom(|iters| rt.block_on(accept_dispatch(&instances, iters)))
        });
    }
    g.finish();
}

criterion_group!(scaleout, benches);
criterion_main!(scaleout);
