//! `ppgd decode` for whole SMPP PDUs as an operator copies them from a trace: the header, and for
//! submit_sm / deliver_sm / data_sm every body field and TLV by name (SMPP 3.4 §4.4, §4.6, §4.7,
//! §5.3). The short_message or message_payload comes back to the caller, which goes on with the
//! UDH, WSP and MMS dissectors.
//!
//! A small reader of its own rather than rusmpp's decoder: a dissector must show what is there,
//! field by field, even when the PDU is not one rusmpp would accept.

use crate::decode::{Dissection, hex};

/// What the dissector hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmppUserData {
    /// short_message, or message_payload when present.
    pub user_data: Vec<u8>,
    /// esm_class UDHI: user_data begins with a UDH.
    pub udhi: bool,
    /// From the SAR / port TLVs, when present (the SMSC would build the UDH from these).
    pub sar: Option<(u16, u8, u8)>,
    pub ports: Option<(u16, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmppDissectError {
    #[error("{0} octets is shorter than an SMPP header (16)")]
    Short(usize),
    #[error("command_length {declared} does not match the {actual} octets given")]
    Length { declared: u32, actual: usize },
    #[error("{field} runs past the end of the PDU (offset {offset})")]
    Truncated { field: &'static str, offset: usize },
}

/// SMPP 3.4 §5.1.2.1 command ids (and 5.0's).
pub fn command_name(id: u32) -> &'static str {
    match id {
        0x8000_0000 => "generic_nack",
        0x0000_0001 => "bind_receiver",
        0x8000_0001 => "bind_receiver_resp",
        0x0000_0002 => "bind_transmitter",
        0x8000_0002 => "bind_transmitter_resp",
        0x0000_0003 => "query_sm",
        0x8000_0003 => "query_sm_resp",
        0x0000_0004 => "submit_sm",
        0x8000_0004 => "submit_sm_resp",
        0x0000_0005 => "deliver_sm",
        0x8000_0005 => "deliver_sm_resp",
        0x0000_0006 => "unbind",
        0x8000_0006 => "unbind_resp",
        0x0000_0007 => "replace_sm",
        0x8000_0007 => "replace_sm_resp",
        0x0000_0008 => "cancel_sm",
        0x8000_0008 => "cancel_sm_resp",
        0x0000_0009 => "bind_transceiver",
        0x8000_0009 => "bind_transceiver_resp",
        0x0000_000B => "outbind",
        0x0000_0015 => "enquire_link",
        0x8000_0015 => "enquire_link_resp",
        0x0000_0021 => "submit_multi",
        0x8000_0021 => "submit_multi_resp",
        0x0000_0102 => "alert_notification",
        0x0000_0103 => "data_sm",
        0x8000_0103 => "data_sm_resp",
        _ => "unknown",
    }
}

/// SMPP 3.4 §5.3.2 TLV tags.
pub fn tlv_name(tag: u16) -> &'static str {
    match tag {
        0x0005 => "dest_addr_subunit",
        0x0006 => "dest_network_type",
        0x0007 => "dest_bearer_type",
        0x0008 => "dest_telematics_id",
        0x000D => "source_addr_subunit",
        0x000E => "source_network_type",
        0x000F => "source_bearer_type",
        0x0010 => "source_telematics_id",
        0x0017 => "qos_time_to_live",
        0x0019 => "payload_type",
        0x001D => "additional_status_info_text",
        0x001E => "receipted_message_id",
        0x0030 => "ms_msg_wait_facilities",
        0x0201 => "privacy_indicator",
        0x0202 => "source_subaddress",
        0x0203 => "dest_subaddress",
        0x0204 => "user_message_reference",
        0x0205 => "user_response_code",
        0x020A => "source_port",
        0x020B => "destination_port",
        0x020C => "sar_msg_ref_num",
        0x020D => "language_indicator",
        0x020E => "sar_total_segments",
        0x020F => "sar_segment_seqnum",
        0x0210 => "sc_interface_version",
        0x0302 => "callback_num_pres_ind",
        0x0303 => "callback_num_atag",
        0x0304 => "number_of_messages",
        0x0381 => "callback_num",
        0x0420 => "dpf_result",
        0x0421 => "set_dpf",
        0x0422 => "ms_availability_status",
        0x0423 => "network_error_code",
        0x0424 => "message_payload",
        0x0425 => "delivery_failure_reason",
        0x0426 => "more_messages_to_send",
        0x0427 => "message_state",
        0x0501 => "ussd_service_op",
        0x1201 => "display_time",
        0x1203 => "sms_signal",
        0x1204 => "ms_validity",
        0x130C => "alert_on_message_delivery",
        0x1380 => "its_reply_type",
        0x1383 => "its_session_info",
        _ => "unknown",
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn u8(&mut self, field: &'static str) -> Result<u8, SmppDissectError> {
        let v = *self.b.get(self.at).ok_or(SmppDissectError::Truncated {
            field,
            offset: self.at,
        })?;
        self.at += 1;
        Ok(v)
    }
    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], SmppDissectError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or(SmppDissectError::Truncated {
            field,
            offset: self.at,
        })?;
        let v = &self.b[self.at..end];
        self.at = end;
        Ok(v)
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, SmppDissectError> {
        let v = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([v[0], v[1]]))
    }
    /// A C-Octet String: up to a NUL.
    fn cstr(&mut self, field: &'static str) -> Result<String, SmppDissectError> {
        let rest = &self.b[self.at.min(self.b.len())..];
        let nul = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(SmppDissectError::Truncated {
                field,
                offset: self.at,
            })?;
        let s = String::from_utf8_lossy(&rest[..nul]).into_owned();
        self.at += nul + 1;
        Ok(s)
    }
}

