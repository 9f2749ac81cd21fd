//! The small, bounded XML reader and writer under the PAP documents.
//!
//! Reading builds a tiny element tree with quick-xml 0.42, which never expands DTD or external
//! entities: an entity reference other than the five predefined ones and character references
//! is an error (billion laughs, XXE). A DOCTYPE that declares entities is refused outright.
//! Size, nesting depth and element count are capped before any tree grows.
//!
//! The tree borrows its names and attribute values from the input. Most documents (what PIs
//! and ppgd itself write: a declaration, a DOCTYPE, tags with quoted attributes, blanks between
//! them) are read by a small scanner that accepts only that subset and builds exactly the tree
//! quick-xml would; anything else, and every error, goes through quick-xml, so what is refused
//! and how the refusal reads do not depend on the scanner.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

mod scan;

/// Bounds for one XML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for XmlLimits {
    /// A PAP document is a few hundred bytes and at most four levels deep; a push to a few
    /// thousand addresses still fits.
    fn default() -> Self {
        XmlLimits {
            max_bytes: 1 << 20,
            max_depth: 16,
            max_elements: 10_000,
        }
    }
}

/// One element: name, attributes in document order, child elements, where it starts. Names and
/// values borrow from the input when they can (an attribute value with references or line
/// breaks is normalised into an owned string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    pub name: Cow<'a, str>,
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub children: Vec<Element<'a>>,
    /// Byte offset of its `<` in the document.
    pub offset: usize,
    /// Byte offset just past its start tag.
    pub tag_end: usize,
}

/// The prolog facts we use, and the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDoc<'a> {
    /// The DOCTYPE's root name, public and system ids, if a DOCTYPE is present.
    pub doctype: Option<Doctype<'a>>,
    /// `supported-versions` of a `<?wap-pap-ver?>` processing instruction (PAP 2.x, §8.2.4).
    pub pap_ver: Option<Cow<'a, str>>,
    pub root: Element<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doctype<'a> {
    pub name: Cow<'a, str>,
    pub public_id: Option<Cow<'a, str>>,
    pub system_id: Option<Cow<'a, str>>,
}

impl Doctype<'_> {
    fn into_owned(self) -> Doctype<'static> {
        Doctype {
            name: Cow::Owned(self.name.into_owned()),
            public_id: self.public_id.map(|s| Cow::Owned(s.into_owned())),
            system_id: self.system_id.map(|s| Cow::Owned(s.into_owned())),
        }
    }
}

/// What went wrong while reading, before any PAP meaning is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlProblem {
    TooLarge { size: usize, limit: usize },
    NotUtf8 { valid_up_to: usize },
    Syntax { detail: String },
    UndefinedEntity { name: String },
    EntityDeclaration,
    TooDeep { limit: usize },
    TooManyElements { limit: usize },
    Text { element: String },
    NoRoot,
    AfterRoot,
}

/// A reading failure and the byte offset it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlFailure {
    pub problem: XmlProblem,
    pub offset: usize,
}

fn fail(problem: XmlProblem, offset: usize) -> XmlFailure {
    XmlFailure { problem, offset }
}

fn entity_problem(e: &quick_xml::Error) -> XmlProblem {
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            XmlProblem::UndefinedEntity { name: name.clone() }
        }
        other => XmlProblem::Syntax {
            detail: other.to_string(),
        },
    }
}

