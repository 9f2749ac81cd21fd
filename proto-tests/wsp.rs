//! WSP codec: annotated vectors both ways, negative vectors naming the exact error, property tests,
//! and a tshark cross-check (skipped with a notice when tshark is not on PATH).

use crate::vectors;
use ppgd::decode::Dissection;
use ppgd::mms::{NotificationInd, TimeValue};
use ppgd::wsp::primitives::*;
use ppgd::wsp::*;
use proptest::prelude::*;

fn mms_text() -> ContentType {
    ContentType {
        media: Media::Text("application/vnd.wap.mms-message".into()),
        params: vec![],
    }
}

fn roundtrip(file: &str, expected: &PushPdu) -> Vec<u8> {
    let bytes = vectors::load(file);
    assert_eq!(
        &PushPdu::decode(&bytes).expect(file),
        expected,
        "{file}: decode"
    );
    assert_eq!(expected.encode(), bytes, "{file}: encode");
    bytes
}

#[test]
fn example_a_text_mms_push() {
    let bytes = vectors::load("wsp/example_a_mms_push.hex");
    assert_eq!(bytes.len(), 182);
    let pdu = PushPdu::decode(&bytes).unwrap();
    assert_eq!(pdu.content_type, mms_text());
    // The text form is what `textual()` makes of the well-known code.
    assert_eq!(ContentType::well_known(0x3E).textual(), mms_text());
    assert_eq!(pdu.headers, vec![Header::ApplicationId(AppId::Code(4))]);
    let n = NotificationInd::decode(&pdu.body).unwrap();
    assert_eq!(n.transaction_id, "NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA");
    assert_eq!(n.version, Version::new(1, 0));
    assert_eq!(n.message_size, 29696);
    assert_eq!(n.expiry, TimeValue::Relative(72000));
    assert_eq!(
        n.content_location,
        "http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA"
    );
    // Our notification encoder reproduces the captured body byte for byte.
    assert_eq!(n.encode(), pdu.body);
    roundtrip("wsp/example_a_mms_push.hex", &pdu);
}

#[test]
fn example_b_binary_mms() {
    let bytes = vectors::load("wsp/example_b_binary_mms.hex");
    let pdu = PushPdu::decode(&bytes).unwrap();
    assert_eq!(pdu.tid, 0x2A);
    assert_eq!(pdu.content_type, ContentType::well_known(0x3E));
    assert!(pdu.content_type.is("application/vnd.wap.mms-message"));
    let n = NotificationInd::decode(&pdu.body).unwrap();
    assert_eq!(n.from, Some(ppgd::mms::FromAddress::Insert));
    let mut n2 = NotificationInd::new(
        "T1",
        Version::new(1, 2),
        4000,
        TimeValue::Relative(86400),
        "http://mmsc.example/T1",
    );
    n2.from = Some(ppgd::mms::FromAddress::Insert);
    assert_eq!(n, n2);
    let built = PushPdu {
        tid: 0x2A,
        pdu_type: PduType::Push,
        content_type: ContentType::well_known(0x3E),
        headers: vec![Header::ApplicationId(AppId::from_urn(
            "x-wap-application:mms.ua",
        ))],
        body: n2.encode(),
    };
    roundtrip("wsp/example_b_binary_mms.hex", &built);
}

#[test]
fn example_c_si_header() {
    let expected = PushPdu {
        tid: 1,
        pdu_type: PduType::Push,
        content_type: ContentType::parse_mime("application/vnd.wap.sic; charset=utf-8").unwrap(),
        headers: vec![
            Header::EncodingVersion(Version::new(1, 5)),
            Header::ContentLength(162),
            Header::PushFlag(PUSH_FLAG_LAST),
        ],
        body: vec![0x03, 0x05, 0x6A, 0x00, 0x45, 0x01],
    };
    roundtrip("wsp/example_c_si_header.hex", &expected);
    assert_eq!(expected.content_type.encode(), [0x03, 0xAE, 0x81, 0xEA]);
}

