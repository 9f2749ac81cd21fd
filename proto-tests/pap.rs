//! PAP vectors (`proto-tests/vectors/pap/`) and round-trip properties: documents, addresses,
//! multipart/related and whole push submissions.

use std::borrow::Cow;

use ppgd::pap::multipart::{self, OwnedPart};
use ppgd::pap::submission::write_push_submission;
use ppgd::pap::*;
use ppgd::store::{MessageState, Priority};
use ppgd::util::datetime::UtcTime;
use proptest::prelude::*;

use crate::vectors;

fn raw(name: &str) -> Vec<u8> {
    let path = vectors::dir().join("pap").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn doc(name: &str) -> PapDocument {
    PapDocument::parse(&raw(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn doc_err(name: &str) -> DocumentError {
    PapDocument::parse(&raw(name)).expect_err(name)
}

/// A `.mime` vector: `#` comment lines, the request's Content-Type header line, a blank line,
/// then the body byte for byte.
pub(crate) fn mime(name: &str) -> (String, Vec<u8>) {
    let all = raw(name);
    let mut rest = &all[..];
    loop {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header line");
        let line = std::str::from_utf8(&rest[..nl])
            .unwrap()
            .trim_end_matches('\r');
        rest = &rest[nl + 1..];
        if line.starts_with('#') {
            continue;
        }
        let ct = line
            .strip_prefix("Content-Type:")
            .expect("Content-Type line")
            .trim()
            .to_string();
        let blank = rest.iter().position(|&b| b == b'\n').unwrap();
        assert!(
            rest[..blank].iter().all(|b| *b == b'\r'),
            "{name}: blank line after header"
        );
        return (ct, rest[blank + 1..].to_vec());
    }
}

/// The text with `<!-- ... -->` comment blocks (and the line end after each) removed.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("-->").map(|j| i + j + 3).unwrap();
        rest = rest[end..].strip_prefix('\n').unwrap_or(&rest[end..]);
    }
    out.push_str(rest);
    out
}

fn t(s: &str) -> UtcTime {
    UtcTime::parse_pap(s).unwrap()
}

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn roundtrip(d: &PapDocument) {
    let again = PapDocument::parse(d.to_xml().as_bytes()).unwrap();
    assert_eq!(&again, d);
}

// ---- PI -> PPG documents --------------------------------------------------------------------

#[test]
fn push_pap_1_0_kannel_user_guide() {
    let d = doc("push-1.0-kannel.xml");
    assert_eq!(d.version, PapVersion::V1_0);
    let PapMessage::Push(p) = &d.message else {
        panic!("{:?}", d.message)
    };
    assert_eq!(p.push_id, "9fjeo39jf084@pi.com");
    assert_eq!(p.deliver_before, Some(t("2002-11-01T06:45:00Z")));
    assert_eq!(p.deliver_after, Some(t("2000-02-27T06:45:00Z")));
    assert_eq!(p.progress_notes_requested, Some(false));
    assert_eq!(p.addresses.len(), 1);
    assert_eq!(p.addresses[0].msisdn().unwrap(), "358408676001");
    assert_eq!(p.addresses[0].ppg.as_deref(), Some("ppg.carrier.com"));
    let q = p.qos.as_ref().unwrap();
    assert_eq!(q.priority, Some(Priority::Low));
    assert_eq!(q.delivery_method, Some(DeliveryMethod::Unconfirmed));
    assert_eq!(q.network.as_deref(), Some("GSM"));
    assert_eq!(q.network_required, Some(true));
    assert_eq!(q.bearer.as_deref(), Some("SMS"));
    assert_eq!(q.bearer_required, Some(true));
    // Written back in the canonical 1.0 family.
    assert!(d.to_xml().contains("\"-//WAPFORUM//DTD PAP 1.0//EN\""));
    roundtrip(&d);
}

#[test]
fn push_pap_2_0_every_attribute() {
    let d = doc("push-2.0-all-attributes.xml");
    assert_eq!(d.version, PapVersion::V2_0);
    assert_eq!(d.supported_versions.as_deref(), Some("2.0,1.*"));
    assert_eq!(d.product_name.as_deref(), Some("ppgd test PI"));
    let PapMessage::Push(p) = &d.message else {
        panic!()
    };
    let expected = PushMessage {
        push_id: "pi-2026-0001@mmsc.example.net".into(),
        deliver_before: Some(t("2026-11-26T12:00:00Z")),
        // Lower-case t and z (BlackBerry examples; digest 1.2).
        deliver_after: Some(t("2026-11-25T06:00:00Z")),
        source_reference: Some("MMSC-7".into()),
        ppg_notify_requested_to: Some("http://mmsc.example.net/pap-notify?a=1&b=2".into()),
        progress_notes_requested: Some(true),
        replace_push_id: Some("pi-2026-0000@mmsc.example.net".into()),
        replace_method: Some(ReplaceMethod::PendingOnly),
        addresses: vec![addr("WAPPUSH=+447700900123/TYPE=PLMN@ppg.example.net")],
        qos: Some(QualityOfService {
            priority: Some(Priority::High),
            delivery_method: Some(DeliveryMethod::PreferConfirmed),
            network: Some("GSM".into()),
            network_required: Some(false),
            bearer: Some("SMS".into()),
            bearer_required: Some(false),
        }),
    };
    assert_eq!(p, &expected);
    let xml = d.to_xml();
    assert!(
        xml.contains("[<?wap-pap-ver supported-versions=\"2.0,1.*\"?>]"),
        "{xml}"
    );
    assert!(xml.contains("a=1&amp;b=2"));
    roundtrip(&d);
}

#[test]
fn push_to_several_addresses() {
    let d = doc("push-multi-address.xml");
    let PapMessage::Push(p) = &d.message else {
        panic!()
    };
    let msisdns: Vec<String> = p.addresses.iter().map(|a| a.msisdn().unwrap()).collect();
    assert_eq!(
        msisdns,
        [
            "358408676001",
            "358408676002",
            "447700900124",
            "4917012345678"
        ]
    );
    assert_eq!(p.addresses[1].raw, "wappush=+358408676002/type=plmn");
    assert_eq!(
        p.addresses[1].to_string(),
        "WAPPUSH=+358408676002/TYPE=PLMN"
    );
    assert_eq!(p.addresses[3].kind, AddressType::Wina("GSM_MSISDN".into()));
    assert!(p.qos.is_none());
}

#[test]
fn statusquery_cancel_ccq_resultnotification_response() {
    let d = doc("statusquery.xml");
    assert_eq!(
        d.message,
        PapMessage::StatusQuery(StatusQueryMessage {
            push_id: "pi-2026-0001@mmsc.example.net".into(),
            addresses: vec![addr("WAPPUSH=+447700900123/TYPE=PLMN@ppg.example.net")],
        })
    );
    roundtrip(&d);
    let d = doc("cancel-addresses.xml");
    let PapMessage::Cancel(c) = &d.message else {
        panic!()
    };
    assert_eq!(c.push_id, "multi-1");
    assert_eq!(c.addresses.len(), 2);
    roundtrip(&d);
    let d = doc("cancel-all.xml");
    assert_eq!(
        d.message,
        PapMessage::Cancel(CancelMessage {
            push_id: "multi-1".into(),
            addresses: vec![]
        })
    );
    assert!(d.to_xml().contains("<cancel-message push-id=\"multi-1\"/>"));
    let d = doc("ccq.xml");
    assert_eq!(
        d.message,
        PapMessage::Ccq(CcqMessage {
            query_id: "q-42".into(),
            app_id: Some("x-wap-application:mms.ua".into()),
            address: addr("WAPPUSH=+447700900123/TYPE=PLMN@ppg.example.net"),
        })
    );
    let d = doc("resultnotification-response.xml");
    assert_eq!(
        d.message,
        PapMessage::ResultNotificationResponse(ResultNotificationResponse {
            push_id: "pi-2026-0001@mmsc.example.net".into(),
            code: PapCode::Ok,
            desc: Some("OK".into()),
            addresses: vec![addr("WAPPUSH=+447700900123/TYPE=PLMN@ppg.example.net")],
        })
    );
    // The standalone documents are what PapRequest accepts as application/xml.
    for name in ["statusquery.xml", "cancel-all.xml", "ccq.xml"] {
        let bytes = raw(name);
        let r = PapRequest::parse("application/xml; charset=utf-8", &bytes).unwrap();
        assert!(matches!(r, PapRequest::Document(_)), "{name}");
    }
}

// ---- PPG -> PI answers, written exactly ---------------------------------------------------------

fn check_written(name: &str, d: &PapDocument) {
    let want = strip_comments(&vectors::text(&format!("pap/{name}")));
    assert_eq!(d.to_xml(), want, "{name}");
    assert_eq!(&PapDocument::parse(want.as_bytes()).unwrap(), d, "{name}");
}

fn doc_of(version: PapVersion, message: PapMessage) -> PapDocument {
    PapDocument {
        version,
        supported_versions: None,
        product_name: None,
        message,
    }
}

#[test]
fn answers_are_written_exactly() {
    check_written(
        "answer-push-response-1001.xml",
        &doc_of(
            PapVersion::V1_0,
            PapMessage::PushResponse(PushResponse {
                push_id: "9fjeo39jf084@pi.com".into(),
                sender_address: Some("http://ppg.example.net:8080/wappush".into()),
                sender_name: Some("ppgd".into()),
                reply_time: Some(t("2026-11-25T04:30:00Z")),
                progress_notes: vec![],
                result: ResponseResult {
                    code: PapCode::Accepted,
                    desc: Some(PapCode::Accepted.meaning().into()),
                },
            }),
        ),
    );
    check_written(
        "answer-badmessage-response.xml",
        &doc_of(
            PapVersion::V1_0,
            PapMessage::BadMessageResponse(BadMessageResponse {
                code: PapCode::BadRequest,
                desc: Some(
                    "Not understood due to malformed syntax: <push-mesage> is not a PAP element"
                        .into(),
                ),
                bad_message_fragment: Some("<push-mesage push-id=\"a&b\">".into()),
            }),
        ),
    );
    let a1 = addr("WAPPUSH=+358408676001/TYPE=PLMN@ppg.carrier.com");
    let a2 = addr("WAPPUSH=+358408676002/TYPE=PLMN");
    check_written(
        "answer-statusquery-response.xml",
        &doc_of(
            PapVersion::V2_0,
            PapMessage::StatusQueryResponse(StatusQueryResponse {
                push_id: "multi-1".into(),
                results: vec![
                    StatusQueryResult {
                        addresses: vec![a1.clone()],
                        qos: None,
                        event_time: Some(t("2026-11-25T04:31:00Z")),
                        message_state: MessageState::Delivered,
                        code: PapCode::Ok,
                        desc: Some("OK".into()),
                    },
                    StatusQueryResult {
                        addresses: vec![a2.clone()],
                        qos: None,
                        event_time: None,
                        message_state: MessageState::Pending,
                        code: PapCode::Accepted,
                        desc: None,
                    },
                ],
            }),
        ),
    );
    check_written(
        "answer-cancel-response.xml",
        &doc_of(
            PapVersion::V2_0,
            PapMessage::CancelResponse(CancelResponse {
                push_id: "multi-1".into(),
                results: vec![
                    CancelResult {
                        addresses: vec![a2],
                        code: PapCode::Ok,
                        desc: Some("OK".into()),
                    },
                    CancelResult {
                        addresses: vec![a1],
                        code: PapCode::CancellationNotPossible,
                        desc: Some("Cancellation Not Possible: already delivered".into()),
                    },
                ],
            }),
        ),
    );
    let a = addr("WAPPUSH=+447700900123/TYPE=PLMN@ppg.example.net");
    check_written(
        "answer-resultnotification-message.xml",
        &doc_of(
            PapVersion::V2_0,
            PapMessage::ResultNotification(ResultNotificationMessage {
                push_id: "pi-2026-0001@mmsc.example.net".into(),
                sender_address: Some("http://ppg.example.net:8080/wappush".into()),
                sender_name: Some("ppgd".into()),
                received_time: Some(t("2026-11-25T04:30:00Z")),
                event_time: Some(t("2026-11-25T04:30:07Z")),
                message_state: MessageState::Delivered,
                code: PapCode::Ok,
                desc: Some("OK".into()),
                address: a.clone(),
                qos: Some(QualityOfService {
                    delivery_method: Some(DeliveryMethod::Confirmed),
                    ..QualityOfService::default()
                }),
            }),
        ),
    );
    check_written(
        "answer-ccq-response.xml",
        &doc_of(
            PapVersion::V2_0,
            PapMessage::CcqResponse(CcqResponse {
                query_id: "q-42".into(),
                code: PapCode::CapabilityMatchingNotSupported,
                desc: Some(PapCode::CapabilityMatchingNotSupported.meaning().into()),
                address: a,
            }),
        ),
    );
}

// ---- negative documents ---------------------------------------------------------------------

#[test]
fn malformed_xml_names_the_place() {
    let e = doc_err("bad-malformed.xml");
    assert!(matches!(e.kind, DocumentErrorKind::Syntax { .. }), "{e}");
    assert_eq!(e.line, 6, "{e}");
    assert!(e.fragment.starts_with("</push-mesage>"), "{:?}", e.fragment);
    assert_eq!(e.pap_code(), PapCode::BadRequest);
}

#[test]
fn unknown_element_is_refused_with_its_tag() {
    let e = doc_err("bad-unknown-element.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::UnknownElement {
            element: "priority".into(),
            parent: "push-message".into()
        }
    );
    assert_eq!(e.fragment, "<priority value=\"high\"/>");
    assert_eq!(e.line, 6);
    assert_eq!(e.push_id.as_deref(), Some("u1"));
    assert_eq!(e.pap_code(), PapCode::BadRequest);
}

#[test]
fn missing_push_id() {
    let e = doc_err("bad-missing-push-id.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::MissingAttribute {
            element: "push-message".into(),
            attribute: "push-id"
        }
    );
    assert_eq!(e.line, 4);
    assert_eq!(e.push_id, None);
    assert_eq!(
        e.to_string(),
        "<push-message> is missing the required attribute `push-id` (line 4, offset 123)"
    );
    assert_eq!(e.pap_code(), PapCode::BadRequest);
}

