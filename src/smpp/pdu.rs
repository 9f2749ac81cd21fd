//! PDUs the gateway builds and reads: submit_sm from a [`Segment`] (SMPP 3.4 §4.4.1) and delivery
//! receipts from deliver_sm (§4.6.1, Appendix B text and the §5.3.2 receipt TLVs).

use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, MessagePayload, Npi, PriorityFlag, RegisteredDelivery,
    ReplaceIfPresentFlag, ServiceType, Ton,
};

use crate::config::SmscConfig;
use crate::smpp::time::SmppTime;
use crate::sms::Segment;
use crate::store::ReceiptOutcome;
use crate::util::UtcTime;
use crate::util::datetime::Civil;

/// esm_class UDHI indicator (GSM 03.40 TP-UDHI, SMPP 3.4 §5.2.12 bit 6).
pub const ESM_UDHI: u8 = 0x40;
/// esm_class message-type bits of a deliver_sm (§5.2.12 bits 5–2).
pub const ESM_TYPE_MASK: u8 = 0x3C;
/// SMSC delivery receipt.
pub const ESM_DELIVERY_RECEIPT: u8 = 0x04;
/// Intermediate delivery notification.
pub const ESM_INTERMEDIATE: u8 = 0x20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("{field} `{value}` does not fit the PDU field (at most {max} ASCII characters)")]
    Field {
        field: &'static str,
        value: String,
        max: usize,
    },
    #[error("short_message of {len} octets exceeds 254")]
    ShortMessage { len: usize },
    #[error("validity_period: {0}")]
    Time(#[from] crate::smpp::time::TimeError),
}

fn c_string<const MIN: usize, const MAX: usize>(
    field: &'static str,
    value: &str,
) -> Result<COctetString<MIN, MAX>, PduError> {
    value.parse().map_err(|_| PduError::Field {
        field,
        value: value.to_string(),
        max: MAX - 1,
    })
}

fn smpp_time(t: Option<SmppTime>) -> Result<EmptyOrFullCOctetString<17>, PduError> {
    match t {
        None => Ok(EmptyOrFullCOctetString::empty()),
        Some(t) => {
            let s = t.encode()?;
            s.parse().map_err(|_| PduError::Field {
                field: "validity_period",
                value: s,
                max: 16,
            })
        }
    }
}

/// The submit_sm for one segment to `destination` (E.164 digits without '+').
///
/// esm_class is 0x40 when the segment carries a UDH and 0x00 (the SMSC's default messaging mode,
/// which is store-and-forward on every SMSC we know) otherwise. protocol_id 0, priority 0.
/// validity_period: the push's deliver-before time (absolute, UTC) or else the configured
/// default (relative), or empty (the SMSC default).
pub fn build_submit_sm(
    segment: &Segment,
    cfg: &SmscConfig,
    destination: &str,
    receipt: bool,
    validity: Option<UtcTime>,
) -> Result<SubmitSm, PduError> {
    let validity = match (validity, cfg.validity) {
        (Some(t), _) => Some(SmppTime::Absolute(t)),
        (None, Some(d)) => Some(SmppTime::Relative(d.as_secs())),
        (None, None) => None,
    };
    let mut tlvs: Vec<MessageSubmissionRequestTlvValue> = Vec::new();
    let short_message = if segment.in_message_payload {
        tlvs.push(MessageSubmissionRequestTlvValue::MessagePayload(
            MessagePayload::new(AnyOctetString::from_bytes(segment.user_data.clone())),
        ));
        OctetString::empty()
    } else {
        if segment.user_data.len() > 254 {
            return Err(PduError::ShortMessage {
                len: segment.user_data.len(),
            });
        }
        OctetString::from_bytes(segment.user_data.clone()).map_err(|_| PduError::ShortMessage {
            len: segment.user_data.len(),
        })?
    };
    if let Some(sar) = segment.sar {
        tlvs.push(MessageSubmissionRequestTlvValue::SarMsgRefNum(
            sar.reference,
        ));
        tlvs.push(MessageSubmissionRequestTlvValue::SarTotalSegments(
            sar.total,
        ));
        tlvs.push(MessageSubmissionRequestTlvValue::SarSegmentSeqnum(
            sar.seqnum,
        ));
    }
    if let Some(ports) = segment.ports_tlv {
        tlvs.push(MessageSubmissionRequestTlvValue::SourcePort(ports.source));
        tlvs.push(MessageSubmissionRequestTlvValue::DestPort(
            ports.destination,
        ));
    }
    let source_addr = if cfg.source_addr.is_empty() {
        COctetString::empty()
    } else {
        c_string::<1, 21>("source_addr", &cfg.source_addr)?
    };
    Ok(SubmitSm::new(
        ServiceType::new(c_string::<1, 6>("service_type", &cfg.service_type)?),
        Ton::from(cfg.source_ton),
        Npi::from(cfg.source_npi),
        source_addr,
        Ton::from(cfg.dest_ton),
        Npi::from(cfg.dest_npi),
        c_string::<1, 21>("destination_addr", destination)?,
        EsmClass::from(if segment.udhi { ESM_UDHI } else { 0x00 }),
        0,
        PriorityFlag::from(0),
        EmptyOrFullCOctetString::empty(),
        smpp_time(validity)?,
        RegisteredDelivery::from(if receipt { cfg.registered_delivery } else { 0 }),
        ReplaceIfPresentFlag::from(0),
        DataCoding::from(cfg.data_coding),
        0,
        short_message,
        tlvs,
    ))
}

