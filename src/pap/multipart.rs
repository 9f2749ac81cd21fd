//! multipart/related (RFC 2387) bodies as PIs send them (RFC 2046 §5.1.1 delimiters), plus
//! media-type parameters (RFC 2045 §5.1) and Content-Transfer-Encoding decoding
//! (RFC 2045 §6: base64, quoted-printable, 7bit/8bit/binary).
//!
//! Lenient where PIs are sloppy: CRLF or LF-only lines, quoted or bare boundary, preamble and
//! epilogue, transport padding (blanks) after a delimiter, folded header lines. Bodies are
//! borrowed from the input.

use std::borrow::Cow;

use base64::Engine as _;
use memchr::memmem;

/// Most parts we split; a PAP submission has two or three.
pub const MAX_PARTS: usize = 64;
/// RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
pub const MAX_BOUNDARY: usize = 70;

/// What is wrong with a multipart body or a media type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the boundary is empty or longer than 70 characters")]
    BadBoundary,
    #[error("boundary {boundary} never appears in the body")]
    BoundaryNotFound { boundary: String },
    #[error("boundary {boundary} never closes (no --{boundary}-- delimiter)")]
    Unclosed { boundary: String },
    #[error("the multipart body has no parts")]
    NoParts,
    #[error("more than {limit} parts")]
    TooManyParts { limit: usize },
    #[error("part {part} (at offset {offset}): a header line is malformed: `{line}`")]
    BadHeader {
        part: usize,
        offset: usize,
        line: String,
    },
    #[error("part {part} (at offset {offset}): headers never end (no blank line)")]
    HeadersUnterminated { part: usize, offset: usize },
    #[error("media type `{text}` is malformed")]
    BadMediaType { text: String },
    #[error("base64 content is invalid near decoded offset {offset}")]
    BadBase64 { offset: usize },
    #[error("quoted-printable content has a bad escape at offset {offset}")]
    BadQuotedPrintable { offset: usize },
    #[error("unknown Content-Transfer-Encoding `{encoding}`")]
    UnknownTransferEncoding { encoding: String },
}

/// A media type with its parameters: `type/subtype; name=value; ...`, borrowed from the text
/// parsed where it can be (a name or type with upper case, a quoted value with `\` escapes,
/// are owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// `type/subtype`, lower-cased.
    pub essence: Cow<'a, str>,
    /// Parameters in order; names lower-cased, values unquoted.
    pub params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// `s` lower-cased (ASCII), without a copy when it has no upper case.
fn ascii_lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl<'a> MediaType<'a> {
    /// Parses a Content-Type value (RFC 2045 §5.1), accepting quoted or bare parameter values.
    pub fn parse(text: &'a str) -> Result<MediaType<'a>, MultipartError> {
        let bad = || MultipartError::BadMediaType {
            text: text.chars().take(200).collect(),
        };
        let b = text.as_bytes();
        let mut i = memchr::memchr(b';', b).unwrap_or(b.len());
        let essence = ascii_lower(text[..i].trim());
        let (ty, sub) = essence.split_once('/').ok_or_else(bad)?;
        // RFC 2045 §5.1 token: visible ASCII but tspecials (a `match`, not a search of the
        // tspecials list per byte: that search was most of this function's cost).
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|c| {
                    c.is_ascii_graphic()
                        && !matches!(
                            c,
                            b'(' | b')'
                                | b'<'
                                | b'>'
                                | b'@'
                                | b','
                                | b';'
                                | b':'
                                | b'\\'
                                | b'"'
                                | b'/'
                                | b'['
                                | b']'
                                | b'?'
                                | b'='
                        )
                })
        };
        if !token(ty) || !token(sub) {
            return Err(bad());
        }
        let mut params = Vec::new();
        while i < b.len() {
            // b[i] == ';'
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            if b[i] == b';' {
                continue;
            }
            let name_start = i;
            while i < b.len() && b[i] != b'=' && b[i] != b';' {
                i += 1;
            }
            let name = ascii_lower(text[name_start..i].trim());
            if i >= b.len() || b[i] != b'=' || name.is_empty() {
                return Err(bad());
            }
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value;
            if i < b.len() && b[i] == b'"' {
                i += 1;
                let start = i;
                // Borrowed up to the closing quote unless a `\` escape needs undoing.
                let mut v: Option<Vec<u8>> = None;
                loop {
                    match b.get(i) {
                        None => return Err(bad()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < b.len() => {
                            v.get_or_insert_with(|| b[start..i].to_vec()).push(b[i + 1]);
                            i += 2;
                        }
                        Some(&c) => {
                            if let Some(v) = &mut v {
                                v.push(c);
                            }
                            i += 1;
                        }
                    }
                }
                value = match v {
                    // Between two `"`: a whole UTF-8 slice of the text.
                    None => Cow::Borrowed(&text[start..i - 1]),
                    Some(v) => Cow::Owned(String::from_utf8(v).map_err(|_| bad())?),
                };
                while i < b.len() && b[i] != b';' {
                    if !b[i].is_ascii_whitespace() {
                        return Err(bad());
                    }
                    i += 1;
                }
            } else {
                let start = i;
                while i < b.len() && b[i] != b';' {
                    i += 1;
                }
                value = Cow::Borrowed(text[start..i].trim());
            }
            params.push((name, value));
        }
        Ok(MediaType { essence, params })
    }

    /// A parameter by name (ASCII case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// The header lines of one part, borrowed; lookup ignores ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers<'a>(pub Vec<(&'a str, &'a str)>);

impl<'a> Headers<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.0.iter().copied()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub headers: Headers<'a>,
    /// The body as sent (still transfer-encoded).
    pub body: &'a [u8],
    /// Offset of the part (its first header line) in the multipart body.
    pub offset: usize,
}