#[test]
fn bad_timestamp() {
    let e = doc_err("bad-timestamp.xml");
    let DocumentErrorKind::BadTimestamp {
        element, attribute, ..
    } = &e.kind
    else {
        panic!("{e}")
    };
    assert_eq!(
        (element.as_str(), *attribute),
        ("push-message", "deliver-before-timestamp")
    );
    assert_eq!(e.push_id.as_deref(), Some("t1"));
    assert_eq!(e.pap_code(), PapCode::BadRequest);
}

#[test]
fn bad_address_is_2002() {
    let e = doc_err("bad-address.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::Address {
            element: "address".into(),
            source: AddressError::NoWappushPrefix {
                text: "+358408676001".into()
            }
        }
    );
    assert_eq!(e.pap_code(), PapCode::AddressError);
    assert_eq!(e.push_id.as_deref(), Some("a1"));
}

#[test]
fn address_with_a_control_character_is_2002() {
    let e = doc_err("bad-address-control-character.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::Address {
            element: "address".into(),
            source: AddressError::ControlCharacter {
                code: 1,
                offset: 43
            }
        }
    );
    assert_eq!(e.pap_code(), PapCode::AddressError);
    assert_eq!(e.push_id.as_deref(), Some("cc1"));
}

/// The pap_document fuzz target's property on an input it once failed (a mutated copy of a
/// vector, with an address holding a C0 control within the length limit that, written back
/// with U+FFFD for it, no longer parsed): whatever parses is written, and that parses back.
#[test]
fn fuzz_pap_document_crash_1_parses_back_or_is_refused() {
    let data = raw("fuzz-pap-document-crash-1.bin");
    match PapDocument::parse(&data) {
        Ok(d) => {
            let again = PapDocument::parse(d.to_xml().as_bytes()).expect("written back, parses");
            assert_eq!(again.to_xml(), d.to_xml());
        }
        Err(e) => assert_eq!(e.pap_code(), PapCode::AddressError, "{e}"),
    }
}

