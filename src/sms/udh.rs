//! The user data header of an SMS (3GPP TS 23.040 §9.2.3.24): UDHL, then information elements
//! (IEI, IEDL, IED) in any order.
//!
//! ```text
//!  UDHL | IEI IEDL IED... | IEI IEDL IED... | ... | short message payload
//!  0B   | 05  04   0B84 23F0 | 00 03 ref total seqnum  → WDP ports 2948 ← 9200 + 8-bit concat
//! ```

use super::Ports;

/// IEI 0x00: concatenated short messages, 8-bit reference (§9.2.3.24.1).
pub const IEI_CONCAT8: u8 = 0x00;
/// IEI 0x04: application port addressing, 8-bit ports (§9.2.3.24.3).
pub const IEI_PORTS8: u8 = 0x04;
/// IEI 0x05: application port addressing, 16-bit ports (§9.2.3.24.4).
pub const IEI_PORTS16: u8 = 0x05;
/// IEI 0x08: concatenated short messages, 16-bit reference (§9.2.3.24.8).
pub const IEI_CONCAT16: u8 = 0x08;

/// One information element of a UDH.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InformationElement {
    /// IEI 0x00, IEDL 3: reference, total, seqnum (1-based).
    Concat8 {
        reference: u8,
        total: u8,
        seqnum: u8,
    },
    /// IEI 0x08, IEDL 4: reference (big-endian), total, seqnum (1-based).
    Concat16 {
        reference: u16,
        total: u8,
        seqnum: u8,
    },
    /// IEI 0x04, IEDL 2: destination port, source port (8-bit, so not usable for WAP's 2948/9200).
    Ports8 { destination: u8, source: u8 },
    /// IEI 0x05, IEDL 4: destination port, source port (16-bit, big-endian).
    Ports16(Ports),
    /// Any other IEI, kept as it came. Never one of the four IEIs above (those decode typed).
    Other { iei: u8, data: Vec<u8> },
}

impl InformationElement {
    /// The IEI octet.
    pub fn iei(&self) -> u8 {
        match self {
            Self::Concat8 { .. } => IEI_CONCAT8,
            Self::Concat16 { .. } => IEI_CONCAT16,
            Self::Ports8 { .. } => IEI_PORTS8,
            Self::Ports16(_) => IEI_PORTS16,
            Self::Other { iei, .. } => *iei,
        }
    }

    /// IEDL: the length of the IE data.
    pub fn data_len(&self) -> usize {
        match self {
            Self::Concat8 { .. } => 3,
            Self::Concat16 { .. } => 4,
            Self::Ports8 { .. } => 2,
            Self::Ports16(_) => 4,
            Self::Other { data, .. } => data.len(),
        }
    }

    /// IEI + IEDL + data.
    pub fn encoded_len(&self) -> usize {
        2 + self.data_len()
    }
}

/// The concatenation IE of a segment, whichever width its reference has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    pub reference: u16,
    /// The IE was 0x08 (16-bit reference) rather than 0x00.
    pub wide: bool,
    pub total: u8,
    pub seqnum: u8,
}

/// A decoded user data header: its information elements in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UserDataHeader {
    pub elements: Vec<InformationElement>,
}

/// What is wrong with a UDH. Offsets count from the UDHL octet (offset 0 of the user data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdhError {
    #[error("user data is empty: no UDHL octet")]
    MissingUdhl,
    #[error("UDHL {udhl} runs past the end of the user data ({available} octets follow it)")]
    UdhlPastEnd { udhl: u8, available: usize },
    #[error("IEI 0x{iei:02X} at offset {offset} has no IEDL octet before the end of the UDH")]
    IeTruncated { iei: u8, offset: usize },
    #[error(
        "IE 0x{iei:02X} at offset {offset}: IEDL {length} runs past the UDH ({remaining} octets left)"
    )]
    IeLengthPastUdhl {
        iei: u8,
        offset: usize,
        length: u8,
        remaining: usize,
    },
    #[error("IE 0x{iei:02X} at offset {offset}: IEDL {length}, this IEI needs {expected}")]
    WrongLength {
        iei: u8,
        offset: usize,
        length: u8,
        expected: u8,
    },
    #[error("concatenation IE at offset {offset}: total number of segments is 0")]
    TotalZero { offset: usize },
    #[error("concatenation IE at offset {offset}: sequence number {seqnum} is outside 1..={total}")]
    SeqnumOutOfRange {
        offset: usize,
        seqnum: u8,
        total: u8,
    },
    #[error("IE 0x{iei:02X} must be encoded as its typed element, not as Other")]
    TypedIeiAsOther { iei: u8 },
    #[error("the information elements take {length} octets; UDHL is one octet (at most 255)")]
    HeaderTooLong { length: usize },
}

