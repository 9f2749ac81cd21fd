//! Typed MMS PDUs the gateway handles: m-notification-ind (pushed to the handset), m-delivery-ind
//! (also pushed), m-notifyresp-ind (for tests and traces), and the notification validator
//! (OMA-MMS-ENC §6.2 and §7; digest §3.3–3.4).

use super::registry;
use super::{FIELD_CONTENT_TYPE, FIELD_MESSAGE_TYPE, FieldValue, MmsError, MmsPdu, skip_field};
use crate::wsp::WspError;
use crate::wsp::primitives::*;

/// From (0x89) value: Address-present-token `80` + Encoded-string, or Insert-address-token `81`
/// (the MMS Proxy-Relay inserts the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromAddress {
    Present(EncodedString),
    Insert,
}

impl FromAddress {
    pub(crate) fn decode(r: &mut Reader<'_>, what: &'static str) -> Result<Self, WspError> {
        let len = r.value_length(what)?;
        let mut sub = r.sub(len, what)?;
        let off = sub.offset();
        let v = match sub.u8(what)? {
            0x80 => FromAddress::Present(sub.encoded_string(what)?),
            0x81 => FromAddress::Insert,
            octet => {
                return Err(WspError::UnexpectedOctet {
                    what,
                    octet,
                    offset: off,
                });
            }
        };
        if !sub.is_empty() {
            return Err(WspError::TrailingOctets {
                what,
                offset: sub.offset(),
            });
        }
        Ok(v)
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            FromAddress::Insert => out.extend_from_slice(&[0x01, 0x81]),
            FromAddress::Present(s) => {
                let mut inner = Vec::with_capacity(s.text.len() + 4);
                inner.push(0x80);
                put_encoded_string(&mut inner, s);
                put_value_length(out, inner.len());
                out.extend_from_slice(&inner);
            }
        }
    }
}

impl std::fmt::Display for FromAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FromAddress::Present(s) => write!(f, "{s} (address-present)"),
            FromAddress::Insert => write!(f, "insert-address-token (sender inserted by the MMSC)"),
        }
    }
}

/// Expiry / Delivery-Time / Reply-Charging-Deadline value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeValue {
    /// Seconds since 1970 (Absolute-token `80` + Date-value).
    Absolute(u64),
    /// Seconds from now (Relative-token `81` + Delta-seconds-value).
    Relative(u64),
}

impl TimeValue {
    pub(crate) fn decode(r: &mut Reader<'_>, what: &'static str) -> Result<Self, WspError> {
        let len = r.value_length(what)?;
        let mut sub = r.sub(len, what)?;
        let off = sub.offset();
        let v = match sub.u8(what)? {
            0x80 => TimeValue::Absolute(sub.date_value(what)?),
            // Delta-seconds-value is an Integer-value (OMA-MMS-ENC §7.2.10); accept both forms.
            0x81 => TimeValue::Relative(sub.integer_value(what)?),
            octet => {
                return Err(WspError::UnexpectedOctet {
                    what,
                    octet,
                    offset: off,
                });
            }
        };
        if !sub.is_empty() {
            return Err(WspError::TrailingOctets {
                what,
                offset: sub.offset(),
            });
        }
        Ok(v)
    }

    /// Always a Long-integer after the token, with a short Value-length: Android's PduParser reads
    /// these with a Long-integer reader only and throws otherwise (digest §3.3).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (token, v) = match self {
            TimeValue::Absolute(v) => (0x80, *v),
            TimeValue::Relative(v) => (0x81, *v),
        };
        let at = out.len();
        out.push(0);
        out.push(token);
        put_long_integer(out, v);
        out[at] = (out.len() - at - 1) as u8;
    }
}

impl std::fmt::Display for TimeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeValue::Absolute(t) => match i64::try_from(*t) {
                Ok(s) => write!(f, "absolute {} ({t})", crate::util::datetime::UtcTime(s)),
                Err(_) => write!(f, "absolute {t}"),
            },
            TimeValue::Relative(s) => write!(f, "relative {s} s"),
        }
    }
}