#[test]
fn unsupported_version_is_3002() {
    let e = doc_err("bad-version.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::UnsupportedVersion {
            public_id: "-//WAPFORUM//DTD PAP 3.0//EN".into()
        }
    );
    assert_eq!(e.pap_code(), PapCode::VersionNotSupported);
}

#[test]
fn billion_laughs_and_xxe_fail_cleanly() {
    // Entity declarations in the DOCTYPE are refused before anything is expanded.
    for name in ["bad-billion-laughs.xml", "bad-xxe.xml"] {
        let e = doc_err(name);
        assert_eq!(e.kind, DocumentErrorKind::EntityDeclaration, "{name}");
        assert_eq!(e.pap_code(), PapCode::BadRequest);
    }
    // And an undeclared entity reference is never resolved.
    let e = doc_err("bad-billion-laughs-no-doctype.xml");
    assert_eq!(
        e.kind,
        DocumentErrorKind::UndefinedEntity {
            name: "lol9".into()
        }
    );
}

#[test]
fn version_detection_is_lenient() {
    for (id, v) in [
        ("-//WAPFORUM//DTD PAP 1.0//EN", Some(PapVersion::V1_0)),
        ("-//WAPFORUM//DTD PAP//EN", Some(PapVersion::V1_0)),
        ("-//WAPFORUM//DTD PAP 2.0//EN", Some(PapVersion::V2_0)),
        ("-//WAPFORUM//DTD PAP 2.1//EN", Some(PapVersion::V2_1)),
        ("-//OMA//DTD PAP 2.1//EN", Some(PapVersion::V2_1)),
        ("-//wapforum//dtd pap  2.0//en", Some(PapVersion::V2_0)),
        ("-//WAPFORUM//DTD SI 1.0//EN", None),
    ] {
        assert_eq!(PapVersion::from_public_id(id), v, "{id}");
    }
    let d = PapDocument::parse(b"<pap><cancel-message push-id=\"x\"/></pap>").unwrap();
    assert_eq!(d.version, PapVersion::V2_0);
}

