//! Callgrind driver for the pure per-push path (`push_path.rs`): runs N pushes of
//! `ppgd bench --content mms` (PAP 1.0 or 2.0) through parse, compile and push-response, so
//! instructions per push can be read off exactly (timing on the shared VM is noisy):
//!
//! ```sh
//! cargo bench --bench push_cg --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out target/release/deps/push_cg-* 2.0 10000
//! callgrind_annotate --inclusive=yes /tmp/cg.out | grep push_path
//! ```
//! Inclusive cost of `push_path::parse`, `compile_content`, `push_response`, divided by N.
//! Running with N = 0 gives the fixed cost (setup) to subtract from the total.

use std::hint::black_box;

mod push_path;

/// The allocator `ppgd serve` uses (src/main.rs), so allocation costs count as they do there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let version = args.next().unwrap_or_else(|| "2.0".into());
    let n: u64 = args.next().map_or(10_000, |s| s.parse().expect("a count"));
    let (ct, body) = push_path::mms_request(&version);
    if std::env::var_os("PUSH_CG_SHOW").is_some() {
        println!(
            "Content-Type: {ct}\n{}",
            String::from_utf8_lossy(&body).escape_debug()
        );
        let sub = push_path::parse(&ct, &body);
        println!(
            "{}",
            push_path::push_response(sub.version, &sub.push.push_id)
        );
    }
    let mut sum = 0usize;
    for _ in 0..n {
        sum = sum.wrapping_add(push_path::one_push(black_box(&ct), black_box(&body)));
    }
    println!("{n} pushes, PAP {version}, checksum {sum}");
}