/// X-Mms-Message-Class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageClass {
    Personal,
    Advertisement,
    Informational,
    Auto,
    Unknown(u8),
    Text(String),
}

impl MessageClass {
    fn from_value(v: &FieldValue) -> Option<Self> {
        Some(match v {
            FieldValue::Token(0x80) => MessageClass::Personal,
            FieldValue::Token(0x81) => MessageClass::Advertisement,
            FieldValue::Token(0x82) => MessageClass::Informational,
            FieldValue::Token(0x83) => MessageClass::Auto,
            FieldValue::Token(b) => MessageClass::Unknown(*b),
            FieldValue::Text(t) => MessageClass::Text(t.clone()),
            _ => return None,
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            MessageClass::Personal => out.push(0x80),
            MessageClass::Advertisement => out.push(0x81),
            MessageClass::Informational => out.push(0x82),
            MessageClass::Auto => out.push(0x83),
            MessageClass::Unknown(b) => out.push(*b | 0x80),
            MessageClass::Text(t) => put_token_text(out, t),
        }
    }
}

/// A field kept as it was on the wire: its code and value octets. An application header
/// (Token-text name + value) has code 0 and its whole encoding as `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawField {
    pub code: u8,
    pub value: Vec<u8>,
}

impl RawField {
    fn encode_into(&self, out: &mut Vec<u8>) {
        if self.code != 0 {
            out.push(self.code);
        }
        out.extend_from_slice(&self.value);
    }
}

/// m-notification-ind (OMA-MMS-ENC §6.2). Token fields keep their wire octet (`0x80`…), so
/// unassigned values survive; [`registry`] names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationInd {
    pub transaction_id: String,
    pub version: Version,
    pub from: Option<FromAddress>,
    pub subject: Option<EncodedString>,
    pub delivery_report: Option<u8>,
    pub message_class: MessageClass,
    pub priority: Option<u8>,
    pub message_size: u64,
    pub expiry: TimeValue,
    pub content_location: String,
    pub reply_charging: Option<u8>,
    pub reply_charging_deadline: Option<TimeValue>,
    pub reply_charging_id: Option<String>,
    pub reply_charging_size: Option<u64>,
    pub stored: Option<u8>,
    pub distribution_indicator: Option<u8>,
    /// X-Mms-Element-Descriptor value octets (Value-length included).
    pub element_descriptor: Option<Vec<u8>>,
    pub recommended_retrieval_mode: Option<u8>,
    pub recommended_retrieval_mode_text: Option<EncodedString>,
    pub applic_id: Option<String>,
    pub reply_applic_id: Option<String>,
    pub aux_applic_info: Option<String>,
    pub content_class: Option<u8>,
    pub drm_content: Option<u8>,
    pub replace_id: Option<String>,
    /// Fields this struct does not type, in wire order.
    pub unknown: Vec<RawField>,
}

pub const TYPE_NOTIFICATION_IND: u8 = 0x82;
pub const TYPE_NOTIFYRESP_IND: u8 = 0x83;
pub const TYPE_DELIVERY_IND: u8 = 0x86;

fn put_token(out: &mut Vec<u8>, code: u8, v: Option<u8>) {
    if let Some(v) = v {
        out.push(code);
        out.push(v | 0x80);
    }
}

fn put_text_field(out: &mut Vec<u8>, code: u8, v: &Option<String>) {
    if let Some(v) = v {
        out.push(code);
        put_text_string(out, v);
    }
}