// ---- whole submissions --------------------------------------------------------------------------

#[test]
fn kannel_test_ppg_submission() {
    let (ct, body) = mime("kannel-test-ppg.mime");
    let s = PushSubmission::parse(&ct, &body).unwrap();
    assert_eq!(s.version, PapVersion::V1_0);
    assert_eq!(s.push.push_id, "9fjeo39jf084@pi.com");
    assert_eq!(s.push.addresses[0].msisdn().unwrap(), "358408676001");
    assert_eq!(s.content.media_type.essence, "text/vnd.wap.si");
    assert_eq!(s.content.application_id, None);
    assert!(
        s.content
            .body
            .starts_with(b"<?xml version=\"1.0\"?>\n<!DOCTYPE si")
    );
    assert!(s.content.body.ends_with(b"</si>\n"));
    assert!(
        matches!(s.content.body, Cow::Borrowed(_)),
        "zero-copy identity body"
    );
    assert!(s.capabilities.is_none());
}

#[test]
fn nowsms_style_submission() {
    let (ct, body) = mime("nowsms-lowercase.mime");
    let s = PushSubmission::parse(&ct, &body).unwrap();
    assert_eq!(s.version, PapVersion::V2_0);
    assert_eq!(s.supported_versions.as_deref(), Some("2.0,1.*"));
    let a = &s.push.addresses[0];
    assert_eq!(a.raw, "wappush=+447700900123/type=plmn@nowsms.example");
    assert_eq!(a.msisdn().unwrap(), "447700900123");
    assert_eq!(s.content.content_type, "application/vnd.wap.mms-message");
    assert_eq!(s.content.application_id, Some("x-wap-application:mms.ua"));
    assert_eq!(s.content.body[..3], [0x8C, 0x82, 0x98]);
    assert!(s.content.body.ends_with(b"/m1\x00"));
}