fn esm_class_text(esm: u8) -> String {
    let mode = match esm & 0x03 {
        0 => "default mode",
        1 => "datagram mode",
        2 => "forward mode",
        _ => "store and forward mode",
    };
    let kind = match esm & 0x3C {
        0x00 => "normal message",
        0x04 => "SMSC delivery receipt",
        0x08 => "SME delivery acknowledgement",
        0x10 => "SME manual/user acknowledgement",
        0x20 => "intermediate delivery notification",
        _ => "other message type",
    };
    let mut s = format!("0x{esm:02X}: {mode}, {kind}");
    if esm & 0x40 != 0 {
        s.push_str(", UDHI (user data begins with a UDH)");
    }
    if esm & 0x80 != 0 {
        s.push_str(", reply path");
    }
    s
}

/// Dissects one whole SMPP PDU; returns the user data of a submit_sm / deliver_sm / data_sm.
pub fn dissect_pdu(
    pdu: &[u8],
    out: &mut Dissection,
) -> Result<Option<SmppUserData>, SmppDissectError> {
    if pdu.len() < 16 {
        return Err(SmppDissectError::Short(pdu.len()));
    }
    let word = |i: usize| u32::from_be_bytes([pdu[i], pdu[i + 1], pdu[i + 2], pdu[i + 3]]);
    let (length, id, status, seq) = (word(0), word(4), word(8), word(12));
    if length as usize != pdu.len() {
        return Err(SmppDissectError::Length {
            declared: length,
            actual: pdu.len(),
        });
    }
    let mut result = Ok(None);
    out.nest(
        format!("SMPP {} ({} octets)", command_name(id), pdu.len()),
        |d| {
            d.field("command_id", format!("0x{id:08X} {}", command_name(id)));
            d.field(
                "command_status",
                format!("0x{status:08X} {}", crate::smpp::status::name(status)),
            );
            d.field("sequence_number", seq);
            let mut c = Cursor { b: pdu, at: 16 };
            result = match id {
                0x04 | 0x05 => short_message_body(&mut c, d).map(Some),
                0x103 => data_sm_body(&mut c, d).map(Some),
                0x8000_0004 | 0x8000_0103 if pdu.len() > 16 => c.cstr("message_id").map(|m| {
                    d.field("message_id", m);
                    None
                }),
                _ => {
                    if pdu.len() > 16 {
                        d.field("body", hex(&pdu[16..]));
                    }
                    Ok(None)
                }
            };
        },
    );
    result
}

fn address(
    c: &mut Cursor<'_>,
    d: &mut Dissection,
    which: &'static str,
    ton: &'static str,
    npi: &'static str,
) -> Result<(), SmppDissectError> {
    let t = c.u8(ton)?;
    let n = c.u8(npi)?;
    let a = c.cstr(which)?;
    d.field(which, format!("{a} (TON {t}, NPI {n})"));
    Ok(())
}

fn short_message_body(
    c: &mut Cursor<'_>,
    d: &mut Dissection,
) -> Result<SmppUserData, SmppDissectError> {
    let service_type = c.cstr("service_type")?;
    d.field("service_type", format!("{service_type:?}"));
    address(c, d, "source_addr", "source_addr_ton", "source_addr_npi")?;
    address(c, d, "destination_addr", "dest_addr_ton", "dest_addr_npi")?;
    let esm = c.u8("esm_class")?;
    d.field("esm_class", esm_class_text(esm));
    d.field("protocol_id", format!("0x{:02X}", c.u8("protocol_id")?));
    d.field("priority_flag", c.u8("priority_flag")?);
    d.field(
        "schedule_delivery_time",
        format!("{:?}", c.cstr("schedule_delivery_time")?),
    );
    d.field(
        "validity_period",
        format!("{:?}", c.cstr("validity_period")?),
    );
    d.field(
        "registered_delivery",
        format!("0x{:02X}", c.u8("registered_delivery")?),
    );
    d.field("replace_if_present_flag", c.u8("replace_if_present_flag")?);
    d.field("data_coding", format!("0x{:02X}", c.u8("data_coding")?));
    d.field("sm_default_msg_id", c.u8("sm_default_msg_id")?);
    let len = c.u8("sm_length")? as usize;
    let sm = c.bytes(len, "short_message")?.to_vec();
    d.field(format!("short_message ({len} octets)"), hex(&sm));
    let mut ud = SmppUserData {
        user_data: sm,
        udhi: esm & 0x40 != 0,
        sar: None,
        ports: None,
    };
    tlvs(c, d, &mut ud)?;
    Ok(ud)
}

