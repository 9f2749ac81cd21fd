//! The small, bounded XML reader and writer under the PAP documents.
//!
//! Reading builds a tiny element tree with quick-xml 0.42, which never expands DTD or external
//! entities: an entity reference other than the five predefined ones and character references
//! is an error (billion laughs, XXE). A DOCTYPE that declares entities is refused outright.
//! Size, nesting depth and element count are capped before any tree grows.

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

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

/// One element: name, attributes in document order, child elements, where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// Byte offset of its `<` in the document.
    pub offset: usize,
    /// Byte offset just past its start tag.
    pub tag_end: usize,
}

/// The prolog facts we use, and the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDoc {
    /// The DOCTYPE's root name, public and system ids, if a DOCTYPE is present.
    pub doctype: Option<Doctype>,
    /// `supported-versions` of a `<?wap-pap-ver?>` processing instruction (PAP 2.x, §8.2.4).
    pub pap_ver: Option<String>,
    pub root: Element,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doctype {
    pub name: String,
    pub public_id: Option<String>,
    pub system_id: Option<String>,
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
fn parse_doctype(text: &str) -> Result<(Doctype, Option<String>), XmlProblem> {
    let (head, subset) = match text.find('[') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut dt = Doctype::default();
    let mut words = Vec::new();
    let mut rest = head.trim();
    while !rest.is_empty() {
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end = body.find(q).ok_or(XmlProblem::Syntax {
                detail: "unterminated literal in DOCTYPE".into(),
            })?;
            words.push(&body[..end]);
            rest = body[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
    }
    dt.name = words.first().map(|s| s.to_string()).unwrap_or_default();
    match words.get(1) {
        Some(k) if k.eq_ignore_ascii_case("PUBLIC") => {
            dt.public_id = words.get(2).map(|s| s.to_string());
            dt.system_id = words.get(3).map(|s| s.to_string());
        }
        Some(k) if k.eq_ignore_ascii_case("SYSTEM") => {
            dt.system_id = words.get(2).map(|s| s.to_string());
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
fn supported_versions(pi: &str) -> Option<String> {
    let i = pi.find("supported-versions")?;
    let rest = pi[i + "supported-versions".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    let end = body.find(q)?;
    Some(body[..end].to_string())
}

fn start_element(
    e: &quick_xml::events::BytesStart<'_>,
    offset: usize,
    tag_end: usize,
) -> Result<Element, XmlFailure> {
    let name = e.name().as_ref().to_string();
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
        attrs.push((key, value.into_owned()));
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
pub fn read(input: &[u8], limits: &XmlLimits) -> Result<XmlDoc, XmlFailure> {
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
                    let element = stack.last().map(|e| e.name.clone()).unwrap_or_default();
                    if root.is_some() || stack.is_empty() {
                        return Err(fail(XmlProblem::AfterRoot, before));
                    }
                    return Err(fail(XmlProblem::Text { element }, before));
                }
            }
            Event::CData(_) => {
                let element = stack.last().map(|e| e.name.clone()).unwrap_or_default();
                return Err(fail(XmlProblem::Text { element }, before));
            }
            Event::GeneralRef(r) => {
                let name = r.to_string();
                if r.is_char_ref() || quick_xml::escape::resolve_predefined_entity(&name).is_some()
                {
                    let element = stack.last().map(|e| e.name.clone()).unwrap_or_default();
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
                doctype = Some(dt);
                if ver.is_some() {
                    pap_ver = ver;
                }
            }
            Event::PI(p) => {
                if p.target() == "wap-pap-ver" {
                    pap_ver = supported_versions(p.content());
                }
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    let open = stack.last().map(|e| e.name.clone()).unwrap_or_default();
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

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// Escapes text for a double-quoted attribute value. Line breaks and tabs become character
/// references so they survive attribute-value normalisation (XML 1.0 §3.3.3); characters XML
/// 1.0 cannot carry at all (C0 controls) become U+FFFD.
pub fn escape_attr(out: &mut String, value: &str) {
    // Runs of characters that need no escape are copied whole, found byte by byte (the usual
    // value has none; a per-character push, then a per-character decode, showed in the PAP
    // answer's profile). Every character to replace is ASCII but U+FFFE and U+FFFF, whose
    // UTF-8 is EF BF BE / EF BF BF.
    let b = value.as_bytes();
    let mut clean_from = 0;
    let mut at = 0;
    while at < b.len() {
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

    proptest::proptest! {
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
