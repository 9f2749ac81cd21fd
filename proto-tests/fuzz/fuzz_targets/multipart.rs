#![no_main]
//! multipart/related splitter and push submission: never panic. The first input line is the
//! boundary, the rest the body. Whatever splits is written again (with a fresh boundary) and
//! splits into the same headers and bodies.

use ppgd::pap::multipart::{self, MAX_PARTS, OwnedPart};
use ppgd::pap::{PapRequest, PushSubmission};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let nl = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(boundary) = std::str::from_utf8(&data[..nl]) else {
        return;
    };
    let body = data.get(nl + 1..).unwrap_or(&[]);

    let ct = format!("multipart/related; boundary=\"{boundary}\"; type=\"application/xml\"");
    let _ = PushSubmission::parse(&ct, body).map(|s| s.content.body.len());
    let _ = PapRequest::parse(&ct, body).map(|_| ());
    let _ = PapRequest::parse("application/xml", body).map(|_| ());

    let Ok(m) = multipart::parse(body, boundary) else {
        return;
    };
    assert!(!m.parts.is_empty() && m.parts.len() <= MAX_PARTS);
    let total: usize =
        m.preamble.len() + m.epilogue.len() + m.parts.iter().map(|p| p.body.len()).sum::<usize>();
    assert!(total <= body.len());
    let owned: Vec<OwnedPart> = m
        .parts
        .iter()
        .map(|p| OwnedPart {
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: p.body.to_vec(),
        })
        .collect();
    let b2 = multipart::choose_boundary(&owned);
    let wire = multipart::write(&b2, &owned);
    let m2 = multipart::parse(&wire, &b2).expect("a written body splits");
    assert_eq!(m2.parts.len(), owned.len());
    for (got, want) in m2.parts.iter().zip(&owned) {
        assert_eq!(got.body, &want.body[..]);
        let hs: Vec<(String, String)> = got
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(hs, want.headers);
        let _ = got.decoded_body();
    }
});
