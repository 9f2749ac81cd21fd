//! SMS user data: UDH vectors (positive and negative), the four carriage modes against their
//! vectors, segmentation/reassembly over the whole length range, and a tshark cross-check.

use std::process::Command;

use ppgd::decode::Dissection;
use ppgd::sms::{
    Carriage, Concat, Fragment, InformationElement, MAX_SEGMENTS, MAX_USER_DATA, Ports, Progress,
    Reassembler, ReassemblyError, Sar, Segment, UdhError, UserDataHeader, dissect_user_data,
    segment, segment_count, split_user_data,
};
use proptest::prelude::*;

use crate::vectors;

fn v(name: &str) -> Vec<u8> {
    vectors::load(&format!("sms/{name}.hex"))
}

/// The SMPP TLVs of a segment the way the SarTlv / MessagePayload vectors lay them out
/// (SMPP 3.4 §5.3.2: tag, length, value; big-endian).
fn tlv(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    out.extend_from_slice(value);
}

fn sar_tlvs(seg: &Segment) -> Vec<u8> {
    let mut out = Vec::new();
    let sar = seg.sar.expect("SAR TLVs");
    let ports = seg.ports_tlv.expect("port TLVs");
    tlv(&mut out, 0x020C, &sar.reference.to_be_bytes());
    tlv(&mut out, 0x020E, &[sar.total]);
    tlv(&mut out, 0x020F, &[sar.seqnum]);
    tlv(&mut out, 0x020A, &ports.source.to_be_bytes());
    tlv(&mut out, 0x020B, &ports.destination.to_be_bytes());
    out
}

// ---- UDH decoding of captured and published headers

#[test]
fn example_a_concat_first_decodes_and_reassembles() {
    let (s1, s2, pdu) = (v("example-a-1"), v("example-a-2"), v("example-a-pdu"));
    assert_eq!((s1.len(), s2.len(), pdu.len()), (140, 68, 182));
    let (udh, payload) = split_user_data(&s1).unwrap();
    assert_eq!(
        udh.elements,
        [
            InformationElement::Concat16 {
                reference: 0x9F8E,
                total: 2,
                seqnum: 1
            },
            InformationElement::Ports16(Ports::WSP_PUSH),
        ]
    );
    assert_eq!(payload.len(), 127);
    // Re-encoding keeps the capture's order (concat first).
    assert_eq!(udh.to_vec().unwrap(), s1[..13]);

    // Second segment first: order of arrival does not matter.
    let mut r = Reassembler::<&str, u64>::new(8);
    let first = r.push("+447785342749", Fragment::from_user_data(&s2).unwrap(), 0);
    assert_eq!(
        first,
        Ok(Progress::Pending {
            received: 1,
            total: 2
        })
    );
    let Ok(Progress::Complete(done)) =
        r.push("+447785342749", Fragment::from_user_data(&s1).unwrap(), 1)
    else {
        panic!("Example A did not complete");
    };
    assert_eq!(done.payload, pdu);
    assert_eq!(done.ports, Some(Ports::WSP_PUSH));

    // Our Udh16 encoder with the capture's reference splits the PDU at the same octet (127),
    // with the port IE first.
    let segs = segment(&pdu, Carriage::Udh16, 0x9F8E, Ports::WSP_PUSH).unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].user_data[13..], s1[13..]);
    assert_eq!(segs[1].user_data[13..], s2[13..]);
    assert_eq!(
        segs[1].user_data[..13],
        [
            0x0C, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x08, 0x04, 0x9F, 0x8E, 0x02, 0x02
        ]
    );
}

#[test]
fn example_c_ports_first_8bit_reference() {
    for n in 1..=2u8 {
        let udh_octets = v(&format!("example-c-udh-{n}"));
        let (udh, used) = UserDataHeader::decode(&udh_octets).unwrap();
        assert_eq!(used, 12);
        assert_eq!(
            udh.elements,
            [
                InformationElement::Ports16(Ports::WSP_PUSH),
                InformationElement::Concat8 {
                    reference: 0x96,
                    total: 2,
                    seqnum: n
                },
            ]
        );
        assert_eq!(udh.to_vec().unwrap(), udh_octets);
    }
}