/// Parses the DOCTYPE text (what follows `<!DOCTYPE`): root name, PUBLIC/SYSTEM ids, and
/// the internal subset, where only the `wap-pap-ver` processing instruction is understood.
fn parse_doctype(text: &str) -> Result<(Doctype<'_>, Option<&str>), XmlProblem> {
    // Bytes searched with memchr: `[` and the quotes are ASCII, so a byte match is the
    // character match (and much cheaper than a `char` pattern).
    let (head, subset) = match memchr::memchr(b'[', text.as_bytes()) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    // Only the first four words are used; the rest are still read, for their literals' sake.
    let mut words = [""; 4];
    let mut n = 0;
    let mut rest = head.trim();
    while !rest.is_empty() {
        let word;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end =
                memchr::memchr(q as u8, body.as_bytes()).ok_or_else(|| XmlProblem::Syntax {
                    detail: "unterminated literal in DOCTYPE".into(),
                })?;
            word = &body[..end];
            rest = body[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            word = &rest[..end];
            rest = rest[end..].trim_start();
        }
        if n < words.len() {
            words[n] = word;
            n += 1;
        }
    }
    let words = &words[..n];
    let mut dt = Doctype {
        name: Cow::Borrowed(words.first().copied().unwrap_or_default()),
        ..Doctype::default()
    };
    match words.get(1) {
        Some(k) if k.eq_ignore_ascii_case("PUBLIC") => {
            dt.public_id = words.get(2).map(|s| Cow::Borrowed(*s));
            dt.system_id = words.get(3).map(|s| Cow::Borrowed(*s));
        }
        Some(k) if k.eq_ignore_ascii_case("SYSTEM") => {
            dt.system_id = words.get(2).map(|s| Cow::Borrowed(*s));
        }
        _ => {}
    }
    let mut pap_ver = None;
    if let Some(subset) = subset {
        // Any markup declaration could define entities or pull in external ones; a PAP
        // document never needs one, so refuse them all (XXE, billion laughs).
        if subset.contains("<!") {
            return Err(XmlProblem::EntityDeclaration);
        }
        if let Some(i) = subset.find("<?wap-pap-ver") {
            let pi = &subset[i + "<?wap-pap-ver".len()..];
            let pi = &pi[..pi.find("?>").unwrap_or(pi.len())];
            pap_ver = supported_versions(pi);
        }
    }
    Ok((dt, pap_ver))
}

/// `supported-versions="2.0,1.*"` inside a wap-pap-ver processing instruction.
fn supported_versions(pi: &str) -> Option<&str> {
    let i = pi.find("supported-versions")?;
    let rest = pi[i + "supported-versions".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    let end = body.find(q)?;
    Some(&body[..end])
}

fn start_element(
    e: &quick_xml::events::BytesStart<'_>,
    offset: usize,
    tag_end: usize,
) -> Result<Element<'static>, XmlFailure> {
    let name = Cow::Owned(e.name().as_ref().to_string());
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| {
            fail(
                XmlProblem::Syntax {
                    detail: err.to_string(),
                },
                offset,
            )
        })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| fail(entity_problem(&err), offset))?;
        attrs.push((Cow::Owned(key), Cow::Owned(value.into_owned())));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        offset,
        tag_end,
    })
}

/// Reads one document into a tree, within `limits`.
pub fn read<'a>(input: &'a [u8], limits: &XmlLimits) -> Result<XmlDoc<'a>, XmlFailure> {
    let text = checked_text(input, limits)?;
    if let Some(doc) = scan::read(text, limits) {
        return Ok(doc);
    }
    read_quick_xml(text, limits)
}

/// [`read`] without the scanner: every document through quick-xml. The same result as `read`
/// for every input (the fuzz target `pap_document` and the unit tests check it).
#[doc(hidden)]
pub fn read_with_quick_xml<'a>(
    input: &'a [u8],
    limits: &XmlLimits,
) -> Result<XmlDoc<'a>, XmlFailure> {
    read_quick_xml(checked_text(input, limits)?, limits)
}

/// The input as text, within the size limit.
fn checked_text<'a>(input: &'a [u8], limits: &XmlLimits) -> Result<&'a str, XmlFailure> {
    if input.len() > limits.max_bytes {
        return Err(fail(
            XmlProblem::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            },
            0,
        ));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        fail(
            XmlProblem::NotUtf8 {
                valid_up_to: e.valid_up_to(),
            },
            e.valid_up_to(),
        )
    })?;
    Ok(text)
}

