//! WSP headers (WAP-230-WSP §8.4.2.6 onwards): well-known fields (Short-integer code + value) and
//! Application-headers (Token-text name + Text-string value).

use super::WspError;
use super::primitives::*;
use super::tables;

/// An X-Wap-Application-Id value (§8.4.2.54): App-assigned-code or Uri-value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppId {
    Code(u32),
    Urn(String),
}

impl AppId {
    /// `x-wap-application:mms.ua` → `Code(4)`; a registered URN becomes its code (case-insensitive),
    /// a decimal or `0x` hex number is taken as the code, anything else stays a URN.
    pub fn from_urn(urn: &str) -> AppId {
        let urn = urn.trim();
        if let Some(code) = tables::app_id_code(urn) {
            return AppId::Code(code);
        }
        if let Some(hex) = urn.strip_prefix("0x").or_else(|| urn.strip_prefix("0X")) {
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                return AppId::Code(v);
            }
        } else if !urn.is_empty()
            && urn.bytes().all(|b| b.is_ascii_digit())
            && let Ok(v) = urn.parse()
        {
            return AppId::Code(v);
        }
        AppId::Urn(urn.to_owned())
    }

    /// The URN, known for registered codes.
    pub fn urn(&self) -> Option<&str> {
        match self {
            AppId::Code(c) => tables::app_id_urn(*c),
            AppId::Urn(u) => Some(u),
        }
    }
}

impl std::fmt::Display for AppId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppId::Code(c) => match tables::app_id_urn(*c) {
                Some(u) => write!(f, "{u} (code 0x{c:02X})"),
                None => write!(f, "unregistered code 0x{c:02X}"),
            },
            AppId::Urn(u) => match tables::app_id_code(u) {
                Some(c) => write!(f, "{u} (as text; code 0x{c:02X})"),
                None => write!(f, "{u} (as text)"),
            },
        }
    }
}

/// Push-Flag bits (§8.4.2.55).
pub const PUSH_FLAG_AUTHENTICATED: u8 = 0x01;
pub const PUSH_FLAG_TRUSTED: u8 = 0x02;
pub const PUSH_FLAG_LAST: u8 = 0x04;

/// A WSP header. Well-known fields we type have their own variant; any other well-known field keeps
/// its code and raw value octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// X-Wap-Application-Id (0x2F).
    ApplicationId(AppId),
    /// X-Wap-Initiator-URI (0x31).
    InitiatorUri(String),
    /// X-Wap-Content-URI (0x30).
    ContentUri(String),
    /// Content-Length (0x0D).
    ContentLength(u64),
    /// Content-Location (0x0E).
    ContentLocation(String),
    /// Encoding-Version (0x43).
    EncodingVersion(Version),
    /// Push-Flag (0x34): bits `PUSH_FLAG_*`.
    PushFlag(u8),
    /// Content-ID (0x40), Quoted-string.
    ContentId(String),
    /// Date (0x12), seconds since 1970.
    Date(u64),
    /// Expires (0x14), seconds since 1970.
    Expires(u64),
    /// Any other well-known field: code (0x00–0x7F) and its encoded value octets.
    WellKnown { code: u8, value: Vec<u8> },
    /// Application-header: Token-text name, Text-string value.
    Application { name: String, value: String },
}

const CODE_CONTENT_LENGTH: u8 = 0x0D;
const CODE_CONTENT_LOCATION: u8 = 0x0E;
const CODE_DATE: u8 = 0x12;
const CODE_EXPIRES: u8 = 0x14;
const CODE_APPLICATION_ID: u8 = 0x2F;
const CODE_CONTENT_URI: u8 = 0x30;
const CODE_INITIATOR_URI: u8 = 0x31;
const CODE_PUSH_FLAG: u8 = 0x34;
const CODE_CONTENT_ID: u8 = 0x40;
const CODE_ENCODING_VERSION: u8 = 0x43;

/// The codes that have a typed variant (a `WellKnown` with one of them would decode typed).
pub const TYPED_CODES: &[u8] = &[
    CODE_CONTENT_LENGTH,
    CODE_CONTENT_LOCATION,
    CODE_DATE,
    CODE_EXPIRES,
    CODE_APPLICATION_ID,
    CODE_CONTENT_URI,
    CODE_INITIATOR_URI,
    CODE_PUSH_FLAG,
    CODE_CONTENT_ID,
    CODE_ENCODING_VERSION,
];

