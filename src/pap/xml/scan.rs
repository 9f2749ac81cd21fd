//! The fast reader under [`super::read`]: a scanner for the shape nearly every PAP document
//! has, building the tree quick-xml would build, borrowed from the input.
//!
//! ```text
//! document = ["<?xml" (S decl-chars* | "") "?>"] S? [doctype S?] element S?
//! doctype  = "<!DOCTYPE" S (literal | other)* ["[" (S | pi)* "]" any*] ">"
//! element  = "<" name (S name S? "=" S? quoted)* S? ("/>" | ">" (S? element)* S? "</" name S? ">")
//! name     = [A-Za-z_] [A-Za-z0-9_.:-]*
//! ```
//!
//! `S` is XML's blanks (space, tab, CR, LF). An attribute value may not hold `<`; one with
//! references or line breaks is normalised by quick-xml's own normaliser. Everything else —
//! comments, processing instructions outside the DOCTYPE, CDATA, text, a DOCTYPE that is not
//! upper case, duplicate attributes, a mismatched end tag, the limits reached — makes
//! [`read`] return `None`, and the caller reads the document with quick-xml, which then also
//! words any error. The DOCTYPE's end is found by quick-xml's own rules (quoted literals,
//! internal subset, processing instructions in it), and its text is read by the same
//! [`parse_doctype`] as on the quick-xml path.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::name::QName;

use super::{Doctype, Element, XmlDoc, XmlLimits, close, parse_doctype};

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    i
}

/// Byte classes: a name's first byte, a name byte, a value byte that needs normalising
/// (`&`, tab, CR, LF), a value byte that sends the document to quick-xml (`<`).
const NAME_START: u8 = 1;
const NAME: u8 = 2;
const NORMALISE: u8 = 4;
const REFUSE: u8 = 8;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] |= NAME_START | NAME;
        }
        if b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':') {
            t[c] |= NAME;
        }
        if matches!(b, b'&' | b'\t' | b'\r' | b'\n') {
            t[c] |= NORMALISE;
        }
        if b == b'<' {
            t[c] |= REFUSE;
        }
        c += 1;
    }
    t
};

/// The end of the name starting at `i`, if one does.
fn name_end(b: &[u8], i: usize) -> Option<usize> {
    if CLASS[usize::from(*b.get(i)?)] & NAME_START == 0 {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && CLASS[usize::from(b[j])] & NAME != 0 {
        j += 1;
    }
    Some(j)
}

/// Reads `text` if it has the shape above; `None` otherwise (read it with quick-xml).
pub(super) fn read<'a>(text: &'a str, limits: &XmlLimits) -> Option<XmlDoc<'a>> {
    let b = text.as_bytes();
    let mut i = 0;
    if b.starts_with(b"<?xml") {
        i = declaration_end(b)?;
    }
    i = skip_blanks(b, i);
    let mut doctype = None;
    let mut pap_ver = None;
    if b[i..].starts_with(b"<!DOCTYPE") {
        let (dt, ver, end) = doctype_at(text, i)?;
        doctype = Some(dt);
        pap_ver = ver.map(Cow::Borrowed);
        i = skip_blanks(b, end);
    }
    let mut stack: Vec<Element<'a>> = Vec::new();
    let mut root = None;
    let mut count = 0usize;
    loop {
        if b.get(i) != Some(&b'<') {
            return None;
        }
        if b.get(i + 1) == Some(&b'/') {
            let start = i + 2;
            let end = name_end(b, start)?;
            let gt = skip_blanks(b, end);
            if b.get(gt) != Some(&b'>') {
                return None;
            }
            let el = stack.pop()?;
            if el.name.as_bytes() != &b[start..end] {
                return None;
            }
            close(&mut stack, &mut root, el);
            i = gt + 1;
        } else {
            count += 1;
            if count > limits.max_elements || stack.len() >= limits.max_depth {
                return None;
            }
            let (el, empty, end) = start_tag(text, i)?;
            if empty {
                close(&mut stack, &mut root, el);
            } else {
                stack.push(el);
            }
            i = end;
        }
        if stack.is_empty() {
            break;
        }
        i = skip_blanks(b, i);
    }
    if skip_blanks(b, i) != b.len() {
        return None;
    }
    Some(XmlDoc {
        doctype,
        pap_ver,
        root: root?,
    })
}