/// The IEDL a known IEI must have (§9.2.3.24.1/.3/.4/.8).
fn expected_len(iei: u8) -> Option<u8> {
    match iei {
        IEI_CONCAT8 => Some(3),
        IEI_CONCAT16 => Some(4),
        IEI_PORTS8 => Some(2),
        IEI_PORTS16 => Some(4),
        _ => None,
    }
}

/// §9.2.3.24.1: total 0 and seqnum 0 or > total are invalid. The spec tells a receiver to
/// ignore such an IE; we reject the segment instead, so an operator sees why it went nowhere.
fn check_concat(offset: usize, total: u8, seqnum: u8) -> Result<(), UdhError> {
    if total == 0 {
        return Err(UdhError::TotalZero { offset });
    }
    if seqnum == 0 || seqnum > total {
        return Err(UdhError::SeqnumOutOfRange {
            offset,
            seqnum,
            total,
        });
    }
    Ok(())
}

impl UserDataHeader {
    pub fn new(elements: Vec<InformationElement>) -> Self {
        Self { elements }
    }

    /// The concatenation IE. §9.2.3.24: when an IE is repeated the last occurrence counts.
    pub fn concat(&self) -> Option<Concat> {
        self.elements.iter().rev().find_map(|ie| match *ie {
            InformationElement::Concat8 {
                reference,
                total,
                seqnum,
            } => Some(Concat {
                reference: u16::from(reference),
                wide: false,
                total,
                seqnum,
            }),
            InformationElement::Concat16 {
                reference,
                total,
                seqnum,
            } => Some(Concat {
                reference,
                wide: true,
                total,
                seqnum,
            }),
            _ => None,
        })
    }

    /// The application ports (8-bit ports widened), last occurrence.
    pub fn ports(&self) -> Option<Ports> {
        self.elements.iter().rev().find_map(|ie| match *ie {
            InformationElement::Ports16(p) => Some(p),
            InformationElement::Ports8 {
                destination,
                source,
            } => Some(Ports {
                destination: u16::from(destination),
                source: u16::from(source),
            }),
            _ => None,
        })
    }

    /// UDHL + the IEs, in octets.
    pub fn encoded_len(&self) -> usize {
        1 + self
            .elements
            .iter()
            .map(InformationElement::encoded_len)
            .sum::<usize>()
    }