impl Header {
    /// Maps an entity header a PI put on the content part to a WSP header (PAP §8, digest §1.7):
    /// `None` for hop-by-hop, request and transfer headers the PPG must not forward, and for
    /// Content-Type (carried as the PDU's content type). Unknown names become Application pairs.
    pub fn from_http(name: &str, value: &str) -> Option<Header> {
        let value = value.trim();
        let lower = name.trim().to_ascii_lowercase();
        const DROP: &[&str] = &[
            "host",
            "authorization",
            "proxy-authorization",
            "user-agent",
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "content-transfer-encoding",
            "mime-version",
            "content-type",
            "expect",
            "cookie",
            "set-cookie",
            "content-length",
        ];
        if DROP.contains(&lower.as_str()) || lower.starts_with("x-kannel") {
            return None;
        }
        Some(match lower.as_str() {
            "x-wap-application-id" => Header::ApplicationId(AppId::from_urn(value)),
            "x-wap-initiator-uri" => Header::InitiatorUri(value.to_owned()),
            "x-wap-content-uri" => Header::ContentUri(value.to_owned()),
            "content-location" => Header::ContentLocation(value.to_owned()),
            "content-id" => Header::ContentId(value.to_owned()),
            "encoding-version" => match parse_version(value) {
                Some(v) => Header::EncodingVersion(v),
                None => Header::EncodingVersion(Version::Text(value.to_owned())),
            },
            "push-flag" => match value.parse::<u8>() {
                Ok(v) if v < 0x80 => Header::PushFlag(v),
                _ => return None,
            },
            "date" | "expires" => match crate::util::datetime::UtcTime::parse_pap(value) {
                Ok(t) if t.0 >= 0 => {
                    if lower == "date" {
                        Header::Date(t.0 as u64)
                    } else {
                        Header::Expires(t.0 as u64)
                    }
                }
                _ => Header::Application {
                    name: name.trim().to_owned(),
                    value: value.to_owned(),
                },
            },
            _ => Header::Application {
                name: name.trim().to_owned(),
                value: value.to_owned(),
            },
        })
    }

    /// The field name as WAP-230 Table 39 spells it.
    pub fn name(&self) -> String {
        let code = match self {
            Header::ApplicationId(_) => CODE_APPLICATION_ID,
            Header::InitiatorUri(_) => CODE_INITIATOR_URI,
            Header::ContentUri(_) => CODE_CONTENT_URI,
            Header::ContentLength(_) => CODE_CONTENT_LENGTH,
            Header::ContentLocation(_) => CODE_CONTENT_LOCATION,
            Header::EncodingVersion(_) => CODE_ENCODING_VERSION,
            Header::PushFlag(_) => CODE_PUSH_FLAG,
            Header::ContentId(_) => CODE_CONTENT_ID,
            Header::Date(_) => CODE_DATE,
            Header::Expires(_) => CODE_EXPIRES,
            Header::WellKnown { code, .. } => *code,
            Header::Application { name, .. } => return name.clone(),
        };
        tables::header_name(code)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("header 0x{code:02X}"))
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let field = |out: &mut Vec<u8>, code: u8| put_short_integer(out, code);
        match self {
            Header::ApplicationId(id) => {
                field(out, CODE_APPLICATION_ID);
                match id {
                    AppId::Code(c) => put_integer_value(out, u64::from(*c)),
                    AppId::Urn(u) => put_text_string(out, u),
                }
            }
            Header::InitiatorUri(u) => {
                field(out, CODE_INITIATOR_URI);
                put_text_string(out, u);
            }
            Header::ContentUri(u) => {
                field(out, CODE_CONTENT_URI);
                put_text_string(out, u);
            }
            Header::ContentLength(n) => {
                field(out, CODE_CONTENT_LENGTH);
                put_integer_value(out, *n);
            }
            Header::ContentLocation(u) => {
                field(out, CODE_CONTENT_LOCATION);
                put_text_string(out, u);
            }
            Header::EncodingVersion(v) => {
                field(out, CODE_ENCODING_VERSION);
                put_version(out, v);
            }
            Header::PushFlag(f) => {
                field(out, CODE_PUSH_FLAG);
                put_short_integer(out, *f);
            }
            Header::ContentId(id) => {
                field(out, CODE_CONTENT_ID);
                put_quoted_string(out, id);
            }
            Header::Date(t) => {
                field(out, CODE_DATE);
                put_long_integer(out, *t);
            }
            Header::Expires(t) => {
                field(out, CODE_EXPIRES);
                put_long_integer(out, *t);
            }
            Header::WellKnown { code, value } => {
                field(out, *code);
                out.extend_from_slice(value);
            }
            Header::Application { name, value } => {
                put_token_text(out, name);
                put_text_string(out, value);
            }
        }
    }

    /// Decodes one header. A well-known field whose value is not in the form we type (e.g. a
    /// Long-integer Push-Flag) is kept as `WellKnown` with its raw octets, so nothing is lost.
    pub fn decode(r: &mut Reader<'_>) -> Result<Header, WspError> {
        let offset = r.offset();
        match r.peek() {
            None => Err(WspError::Truncated {
                what: "header",
                offset,
            }),
            Some(b) if b >= 0x80 => {
                let code = b & 0x7F;
                r.u8("header")?;
                let vstart = r.offset();
                let raw = r.any_value(field_what(code))?;
                Ok(
                    typed(code, raw, vstart).unwrap_or_else(|| Header::WellKnown {
                        code,
                        value: raw.to_vec(),
                    }),
                )
            }
            Some(b) if b < 0x20 || b == QUOTE => Err(WspError::CodePageShift { offset, octet: b }),
            Some(_) => {
                let name = r.token_text("application header name")?;
                let value = r.text_string("application header value")?;
                Ok(Header::Application { name, value })
            }
        }
    }
}

