//! `ppgd decode` for SMS user data: each segment's UDH by name, then the reassembled payload.
//! WSP is not decoded here: the caller chains it with the payload and port returned.

use super::reassemble::{Fragment, Progress, Reassembled, Reassembler, ReassemblyError};
use super::udh::{InformationElement, UdhError, UserDataHeader, iei_name, port_name};
use crate::decode::{Dissection, hex};

/// The message the segments carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub payload: Vec<u8>,
    pub destination_port: Option<u16>,
    pub source_port: Option<u16>,
}

/// Why the segments do not make one message. `segment` counts from 1 in the order given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DissectError {
    #[error("no segments given")]
    NoSegments,
    #[error("segment {segment}: {source}")]
    Udh { segment: usize, source: UdhError },
    #[error("segment {segment}: {source}")]
    Reassembly {
        segment: usize,
        source: ReassemblyError,
    },
    #[error("segments are missing: {messages} message(s) incomplete")]
    Incomplete { messages: usize },
    #[error("the segments make {messages} different messages; give the segments of one")]
    SeveralMessages { messages: usize },
}

fn port(p: u16) -> String {
    match port_name(p) {
        Some(name) => format!("{p} ({name})"),
        None => p.to_string(),
    }
}

fn dissect_udh(udh: &UserDataHeader, d: &mut Dissection) {
    for ie in &udh.elements {
        let label = format!("IE 0x{:02X} {}", ie.iei(), iei_name(ie.iei()));
        d.nest(label, |d| match ie {
            InformationElement::Concat8 {
                reference,
                total,
                seqnum,
            } => {
                d.field("reference", format!("0x{reference:02X} ({reference})"));
                d.field("total", total);
                d.field("part", seqnum);
            }
            InformationElement::Concat16 {
                reference,
                total,
                seqnum,
            } => {
                d.field("reference", format!("0x{reference:04X} ({reference})"));
                d.field("total", total);
                d.field("part", seqnum);
            }
            InformationElement::Ports8 {
                destination,
                source,
            } => {
                d.field("destination port", destination);
                d.field("source port", source);
            }
            InformationElement::Ports16(p) => {
                d.field("destination port", port(p.destination));
                d.field("source port", port(p.source));
            }
            InformationElement::Other { data, .. } => d.field("data", hex(data)),
        });
    }
}

/// Dissects short_message octets (each beginning with its UDH, as sent with UDHI), in any
/// order, into `out`; returns the reassembled payload and its ports.
pub fn dissect_user_data(
    segments: &[&[u8]],
    out: &mut Dissection,
) -> Result<UserData, DissectError> {
    if segments.is_empty() {
        return Err(DissectError::NoSegments);
    }
    let mut reassembler = Reassembler::<(), u8>::new(usize::from(u8::MAX));
    let mut complete: Vec<Reassembled> = Vec::new();
    for (i, ud) in segments.iter().enumerate() {
        let segment = i + 1;
        let mut failure = None;
        out.nest(
            format!("SMS user data {segment} ({} octets)", ud.len()),
            |d| {
                let (udh, used) = match UserDataHeader::decode(ud) {
                    Ok(v) => v,
                    Err(source) => {
                        d.field("error", &source);
                        failure = Some(DissectError::Udh { segment, source });
                        return;
                    }
                };
                d.field("UDHL", used - 1);
                dissect_udh(&udh, d);
                let data = ud.get(used..).unwrap_or_default();
                d.field("payload", format!("{} octets", data.len()));
                let fragment = Fragment {
                    concat: udh.concat(),
                    ports: udh.ports(),
                    data,
                };
                match reassembler.push((), fragment, 0) {
                    Ok(Progress::Complete(r)) => complete.push(r),
                    Ok(Progress::Pending { .. }) => {}
                    Ok(Progress::Duplicate) => d.field("note", "duplicate of an earlier segment"),
                    Err(source) => {
                        d.field("error", &source);
                        failure = Some(DissectError::Reassembly { segment, source });
                    }
                }
            },
        );
        if let Some(e) = failure {
            return Err(e);
        }
    }
    if reassembler.pending() > 0 {
        return Err(DissectError::Incomplete {
            messages: reassembler.pending(),
        });
    }
    if complete.len() > 1 {
        return Err(DissectError::SeveralMessages {
            messages: complete.len(),
        });
    }
    let Some(msg) = complete.pop() else {
        return Err(DissectError::NoSegments);
    };
    let label = if segments.len() > 1 {
        "Reassembled payload"
    } else {
        "Payload"
    };
    out.nest(label, |d| {
        d.field("length", msg.payload.len());
        if let Some(p) = msg.ports {
            d.field("destination port", port(p.destination));
            d.field("source port", port(p.source));
        }
        d.field("hex", hex(&msg.payload));
    });
    Ok(UserData {
        destination_port: msg.ports.map(|p| p.destination),
        source_port: msg.ports.map(|p| p.source),
        payload: msg.payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_segments() {
        let seg = [0x05, 0x00, 0x03, 0x01, 0x02, 0x01, 0xAA];
        let mut d = Dissection::new();
        assert_eq!(
            dissect_user_data(&[&seg], &mut d),
            Err(DissectError::Incomplete { messages: 1 })
        );
        assert!(d.to_string().contains("reference: 0x01 (1)"));
    }
}
