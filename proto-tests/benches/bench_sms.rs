//! SMS segmentation: the 182-octet m-notification-ind of Example A (digest §3.5) split in Udh8
//! mode (2 segments). The lead chains the WSP encode step in front once that module lands.

use std::hint::black_box;

use criterion::Criterion;
use ppgd::sms::{Carriage, Ports, segment};

/// Example A's WSP Push PDU (proto-tests/vectors/sms/example-a-pdu.hex), built inline so the
/// bench does not read files.
fn example_a_pdu() -> Vec<u8> {
    let mut pdu = vec![0x01, 0x06, 0x22];
    pdu.extend_from_slice(b"application/vnd.wap.mms-message\0");
    pdu.extend_from_slice(&[0xAF, 0x84, 0x8C, 0x82, 0x98]);
    pdu.extend_from_slice(b"NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA\0");
    pdu.extend_from_slice(&[0x8D, 0x90, 0x89, 0x19, 0x80]);
    pdu.extend_from_slice(b"+447785342749/TYPE=PLMN\0");
    pdu.extend_from_slice(&[0x8A, 0x80, 0x8E, 0x02, 0x74, 0x00]);
    pdu.extend_from_slice(&[0x88, 0x05, 0x81, 0x03, 0x01, 0x19, 0x40, 0x83]);
    pdu.extend_from_slice(b"http://promms/servlets/NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA\0");
    pdu
}

pub fn benches(c: &mut Criterion) {
    let pdu = example_a_pdu();
    assert_eq!(pdu.len(), 182);
    c.bench_function("sms/segment_udh8_182", |b| {
        b.iter(|| {
            segment(
                black_box(&pdu),
                Carriage::Udh8,
                black_box(0x2A),
                Ports::WSP_PUSH,
            )
        })
    });
}
