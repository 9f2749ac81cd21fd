#![no_main]
//! Arbitrary text → `wbxml::compile` (SI, SL or CO by root element) never panics; whatever it
//! accepts decompiles to the document the text parsed to, and that document's own XML parses
//! back to it.
use ppgd::wbxml::{self, Document};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = wbxml::compile(data) else {
        return;
    };
    let doc = Document::from_xml(data).expect("compile accepted it, so from_xml does");
    assert_eq!(
        wbxml::decompile(&bytes).expect("our own WBXML decodes"),
        doc
    );
    let xml = doc.to_xml().expect("an accepted document writes as XML");
    assert_eq!(
        Document::from_xml(xml.as_bytes()).expect("our own XML parses"),
        doc
    );
});