impl<'a> Part<'a> {
    pub fn content_type(&self) -> Option<&'a str> {
        self.headers.get("Content-Type")
    }
    pub fn transfer_encoding(&self) -> TransferEncoding {
        TransferEncoding::parse(self.headers.get("Content-Transfer-Encoding"))
    }
    /// The body with its Content-Transfer-Encoding undone.
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>, MultipartError> {
        self.transfer_encoding().decode(self.body)
    }
}

/// A split multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart<'a> {
    pub preamble: &'a [u8],
    pub parts: Vec<Part<'a>>,
    pub epilogue: &'a [u8],
}

/// Content-Transfer-Encoding (RFC 2045 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    /// Absent, `7bit`, `8bit` or `binary`: the body is used as is.
    Identity,
    Base64,
    QuotedPrintable,
    Unknown(String),
}

impl TransferEncoding {
    pub fn parse(header: Option<&str>) -> TransferEncoding {
        match header.map(|h| h.trim().to_ascii_lowercase()) {
            None => TransferEncoding::Identity,
            Some(h) => match h.as_str() {
                "" | "7bit" | "8bit" | "binary" => TransferEncoding::Identity,
                "base64" => TransferEncoding::Base64,
                "quoted-printable" => TransferEncoding::QuotedPrintable,
                _ => TransferEncoding::Unknown(h),
            },
        }
    }

    pub fn decode<'a>(&self, body: &'a [u8]) -> Result<Cow<'a, [u8]>, MultipartError> {
        match self {
            TransferEncoding::Identity => Ok(Cow::Borrowed(body)),
            TransferEncoding::Base64 => decode_base64(body).map(Cow::Owned),
            TransferEncoding::QuotedPrintable => decode_quoted_printable(body).map(Cow::Owned),
            TransferEncoding::Unknown(e) => Err(MultipartError::UnknownTransferEncoding {
                encoding: e.clone(),
            }),
        }
    }
}

/// base64 (RFC 2045 §6.8), tolerating line breaks and blanks anywhere, and missing padding.
pub fn decode_base64(body: &[u8]) -> Result<Vec<u8>, MultipartError> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(&clean)
        .map_err(|e| MultipartError::BadBase64 {
            offset: match e {
                base64::DecodeError::InvalidByte(o, _) => o,
                base64::DecodeError::InvalidLastSymbol(o, _) => o,
                _ => clean.len(),
            },
        })
}