fn data_sm_body(c: &mut Cursor<'_>, d: &mut Dissection) -> Result<SmppUserData, SmppDissectError> {
    let service_type = c.cstr("service_type")?;
    d.field("service_type", format!("{service_type:?}"));
    address(c, d, "source_addr", "source_addr_ton", "source_addr_npi")?;
    address(c, d, "destination_addr", "dest_addr_ton", "dest_addr_npi")?;
    let esm = c.u8("esm_class")?;
    d.field("esm_class", esm_class_text(esm));
    d.field(
        "registered_delivery",
        format!("0x{:02X}", c.u8("registered_delivery")?),
    );
    d.field("data_coding", format!("0x{:02X}", c.u8("data_coding")?));
    let mut ud = SmppUserData {
        user_data: Vec::new(),
        udhi: esm & 0x40 != 0,
        sar: None,
        ports: None,
    };
    tlvs(c, d, &mut ud)?;
    Ok(ud)
}

fn tlvs(
    c: &mut Cursor<'_>,
    d: &mut Dissection,
    ud: &mut SmppUserData,
) -> Result<(), SmppDissectError> {
    let (mut sar_ref, mut sar_total, mut sar_seq, mut sport, mut dport) =
        (None, None, None, None, None);
    while c.at < c.b.len() {
        let tag = c.u16("TLV tag")?;
        let len = c.u16("TLV length")? as usize;
        let v = c.bytes(len, "TLV value")?;
        let n = |v: &[u8]| v.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b));
        let shown = match tag {
            0x020A | 0x020B | 0x020C | 0x020E | 0x020F | 0x0427 | 0x0019 if len <= 4 => {
                n(v).to_string()
            }
            0x001E => String::from_utf8_lossy(v.strip_suffix(&[0]).unwrap_or(v)).into_owned(),
            _ => hex(v),
        };
        d.field(
            format!("TLV 0x{tag:04X} {} ({len} octets)", tlv_name(tag)),
            shown,
        );
        match tag {
            0x020A if len == 2 => sport = Some(n(v) as u16),
            0x020B if len == 2 => dport = Some(n(v) as u16),
            0x020C if len == 2 => sar_ref = Some(n(v) as u16),
            0x020E if len == 1 => sar_total = Some(v[0]),
            0x020F if len == 1 => sar_seq = Some(v[0]),
            0x0424 => ud.user_data = v.to_vec(),
            _ => {}
        }
    }
    if let (Some(r), Some(t), Some(s)) = (sar_ref, sar_total, sar_seq) {
        ud.sar = Some((r, t, s));
    }
    if let (Some(dst), Some(src)) = (dport, sport) {
        ud.ports = Some((dst, src));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissects_a_submit_sm_with_udh() {
        // submit_sm seq 7: service_type "", src 0/0 "12345", dst 1/1 "491701234567", esm 0x40,
        // pid 0, prio 0, no schedule/validity, registered_delivery 1, replace 0, dcs 4, msg id 0,
        // sm_length 9: UDH 06 05 04 0B 84 23 F0 + 2 octets.
        let mut body = vec![0u8];
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(b"12345\0");
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(b"491701234567\0");
        body.extend_from_slice(&[0x40, 0, 0, 0, 0, 1, 0, 4, 0, 9]);
        body.extend_from_slice(&[0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01, 0x06]);
        let mut pdu = ((16 + body.len()) as u32).to_be_bytes().to_vec();
        pdu.extend_from_slice(&4u32.to_be_bytes());
        pdu.extend_from_slice(&0u32.to_be_bytes());
        pdu.extend_from_slice(&7u32.to_be_bytes());
        pdu.extend_from_slice(&body);
        let mut d = Dissection::new();
        let ud = dissect_pdu(&pdu, &mut d).unwrap().unwrap();
        assert!(ud.udhi);
        assert_eq!(ud.user_data.len(), 9);
        let text = d.to_string();
        assert!(
            text.contains("destination_addr: 491701234567 (TON 1, NPI 1)"),
            "{text}"
        );
        assert!(text.contains("UDHI"), "{text}");
        // Truncations name the field.
        let mut short = pdu.clone();
        short.truncate(pdu.len() - 3);
        let l = short.len() as u32;
        short[..4].copy_from_slice(&l.to_be_bytes());
        assert!(matches!(
            dissect_pdu(&short, &mut Dissection::new()),
            Err(SmppDissectError::Truncated {
                field: "short_message",
                ..
            })
        ));
        assert!(matches!(
            dissect_pdu(&pdu[..10], &mut Dissection::new()),
            Err(SmppDissectError::Short(10))
        ));
    }
}