#[test]
fn base64_content_entity_and_capabilities() {
    let (ct, body) = mime("base64-content.mime");
    let s = PushSubmission::parse(&ct, &body).unwrap();
    let (_, plain) = mime("nowsms-lowercase.mime");
    let plain =
        PushSubmission::parse("multipart/related; boundary=\"pap-boundary-1\"", &plain).unwrap();
    assert_eq!(s.content.transfer_encoding, TransferEncoding::Base64);
    assert_eq!(
        s.content.body, plain.content.body,
        "base64 decodes to the binary vector's bytes"
    );
    assert_eq!(
        s.content.content_location,
        Some("http://mmsc.example.net/m1")
    );
    assert_eq!(s.start.as_deref(), Some("<ctl>"));
    assert_eq!(s.capabilities.as_ref().unwrap().body, b"<rdf:RDF/>");
}

#[test]
fn submission_errors_are_actionable() {
    let (ct, body) = mime("bad-no-boundary.mime");
    let e = PushSubmission::parse(&ct, &body).unwrap_err();
    assert_eq!(e, PapError::Submission(SubmissionError::NoBoundary));
    assert_eq!(e.pap_code(), PapCode::BadRequest);
    let (ct, body) = mime("bad-unclosed.mime");
    let e = PushSubmission::parse(&ct, &body).unwrap_err();
    assert_eq!(
        e,
        PapError::Multipart(MultipartError::Unclosed {
            boundary: "x".into()
        })
    );
    assert_eq!(
        e.to_string(),
        "multipart/related body: boundary x never closes (no --x-- delimiter)"
    );
    let (ct, body) = mime("bad-no-content-type.mime");
    let e = PushSubmission::parse(&ct, &body).unwrap_err();
    assert_eq!(
        e,
        PapError::Submission(SubmissionError::ContentNoContentType)
    );
    assert_eq!(
        e.to_string(),
        "the content entity has no Content-Type header"
    );
    let (_, body) = mime("kannel-test-ppg.mime");
    let e = PushSubmission::parse("text/plain", &body).unwrap_err();
    assert!(matches!(
        e,
        PapError::Submission(SubmissionError::NotMultipartRelated { .. })
    ));
    let e = PushSubmission::parse(
        "multipart/related; boundary=asdlfkjiurwgasf; type=text/plain",
        &body,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        PapError::Submission(SubmissionError::TypeNotXml { .. })
    ));
}

