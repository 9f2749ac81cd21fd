#![no_main]
//! `ppgd decode` on arbitrary input: never panics, whatever the format guessed or forced, and a
//! successful dissection always says something.

use ppgd::decode::{Input, Kind, dissect_input};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Up to three segments, split at 0xFF octets, as an operator pasting several SMS would.
    let items: Vec<Vec<u8>> = data
        .split(|&b| b == 0xFF)
        .take(3)
        .map(<[u8]>::to_vec)
        .collect();
    let input = Input::Octets(items);
    if let Ok(d) = dissect_input(&input, None) {
        assert!(!d.is_empty());
    }
    for kind in [Kind::Sms, Kind::Wsp, Kind::Mms, Kind::Wbxml, Kind::Smpp] {
        let _ = dissect_input(&input, Some(kind));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dissect_input(&Input::Text(text.to_string()), None);
    }
});
