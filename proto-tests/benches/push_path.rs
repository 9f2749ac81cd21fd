//! The pure per-push path of the PAP listener, as `ppgd serve` runs it for each request that
//! `ppgd bench --content mms` sends: parse the submission, compile the content to a WSP Push
//! PDU, write the push-response. Shared by the criterion bench (`bench_push.rs`) and the
//! callgrind driver (`push_cg.rs`), so both measure the same work.

use std::hint::black_box;

use ppgd::bench::{ContentKind, Payloads};
use ppgd::compile::{CompileOptions, Content, compile};
use ppgd::pap::{
    PapCode, PapDocument, PapMessage, PapRequest, PapVersion, PushResponse, PushSubmission,
    ResponseResult,
};
use ppgd::util::UtcTime;

/// The Content-Type and body of push 12345 as `ppgd bench --content mms --pap-version V` sends
/// it (one address).
pub fn mms_request(pap_version: &str) -> (String, Vec<u8>) {
    let p = Payloads::new(ContentKind::Mms, "b0123abcd-", 1, pap_version).expect("payloads");
    let (ct, body) = p.request(12_345);
    (ct.to_string(), body)
}

/// `PapRequest::parse`, as the listener calls it.
#[inline(never)]
pub fn parse<'a>(ct: &str, body: &'a [u8]) -> PushSubmission<'a> {
    match PapRequest::parse(black_box(ct), black_box(body)).expect("valid") {
        PapRequest::Push(s) => *s,
        PapRequest::Document(_) => panic!("not a push"),
    }
}

/// What the listener checks of each address before compiling (`address.msisdn()`).
#[inline(never)]
pub fn recipients(sub: &PushSubmission<'_>) -> usize {
    sub.push
        .addresses
        .iter()
        .map(|a| a.msisdn().expect("msisdn").len())
        .sum()
}

/// `compile::compile` with the entity headers the listener hands it.
#[inline(never)]
pub fn compile_content(sub: &PushSubmission<'_>) -> Vec<u8> {
    let entity_headers: Vec<(&str, &str)> = sub.content.headers.iter().collect();
    let content = Content {
        content_type: sub.content.content_type,
        application_id: sub.content.application_id,
        headers: &entity_headers,
        body: &sub.content.body,
    };
    compile(black_box(&content), 7, &CompileOptions::default())
        .expect("compiles")
        .wsp_pdu
}

/// The 1001 push-response `pap_reply` writes for an accepted push (fixed reply-time).
#[inline(never)]
pub fn push_response(version: PapVersion, push_id: &str) -> String {
    let doc = PapDocument {
        version,
        supported_versions: None,
        product_name: Some("ppgd/0.1.0".to_string()),
        message: PapMessage::PushResponse(PushResponse {
            push_id: push_id.to_string(),
            sender_address: Some("http://127.0.0.1:8080/wappush".to_string()),
            sender_name: Some("ppgd/0.1.0".to_string()),
            reply_time: Some(UtcTime(1_790_000_000)),
            progress_notes: Vec::new(),
            result: ResponseResult {
                code: PapCode::Accepted,
                desc: Some(format!("accepted for delivery to {} address(es)", 1)),
            },
        }),
    };
    black_box(&doc).to_xml()
}

/// One whole push: parse, recipients, compile, answer. Returns something to keep.
#[inline(never)]
pub fn one_push(ct: &str, body: &[u8]) -> usize {
    let sub = parse(ct, body);
    let n = recipients(&sub);
    let pdu = compile_content(&sub);
    let xml = push_response(sub.version, &sub.push.push_id);
    n + pdu.len() + xml.len()
}
