//! The generic WBXML layer (WAP-192-WBXML 1.3): header, multi-byte integers, a token writer and a
//! token reader that builds a small document tree. It knows no document type: tags and
//! attributes stay as (code page, token) pairs; [`super::tables`] gives them names.
//!
//! Input is untrusted: the reader caps the input length ([`MAX_INPUT`]) and the element
//! nesting depth ([`MAX_DEPTH`]), and every error names the octet offset where it was found.

use super::WbxmlError;

/// The longest WBXML document the reader accepts. A push travels in at most a few hundred
/// concatenated SMS; 64 KiB is far above anything a handset accepts.
pub const MAX_INPUT: usize = 64 * 1024;
/// The deepest element nesting the reader accepts (SI needs 3 levels).
pub const MAX_DEPTH: usize = 32;

// Global tokens, WAP-192 §7.1.
pub const SWITCH_PAGE: u8 = 0x00;
pub const END: u8 = 0x01;
pub const ENTITY: u8 = 0x02;
pub const STR_I: u8 = 0x03;
pub const LITERAL: u8 = 0x04;
pub const EXT_I_0: u8 = 0x40;
pub const PI: u8 = 0x43;
pub const LITERAL_C: u8 = 0x44;
pub const EXT_T_0: u8 = 0x80;
pub const STR_T: u8 = 0x83;
pub const LITERAL_A: u8 = 0x84;
pub const EXT_0: u8 = 0xC0;
pub const OPAQUE: u8 = 0xC3;
pub const LITERAL_AC: u8 = 0xC4;
/// Tag token flag: the element has content (WAP-192 §5.8.2).
pub const TAG_CONTENT: u8 = 0x40;
/// Tag token flag: the element has attributes, ended by END.
pub const TAG_ATTRIBUTES: u8 = 0x80;

/// `mb_u_int32` charset MIBenum values we can turn into text (IANA character sets).
pub const CHARSET_UTF8: u32 = 0x6A;
pub const CHARSET_LATIN1: u32 = 0x04;
pub const CHARSET_ASCII: u32 = 0x03;
/// "Unknown" charset (WAP-192 §5.6): we read it as UTF-8.
pub const CHARSET_UNKNOWN: u32 = 0x00;

/// The document public identifier (WAP-192 §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicId {
    /// A well-known value (`05` SI 1.0, `06` SL 1.0, `07` CO 1.0 ...).
    Known(u32),
    /// `00` followed by an index into the string table, resolved to its text.
    Text(String),
}

/// The WBXML header (WAP-192 §5.3–5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `0x01` 1.1, `0x02` 1.2, `0x03` 1.3 (the minor version in the low nibble).
    pub version: u8,
    pub public_id: PublicId,
    /// IANA MIBenum.
    pub charset: u32,
    pub string_table: Vec<u8>,
}

/// A tag or attribute-start: a token on a code page, or a LITERAL name from the string table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    Token { page: u8, code: u8 },
    Literal(String),
}

/// An extension token (EXT_I_n / EXT_T_n / EXT_n, WAP-192 §5.8.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    Inline(u8, String),
    TableRef(u8, u32),
    Single(u8),
}

/// One piece of an attribute value (WAP-192 §5.8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePart {
    /// STR_I, or STR_T resolved through the string table.
    Text(String),
    /// An attribute-value token (>= 0x80) on a code page.
    Token {
        page: u8,
        code: u8,
    },
    Entity(u32),
    Opaque(Vec<u8>),
    Extension(Extension),
}

/// Element content (WAP-192 §5.8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    Entity(u32),
    Opaque(Vec<u8>),
    Extension(Extension),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Offset of the attribute-start token.
    pub offset: usize,
    pub name: Name,
    pub value: Vec<ValuePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Offset of the tag token.
    pub offset: usize,
    pub name: Name,
    pub attributes: Vec<Attribute>,
    /// `None` when the tag token has no content flag; `Some` (possibly empty) otherwise.
    pub content: Option<Vec<Node>>,
}

/// A whole WBXML document: header and root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    pub header: Header,
    pub root: Element,
}

