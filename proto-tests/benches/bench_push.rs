//! The pure per-push path (`push_path.rs`): PAP parse, compile, push-response, for the request
//! `ppgd bench --content mms` sends, PAP 1.0 (the Kannel comparison) and 2.0 (the default).

use std::hint::black_box;

use criterion::Criterion;

use crate::push_path;

pub fn benches(c: &mut Criterion) {
    for v in ["1.0", "2.0"] {
        let (ct, body) = push_path::mms_request(v);
        c.bench_function(
            &format!("push/parse+compile+answer (bench mms, PAP {v})"),
            |b| b.iter(|| black_box(push_path::one_push(&ct, &body))),
        );
    }
}
