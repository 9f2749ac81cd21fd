//! Splitting a WSP PDU into SMS for one [`Carriage`] (WAP-259 WDP Annex: WDP over GSM SMS,
//! 3GPP TS 23.040 §9.2.3.24; digest §5.2 for the byte budget).
//!
//! Budget per 140-octet 8-bit SMS:
//!
//! | UDH | octets incl. UDHL | payload |
//! |---|---|---|
//! | `06 05 04 dst src` (ports only) | 7 | 133, one SMS only |
//! | `0B 05 04 dst src 00 03 ref total seq` | 12 | 128 |
//! | `0C 05 04 dst src 08 04 ref ref total seq` | 13 | 127 |
//!
//! The port IE travels in every segment, first (Kannel's order; digest §7 pitfall 4): handsets
//! key reassembly on (originator, reference) and some look for the port in any segment.

use bytes::Bytes;

use super::udh::{IEI_CONCAT8, IEI_CONCAT16, IEI_PORTS16};
use super::{Carriage, MAX_SEGMENTS, MAX_USER_DATA, Ports, Sar, Segment};

/// A PDU up to this long fits one SMS with only the port IE (140 − 7).
pub const MAX_SINGLE_PAYLOAD: usize = MAX_USER_DATA - 7;
/// Payload per segment with the port IE and an 8-bit concatenation IE (140 − 12).
pub const PAYLOAD_PER_SEGMENT_8: usize = MAX_USER_DATA - 12;
/// Payload per segment with the port IE and a 16-bit concatenation IE (140 − 13).
pub const PAYLOAD_PER_SEGMENT_16: usize = MAX_USER_DATA - 13;
/// SMPP 3.4 §5.3.2.32: message_payload holds up to 64 K octets (its TLV length is 16 bits).
pub const MAX_MESSAGE_PAYLOAD: usize = 65535;

/// Why a PDU cannot be carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error(
        "a PDU of {length} octets needs {segments} SMS; a concatenated message has at most {limit}"
    )]
    TooManySegments {
        length: usize,
        segments: usize,
        limit: usize,
    },
    #[error("a PDU of {length} octets does not fit one message_payload TLV (at most {limit})")]
    PayloadTooLong { length: usize, limit: usize },
}

/// Payload octets per segment when the PDU needs concatenation.
fn per_segment(carriage: Carriage) -> usize {
    match carriage {
        // SarTlv: the SMSC adds port + 8-bit concat IEs to our user data, so leave it their room.
        Carriage::Udh8 | Carriage::SarTlv => PAYLOAD_PER_SEGMENT_8,
        Carriage::Udh16 => PAYLOAD_PER_SEGMENT_16,
        Carriage::MessagePayload => MAX_MESSAGE_PAYLOAD,
    }
}

/// How many SMS `segment` makes of a PDU of `pdu_len` octets. A count above [`MAX_SEGMENTS`]
/// means `segment` refuses the PDU: for [`Carriage::MessagePayload`] over 65535 octets the
/// count is `usize::MAX`, so a `max_segments` check refuses it too.
pub fn segment_count(pdu_len: usize, carriage: Carriage) -> usize {
    match carriage {
        Carriage::MessagePayload if pdu_len > MAX_MESSAGE_PAYLOAD => usize::MAX,
        Carriage::MessagePayload => 1,
        _ if pdu_len <= MAX_SINGLE_PAYLOAD => 1,
        _ => pdu_len.div_ceil(per_segment(carriage)),
    }
}

