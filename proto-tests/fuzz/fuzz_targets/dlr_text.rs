#![no_main]
//! The Appendix B receipt text parser never panics, and the id it returns is a substring of the
//! input (it never invents one).
use ppgd::smpp::pdu::parse_receipt_text;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_receipt_text(data) {
        let id = r.id.as_bytes();
        assert!(!id.is_empty());
        assert!(data.windows(id.len()).any(|w| w == id), "id not in input");
        assert!(id.iter().all(|b| b.is_ascii_graphic()));
    }
});
