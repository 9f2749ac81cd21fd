#![no_main]
//! PAP document parser: never panics; whatever parses is written, and the written form parses
//! back and is stable under another write (addresses and times are canonicalised on the first
//! write, so the second write is the fixed point). Errors keep their quoted fragment bounded.
//! The XML reader's scanner gives what quick-xml alone gives (tree, offsets, errors), under the
//! default limits and tight ones.

use ppgd::pap::xml::{self, XmlLimits};
use ppgd::pap::{MAX_FRAGMENT, PapDocument};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let tight = XmlLimits {
        max_depth: 3,
        max_elements: 4,
        ..XmlLimits::default()
    };
    for limits in [XmlLimits::default(), tight] {
        assert_eq!(
            xml::read(data, &limits),
            xml::read_with_quick_xml(data, &limits),
            "the scanner and quick-xml differ"
        );
    }
    match PapDocument::parse(data) {
        Ok(d) => {
            let xml = d.to_xml();
            let d2 = PapDocument::parse(xml.as_bytes()).expect("a written document parses");
            assert_eq!(d2.version, d.version);
            assert_eq!(d2.message.element(), d.message.element());
            let xml2 = d2.to_xml();
            assert_eq!(xml2, xml, "write is a fixed point after one round");
            assert_eq!(PapDocument::parse(xml2.as_bytes()).expect("again"), d2);
        }
        Err(e) => {
            assert!(e.fragment.chars().count() <= MAX_FRAGMENT);
            assert!(e.offset <= data.len());
            assert!(e.line >= 1);
            let _ = e.pap_code();
            let _ = e.to_string();
        }
    }
});