// ---------------------------------------------------------------------------------------------
// Delivery receipts

/// The Appendix B text of a receipt: `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm
/// done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`. Fields are optional except `id`; dates
/// accept 10, 12 or 14 digits (digest §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextReceipt {
    pub id: String,
    pub sub: Option<String>,
    pub dlvrd: Option<String>,
    pub submit_date: Option<UtcTime>,
    pub done_date: Option<UtcTime>,
    pub stat: Option<String>,
    pub err: Option<String>,
}

/// How an SMSC writes the message ids it hands out. SMPP 3.4 §5.2.23 makes message_id an opaque
/// C-Octet String, and receipts (§5.3.2.12 receipted_message_id, Appendix B `id:`) are meant to
/// repeat it as given; but some SMSCs answer submit_sm with a hex id and put the same number in
/// decimal in the receipt, or the other way round (Kannel's `msg-id-type`, Jasmin's
/// `dlr_msg_id_bases`). Configured per SMSC and per direction; `String` compares as given.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum MessageIdFormat {
    /// Opaque, compared octet for octet (the SMPP rule; the default).
    #[default]
    String,
    /// A decimal number.
    Decimal,
    /// A hexadecimal number (either case, leading zeros allowed).
    Hex,
}

/// The id as ppgd stores and matches it: unchanged for `String`; for the numeric formats the
/// number in canonical decimal (no leading zeros), so a hex submit_sm_resp id and a decimal
/// receipt id of the same message meet. A "decimal" id with hex letters in it is read as hex,
/// as Kannel does for SMSCs that are not consistent even with themselves. An id that is not a
/// number in its format (or does not fit in 64 bits) is kept as given: it then matches only
/// itself, and an unmatched receipt is counted and logged rather than matched to a wrong push.
pub fn canonical_message_id(id: &str, format: MessageIdFormat) -> String {
    let radix = match format {
        MessageIdFormat::String => return id.to_string(),
        MessageIdFormat::Decimal if id.bytes().all(|b| b.is_ascii_digit()) => 10,
        MessageIdFormat::Decimal | MessageIdFormat::Hex => 16,
    };
    if id.is_empty() || id.starts_with(['+', '-']) {
        return id.to_string();
    }
    match u64::from_str_radix(id, radix) {
        Ok(n) => n.to_string(),
        Err(_) => id.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt text has no `id:` field")]
    NoId,
    #[error("receipt `id:` at offset {offset} is empty or not printable ASCII")]
    BadId { offset: usize },
    #[error("receipt has neither receipted_message_id nor a parsable text")]
    Empty,
}

fn find_key(text: &[u8], key: &[u8]) -> Option<usize> {
    // Case-insensitive, at the start or after a space: "id:" must not match inside "msgid:".
    (0..text.len()).find(|&i| {
        (i == 0 || text.get(i - 1) == Some(&b' '))
            && text
                .get(i..i + key.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(key))
    })
}

fn field(text: &[u8], key: &[u8]) -> Option<(usize, String)> {
    let start = find_key(text, key)? + key.len();
    let rest = text.get(start..)?;
    let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let value = rest.get(..end)?;
    Some((start, String::from_utf8_lossy(value).into_owned()))
}

/// `YYMMDDhhmm`, `YYMMDDhhmmss` or `YYYYMMDDhhmmss` (UTC assumed: the text carries no zone).
pub fn parse_receipt_date(s: &str) -> Option<UtcTime> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (year, rest) = match s.len() {
        10 | 12 => (2000 + n(0..2)? as i32, 2),
        14 => (n(0..4)? as i32, 4),
        _ => return None,
    };
    let (month, day, hour, minute) = (
        n(rest..rest + 2)?,
        n(rest + 2..rest + 4)?,
        n(rest + 4..rest + 6)?,
        n(rest + 6..rest + 8)?,
    );
    let second = if s.len() == 10 {
        0
    } else {
        n(rest + 8..rest + 10)?
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(UtcTime::from_civil(Civil {
        year,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
    }))
}

/// Parses the Appendix B receipt text. The id is returned exactly as it appears in the input.
pub fn parse_receipt_text(text: &[u8]) -> Result<TextReceipt, ReceiptError> {
    let (offset, id) = field(text, b"id:").ok_or(ReceiptError::NoId)?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ReceiptError::BadId { offset });
    }
    let get = |k: &[u8]| field(text, k).map(|(_, v)| v);
    Ok(TextReceipt {
        id,
        sub: get(b"sub:"),
        dlvrd: get(b"dlvrd:"),
        submit_date: get(b"submit date:").and_then(|d| parse_receipt_date(&d)),
        done_date: get(b"done date:").and_then(|d| parse_receipt_date(&d)),
        stat: get(b"stat:"),
        err: get(b"err:"),
    })
}

