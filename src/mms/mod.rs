//! MMS encapsulation (OMA-MMS-ENC 1.0–1.3): the header-field registry, a generic decoder for any
//! MMS PDU, the typed m-notification-ind / m-delivery-ind / m-notifyresp-ind, the notification
//! validator the gateway applies to a PI's PDU, and the `ppgd decode` dissector.

pub mod notification;
pub mod registry;

pub use notification::{
    DeliveryInd, FromAddress, MessageClass, NotificationInd, NotifyRespInd, RawField, TimeValue,
    Violation, check_notification, validate_notification,
};

use crate::decode::{Dissection, hex};
use crate::wsp::primitives::{EncodedString, Reader, Version};
use crate::wsp::{ContentType, MultipartEntry, WspError, decode_multipart};
use registry::Kind;

/// X-Mms-Message-Type (0x8C) code.
pub const FIELD_MESSAGE_TYPE: u8 = 0x8C;
/// Content-Type (0x84): the last header; the body follows.
pub const FIELD_CONTENT_TYPE: u8 = 0x84;

/// What is wrong with MMS input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MmsError {
    #[error("{field} (0x{code:02X}) at offset {offset}: {source}")]
    Field {
        field: &'static str,
        code: u8,
        offset: usize,
        #[source]
        source: WspError,
    },
    #[error("X-Application header at offset {offset}: {source}")]
    ApplicationHeader {
        offset: usize,
        #[source]
        source: WspError,
    },
    #[error("empty MMS PDU")]
    Empty,
    #[error("message type is {found:?}, expected 0x{expected:02X}")]
    WrongMessageType { expected: u8, found: Option<u8> },
    #[error("mandatory field {field} is missing")]
    MissingField { field: &'static str },
    #[error("multipart body: {0}")]
    Body(#[source] WspError),
}

/// A decoded field value, typed by the registry's [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    EncodedString(EncodedString),
    /// Long-integer or Integer-value.
    Integer(u64),
    /// Short-integer token (Yes/No, message type, status ...), the wire octet (`0x80`…).
    Token(u8),
    Version(Version),
    From(FromAddress),
    Time(TimeValue),
    ContentType(ContentType),
    /// Raw value octets (composites, unknown fields).
    Raw(Vec<u8>),
    /// An application header (Token-text name, Text-string value).
    Application {
        name: String,
        value: String,
    },
}

/// One header field as found in a PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The field code (0x81–0xFF); 0 for an application header.
    pub code: u8,
    /// Absolute offset of the field code octet.
    pub offset: usize,
    pub value: FieldValue,
    /// Range of the value octets in the input (so a typed PDU can keep raw octets).
    pub value_range: std::ops::Range<usize>,
}

/// Any MMS PDU, generically decoded: fields in wire order, then the body (after Content-Type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmsPdu {
    pub headers: Vec<HeaderField>,
    pub body: Option<Vec<u8>>,
    /// Absolute offset of the body.
    pub body_offset: usize,
}

impl MmsPdu {
    pub fn decode(bytes: &[u8]) -> Result<MmsPdu, MmsError> {
        if bytes.is_empty() {
            return Err(MmsError::Empty);
        }
        let mut r = Reader::new(bytes);
        let mut headers = Vec::new();
        let mut body = None;
        while !r.is_empty() {
            let f = read_field(&mut r)?;
            let is_ct = f.code == FIELD_CONTENT_TYPE;
            headers.push(f);
            if is_ct {
                body = Some(r.rest().to_vec());
                break;
            }
        }
        Ok(MmsPdu {
            headers,
            body,
            body_offset: r.offset(),
        })
    }

    /// Re-encodes the fields (each value in the form its registry kind names) and the body. Used
    /// for PDUs we build; a PI's PDU is forwarded as received, never re-encoded.
    pub fn encode(&self) -> Vec<u8> {
        use crate::wsp::primitives::*;
        let mut out = Vec::new();
        for h in &self.headers {
            if let FieldValue::Application { name, value } = &h.value {
                put_token_text(&mut out, name);
                put_text_string(&mut out, value);
                continue;
            }
            out.push(h.code);
            let kind = registry::field(h.code).map(|f| f.kind);
            match &h.value {
                FieldValue::Text(t) if kind == Some(Kind::MessageClass) => {
                    put_token_text(&mut out, t)
                }
                FieldValue::Text(t) => put_text_string(&mut out, t),
                FieldValue::EncodedString(s) => put_encoded_string(&mut out, s),
                FieldValue::Integer(n) if kind == Some(Kind::LongInteger) => {
                    put_long_integer(&mut out, *n)
                }
                FieldValue::Integer(n) => put_integer_value(&mut out, *n),
                FieldValue::Token(t) => out.push(*t),
                FieldValue::Version(v) => put_version(&mut out, v),
                FieldValue::From(f) => f.encode_into(&mut out),
                FieldValue::Time(t) => t.encode_into(&mut out),
                FieldValue::ContentType(ct) => ct.encode_into(&mut out),
                FieldValue::Raw(r) => out.extend_from_slice(r),
                FieldValue::Application { .. } => {}
            }
        }
        if let Some(b) = &self.body {
            out.extend_from_slice(b);
        }
        out
    }