/// quoted-printable (RFC 2045 §6.7): `=XX` escapes and soft line breaks (`=` at a line end).
pub fn decode_quoted_printable(body: &[u8]) -> Result<Vec<u8>, MultipartError> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        // Soft line break: '=' then optional blanks then CRLF or LF.
        let mut j = i + 1;
        while j < body.len() && (body[j] == b' ' || body[j] == b'\t') {
            j += 1;
        }
        if body.get(j) == Some(&b'\n') {
            i = j + 1;
            continue;
        }
        if body.get(j) == Some(&b'\r') && body.get(j + 1) == Some(&b'\n') {
            i = j + 2;
            continue;
        }
        if j == body.len() {
            break;
        }
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            body.get(i + 1).and_then(|&b| hex(b)),
            body.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => return Err(MultipartError::BadQuotedPrintable { offset: i }),
        }
    }
    Ok(out)
}

fn check_boundary(boundary: &str) -> Result<(), MultipartError> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY || boundary.contains(['\r', '\n']) {
        return Err(MultipartError::BadBoundary);
    }
    Ok(())
}

/// After `--boundary` at `at`: is this a delimiter line (padding then line end), a close
/// delimiter (`--`), or just text that starts like one?
enum After {
    /// The next part starts at this offset.
    Part(usize),
    /// Close delimiter; the epilogue starts at this offset.
    Close(usize),
    NotDelimiter,
}

fn after_delimiter(body: &[u8], at: usize) -> After {
    let rest = &body[at..];
    if rest.starts_with(b"--") {
        // Close delimiter: skip padding and one line end, the rest is the epilogue.
        let mut i = at + 2;
        while i < body.len() && (body[i] == b' ' || body[i] == b'\t') {
            i += 1;
        }
        if body.get(i) == Some(&b'\r') && body.get(i + 1) == Some(&b'\n') {
            i += 2;
        } else if body.get(i) == Some(&b'\n') {
            i += 1;
        }
        return After::Close(i);
    }
    let mut i = at;
    while i < body.len() && (body[i] == b' ' || body[i] == b'\t') {
        i += 1;
    }
    match (body.get(i), body.get(i + 1)) {
        (Some(b'\r'), Some(b'\n')) => After::Part(i + 2),
        (Some(b'\n'), _) => After::Part(i + 1),
        // A delimiter at the very end, without its line break: a part with nothing in it.
        (None, _) => After::Part(i),
        _ => After::NotDelimiter,
    }
}

/// Whether `--boundary` starts at `at`.
fn dash_boundary_at(body: &[u8], at: usize, boundary: &[u8]) -> bool {
    body.get(at..at + 2) == Some(b"--")
        && body.get(at + 2..at + 2 + boundary.len()) == Some(boundary)
}

/// `\n--`, the start of every delimiter line after the first: searched once per delimiter,
/// the boundary compared where it is found.
static NL_DASH: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(b"\n--"));

/// The first delimiter line after a line feed at or after `from`: the line feed's offset and
/// what follows `--boundary`. The boundary holds no line break, so the `\n--` found are all
/// those a search for `\n--boundary` would pass, and no searcher is built for every body.
fn next_delimiter(body: &[u8], boundary: &[u8], from: usize) -> Option<(usize, After)> {
    for rel in NL_DASH.find_iter(&body[from..]) {
        let m = from + rel;
        if body.get(m + 3..m + 3 + boundary.len()) == Some(boundary) {
            match after_delimiter(body, m + 3 + boundary.len()) {
                After::NotDelimiter => {}
                a => return Some((m, a)),
            }
        }
    }
    None
}

/// Splits a multipart body on `boundary` (RFC 2046 §5.1.1).
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Multipart<'a>, MultipartError> {
    check_boundary(boundary)?;
    let bnd = boundary.as_bytes();

    // The first delimiter: at the very start, or after a line feed.
    let mut first = None;
    if dash_boundary_at(body, 0, bnd)
        && let a @ (After::Part(_) | After::Close(_)) = after_delimiter(body, 2 + bnd.len())
    {
        first = Some((0, a));
    }
    if first.is_none() {
        first = next_delimiter(body, bnd, 0).map(|(m, a)| (m + 1, a));
    }
    let (pre_end, mut state) = first.ok_or_else(|| MultipartError::BoundaryNotFound {
        boundary: boundary.to_string(),
    })?;
    let preamble = &body[..pre_end];
    // A PAP submission has two or three parts.
    let mut parts = Vec::with_capacity(3);
    loop {
        let start = match state {
            After::Close(epi) => {
                if parts.is_empty() {
                    return Err(MultipartError::NoParts);
                }
                return Ok(Multipart {
                    preamble,
                    parts,
                    epilogue: &body[epi.min(body.len())..],
                });
            }
            After::Part(s) => s,
            // Only Part and Close are ever stored in `state`.
            After::NotDelimiter => return Err(MultipartError::NoParts),
        };
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::TooManyParts { limit: MAX_PARTS });
        }
        // The next real delimiter: search from the line feed that ended the previous
        // delimiter line, so that a part with nothing in it is found too.
        let next = next_delimiter(body, bnd, start.saturating_sub(1));
        let (nl_at, after) = next.ok_or_else(|| MultipartError::Unclosed {
            boundary: boundary.to_string(),
        })?;
        // The line break before the delimiter belongs to the delimiter (CRLF or bare LF).
        let end = if nl_at > start && body[nl_at - 1] == b'\r' {
            nl_at - 1
        } else {
            nl_at
        };
        let end = end.max(start);
        parts.push(split_part(&body[start..end], start, parts.len())?);
        state = after;
    }
}