/// Appends `v` as an `mb_u_int32` (WAP-192 §5.1: 7 bits an octet, most significant first, the
/// high bit set on all but the last octet).
pub fn put_mb_u_int32(out: &mut Vec<u8>, v: u32) {
    let mut buf = [0u8; 5];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = (v & 0x7F) as u8 | if i == buf.len() - 1 { 0 } else { 0x80 };
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A token writer: appends WBXML tokens to a buffer. The caller keeps the structure right
/// (every `start` with content or attributes is matched by an `end`).
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
    page: u8,
}

impl Writer {
    /// Starts a document with an empty string table (what Kannel and libwbxml emit for SI/SL).
    pub fn new(version: u8, public_id: u32, charset: u32) -> Self {
        let mut out = Vec::with_capacity(128);
        out.push(version);
        put_mb_u_int32(&mut out, public_id);
        put_mb_u_int32(&mut out, charset);
        put_mb_u_int32(&mut out, 0);
        Self { out, page: 0 }
    }

    /// Starts a document with a full header (string-table public id or a non-empty table).
    pub fn with_header(header: &Header, public_id_index: Option<u32>) -> Self {
        let mut out = Vec::with_capacity(128 + header.string_table.len());
        out.push(header.version);
        match (&header.public_id, public_id_index) {
            (PublicId::Known(v), _) => put_mb_u_int32(&mut out, *v),
            (PublicId::Text(_), Some(i)) => {
                out.push(0);
                put_mb_u_int32(&mut out, i);
            }
            (PublicId::Text(_), None) => put_mb_u_int32(&mut out, 1),
        }
        put_mb_u_int32(&mut out, header.charset);
        put_mb_u_int32(&mut out, header.string_table.len() as u32);
        out.extend_from_slice(&header.string_table);
        Self { out, page: 0 }
    }

    fn page(&mut self, page: u8) {
        if page != self.page {
            self.out.push(SWITCH_PAGE);
            self.out.push(page);
            self.page = page;
        }
    }

    /// A tag token with its flags.
    pub fn tag(&mut self, page: u8, code: u8, attributes: bool, content: bool) {
        self.page(page);
        let mut t = code & 0x3F;
        if attributes {
            t |= TAG_ATTRIBUTES;
        }
        if content {
            t |= TAG_CONTENT;
        }
        self.out.push(t);
    }

    /// An attribute-start (< 0x80) or attribute-value (>= 0x80) token. Tag and attribute
    /// code pages are separate state in WBXML but SI/SL/CO use page 0 throughout, so one
    /// current page is tracked.
    pub fn attr_token(&mut self, page: u8, code: u8) {
        self.page(page);
        self.out.push(code);
    }

    /// STR_I: the text must not contain NUL (checked by the typed layers).
    pub fn str_i(&mut self, text: &str) {
        self.out.push(STR_I);
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(0);
    }

    pub fn str_t(&mut self, index: u32) {
        self.out.push(STR_T);
        put_mb_u_int32(&mut self.out, index);
    }

    pub fn entity(&mut self, code: u32) {
        self.out.push(ENTITY);
        put_mb_u_int32(&mut self.out, code);
    }

    pub fn opaque(&mut self, data: &[u8]) {
        self.out.push(OPAQUE);
        put_mb_u_int32(&mut self.out, data.len() as u32);
        self.out.extend_from_slice(data);
    }