    /// Appends UDHL and the IEs to `out`. Refuses what `decode` would refuse, so
    /// `decode(encode(h)) == h` for every header that encodes.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), UdhError> {
        let body = self.encoded_len() - 1;
        let udhl = u8::try_from(body).map_err(|_| UdhError::HeaderTooLong { length: body })?;
        out.reserve(body + 1);
        let start = out.len();
        out.push(udhl);
        for ie in &self.elements {
            let offset = out.len() - start;
            match ie {
                &InformationElement::Concat8 {
                    reference,
                    total,
                    seqnum,
                } => {
                    check_concat(offset, total, seqnum)?;
                    out.extend_from_slice(&[IEI_CONCAT8, 3, reference, total, seqnum]);
                }
                &InformationElement::Concat16 {
                    reference,
                    total,
                    seqnum,
                } => {
                    check_concat(offset, total, seqnum)?;
                    let [hi, lo] = reference.to_be_bytes();
                    out.extend_from_slice(&[IEI_CONCAT16, 4, hi, lo, total, seqnum]);
                }
                &InformationElement::Ports8 {
                    destination,
                    source,
                } => out.extend_from_slice(&[IEI_PORTS8, 2, destination, source]),
                InformationElement::Ports16(p) => {
                    out.extend_from_slice(&[IEI_PORTS16, 4]);
                    out.extend_from_slice(&p.destination.to_be_bytes());
                    out.extend_from_slice(&p.source.to_be_bytes());
                }
                InformationElement::Other { iei, data } => {
                    if expected_len(*iei).is_some() {
                        return Err(UdhError::TypedIeiAsOther { iei: *iei });
                    }
                    // The whole header fits in 255 octets (checked above), so this IE does.
                    let len = u8::try_from(data.len()).unwrap_or(u8::MAX);
                    out.push(*iei);
                    out.push(len);
                    out.extend_from_slice(data);
                }
            }
        }
        Ok(())
    }

    /// The encoded header as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, UdhError> {
        let mut v = Vec::new();
        self.encode(&mut v)?;
        Ok(v)
    }

    /// Decodes the UDH at the start of `user_data` (UDHL first). Returns the header and the
    /// octets it took (1 + UDHL); what follows is the short message payload.
    pub fn decode(user_data: &[u8]) -> Result<(Self, usize), UdhError> {
        let (&udhl, rest) = user_data.split_first().ok_or(UdhError::MissingUdhl)?;
        let body = rest.get(..usize::from(udhl)).ok_or(UdhError::UdhlPastEnd {
            udhl,
            available: rest.len(),
        })?;
        let mut elements = Vec::new();
        let mut pos = 0usize;
        while pos < body.len() {
            let offset = 1 + pos;
            let iei = body[pos];
            let Some(&length) = body.get(pos + 1) else {
                return Err(UdhError::IeTruncated { iei, offset });
            };
            let data_start = pos + 2;
            let data = body
                .get(data_start..data_start + usize::from(length))
                .ok_or(UdhError::IeLengthPastUdhl {
                    iei,
                    offset,
                    length,
                    remaining: body.len() - data_start,
                })?;
            if let Some(expected) = expected_len(iei)
                && expected != length
            {
                return Err(UdhError::WrongLength {
                    iei,
                    offset,
                    length,
                    expected,
                });
            }
            let ie = match (iei, data) {
                (IEI_CONCAT8, &[reference, total, seqnum]) => {
                    check_concat(offset, total, seqnum)?;
                    InformationElement::Concat8 {
                        reference,
                        total,
                        seqnum,
                    }
                }
                (IEI_CONCAT16, &[hi, lo, total, seqnum]) => {
                    check_concat(offset, total, seqnum)?;
                    InformationElement::Concat16 {
                        reference: u16::from_be_bytes([hi, lo]),
                        total,
                        seqnum,
                    }
                }
                (IEI_PORTS8, &[destination, source]) => InformationElement::Ports8 {
                    destination,
                    source,
                },
                (IEI_PORTS16, &[d1, d2, s1, s2]) => InformationElement::Ports16(Ports {
                    destination: u16::from_be_bytes([d1, d2]),
                    source: u16::from_be_bytes([s1, s2]),
                }),
                _ => InformationElement::Other {
                    iei,
                    data: data.to_vec(),
                },
            };
            elements.push(ie);
            pos = data_start + usize::from(length);
        }
        Ok((Self { elements }, 1 + usize::from(udhl)))
    }
}

/// Splits short_message octets sent with UDHI set into the UDH and the payload after it.
pub fn split_user_data(user_data: &[u8]) -> Result<(UserDataHeader, &[u8]), UdhError> {
    let (udh, used) = UserDataHeader::decode(user_data)?;
    // `decode` checked that 1 + UDHL octets exist.
    let payload = user_data.get(used..).unwrap_or_default();
    Ok((udh, payload))
}

/// IANA / WAP-259 Appendix B names of the WDP ports an operator meets in WAP traces.
pub fn port_name(port: u16) -> Option<&'static str> {
    Some(match port {
        2805 => "WTA secure connectionless",
        2923 => "WTA secure session",
        2948 => "WSP push",
        2949 => "WSP push, secure",
        9200 => "WSP connectionless",
        9201 => "WSP session (WTP)",
        9202 => "WSP connectionless, secure",
        9203 => "WSP session, secure",
        9204 => "vCard",
        9205 => "vCalendar",
        9206 => "vCard, secure",
        9207 => "vCalendar, secure",
        _ => return None,
    })
}

