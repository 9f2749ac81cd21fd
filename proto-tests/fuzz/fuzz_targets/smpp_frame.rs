#![no_main]
//! The tolerant SMPP codec on arbitrary octets: it never panics, every frame consumes exactly its
//! command_length (alignment is never lost, so one bad PDU costs one generic_nack, not the
//! session), and encoding whatever was decoded never panics either.
//!
//! No round trip is asserted here: ppgd never re-encodes a PDU it decoded (it is not an SMPP
//! proxy), and rusmpp 0.4.0 does not round-trip every shape it accepts — found by this target on
//! 2026-11-25: an alert_notification, a bind_*_resp with an error status and a body, and a
//! bind_*_resp with an unknown TLV re-encode to octets rusmpp refuses. The PDUs ppgd builds are
//! checked byte for byte by the unit tests of `smpp::pdu` and the vectors in
//! `proto-tests/vectors/smpp/`.
use ppgd::smpp::codec::{Frame, decode_frames, encode_command};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut at = 0usize;
    for (used, frame) in decode_frames(data) {
        let declared = data
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .expect("a frame starts with command_length");
        assert_eq!(used, declared, "a frame consumes exactly command_length");
        at += used;
        if let Frame::Command(cmd) = frame {
            let wire = encode_command(&cmd);
            assert!(wire.len() >= 16, "an encoded PDU has at least its header");
        }
    }
    assert!(at <= data.len());
});
