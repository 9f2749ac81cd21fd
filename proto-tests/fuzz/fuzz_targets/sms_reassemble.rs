#![no_main]
//! SMS user data: UDH parsing, reassembly of arbitrary segment sequences, and segmentation
//! round trips.
//!
//! Input: `carriage ref_hi ref_lo` then the body. The body is read twice:
//! 1. as records `key len user_data[len]`, each parsed as short_message with UDHI and pushed
//!    into a small reassembler (4 pending messages, so eviction runs), checked against a model;
//! 2. as a WSP PDU to segment and reassemble (last segment first).

use std::collections::HashMap;

use ppgd::sms::{
    Carriage, Fragment, MAX_SEGMENTS, MAX_USER_DATA, Ports, Progress, Reassembler, UserDataHeader,
    segment, segment_count, split_user_data,
};

const CAP: usize = 4;

type Key = (u8, u16, bool);

/// What the reassembler should hold: parts by seqnum, in arrival order of messages.
struct Model {
    parts: HashMap<Key, (u64, Vec<Option<Vec<u8>>>)>,
    next: u64,
}

fn records(body: &[u8]) {
    let mut r = Reassembler::<u8, u32>::new(CAP);
    let mut model = Model {
        parts: HashMap::new(),
        next: 0,
    };
    let mut rest = body;
    let mut now = 0u32;
    while let [key, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (ud, after) = tail.split_at(n);
        rest = after;
        now += 1;

        let parsed = split_user_data(ud);
        let Ok((udh, payload)) = parsed else {
            continue;
        };
        // encode(decode(x)) gives back the header octets.
        let used = ud.len() - payload.len();
        assert_eq!(udh.to_vec().unwrap(), ud[..used]);
        assert_eq!(UserDataHeader::decode(ud).unwrap().1, used);

        let frag = Fragment::from_user_data(ud).unwrap();
        let evicted_before = r.evicted();
        let res = r.push(*key, frag, now);
        if r.evicted() > evicted_before {
            // The oldest message of the model went.
            let oldest = model
                .parts
                .iter()
                .min_by_key(|(_, (order, _))| *order)
                .map(|(k, _)| *k)
                .unwrap();
            model.parts.remove(&oldest);
        }
        let Some(c) = frag.concat else {
            let Ok(Progress::Complete(done)) = res else {
                panic!("a lone segment is complete: {res:?}")
            };
            assert_eq!(done.payload, payload);
            continue;
        };
        let k = (*key, c.reference, c.wide);
        match res {
            Ok(Progress::Complete(done)) => {
                let expected: Vec<u8> = match model.parts.remove(&k) {
                    Some((_, mut parts)) => {
                        assert!(c.total > 1);
                        parts[usize::from(c.seqnum - 1)] = Some(payload.to_vec());
                        assert!(parts.iter().all(Option::is_some));
                        parts.into_iter().flatten().flatten().collect()
                    }
                    // Only a one-part message completes without a held message.
                    None => {
                        assert_eq!(c.total, 1);
                        payload.to_vec()
                    }
                };
                // Length of the whole equals the sum of the parts, and the octets agree.
                assert_eq!(done.payload, expected);
            }
            Ok(Progress::Pending { received, total }) => {
                assert_eq!(total, c.total);
                let order = model.next;
                let entry = model
                    .parts
                    .entry(k)
                    .or_insert_with(|| (order, vec![None; usize::from(c.total)]));
                if entry.0 == order {
                    model.next += 1;
                }
                let slot = &mut entry.1[usize::from(c.seqnum - 1)];
                assert!(slot.is_none());
                *slot = Some(payload.to_vec());
                let have = entry.1.iter().filter(|p| p.is_some()).count();
                assert_eq!(usize::from(received), have);
            }
            Ok(Progress::Duplicate) => {
                let (_, parts) = &model.parts[&k];
                assert_eq!(parts[usize::from(c.seqnum - 1)].as_deref(), Some(payload));
            }
            Err(_) => {}
        }
        assert_eq!(r.pending(), model.parts.len());
        assert!(r.pending() <= CAP);
    }
}

fn round_trip(carriage: Carriage, reference: u16, pdu: &[u8]) {
    let segs = match segment(pdu, carriage, reference, Ports::WSP_PUSH) {
        Ok(s) => s,
        Err(_) => {
            assert!(segment_count(pdu.len(), carriage) > MAX_SEGMENTS);
            return;
        }
    };
    assert_eq!(segs.len(), segment_count(pdu.len(), carriage));
    let mut r = Reassembler::<(), u8>::new(1);
    let mut out = None;
    for seg in segs.iter().rev() {
        let frag = if seg.udhi {
            assert!(seg.user_data.len() <= MAX_USER_DATA);
            Fragment::from_user_data(&seg.user_data).unwrap()
        } else {
            Fragment::from_sar(&seg.user_data, seg.sar, seg.ports_tlv)
        };
        assert_eq!(frag.ports, Some(Ports::WSP_PUSH));
        if let Progress::Complete(done) = r.push((), frag, 0).unwrap() {
            assert!(out.is_none());
            out = Some(done.payload);
        }
    }
    assert_eq!(out.as_deref(), Some(pdu));
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [mode, ref_hi, ref_lo, body @ ..] = data else {
        return;
    };
    records(body);
    let carriage = match mode & 3 {
        0 => Carriage::Udh8,
        1 => Carriage::Udh16,
        2 => Carriage::SarTlv,
        _ => Carriage::MessagePayload,
    };
    round_trip(carriage, u16::from_be_bytes([*ref_hi, *ref_lo]), body);
});
