#![no_main]
//! address-value grammar: never panics; a parsed address written canonically parses back to the
//! same address and the canonical text is a fixed point; msisdn() yields only E.164 digits.

use ppgd::pap::Address;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(a) = Address::parse(text) else { return };
    let canon = a.to_string();
    let b = Address::parse(&canon).expect("the canonical form parses");
    assert_eq!(b.kind, a.kind);
    assert_eq!(b.value, a.value);
    assert_eq!(b.qualifiers, a.qualifiers);
    assert_eq!(b.ppg, a.ppg);
    assert_eq!(b.to_string(), canon);
    if let Ok(digits) = a.msisdn() {
        assert!((3..=15).contains(&digits.len()));
        assert!(digits.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(b.msisdn().expect("same number"), digits);
    }
});