impl NotificationInd {
    /// A notification with the seven mandatory fields (plus nothing else).
    pub fn new(
        transaction_id: impl Into<String>,
        version: Version,
        message_size: u64,
        expiry: TimeValue,
        content_location: impl Into<String>,
    ) -> Self {
        NotificationInd {
            transaction_id: transaction_id.into(),
            version,
            from: None,
            subject: None,
            delivery_report: None,
            message_class: MessageClass::Personal,
            priority: None,
            message_size,
            expiry,
            content_location: content_location.into(),
            reply_charging: None,
            reply_charging_deadline: None,
            reply_charging_id: None,
            reply_charging_size: None,
            stored: None,
            distribution_indicator: None,
            element_descriptor: None,
            recommended_retrieval_mode: None,
            recommended_retrieval_mode_text: None,
            applic_id: None,
            reply_applic_id: None,
            aux_applic_info: None,
            content_class: None,
            drm_content: None,
            replace_id: None,
            unknown: Vec::new(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.content_location.len());
        self.encode_into(&mut out);
        out
    }

    /// Message-Type, Transaction-ID, MMS-Version first and in that order (OMA-MMS-ENC §6.2),
    /// then the optional and mandatory fields in the order of the ENC table, Content-Location
    /// last as in field captures (digest §3.5 Example A), then the untyped fields.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[FIELD_MESSAGE_TYPE, TYPE_NOTIFICATION_IND]);
        out.push(0x98);
        put_text_string(out, &self.transaction_id);
        out.push(0x8D);
        put_version(out, &self.version);
        if let Some(f) = &self.from {
            out.push(0x89);
            f.encode_into(out);
        }
        if let Some(s) = &self.subject {
            out.push(0x96);
            put_encoded_string(out, s);
        }
        put_token(out, 0x86, self.delivery_report);
        put_token(out, 0xA7, self.stored);
        out.push(0x8A);
        self.message_class.encode_into(out);
        put_token(out, 0x8F, self.priority);
        out.push(0x8E);
        put_long_integer(out, self.message_size);
        out.push(0x88);
        self.expiry.encode_into(out);
        put_token(out, 0x9C, self.reply_charging);
        if let Some(d) = &self.reply_charging_deadline {
            out.push(0x9D);
            d.encode_into(out);
        }
        if let Some(s) = self.reply_charging_size {
            out.push(0x9F);
            put_long_integer(out, s);
        }
        put_text_field(out, 0x9E, &self.reply_charging_id);
        put_token(out, 0xB1, self.distribution_indicator);
        if let Some(e) = &self.element_descriptor {
            out.push(0xB2);
            out.extend_from_slice(e);
        }
        put_token(out, 0xB4, self.recommended_retrieval_mode);
        if let Some(t) = &self.recommended_retrieval_mode_text {
            out.push(0xB5);
            put_encoded_string(out, t);
        }
        put_text_field(out, 0xB7, &self.applic_id);
        put_text_field(out, 0xB8, &self.reply_applic_id);
        put_text_field(out, 0xB9, &self.aux_applic_info);
        put_token(out, 0xBA, self.content_class);
        put_token(out, 0xBB, self.drm_content);
        put_text_field(out, 0xBD, &self.replace_id);
        out.push(0x83);
        put_text_string(out, &self.content_location);
        for u in &self.unknown {
            u.encode_into(out);
        }
    }