#[test]
fn dsv_concat_total_one_is_accepted_and_complete() {
    let ud = v("dsv-si-udh");
    let (udh, payload) = split_user_data(&ud).unwrap();
    assert_eq!(
        udh.concat(),
        Some(Concat {
            reference: 1,
            wide: false,
            total: 1,
            seqnum: 1
        })
    );
    assert_eq!(payload[..2], [0x01, 0x06]);
    let mut r = Reassembler::<(), u8>::new(1);
    let Ok(Progress::Complete(done)) = r.push((), Fragment::from_user_data(&ud).unwrap(), 0) else {
        panic!("total 1 must complete at once");
    };
    assert_eq!(done.payload, payload);
    assert_eq!(r.pending(), 0);
}

#[test]
fn negative_vectors_name_the_exact_error() {
    let cases = [
        (
            "bad-udhl-past-end",
            UdhError::UdhlPastEnd {
                udhl: 12,
                available: 11,
            },
        ),
        (
            "bad-ie-length-past-udhl",
            UdhError::IeLengthPastUdhl {
                iei: 0x05,
                offset: 1,
                length: 4,
                remaining: 3,
            },
        ),
        (
            "bad-concat-wrong-length",
            UdhError::WrongLength {
                iei: 0x00,
                offset: 7,
                length: 4,
                expected: 3,
            },
        ),
        (
            "bad-seqnum-zero",
            UdhError::SeqnumOutOfRange {
                offset: 7,
                seqnum: 0,
                total: 3,
            },
        ),
        (
            "bad-seqnum-over-total",
            UdhError::SeqnumOutOfRange {
                offset: 7,
                seqnum: 4,
                total: 3,
            },
        ),
        ("bad-total-zero", UdhError::TotalZero { offset: 1 }),
        (
            "bad-ie-truncated",
            UdhError::IeTruncated {
                iei: 0x00,
                offset: 7,
            },
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(split_user_data(&v(name)).err(), Some(expected), "{name}");
    }
}

// ---- our encoder against the vectors, every carriage mode

#[test]
fn one_segment_notification_has_ports_only() {
    let pdu = v("mms-notification-110");
    assert_eq!(pdu.len(), 110);
    for carriage in [Carriage::Udh8, Carriage::Udh16] {
        let segs = segment(&pdu, carriage, 0x2A5C, Ports::WSP_PUSH).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].user_data, v("one-segment-udh"));
        assert!(segs[0].udhi && !segs[0].in_message_payload);
        assert_eq!((segs[0].sar, segs[0].ports_tlv), (None, None));
    }
    let segs = segment(&pdu, Carriage::SarTlv, 0x2A5C, Ports::WSP_PUSH).unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].user_data, pdu);
    assert_eq!((segs[0].udhi, segs[0].sar), (false, None));
    assert_eq!(segs[0].ports_tlv, Some(Ports::WSP_PUSH));
}

#[test]
fn three_segment_notification_udh8_and_udh16() {
    let pdu = v("mms-notification-300");
    assert_eq!(pdu.len(), 300);
    for (carriage, reference, prefix) in [
        (Carriage::Udh8, 0x2A, "three-segment-udh8"),
        (Carriage::Udh16, 0x2A5C, "three-segment-udh16"),
    ] {
        let segs = segment(&pdu, carriage, reference, Ports::WSP_PUSH).unwrap();
        assert_eq!(segs.len(), 3, "{prefix}");
        let mut r = Reassembler::<(), u8>::new(1);
        let mut out = None;
        for (i, seg) in segs.iter().enumerate().rev() {
            let expected = v(&format!("{prefix}-{}", i + 1));
            assert_eq!(seg.user_data, expected, "{prefix} segment {}", i + 1);
            assert!(seg.udhi && seg.user_data.len() <= MAX_USER_DATA);
            if let Progress::Complete(d) = r
                .push((), Fragment::from_user_data(&expected).unwrap(), 0)
                .unwrap()
            {
                out = Some(d.payload);
            }
        }
        assert_eq!(out.as_deref(), Some(pdu.as_slice()), "{prefix}");
    }
}