#[test]
fn kannel_guide_si() {
    let bytes = vectors::load("wsp/kannel_si.hex");
    let pdu = PushPdu::decode(&bytes).unwrap();
    assert_eq!(pdu.body.len(), 79, "Content-Length 0x4F matches the WBXML");
    let expected = PushPdu {
        tid: 2,
        pdu_type: PduType::Push,
        content_type: ContentType::well_known(0x2E),
        headers: vec![
            Header::WellKnown {
                code: 0x16,
                value: b"localhost:8080\0".to_vec(),
            },
            Header::ApplicationId(AppId::Code(0)),
            Header::ContentLength(79),
            Header::PushFlag(0),
        ],
        body: pdu.body.clone(),
    };
    roundtrip("wsp/kannel_si.hex", &expected);
    assert_eq!(expected.headers[0].name(), "Host");
}

#[test]
fn text_content_type_with_parameters() {
    let ct = ContentType::parse_mime("application/vnd.example.push; charset=\"UTF-8\"").unwrap();
    assert_eq!(
        ct,
        ContentType {
            media: Media::Text("application/vnd.example.push".into()),
            params: vec![Parameter::charset(106)],
        }
    );
    let expected = PushPdu {
        tid: 7,
        pdu_type: PduType::Push,
        content_type: ct,
        headers: vec![Header::ApplicationId(AppId::Code(2))],
        body: b"hello".to_vec(),
    };
    roundtrip("wsp/text_ct_params.hex", &expected);
}

#[test]
fn long_form_app_id() {
    let expected = PushPdu {
        tid: 0x0A,
        pdu_type: PduType::Push,
        content_type: ContentType::well_known(0x2E),
        headers: vec![Header::ApplicationId(AppId::from_urn(
            "x-wap-docomo:imode.mail.ua",
        ))],
        body: vec![0x02, 0x05, 0x6A, 0x00, 0x45, 0x01],
    };
    assert_eq!(
        expected.headers[0],
        Header::ApplicationId(AppId::Code(0x8002))
    );
    roundtrip("wsp/long_app_id.hex", &expected);
}

#[test]
fn confirmed_push() {
    let bytes = vectors::load("wsp/confirmed_push.hex");
    let expected = PushPdu {
        tid: 0x0B,
        pdu_type: PduType::ConfirmedPush,
        content_type: ContentType::well_known(0x30),
        headers: vec![Header::ApplicationId(AppId::Code(2))],
        body: bytes[6..].to_vec(),
    };
    roundtrip("wsp/confirmed_push.hex", &expected);
}

#[test]
fn negative_vectors_name_the_error() {
    assert_eq!(
        PushPdu::decode(&vectors::load("wsp/neg_truncated_uintvar.hex")),
        Err(WspError::Truncated {
            what: "HeadersLen",
            offset: 3
        })
    );
    assert_eq!(
        PushPdu::decode(&vectors::load("wsp/neg_value_length_past_end.hex")),
        Err(WspError::PastEnd {
            what: "Content-Type",
            offset: 3,
            len: 5,
            available: 3
        })
    );
    assert_eq!(
        PushPdu::decode(&[1, 0x40, 0]),
        Err(WspError::NotAPush {
            pdu_type: 0x40,
            offset: 1
        })
    );
}