/// The general reader: quick-xml events into the tree (owned strings).
fn read_quick_xml<'a>(text: &'a str, limits: &XmlLimits) -> Result<XmlDoc<'a>, XmlFailure> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut doctype = None;
    let mut pap_ver = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position() as usize;
            fail(entity_problem(&e), at)
        })?;
        let after = reader.buffer_position() as usize;
        match event {
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, empty) = match ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => continue,
                };
                if root.is_some() {
                    return Err(fail(XmlProblem::AfterRoot, before));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(fail(
                        XmlProblem::TooManyElements {
                            limit: limits.max_elements,
                        },
                        before,
                    ));
                }
                if stack.len() >= limits.max_depth {
                    return Err(fail(
                        XmlProblem::TooDeep {
                            limit: limits.max_depth,
                        },
                        before,
                    ));
                }
                let el = start_element(&e, before, after)?;
                if empty {
                    close(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    close(&mut stack, &mut root, el);
                }
            }
            Event::Text(t) => {
                if t.chars().any(|c| !c.is_ascii_whitespace()) {
                    let element = stack.last().map(|e| e.name.to_string()).unwrap_or_default();
                    if root.is_some() || stack.is_empty() {
                        return Err(fail(XmlProblem::AfterRoot, before));
                    }
                    return Err(fail(XmlProblem::Text { element }, before));
                }
            }
            Event::CData(_) => {
                let element = stack.last().map(|e| e.name.to_string()).unwrap_or_default();
                return Err(fail(XmlProblem::Text { element }, before));
            }
            Event::GeneralRef(r) => {
                let name = r.to_string();
                if r.is_char_ref() || quick_xml::escape::resolve_predefined_entity(&name).is_some()
                {
                    let element = stack.last().map(|e| e.name.to_string()).unwrap_or_default();
                    return Err(fail(XmlProblem::Text { element }, before));
                }
                return Err(fail(XmlProblem::UndefinedEntity { name }, before));
            }
            Event::DocType(d) => {
                if !stack.is_empty() || root.is_some() {
                    return Err(fail(
                        XmlProblem::Syntax {
                            detail: "DOCTYPE after the root element".into(),
                        },
                        before,
                    ));
                }
                let body = d.to_string();
                let (dt, ver) = parse_doctype(&body).map_err(|p| fail(p, before))?;
                doctype = Some(dt.into_owned());
                if let Some(ver) = ver {
                    pap_ver = Some(Cow::Owned(ver.to_string()));
                }
            }
            Event::PI(p) => {
                if p.target() == "wap-pap-ver" {
                    pap_ver = supported_versions(p.content()).map(|v| Cow::Owned(v.to_string()));
                }
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    let open = stack.last().map(|e| e.name.to_string()).unwrap_or_default();
                    return Err(fail(
                        XmlProblem::Syntax {
                            detail: format!("the document ends inside <{open}>"),
                        },
                        text.len(),
                    ));
                }
                return match root {
                    Some(root) => Ok(XmlDoc {
                        doctype,
                        pap_ver,
                        root,
                    }),
                    None => Err(fail(XmlProblem::NoRoot, text.len())),
                };
            }
        }
    }
}

fn close<'a>(stack: &mut [Element<'a>], root: &mut Option<Element<'a>>, el: Element<'a>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// The bytes [`escape_attr`] stops at: markup characters, C0 controls, and 0xEF (the lead byte
/// of U+FFFE and U+FFFF).
static ATTR_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || matches!(c as u8, b'&' | b'<' | b'>' | b'"' | 0xEF);
        c += 1;
    }
    t
};

/// The length of the leading run of `b` that [`escape_attr`] copies as is: eight bytes at a
/// time while they are printable ASCII other than `"&<>`, then byte by byte.
fn clean_run(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero iff some byte of `v` is below `n` (n <= 0x80), or zero when `n` is 1.
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let special = below(w, 0x20)
            | (w & HIGH)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'&')), 1)
            | below(w ^ (ONES * u64::from(b'<')), 1)
            | below(w ^ (ONES * u64::from(b'>')), 1);
        if special != 0 {
            break;
        }
        i += 8;
    }
    while i < b.len() && !ATTR_SPECIAL[usize::from(b[i])] {
        i += 1;
    }
    i
}

/// Escapes text for a double-quoted attribute value. Line breaks and tabs become character
/// references so they survive attribute-value normalisation (XML 1.0 §3.3.3); characters XML
/// 1.0 cannot carry at all (C0 controls) become U+FFFD.
pub fn escape_attr(out: &mut String, value: &str) {
    // Runs of characters that need no escape are copied whole, found a word at a time (the
    // usual value has none; a per-character push, then a per-character decode, showed in the
    // PAP answer's profile). Every character to replace is ASCII but U+FFFE and U+FFFF, whose
    // UTF-8 is EF BF BE / EF BF BF.
    let b = value.as_bytes();
    let mut clean_from = 0;
    let mut at = 0;
    loop {
        at += clean_run(&b[at..]);
        if at >= b.len() {
            break;
        }
        let (escaped, len) = match b[at] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\n' => ("&#10;", 1),
            b'\r' => ("&#13;", 1),
            b'\t' => ("&#9;", 1),
            c if c < 0x20 => ("\u{FFFD}", 1),
            0xEF if matches!(b.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])) => ("\u{FFFD}", 3),
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&value[clean_from..at]);
        out.push_str(escaped);
        at += len;
        clean_from = at;
    }
    out.push_str(&value[clean_from..]);
}