/// Every error kind maps to the PAP code the gateway answers with.
#[test]
fn error_to_pap_code_table() {
    let dt = UtcTime::parse_pap("x").unwrap_err();
    let ae = Address::parse("x").unwrap_err();
    let kinds: Vec<(DocumentErrorKind, PapCode)> = vec![
        (
            DocumentErrorKind::TooLarge { size: 2, limit: 1 },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::NotUtf8 { valid_up_to: 0 },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::Syntax { detail: "x".into() },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::UndefinedEntity { name: "x".into() },
            PapCode::BadRequest,
        ),
        (DocumentErrorKind::EntityDeclaration, PapCode::BadRequest),
        (DocumentErrorKind::TooDeep { limit: 1 }, PapCode::BadRequest),
        (
            DocumentErrorKind::TooManyElements { limit: 1 },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::Text {
                element: "pap".into(),
            },
            PapCode::BadRequest,
        ),
        (DocumentErrorKind::NoRoot, PapCode::BadRequest),
        (DocumentErrorKind::AfterRoot, PapCode::BadRequest),
        (
            DocumentErrorKind::UnsupportedVersion {
                public_id: "x".into(),
            },
            PapCode::VersionNotSupported,
        ),
        (
            DocumentErrorKind::WrongRoot { found: "x".into() },
            PapCode::BadRequest,
        ),
        (DocumentErrorKind::NoMessage, PapCode::BadRequest),
        (
            DocumentErrorKind::UnknownElement {
                element: "x".into(),
                parent: "pap".into(),
            },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::BadTimestamp {
                element: "x".into(),
                attribute: "y",
                source: dt,
            },
            PapCode::BadRequest,
        ),
        (
            DocumentErrorKind::Address {
                element: "address".into(),
                source: ae.clone(),
            },
            PapCode::AddressError,
        ),
    ];
    for (kind, code) in kinds {
        let e = DocumentError {
            kind: kind.clone(),
            offset: 0,
            line: 1,
            fragment: String::new(),
            push_id: None,
        };
        assert_eq!(e.pap_code(), code, "{kind}");
        assert_eq!(PapError::Document(e).pap_code(), code, "{kind}");
    }
    assert_eq!(PapError::Address(ae).pap_code(), PapCode::AddressError);
    assert_eq!(
        PapError::Multipart(MultipartError::NoParts).pap_code(),
        PapCode::BadRequest
    );
    assert_eq!(
        PapError::Submission(SubmissionError::NoBoundary).pap_code(),
        PapCode::BadRequest
    );
}

#[test]
fn fragment_quotes_round_trip_through_a_badmessage_response() {
    let e = PapError::from(doc_err("bad-unknown-element.xml"));
    let answer = doc_of(
        PapVersion::V1_0,
        PapMessage::BadMessageResponse(BadMessageResponse {
            code: e.pap_code(),
            desc: Some(e.to_string()),
            bad_message_fragment: e.fragment().map(str::to_string),
        }),
    );
    roundtrip(&answer);
    assert!(
        answer
            .to_xml()
            .contains("bad-message-fragment=\"&lt;priority value=&quot;high&quot;/&gt;\"")
    );
}

// ---- properties ---------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>\"'=:/.@é\n\t-]{0,16}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn time() -> impl Strategy<Value = UtcTime> {
    (0i64..4_102_444_800).prop_map(UtcTime)
}

fn opt_time() -> impl Strategy<Value = Option<UtcTime>> {
    proptest::option::of(time())
}

fn address() -> impl Strategy<Value = Address> {
    let kind_value = prop_oneof![
        "\\+[0-9]{3,15}".prop_map(|v| (AddressType::Plmn, v)),
        "\\+[0-9][0-9.-]{2,14}".prop_map(|v| (AddressType::Plmn, v)),
        "[a-zA-Z0-9@:./%+ ]{1,20}".prop_map(|v| (AddressType::User, v)),
        any::<[u8; 4]>().prop_map(|o| (AddressType::Ipv4, std::net::Ipv4Addr::from(o).to_string())),
        any::<[u16; 8]>()
            .prop_map(|g| (AddressType::Ipv6, std::net::Ipv6Addr::from(g).to_string())),
        "[0-9]{3,15}".prop_map(|v| (AddressType::Wina("GSM_MSISDN".into()), v)),
    ];
    (
        kind_value,
        proptest::option::of("[a-z0-9][a-z0-9.-]{0,12}"),
        proptest::collection::vec("[A-Za-z]{1,5}=[a-z0-9]{1,5}", 0..2),
    )
        .prop_map(|((kind, value), ppg, qualifiers)| {
            let mut a = Address::new(kind, value, ppg);
            a.qualifiers = qualifiers;
            a.raw = a.to_string();
            a
        })
}

fn addresses(min: usize) -> impl Strategy<Value = Vec<Address>> {
    proptest::collection::vec(address(), min..4)
}