#[test]
fn primitives_examples_and_limits() {
    let enc = |v| {
        let mut o = Vec::new();
        put_uintvar(&mut o, v);
        o
    };
    assert_eq!(enc(127), [0x7F]);
    assert_eq!(enc(128), [0x81, 0x00]);
    assert_eq!(enc(300), [0x82, 0x2C]);
    assert_eq!(enc(u32::MAX), [0x8F, 0xFF, 0xFF, 0xFF, 0x7F]);
    assert_eq!(
        Reader::new(&[0x90, 0x80, 0x80, 0x80, 0x00]).uintvar("x"),
        Err(WspError::UintvarOverflow { offset: 0 })
    );
    assert_eq!(
        Reader::new(&[0x81, 0x80, 0x80, 0x80, 0x80, 0x00]).uintvar("x"),
        Err(WspError::UintvarTooLong { offset: 0 })
    );
    assert_eq!(
        Reader::new(&[0x80, 0x01]).uintvar("x"),
        Err(WspError::UintvarOverlong { offset: 0 })
    );
    let mut o = Vec::new();
    put_long_integer(&mut o, 0);
    assert_eq!(o, [0x01, 0x00]);
    let mut nine = vec![9u8];
    nine.extend([1; 9]);
    assert_eq!(
        Reader::new(&nine).long_integer("x"),
        Err(WspError::LongIntegerTooBig { offset: 0, len: 9 })
    );
    assert_eq!(
        Reader::new(&[31, 0]).long_integer("x"),
        Err(WspError::LongIntegerLength { offset: 0, len: 31 })
    );
    let mut o = Vec::new();
    put_text_string(&mut o, "\u{e9}t\u{e9}");
    assert_eq!(
        o[0], QUOTE,
        "a text starting with an octet >= 0x80 is quoted"
    );
    assert_eq!(Reader::new(&o).text_string("x").unwrap(), "\u{e9}t\u{e9}");
    let mut o = Vec::new();
    put_value_length(&mut o, 31);
    assert_eq!(o, [0x1F, 0x1F]);
    let mut o = Vec::new();
    put_version(&mut o, &Version::new(1, 3));
    assert_eq!(o, [0x93]);
    assert_eq!(Version::new(1, 3).to_string(), "1.3");
}

#[test]
fn content_type_forms() {
    assert_eq!(ContentType::well_known(0x2E).encode(), [0xAE]);
    assert_eq!(
        ContentType::well_known(0x030A).encode(),
        [0x03, 0x02, 0x03, 0x0A]
    );
    assert_eq!(
        ContentType::parse_mime("application/vnd.wap.emn+wbxml").unwrap(),
        ContentType::well_known(0x030A)
    );
    let ucs2 = ContentType::parse_mime("text/plain; charset=ucs-2").unwrap();
    assert_eq!(ucs2.encode(), [0x05, 0x83, 0x81, 0x02, 0x03, 0xE8]);
    assert_eq!(
        ContentType::parse_mime(
            "application/vnd.wap.multipart.related; type=application/smil; start=<s>"
        )
        .unwrap()
        .to_string(),
        "application/vnd.wap.multipart.related (0x33); type=\"application/smil\"; start=\"<s>\""
    );
    assert!(ContentType::parse_mime(" ; charset=utf-8").is_err());
}

#[test]
fn header_from_http() {
    assert_eq!(
        Header::from_http("X-Wap-Application-Id", "x-wap-application:mms.ua"),
        Some(Header::ApplicationId(AppId::Code(4)))
    );
    assert_eq!(
        Header::from_http("x-wap-application-id", "x-example:custom.ua"),
        Some(Header::ApplicationId(AppId::Urn(
            "x-example:custom.ua".into()
        )))
    );
    for dropped in [
        "Host",
        "Authorization",
        "User-Agent",
        "Connection",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Content-Type",
    ] {
        assert_eq!(Header::from_http(dropped, "x"), None, "{dropped}");
    }
    assert_eq!(
        Header::from_http("X-Wap-Initiator-URI", "http://pi.example/"),
        Some(Header::InitiatorUri("http://pi.example/".into()))
    );
    assert_eq!(
        Header::from_http("Encoding-Version", "1.3"),
        Some(Header::EncodingVersion(Version::new(1, 3)))
    );
    assert_eq!(
        Header::from_http("X-Operator-Tag", "abc"),
        Some(Header::Application {
            name: "X-Operator-Tag".into(),
            value: "abc".into()
        })
    );
}

