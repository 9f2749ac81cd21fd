//! The heart of the hot path: a PI's m-notification-ind → WSP Push PDU → SMS segments.
//! Goal (issue 2): encode + segment of a 180-byte notification under 1 µs on the 2-core machine.

use std::hint::black_box;

use criterion::Criterion;
use ppgd::compile::{CompileOptions, Content, compile};
use ppgd::mms::{FromAddress, NotificationInd, TimeValue};
use ppgd::sms::{Carriage, Ports, segment};
use ppgd::wsp::{AppId, ContentType, Header, PduType, PushPdu, Version};

/// An m-notification-ind of exactly 180 octets (the size the issue names).
pub fn notification_180() -> Vec<u8> {
    let mut location_len = 100;
    loop {
        let mut n = NotificationInd::new(
            "NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA",
            Version::new(1, 2),
            29_696,
            TimeValue::Relative(72_000),
            format!("http://mmsc.example/{}", "x".repeat(location_len)),
        );
        n.from = Some(FromAddress::Insert);
        let bytes = n.encode();
        match bytes.len().cmp(&180) {
            std::cmp::Ordering::Equal => return bytes,
            std::cmp::Ordering::Less => location_len += 180 - bytes.len(),
            std::cmp::Ordering::Greater => location_len -= bytes.len() - 180,
        }
    }
}

pub fn benches(c: &mut Criterion) {
    let notification = notification_180();
    assert_eq!(notification.len(), 180);
    let ct = ContentType::parse_mime("application/vnd.wap.mms-message").unwrap();
    c.bench_function(
        "compile/wsp_encode+segment_udh8 (180-octet m-notification-ind)",
        |b| {
            b.iter(|| {
                let pdu = PushPdu {
                    tid: 1,
                    pdu_type: PduType::Push,
                    content_type: ct.clone(),
                    headers: vec![Header::ApplicationId(AppId::Code(4))],
                    body: black_box(&notification).clone(),
                }
                .encode();
                black_box(segment(&pdu, Carriage::Udh8, 7, Ports::WSP_PUSH).unwrap())
            })
        },
    );
    let content = Content {
        content_type: "application/vnd.wap.mms-message",
        application_id: Some("x-wap-application:mms.ua"),
        headers: &[],
        body: &notification,
    };
    c.bench_function(
        "compile/validate+encode+segment_udh8 (what the gateway does per push)",
        |b| {
            b.iter(|| {
                let compiled = compile(black_box(&content), 1, &CompileOptions::default()).unwrap();
                black_box(segment(&compiled.wsp_pdu, Carriage::Udh8, 7, Ports::WSP_PUSH).unwrap())
            })
        },
    );
}
