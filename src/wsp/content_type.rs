//! Content-type-value (WAP-230-WSP §8.4.2.24): Constrained-media (Short-integer or Extension-media)
//! or Content-general-form (Value-length + Media-type + parameters).

use super::WspError;
use super::primitives::*;
use super::tables;

/// The media type: a well-known code (WAP-230 Table 40 or a WINA-registered Long-integer code),
/// or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    WellKnown(u32),
    Text(String),
}

/// A parameter name: a well-known code (Table 38) or Token-text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamName {
    WellKnown(u8),
    Text(String),
}

/// A parameter value: Integer-value or Text-value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Integer(u64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: ParamName,
    pub value: ParamValue,
}

impl Parameter {
    /// `charset` as a MIBenum.
    pub fn charset(mib: u32) -> Self {
        Parameter {
            name: ParamName::WellKnown(0x01),
            value: ParamValue::Integer(u64::from(mib)),
        }
    }

    pub fn name_str(&self) -> String {
        match &self.name {
            ParamName::WellKnown(c) => tables::parameter_name(*c)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("param-0x{c:02X}")),
            ParamName::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub media: Media,
    pub params: Vec<Parameter>,
}

/// Why a MIME content-type string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    #[error("empty media type in content-type {0:?}")]
    EmptyMedia(String),
    #[error("parameter {param:?} has no '=' in content-type {text:?}")]
    BadParameter { text: String, param: String },
}

impl ContentType {
    /// A well-known type by code without parameters.
    pub fn well_known(code: u32) -> Self {
        ContentType {
            media: Media::WellKnown(code),
            params: Vec::new(),
        }
    }

    /// Parses a MIME content type (`text/vnd.wap.si; charset=utf-8`): a well-known name becomes
    /// its code, `charset` becomes its MIBenum, known parameter names their codes (RFC 2045 §5.1
    /// syntax; quoted values unquoted).
    pub fn parse_mime(text: &str) -> Result<ContentType, MimeError> {
        let mut parts = text.split(';');
        let media = parts.next().unwrap_or("").trim();
        if media.is_empty() {
            return Err(MimeError::EmptyMedia(text.to_owned()));
        }
        let media = match tables::content_type_by_name(media) {
            Some(e) => Media::WellKnown(e.code),
            None => Media::Text(media.to_ascii_lowercase()),
        };
        let mut params = Vec::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (name, value) = p.split_once('=').ok_or_else(|| MimeError::BadParameter {
                text: text.to_owned(),
                param: p.to_owned(),
            })?;
            let name = name.trim();
            let mut value = value.trim();
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            let param = if name.eq_ignore_ascii_case("charset") {
                match tables::charset_mib(value) {
                    Some(mib) => Parameter::charset(mib),
                    None => Parameter {
                        name: ParamName::WellKnown(0x01),
                        value: ParamValue::Text(value.to_owned()),
                    },
                }
            } else {
                match tables::parameter_code(name) {
                    Some(code) => Parameter {
                        name: ParamName::WellKnown(code),
                        value: ParamValue::Text(value.to_owned()),
                    },
                    None => Parameter {
                        name: ParamName::Text(name.to_ascii_lowercase()),
                        value: ParamValue::Text(value.to_owned()),
                    },
                }
            };
            params.push(param);
        }
        Ok(ContentType { media, params })
    }

    /// The media type's name (`application/vnd.wap.sic`), or `None` for an unregistered code.
    pub fn media_name(&self) -> Option<&str> {
        match &self.media {
            Media::WellKnown(c) => tables::content_type_by_code(*c).map(|e| e.name),
            Media::Text(t) => Some(t),
        }
    }

    /// Whether the media is `name` (case-insensitive, either form).
    pub fn is(&self, name: &str) -> bool {
        self.media_name()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }

    /// The same type with a well-known media written as text: some handsets want the MMS type as
    /// text (Kannel sends it so, its WSP 1.2 table lacking 0x3E, digest §2.3).
    pub fn textual(&self) -> ContentType {
        let media = match &self.media {
            Media::WellKnown(c) => match tables::content_type_by_code(*c) {
                Some(e) => Media::Text(e.name.to_owned()),
                None => Media::WellKnown(*c),
            },
            m => m.clone(),
        };
        ContentType {
            media,
            params: self.params.clone(),
        }
    }

    /// Encodes: Short-integer for a well-known code < 0x80 without parameters; Extension-media
    /// text without parameters; otherwise the general form (§8.4.2.24).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if self.params.is_empty() {
            match &self.media {
                Media::WellKnown(c) if *c < 0x80 => return put_short_integer(out, *c as u8),
                Media::Text(t)
                    if t.as_bytes()
                        .first()
                        .is_some_and(|&b| (0x20..0x80).contains(&b)) =>
                {
                    return put_token_text(out, t);
                }
                _ => {}
            }
        }
        let start = out.len();
        out.push(0); // Value-length placeholder, fixed below
        match &self.media {
            Media::WellKnown(c) => put_integer_value(out, u64::from(*c)),
            Media::Text(t) => put_token_text(out, t),
        }
        for p in &self.params {
            encode_param(out, p);
        }
        let len = out.len() - start - 1;
        if len > 30 {
            let mut lv = Vec::with_capacity(6);
            put_value_length(&mut lv, len);
            out.splice(start..start + 1, lv);
        } else {
            out[start] = len as u8;
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    /// Decodes a Content-type-value.
    pub fn decode(r: &mut Reader<'_>) -> Result<ContentType, WspError> {
        const WHAT: &str = "Content-Type";
        match r.peek() {
            None => Err(WspError::Truncated {
                what: WHAT,
                offset: r.offset(),
            }),
            Some(b) if b >= 0x80 => Ok(ContentType::well_known(u32::from(r.short_integer(WHAT)?))),
            Some(b) if b >= 0x20 => Ok(ContentType {
                media: Media::Text(r.token_text(WHAT)?),
                params: Vec::new(),
            }),
            Some(_) => {
                let len = r.value_length(WHAT)?;
                let mut sub = r.sub(len, WHAT)?;
                let media = match sub.peek() {
                    Some(b) if (0x20..0x80).contains(&b) => Media::Text(sub.token_text(WHAT)?),
                    _ => {
                        let off = sub.offset();
                        let v = sub.integer_value(WHAT)?;
                        Media::WellKnown(u32::try_from(v).map_err(|_| {
                            WspError::LongIntegerTooBig {
                                offset: off,
                                len: 8,
                            }
                        })?)
                    }
                };
                let mut params = Vec::new();
                while !sub.is_empty() {
                    params.push(decode_param(&mut sub)?);
                }
                Ok(ContentType { media, params })
            }
        }
    }
}