fn code() -> impl Strategy<Value = PapCode> {
    any::<u16>().prop_map(PapCode::from_u16)
}

fn state() -> impl Strategy<Value = MessageState> {
    prop::sample::select(vec![
        MessageState::Pending,
        MessageState::Delivered,
        MessageState::Undeliverable,
        MessageState::Expired,
        MessageState::Cancelled,
        MessageState::Aborted,
        MessageState::Timeout,
        MessageState::Rejected,
        MessageState::Unknown,
    ])
}

fn qos() -> impl Strategy<Value = Option<QualityOfService>> {
    proptest::option::of(
        (
            proptest::option::of(prop::sample::select(vec![
                Priority::High,
                Priority::Medium,
                Priority::Low,
            ])),
            proptest::option::of(prop::sample::select(vec![
                DeliveryMethod::Confirmed,
                DeliveryMethod::PreferConfirmed,
                DeliveryMethod::Unconfirmed,
                DeliveryMethod::NotSpecified,
            ])),
            opt_text(),
            proptest::option::of(any::<bool>()),
            opt_text(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(
                |(
                    priority,
                    delivery_method,
                    network,
                    network_required,
                    bearer,
                    bearer_required,
                )| {
                    QualityOfService {
                        priority,
                        delivery_method,
                        network,
                        network_required,
                        bearer,
                        bearer_required,
                    }
                },
            ),
    )
}

fn push_message() -> impl Strategy<Value = PushMessage> {
    (
        (text(), opt_time(), opt_time(), opt_text(), opt_text()),
        (
            proptest::option::of(any::<bool>()),
            opt_text(),
            proptest::option::of(prop::sample::select(vec![
                ReplaceMethod::All,
                ReplaceMethod::PendingOnly,
            ])),
            addresses(1),
            qos(),
        ),
    )
        .prop_map(
            |(
                (push_id, deliver_before, deliver_after, source_reference, ppg_notify_requested_to),
                (progress_notes_requested, replace_push_id, replace_method, addresses, qos),
            )| PushMessage {
                push_id,
                deliver_before,
                deliver_after,
                source_reference,
                ppg_notify_requested_to,
                progress_notes_requested,
                replace_push_id,
                replace_method,
                addresses,
                qos,
            },
        )
}

fn message() -> impl Strategy<Value = PapMessage> {
    prop_oneof![
        push_message().prop_map(PapMessage::Push),
        (text(), addresses(0)).prop_map(|(push_id, addresses)| PapMessage::StatusQuery(
            StatusQueryMessage { push_id, addresses }
        )),
        (text(), addresses(0)).prop_map(|(push_id, addresses)| PapMessage::Cancel(CancelMessage {
            push_id,
            addresses
        })),
        (text(), opt_text(), address()).prop_map(|(query_id, app_id, address)| PapMessage::Ccq(
            CcqMessage {
                query_id,
                app_id,
                address
            }
        )),
        (text(), code(), opt_text(), addresses(0)).prop_map(|(push_id, code, desc, addresses)| {
            PapMessage::ResultNotificationResponse(ResultNotificationResponse {
                push_id,
                code,
                desc,
                addresses,
            })
        }),
        (
            (text(), opt_text(), opt_text(), opt_time()),
            proptest::collection::vec(
                (text(), opt_text(), opt_time()).prop_map(|(stage, note, time)| ProgressNote {
                    stage,
                    note,
                    time
                }),
                0..3
            ),
            (code(), opt_text())
        )
            .prop_map(
                |(
                    (push_id, sender_address, sender_name, reply_time),
                    progress_notes,
                    (code, desc),
                )| {
                    PapMessage::PushResponse(PushResponse {
                        push_id,
                        sender_address,
                        sender_name,
                        reply_time,
                        progress_notes,
                        result: ResponseResult { code, desc },
                    })
                }
            ),
        (code(), opt_text(), opt_text()).prop_map(|(code, desc, bad_message_fragment)| {
            PapMessage::BadMessageResponse(BadMessageResponse {
                code,
                desc,
                bad_message_fragment,
            })
        }),
        (
            text(),
            proptest::collection::vec(
                (addresses(0), qos(), opt_time(), state(), code(), opt_text()).prop_map(
                    |(addresses, qos, event_time, message_state, code, desc)| StatusQueryResult {
                        addresses,
                        qos,
                        event_time,
                        message_state,
                        code,
                        desc
                    }
                ),
                1..3
            )
        )
            .prop_map(|(push_id, results)| PapMessage::StatusQueryResponse(
                StatusQueryResponse { push_id, results }
            )),
        (
            text(),
            proptest::collection::vec(
                (addresses(0), code(), opt_text()).prop_map(|(addresses, code, desc)| {
                    CancelResult {
                        addresses,
                        code,
                        desc,
                    }
                }),
                1..3
            )
        )
            .prop_map(
                |(push_id, results)| PapMessage::CancelResponse(CancelResponse {
                    push_id,
                    results
                })
            ),
        (
            (text(), opt_text(), opt_text(), opt_time(), opt_time()),
            (state(), code(), opt_text(), address(), qos())
        )
            .prop_map(
                |(
                    (push_id, sender_address, sender_name, received_time, event_time),
                    (message_state, code, desc, address, qos),
                )| {
                    PapMessage::ResultNotification(ResultNotificationMessage {
                        push_id,
                        sender_address,
                        sender_name,
                        received_time,
                        event_time,
                        message_state,
                        code,
                        desc,
                        address,
                        qos,
                    })
                }
            ),
        (text(), code(), opt_text(), address()).prop_map(|(query_id, code, desc, address)| {
            PapMessage::CcqResponse(CcqResponse {
                query_id,
                code,
                desc,
                address,
            })
        }),
    ]
}

fn document() -> impl Strategy<Value = PapDocument> {
    (
        prop::sample::select(vec![PapVersion::V1_0, PapVersion::V2_0, PapVersion::V2_1]),
        proptest::option::of("[0-9.,*]{1,10}"),
        opt_text(),
        message(),
    )
        .prop_map(
            |(version, supported_versions, product_name, message)| PapDocument {
                version,
                supported_versions,
                product_name,
                message,
            },
        )
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"--".to_vec()),
            Just(b"--ppgd-boundary-0".to_vec()),
            Just(b"\r\n--ppgd-boundary-0--\r\n".to_vec()),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

fn owned_part() -> impl Strategy<Value = OwnedPart> {
    (
        proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,10}", "([!-~]([ -~]{0,18}[!-~])?)?"),
            0..4,
        ),
        body_bytes(),
    )
        .prop_map(|(headers, body)| OwnedPart { headers, body })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_document_round_trips(d in document()) {
        let xml = d.to_xml();
        let back = PapDocument::parse(xml.as_bytes());
        prop_assert_eq!(back.as_ref().ok(), Some(&d), "{}\n{:?}", xml, back);
    }

    #[test]
    fn addresses_round_trip(a in address()) {
        let back = Address::parse(&a.to_string()).unwrap();
        prop_assert_eq!(&back, &a);
        if a.kind == AddressType::Plmn {
            let n = a.value.bytes().filter(u8::is_ascii_digit).count();
            match a.msisdn() {
                Ok(digits) => {
                    prop_assert!((3..=15).contains(&n));
                    prop_assert_eq!(digits.len(), n);
                    let canon = Address::plmn(&digits, None);
                    prop_assert_eq!(canon.msisdn().unwrap(), digits);
                }
                Err(e) => {
                    let expected = matches!(&e, AddressError::PlmnLength { digits, .. } if *digits == n)
                        && !(3..=15).contains(&n);
                    prop_assert!(expected, "{:?}", e);
                }
            }
        }
    }

    #[test]
    fn multipart_write_then_parse(parts in proptest::collection::vec(owned_part(), 1..5)) {
        let boundary = multipart::choose_boundary(&parts);
        let body = multipart::write(&boundary, &parts);
        let m = multipart::parse(&body, &boundary).unwrap();
        prop_assert_eq!(m.parts.len(), parts.len());
        for (got, want) in m.parts.iter().zip(&parts) {
            prop_assert_eq!(got.body, &want.body[..]);
            let hs: Vec<(String, String)> =
                got.headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            prop_assert_eq!(&hs, &want.headers);
        }
    }

    #[test]
    fn submissions_round_trip(p in push_message(), body in body_bytes(), v in prop::sample::select(vec![PapVersion::V1_0, PapVersion::V2_0])) {
        let control = PapDocument { version: v, supported_versions: None, product_name: None, message: PapMessage::Push(p.clone()) };
        let (ct, wire) = write_push_submission(
            &control,
            &[("Content-Type", "application/vnd.wap.mms-message"), ("X-Wap-Application-Id", "x-wap-application:mms.ua")],
            &body,
        );
        let s = PushSubmission::parse(&ct, &wire).unwrap();
        prop_assert_eq!(&s.push, &p);
        prop_assert_eq!(s.version, v);
        prop_assert_eq!(&s.content.body[..], &body[..]);
        prop_assert_eq!(s.content.application_id, Some("x-wap-application:mms.ua"));
    }
}