    /// Decodes an m-notification-ind, order-tolerant (the first occurrence of a field wins; use
    /// [`validate_notification`] to be strict). Fields it does not type go to `unknown` raw.
    pub fn decode(bytes: &[u8]) -> Result<NotificationInd, MmsError> {
        let pdu = MmsPdu::decode(bytes)?;
        expect_type(&pdu, TYPE_NOTIFICATION_IND)?;
        let mut tid = None;
        let mut version = None;
        let mut class = None;
        let mut size = None;
        let mut expiry = None;
        let mut location = None;
        let mut n = NotificationInd::new(
            String::new(),
            Version::Short(0),
            0,
            TimeValue::Relative(0),
            "",
        );
        let mut seen = [false; 256];
        for h in &pdu.headers {
            let first = !std::mem::replace(&mut seen[usize::from(h.code)], true) || h.code == 0;
            let raw = || RawField {
                code: h.code,
                value: bytes.get(h.value_range.clone()).unwrap_or(&[]).to_vec(),
            };
            if !first {
                if h.code != FIELD_MESSAGE_TYPE {
                    n.unknown.push(raw());
                }
                continue;
            }
            match (h.code, &h.value) {
                (FIELD_MESSAGE_TYPE, _) => {}
                (0x98, FieldValue::Text(t)) => tid = Some(t.clone()),
                (0x8D, FieldValue::Version(v)) => version = Some(v.clone()),
                (0x8A, v) => class = MessageClass::from_value(v),
                (0x8E, FieldValue::Integer(s)) => size = Some(*s),
                (0x88, FieldValue::Time(t)) => expiry = Some(*t),
                (0x83, FieldValue::Text(t)) => location = Some(t.clone()),
                (0x89, FieldValue::From(f)) => n.from = Some(f.clone()),
                (0x96, FieldValue::EncodedString(s)) => n.subject = Some(s.clone()),
                (0x86, FieldValue::Token(t)) => n.delivery_report = Some(*t),
                (0x8F, FieldValue::Token(t)) => n.priority = Some(*t),
                (0x9C, FieldValue::Token(t)) => n.reply_charging = Some(*t),
                (0x9D, FieldValue::Time(t)) => n.reply_charging_deadline = Some(*t),
                (0x9E, FieldValue::Text(t)) => n.reply_charging_id = Some(t.clone()),
                (0x9F, FieldValue::Integer(s)) => n.reply_charging_size = Some(*s),
                (0xA7, FieldValue::Token(t)) => n.stored = Some(*t),
                (0xB1, FieldValue::Token(t)) => n.distribution_indicator = Some(*t),
                (0xB2, FieldValue::Raw(r)) => n.element_descriptor = Some(r.clone()),
                (0xB4, FieldValue::Token(t)) => n.recommended_retrieval_mode = Some(*t),
                (0xB5, FieldValue::EncodedString(s)) => {
                    n.recommended_retrieval_mode_text = Some(s.clone())
                }
                (0xB7, FieldValue::Text(t)) => n.applic_id = Some(t.clone()),
                (0xB8, FieldValue::Text(t)) => n.reply_applic_id = Some(t.clone()),
                (0xB9, FieldValue::Text(t)) => n.aux_applic_info = Some(t.clone()),
                (0xBA, FieldValue::Token(t)) => n.content_class = Some(*t),
                (0xBB, FieldValue::Token(t)) => n.drm_content = Some(*t),
                (0xBD, FieldValue::Text(t)) => n.replace_id = Some(t.clone()),
                _ => n.unknown.push(raw()),
            }
        }
        if let Some(b) = &pdu.body {
            // A notification has no body; keep whatever followed a Content-Type so nothing is lost.
            if let Some(last) = n.unknown.last_mut()
                && last.code == FIELD_CONTENT_TYPE
            {
                last.value.extend_from_slice(b);
            }
        }
        let missing = |field| MmsError::MissingField { field };
        n.transaction_id = tid.ok_or(missing("X-Mms-Transaction-ID"))?;
        n.version = version.ok_or(missing("X-Mms-MMS-Version"))?;
        n.message_class = class.ok_or(missing("X-Mms-Message-Class"))?;
        n.message_size = size.ok_or(missing("X-Mms-Message-Size"))?;
        n.expiry = expiry.ok_or(missing("X-Mms-Expiry"))?;
        n.content_location = location.ok_or(missing("X-Mms-Content-Location"))?;
        Ok(n)
    }
}

fn expect_type(pdu: &MmsPdu, expected: u8) -> Result<(), MmsError> {
    match pdu.message_type() {
        Some(t) if t == expected => Ok(()),
        found => Err(MmsError::WrongMessageType { expected, found }),
    }
}

fn collect_unknown(pdu: &MmsPdu, bytes: &[u8], typed: &[u8]) -> Vec<RawField> {
    let mut seen = [false; 256];
    pdu.headers
        .iter()
        .filter(|h| {
            let first = !std::mem::replace(&mut seen[usize::from(h.code)], true);
            h.code == 0 || !(first && (typed.contains(&h.code) || h.code == FIELD_MESSAGE_TYPE))
        })
        .map(|h| RawField {
            code: h.code,
            value: bytes.get(h.value_range.clone()).unwrap_or(&[]).to_vec(),
        })
        .collect()
}

