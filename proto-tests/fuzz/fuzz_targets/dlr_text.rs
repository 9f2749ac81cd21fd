#![no_main]
//! The Appendix B receipt text parser never panics, and the id it returns is a substring of the
//! input (it never invents one). The id's canonical form (per-SMSC message-id formats) never
//! panics either, and a numeric one is the decimal of the number the id spells.
use ppgd::smpp::pdu::{MessageIdFormat, canonical_message_id, parse_receipt_text};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_receipt_text(data) {
        let id = r.id.as_bytes();
        assert!(!id.is_empty());
        assert!(data.windows(id.len()).any(|w| w == id), "id not in input");
        assert!(id.iter().all(|b| b.is_ascii_graphic()));
        assert_eq!(canonical_message_id(&r.id, MessageIdFormat::String), r.id);
        for f in [MessageIdFormat::Decimal, MessageIdFormat::Hex] {
            let c = canonical_message_id(&r.id, f);
            // Either kept as given or a canonical decimal number (no leading zero but "0").
            if c != r.id {
                assert!(c.bytes().all(|b| b.is_ascii_digit()), "{c}");
                assert!(c == "0" || !c.starts_with('0'), "{c}");
            }
        }
    }
});
