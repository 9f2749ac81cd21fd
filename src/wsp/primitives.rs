//! WSP primitive encodings (WAP-230-WSP §8.4.2 "Basic rules" and §8.1.2 "Variable length unsigned
//! integers"): uintvar, Short-/Long-/Integer-value, Value-length, the text forms, Encoded-string,
//! Version-value and Date-value. Decoding goes through [`Reader`], which knows the absolute offset
//! of every octet so each error says where the input went wrong.

use super::WspError;

/// Quote octet that precedes a Text-string whose first octet is ≥ 0x80 (§8.4.2.1).
pub const QUOTE: u8 = 0x7F;
/// Length-quote: a uintvar length follows (§8.4.2.2).
pub const LENGTH_QUOTE: u8 = 0x1F;
/// Opening octet of a Quoted-string (§8.4.2.1).
pub const QUOTED_STRING: u8 = 0x22;

/// A cursor over input octets. `base` is the absolute offset of `buf[0]` in the outer PDU so
/// sub-readers (a value-length-delimited value) report offsets in the caller's terms.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// A reader whose first octet sits at absolute offset `base`.
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next octet.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The octets not yet read.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Consumes and returns everything left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, WspError> {
        let b = self.peek().ok_or(WspError::Truncated {
            what,
            offset: self.offset(),
        })?;
        self.pos += 1;
        Ok(b)
    }

    /// `n` octets, or `Truncated` naming `what`.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WspError> {
        if n > self.remaining() {
            return Err(WspError::PastEnd {
                what,
                offset: self.offset(),
                len: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A reader over the next `n` octets (a Value-length-delimited value), advancing past them.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, WspError> {
        let base = self.offset();
        let s = self.take(n, what)?;
        Ok(Reader::with_base(s, base))
    }

    /// uintvar (§8.1.2): at most 5 octets and 32 bits; an overlong form (leading `80`) is refused
    /// because two encodings of one length would let a PDU say two things.
    pub fn uintvar(&mut self, what: &'static str) -> Result<u32, WspError> {
        let start = self.offset();
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.u8(what)?;
            if i == 0 && b == 0x80 {
                return Err(WspError::UintvarOverlong { offset: start });
            }
            v = (v << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return u32::try_from(v).map_err(|_| WspError::UintvarOverflow { offset: start });
            }
        }
        Err(WspError::UintvarTooLong { offset: start })
    }

    /// Short-integer (§8.4.2.1): one octet with bit 7 set, value 0–127.
    pub fn short_integer(&mut self, what: &'static str) -> Result<u8, WspError> {
        let offset = self.offset();
        let b = self.u8(what)?;
        if b & 0x80 == 0 {
            return Err(WspError::UnexpectedOctet {
                what,
                octet: b,
                offset,
            });
        }
        Ok(b & 0x7F)
    }

    /// Long-integer (§8.4.2.1): Short-length 1–30 then that many big-endian octets. Lengths above 8
    /// are legal on the wire but cannot be a u64: refused with the offset.
    pub fn long_integer(&mut self, what: &'static str) -> Result<u64, WspError> {
        let offset = self.offset();
        let len = self.u8(what)?;
        if len == 0 || len > 30 {
            return Err(WspError::LongIntegerLength { offset, len });
        }
        if len > 8 {
            return Err(WspError::LongIntegerTooBig { offset, len });
        }
        let bytes = self.take(usize::from(len), what)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Integer-value (§8.4.2.3): Short-integer or Long-integer.
    pub fn integer_value(&mut self, what: &'static str) -> Result<u64, WspError> {
        match self.peek() {
            Some(b) if b & 0x80 != 0 => self.short_integer(what).map(u64::from),
            Some(_) => self.long_integer(what),
            None => Err(WspError::Truncated {
                what,
                offset: self.offset(),
            }),
        }
    }

    /// Value-length (§8.4.2.2): `00`–`1E`, or `1F` + uintvar. The length is checked against what
    /// is left so callers can trust it.
    pub fn value_length(&mut self, what: &'static str) -> Result<usize, WspError> {
        let offset = self.offset();
        let b = self.u8(what)?;
        let len = match b {
            0x00..=0x1E => usize::from(b),
            LENGTH_QUOTE => self.uintvar(what)? as usize,
            _ => {
                return Err(WspError::UnexpectedOctet {
                    what,
                    octet: b,
                    offset,
                });
            }
        };
        if len > self.remaining() {
            return Err(WspError::PastEnd {
                what,
                offset,
                len,
                available: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Octets up to (not including) the next NUL, consuming the NUL.
    pub fn nul_terminated(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        let offset = self.offset();
        let rest = self.rest();
        let n = memchr::memchr(0, rest).ok_or(WspError::Unterminated { what, offset })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn utf8(bytes: &[u8], what: &'static str, offset: usize) -> Result<String, WspError> {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| WspError::InvalidUtf8 { what, offset })
    }

    /// Text-string (§8.4.2.1) as raw octets: a leading Quote `7F` is dropped.
    pub fn text_bytes(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        if self.peek() == Some(QUOTE) {
            self.pos += 1;
        }
        self.nul_terminated(what)
    }

    /// Text-string as UTF-8 text.
    pub fn text_string(&mut self, what: &'static str) -> Result<String, WspError> {
        self.text_str(what).map(str::to_owned)
    }

    /// Text-string as UTF-8 text borrowed from the input (what [`Reader::text_string`] checks,
    /// without the copy).
    pub fn text_str(&mut self, what: &'static str) -> Result<&'a str, WspError> {
        let offset = self.offset();
        let b = self.text_bytes(what)?;
        std::str::from_utf8(b).map_err(|_| WspError::InvalidUtf8 { what, offset })
    }

    /// Quoted-string (§8.4.2.1): `22` + text + NUL. The value is the text after the quote.
    pub fn quoted_string(&mut self, what: &'static str) -> Result<String, WspError> {
        let offset = self.offset();
        let b = self.u8(what)?;
        if b != QUOTED_STRING {
            return Err(WspError::UnexpectedOctet {
                what,
                octet: b,
                offset,
            });
        }
        let t = self.nul_terminated(what)?;
        Self::utf8(t, what, offset)
    }

    /// Token-text / Extension-media (§8.4.2.1): text + NUL, no quoting.
    pub fn token_text(&mut self, what: &'static str) -> Result<String, WspError> {
        let offset = self.offset();
        let t = self.nul_terminated(what)?;
        Self::utf8(t, what, offset)
    }

    /// Text-value (§8.4.2.1): No-value `00`, Quoted-string, or Text-string.
    pub fn text_value(&mut self, what: &'static str) -> Result<String, WspError> {
        match self.peek() {
            Some(QUOTED_STRING) => self.quoted_string(what),
            _ => self.text_string(what),
        }
    }

    /// Encoded-string-value (§8.4.2.1 / OMA-MMS-ENC §7.2.9): Text-string, or Value-length +
    /// Char-set (Integer-value; Any-charset `80` is 0) + Text-string.
    pub fn encoded_string(&mut self, what: &'static str) -> Result<EncodedString, WspError> {
        match self.peek() {
            // `00` is the empty Text-string; a Value-length of 0 could not hold the charset.
            Some(0) => {
                self.pos += 1;
                Ok(EncodedString {
                    charset: None,
                    text: Vec::new(),
                })
            }
            Some(b) if b <= LENGTH_QUOTE => {
                let len = self.value_length(what)?;
                let mut sub = self.sub(len, what)?;
                let charset = sub.integer_value(what)?;
                let charset = u32::try_from(charset).map_err(|_| WspError::UnexpectedOctet {
                    what,
                    octet: b,
                    offset: sub.offset(),
                })?;
                let text = sub.text_bytes(what)?.to_vec();
                if !sub.is_empty() {
                    return Err(WspError::TrailingOctets {
                        what,
                        offset: sub.offset(),
                    });
                }
                Ok(EncodedString {
                    charset: Some(charset),
                    text,
                })
            }
            _ => Ok(EncodedString {
                charset: None,
                text: self.text_bytes(what)?.to_vec(),
            }),
        }
    }

    /// Version-value (§8.4.2.3): Short-integer (major in bits 6–4, minor in bits 3–0) or Text-string.
    pub fn version_value(&mut self, what: &'static str) -> Result<Version, WspError> {
        match self.peek() {
            Some(b) if b & 0x80 != 0 => self.short_integer(what).map(Version::Short),
            _ => self.text_string(what).map(Version::Text),
        }
    }

    /// Date-value (§8.4.2.3): Long-integer seconds since 1970-01-01T00:00:00Z.
    pub fn date_value(&mut self, what: &'static str) -> Result<u64, WspError> {
        self.long_integer(what)
    }

    /// The raw octets of one value whatever its type, by the octet classes of §8.4.1.2
    /// (`00`–`1E` length, `1F` length-quote, `20`–`7F` text to NUL, `80`–`FF` one octet).
    pub fn any_value(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        let start = self.pos;
        match self.peek() {
            None => {
                return Err(WspError::Truncated {
                    what,
                    offset: self.offset(),
                });
            }
            Some(b) if b <= LENGTH_QUOTE => {
                let len = self.value_length(what)?;
                self.take(len, what)?;
            }
            Some(b) if b < 0x80 => {
                self.nul_terminated(what)?;
            }
            Some(_) => self.pos += 1,
        }
        Ok(&self.buf[start..self.pos])
    }
}

/// Encoded-string-value: text in an optional charset (IANA MIBenum), kept as octets because the
/// charset may not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedString {
    pub charset: Option<u32>,
    pub text: Vec<u8>,
}

impl EncodedString {
    /// Plain Text-string form (no charset).
    pub fn plain(text: &str) -> Self {
        Self {
            charset: None,
            text: text.as_bytes().to_vec(),
        }
    }

    /// UTF-8 (MIBenum 106) form.
    pub fn utf8(text: &str) -> Self {
        Self {
            charset: Some(super::tables::CHARSET_UTF8),
            text: text.as_bytes().to_vec(),
        }
    }

    /// The text for display: UTF-8/ASCII/unspecified decoded as UTF-8 (lossy), ISO-8859-1 mapped
    /// octet by octet, UCS-2/UTF-16 big-endian decoded; other charsets as lossy UTF-8.
    pub fn to_text(&self) -> String {
        match self.charset {
            Some(4) => self.text.iter().map(|&b| char::from(b)).collect(),
            Some(1000) | Some(1015) => {
                let units: Vec<u16> = self
                    .text
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
            _ => String::from_utf8_lossy(&self.text).into_owned(),
        }
    }
}

impl std::fmt::Display for EncodedString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.charset {
            None => write!(f, "{:?}", self.to_text()),
            Some(c) => {
                let name = super::tables::charset_name(c).unwrap_or("unknown charset");
                write!(f, "{:?} (charset {name}, MIBenum {c})", self.to_text())
            }
        }
    }
}

/// Version-value: a binary Short-integer (major.minor packed) or a text version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// The 7-bit value: major in bits 6–4, minor in bits 3–0 (`0x0F` = no minor).
    Short(u8),
    Text(String),
}

impl Version {
    /// `major.minor` as a binary Version-value (major 1–7, minor 0–14).
    pub fn new(major: u8, minor: u8) -> Self {
        Version::Short(((major & 0x07) << 4) | (minor & 0x0F))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version::Short(v) if v & 0x0F == 0x0F => write!(f, "{}", v >> 4),
            Version::Short(v) => write!(f, "{}.{}", v >> 4, v & 0x0F),
            Version::Text(t) => write!(f, "{t:?}"),
        }
    }
}

// ---- encoders ----

/// uintvar (§8.1.2), shortest form.
pub fn put_uintvar(out: &mut Vec<u8>, v: u32) {
    let mut tmp = [0u8; 5];
    let n = uintvar_into(&mut tmp, v);
    out.extend_from_slice(&tmp[5 - n..]);
}

/// Writes `v` right-aligned into `tmp` and returns how many octets it took.
pub(crate) fn uintvar_into(tmp: &mut [u8; 5], mut v: u32) -> usize {
    let mut i = 4;
    tmp[i] = (v & 0x7F) as u8;
    v >>= 7;
    while v != 0 {
        i -= 1;
        tmp[i] = 0x80 | (v & 0x7F) as u8;
        v >>= 7;
    }
    5 - i
}

/// Short-integer: `v` must be 0–127 (higher bits are dropped by the wire format).
pub fn put_short_integer(out: &mut Vec<u8>, v: u8) {
    out.push(0x80 | (v & 0x7F));
}

/// Long-integer with the fewest octets (0 is `01 00`).
pub fn put_long_integer(out: &mut Vec<u8>, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = (v.leading_zeros() / 8).min(7) as usize;
    out.push((8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Integer-value: Short-integer when < 128, else Long-integer.
pub fn put_integer_value(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        put_short_integer(out, v as u8);
    } else {
        put_long_integer(out, v);
    }
}

/// Value-length: one octet up to 30, else Length-quote + uintvar.
pub fn put_value_length(out: &mut Vec<u8>, len: usize) {
    if len <= 30 {
        out.push(len as u8);
    } else {
        out.push(LENGTH_QUOTE);
        put_uintvar(out, u32::try_from(len).unwrap_or(u32::MAX));
    }
}

/// Whether a Text-string starting with `first` needs the Quote octet. §8.4.2.1 demands it for
/// ≥ 0x80; we also quote a leading `7F` (else it would be read as the Quote) and control octets
/// (else a value decoder reads them as a length, as Kannel also avoids).
fn needs_quote(first: Option<&u8>) -> bool {
    matches!(first, Some(&b) if b >= 0x80 || b == QUOTE || b < 0x20)
}

/// Text-string from octets: Quote when needed, then the text and NUL.
pub fn put_text_bytes(out: &mut Vec<u8>, text: &[u8]) {
    if needs_quote(text.first()) {
        out.push(QUOTE);
    }
    out.extend_from_slice(text);
    out.push(0);
}

pub fn put_text_string(out: &mut Vec<u8>, text: &str) {
    put_text_bytes(out, text.as_bytes());
}

/// Quoted-string: `22` + text + NUL.
pub fn put_quoted_string(out: &mut Vec<u8>, text: &str) {
    out.push(QUOTED_STRING);
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

/// Token-text: text + NUL.
pub fn put_token_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

/// Text-value: as a Quoted-string when the text itself begins with `"` (so the first quote is
/// not taken as the Quoted-string marker), else a Text-string.
pub fn put_text_value(out: &mut Vec<u8>, text: &str) {
    if text.starts_with('"') {
        put_quoted_string(out, text);
    } else {
        put_text_string(out, text);
    }
}

/// Encoded-string-value.
pub fn put_encoded_string(out: &mut Vec<u8>, s: &EncodedString) {
    match s.charset {
        None => put_text_bytes(out, &s.text),
        Some(c) => {
            let mut inner = Vec::with_capacity(s.text.len() + 8);
            put_integer_value(&mut inner, u64::from(c));
            put_text_bytes(&mut inner, &s.text);
            put_value_length(out, inner.len());
            out.extend_from_slice(&inner);
        }
    }
}

/// Version-value.
pub fn put_version(out: &mut Vec<u8>, v: &Version) {
    match v {
        Version::Short(s) => put_short_integer(out, *s),
        Version::Text(t) => put_text_string(out, t),
    }
}