/// m-delivery-ind (OMA-MMS-ENC §6.6, digest §3.4): MMSC → originator, pushed like a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInd {
    pub version: Version,
    pub message_id: String,
    pub to: EncodedString,
    /// Seconds since 1970.
    pub date: u64,
    /// X-Mms-Status wire octet (`0x81` Retrieved ...).
    pub status: u8,
    pub unknown: Vec<RawField>,
}

impl DeliveryInd {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![FIELD_MESSAGE_TYPE, TYPE_DELIVERY_IND, 0x8D];
        put_version(&mut out, &self.version);
        out.push(0x8B);
        put_text_string(&mut out, &self.message_id);
        out.push(0x97);
        put_encoded_string(&mut out, &self.to);
        out.push(0x85);
        put_long_integer(&mut out, self.date);
        out.extend_from_slice(&[0x95, self.status | 0x80]);
        for u in &self.unknown {
            u.encode_into(&mut out);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<DeliveryInd, MmsError> {
        let pdu = MmsPdu::decode(bytes)?;
        expect_type(&pdu, TYPE_DELIVERY_IND)?;
        let missing = |field| MmsError::MissingField { field };
        Ok(DeliveryInd {
            version: match pdu.get(0x8D) {
                Some(FieldValue::Version(v)) => v.clone(),
                _ => return Err(missing("X-Mms-MMS-Version")),
            },
            message_id: match pdu.get(0x8B) {
                Some(FieldValue::Text(t)) => t.clone(),
                _ => return Err(missing("Message-ID")),
            },
            to: match pdu.get(0x97) {
                Some(FieldValue::EncodedString(s)) => s.clone(),
                _ => return Err(missing("To")),
            },
            date: match pdu.get(0x85) {
                Some(FieldValue::Integer(d)) => *d,
                _ => return Err(missing("Date")),
            },
            status: match pdu.get(0x95) {
                Some(FieldValue::Token(s)) => *s,
                _ => return Err(missing("X-Mms-Status")),
            },
            unknown: collect_unknown(&pdu, bytes, &[0x8D, 0x8B, 0x97, 0x85, 0x95]),
        })
    }
}

/// m-notifyresp-ind (OMA-MMS-ENC §6.2, digest §3.4): handset → MMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyRespInd {
    pub transaction_id: String,
    pub version: Version,
    /// X-Mms-Status wire octet.
    pub status: u8,
    /// X-Mms-Report-Allowed wire octet (`0x80` Yes, `0x81` No).
    pub report_allowed: Option<u8>,
    pub unknown: Vec<RawField>,
}

