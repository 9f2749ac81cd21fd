//! MMS codec: annotated vectors both ways, the notification validator, property tests, and a
//! tshark cross-check of the mmse fields.

use crate::vectors;
use crate::wsp::tshark_fields;
use ppgd::decode::Dissection;
use ppgd::mms::*;
use ppgd::wsp::primitives::{EncodedString, Version};
use ppgd::wsp::{ContentType, Header, MultipartEntry, encode_multipart};
use proptest::prelude::*;

fn all_fields() -> NotificationInd {
    let mut n = NotificationInd::new(
        "tx-0001",
        Version::new(1, 3),
        123_456,
        TimeValue::Absolute(1_700_000_000),
        "http://mmsc.example/mms?id=0001",
    );
    n.from = Some(FromAddress::Present(EncodedString::plain(
        "+447700900123/TYPE=PLMN",
    )));
    n.subject = Some(EncodedString::utf8("Grüße"));
    n.delivery_report = Some(0x81);
    n.stored = Some(0x80);
    n.priority = Some(0x82);
    n.reply_charging = Some(0x80);
    n.reply_charging_deadline = Some(TimeValue::Relative(86400));
    n.reply_charging_size = Some(10000);
    n.reply_charging_id = Some("rc-1".into());
    n.distribution_indicator = Some(0x81);
    n.element_descriptor = Some(b"\x09ref.smil\0".to_vec());
    n.recommended_retrieval_mode = Some(0x80);
    n.recommended_retrieval_mode_text = Some(EncodedString::plain("tap to fetch"));
    n.applic_id = Some("com.example.app".into());
    n.reply_applic_id = Some("com.example.reply".into());
    n.aux_applic_info = Some("aux".into());
    n.content_class = Some(0x86);
    n.drm_content = Some(0x81);
    n.replace_id = Some("tx-0000".into());
    n.unknown = vec![RawField {
        code: 0x85,
        value: vec![0x04, 0x65, 0x53, 0xF1, 0x00],
    }];
    n
}

#[test]
fn notification_with_every_optional_field() {
    let bytes = vectors::load("mms/notification_all_fields.hex");
    let n = all_fields();
    assert_eq!(NotificationInd::decode(&bytes), Ok(n.clone()));
    assert_eq!(n.encode(), bytes);
    assert_eq!(validate_notification(&bytes), Ok(n));
    // The generic decoder types every field and re-encodes the same octets.
    let pdu = MmsPdu::decode(&bytes).unwrap();
    assert_eq!(pdu.headers.len(), 27);
    assert_eq!(pdu.body, None);
    assert_eq!(pdu.encode(), bytes);
}

#[test]
fn delivery_ind() {
    let bytes = vectors::load("mms/delivery_ind.hex");
    let d = DeliveryInd {
        version: Version::new(1, 2),
        message_id: "msgid-1".into(),
        to: EncodedString::plain("+447700900123/TYPE=PLMN"),
        date: 1_600_000_000,
        status: 0x81,
        unknown: vec![],
    };
    assert_eq!(DeliveryInd::decode(&bytes), Ok(d.clone()));
    assert_eq!(d.encode(), bytes);
    assert_eq!(
        NotificationInd::decode(&bytes),
        Err(MmsError::WrongMessageType {
            expected: 0x82,
            found: Some(0x86)
        })
    );
}

#[test]
fn notifyresp_ind() {
    let bytes = vectors::load("mms/notifyresp_ind.hex");
    let r = NotifyRespInd {
        transaction_id: "T1".into(),
        version: Version::new(1, 2),
        status: 0x81,
        report_allowed: Some(0x80),
        unknown: vec![],
    };
    assert_eq!(NotifyRespInd::decode(&bytes), Ok(r.clone()));
    assert_eq!(r.encode(), bytes);
}

fn retrieve_parts() -> Vec<MultipartEntry> {
    vec![
        MultipartEntry {
            content_type: ContentType::parse_mime("text/plain; charset=utf-8").unwrap(),
            headers: vec![Header::ContentLocation("a.txt".into())],
            data: b"Hello".to_vec(),
            offset: 0,
        },
        MultipartEntry {
            content_type: ContentType::parse_mime("image/gif").unwrap(),
            headers: vec![Header::ContentId("<g1>".into())],
            data: b"GIF89a".to_vec(),
            offset: 0,
        },
    ]
}

