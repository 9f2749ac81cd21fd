#![no_main]
//! MMS decoders: generic decode, validation and dissection never panic; a decoded
//! m-notification-ind re-encodes and decodes equal; a PDU the validator accepts decodes to the
//! same notification the lenient decoder gives; the generic decoder's re-encoding decodes equal.
//! The gateway's check (no decoded value) agrees with the validator, violations included.

use ppgd::mms::{MmsPdu, NotificationInd, check_notification, validate_notification};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut d = ppgd::decode::Dissection::new();
    let _ = ppgd::mms::dissect(data, &mut d);
    if let Ok(pdu) = MmsPdu::decode(data) {
        let bytes = pdu.encode();
        let again = MmsPdu::decode(&bytes).expect("re-encoded MMS PDU must decode");
        let strip = |p: &MmsPdu| {
            p.headers
                .iter()
                .map(|h| (h.code, h.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again), strip(&pdu));
        assert_eq!(again.body, pdu.body);
        let _ = pdu.parts();
    }
    let validated = validate_notification(data);
    assert_eq!(
        check_notification(data),
        validated.as_ref().map(|_| ()).map_err(Clone::clone)
    );
    if let Ok(n) = NotificationInd::decode(data) {
        let bytes = n.encode();
        assert_eq!(NotificationInd::decode(&bytes).as_ref(), Ok(&n));
        if let Ok(v) = &validated {
            assert_eq!(v, &n);
        }
    } else {
        assert!(
            validated.is_err(),
            "validator accepted what the decoder refuses"
        );
    }
});