impl NotifyRespInd {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![FIELD_MESSAGE_TYPE, TYPE_NOTIFYRESP_IND, 0x98];
        put_text_string(&mut out, &self.transaction_id);
        out.push(0x8D);
        put_version(&mut out, &self.version);
        out.extend_from_slice(&[0x95, self.status | 0x80]);
        put_token(&mut out, 0x91, self.report_allowed);
        for u in &self.unknown {
            u.encode_into(&mut out);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<NotifyRespInd, MmsError> {
        let pdu = MmsPdu::decode(bytes)?;
        expect_type(&pdu, TYPE_NOTIFYRESP_IND)?;
        let missing = |field| MmsError::MissingField { field };
        Ok(NotifyRespInd {
            transaction_id: match pdu.get(0x98) {
                Some(FieldValue::Text(t)) => t.clone(),
                _ => return Err(missing("X-Mms-Transaction-ID")),
            },
            version: match pdu.get(0x8D) {
                Some(FieldValue::Version(v)) => v.clone(),
                _ => return Err(missing("X-Mms-MMS-Version")),
            },
            status: match pdu.get(0x95) {
                Some(FieldValue::Token(s)) => *s,
                _ => return Err(missing("X-Mms-Status")),
            },
            report_allowed: match pdu.get(0x91) {
                Some(FieldValue::Token(s)) => Some(*s),
                _ => None,
            },
            unknown: collect_unknown(&pdu, bytes, &[0x98, 0x8D, 0x95, 0x91]),
        })
    }
}

/// One way a PI's m-notification-ind breaks OMA-MMS-ENC §6.2 (or what Android needs, digest §3.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("X-Mms-Message-Type is {found:?}, expected 0x82 (m-notification-ind)")]
    WrongMessageType { found: Option<u8> },
    #[error("mandatory field {field} is missing")]
    MissingField { field: &'static str },
    #[error("{field} is field #{position} (from 1); it must be field #{expected}")]
    OutOfOrder {
        field: &'static str,
        expected: usize,
        position: usize,
    },
    #[error("{field} at offset {offset} repeats an earlier field")]
    Repeated { field: &'static str, offset: usize },
    #[error("{field} at offset {offset} cannot be decoded: {error}")]
    Undecodable {
        field: &'static str,
        offset: usize,
        error: WspError,
    },
    #[error("Content-Type at offset {offset}: a notification has no body")]
    UnexpectedBody { offset: usize },
}

/// The mandatory fields of m-notification-ind (OMA-MMS-ENC §6.2; Android drops the PDU without any
/// of them, digest §3.3).
const MANDATORY: &[u8] = &[0x8C, 0x98, 0x8D, 0x8A, 0x8E, 0x88, 0x83];

/// Checks a PI's m-notification-ind and reports every violation, not only the first. On success
/// the decoded notification is returned; the gateway then forwards the PI's bytes untouched.
pub fn validate_notification(bytes: &[u8]) -> Result<NotificationInd, Vec<Violation>> {
    check_notification(bytes)?;
    NotificationInd::decode(bytes).map_err(|e| {
        vec![Violation::Undecodable {
            field: "m-notification-ind",
            offset: 0,
            error: match e {
                MmsError::Field { source, .. } => source,
                _ => WspError::Truncated {
                    what: "m-notification-ind",
                    offset: 0,
                },
            },
        }]
    })
}

/// The checks of [`validate_notification`] without building the notification, for the gateway,
/// which forwards the PI's bytes: the same violations, and `Ok` exactly when
/// `validate_notification` is `Ok` (a PDU that passes these checks decodes: every field was read,
/// there is no body, the message type is m-notification-ind, and each mandatory field's first
/// occurrence has the value kind the typed decoder takes, `mandatory_fields_have_the_decoded_kinds`).
pub fn check_notification(bytes: &[u8]) -> Result<(), Vec<Violation>> {
    let mut v = Vec::new();
    let mut r = Reader::new(bytes);
    // Position (from 0, among coded fields) of the first 0x8C, 0x98 and 0x8D.
    const FIRST_THREE: [u8; 3] = [0x8C, 0x98, 0x8D];
    let mut first_at: [Option<usize>; 3] = [None; 3];
    let mut coded = 0usize;
    let mut seen = [false; 256];
    let mut message_type = None;
    while !r.is_empty() {
        let offset = r.offset();
        let code = r.peek().unwrap_or(0);
        let name = if code < 0x80 {
            "application header"
        } else {
            registry::field_name(code)
        };
        let mut probe = r.clone();
        match skip_field(&mut probe) {
            Ok((_, token)) => {
                if code == FIELD_MESSAGE_TYPE
                    && let Some(t) = token
                {
                    message_type.get_or_insert(t);
                }
                r = probe;
            }
            Err(e) => {
                let error = match e {
                    MmsError::Field { source, .. } | MmsError::ApplicationHeader { source, .. } => {
                        source
                    }
                    _ => WspError::Truncated { what: name, offset },
                };
                v.push(Violation::Undecodable {
                    field: name,
                    offset,
                    error,
                });
                // Skip the value by its octet class to go on checking the rest, if possible.
                let _ = r.u8(name);
                if code < 0x80 || r.any_value(name).is_err() {
                    break;
                }
            }
        }
        if code >= 0x80 {
            if std::mem::replace(&mut seen[usize::from(code)], true) {
                v.push(Violation::Repeated {
                    field: name,
                    offset,
                });
            }
            if let Some(i) = FIRST_THREE.iter().position(|&c| c == code) {
                first_at[i].get_or_insert(coded);
            }
            coded += 1;
        }
        if code == FIELD_CONTENT_TYPE {
            v.push(Violation::UnexpectedBody { offset });
            break;
        }
    }
    match message_type {
        Some(0x82) => {}
        found if seen[usize::from(FIELD_MESSAGE_TYPE)] => {
            v.push(Violation::WrongMessageType { found })
        }
        _ => {}
    }
    for (i, &code) in FIRST_THREE.iter().enumerate() {
        if let Some(pos) = first_at[i]
            && pos != i
        {
            v.push(Violation::OutOfOrder {
                field: registry::field_name(code),
                expected: i + 1,
                position: pos + 1,
            });
        }
    }
    for &code in MANDATORY {
        if !seen[usize::from(code)] {
            v.push(Violation::MissingField {
                field: registry::field_name(code),
            });
        }
    }
    if v.is_empty() { Ok(()) } else { Err(v) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::Kind;

    /// What makes [`check_notification`] agree with [`validate_notification`]: the first
    /// occurrence of each mandatory field decodes to the value the typed decoder takes.
    #[test]
    fn mandatory_fields_have_the_decoded_kinds() {
        let kind = |code| registry::field(code).map(|f| f.kind);
        assert!(matches!(kind(0x8C), Some(Kind::Token(_))));
        assert_eq!(kind(0x98), Some(Kind::Text));
        assert_eq!(kind(0x8D), Some(Kind::Version));
        assert_eq!(kind(0x8A), Some(Kind::MessageClass));
        assert!(matches!(
            kind(0x8E),
            Some(Kind::LongInteger | Kind::IntegerValue)
        ));
        assert_eq!(kind(0x88), Some(Kind::Time));
        assert_eq!(kind(0x83), Some(Kind::Text));
    }

    fn notification() -> Vec<u8> {
        let mut n = NotificationInd::new(
            "tid-1",
            Version::new(1, 2),
            29_696,
            TimeValue::Relative(72_000),
            "http://mmsc.example/m",
        );
        n.from = Some(FromAddress::Insert);
        n.subject = Some(EncodedString::utf8("hello"));
        n.encode()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Mutated and random PDUs: the check is the validator without the decoded value.
        #[test]
        fn check_is_validate_without_the_value(
            edits in proptest::collection::vec((0.0f64..1.0, 0u8..3, proptest::num::u8::ANY), 0..4),
            random in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let mut b = notification();
            for (at, op, byte) in edits {
                let i = ((b.len() as f64) * at) as usize;
                match op {
                    0 => b.insert(i, byte),
                    1 if i < b.len() => {
                        b.remove(i);
                    }
                    _ if i < b.len() => b[i] = byte,
                    _ => {}
                }
            }
            for bytes in [&b[..], &random[..]] {
                proptest::prop_assert_eq!(
                    check_notification(bytes),
                    validate_notification(bytes).map(|_| ())
                );
                // Field by field, from every offset: skip_field is read_field without the value.
                for at in 0..bytes.len() {
                    let (mut a, mut b) = (Reader::new(&bytes[at..]), Reader::new(&bytes[at..]));
                    let read = super::super::read_field(&mut a).map(|f| {
                        let token = match f.value {
                            FieldValue::Token(t) => Some(t),
                            _ => None,
                        };
                        (f.code, token)
                    });
                    proptest::prop_assert_eq!(skip_field(&mut b), read);
                    proptest::prop_assert_eq!(a.offset(), b.offset());
                }
            }
        }
    }
}