#[test]
fn sar_tlv_mode_values_per_segment() {
    let pdu = v("mms-notification-300");
    let segs = segment(&pdu, Carriage::SarTlv, 0x2A5C, Ports::WSP_PUSH).unwrap();
    assert_eq!(segs.len(), 3);
    for (i, seg) in segs.iter().enumerate() {
        let n = u8::try_from(i + 1).unwrap();
        assert_eq!(
            seg.sar,
            Some(Sar {
                reference: 0x2A5C,
                total: 3,
                seqnum: n
            })
        );
        assert!(!seg.udhi && !seg.in_message_payload);
        // The SMSC prepends a 12-octet UDH (ports + 8-bit concat): it must still fit.
        assert!(seg.user_data.len() + 12 <= MAX_USER_DATA);
        let mut wire = sar_tlvs(seg);
        wire.extend_from_slice(&seg.user_data);
        assert_eq!(wire, v(&format!("sar-tlv-{n}")), "segment {n}");
    }
}

#[test]
fn message_payload_mode() {
    let pdu = v("mms-notification-110");
    let segs = segment(&pdu, Carriage::MessagePayload, 0, Ports::WSP_PUSH).unwrap();
    assert_eq!(segs.len(), 1);
    let seg = &segs[0];
    assert!(seg.in_message_payload && !seg.udhi && seg.sar.is_none());
    let ports = seg.ports_tlv.unwrap();
    let mut wire = Vec::new();
    tlv(&mut wire, 0x020B, &ports.destination.to_be_bytes());
    tlv(&mut wire, 0x020A, &ports.source.to_be_bytes());
    tlv(&mut wire, 0x0424, &seg.user_data);
    assert_eq!(wire, v("message-payload"));
}