    /// The first value of a field.
    pub fn get(&self, code: u8) -> Option<&FieldValue> {
        self.headers
            .iter()
            .find(|h| h.code == code)
            .map(|h| &h.value)
    }

    /// X-Mms-Message-Type.
    pub fn message_type(&self) -> Option<u8> {
        match self.get(FIELD_MESSAGE_TYPE) {
            Some(FieldValue::Token(t)) => Some(*t),
            _ => None,
        }
    }

    /// The body as WSP multipart entries, when the Content-Type is a multipart type.
    pub fn parts(&self) -> Option<Result<Vec<MultipartEntry>, MmsError>> {
        let ct = match self.get(FIELD_CONTENT_TYPE) {
            Some(FieldValue::ContentType(ct)) => ct,
            _ => return None,
        };
        let multipart = ct.media_name().is_some_and(|n| {
            n.to_ascii_lowercase()
                .starts_with("application/vnd.wap.multipart.")
        });
        if !multipart {
            return None;
        }
        let body = self.body.as_deref().unwrap_or(&[]);
        Some(decode_multipart(body, self.body_offset).map_err(MmsError::Body))
    }
}

/// The offset and the first octet of the field at the reader's position (not consumed).
fn peek_code(r: &Reader<'_>) -> Result<(usize, u8), MmsError> {
    let offset = r.offset();
    let code = r.peek().ok_or(MmsError::Field {
        field: "field code",
        code: 0,
        offset,
        source: WspError::Truncated {
            what: "MMS header field",
            offset,
        },
    })?;
    Ok((offset, code))
}

/// Reads one field (code + value) at the reader's position.
pub(crate) fn read_field(r: &mut Reader<'_>) -> Result<HeaderField, MmsError> {
    let (offset, code) = peek_code(r)?;
    if code < 0x80 {
        // Application-header (OMA-MMS-ENC §7.1, WSP §8.4.2.6): this octet starts its Token-text name.
        return read_application(r, offset);
    }
    let _ = r.u8("MMS header field");
    let start = r.offset();
    let value = decode_value(r, code).map_err(|source| MmsError::Field {
        field: registry::field_name(code),
        code,
        offset: start,
        source,
    })?;
    Ok(HeaderField {
        code,
        offset,
        value,
        value_range: start..r.offset(),
    })
}

/// Reads one field as [`read_field`] does (the same checks, the same errors) but keeps only its
/// code (0 for an application header) and, for a token, the token: a Text-string is checked in
/// place, not copied. The notification check reads every field of every push this way.
pub(crate) fn skip_field(r: &mut Reader<'_>) -> Result<(u8, Option<u8>), MmsError> {
    let (offset, code) = peek_code(r)?;
    if code < 0x80 {
        return read_application(r, offset).map(|_| (0, None));
    }
    let _ = r.u8("MMS header field");
    let start = r.offset();
    let field = |source| MmsError::Field {
        field: registry::field_name(code),
        code,
        offset: start,
        source,
    };
    if let Some(f) = registry::field(code)
        && f.kind == Kind::Text
    {
        r.text_str(f.name).map_err(field)?;
        return Ok((code, None));
    }
    match decode_value(r, code).map_err(field)? {
        FieldValue::Token(t) => Ok((code, Some(t))),
        _ => Ok((code, None)),
    }
}

fn read_application(r: &mut Reader<'_>, offset: usize) -> Result<HeaderField, MmsError> {
    let err = |source| MmsError::ApplicationHeader { offset, source };
    let name = r.token_text("application header name").map_err(err)?;
    let value = r.text_string("application header value").map_err(err)?;
    Ok(HeaderField {
        code: 0,
        offset,
        value: FieldValue::Application { name, value },
        value_range: offset..r.offset(),
    })
}