/// Just past the `?>` of an XML declaration at the start (quick-xml: `<?xml` then a blank or
/// `?>`; it ends at the first `?>`), when it holds only the characters a declaration uses.
fn declaration_end(b: &[u8]) -> Option<usize> {
    let mut j = 5;
    loop {
        let c = *b.get(j)?;
        if c == b'?' {
            break;
        }
        if !(c.is_ascii_alphanumeric()
            || is_blank(c)
            || matches!(c, b'=' | b'"' | b'\'' | b'.' | b'-' | b'_'))
        {
            return None;
        }
        j += 1;
    }
    if (j > 5 && !is_blank(b[5])) || b.get(j + 1) != Some(&b'>') {
        return None;
    }
    Some(j + 2)
}

/// The DOCTYPE at `at`: what [`parse_doctype`] reads of it, and the offset just past its `>`.
/// The end is found as quick-xml's DTD skipper finds it; an internal subset may hold only
/// blanks and processing instructions (anything else: `None`).
fn doctype_at(text: &str, at: usize) -> Option<(Doctype<'_>, Option<&str>, usize)> {
    let b = text.as_bytes();
    let mut j = at + "<!DOCTYPE".len();
    if !is_blank(*b.get(j)?) {
        return None;
    }
    j = skip_blanks(b, j);
    let content = j;
    let gt = loop {
        let k = j + b[j..]
            .iter()
            .position(|&c| matches!(c, b'\'' | b'"' | b'[' | b'>'))?;
        match b[k] {
            q @ (b'\'' | b'"') => j = k + 1 + memchr::memchr(q, &b[k + 1..])? + 1,
            b'[' => {
                let mut m = k + 1;
                loop {
                    let n = m + memchr::memchr2(b']', b'<', &b[m..])?;
                    if b[n] == b']' {
                        m = n + 1;
                        break;
                    }
                    if b.get(n + 1) != Some(&b'?') {
                        return None;
                    }
                    // A processing instruction ends at the first `>` after a `?`.
                    let pi = n + 2;
                    let end = memchr::memchr_iter(b'>', &b[pi..])
                        .find(|&g| g > 0 && b[pi + g - 1] == b'?')?;
                    m = pi + end + 1;
                }
                break m + memchr::memchr(b'>', &b[m..])?;
            }
            _ => break k,
        }
    };
    if gt == content {
        return None;
    }
    let (dt, ver) = parse_doctype(&text[content..gt]).ok()?;
    Some((dt, ver, gt + 1))
}

/// The start tag at `at`: the element (no children yet), whether it is empty (`/>`), and the
/// offset just past it.
fn start_tag(text: &str, at: usize) -> Option<(Element<'_>, bool, usize)> {
    let b = text.as_bytes();
    let name_start = at + 1;
    let mut j = name_end(b, name_start)?;
    let name = &text[name_start..j];
    let mut attrs: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    loop {
        let k = skip_blanks(b, j);
        let (empty, end) = match *b.get(k)? {
            b'>' => (false, k + 1),
            b'/' if b.get(k + 1) == Some(&b'>') => (true, k + 2),
            _ => (false, 0),
        };
        if end != 0 {
            let el = Element {
                name: Cow::Borrowed(name),
                attrs,
                children: Vec::new(),
                offset: at,
                tag_end: end,
            };
            return Some((el, empty, end));
        }
        // An attribute, after at least one blank.
        if k == j {
            return None;
        }
        let key_end = name_end(b, k)?;
        let key = &text[k..key_end];
        let eq = skip_blanks(b, key_end);
        if b.get(eq) != Some(&b'=') {
            return None;
        }
        let open = skip_blanks(b, eq + 1);
        let quote = *b.get(open)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = open + 1;
        let mut value_end = value_start;
        let mut class = 0;
        loop {
            let c = *b.get(value_end)?;
            if c == quote {
                break;
            }
            class |= CLASS[usize::from(c)];
            value_end += 1;
        }
        let raw = &text[value_start..value_end];
        if class & REFUSE != 0 || attrs.iter().any(|(k, _)| k == key) {
            return None;
        }
        let value = if class & NORMALISE != 0 {
            Attribute {
                key: QName(key),
                value: Cow::Borrowed(raw),
            }
            .normalized_value(XmlVersion::Implicit1_0)
            .ok()?
        } else {
            Cow::Borrowed(raw)
        };
        attrs.push((Cow::Borrowed(key), value));
        j = value_end + 1;
    }
}
