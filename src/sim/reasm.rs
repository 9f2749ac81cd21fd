//! Just enough concatenation parsing for the simulator to count whole messages: UDH IE 0x00
//! (8-bit reference) and 0x08 (16-bit reference) per 3GPP TS 23.040 §9.2.3.24.1/.8, the SAR TLVs
//! (SMPP 3.4 §5.3.2.22–24) and message_payload.
// TODO(lead): replace with crate::sms::Reassembler

use std::collections::{BTreeMap, HashMap};

/// Concatenation key of one segment: (reference, total, seqnum).
pub type Concat = (u16, u8, u8);

/// Splits a UDH off `data`: the concat IE if any, and the payload after the header.
pub fn split_udh(data: &[u8]) -> Option<(Option<Concat>, &[u8])> {
    let udhl = usize::from(*data.first()?);
    let header = data.get(1..1 + udhl)?;
    let payload = data.get(1 + udhl..)?;
    let mut concat = None;
    let mut i = 0;
    while let (Some(&iei), Some(&len)) = (header.get(i), header.get(i + 1)) {
        let v = header.get(i + 2..i + 2 + usize::from(len))?;
        match (iei, v) {
            (0x00, [r, t, s]) => concat = Some((u16::from(*r), *t, *s)),
            (0x08, [r1, r2, t, s]) => concat = Some((u16::from_be_bytes([*r1, *r2]), *t, *s)),
            _ => {}
        }
        i += 2 + usize::from(len);
    }
    Some((concat, payload))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whole {
    pub destination: String,
    pub payload: Vec<u8>,
    pub segments: usize,
    pub message_ids: Vec<String>,
}

/// Segments so far of one message, by seqnum: (payload, message id).
type Parts = BTreeMap<u8, (Vec<u8>, String)>;

#[derive(Debug, Default)]
pub struct Reassembler {
    partial: HashMap<(String, u16, u8), Parts>,
}

impl Reassembler {
    /// Adds one accepted segment; returns the message when it is complete.
    pub fn add(
        &mut self,
        destination: &str,
        concat: Option<Concat>,
        payload: Vec<u8>,
        id: String,
    ) -> Option<Whole> {
        let Some((reference, total, seq)) = concat.filter(|c| c.1 > 1) else {
            return Some(Whole {
                destination: destination.to_string(),
                payload,
                segments: 1,
                message_ids: vec![id],
            });
        };
        let key = (destination.to_string(), reference, total);
        let parts = self.partial.entry(key.clone()).or_default();
        parts.insert(seq, (payload, id));
        if parts.len() < usize::from(total) {
            return None;
        }
        let parts = self.partial.remove(&key)?;
        let mut whole = Whole {
            destination: destination.to_string(),
            payload: Vec::new(),
            segments: parts.len(),
            message_ids: Vec::new(),
        };
        for (_, (p, id)) in parts {
            whole.payload.extend_from_slice(&p);
            whole.message_ids.push(id);
        }
        Some(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udh_8_and_16_bit_and_reassembly() {
        let a = [
            0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x2A, 0x02, 0x01, b'h',
        ];
        let (c, p) = split_udh(&a).expect("udh");
        assert_eq!((c, p), (Some((0x2A, 2, 1)), &b"h"[..]));
        let b = [0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, b'i'];
        let (c2, p2) = split_udh(&b).expect("udh");
        assert_eq!(c2, Some((0x1234, 2, 2)));
        assert_eq!(split_udh(&[0x05, 0x00]), None);
        let mut r = Reassembler::default();
        assert_eq!(
            r.add("49", Some((1, 2, 2)), b"i".to_vec(), "2".into()),
            None
        );
        let w = r
            .add("49", Some((1, 2, 1)), b"h".to_vec(), "1".into())
            .expect("complete");
        assert_eq!(w.payload, b"hi");
        assert_eq!(w.message_ids, vec!["1", "2"]);
        let _ = p2;
    }
}
