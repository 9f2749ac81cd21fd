//! A tiny element tree over quick-xml 0.42 for the SI/SL/CO text forms, and the escaping the
//! writers use. quick-xml never expands DTD or external entities: the DOCTYPE is an inert
//! event, and only the five predefined entities and character references are resolved here.

use quick_xml::XmlVersion;
use quick_xml::events::Event;

use super::WbxmlError;
use super::token::{MAX_DEPTH, MAX_INPUT};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XElement {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<XNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XNode {
    Element(XElement),
    Text(String),
}

impl XElement {
    /// All character data directly inside this element, concatenated.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let XNode::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    pub fn elements(&self) -> impl Iterator<Item = &XElement> {
        self.children.iter().filter_map(|c| match c {
            XNode::Element(e) => Some(e),
            XNode::Text(_) => None,
        })
    }
}

fn xml_err(offset: u64, detail: impl ToString) -> WbxmlError {
    WbxmlError::Xml {
        offset,
        detail: detail.to_string(),
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(xml: &[u8]) -> Result<XElement, WbxmlError> {
    if xml.len() > MAX_INPUT {
        return Err(WbxmlError::TooLarge {
            len: xml.len(),
            max: MAX_INPUT,
        });
    }
    let text =
        std::str::from_utf8(xml).map_err(|e| xml_err(e.valid_up_to() as u64, "not UTF-8"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<XElement> = Vec::new();
    let mut root: Option<XElement> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_err(reader.error_position(), e))?;
        match event {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(xml_err(at, "content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(WbxmlError::TooDeep {
                        offset: at as usize,
                        max: MAX_DEPTH,
                    });
                }
                let name = s.name().as_ref().to_string();
                let mut attrs = Vec::new();
                for a in s.attributes() {
                    let a = a.map_err(|e| xml_err(at, e))?;
                    let key = a.key.as_ref().to_string();
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| xml_err(at, e))?
                        .into_owned();
                    attrs.push((key, value));
                }
                stack.push(XElement {
                    name,
                    attrs,
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                // check_end_names (on by default) has matched the names.
                let done = stack
                    .pop()
                    .ok_or_else(|| xml_err(at, "unmatched end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(XNode::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content(), at)?,
            Event::CData(c) => {
                let raw = c.into_inner();
                push_text(&mut stack, &raw, at)?;
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| xml_err(at, e))?
                        .ok_or_else(|| xml_err(at, "bad character reference"))?
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => {
                            return Err(WbxmlError::UnknownEntity {
                                offset: at,
                                name: other.to_string(),
                            });
                        }
                    }
                };
                if c == '\0' {
                    return Err(xml_err(at, "character reference to NUL"));
                }
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]), at)?;
            }
            Event::Eof => break,
            // The XML declaration, DOCTYPE (inert: nothing is fetched or expanded), comments
            // and processing instructions carry nothing for SI/SL/CO.
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => return Err(xml_err(at, "unexpanded empty element")),
        }
    }
    if !stack.is_empty() {
        return Err(xml_err(reader.buffer_position(), "unclosed element"));
    }
    root.ok_or_else(|| xml_err(0, "no root element"))
}

fn push_text(stack: &mut [XElement], s: &str, at: u64) -> Result<(), WbxmlError> {
    match stack.last_mut() {
        Some(e) => {
            if let Some(XNode::Text(prev)) = e.children.last_mut() {
                prev.push_str(s);
            } else {
                e.children.push(XNode::Text(s.to_string()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(xml_err(at, "text outside the root element")),
    }
}

/// Escapes text for an attribute value in double quotes or for character data.
pub(crate) fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Attribute-value normalisation would turn these into spaces (XML 1.0 §3.3.3).
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Writes the XML declaration and the DOCTYPE for a document type.
pub(crate) fn prolog(root: &str, fpi: &str, dtd: &str, out: &mut String) {
    out.push_str("<?xml version=\"1.0\"?>\n<!DOCTYPE ");
    out.push_str(root);
    out.push_str(" PUBLIC \"");
    out.push_str(fpi);
    out.push_str("\" \"");
    out.push_str(dtd);
    out.push_str("\">\n");
}

/// Writes ` name="value"`.
pub(crate) fn attr(name: &str, value: &str, out: &mut String) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape(value, out);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_resolve_and_external_ones_do_not() {
        let e = parse(b"<a x='1 &amp; 2'>a&lt;b&#x41;<![CDATA[<c>]]></a>").unwrap();
        assert_eq!(e.attrs, [("x".to_string(), "1 & 2".to_string())]);
        assert_eq!(e.text(), "a<bA<c>");
        let xxe = b"<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
        assert!(matches!(parse(xxe), Err(WbxmlError::UnknownEntity { name, .. }) if name == "x"));
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a/><b/>").is_err());
        assert!(parse(b"").is_err());
    }
}
