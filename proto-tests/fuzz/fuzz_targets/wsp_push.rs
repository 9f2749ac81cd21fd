#![no_main]
//! WSP Push PDU decoder: never panics; whatever decodes re-encodes to a PDU that decodes equal, and
//! re-encoding that is stable (encode is a fixed point after one round). The dissector never
//! panics either.

use ppgd::wsp::{PushPdu, decode_multipart};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut d = ppgd::decode::Dissection::new();
    let _ = ppgd::wsp::dissect(data, &mut d);
    let _ = decode_multipart(data, 0);
    if let Ok(pdu) = PushPdu::decode(data) {
        let bytes = pdu.encode();
        let again = PushPdu::decode(&bytes).expect("re-encoded PDU must decode");
        assert_eq!(again, pdu, "decode(encode(decode(x))) != decode(x)");
        assert_eq!(again.encode(), bytes, "encoding is not stable");
        // The body is carried through untouched.
        assert!(data.ends_with(&pdu.body));
    }
});