/// Decodes a field value by the registry kind of `code`.
pub(crate) fn decode_value(r: &mut Reader<'_>, code: u8) -> Result<FieldValue, WspError> {
    let f = registry::field(code);
    let what = f.map(|f| f.name).unwrap_or("unassigned field");
    let kind = f.map(|f| f.kind).unwrap_or(Kind::Any);
    Ok(match kind {
        Kind::Text => FieldValue::Text(r.text_string(what)?),
        Kind::EncodedString => FieldValue::EncodedString(r.encoded_string(what)?),
        Kind::LongInteger => FieldValue::Integer(r.long_integer(what)?),
        Kind::IntegerValue => FieldValue::Integer(r.integer_value(what)?),
        Kind::Token(_) | Kind::YesNo | Kind::FieldCode => {
            FieldValue::Token(r.short_integer(what)? | 0x80)
        }
        Kind::Version => FieldValue::Version(r.version_value(what)?),
        Kind::From => FieldValue::From(FromAddress::decode(r, what)?),
        Kind::Time => FieldValue::Time(TimeValue::decode(r, what)?),
        Kind::ContentType => FieldValue::ContentType(ContentType::decode(r)?),
        Kind::MessageClass => match r.peek() {
            Some(b) if b >= 0x80 => FieldValue::Token(r.u8(what)?),
            _ => FieldValue::Text(r.token_text(what)?),
        },
        Kind::Composite => {
            let start = r.offset();
            let raw = r.any_value(what)?;
            if raw.first().is_some_and(|&b| b > 0x1F) {
                return Err(WspError::UnexpectedOctet {
                    what,
                    octet: raw[0],
                    offset: start,
                });
            }
            FieldValue::Raw(raw.to_vec())
        }
        Kind::Any => FieldValue::Raw(r.any_value(what)?.to_vec()),
    })
}

/// A value for display, with token meanings spelled out.
pub fn describe(code: u8, v: &FieldValue) -> String {
    let kind = registry::field(code).map(|f| f.kind);
    match (kind, v) {
        (Some(Kind::Token(t)), FieldValue::Token(b)) => match registry::token_name(t, *b) {
            Some(n) => format!("{n} (0x{b:02X})"),
            None => format!("unassigned value 0x{b:02X}"),
        },
        (Some(Kind::YesNo), FieldValue::Token(b)) => {
            match registry::token_name(registry::YES_NO, *b) {
                Some(n) => format!("{n} (0x{b:02X})"),
                None => format!("unassigned value 0x{b:02X}"),
            }
        }
        (Some(Kind::MessageClass), FieldValue::Token(b)) => {
            match registry::token_name(registry::MESSAGE_CLASSES, *b) {
                Some(n) => format!("{n} (0x{b:02X})"),
                None => format!("unassigned class 0x{b:02X}"),
            }
        }
        (Some(Kind::FieldCode), FieldValue::Token(b)) => {
            format!("{} (0x{b:02X})", registry::field_name(*b))
        }
        (Some(Kind::Version), FieldValue::Version(v)) => format!("{v}"),
        (_, FieldValue::Text(t)) => t.clone(),
        (_, FieldValue::EncodedString(s)) => s.to_string(),
        (Some(Kind::LongInteger), FieldValue::Integer(n)) if code == 0x85 => {
            match i64::try_from(*n) {
                Ok(s) => format!("{} ({n})", crate::util::datetime::UtcTime(s)),
                Err(_) => n.to_string(),
            }
        }
        (_, FieldValue::Integer(n)) => n.to_string(),
        (_, FieldValue::Token(b)) => format!("0x{b:02X}"),
        (_, FieldValue::Version(v)) => v.to_string(),
        (_, FieldValue::From(a)) => a.to_string(),
        (_, FieldValue::Time(t)) => t.to_string(),
        (_, FieldValue::ContentType(ct)) => ct.to_string(),
        (_, FieldValue::Raw(b)) => hex(b),
        (_, FieldValue::Application { value, .. }) => value.clone(),
    }
}

/// Dissects any MMS PDU for `ppgd decode`: version, message type name, every field by name and
/// value, and the multipart parts of a body.
pub fn dissect(bytes: &[u8], out: &mut Dissection) -> Result<(), MmsError> {
    let pdu = MmsPdu::decode(bytes)?;
    let ty = pdu.message_type();
    let title = match ty {
        Some(t) => format!(
            "MMS {}",
            registry::message_type_name(t).unwrap_or("unassigned message type")
        ),
        None => "MMS (no X-Mms-Message-Type)".to_owned(),
    };
    let mut result = Ok(());
    out.nest(title, |d| {
        if let Some(FieldValue::Version(v)) = pdu.get(0x8D) {
            d.field("MMS version", v);
        }
        for h in &pdu.headers {
            match &h.value {
                FieldValue::Application { name, value } => d.field(name.clone(), value),
                v => d.field(
                    format!("{} (0x{:02X})", registry::field_name(h.code), h.code),
                    describe(h.code, v),
                ),
            }
        }
        match pdu.parts() {
            Some(Ok(parts)) => d.nest(format!("Body: {} parts", parts.len()), |d| {
                for (i, p) in parts.iter().enumerate() {
                    d.nest(format!("Part {} (at offset {})", i + 1, p.offset), |d| {
                        d.field("Content-Type", &p.content_type);
                        for h in &p.headers {
                            d.field(h.name(), h);
                        }
                        crate::wsp::dissect_body(&p.content_type, &p.data, d);
                    });
                }
            }),
            Some(Err(e)) => result = Err(e),
            None => {
                if let Some(b) = &pdu.body {
                    d.field(format!("Body ({} octets)", b.len()), hex(b));
                }
            }
        }
    });
    result
}
