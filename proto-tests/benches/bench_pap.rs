//! PAP: the whole parse of a typical ~1 KB push submission — multipart split, PAP XML parse,
//! address parse and MSISDN extraction — as the gateway does it for every request.

use std::hint::black_box;

use criterion::Criterion;
use ppgd::pap::PushSubmission;

/// A PAP 1.0 push-message with quality-of-service and notification request, and a 200-byte
/// binary m-notification-ind content entity: what an MMSC sends for one MMS.
pub fn typical_submission() -> (String, Vec<u8>) {
    let pap = concat!(
        "<?xml version=\"1.0\"?>\r\n",
        "<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 1.0//EN\" \"http://www.wapforum.org/DTD/pap_1.0.dtd\">\r\n",
        "<pap>\r\n",
        "<push-message push-id=\"mmsc-20261125-000001@mmsc.operator.example\" ",
        "deliver-before-timestamp=\"2026-11-26T04:00:00Z\" source-reference=\"mmsc-1\" ",
        "ppg-notify-requested-to=\"http://mmsc.operator.example:8080/pap/notify\" ",
        "progress-notes-requested=\"false\">\r\n",
        "<address address-value=\"WAPPUSH=+447700900123/TYPE=PLMN@ppg.operator.example\"/>\r\n",
        "<quality-of-service priority=\"medium\" delivery-method=\"unconfirmed\" network=\"GSM\" ",
        "network-required=\"true\" bearer=\"SMS\" bearer-required=\"true\"/>\r\n",
        "</push-message>\r\n",
        "</pap>\r\n",
    );
    let mut content = vec![0x8C, 0x82, 0x98];
    content.extend_from_slice(b"mmsc-20261125-000001\0");
    content.extend_from_slice(&[0x8D, 0x92, 0x89, 0x1A, 0x80]);
    content.extend_from_slice(b"+447700900999/TYPE=PLMN\0");
    content.extend_from_slice(&[0x96]);
    content.extend_from_slice(b"Holiday pictures\0");
    content.extend_from_slice(&[
        0x8A, 0x80, 0x8E, 0x03, 0x01, 0xE2, 0x40, 0x88, 0x05, 0x81, 0x03, 0x03, 0xF4, 0x80, 0x83,
    ]);
    content.extend_from_slice(
        b"http://mmsc.operator.example:8080/retrieve/mmsc-20261125-000001-abcdefghijklmnop\0",
    );
    while content.len() < 200 {
        content.push(0);
    }
    let mut body = Vec::new();
    body.extend_from_slice(b"--=_ppgd_bench_boundary\r\nContent-Type: application/xml\r\n\r\n");
    body.extend_from_slice(pap.as_bytes());
    body.extend_from_slice(
        b"\r\n--=_ppgd_bench_boundary\r\nContent-Type: application/vnd.wap.mms-message\r\n\
          X-Wap-Application-Id: x-wap-application:mms.ua\r\nContent-Transfer-Encoding: binary\r\n\r\n",
    );
    body.extend_from_slice(&content);
    body.extend_from_slice(b"\r\n--=_ppgd_bench_boundary--\r\n");
    (
        "multipart/related; boundary=\"=_ppgd_bench_boundary\"; type=\"application/xml\""
            .to_string(),
        body,
    )
}

pub fn benches(c: &mut Criterion) {
    let (ct, body) = typical_submission();
    c.bench_function(&format!("pap/parse_submission_{}B", body.len()), |b| {
        b.iter(|| {
            let s = PushSubmission::parse(black_box(&ct), black_box(&body)).expect("valid");
            let n: usize = s
                .push
                .addresses
                .iter()
                .map(|a| a.msisdn().map_or(0, |m| m.len()))
                .sum();
            black_box((n, s.content.body.len()))
        })
    });
}
