#![no_main]
//! Arbitrary octets → `wbxml::decompile` never panics; whatever it accepts re-encodes to WBXML
//! that decompiles to the same document, within the input cap, and dissects without error.
use ppgd::wbxml;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let decoded = wbxml::decompile(data);
    let mut d = ppgd::decode::Dissection::new();
    let dissected = wbxml::dissect(data, &mut d);
    assert_eq!(
        decoded.is_ok(),
        dissected.is_ok(),
        "dissect and decompile disagree"
    );
    if let Ok(doc) = decoded {
        let again = doc.to_wbxml().expect("a decompiled document re-encodes");
        assert!(again.len() <= wbxml::token::MAX_INPUT);
        assert_eq!(
            wbxml::decompile(&again).expect("our own output decodes"),
            doc
        );
        // The text form of an accepted document parses back (text may lose outer white space).
        let xml = doc.to_xml().expect("a decompiled document writes as XML");
        wbxml::Document::from_xml(xml.as_bytes()).expect("our own XML parses");
    }
});