/// The 7-letter stat word → outcome. ACCEPTD/ENROUTE/BUFFRED/SCHEDULED are intermediate, as
/// Kannel treats them (digest §6.3); SKIPPED (5.0) is undeliverable (digest §6.5).
pub fn outcome_of_stat(stat: &str) -> ReceiptOutcome {
    match stat.to_ascii_uppercase().as_str() {
        "DELIVRD" | "DELIVERED" => ReceiptOutcome::Delivered,
        "EXPIRED" => ReceiptOutcome::Expired,
        "DELETED" => ReceiptOutcome::Deleted,
        "UNDELIV" | "UNDELIVERABLE" | "SKIPPED" => ReceiptOutcome::Undeliverable,
        "REJECTD" | "REJECTED" => ReceiptOutcome::Rejected,
        "ACCEPTD" | "ACCEPTED" | "ENROUTE" | "BUFFRED" | "SCHEDULED" => {
            ReceiptOutcome::Intermediate
        }
        _ => ReceiptOutcome::Unknown,
    }
}

/// message_state TLV (SMPP 3.4 §5.2.28, 5.0 adds 0 SCHEDULED and 9 SKIPPED) → (outcome, stat word).
pub fn outcome_of_state(state: u8) -> (ReceiptOutcome, &'static str) {
    match state {
        0 => (ReceiptOutcome::Intermediate, "SCHEDULED"),
        1 => (ReceiptOutcome::Intermediate, "ENROUTE"),
        2 => (ReceiptOutcome::Delivered, "DELIVRD"),
        3 => (ReceiptOutcome::Expired, "EXPIRED"),
        4 => (ReceiptOutcome::Deleted, "DELETED"),
        5 => (ReceiptOutcome::Undeliverable, "UNDELIV"),
        6 => (ReceiptOutcome::Intermediate, "ACCEPTD"),
        8 => (ReceiptOutcome::Rejected, "REJECTD"),
        9 => (ReceiptOutcome::Undeliverable, "SKIPPED"),
        _ => (ReceiptOutcome::Unknown, "UNKNOWN"),
    }
}

/// A delivery receipt as the gateway needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReceipt {
    pub message_id: String,
    pub outcome: ReceiptOutcome,
    /// The stat word, for metrics (bounded set: unknown words become "UNKNOWN").
    pub stat: &'static str,
    /// What the SMSC said, e.g. "stat:UNDELIV err:075".
    pub detail: String,
}

/// What a deliver_sm is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A mobile-originated message or anything else that is not a receipt.
    NotReceipt,
    Receipt(ParsedReceipt),
    Malformed(ReceiptError),
}

const STAT_WORDS: &[&str] = &[
    "DELIVRD",
    "EXPIRED",
    "DELETED",
    "UNDELIV",
    "ACCEPTD",
    "UNKNOWN",
    "REJECTD",
    "ENROUTE",
    "BUFFRED",
    "SKIPPED",
    "SCHEDULED",
];

