//! Criterion benchmarks of the pure codecs. Each codec has its own file.
//! Run: `cargo bench --bench codecs`.

use criterion::{criterion_group, criterion_main};

#[path = "bench_compile.rs"]
mod bench_compile;
#[path = "bench_pap.rs"]
mod bench_pap;
#[path = "bench_push.rs"]
mod bench_push;
#[path = "bench_sms.rs"]
mod bench_sms;
#[path = "bench_wbxml.rs"]
mod bench_wbxml;
#[path = "push_path.rs"]
mod push_path;

criterion_group!(
    benches,
    bench_compile::benches,
    bench_sms::benches,
    bench_pap::benches,
    bench_push::benches,
    bench_wbxml::benches
);
criterion_main!(benches);