/// Splits one part into headers and body.
fn split_part(raw: &[u8], offset: usize, index: usize) -> Result<Part<'_>, MultipartError> {
    // No headers: the part starts with its blank line.
    let (head, body) = if raw.starts_with(b"\r\n") {
        (&raw[..0], &raw[2..])
    } else if raw.starts_with(b"\n") {
        (&raw[..0], &raw[1..])
    } else {
        let mut found = None;
        for m in memchr::memchr_iter(b'\n', raw) {
            let rest = &raw[m + 1..];
            if rest.starts_with(b"\r\n") {
                found = Some((m + 1, m + 3));
                break;
            }
            if rest.starts_with(b"\n") {
                found = Some((m + 1, m + 2));
                break;
            }
        }
        match found {
            Some((h, b)) => (&raw[..h], &raw[b..]),
            None if raw.is_empty() => (&raw[..0], &raw[..0]),
            None => {
                return Err(MultipartError::HeadersUnterminated {
                    part: index,
                    offset,
                });
            }
        }
    };
    let head_text = std::str::from_utf8(head).map_err(|e| MultipartError::BadHeader {
        part: index,
        offset,
        line: String::from_utf8_lossy(&head[..e.valid_up_to().min(head.len())])
            .chars()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    })?;
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
    // Header lines, with folded continuations (a line starting with a blank) joined to the
    // previous value by keeping the value slice running over the fold.
    let mut line_start = 0;
    let mut cur: Option<(usize, usize, usize)> = None; // (name_start, name_end, value_start)
    let mut cur_end = 0;
    let bytes = head_text.as_bytes();
    while line_start < bytes.len() {
        let nl =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
        let mut le = nl;
        if le > line_start && bytes[le - 1] == b'\r' {
            le -= 1;
        }
        let ls = line_start;
        line_start = nl + 1;
        let line = &head_text[ls..le];
        if line.starts_with([' ', '\t']) {
            if cur.is_some() {
                cur_end = le;
                continue;
            }
            return Err(MultipartError::BadHeader {
                part: index,
                offset,
                line: line.chars().take(80).collect(),
            });
        }
        if let Some((ns, ne, vs)) = cur.take() {
            headers.push((&head_text[ns..ne], head_text[vs..cur_end].trim()));
        }
        let colon =
            memchr::memchr(b':', line.as_bytes()).ok_or_else(|| MultipartError::BadHeader {
                part: index,
                offset,
                line: line.chars().take(80).collect(),
            })?;
        let name = line[..colon].trim_end();
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic()) {
            return Err(MultipartError::BadHeader {
                part: index,
                offset,
                line: line.chars().take(80).collect(),
            });
        }
        cur = Some((ls, ls + name.len(), ls + colon + 1));
        cur_end = le;
    }
    if let Some((ns, ne, vs)) = cur {
        headers.push((&head_text[ns..ne], head_text[vs..cur_end].trim()));
    }
    Ok(Part {
        headers: Headers(headers),
        body,
        offset,
    })
}