#[test]
fn retrieve_conf_multipart_body() {
    let bytes = vectors::load("mms/retrieve_conf_multipart.hex");
    let pdu = MmsPdu::decode(&bytes).unwrap();
    assert_eq!(pdu.message_type(), Some(0x84));
    assert_eq!(
        pdu.get(0x89),
        Some(&FieldValue::From(FromAddress::Present(
            EncodedString::plain("+12345/TYPE=PLMN")
        )))
    );
    let parts: Vec<MultipartEntry> = pdu
        .parts()
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|p| MultipartEntry { offset: 0, ..p })
        .collect();
    assert_eq!(parts, retrieve_parts());
    // Encode: the same header fields, then the multipart body built by encode_multipart.
    let mut body = Vec::new();
    encode_multipart(&retrieve_parts(), &mut body);
    assert_eq!(pdu.body.as_deref(), Some(&body[..]));
    assert_eq!(pdu.encode(), bytes);
    let mut d = Dissection::new();
    dissect(&bytes, &mut d).unwrap();
    let s = d.to_string();
    for want in [
        "MMS m-retrieve-conf",
        "MMS version: 1.2",
        "Body: 2 parts",
        "Content-Type: text/plain (0x03); charset=utf-8 (MIBenum 106)",
        "Content-Location: a.txt",
        "Content-ID: \"<g1>\"",
        "Date (0x85): 2020-09-13T12:26:40Z (1600000000)",
    ] {
        assert!(s.contains(want), "{want:?} not in\n{s}");
    }
}

#[test]
fn validator_reports_missing_expiry_and_content_location() {
    let bytes = vectors::load("mms/neg_notification_missing.hex");
    assert_eq!(
        validate_notification(&bytes),
        Err(vec![
            Violation::MissingField {
                field: "X-Mms-Expiry"
            },
            Violation::MissingField {
                field: "X-Mms-Content-Location"
            },
        ])
    );
    assert_eq!(
        NotificationInd::decode(&bytes),
        Err(MmsError::MissingField {
            field: "X-Mms-Expiry"
        })
    );
}

#[test]
fn validator_reports_order_repeat_and_undecodable() {
    let bytes = vectors::load("mms/neg_notification_disorder.hex");
    let v = validate_notification(&bytes).unwrap_err();
    assert_eq!(
        v,
        vec![
            Violation::Repeated {
                field: "X-Mms-Message-Class",
                offset: 10
            },
            Violation::Undecodable {
                field: "X-Mms-Message-Size",
                offset: 12,
                error: ppgd::wsp::WspError::LongIntegerLength { offset: 13, len: 0 }
            },
            Violation::OutOfOrder {
                field: "X-Mms-Message-Type",
                expected: 1,
                position: 2
            },
            Violation::OutOfOrder {
                field: "X-Mms-Transaction-ID",
                expected: 2,
                position: 1
            },
        ],
        "{v:#?}"
    );
    // Every violation reads as a sentence the gateway can send back to the PI.
    assert_eq!(
        v[2].to_string(),
        "X-Mms-Message-Type is field #2 (from 1); it must be field #1"
    );
    let wrong_type = [0x8C, 0x86, 0x98, b'T', 0, 0x8D, 0x90];
    let v = validate_notification(&wrong_type).unwrap_err();
    assert!(
        v.contains(&Violation::WrongMessageType { found: Some(0x86) }),
        "{v:?}"
    );
    assert!(
        v.contains(&Violation::MissingField {
            field: "X-Mms-Message-Class"
        }),
        "{v:?}"
    );
}

#[test]
fn dissect_shows_notification_fields_in_full() {
    let mut d = Dissection::new();
    dissect(&vectors::load("mms/notification_all_fields.hex"), &mut d).unwrap();
    let s = d.to_string();
    for want in [
        "MMS m-notification-ind",
        "MMS version: 1.3",
        "X-Mms-Transaction-ID (0x98): tx-0001",
        "From (0x89): \"+447700900123/TYPE=PLMN\" (address-present)",
        "Subject (0x96): \"Grüße\" (charset utf-8, MIBenum 106)",
        "X-Mms-Priority (0x8F): High (0x82)",
        "X-Mms-Expiry (0x88): absolute 2023-11-14T22:13:20Z (1700000000)",
        "X-Mms-Content-Class (0xBA): content-basic (0x86)",
        "X-Mms-Element-Descriptor (0xB2): 09 72 65 66 2E 73 6D 69 6C 00",
    ] {
        assert!(s.contains(want), "{want:?} not in\n{s}");
    }
}