/// §9.2.3.24 table of IEIs: names for the ones a WAP/SMS trace may carry.
pub fn iei_name(iei: u8) -> &'static str {
    match iei {
        0x00 => "Concatenated short messages, 8-bit reference",
        0x01 => "Special SMS message indication",
        0x04 => "Application port addressing, 8-bit",
        0x05 => "Application port addressing, 16-bit",
        0x06 => "SMSC control parameters",
        0x07 => "UDH source indicator",
        0x08 => "Concatenated short messages, 16-bit reference",
        0x09 => "Wireless control message protocol",
        0x0A => "Text formatting",
        0x24 => "National language single shift",
        0x25 => "National language locking shift",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ports_then_concat8() {
        let ud = [
            0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x96, 0x02, 0x01, 0xAA,
        ];
        let (h, payload) = split_user_data(&ud).unwrap();
        assert_eq!(payload, [0xAA]);
        assert_eq!(h.ports(), Some(Ports::WSP_PUSH));
        assert_eq!(
            h.concat(),
            Some(Concat {
                reference: 0x96,
                wide: false,
                total: 2,
                seqnum: 1
            })
        );
        assert_eq!(h.to_vec().unwrap(), ud[..12]);
    }

    #[test]
    fn rejects_with_offsets() {
        assert_eq!(split_user_data(&[]), Err(UdhError::MissingUdhl));
        assert_eq!(
            split_user_data(&[0x05, 0x00]),
            Err(UdhError::UdhlPastEnd {
                udhl: 5,
                available: 1
            })
        );
        assert_eq!(
            split_user_data(&[0x01, 0x00]),
            Err(UdhError::IeTruncated { iei: 0, offset: 1 })
        );
        assert_eq!(
            split_user_data(&[0x04, 0x05, 0x04, 0x0B, 0x84]),
            Err(UdhError::IeLengthPastUdhl {
                iei: 5,
                offset: 1,
                length: 4,
                remaining: 2
            })
        );
        assert_eq!(
            split_user_data(&[0x04, 0x00, 0x02, 0x01, 0x01]),
            Err(UdhError::WrongLength {
                iei: 0,
                offset: 1,
                length: 2,
                expected: 3
            })
        );
        assert_eq!(
            split_user_data(&[0x05, 0x00, 0x03, 0x01, 0x00, 0x01]),
            Err(UdhError::TotalZero { offset: 1 })
        );
        assert_eq!(
            split_user_data(&[0x05, 0x00, 0x03, 0x01, 0x02, 0x03]),
            Err(UdhError::SeqnumOutOfRange {
                offset: 1,
                seqnum: 3,
                total: 2
            })
        );
    }

    #[test]
    fn encode_refuses_what_decode_refuses() {
        let h = UserDataHeader::new(vec![InformationElement::Other {
            iei: IEI_PORTS16,
            data: vec![1, 2, 3, 4],
        }]);
        assert_eq!(h.to_vec(), Err(UdhError::TypedIeiAsOther { iei: 5 }));
        let h = UserDataHeader::new(vec![InformationElement::Concat8 {
            reference: 1,
            total: 2,
            seqnum: 0,
        }]);
        assert!(matches!(h.to_vec(), Err(UdhError::SeqnumOutOfRange { .. })));
        let h = UserDataHeader::new(vec![InformationElement::Other {
            iei: 0x70,
            data: vec![0; 256],
        }]);
        assert_eq!(h.to_vec(), Err(UdhError::HeaderTooLong { length: 258 }));
    }

    #[test]
    fn last_occurrence_wins() {
        // 8-bit ports 1 → 2, then 16-bit ports 2948 ← 9200.
        let ud = [
            0x0A, 0x04, 0x02, 0x01, 0x02, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0,
        ];
        let (h, used) = UserDataHeader::decode(&ud).unwrap();
        assert_eq!(used, 11);
        assert_eq!(h.elements.len(), 2);
        assert_eq!(h.ports(), Some(Ports::WSP_PUSH));
    }
}