#[test]
fn push_with_long_headers_widens_headers_len() {
    let pdu = PushPdu {
        tid: 1,
        pdu_type: PduType::Push,
        content_type: ContentType::well_known(0x2E),
        headers: vec![Header::InitiatorUri("x".repeat(200))],
        body: vec![1, 2, 3],
    };
    let bytes = pdu.encode();
    assert_eq!(
        &bytes[2..4],
        &[0x81, 0x4B],
        "HeadersLen 1 + 1 + 201 = 203 as uintvar"
    );
    assert_eq!(PushPdu::decode(&bytes).unwrap(), pdu);
}

#[test]
fn dissect_names_every_field() {
    let mut d = Dissection::new();
    dissect(&vectors::load("wsp/example_c_si_header.hex"), &mut d).unwrap();
    let s = d.to_string();
    for want in [
        "TID: 0x01",
        "PDU type: Push (0x06)",
        "Content-Type: application/vnd.wap.sic (0x2E); charset=utf-8 (MIBenum 106)",
        "Encoding-Version: 1.5",
        "Content-Length: 162",
        "Push-Flag: 0x04 (last push message)",
    ] {
        assert!(s.contains(want), "{want:?} not in\n{s}");
    }
    let mut d = Dissection::new();
    dissect(&vectors::load("wsp/example_a_mms_push.hex"), &mut d).unwrap();
    let s = d.to_string();
    for want in [
        "X-Wap-Application-Id: x-wap-application:mms.ua (code 0x04)",
        "MMS m-notification-ind",
        "X-Mms-Expiry (0x88): relative 72000 s",
        "X-Mms-Message-Class (0x8A): Personal (0x80)",
        "http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA",
    ] {
        assert!(s.contains(want), "{want:?} not in\n{s}");
    }
}

// ---- property tests ----

fn text() -> impl Strategy<Value = String> {
    "[ -~\u{e9}\u{4e2d}\u{1}]{0,40}"
}

fn nonempty_token() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9.+-]{0,30}"
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![
        (0u8..0x80).prop_map(Version::Short),
        "[0-9][0-9.]{0,5}".prop_map(Version::Text)
    ]
}

fn param() -> impl Strategy<Value = Parameter> {
    let name = prop_oneof![
        (1u8..0x1E).prop_map(ParamName::WellKnown),
        nonempty_token().prop_map(ParamName::Text)
    ];
    let value = prop_oneof![
        any::<u64>().prop_map(ParamValue::Integer),
        text().prop_map(ParamValue::Text)
    ];
    (name, value).prop_map(|(name, value)| Parameter { name, value })
}

fn content_type() -> impl Strategy<Value = ContentType> {
    let media = prop_oneof![
        (0u32..0x10000).prop_map(Media::WellKnown),
        "[a-z]{1,10}/[a-z0-9.+-]{1,30}".prop_map(Media::Text)
    ];
    (media, prop::collection::vec(param(), 0..4))
        .prop_map(|(media, params)| ContentType { media, params })
}

fn header() -> impl Strategy<Value = Header> {
    let uri = "[!-~][ -~]{0,50}";
    let raw_value = prop_oneof![
        (0x80u8..=0xFF).prop_map(|b| vec![b]),
        prop::collection::vec(any::<u8>(), 0..30).prop_map(|v| {
            let mut o = vec![v.len() as u8];
            o.extend(v);
            o
        }),
        "[ -~&&[^\u{7f}]]{1,20}".prop_map(|s| {
            let mut o = s.into_bytes();
            o.push(0);
            o
        })
    ];
    prop_oneof![
        (0u32..0x10000).prop_map(|c| Header::ApplicationId(AppId::Code(c))),
        uri.prop_map(|u| Header::ApplicationId(AppId::Urn(u))),
        uri.prop_map(Header::InitiatorUri),
        uri.prop_map(Header::ContentUri),
        any::<u64>().prop_map(Header::ContentLength),
        uri.prop_map(Header::ContentLocation),
        version().prop_map(Header::EncodingVersion),
        (0u8..0x80).prop_map(Header::PushFlag),
        text().prop_map(Header::ContentId),
        any::<u64>().prop_map(Header::Date),
        any::<u64>().prop_map(Header::Expires),
        (
            (0u8..0x80).prop_filter("typed", |c| !ppgd::wsp::header::TYPED_CODES.contains(c)),
            raw_value
        )
            .prop_map(|(code, value)| Header::WellKnown { code, value }),
        (nonempty_token(), text()).prop_map(|(name, value)| Header::Application { name, value }),
    ]
}