    pub fn end(&mut self) {
        self.out.push(END);
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Reads a whole document into a [`RawDocument`].
pub fn read(bytes: &[u8]) -> Result<RawDocument, WbxmlError> {
    if bytes.len() > MAX_INPUT {
        return Err(WbxmlError::TooLarge {
            len: bytes.len(),
            max: MAX_INPUT,
        });
    }
    let mut r = Reader {
        bytes,
        pos: 0,
        tag_page: 0,
        attr_page: 0,
        charset: CHARSET_UTF8,
        table: &[],
    };
    let header = r.header()?;
    let root = match r.peek() {
        Some(PI) => {
            return Err(WbxmlError::Unsupported {
                offset: r.pos,
                what: "processing instruction (PI)",
            });
        }
        Some(_) => r.element(1)?,
        None => {
            return Err(WbxmlError::Truncated {
                offset: r.pos,
                what: "root element",
            });
        }
    };
    if r.pos != bytes.len() {
        return Err(WbxmlError::TrailingBytes { offset: r.pos });
    }
    Ok(RawDocument { header, root })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    tag_page: u8,
    attr_page: u8,
    charset: u32,
    table: &'a [u8],
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, WbxmlError> {
        let b = self.peek().ok_or(WbxmlError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn mb_u_int32(&mut self, what: &'static str) -> Result<u32, WbxmlError> {
        let start = self.pos;
        let mut v: u32 = 0;
        // At most 5 octets carry 32 bits (WAP-192 §5.1).
        for _ in 0..5 {
            let b = self.byte(what)?;
            if v > (u32::MAX >> 7) {
                return Err(WbxmlError::IntegerOverflow { offset: start });
            }
            v = (v << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WbxmlError::IntegerOverflow { offset: start })
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], WbxmlError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(WbxmlError::Truncated {
                offset: self.pos,
                what,
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn header(&mut self) -> Result<Header, WbxmlError> {
        let version = self.byte("version")?;
        // WAP-192 §5.4: major version 1 (high nibble 0); we read 1.0–1.3.
        if version > 0x03 {
            return Err(WbxmlError::UnsupportedVersion { version });
        }
        let pid_offset = self.pos;
        let pid = self.mb_u_int32("publicid")?;
        let pid_index = if pid == 0 {
            Some(self.mb_u_int32("publicid string-table index")?)
        } else {
            None
        };
        let charset = self.mb_u_int32("charset")?;
        match charset {
            CHARSET_UTF8 | CHARSET_LATIN1 | CHARSET_ASCII | CHARSET_UNKNOWN => {}
            other => return Err(WbxmlError::UnsupportedCharset { charset: other }),
        }
        self.charset = charset;
        let len = self.mb_u_int32("string table length")? as usize;
        let table = self.take(len, "string table")?;
        self.table = table;
        let public_id = match pid_index {
            None => PublicId::Known(pid),
            Some(i) => PublicId::Text(self.table_string(i, pid_offset)?),
        };
        Ok(Header {
            version,
            public_id,
            charset,
            string_table: table.to_vec(),
        })
    }

    fn text(&self, raw: &[u8], offset: usize) -> Result<String, WbxmlError> {
        match self.charset {
            // ISO-8859-1 octets are the first 256 code points.
            CHARSET_LATIN1 => Ok(raw.iter().map(|&b| char::from(b)).collect()),
            _ => std::str::from_utf8(raw)
                .map(str::to_owned)
                .map_err(|_| WbxmlError::InvalidText { offset }),
        }
    }

    fn table_string(&self, index: u32, offset: usize) -> Result<String, WbxmlError> {
        let bad = WbxmlError::StringTableRef { offset, index };
        let rest = self.table.get(index as usize..).ok_or(bad.clone())?;
        let nul = memchr::memchr(0, rest).ok_or(bad)?;
        self.text(&rest[..nul], offset)
    }

    fn str_i(&mut self) -> Result<String, WbxmlError> {
        let start = self.pos;
        let rest = &self.bytes[self.pos..];
        let nul = memchr::memchr(0, rest).ok_or(WbxmlError::Truncated {
            offset: start,
            what: "STR_I terminator",
        })?;
        self.pos += nul + 1;
        self.text(&rest[..nul], start)
    }

    fn str_t(&mut self) -> Result<String, WbxmlError> {
        let at = self.pos;
        let index = self.mb_u_int32("STR_T index")?;
        self.table_string(index, at)
    }

    fn literal_name(&mut self) -> Result<Name, WbxmlError> {
        Ok(Name::Literal(self.str_t()?))
    }

    fn extension(&mut self, t: u8) -> Result<Extension, WbxmlError> {
        let n = t & 0x03;
        Ok(match t & 0xC0 {
            0x40 => Extension::Inline(n, self.str_i()?),
            0x80 => Extension::TableRef(n, self.mb_u_int32("EXT_T index")?),
            _ => Extension::Single(n),
        })
    }

    fn opaque(&mut self) -> Result<Vec<u8>, WbxmlError> {
        let len = self.mb_u_int32("OPAQUE length")? as usize;
        Ok(self.take(len, "OPAQUE data")?.to_vec())
    }

    fn switch_page(&mut self) -> Result<u8, WbxmlError> {
        self.byte("SWITCH_PAGE index")
    }

    fn element(&mut self, depth: usize) -> Result<Element, WbxmlError> {
        if depth > MAX_DEPTH {
            return Err(WbxmlError::TooDeep {
                offset: self.pos,
                max: MAX_DEPTH,
            });
        }
        while self.peek() == Some(SWITCH_PAGE) {
            self.pos += 1;
            self.tag_page = self.switch_page()?;
        }
        let offset = self.pos;
        let t = self.byte("tag")?;
        let name = match t & 0x3F {
            // LITERAL, LITERAL_A, LITERAL_C, LITERAL_AC share the low bits 0x04.
            LITERAL => self.literal_name()?,
            code if code >= 0x05 => Name::Token {
                page: self.tag_page,
                code,
            },
            _ => {
                return Err(WbxmlError::UnexpectedToken {
                    offset,
                    token: t,
                    context: "where a tag was expected",
                });
            }
        };
        let mut attributes = Vec::new();
        if t & TAG_ATTRIBUTES != 0 {
            attributes = self.attributes()?;
        }
        let content = if t & TAG_CONTENT != 0 {
            Some(self.content(depth)?)
        } else {
            None
        };
        Ok(Element {
            offset,
            name,
            attributes,
            content,
        })
    }

    fn attributes(&mut self) -> Result<Vec<Attribute>, WbxmlError> {
        let mut attrs: Vec<Attribute> = Vec::new();
        loop {
            let offset = self.pos;
            let t = self.byte("attribute or END")?;
            match t {
                END => return Ok(attrs),
                SWITCH_PAGE => self.attr_page = self.switch_page()?,
                LITERAL => attrs.push(Attribute {
                    offset,
                    name: self.literal_name()?,
                    value: Vec::new(),
                }),
                // Attribute-start tokens (WAP-192 §5.8.3: < 128).
                0x05..=0x3F | 0x45..=0x7F => attrs.push(Attribute {
                    offset,
                    name: Name::Token {
                        page: self.attr_page,
                        code: t,
                    },
                    value: Vec::new(),
                }),
                _ => {
                    let part = self.value_part(t, offset)?;
                    match attrs.last_mut() {
                        Some(a) => a.value.push(part),
                        None => {
                            return Err(WbxmlError::UnexpectedToken {
                                offset,
                                token: t,
                                context: "before any attribute start",
                            });
                        }
                    }
                }
            }
        }
    }

    fn value_part(&mut self, t: u8, offset: usize) -> Result<ValuePart, WbxmlError> {
        Ok(match t {
            STR_I => ValuePart::Text(self.str_i()?),
            STR_T => ValuePart::Text(self.str_t()?),
            ENTITY => ValuePart::Entity(self.mb_u_int32("ENTITY code")?),
            OPAQUE => ValuePart::Opaque(self.opaque()?),
            0x40..=0x42 | 0x80..=0x82 | 0xC0..=0xC2 => ValuePart::Extension(self.extension(t)?),
            0x85..=0xBF | 0xC5..=0xFF => ValuePart::Token {
                page: self.attr_page,
                code: t,
            },
            _ => {
                return Err(WbxmlError::UnexpectedToken {
                    offset,
                    token: t,
                    context: "in an attribute list",
                });
            }
        })
    }

    fn content(&mut self, depth: usize) -> Result<Vec<Node>, WbxmlError> {
        let mut nodes = Vec::new();
        loop {
            let offset = self.pos;
            let t = self.peek().ok_or(WbxmlError::Truncated {
                offset,
                what: "content or END",
            })?;
            match t {
                END => {
                    self.pos += 1;
                    return Ok(nodes);
                }
                SWITCH_PAGE => {
                    // Belongs to the next tag; element() consumes it.
                    nodes.push(Node::Element(self.element(depth + 1)?));
                }
                STR_I => {
                    self.pos += 1;
                    nodes.push(Node::Text(self.str_i()?));
                }
                STR_T => {
                    self.pos += 1;
                    nodes.push(Node::Text(self.str_t()?));
                }
                ENTITY => {
                    self.pos += 1;
                    nodes.push(Node::Entity(self.mb_u_int32("ENTITY code")?));
                }
                OPAQUE => {
                    self.pos += 1;
                    nodes.push(Node::Opaque(self.opaque()?));
                }
                PI => {
                    return Err(WbxmlError::Unsupported {
                        offset,
                        what: "processing instruction (PI)",
                    });
                }
                0x40..=0x42 | 0x80..=0x82 | 0xC0..=0xC2 => {
                    self.pos += 1;
                    nodes.push(Node::Extension(self.extension(t)?));
                }
                _ => nodes.push(Node::Element(self.element(depth + 1)?)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mb_u_int32_round_trips_and_rejects_overflow() {
        for v in [0u32, 1, 0x7F, 0x80, 0x3FFF, 0x4000, u32::MAX] {
            let mut b = Vec::new();
            put_mb_u_int32(&mut b, v);
            let mut r = Reader {
                bytes: &b,
                pos: 0,
                tag_page: 0,
                attr_page: 0,
                charset: CHARSET_UTF8,
                table: &[],
            };
            assert_eq!(r.mb_u_int32("x").unwrap(), v);
            assert_eq!(r.pos, b.len());
        }
        let mut b = Vec::new();
        put_mb_u_int32(&mut b, 0xA0);
        assert_eq!(b, [0x81, 0x20]);
        let six = [0x81u8, 0x80, 0x80, 0x80, 0x80, 0x00];
        let mut r = Reader {
            bytes: &six,
            pos: 0,
            tag_page: 0,
            attr_page: 0,
            charset: CHARSET_UTF8,
            table: &[],
        };
        assert_eq!(
            r.mb_u_int32("x"),
            Err(WbxmlError::IntegerOverflow { offset: 0 })
        );
    }

    #[test]
    fn reader_names_offsets_and_caps_depth() {
        // Truncated inside STR_I.
        let e = read(&[0x03, 0x05, 0x6A, 0x00, 0x45, 0x03, b'a']).unwrap_err();
        assert_eq!(
            e,
            WbxmlError::Truncated {
                offset: 6,
                what: "STR_I terminator"
            }
        );
        // 40 nested elements with content.
        let mut b = vec![0x03, 0x05, 0x6A, 0x00];
        b.extend(std::iter::repeat_n(0x45, 40));
        b.extend(std::iter::repeat_n(0x01, 40));
        assert!(matches!(
            read(&b),
            Err(WbxmlError::TooDeep { max: MAX_DEPTH, .. })
        ));
        // STR_T past the table.
        let e = read(&[0x03, 0x05, 0x6A, 0x01, 0x00, 0x45, 0x83, 0x05, 0x01]).unwrap_err();
        assert_eq!(
            e,
            WbxmlError::StringTableRef {
                offset: 7,
                index: 5
            }
        );
        // Trailing garbage after the root.
        let e = read(&[0x03, 0x05, 0x6A, 0x00, 0x05, 0x01]).unwrap_err();
        assert_eq!(e, WbxmlError::TrailingBytes { offset: 5 });
    }

    #[test]
    fn string_table_public_id_and_literal_tags() {
        let mut t = b"-//X//EN\0foo\0".to_vec();
        let mut b = vec![0x03, 0x00, 0x00, 0x6A];
        put_mb_u_int32(&mut b, t.len() as u32);
        b.append(&mut t);
        b.extend([LITERAL_C, 0x09, 0x03, b'h', b'i', 0x00, 0x01]);
        let d = read(&b).unwrap();
        assert_eq!(d.header.public_id, PublicId::Text("-//X//EN".into()));
        assert_eq!(d.root.name, Name::Literal("foo".into()));
        assert_eq!(d.root.content, Some(vec![Node::Text("hi".into())]));
    }
}