/// Classifies a deliver_sm and parses a receipt. The TLVs (receipted_message_id, message_state,
/// network_error_code) win over the text; the text is the fallback (Kannel `handle_dlr`).
pub fn parse_deliver_sm(d: &DeliverSm) -> Delivery {
    let mut tlv_id = None;
    let mut tlv_state = None;
    let mut tlv_err = None;
    let mut payload = None;
    for tlv in d.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(id)) => tlv_id = Some(id.as_str().to_string()),
            Some(TlvValue::MessageState(s)) => tlv_state = Some(u8::from(*s)),
            Some(TlvValue::NetworkErrorCode(e)) => tlv_err = Some(e.error_code),
            Some(TlvValue::MessagePayload(p)) => payload = Some(p.value.clone()),
            _ => {}
        }
    }
    let esm = u8::from(d.esm_class);
    let kind = esm & ESM_TYPE_MASK;
    if kind != ESM_DELIVERY_RECEIPT && kind != ESM_INTERMEDIATE && tlv_id.is_none() {
        return Delivery::NotReceipt;
    }
    let text_bytes: &[u8] = match &payload {
        Some(p) if d.short_message().is_empty() => p.as_ref(),
        _ => d.short_message().as_ref(),
    };
    let text = parse_receipt_text(text_bytes);
    let message_id = match (&tlv_id, &text) {
        (Some(id), _) => id.clone(),
        (None, Ok(t)) => t.id.clone(),
        (None, Err(e)) => return Delivery::Malformed(e.clone()),
    };
    let (outcome, stat) = match (tlv_state, &text) {
        (Some(s), _) => outcome_of_state(s),
        (None, Ok(TextReceipt { stat: Some(w), .. })) => {
            let word = w.to_ascii_uppercase();
            let stat = STAT_WORDS
                .iter()
                .find(|s| **s == word)
                .copied()
                .unwrap_or("UNKNOWN");
            (outcome_of_stat(w), stat)
        }
        (None, _) => return Delivery::Malformed(ReceiptError::Empty),
    };
    let err = match (tlv_err, &text) {
        (Some(e), _) => Some(format!("{e:03}")),
        (None, Ok(t)) => t.err.clone(),
        (None, Err(_)) => None,
    };
    let detail = match err {
        Some(e) => format!("stat:{stat} err:{e}"),
        None => format!("stat:{stat}"),
    };
    Delivery::Receipt(ParsedReceipt {
        message_id,
        outcome,
        stat,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_in_different_bases_meet() {
        use MessageIdFormat::*;
        // The same message: submit_sm_resp in hex, receipt in decimal.
        assert_eq!(canonical_message_id("1000000A", Hex), "268435466");
        assert_eq!(canonical_message_id("268435466", Decimal), "268435466");
        assert_eq!(canonical_message_id("0001000000a", Hex), "268435466");
        assert_eq!(canonical_message_id("00268435466", Decimal), "268435466");
        // Opaque ids stay as given.
        assert_eq!(canonical_message_id("00AbC-1", String), "00AbC-1");
        // A "decimal" SMSC that sends hex letters: read as hex (Kannel does the same).
        assert_eq!(canonical_message_id("FF", Decimal), "255");
        // Not a number in its format, or too large: kept, so it matches only itself.
        assert_eq!(canonical_message_id("abc-42", Hex), "abc-42");
        assert_eq!(canonical_message_id("+12", Decimal), "+12");
        assert_eq!(canonical_message_id("", Hex), "");
        assert_eq!(
            canonical_message_id("123456789012345678901234567890", Decimal),
            "123456789012345678901234567890"
        );
        assert_eq!(
            canonical_message_id("FFFFFFFFFFFFFFFF", Hex),
            u64::MAX.to_string()
        );
    }

    proptest! {
        #[test]
        fn a_number_written_in_either_base_has_one_canonical_id(n: u64) {
            let hex = canonical_message_id(&format!("{n:X}"), MessageIdFormat::Hex);
            let lower = canonical_message_id(&format!("{n:x}"), MessageIdFormat::Hex);
            let dec = canonical_message_id(&n.to_string(), MessageIdFormat::Decimal);
            prop_assert_eq!(&hex, &dec);
            prop_assert_eq!(&lower, &dec);
        }

        #[test]
        fn canonical_message_id_never_panics(id in ".{0,40}") {
            for f in [MessageIdFormat::String, MessageIdFormat::Decimal, MessageIdFormat::Hex] {
                let _ = canonical_message_id(&id, f);
            }
        }
    }
    use crate::sms::{Ports, Sar};
    use bytes::Bytes;
    use proptest::prelude::*;
    use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
    use rusmpp::values::{ErrorCodeNetworkType, MessageState, NetworkErrorCode};

    fn seg(udhi: bool) -> Segment {
        Segment {
            user_data: Bytes::from_static(&[0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01]),
            udhi,
            in_message_payload: false,
            sar: None,
            ports_tlv: None,
        }
    }

    fn encode(sm: SubmitSm) -> Vec<u8> {
        use tokio_util::codec::Encoder;
        let mut b = bytes::BytesMut::new();
        crate::smpp::codec::TolerantCodec::default()
            .encode(
                rusmpp::Command::new(rusmpp::CommandStatus::EsmeRok, 1, sm),
                &mut b,
            )
            .expect("encode");
        b.to_vec()
    }

    #[test]
    fn submit_sm_fields_on_the_wire() {
        let cfg = SmscConfig {
            source_addr: "PPG".into(),
            source_ton: 5,
            source_npi: 0,
            service_type: "WAP".into(),
            validity: Some(std::time::Duration::from_secs(86_400)),
            ..SmscConfig::default()
        };
        let wire = encode(build_submit_sm(&seg(true), &cfg, "4917012345", true, None).expect("ok"));
        let body = &wire[16..];
        let mut expect = Vec::new();
        expect.extend_from_slice(b"WAP\0"); // service_type
        expect.extend_from_slice(&[5, 0]);
        expect.extend_from_slice(b"PPG\0");
        expect.extend_from_slice(&[1, 1]); // dest TON/NPI international ISDN
        expect.extend_from_slice(b"4917012345\0");
        expect.extend_from_slice(&[0x40, 0x00, 0x00]); // esm_class UDHI, protocol_id, priority
        expect.push(0); // schedule_delivery_time empty
        expect.extend_from_slice(b"000001000000000R\0"); // validity 1 day relative
        expect.extend_from_slice(&[0x01, 0x00, 0x04, 0x00, 8]); // registered, replace, dcs, default id, sm_length
        expect.extend_from_slice(&[0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01]);
        assert_eq!(body, &expect[..]);

        // No UDH: esm_class 0x00; no receipt asked: registered_delivery 0; absolute validity.
        let t = UtcTime::parse_pap("2026-11-25T04:30:00Z").expect("valid");
        let wire = encode(build_submit_sm(&seg(false), &cfg, "49170", false, Some(t)).expect("ok"));
        let esm_at = 16 + 4 + 2 + 4 + 2 + 6;
        assert_eq!(wire[esm_at], 0x00);
        assert_eq!(&wire[esm_at + 4..esm_at + 21], b"261125043000000+\0");
        assert_eq!(wire[esm_at + 21], 0x00);
    }

    #[test]
    fn submit_sm_sar_ports_and_payload_tlvs() {
        let cfg = SmscConfig::default();
        let s = Segment {
            user_data: Bytes::from(vec![0xAB; 300]),
            udhi: false,
            in_message_payload: true,
            sar: Some(Sar {
                reference: 0x1234,
                total: 2,
                seqnum: 1,
            }),
            ports_tlv: Some(Ports::WSP_PUSH),
        };
        let wire = encode(build_submit_sm(&s, &cfg, "49170", false, None).expect("ok"));
        let tail: Vec<u8> = wire[wire.len() - (4 + 300 + 6 + 5 + 5 + 6 + 6)..].to_vec();
        assert_eq!(&tail[..4], &[0x04, 0x24, 0x01, 0x2C]); // message_payload, 300
        let rest = &tail[304..];
        assert_eq!(
            rest,
            &[
                0x02, 0x0C, 0, 2, 0x12, 0x34, // sar_msg_ref_num
                0x02, 0x0E, 0, 1, 2, // sar_total_segments
                0x02, 0x0F, 0, 1, 1, // sar_segment_seqnum
                0x02, 0x0A, 0, 2, 0x23, 0xF0, // source_port 9200
                0x02, 0x0B, 0, 2, 0x0B, 0x84, // destination_port 2948
            ]
        );
        assert!(matches!(
            build_submit_sm(
                &seg(false),
                &cfg,
                "+49 not digits and far too long",
                false,
                None
            ),
            Err(PduError::Field {
                field: "destination_addr",
                ..
            })
        ));
    }

    #[test]
    fn receipt_text_forms() {
        let t = b"id:0A1B2C sub:001 dlvrd:001 submit date:2611250430 done date:261125043105 stat:DELIVRD err:000 text:hello";
        let r = parse_receipt_text(t).expect("parses");
        assert_eq!(r.id, "0A1B2C");
        assert_eq!(r.stat.as_deref(), Some("DELIVRD"));
        assert_eq!(r.err.as_deref(), Some("000"));
        assert_eq!(
            r.submit_date,
            Some(UtcTime::parse_pap("2026-11-25T04:30:00Z").expect("v"))
        );
        assert_eq!(
            r.done_date,
            Some(UtcTime::parse_pap("2026-11-25T04:31:05Z").expect("v"))
        );
        let r = parse_receipt_text(b"ID:77 Submit Date:20261125043000 Stat:UNDELIV Err:075")
            .expect("ok");
        assert_eq!(r.id, "77");
        assert_eq!(
            r.submit_date,
            Some(UtcTime::parse_pap("2026-11-25T04:30:00Z").expect("v"))
        );
        assert_eq!(
            parse_receipt_text(b"msgid:5 stat:DELIVRD"),
            Err(ReceiptError::NoId)
        );
        assert_eq!(
            parse_receipt_text(b"id: stat:DELIVRD"),
            Err(ReceiptError::BadId { offset: 3 })
        );
        assert_eq!(parse_receipt_date("2611250430xx"), None);
        assert_eq!(parse_receipt_date("261325043000"), None);
    }

    fn deliver(esm: u8, text: &[u8], tlvs: Vec<MessageDeliveryRequestTlvValue>) -> DeliverSm {
        let mut d = DeliverSm::default();
        d.esm_class = EsmClass::from(esm);
        d.set_short_message(OctetString::from_slice(text).expect("short"));
        d.set_tlvs(tlvs);
        d
    }

    #[test]
    fn deliver_sm_receipts_tlvs_win() {
        let text = b"id:AAA sub:001 dlvrd:000 submit date:2611250430 done date:2611250431 stat:UNDELIV err:075 text:";
        match parse_deliver_sm(&deliver(0x04, text, vec![])) {
            Delivery::Receipt(r) => {
                assert_eq!(r.message_id, "AAA");
                assert_eq!(r.outcome, ReceiptOutcome::Undeliverable);
                assert_eq!(r.detail, "stat:UNDELIV err:075");
            }
            other => panic!("{other:?}"),
        }
        let tlvs = vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId("BBB".parse().expect("c-string")),
            MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
            MessageDeliveryRequestTlvValue::NetworkErrorCode(NetworkErrorCode::new(
                ErrorCodeNetworkType::Gsm,
                0,
            )),
        ];
        match parse_deliver_sm(&deliver(0x04, text, tlvs)) {
            Delivery::Receipt(r) => {
                assert_eq!(r.message_id, "BBB");
                assert_eq!(r.outcome, ReceiptOutcome::Delivered);
                assert_eq!(r.stat, "DELIVRD");
                assert_eq!(r.detail, "stat:DELIVRD err:000");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_deliver_sm(&deliver(0x00, b"hello", vec![])),
            Delivery::NotReceipt
        );
        assert_eq!(
            parse_deliver_sm(&deliver(0x04, b"garbage", vec![])),
            Delivery::Malformed(ReceiptError::NoId)
        );
        assert_eq!(
            parse_deliver_sm(&deliver(0x04, b"id:9", vec![])),
            Delivery::Malformed(ReceiptError::Empty)
        );
    }

    proptest! {
        #[test]
        fn text_parser_id_is_in_input(input in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = parse_receipt_text(&input) {
                let id = r.id.as_bytes();
                prop_assert!(input.windows(id.len()).any(|w| w == id));
            }
        }
        #[test]
        fn text_round_trip(id in "[0-9A-Fa-f]{1,20}", stat in "DELIVRD|UNDELIV|EXPIRED") {
            let t = format!("id:{id} sub:001 dlvrd:001 submit date:2611250430 done date:2611250431 stat:{stat} err:000 text:x");
            let r = parse_receipt_text(t.as_bytes()).unwrap();
            prop_assert_eq!(r.id, id);
            prop_assert_eq!(r.stat, Some(stat));
        }
    }
}