#[test]
fn tshark_agrees_on_mmse_fields() {
    let bytes = vectors::load("wsp/example_a_mms_push.hex");
    let Some(lines) = tshark_fields(
        &[bytes],
        &[
            "mmse.message_type",
            "mmse.transaction_id",
            "mmse.mms_version",
            "mmse.from",
            "mmse.message_class.id",
            "mmse.message_size",
            "mmse.expiry.rel",
            "mmse.content_location",
        ],
    ) else {
        return;
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    let mut cols: Vec<&str> = lines[0].split('\t').collect();
    // tshark shows the relative expiry as seconds with nanoseconds ("72000.000000000").
    assert_eq!(
        cols.get(6).and_then(|s| s.parse::<f64>().ok()),
        Some(72000.0),
        "{lines:?}"
    );
    cols[6] = "72000";
    assert_eq!(
        cols,
        [
            "0x82",
            "NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA",
            "1.0",
            "+447785342749/TYPE=PLMN",
            "0x80",
            "29696",
            "72000",
            "http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA"
        ],
        "{lines:?}"
    );
}

// ---- property tests ----

fn text() -> impl Strategy<Value = String> {
    "[ -~\u{e9}\u{4e2d}]{0,30}"
}

fn token() -> impl Strategy<Value = u8> {
    0x80u8..=0xFF
}

fn encoded() -> impl Strategy<Value = EncodedString> {
    (proptest::option::of(0u32..3000), text()).prop_map(|(charset, t)| EncodedString {
        charset,
        text: t.into_bytes(),
    })
}

fn time() -> impl Strategy<Value = TimeValue> {
    prop_oneof![
        any::<u64>().prop_map(TimeValue::Absolute),
        any::<u64>().prop_map(TimeValue::Relative)
    ]
}

fn notification() -> impl Strategy<Value = NotificationInd> {
    let mandatory = (
        text(),
        (0u8..0x80).prop_map(Version::Short),
        any::<u64>(),
        time(),
        "[!-~][ -~]{0,40}",
        prop_oneof![
            Just(MessageClass::Personal),
            Just(MessageClass::Advertisement),
            Just(MessageClass::Informational),
            Just(MessageClass::Auto),
            (0x84u8..=0xFF).prop_map(MessageClass::Unknown),
            "[a-z][a-z-]{0,10}".prop_map(MessageClass::Text),
        ],
    );
    let opt1 = (
        proptest::option::of(prop_oneof![
            encoded().prop_map(FromAddress::Present),
            Just(FromAddress::Insert)
        ]),
        proptest::option::of(encoded()),
        proptest::option::of(token()),
        proptest::option::of(token()),
        proptest::option::of(token()),
        proptest::option::of(time()),
        proptest::option::of(text()),
        proptest::option::of(any::<u64>()),
    );
    let opt2 = (
        proptest::option::of(token()),
        proptest::option::of(token()),
        proptest::option::of(prop::collection::vec(any::<u8>(), 0..30).prop_map(|v| {
            let mut o = vec![v.len() as u8];
            o.extend(v);
            o
        })),
        proptest::option::of(token()),
        proptest::option::of(encoded()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
    );
    let opt3 = (
        proptest::option::of(token()),
        proptest::option::of(token()),
        proptest::option::of(text()),
        // Distinct codes: a repeated field is a violation the validator reports.
        prop::collection::btree_map(0xC0u8..=0xFF, 0x80u8..=0xFF, 0..3).prop_map(|m| {
            m.into_iter()
                .map(|(code, v)| RawField {
                    code,
                    value: vec![v],
                })
                .collect::<Vec<_>>()
        }),
    );
    (mandatory, opt1, opt2, opt3).prop_map(|(m, o1, o2, o3)| {
        let mut n = NotificationInd::new(m.0, m.1, m.2, m.3, m.4);
        n.message_class = m.5;
        (
            n.from,
            n.subject,
            n.delivery_report,
            n.priority,
            n.reply_charging,
        ) = (o1.0, o1.1, o1.2, o1.3, o1.4);
        (
            n.reply_charging_deadline,
            n.reply_charging_id,
            n.reply_charging_size,
        ) = (o1.5, o1.6, o1.7);
        (n.stored, n.distribution_indicator, n.element_descriptor) = (o2.0, o2.1, o2.2);
        (
            n.recommended_retrieval_mode,
            n.recommended_retrieval_mode_text,
        ) = (o2.3, o2.4);
        (n.applic_id, n.reply_applic_id, n.aux_applic_info) = (o2.5, o2.6, o2.7);
        (n.content_class, n.drm_content, n.replace_id, n.unknown) = o3;
        n
    })
}

proptest! {
    #[test]
    fn notification_roundtrip(n in notification()) {
        let bytes = n.encode();
        prop_assert_eq!(NotificationInd::decode(&bytes), Ok(n.clone()));
        prop_assert_eq!(validate_notification(&bytes), Ok(n));
        let generic = MmsPdu::decode(&bytes).unwrap();
        prop_assert_eq!(generic.encode(), bytes);
    }

    #[test]
    fn mms_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = MmsPdu::decode(&bytes);
        let _ = validate_notification(&bytes);
        let _ = DeliveryInd::decode(&bytes);
        let _ = NotifyRespInd::decode(&bytes);
        let _ = dissect(&bytes, &mut Dissection::new());
    }
}