proptest! {
    #[test]
    fn uintvar_roundtrip(v in any::<u32>()) {
        let mut o = Vec::new();
        put_uintvar(&mut o, v);
        prop_assert!(o.len() <= 5);
        let mut r = Reader::new(&o);
        prop_assert_eq!(r.uintvar("x"), Ok(v));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn integer_roundtrips(v in any::<u64>(), s in 0u8..0x80) {
        let mut o = Vec::new();
        put_long_integer(&mut o, v);
        put_integer_value(&mut o, v);
        put_short_integer(&mut o, s);
        let mut r = Reader::new(&o);
        prop_assert_eq!(r.long_integer("x"), Ok(v));
        prop_assert_eq!(r.integer_value("x"), Ok(v));
        prop_assert_eq!(r.short_integer("x"), Ok(s));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn value_length_roundtrip(len in 0usize..100_000) {
        let mut o = Vec::new();
        put_value_length(&mut o, len);
        o.resize(o.len() + len, 0xAA);
        prop_assert_eq!(Reader::new(&o).value_length("x"), Ok(len));
    }

    #[test]
    fn text_forms_roundtrip(t in text(), charset in proptest::option::of(0u32..5000), v in version()) {
        let mut o = Vec::new();
        put_text_string(&mut o, &t);
        put_quoted_string(&mut o, &t);
        put_text_value(&mut o, &t);
        let es = EncodedString { charset, text: t.clone().into_bytes() };
        put_encoded_string(&mut o, &es);
        put_version(&mut o, &v);
        let mut r = Reader::new(&o);
        prop_assert_eq!(r.text_string("x"), Ok(t.clone()));
        prop_assert_eq!(r.quoted_string("x"), Ok(t.clone()));
        prop_assert_eq!(r.text_value("x"), Ok(t.clone()));
        prop_assert_eq!(r.encoded_string("x"), Ok(es));
        prop_assert_eq!(r.version_value("x"), Ok(v));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn content_type_roundtrip(ct in content_type()) {
        let o = ct.encode();
        let mut r = Reader::new(&o);
        prop_assert_eq!(ContentType::decode(&mut r), Ok(ct));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn header_roundtrip(h in header()) {
        let mut o = Vec::new();
        h.encode_into(&mut o);
        let mut r = Reader::new(&o);
        prop_assert_eq!(Header::decode(&mut r), Ok(h));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn push_pdu_roundtrip(
        tid in any::<u8>(),
        confirmed in any::<bool>(),
        ct in content_type(),
        headers in prop::collection::vec(header(), 0..8),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let pdu = PushPdu {
            tid,
            pdu_type: if confirmed { PduType::ConfirmedPush } else { PduType::Push },
            content_type: ct,
            headers,
            body,
        };
        prop_assert_eq!(PushPdu::decode(&pdu.encode()), Ok(pdu));
    }

    #[test]
    fn multipart_roundtrip(entries in prop::collection::vec(
        (content_type(), prop::collection::vec(header(), 0..3), prop::collection::vec(any::<u8>(), 0..50)),
        0..4,
    )) {
        let entries: Vec<MultipartEntry> = entries
            .into_iter()
            .map(|(content_type, headers, data)| MultipartEntry { content_type, headers, data, offset: 0 })
            .collect();
        let mut o = Vec::new();
        encode_multipart(&entries, &mut o);
        let back: Vec<MultipartEntry> = decode_multipart(&o, 0)
            .unwrap()
            .into_iter()
            .map(|e| MultipartEntry { offset: 0, ..e })
            .collect();
        prop_assert_eq!(back, entries);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = PushPdu::decode(&bytes);
        let _ = decode_multipart(&bytes, 0);
        let _ = dissect(&bytes, &mut Dissection::new());
    }
}

// ---- tshark cross-check ----

/// Runs tshark on `pdus` sent as UDP 9200 → 2948 (text2pcap -u) and returns one line of
/// tab-separated `fields` per packet, or None (with a printed notice) when tshark is missing.
pub fn tshark_fields(pdus: &[Vec<u8>], fields: &[&str]) -> Option<Vec<String>> {
    use std::process::Command;
    let have = |tool: &str| {
        Command::new(tool)
            .arg("-v")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !have("tshark") || !have("text2pcap") {
        eprintln!("NOTICE: tshark/text2pcap not on PATH: tshark cross-check skipped");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("ppgd-wsp-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut dump = String::new();
    for p in pdus {
        for (i, chunk) in p.chunks(16).enumerate() {
            dump.push_str(&format!("{:06x} {}\n", i * 16, ppgd::decode::hex(chunk)));
        }
    }
    let txt = dir.join(format!("in-{}.txt", fields.len()));
    let pcap = dir.join(format!("out-{}.pcap", fields.len()));
    std::fs::write(&txt, dump).unwrap();
    let st = Command::new("text2pcap")
        .args(["-q", "-u", "9200,2948"])
        .arg(&txt)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "text2pcap: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&pcap).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn tshark_agrees_on_wsp_fields() {
    let files = [
        "wsp/example_a_mms_push.hex",
        "wsp/example_b_binary_mms.hex",
        "wsp/example_c_si_header.hex",
        "wsp/kannel_si.hex",
        "wsp/confirmed_push.hex",
        "wsp/text_ct_params.hex",
    ];
    let pdus: Vec<Vec<u8>> = files.iter().map(|f| vectors::load(f)).collect();
    let Some(lines) = tshark_fields(
        &pdus,
        &[
            "wsp.TID",
            "wsp.pdu_type",
            "wsp.header.content_type",
            "wsp.header.x_wap_application_id",
            "wsp.headers_length",
            "wsp.header.encoding_version",
            "wsp.header.content_length",
            "wsp.header.push_flag.last",
        ],
    ) else {
        return;
    };
    assert_eq!(lines.len(), pdus.len(), "{lines:?}");
    for ((line, pdu), file) in lines.iter().zip(&pdus).zip(files) {
        let ours = PushPdu::decode(pdu).unwrap();
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 8, "{file}: {line}");
        assert_eq!(cols[0], format!("0x{:02x}", ours.tid), "{file}: {line}");
        assert_eq!(
            cols[1],
            format!("0x{:02x}", ours.pdu_type.to_u8()),
            "{file}: {line}"
        );
        assert_eq!(
            Some(cols[2]),
            ours.content_type.media_name(),
            "{file}: {line}"
        );
        match ours.header(|h| matches!(h, Header::ApplicationId(_))) {
            Some(Header::ApplicationId(id)) => {
                assert_eq!(Some(cols[3]), id.urn(), "{file}: {line}")
            }
            _ => assert_eq!(cols[3], "", "{file}: {line}"),
        }
        let headers_len = Reader::new(&pdu[2..]).uintvar("x").unwrap();
        assert_eq!(cols[4], headers_len.to_string(), "{file}: {line}");
        let find =
            |f: fn(&Header) -> Option<String>| ours.headers.iter().find_map(f).unwrap_or_default();
        assert_eq!(
            cols[5],
            find(|h| match h {
                Header::EncodingVersion(v) => Some(v.to_string()),
                _ => None,
            }),
            "{file}: {line}"
        );
        assert_eq!(
            cols[6],
            find(|h| match h {
                Header::ContentLength(n) => Some(n.to_string()),
                _ => None,
            }),
            "{file}: {line}"
        );
        assert_eq!(
            cols[7],
            find(|h| match h {
                Header::PushFlag(f) => Some(((f & PUSH_FLAG_LAST) >> 2).to_string()),
                _ => None,
            }),
            "{file}: {line}"
        );
    }
}
