//! `ppgd decode`: format guessing and the whole chain, on the annotated vectors and through the
//! real binary.

use ppgd::decode::{Input, Kind, dissect_input, guess};

use super::vectors::load;

fn show(input: &Input) -> String {
    dissect_input(input, None).unwrap().to_string()
}

#[test]
fn example_a_segments_in_any_order_show_the_whole_notification() {
    let a1 = load("sms/example-a-1.hex");
    let a2 = load("sms/example-a-2.hex");
    for items in [vec![a1.clone(), a2.clone()], vec![a2, a1]] {
        assert_eq!(guess(&items), Some(Kind::Sms));
        let text = show(&Input::Octets(items));
        // UDH, reassembly, WSP, MMS, every value in full.
        for want in [
            "2948",
            "application/vnd.wap.mms-message",
            "mms.ua",
            "NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA",
            "+447785342749/TYPE=PLMN",
            "http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA",
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}

#[test]
fn each_format_is_recognised_alone() {
    let cases = [
        (
            "wsp/example_a_mms_push.hex",
            Kind::Wsp,
            "m-notification-ind",
        ),
        ("mms/delivery_ind.hex", Kind::Mms, "m-delivery-ind"),
        (
            "wbxml/si-kannel-userguide.hex",
            Kind::Wbxml,
            "http://wap.iobox.fi",
        ),
        ("sms/one-segment-udh.hex", Kind::Sms, "2948"),
    ];
    for (file, kind, word) in cases {
        let bytes = load(file);
        assert_eq!(guess(std::slice::from_ref(&bytes)), Some(kind), "{file}");
        let text = show(&Input::Octets(vec![bytes]));
        assert!(text.contains(word), "{file}: {word} missing from:\n{text}");
    }
}

#[test]
fn pap_and_si_text_documents_are_dissected() {
    let pap = super::vectors::text("pap/push-1.0-kannel.xml");
    let text = show(&Input::Text(pap));
    assert!(text.contains("PAP 1.0 push-message"), "{text}");
    assert!(text.contains("push-id: "), "{text}");
    let si = r#"<?xml version="1.0"?><si><indication href="http://www.example.com/a" si-id="7">Hi</indication></si>"#;
    let text = show(&Input::Text(si.into()));
    assert!(text.contains("application/vnd.wap.sic"), "{text}");
    assert!(text.contains("http://www.example.com/a"), "{text}");
}

#[test]
fn garbage_is_refused_with_what_was_tried() {
    let err = dissect_input(&Input::Octets(vec![vec![0xFF, 0x00, 0x13]]), None).unwrap_err();
    assert!(err.to_string().contains("tried"), "{err}");
    assert!(ppgd::decode::parse_hex("0B 8").is_err());
    assert_eq!(
        ppgd::decode::parse_hex("0x0B:84 23f0").unwrap(),
        [0x0B, 0x84, 0x23, 0xF0]
    );
}

#[test]
fn the_binary_decodes_pasted_hex_and_files() {
    let exe = env!("CARGO_BIN_EXE_ppgd");
    let hex = |file: &str| ppgd::decode::hex(&load(file)).replace(' ', "");
    let out = std::process::Command::new(exe)
        .args([
            "decode",
            &hex("sms/example-a-2.hex"),
            &hex("sms/example-a-1.hex"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA"),
        "{text}"
    );
    // A file with the two segments as paragraphs.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("trace.txt");
    std::fs::write(
        &f,
        format!(
            "{}\n\n{}\n",
            hex("sms/example-a-1.hex"),
            hex("sms/example-a-2.hex")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["decode", "--file"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("m-notification-ind"));
    // Garbage: a non-zero exit and a message.
    let out = std::process::Command::new(exe)
        .args(["decode", "zz"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not hex"));
}