/// One part to write: header lines and body bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedPart {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Picks a boundary that occurs in no body (RFC 2046 §5.1.1 requires it).
pub fn choose_boundary(parts: &[OwnedPart]) -> String {
    let mut n: u64 = 0;
    loop {
        let b = format!("ppgd-boundary-{n:x}");
        let needle = [b"--".as_slice(), b.as_bytes()].concat();
        let hit = parts.iter().any(|p| {
            memmem::find(&p.body, &needle).is_some()
                || p.headers
                    .iter()
                    .any(|(k, v)| k.contains(&b) || v.contains(&b))
        });
        if !hit {
            return b;
        }
        n = n.wrapping_mul(31).wrapping_add(0x9e37_79b9);
    }
}

/// Writes a multipart body with CRLF line ends and no preamble or epilogue.
pub fn write(boundary: &str, parts: &[OwnedPart]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.body.len() + 128).sum::<usize>() + 64);
    for p in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (k, v) in &p.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_params_quoted_or_bare() {
        let m = MediaType::parse(
            r#"Multipart/Related; boundary="a b;c"; type=application/xml;start=<x@y>"#,
        )
        .unwrap();
        assert_eq!(m.essence, "multipart/related");
        assert_eq!(m.param("BOUNDARY"), Some("a b;c"));
        assert_eq!(m.param("type"), Some("application/xml"));
        assert_eq!(m.param("start"), Some("<x@y>"));
        assert!(MediaType::parse("text").is_err());
        assert!(MediaType::parse("text/plain; x").is_err());
        assert!(MediaType::parse("text/plain; x=\"open").is_err());
        assert_eq!(MediaType::parse("text/plain;").unwrap().params, vec![]);
    }

    #[test]
    fn lf_only_with_preamble_padding_epilogue() {
        let body = b"preamble\n--XYZ  \nContent-Type: application/xml\n\n<pap/>\n--XYZ\ncontent-type: text/plain\nX-A: 1\n  2\n\nhello\n--XYZ--\nepilogue";
        let m = parse(body, "XYZ").unwrap();
        assert_eq!(m.preamble, b"preamble\n");
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].body, b"<pap/>");
        assert_eq!(m.parts[1].headers.get("Content-Type"), Some("text/plain"));
        assert_eq!(m.parts[1].headers.get("x-a"), Some("1\n  2"));
        assert_eq!(m.parts[1].body, b"hello");
        assert_eq!(m.epilogue, b"epilogue");
    }

    #[test]
    fn boundary_like_text_in_a_body_is_not_a_delimiter() {
        let body = b"--b\r\n\r\nx\r\n--bb\r\n--b-\r\n--b\r\n\r\n\r\n--b--";
        let m = parse(body, "b").unwrap();
        assert_eq!(m.parts[0].body, b"x\r\n--bb\r\n--b-");
        assert_eq!(m.parts[1].body, b"");
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(b"--a\r\n\r\nx", "a"),
            Err(MultipartError::Unclosed {
                boundary: "a".into()
            })
        );
        assert_eq!(
            parse(b"nothing here", "a"),
            Err(MultipartError::BoundaryNotFound {
                boundary: "a".into()
            })
        );
        assert_eq!(parse(b"--a--", "a"), Err(MultipartError::NoParts));
        assert_eq!(parse(b"x", ""), Err(MultipartError::BadBoundary));
        assert!(matches!(
            parse(b"--a\r\nno colon\r\n\r\nx\r\n--a--", "a"),
            Err(MultipartError::BadHeader { part: 0, .. })
        ));
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\n").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
        assert!(matches!(
            decode_base64(b"aG!s"),
            Err(MultipartError::BadBase64 { offset: 2 })
        ));
        assert_eq!(
            decode_quoted_printable(b"a=3Db=\r\nc=\nd").unwrap(),
            b"a=bcd"
        );
        assert_eq!(
            decode_quoted_printable(b"a=zz"),
            Err(MultipartError::BadQuotedPrintable { offset: 1 })
        );
        assert_eq!(
            TransferEncoding::parse(Some(" BASE64 ")),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(Some("8bit")),
            TransferEncoding::Identity
        );
        assert!(TransferEncoding::parse(Some("x-uu")).decode(b"").is_err());
    }

    #[test]
    fn write_then_parse() {
        let parts = vec![
            OwnedPart {
                headers: vec![("Content-Type".into(), "application/xml".into())],
                body: b"<pap/>".to_vec(),
            },
            OwnedPart {
                headers: vec![],
                body: b"\r\n--x\r\n".to_vec(),
            },
        ];
        let b = choose_boundary(&parts);
        let w = write(&b, &parts);
        let m = parse(&w, &b).unwrap();
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].body, b"<pap/>");
        assert_eq!(m.parts[1].body, b"\r\n--x\r\n");
        assert!(m.parts[1].headers.is_empty());
    }

    /// The implementations before the allocation cuts, as the reference the new ones must
    /// match on every input (results and errors).
    mod reference {
        use super::super::{
            After, Headers, MAX_PARTS, Multipart, MultipartError, Part, after_delimiter,
            check_boundary,
        };
        use memchr::memmem;

        pub fn media_type(text: &str) -> Result<(String, Vec<(String, String)>), MultipartError> {
            let bad = || MultipartError::BadMediaType {
                text: text.chars().take(200).collect(),
            };
            let b = text.as_bytes();
            let mut i = b.iter().position(|&c| c == b';').unwrap_or(b.len());
            let essence = text[..i].trim().to_ascii_lowercase();
            let (ty, sub) = essence.split_once('/').ok_or_else(bad)?;
            // RFC 2045 §5.1 token: visible ASCII but tspecials (a `match`, not a search of the
            // tspecials list per byte: that search was most of this function's cost).
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes().all(|c| {
                        c.is_ascii_graphic()
                            && !matches!(
                                c,
                                b'(' | b')'
                                    | b'<'
                                    | b'>'
                                    | b'@'
                                    | b','
                                    | b';'
                                    | b':'
                                    | b'\\'
                                    | b'"'
                                    | b'/'
                                    | b'['
                                    | b']'
                                    | b'?'
                                    | b'='
                            )
                    })
            };
            if !token(ty) || !token(sub) {
                return Err(bad());
            }
            let mut params = Vec::new();
            while i < b.len() {
                // b[i] == ';'
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i >= b.len() {
                    break;
                }
                if b[i] == b';' {
                    continue;
                }
                let name_start = i;
                while i < b.len() && b[i] != b'=' && b[i] != b';' {
                    i += 1;
                }
                let name = text[name_start..i].trim().to_ascii_lowercase();
                if i >= b.len() || b[i] != b'=' || name.is_empty() {
                    return Err(bad());
                }
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let value;
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                    let mut v = Vec::new();
                    loop {
                        match b.get(i) {
                            None => return Err(bad()),
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(b'\\') if i + 1 < b.len() => {
                                v.push(b[i + 1]);
                                i += 2;
                            }
                            Some(&c) => {
                                v.push(c);
                                i += 1;
                            }
                        }
                    }
                    value = String::from_utf8(v).map_err(|_| bad())?;
                    while i < b.len() && b[i] != b';' {
                        if !b[i].is_ascii_whitespace() {
                            return Err(bad());
                        }
                        i += 1;
                    }
                } else {
                    let start = i;
                    while i < b.len() && b[i] != b';' {
                        i += 1;
                    }
                    value = text[start..i].trim().to_string();
                }
                params.push((name, value));
            }
            Ok((essence, params))
        }

        /// Splits a multipart body on `boundary` (RFC 2046 §5.1.1).
        pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Multipart<'a>, MultipartError> {
            check_boundary(boundary)?;
            let dash: Vec<u8> = [b"--".as_slice(), boundary.as_bytes()].concat();
            let nl_dash: Vec<u8> = [b"\n--".as_slice(), boundary.as_bytes()].concat();
            let nl_finder = memmem::Finder::new(&nl_dash);

            // The first delimiter: at the very start, or after a line feed.
            let mut first = None;
            if body.starts_with(&dash)
                && let a @ (After::Part(_) | After::Close(_)) = after_delimiter(body, dash.len())
            {
                first = Some((0, a));
            }
            if first.is_none() {
                for m in nl_finder.find_iter(body) {
                    if let a @ (After::Part(_) | After::Close(_)) =
                        after_delimiter(body, m + nl_dash.len())
                    {
                        first = Some((m + 1, a));
                        break;
                    }
                }
            }
            let (pre_end, mut state) = first.ok_or_else(|| MultipartError::BoundaryNotFound {
                boundary: boundary.to_string(),
            })?;
            let preamble = &body[..pre_end];
            let mut parts = Vec::new();
            loop {
                let start = match state {
                    After::Close(epi) => {
                        if parts.is_empty() {
                            return Err(MultipartError::NoParts);
                        }
                        return Ok(Multipart {
                            preamble,
                            parts,
                            epilogue: &body[epi.min(body.len())..],
                        });
                    }
                    After::Part(s) => s,
                    // Only Part and Close are ever stored in `state`.
                    After::NotDelimiter => return Err(MultipartError::NoParts),
                };
                if parts.len() >= MAX_PARTS {
                    return Err(MultipartError::TooManyParts { limit: MAX_PARTS });
                }
                // The next real delimiter: search from the line feed that ended the previous
                // delimiter line, so that a part with nothing in it is found too.
                let mut pos = start.saturating_sub(1);
                let next = loop {
                    match nl_finder.find(&body[pos..]) {
                        None => break None,
                        Some(rel) => {
                            let m = pos + rel;
                            match after_delimiter(body, m + nl_dash.len()) {
                                After::NotDelimiter => pos = m + 1,
                                a => break Some((m, a)),
                            }
                        }
                    }
                };
                let (nl_at, after) = next.ok_or_else(|| MultipartError::Unclosed {
                    boundary: boundary.to_string(),
                })?;
                // The line break before the delimiter belongs to the delimiter (CRLF or bare LF).
                let end = if nl_at > start && body[nl_at - 1] == b'\r' {
                    nl_at - 1
                } else {
                    nl_at
                };
                let end = end.max(start);
                parts.push(split_part(&body[start..end], start, parts.len())?);
                state = after;
            }
        }

        /// Splits one part into headers and body.
        fn split_part(raw: &[u8], offset: usize, index: usize) -> Result<Part<'_>, MultipartError> {
            // No headers: the part starts with its blank line.
            let (head, body) = if raw.starts_with(b"\r\n") {
                (&raw[..0], &raw[2..])
            } else if raw.starts_with(b"\n") {
                (&raw[..0], &raw[1..])
            } else {
                let mut found = None;
                for m in memchr::memchr_iter(b'\n', raw) {
                    let rest = &raw[m + 1..];
                    if rest.starts_with(b"\r\n") {
                        found = Some((m + 1, m + 3));
                        break;
                    }
                    if rest.starts_with(b"\n") {
                        found = Some((m + 1, m + 2));
                        break;
                    }
                }
                match found {
                    Some((h, b)) => (&raw[..h], &raw[b..]),
                    None if raw.is_empty() => (&raw[..0], &raw[..0]),
                    None => {
                        return Err(MultipartError::HeadersUnterminated {
                            part: index,
                            offset,
                        });
                    }
                }
            };
            let head_text = std::str::from_utf8(head).map_err(|e| MultipartError::BadHeader {
                part: index,
                offset,
                line: String::from_utf8_lossy(&head[..e.valid_up_to().min(head.len())])
                    .chars()
                    .rev()
                    .take(80)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
            })?;
            let mut headers: Vec<(&str, &str)> = Vec::new();
            // Header lines, with folded continuations (a line starting with a blank) joined to the
            // previous value by keeping the value slice running over the fold.
            let mut line_start = 0;
            let mut cur: Option<(usize, usize, usize)> = None; // (name_start, name_end, value_start)
            let mut cur_end = 0;
            let bytes = head_text.as_bytes();
            let mut lines = Vec::new();
            while line_start < bytes.len() {
                let nl = memchr::memchr(b'\n', &bytes[line_start..])
                    .map_or(bytes.len(), |i| line_start + i);
                let mut le = nl;
                if le > line_start && bytes[le - 1] == b'\r' {
                    le -= 1;
                }
                lines.push((line_start, le));
                line_start = nl + 1;
            }
            for (ls, le) in lines {
                let line = &head_text[ls..le];
                if line.starts_with([' ', '\t']) {
                    if cur.is_some() {
                        cur_end = le;
                        continue;
                    }
                    return Err(MultipartError::BadHeader {
                        part: index,
                        offset,
                        line: line.chars().take(80).collect(),
                    });
                }
                if let Some((ns, ne, vs)) = cur.take() {
                    headers.push((&head_text[ns..ne], head_text[vs..cur_end].trim()));
                }
                let colon = line.find(':').ok_or_else(|| MultipartError::BadHeader {
                    part: index,
                    offset,
                    line: line.chars().take(80).collect(),
                })?;
                let name = line[..colon].trim_end();
                if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic()) {
                    return Err(MultipartError::BadHeader {
                        part: index,
                        offset,
                        line: line.chars().take(80).collect(),
                    });
                }
                cur = Some((ls, ls + name.len(), ls + colon + 1));
                cur_end = le;
            }
            if let Some((ns, ne, vs)) = cur {
                headers.push((&head_text[ns..ne], head_text[vs..cur_end].trim()));
            }
            Ok(Part {
                headers: Headers(headers),
                body,
                offset,
            })
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Media types: the borrowed parse gives the reference's essence, parameters and errors.
        #[test]
        fn media_type_is_the_reference_one(
            essence in proptest::sample::select(vec![
                "multipart/related", "Multipart/Related", " application/xml ", "a/b",
                "application/vnd.wap.mms-message", "text", "a/b/c", "text/(x)", "",
            ]),
            params in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["boundary", "Type", " start ", "charset", "x", ""]),
                    proptest::sample::select(vec!["=", "=", "=", " = ", ""]),
                    proptest::prop_oneof![
                        4 => "[a-zA-Z0-9 _.-]{0,8}",
                        4 => "\"([a-z; =\u{e9}]|\\\\[a-z\"\\\\\u{e9}]){0,8}\"[ ]?",
                        1 => "\"([a-z]|\\\\){0,3}",
                        1 => "\"x\"y",
                    ],
                ),
                0..4,
            ),
            sep in proptest::sample::select(vec![";", "; ", " ;", ";;", ";\t"]),
            random in "[ -~]{0,30}",
        ) {
            let mut text = essence.to_string();
            for (name, eq, value) in &params {
                text.push_str(&format!("{sep}{name}{eq}{value}"));
            }
            for t in [text.as_str(), random.as_str()] {
                let new = MediaType::parse(t).map(|m| {
                    (
                        m.essence.into_owned(),
                        m.params
                            .into_iter()
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect::<Vec<_>>(),
                    )
                });
                proptest::prop_assert_eq!(new, reference::media_type(t));
            }
        }

        /// Bodies: the memchr-driven split gives the reference's parts, preamble, epilogue and
        /// errors, on well-formed bodies and on mutations of them.
        #[test]
        fn split_is_the_reference_one(
            boundary in proptest::sample::select(vec!["b", "bb", "-", "b-b", "=_x"]),
            preamble in proptest::sample::select(vec!["", "pre\r\n", "--bx\n", "x--b\n"]),
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["", " ", "\t "]),
                    proptest::sample::select(vec!["\r\n", "\n"]),
                    proptest::collection::vec(
                        proptest::sample::select(vec![
                            "Content-Type: a/b", "X: 1", " folded", "no colon", ": v", "\u{e9}: x",
                            "K:\u{e9}",
                        ]),
                        0..3,
                    ),
                    proptest::collection::vec(
                        proptest::sample::select(vec![
                            "body", "\r\n", "\n", "--b", "--bb", "--b-", "\u{e9}", "\u{0}", " ",
                        ]),
                        0..6,
                    ),
                ),
                0..4,
            ),
            close in proptest::sample::select(vec!["--", "--  \r\n", "", "x"]),
            epilogue in proptest::sample::select(vec!["", "epi", "\r\n--b\r\n"]),
            edits in proptest::collection::vec((0.0f64..1.0, 0u8..3, proptest::num::u8::ANY), 0..3),
        ) {
            let mut body = preamble.to_string();
            for (pad, nl, headers, content) in &parts {
                body.push_str(&format!("--{boundary}{pad}{nl}"));
                for h in headers {
                    body.push_str(h);
                    body.push_str(nl);
                }
                body.push_str(nl);
                body.push_str(&content.concat());
                body.push_str(nl);
            }
            body.push_str(&format!("--{boundary}{close}{epilogue}"));
            let mut body = body.into_bytes();
            for bytes in [body.clone(), {
                for (at, op, byte) in &edits {
                    let i = ((body.len() as f64) * at) as usize;
                    match op {
                        0 => body.insert(i, *byte),
                        1 if i < body.len() => {
                            body.remove(i);
                        }
                        _ if i < body.len() => body[i] = *byte,
                        _ => {}
                    }
                }
                body.clone()
            }] {
                proptest::prop_assert_eq!(parse(&bytes, boundary), reference::parse(&bytes, boundary));
            }
        }
    }
}