/// Writes a start tag with its attributes (those with a value); `close` makes it empty.
pub fn write_tag(out: &mut String, name: &str, attrs: &[(&str, Option<&str>)], empty: bool) {
    out.push('<');
    out.push_str(name);
    for (k, v) in attrs {
        if let Some(v) = v {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_attr(out, v);
            out.push('"');
        }
    }
    out.push_str(if empty { "/>\n" } else { ">\n" });
}

pub fn write_end(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_tree_with_doctype_and_pap_ver() {
        let d = read(
            br#"<?xml version="1.0"?>
<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd" [<?wap-pap-ver supported-versions="2.0,1.*"?>]>
<pap><a x="1&amp;2"/><b><c/></b></pap>"#,
            &XmlLimits::default(),
        )
        .unwrap();
        let dt = d.doctype.unwrap();
        assert_eq!(dt.name, "pap");
        assert_eq!(
            dt.public_id.as_deref(),
            Some("-//WAPFORUM//DTD PAP 2.0//EN")
        );
        assert_eq!(d.pap_ver.as_deref(), Some("2.0,1.*"));
        assert_eq!(d.root.children.len(), 2);
        assert_eq!(d.root.children[0].attrs, vec![("x".into(), "1&2".into())]);
        assert_eq!(d.root.children[1].children[0].name, "c");
    }

    #[test]
    fn limits_hold() {
        let deep = format!("{}{}", "<a>".repeat(20), "</a>".repeat(20));
        let e = read(deep.as_bytes(), &XmlLimits::default()).unwrap_err();
        assert_eq!(e.problem, XmlProblem::TooDeep { limit: 16 });
        let many = format!("<a>{}</a>", "<b/>".repeat(20));
        let lim = XmlLimits {
            max_elements: 10,
            ..XmlLimits::default()
        };
        assert_eq!(
            read(many.as_bytes(), &lim).unwrap_err().problem,
            XmlProblem::TooManyElements { limit: 10 }
        );
        let lim = XmlLimits {
            max_bytes: 4,
            ..XmlLimits::default()
        };
        assert!(matches!(
            read(b"<a></a>", &lim).unwrap_err().problem,
            XmlProblem::TooLarge { .. }
        ));
    }

    #[test]
    fn attribute_escaping_survives_a_round_trip() {
        let mut s = String::new();
        write_tag(&mut s, "a", &[("v", Some("x<&>\"\n\r\ty\u{1}'"))], true);
        let d = read(s.as_bytes(), &XmlLimits::default()).unwrap();
        assert_eq!(d.root.attrs[0].1, "x<&>\"\n\r\ty\u{FFFD}'");
    }

    /// The scanner's tree, when it reads a document at all, is quick-xml's tree.
    fn same_as_quick_xml(text: &str, limits: &XmlLimits) -> bool {
        match scan::read(text, limits) {
            None => false,
            Some(fast) => {
                let slow = read_quick_xml(text, limits);
                assert_eq!(
                    slow.as_ref(),
                    Ok(&fast),
                    "scanner and quick-xml differ on {text:?}"
                );
                true
            }
        }
    }

    /// Every PAP vector (the `.mime` ones' control entities too): the scanner takes the valid
    /// documents and gives quick-xml's tree.
    #[test]
    fn the_scanner_reads_the_vectors_as_quick_xml_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto-tests/vectors/pap");
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            // A .mime vector's XML: from the first `<?xml` or `<pap` to the last `</pap>`.
            let start = text.find("<?xml").or_else(|| text.find("<pap"));
            let end = text.rfind("</pap>").map(|e| e + "</pap>".len());
            let doc = match (start, end) {
                (Some(s), Some(e)) if s < e => &text[s..e],
                _ => text,
            };
            for t in [text, doc] {
                if same_as_quick_xml(t, &XmlLimits::default()) {
                    read += 1;
                }
            }
        }
        assert!(read >= 15, "the scanner read only {read} vector documents");
    }

    #[test]
    fn the_scanner_leaves_the_unusual_to_quick_xml() {
        let l = XmlLimits::default();
        for text in [
            "<!-- c --><pap/>",
            "<pap><!-- c --></pap>",
            "<?pi x?><pap/>",
            "<pap>text</pap>",
            "<pap><![CDATA[x]]></pap>",
            "<pap a='1' a='2'/>",
            "<pap a='1'b='2'/>",
            "<pap a=1/>",
            "<pap a='<'/>",
            "<pap></pop>",
            "<pap>",
            "<pap/><pap/>",
            "<pap/>x",
            "<!doctype pap><pap/>",
            "<!DOCTYPE pap [<!ENTITY x 'y'>]><pap/>",
            "<!DOCTYPE><pap/>",
            "\u{feff}<pap/>",
            " <?xml version='1.0'?><pap/>",
            "<?xml-stylesheet x?><pap/>",
            "<pap a='&bogus;'/>",
            "<pap\u{c}/>",
        ] {
            assert!(scan::read(text, &l).is_none(), "{text:?}");
        }
        let deep = format!("{}{}", "<a>".repeat(17), "</a>".repeat(17));
        assert!(scan::read(&deep, &l).is_none());
        assert!(scan::read(&deep, &XmlLimits { max_depth: 17, ..l }).is_some());
    }

    #[test]
    fn the_scanner_reads_the_common_shapes() {
        let l = XmlLimits::default();
        for text in [
            "<pap/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<pap>\r\n</pap>\r\n",
            "<?xml version='1.0'?><!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 2.0//EN\" \"http://www.wapforum.org/DTD/pap_2.0.dtd\" [<?wap-pap-ver supported-versions=\"2.0,1.*\"?>]><pap/>",
            "<!DOCTYPE pap PUBLIC '-//WAPFORUM//DTD PAP//EN' 'x>y'><pap/>",
            "<!DOCTYPE pap SYSTEM \"pap.dtd\"><pap/>",
            "<pap product-name = 'a&amp;b&#10;c\td'\n  x=\"'>\"  ><a\ty=''/></pap >",
        ] {
            assert!(same_as_quick_xml(text, &l), "{text:?}");
        }
    }

    /// Seeds for the mutation property: what PIs and ppgd write.
    const SEEDS: &[&str] = &[
        "<?xml version=\"1.0\"?>\n<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 2.0//EN\" \"http://www.wapforum.org/DTD/pap_2.0.dtd\" [<?wap-pap-ver supported-versions=\"2.0,1.*\"?>]>\n<pap>\n<push-message push-id=\"b-1\" source-reference=\"ppgd-push\">\n<address address-value=\"WAPPUSH=+491700012345/TYPE=PLMN\"/>\n</push-message>\n</pap>\n",
        "<?xml version='1.0' encoding='UTF-8'?>\r\n<!DOCTYPE pap PUBLIC '-//WAPFORUM//DTD PAP 1.0//EN' 'http://www.wapforum.org/DTD/pap_1.0.dtd'>\r\n<pap product-name='x'><push-message push-id='a&amp;b' deliver-before-timestamp='2026-01-01T00:00:00Z'><address address-value='WAPPUSH=1.2.3.4/TYPE=IPv4'/><quality-of-service priority='high'/></push-message></pap>",
        "<pap><statusquery-message push-id=\"x\"><address address-value=\"a\"></address></statusquery-message></pap>",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// Mutated documents: whenever the scanner reads one, quick-xml reads the same tree
        /// (offsets included); when it does not, quick-xml decides alone.
        #[test]
        fn the_scanner_agrees_with_quick_xml_on_mutations(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec(
                (0.0f64..1.0, 0u8..3, proptest::sample::select(vec![
                    "<", ">", "/", "=", "\"", "'", " ", "\n", "\r", "\t", "&", "&amp;", "&#10;",
                    ";", "?", "!", "-", "[", "]", "a", ":", "<a/>", "</a>", "<?x?>", "<!--x-->",
                    "<!DOCTYPE pap>", "\u{e9}", "\u{c}",
                ])),
                0..4,
            ),
            max_depth in 2usize..8,
        ) {
            let mut text = SEEDS[seed].to_string();
            for (at, op, piece) in edits {
                let mut i = ((text.len() as f64) * at) as usize;
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let next = text[i..].chars().next().map_or(i, |c| i + c.len_utf8());
                match op {
                    0 => text.insert_str(i, piece),
                    1 => text.replace_range(i..next, ""),
                    _ => text.replace_range(i..next, piece),
                }
            }
            let limits = XmlLimits { max_depth, max_elements: 5, ..XmlLimits::default() };
            same_as_quick_xml(&text, &limits);
            same_as_quick_xml(&text, &XmlLimits::default());
        }

        /// Generated documents of the scanner's shape (names, blanks, quotes, references):
        /// it reads them all, as quick-xml does.
        #[test]
        fn the_scanner_reads_generated_documents(
            attrs in proptest::collection::vec(
                ("[a-z_][a-z0-9:.-]{0,6}", "([ -%'-;=?-~]|&amp;|&lt;|&#10;|&#x41;|\t|\r\n|\n|\u{e9})*", "[ \t\r\n]{1,3}", "[ \n]{0,2}", proptest::bool::ANY),
                0..5,
            ),
            children in 0usize..4,
            blank in "[ \t\r\n]{0,3}",
        ) {
            let mut tag = String::from("<e");
            let mut seen = std::collections::HashSet::new();
            for (k, v, before, around, single) in &attrs {
                if !seen.insert(k.clone()) {
                    continue;
                }
                let q = if *single { '\'' } else { '"' };
                let v = v.replace(q, "");
                tag.push_str(&format!("{before}{k}{around}={around}{q}{v}{q}"));
            }
            let doc = if children == 0 {
                format!("<?xml version=\"1.0\"?>{blank}<r>{blank}{tag}{blank}/>{blank}</r>{blank}")
            } else {
                let kids = "<k/>".repeat(children);
                format!("{blank}<r>{blank}{tag}>{blank}{kids}</e{blank}>{blank}</r>")
            };
            proptest::prop_assert!(same_as_quick_xml(&doc, &XmlLimits::default()), "{doc:?}");
        }
    }

    proptest::proptest! {
        /// The escaping is the character-by-character one (every class of character, at every
        /// position within and across the eight-byte words).
        #[test]
        fn escaping_is_the_per_character_one(v in "\\PC*|[<>&\"\t\n\r\u{1}-\u{1f}\u{fffe}\u{ffff}a-z \u{7f}\u{e9}\u{efbf}\u{1F600}]{0,40}") {
            let mut expected = String::new();
            for c in v.chars() {
                match c {
                    '&' => expected.push_str("&amp;"),
                    '<' => expected.push_str("&lt;"),
                    '>' => expected.push_str("&gt;"),
                    '"' => expected.push_str("&quot;"),
                    '\n' => expected.push_str("&#10;"),
                    '\r' => expected.push_str("&#13;"),
                    '\t' => expected.push_str("&#9;"),
                    c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => expected.push('\u{FFFD}'),
                    c => expected.push(c),
                }
            }
            let mut out = String::from("x");
            escape_attr(&mut out, &v);
            proptest::prop_assert_eq!(&out[1..], expected.as_str());
        }

        /// Any attribute value comes back as written, but for the characters XML 1.0 cannot
        /// carry (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF), which become U+FFFD.
        #[test]
        fn any_attribute_value_survives_a_round_trip(v in "\\PC*|[<>&\"\t\n\r\u{1}-\u{1f}\u{fffe}\u{ffff}a-z\u{e9}\u{1F600}]{0,40}") {
            let mut s = String::new();
            write_tag(&mut s, "a", &[("v", Some(&v))], true);
            let d = read(s.as_bytes(), &XmlLimits::default()).unwrap();
            let expected: String = v
                .chars()
                .map(|c| match c {
                    '\t' | '\n' | '\r' => c,
                    c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
                    c => c,
                })
                .collect();
            proptest::prop_assert_eq!(&d.root.attrs[0].1, &expected);
        }
    }
}