/// Parameter (§8.4.2.4): Typed-parameter (well-known code as Integer-value + typed value) or
/// Untyped-parameter (Token-text + Integer-value or Text-value).
fn encode_param(out: &mut Vec<u8>, p: &Parameter) {
    match &p.name {
        ParamName::WellKnown(c) => put_integer_value(out, u64::from(*c)),
        ParamName::Text(t) => put_token_text(out, t),
    }
    match (&p.name, &p.value) {
        // Q-value is a uintvar (§8.4.2.1), the one parameter value that is not Integer/Text.
        (ParamName::WellKnown(0x00), ParamValue::Integer(q)) => {
            put_uintvar(out, u32::try_from(*q).unwrap_or(u32::MAX))
        }
        (_, ParamValue::Integer(v)) => put_integer_value(out, *v),
        (_, ParamValue::Text(t)) => put_text_value(out, t),
    }
}

fn decode_param(r: &mut Reader<'_>) -> Result<Parameter, WspError> {
    const WHAT: &str = "parameter";
    let name = match r.peek() {
        Some(b) if b >= 0x80 => ParamName::WellKnown(r.short_integer(WHAT)?),
        Some(b) if b < 0x20 => {
            let off = r.offset();
            let v = r.long_integer(WHAT)?;
            ParamName::WellKnown(u8::try_from(v).map_err(|_| WspError::UnexpectedOctet {
                what: WHAT,
                octet: b,
                offset: off,
            })?)
        }
        _ => ParamName::Text(r.token_text(WHAT)?),
    };
    let value = match (&name, r.peek()) {
        (ParamName::WellKnown(0x00), _) => ParamValue::Integer(u64::from(r.uintvar("q-value")?)),
        (_, Some(b)) if b >= 0x80 || b < 0x1F && b != 0 => {
            ParamValue::Integer(r.integer_value(WHAT)?)
        }
        _ => ParamValue::Text(r.text_value(WHAT)?),
    };
    Ok(Parameter { name, value })
}

impl std::fmt::Display for ContentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.media, self.media_name()) {
            (Media::WellKnown(c), Some(n)) => write!(f, "{n} (0x{c:02X})")?,
            (Media::WellKnown(c), None) => write!(f, "unassigned content type 0x{c:02X}")?,
            (Media::Text(t), _) => write!(f, "{t} (text)")?,
        }
        for p in &self.params {
            write!(f, "; {}=", p.name_str())?;
            match (&p.name, &p.value) {
                (ParamName::WellKnown(1), ParamValue::Integer(mib)) => {
                    let n = u32::try_from(*mib).ok().and_then(tables::charset_name);
                    write!(f, "{} (MIBenum {mib})", n.unwrap_or("unknown"))?
                }
                (_, ParamValue::Integer(v)) => write!(f, "{v}")?,
                (_, ParamValue::Text(t)) => write!(f, "{t:?}")?,
            }
        }
        Ok(())
    }
}