fn field_what(code: u8) -> &'static str {
    tables::header_name(code).unwrap_or("header value")
}

/// The typed reading of a well-known field's value, when its octets are exactly that form.
fn typed(code: u8, raw: &[u8], base: usize) -> Option<Header> {
    let mut r = Reader::with_base(raw, base);
    let h = match code {
        // Integer-value starts with a Short-integer (≥ 0x80) or a Short-length 1–30 (WAP-230
        // §8.4.2.1); anything else, `00` (an empty Text-string) included, is a Uri-value.
        CODE_APPLICATION_ID => match r.peek()? {
            b if b >= 0x80 || (0x01..=0x1E).contains(&b) => {
                Header::ApplicationId(AppId::Code(u32::try_from(r.integer_value("").ok()?).ok()?))
            }
            _ => Header::ApplicationId(AppId::Urn(r.text_string("").ok()?)),
        },
        CODE_INITIATOR_URI => Header::InitiatorUri(uri(&mut r)?),
        CODE_CONTENT_URI => Header::ContentUri(uri(&mut r)?),
        CODE_CONTENT_LOCATION => Header::ContentLocation(uri(&mut r)?),
        CODE_CONTENT_LENGTH => Header::ContentLength(r.integer_value("").ok()?),
        CODE_ENCODING_VERSION => Header::EncodingVersion(r.version_value("").ok()?),
        CODE_PUSH_FLAG => Header::PushFlag(r.short_integer("").ok()?),
        CODE_CONTENT_ID => Header::ContentId(r.quoted_string("").ok()?),
        CODE_DATE => Header::Date(r.date_value("").ok()?),
        CODE_EXPIRES => Header::Expires(r.date_value("").ok()?),
        _ => return None,
    };
    r.is_empty().then_some(h)
}

fn uri(r: &mut Reader<'_>) -> Option<String> {
    match r.peek()? {
        // `00` alone is the empty Text-string (a Uri-value has no Value-length form).
        0x00 => r.text_string("").ok(),
        b if (0x20..0x80).contains(&b) => r.text_string("").ok(),
        _ => None,
    }
}

/// `1.3` → binary Version-value.
fn parse_version(s: &str) -> Option<Version> {
    let (maj, min) = s.split_once('.').unwrap_or((s, ""));
    let major: u8 = maj.parse().ok()?;
    if !(1..=7).contains(&major) {
        return None;
    }
    let minor: u8 = if min.is_empty() {
        15
    } else {
        min.parse().ok()?
    };
    if minor > 15 {
        return None;
    }
    Some(Version::new(major, minor))
}