/// Splits `pdu` into the SMS to submit.
///
/// * `reference`: the concatenation reference; [`Carriage::Udh8`] uses its low octet.
/// * An empty PDU is one segment with the port IE (or port TLVs) and no payload: a WDP datagram
///   of zero octets is still addressed to a port. (A WSP push is never empty; the codec does
///   not second-guess its caller.)
pub fn segment(
    pdu: &[u8],
    carriage: Carriage,
    reference: u16,
    ports: Ports,
) -> Result<Vec<Segment>, SegmentError> {
    let count = segment_count(pdu.len(), carriage);
    if carriage == Carriage::MessagePayload {
        if pdu.len() > MAX_MESSAGE_PAYLOAD {
            return Err(SegmentError::PayloadTooLong {
                length: pdu.len(),
                limit: MAX_MESSAGE_PAYLOAD,
            });
        }
        return Ok(vec![Segment {
            user_data: Bytes::copy_from_slice(pdu),
            udhi: false,
            in_message_payload: true,
            sar: None,
            ports_tlv: Some(ports),
        }]);
    }
    if count > MAX_SEGMENTS {
        return Err(SegmentError::TooManySegments {
            length: pdu.len(),
            segments: count,
            limit: MAX_SEGMENTS,
        });
    }
    // count ≤ 255 was checked just above.
    let total = u8::try_from(count).unwrap_or(u8::MAX);
    let [dst_hi, dst_lo] = ports.destination.to_be_bytes();
    let [src_hi, src_lo] = ports.source.to_be_bytes();
    let port_ie = [IEI_PORTS16, 4, dst_hi, dst_lo, src_hi, src_lo];

    if count == 1 {
        let seg = match carriage {
            Carriage::SarTlv => Segment {
                user_data: Bytes::copy_from_slice(pdu),
                udhi: false,
                in_message_payload: false,
                sar: None,
                ports_tlv: Some(ports),
            },
            _ => {
                let mut ud = Vec::with_capacity(7 + pdu.len());
                ud.push(6);
                ud.extend_from_slice(&port_ie);
                ud.extend_from_slice(pdu);
                Segment {
                    user_data: Bytes::from(ud),
                    udhi: true,
                    in_message_payload: false,
                    sar: None,
                    ports_tlv: None,
                }
            }
        };
        return Ok(vec![seg]);
    }

    let chunk = per_segment(carriage);
    let mut out = Vec::with_capacity(count);
    for (i, part) in pdu.chunks(chunk).enumerate() {
        // i < count ≤ 255.
        let seqnum = u8::try_from(i + 1).unwrap_or(u8::MAX);
        let seg = match carriage {
            Carriage::SarTlv => Segment {
                user_data: Bytes::copy_from_slice(part),
                udhi: false,
                in_message_payload: false,
                sar: Some(Sar {
                    reference,
                    total,
                    seqnum,
                }),
                ports_tlv: Some(ports),
            },
            _ => {
                let mut ud = Vec::with_capacity(13 + part.len());
                if carriage == Carriage::Udh16 {
                    let [ref_hi, ref_lo] = reference.to_be_bytes();
                    ud.push(12);
                    ud.extend_from_slice(&port_ie);
                    ud.extend_from_slice(&[IEI_CONCAT16, 4, ref_hi, ref_lo, total, seqnum]);
                } else {
                    ud.push(11);
                    ud.extend_from_slice(&port_ie);
                    let [_, ref_lo] = reference.to_be_bytes();
                    ud.extend_from_slice(&[IEI_CONCAT8, 3, ref_lo, total, seqnum]);
                }
                ud.extend_from_slice(part);
                Segment {
                    user_data: Bytes::from(ud),
                    udhi: true,
                    in_message_payload: false,
                    sar: None,
                    ports_tlv: None,
                }
            }
        };
        out.push(seg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_boundaries() {
        for c in [Carriage::Udh8, Carriage::Udh16, Carriage::SarTlv] {
            assert_eq!(segment_count(0, c), 1);
            assert_eq!(segment_count(133, c), 1);
            assert_eq!(segment_count(134, c), 2);
        }
        assert_eq!(segment_count(256, Carriage::Udh8), 2);
        assert_eq!(segment_count(257, Carriage::Udh8), 3);
        assert_eq!(segment_count(254, Carriage::Udh16), 2);
        assert_eq!(segment_count(255, Carriage::Udh16), 3);
        assert_eq!(segment_count(255 * 128, Carriage::Udh8), 255);
        assert_eq!(segment_count(255 * 128 + 1, Carriage::Udh8), 256);
        assert_eq!(segment_count(65535, Carriage::MessagePayload), 1);
        assert_eq!(segment_count(65536, Carriage::MessagePayload), usize::MAX);
    }

    #[test]
    fn single_segment_has_only_the_port_ie() {
        let segs = segment(&[0xAB; 133], Carriage::Udh8, 7, Ports::WSP_PUSH).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(
            segs[0].user_data[..7],
            [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]
        );
        assert_eq!(segs[0].user_data.len(), 140);
        assert!(segs[0].udhi);
    }

    #[test]
    fn empty_pdu_is_one_port_addressed_segment() {
        let segs = segment(&[], Carriage::Udh16, 7, Ports::WSP_PUSH).unwrap();
        assert_eq!(
            segs[0].user_data.as_ref(),
            [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]
        );
        let segs = segment(&[], Carriage::SarTlv, 7, Ports::WSP_PUSH).unwrap();
        assert_eq!(segs.len(), 1);
        assert!(segs[0].user_data.is_empty());
        assert_eq!(segs[0].ports_tlv, Some(Ports::WSP_PUSH));
        assert_eq!(segs[0].sar, None);
    }

    #[test]
    fn too_long_names_length_and_limit() {
        let pdu = vec![0; 255 * 127 + 1];
        assert_eq!(
            segment(&pdu, Carriage::Udh16, 1, Ports::WSP_PUSH),
            Err(SegmentError::TooManySegments {
                length: 255 * 127 + 1,
                segments: 256,
                limit: 255
            })
        );
        assert_eq!(
            segment(&pdu, Carriage::Udh8, 1, Ports::WSP_PUSH)
                .unwrap()
                .len(),
            254
        );
        let pdu = vec![0; 65536];
        assert_eq!(
            segment(&pdu, Carriage::MessagePayload, 1, Ports::WSP_PUSH),
            Err(SegmentError::PayloadTooLong {
                length: 65536,
                limit: 65535
            })
        );
    }

    #[test]
    fn udh8_uses_low_octet_of_reference() {
        let segs = segment(&[1; 200], Carriage::Udh8, 0x1234, Ports::WSP_PUSH).unwrap();
        assert_eq!(
            segs[1].user_data[..12],
            [
                0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x34, 0x02, 0x02
            ]
        );
    }
}