#[test]
fn dissects_example_a_in_any_order() {
    let (s1, s2) = (v("example-a-1"), v("example-a-2"));
    let mut d = Dissection::new();
    let ud = dissect_user_data(&[&s2, &s1], &mut d).unwrap();
    assert_eq!(ud.payload, v("example-a-pdu"));
    assert_eq!(
        (ud.destination_port, ud.source_port),
        (Some(2948), Some(9200))
    );
    let text = d.to_string();
    for needle in [
        "IE 0x08 Concatenated short messages, 16-bit reference",
        "reference: 0x9F8E (40846)",
        "part: 2",
        "destination port: 2948 (WSP push)",
        "source port: 9200 (WSP connectionless)",
        "Reassembled payload",
        "length: 182",
        "hex: 01 06 22 61",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // One missing segment is reported, not guessed.
    assert!(dissect_user_data(&[&s2], &mut Dissection::new()).is_err());
}

// ---- segmentation then reassembly over the whole range

fn reassemble(segs: &[Segment], order: &[usize]) -> Vec<u8> {
    let mut r = Reassembler::<(), u8>::new(1);
    let mut out = None;
    for &i in order {
        let seg = &segs[i];
        let frag = if seg.udhi {
            Fragment::from_user_data(&seg.user_data).unwrap()
        } else {
            Fragment::from_sar(&seg.user_data, seg.sar, seg.ports_tlv)
        };
        // The ports in every segment (as IE or TLVs); concatenation only when there are several.
        assert_eq!(frag.ports, Some(Ports::WSP_PUSH));
        assert_eq!(frag.concat.is_some(), segs.len() > 1);
        match r.push((), frag, 0).unwrap() {
            Progress::Complete(d) => {
                assert!(out.is_none(), "completed twice");
                out = Some(d.payload);
            }
            Progress::Pending { .. } => {}
            Progress::Duplicate => panic!("no duplicates were sent"),
        }
    }
    out.expect("message completed")
}

fn check_segments(pdu: &[u8], carriage: Carriage, segs: &[Segment]) {
    assert_eq!(segs.len(), segment_count(pdu.len(), carriage));
    for seg in segs {
        match carriage {
            Carriage::MessagePayload => assert!(seg.in_message_payload),
            // The SMSC adds the port IE (7 octets with UDHL), and the 8-bit concat IE (5) when SAR.
            Carriage::SarTlv => {
                let udh = if seg.sar.is_some() { 12 } else { 7 };
                assert!(seg.user_data.len() + udh <= MAX_USER_DATA);
                assert_eq!(seg.sar.is_some(), segs.len() > 1);
            }
            // Ports and concat IEs are checked as `reassemble` decodes them.
            Carriage::Udh8 | Carriage::Udh16 => {
                assert!(seg.udhi && seg.user_data.len() <= MAX_USER_DATA)
            }
        }
    }
}

fn pattern() -> Vec<u8> {
    (0..=65536u32).map(|i| (i * 7 + i / 256) as u8).collect()
}

/// Every length from 0 to one past the 255-segment limit; the segments are fed back in a
/// length-dependent rotated (and for odd lengths reversed) order.
fn every_length(carriage: Carriage) {
    let data = pattern();
    let per = if carriage == Carriage::Udh16 {
        127
    } else {
        128
    };
    let limit = per * MAX_SEGMENTS;
    for len in 0..=limit + 1 {
        let pdu = &data[..len];
        let result = segment(pdu, carriage, len as u16, Ports::WSP_PUSH);
        if len > limit {
            assert!(result.is_err() && segment_count(len, carriage) > MAX_SEGMENTS);
            continue;
        }
        let segs = result.unwrap();
        check_segments(pdu, carriage, &segs);
        let n = segs.len();
        let order: Vec<usize> = (0..n)
            .map(|i| (i + len) % n)
            .map(|i| if len % 2 == 0 { i } else { n - 1 - i })
            .collect();
        assert_eq!(reassemble(&segs, &order), pdu, "{carriage:?} length {len}");
    }
}

#[test]
fn every_length_round_trips_udh8() {
    every_length(Carriage::Udh8);
}

#[test]
fn every_length_round_trips_udh16() {
    every_length(Carriage::Udh16);
}

#[test]
fn every_length_round_trips_sar_tlv() {
    every_length(Carriage::SarTlv);
}

/// message_payload: every length to one past its 65535-octet limit.
#[test]
fn every_length_round_trips_message_payload() {
    let data = pattern();
    for len in 0..=65536usize {
        let pdu = &data[..len];
        match segment(pdu, Carriage::MessagePayload, 0, Ports::WSP_PUSH) {
            Ok(segs) => {
                check_segments(pdu, Carriage::MessagePayload, &segs);
                assert_eq!(reassemble(&segs, &[0]), pdu);
            }
            Err(_) => assert_eq!(len, 65536),
        }
        assert_eq!(
            segment_count(len, Carriage::MessagePayload) > MAX_SEGMENTS,
            len > 65535
        );
    }
}

fn carriage() -> impl Strategy<Value = Carriage> {
    prop_oneof![
        Just(Carriage::Udh8),
        Just(Carriage::Udh16),
        Just(Carriage::SarTlv),
        Just(Carriage::MessagePayload),
    ]
}

fn ie() -> impl Strategy<Value = InformationElement> {
    prop_oneof![
        (any::<u8>(), 1..=255u8)
            .prop_flat_map(|(r, t)| (Just(r), Just(t), 1..=t))
            .prop_map(|(reference, total, seqnum)| InformationElement::Concat8 {
                reference,
                total,
                seqnum
            }),
        (any::<u16>(), 1..=255u8)
            .prop_flat_map(|(r, t)| (Just(r), Just(t), 1..=t))
            .prop_map(|(reference, total, seqnum)| InformationElement::Concat16 {
                reference,
                total,
                seqnum
            }),
        (any::<u8>(), any::<u8>()).prop_map(|(destination, source)| InformationElement::Ports8 {
            destination,
            source
        }),
        (any::<u16>(), any::<u16>()).prop_map(|(destination, source)| {
            InformationElement::Ports16(Ports {
                destination,
                source,
            })
        }),
        (
            any::<u8>().prop_filter("typed IEI", |i| ![0, 4, 5, 8].contains(i)),
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(iei, data)| InformationElement::Other { iei, data }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn udh_decode_encode_round_trip(
        elements in proptest::collection::vec(ie(), 0..8),
        payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let udh = UserDataHeader::new(elements);
        let mut ud = udh.to_vec().unwrap();
        prop_assert_eq!(ud.len(), udh.encoded_len());
        ud.extend_from_slice(&payload);
        let (back, rest) = split_user_data(&ud).unwrap();
        prop_assert_eq!(back, udh);
        prop_assert_eq!(rest, payload.as_slice());
    }

    #[test]
    fn shuffled_segments_reassemble(
        pdu in proptest::collection::vec(any::<u8>(), 0..4000),
        carriage in carriage(),
        reference in any::<u16>(),
        seed in any::<u64>(),
    ) {
        let segs = segment(&pdu, carriage, reference, Ports::WSP_PUSH).unwrap();
        check_segments(&pdu, carriage, &segs);
        // Fisher-Yates with a tiny LCG: a different order per case.
        let mut order: Vec<usize> = (0..segs.len()).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(reassemble(&segs, &order), pdu);
    }
}

// ---- independent decoder: tshark

/// One SMPP 3.4 submit_sm (§4.4.1) carrying a segment, as the SMPP layer will send it.
fn submit_sm(sequence: u32, seg: &Segment) -> Vec<u8> {
    let mut body = vec![0x00]; // service_type ""
    body.extend_from_slice(&[0x01, 0x01]);
    body.extend_from_slice(b"ppgd\0");
    body.extend_from_slice(&[0x01, 0x01]);
    body.extend_from_slice(b"447700900123\0");
    body.push(if seg.udhi { 0x40 } else { 0x00 }); // esm_class: UDHI
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x04, 0]); // ... data_coding 8-bit
    let short_message: &[u8] = if seg.in_message_payload {
        &[]
    } else {
        &seg.user_data
    };
    body.push(u8::try_from(short_message.len()).unwrap());
    body.extend_from_slice(short_message);
    if let Some(sar) = seg.sar {
        tlv(&mut body, 0x020C, &sar.reference.to_be_bytes());
        tlv(&mut body, 0x020E, &[sar.total]);
        tlv(&mut body, 0x020F, &[sar.seqnum]);
    }
    if let Some(p) = seg.ports_tlv {
        tlv(&mut body, 0x020A, &p.source.to_be_bytes());
        tlv(&mut body, 0x020B, &p.destination.to_be_bytes());
    }
    if seg.in_message_payload {
        tlv(&mut body, 0x0424, &seg.user_data);
    }
    let mut pdu = Vec::new();
    pdu.extend_from_slice(&u32::try_from(16 + body.len()).unwrap().to_be_bytes());
    pdu.extend_from_slice(&4u32.to_be_bytes()); // submit_sm
    pdu.extend_from_slice(&0u32.to_be_bytes());
    pdu.extend_from_slice(&sequence.to_be_bytes());
    pdu.extend_from_slice(&body);
    pdu
}

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

#[test]
fn tshark_reassembles_our_segments() {
    if !on_path("tshark") || !on_path("text2pcap") {
        eprintln!("NOTICE: tshark/text2pcap not on PATH; SMS cross-check skipped");
        return;
    }
    let pdu = v("mms-notification-300");
    let small = v("mms-notification-110");
    // (carriage, pdu, reference): each message in its own capture so reassembly is unambiguous.
    let cases: [(Carriage, &[u8], u16); 6] = [
        (Carriage::Udh8, &pdu, 0x2A),
        (Carriage::Udh16, &pdu, 0x9F8E),
        (Carriage::SarTlv, &pdu, 0x2A5C),
        (Carriage::Udh8, &small, 7),
        (Carriage::MessagePayload, &small, 0),
        (Carriage::MessagePayload, &pdu, 0),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (carriage, pdu, reference) in cases {
        let segs = segment(pdu, carriage, reference, Ports::WSP_PUSH).unwrap();
        let mut dump = String::new();
        for (i, seg) in segs.iter().enumerate().rev() {
            // Sent last segment first: reassembly must not depend on order.
            let bytes = submit_sm(u32::try_from(i + 1).unwrap(), seg);
            for (row, chunk) in bytes.chunks(16).enumerate() {
                dump.push_str(&format!("{:06x}", row * 16));
                for b in chunk {
                    dump.push_str(&format!(" {b:02x}"));
                }
                dump.push('\n');
            }
            dump.push('\n');
        }
        let txt = dir.path().join("dump.txt");
        let pcap = dir.path().join("cap.pcap");
        std::fs::write(&txt, dump).unwrap();
        let st = Command::new("text2pcap")
            .args(["-q", "-T", "40000,2775"])
            .arg(&txt)
            .arg(&pcap)
            .status()
            .unwrap();
        assert!(st.success());
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args([
                "-d",
                "tcp.port==2775,smpp",
                "-T",
                "fields",
                "-E",
                "separator=|",
            ])
            .args([
                "-e",
                "gsm_sms.udh.mm.msg_id",
                "-e",
                "gsm_sms.udh.mm.msg_parts",
            ])
            .args([
                "-e",
                "gsm_sms.udh.mm.msg_part",
                "-e",
                "gsm_sms.destination_port",
            ])
            .args([
                "-e",
                "gsm_sms.originator_port",
                "-e",
                "gsm_sms_ud.reassembled.length",
            ])
            .args([
                "-e",
                "wsp.pdu_type",
                "-e",
                "mmse.message_type",
                "-e",
                "smpp.sar_msg_ref_num",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        let what = format!("{carriage:?} {} octets:\n{text}", pdu.len());
        assert_eq!(rows.len(), segs.len(), "{what}");
        for row in &rows {
            assert_eq!(row.len(), 9, "{what}");
            match carriage {
                Carriage::Udh8 | Carriage::Udh16 => {
                    assert_eq!(row[3..5], ["2948", "9200"], "{what}");
                    if segs.len() > 1 {
                        assert_eq!(row[0], reference.to_string(), "{what}");
                        assert_eq!(row[1], segs.len().to_string(), "{what}");
                    }
                }
                Carriage::SarTlv => assert_eq!(row[8], reference.to_string(), "{what}"),
                Carriage::MessagePayload => {}
            }
        }
        // The last frame (segment 1) completes the message; WSP Push carrying an m-notification-ind.
        let last = rows.last().unwrap();
        if segs.len() > 1 {
            if carriage != Carriage::SarTlv {
                assert_eq!(last[2], "1", "{what}");
            }
            assert_eq!(last[5], pdu.len().to_string(), "{what}");
        }
        assert_eq!(last[6..8], ["0x06", "0x82"], "{what}");
    }
}

#[test]
fn one_part_message_conflicting_with_held_reference_is_rejected() {
    let (s1, s2) = (
        v("reassembly-total-conflict-1"),
        v("reassembly-total-conflict-2"),
    );
    let mut r = Reassembler::<&str, u8>::new(4);
    let frag = |ud| Fragment::from_user_data(ud).unwrap();
    assert!(matches!(
        r.push("+4479", frag(&s1), 0),
        Ok(Progress::Pending { .. })
    ));
    assert_eq!(
        r.push("+4479", frag(&s2), 0),
        Err(ReassemblyError::TotalMismatch {
            reference: 7,
            expected: 3,
            found: 1
        })
    );
    // From another originator the same octets are a whole message.
    let Ok(Progress::Complete(done)) = r.push("+4480", frag(&s2), 0) else {
        panic!("one-part message from another originator")
    };
    assert_eq!(done.payload, b"lone part");
}