impl std::fmt::Display for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Header::ApplicationId(id) => write!(f, "{id}"),
            Header::InitiatorUri(u) | Header::ContentUri(u) | Header::ContentLocation(u) => {
                write!(f, "{u}")
            }
            Header::ContentLength(n) => write!(f, "{n}"),
            Header::EncodingVersion(v) => write!(f, "{v}"),
            Header::PushFlag(p) => {
                let mut names = Vec::new();
                if p & PUSH_FLAG_AUTHENTICATED != 0 {
                    names.push("initiator URI authenticated");
                }
                if p & PUSH_FLAG_TRUSTED != 0 {
                    names.push("content trusted");
                }
                if p & PUSH_FLAG_LAST != 0 {
                    names.push("last push message");
                }
                if p & !0x07 != 0 {
                    names.push("reserved bits set");
                }
                if names.is_empty() {
                    names.push("no flags");
                }
                write!(f, "0x{p:02X} ({})", names.join(", "))
            }
            Header::ContentId(id) => write!(f, "{id:?}"),
            Header::Date(t) | Header::Expires(t) => match i64::try_from(*t) {
                Ok(s) => write!(f, "{} ({t})", crate::util::datetime::UtcTime(s)),
                Err(_) => write!(f, "{t}"),
            },
            Header::WellKnown { value, .. } => write!(f, "{}", crate::decode::hex(value)),
            Header::Application { value, .. } => write!(f, "{value}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_well_known_header_round_trips_on_short_values() {
        // decode(encode(decode(x))) == decode(x) for every field code and every value of up to
        // two octets plus a set of edge shapes: the invariant of the wsp_push fuzz target, swept.
        let mut values: Vec<Vec<u8>> =
            vec![vec![0x7F, 0x00], vec![0x22, 0x00], vec![0x1F, 0x01, 0x00]];
        for a in 0..=255u8 {
            values.push(vec![a]);
            for b in [0x00, 0x01, 0x30, 0x7F, 0x80, 0xFF] {
                values.push(vec![a, b]);
            }
        }
        for code in 0..0x80u8 {
            for v in &values {
                let mut raw = vec![0x80 | code];
                raw.extend_from_slice(v);
                let Ok(h) = Header::decode(&mut Reader::new(&raw)) else {
                    continue;
                };
                let mut out = Vec::new();
                h.encode_into(&mut out);
                let again = Header::decode(&mut Reader::new(&out));
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&h),
                    "{raw:02X?} → {h:?} → {out:02X?}"
                );
            }
        }
    }

    #[test]
    fn an_empty_application_id_urn_round_trips() {
        // Found by the wsp_push fuzz target: `AF 7F 00` (a quoted empty URN) re-encoded as
        // `AF 00` was read back as a malformed Integer-value and kept as raw octets.
        for raw in [&[0xAF, 0x7F, 0x00][..], &[0xAF, 0x00][..]] {
            let h = Header::decode(&mut Reader::new(raw)).unwrap();
            assert_eq!(
                h,
                Header::ApplicationId(AppId::Urn(String::new())),
                "{raw:02X?}"
            );
            let mut out = Vec::new();
            h.encode_into(&mut out);
            assert_eq!(Header::decode(&mut Reader::new(&out)).unwrap(), h);
        }
        // The same for every Uri-value header (second wsp_push fuzz find: X-Wap-Content-URI `7F 00`).
        for code in [0xB0u8, 0xB1, 0x8E] {
            let h = Header::decode(&mut Reader::new(&[code, 0x7F, 0x00])).unwrap();
            assert!(!matches!(h, Header::WellKnown { .. }), "{h:?}");
            let mut out = Vec::new();
            h.encode_into(&mut out);
            assert_eq!(
                Header::decode(&mut Reader::new(&out)).unwrap(),
                h,
                "{code:02X}"
            );
        }
        // Integer forms still decode as codes: short (0x84) and long (02 80 02).
        let h = Header::decode(&mut Reader::new(&[0xAF, 0x84])).unwrap();
        assert_eq!(h, Header::ApplicationId(AppId::Code(4)));
        let h = Header::decode(&mut Reader::new(&[0xAF, 0x02, 0x80, 0x02])).unwrap();
        assert_eq!(h, Header::ApplicationId(AppId::Code(0x8002)));
    }
}
