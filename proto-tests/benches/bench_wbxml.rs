//! SI compile of a typical document: text/vnd.wap.si (as a PI POSTs it) → application/vnd.wap.sic,
//! and the decompile that `ppgd decode` and the tests use.

use criterion::Criterion;
use std::hint::black_box;

const SI: &[u8] = br#"<?xml version="1.0"?>
<!DOCTYPE si PUBLIC "-//WAPFORUM//DTD SI 1.0//EN" "http://www.wapforum.org/DTD/si.dtd">
<si>
  <indication href="http://www.example.com/news/today.wml" si-id="news-2026-11-25@example.com"
      action="signal-high" created="2026-11-25T04:15:00Z" si-expires="2026-11-26T04:15:00Z">
    Today's headlines: 3 new stories
  </indication>
</si>
"#;

pub fn benches(c: &mut Criterion) {
    c.bench_function("wbxml/si_compile", |b| {
        b.iter(|| ppgd::wbxml::si::compile(black_box(SI)).expect("valid SI"))
    });
    let wbxml = ppgd::wbxml::si::compile(SI).expect("valid SI");
    c.bench_function("wbxml/si_decompile", |b| {
        b.iter(|| ppgd::wbxml::decompile(black_box(&wbxml)).expect("valid SIC"))
    });
}
