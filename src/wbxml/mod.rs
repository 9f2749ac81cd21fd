//! WBXML 1.1–1.3 (WAP-192) and the Service Indication (WAP-167), Service Loading (WAP-168) and
//! Cache Operation (WAP-175) compilers and decompilers.
//!
//! Layers, bottom up:
//! - [`token`]: header, `mb_u_int32`, the token [`token::Writer`] and the reader
//!   ([`token::read`]) that builds a generic tree of (code page, token) elements. Knows no
//!   document type; caps input size and nesting depth; errors name the octet offset.
//! - [`tables`]: the SI/SL/CO code-page 0 tokens and the href/uri value encoding (longest
//!   attribute-start prefix, then `.com/ .edu/ .net/ .org/` tokens).
//! - [`si`], [`sl`], [`co`]: typed documents with `from_xml`, `to_xml`, `to_wbxml`,
//!   `from_wbxml`, plus `compile(xml) -> wbxml`.
//! - [`decompile`] picks the document type from the public id; [`dissect`] feeds `ppgd decode`.

pub mod co;
pub mod si;
pub mod sl;
pub mod tables;
pub mod token;
mod xml;

pub use co::{CacheOperation, CoOperation};
pub use si::{InfoItem, ServiceIndication, SiAction};
pub use sl::{ServiceLoading, SlAction};

use crate::decode::{self, Dissection};
use tables::Table;
use token::{Attribute, Element, Name, Node, PublicId, RawDocument};
use xml::{XElement, XNode};

/// Every way WBXML or SI/SL/CO text can be wrong. WBXML errors name the octet offset; document
/// errors name the element path (`si/indication`) and the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WbxmlError {
    #[error("input of {len} octets is over the {max}-octet limit")]
    TooLarge { len: usize, max: usize },
    #[error("offset {offset}: truncated, expected {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("offset {offset}: mb_u_int32 longer than 32 bits")]
    IntegerOverflow { offset: usize },
    #[error("WBXML version 0x{version:02X} is not 1.0–1.3")]
    UnsupportedVersion { version: u8 },
    #[error("charset MIBenum {charset} is not supported (UTF-8, ISO-8859-1 and US-ASCII are)")]
    UnsupportedCharset { charset: u32 },
    #[error(
        "offset {offset}: string-table index {index} is outside the table or not NUL-terminated"
    )]
    StringTableRef { offset: usize, index: u32 },
    #[error("offset {offset}: string is not valid in the document charset")]
    InvalidText { offset: usize },
    #[error("offset {offset}: unexpected token 0x{token:02X} {context}")]
    UnexpectedToken {
        offset: usize,
        token: u8,
        context: &'static str,
    },
    #[error("offset {offset}: elements nested deeper than {max}")]
    TooDeep { offset: usize, max: usize },
    #[error("offset {offset}: octets after the root element")]
    TrailingBytes { offset: usize },
    #[error("offset {offset}: {what} is not supported")]
    Unsupported { offset: usize, what: &'static str },
    #[error("offset {offset}: ENTITY {code} is not a character")]
    BadEntity { offset: usize, code: u32 },
    #[error("public id {public_id} is not SI 1.0, SL 1.0 or CO 1.0")]
    UnknownPublicId { public_id: String },
    #[error("offset {offset}: {element}: unknown {kind} token 0x{code:02X}")]
    UnknownToken {
        offset: usize,
        element: String,
        kind: &'static str,
        code: u8,
    },
    #[error("XML at byte {offset}: {detail}")]
    Xml { offset: u64, detail: String },
    #[error(
        "XML at byte {offset}: entity `&{name};` is not predefined (DTD entities are never expanded)"
    )]
    UnknownEntity { offset: u64, name: String },
    #[error("root element is <{found}>, expected <{expected}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    #[error("{parent}: unknown element <{element}>")]
    UnknownElement { parent: String, element: String },
    #[error("{element}: unknown attribute `{attribute}`")]
    UnknownAttribute { element: String, attribute: String },
    #[error("{element}@{attribute}: given twice")]
    DuplicateAttribute {
        element: String,
        attribute: &'static str,
    },
    #[error("{element}@{attribute}: \"{value}\" is not one of {expected}")]
    BadValue {
        element: String,
        attribute: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{element}@{attribute}: \"{value}\" is not a date: {reason}")]
    BadDate {
        element: String,
        attribute: &'static str,
        value: String,
        reason: String,
    },
    #[error("{element}@{attribute} is required{why}")]
    MissingAttribute {
        element: String,
        attribute: &'static str,
        why: &'static str,
    },
    #[error("{element}: missing <{child}>")]
    MissingElement {
        element: String,
        child: &'static str,
    },
    #[error("{element}: text is not allowed here")]
    UnexpectedText { element: String },
    #[error("{element}: {what} contains NUL, which a WBXML string cannot carry")]
    Nul { element: String, what: &'static str },
}

/// A decompiled (or parsed) push document of one of the three types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Si(ServiceIndication),
    Sl(ServiceLoading),
    Co(CacheOperation),
}

impl Document {
    /// Parses text XML, choosing the type from the root element.
    pub fn from_xml(xml: &[u8]) -> Result<Self, WbxmlError> {
        let root = xml::parse(xml)?;
        match root.name.as_str() {
            "si" => ServiceIndication::from_tree(&root).map(Document::Si),
            "sl" => ServiceLoading::from_tree(&root).map(Document::Sl),
            "co" => CacheOperation::from_tree(&root).map(Document::Co),
            other => Err(WbxmlError::WrongRoot {
                expected: "si, sl or co",
                found: other.to_string(),
            }),
        }
    }

    pub fn to_xml(&self) -> Result<String, WbxmlError> {
        match self {
            Document::Si(d) => d.to_xml(),
            Document::Sl(d) => d.to_xml(),
            Document::Co(d) => d.to_xml(),
        }
    }

    pub fn to_wbxml(&self) -> Result<Vec<u8>, WbxmlError> {
        match self {
            Document::Si(d) => d.to_wbxml(),
            Document::Sl(d) => d.to_wbxml(),
            Document::Co(d) => d.to_wbxml(),
        }
    }

    /// The media type of the text form (`text/vnd.wap.si` ...).
    pub fn text_media_type(&self) -> &'static str {
        match self {
            Document::Si(_) => "text/vnd.wap.si",
            Document::Sl(_) => "text/vnd.wap.sl",
            Document::Co(_) => "text/vnd.wap.co",
        }
    }

    /// The media type of the compiled form (`application/vnd.wap.sic` ...).
    pub fn wbxml_media_type(&self) -> &'static str {
        match self {
            Document::Si(_) => "application/vnd.wap.sic",
            Document::Sl(_) => "application/vnd.wap.slc",
            Document::Co(_) => "application/vnd.wap.coc",
        }
    }

    fn tree(&self) -> XElement {
        match self {
            Document::Si(d) => d.to_tree(),
            Document::Sl(d) => d.to_tree(),
            Document::Co(d) => d.to_tree(),
        }
    }
}

fn table_for(public_id: &PublicId) -> Option<&'static Table> {
    [&tables::SI, &tables::SL, &tables::CO]
        .into_iter()
        .find(|t| match public_id {
            PublicId::Known(v) => *v == t.public_id,
            PublicId::Text(s) => s == t.fpi,
        })
}

fn public_id_text(p: &PublicId) -> String {
    match p {
        PublicId::Known(v) => format!("0x{v:02X}"),
        PublicId::Text(s) => format!("\"{s}\""),
    }
}

fn from_raw(raw: &RawDocument) -> Result<Document, WbxmlError> {
    let table = table_for(&raw.header.public_id).ok_or_else(|| WbxmlError::UnknownPublicId {
        public_id: public_id_text(&raw.header.public_id),
    })?;
    if table.public_id == tables::SI.public_id {
        si::from_raw(&raw.root).map(Document::Si)
    } else if table.public_id == tables::SL.public_id {
        sl::from_raw(&raw.root).map(Document::Sl)
    } else {
        co::from_raw(&raw.root).map(Document::Co)
    }
}

/// Decompiles SI, SL or CO WBXML (any version 1.1–1.3, numeric or string-table public id).
pub fn decompile(bytes: &[u8]) -> Result<Document, WbxmlError> {
    from_raw(&token::read(bytes)?)
}

/// Compiles SI, SL or CO text XML, choosing the type from the root element.
pub fn compile(xml: &[u8]) -> Result<Vec<u8>, WbxmlError> {
    Document::from_xml(xml)?.to_wbxml()
}

fn charset_name(mib: u32) -> &'static str {
    match mib {
        token::CHARSET_UTF8 => "UTF-8",
        token::CHARSET_LATIN1 => "ISO-8859-1",
        token::CHARSET_ASCII => "US-ASCII",
        token::CHARSET_UNKNOWN => "unknown",
        _ => "unsupported",
    }
}

/// `ppgd decode`: the header fields by name, then the decompiled document as indented elements
/// and attributes with every value in full.
pub fn dissect(bytes: &[u8], out: &mut Dissection) -> Result<(), WbxmlError> {
    let raw = token::read(bytes)?;
    let h = &raw.header;
    let mut result = Ok(());
    out.nest("WBXML", |d| {
        d.field(
            "version",
            format!("1.{} (0x{:02X})", h.version & 0x0F, h.version),
        );
        let pid = match (&h.public_id, table_for(&h.public_id)) {
            (p, Some(t)) => format!("{} ({})", public_id_text(p), t.fpi),
            (p, None) => format!("{} (unknown)", public_id_text(p)),
        };
        d.field("public id", pid);
        d.field(
            "charset",
            format!("{} (0x{:02X})", charset_name(h.charset), h.charset),
        );
        if h.string_table.is_empty() {
            d.field("string table", "empty");
        } else {
            d.field(
                "string table",
                format!(
                    "{} octets: {}",
                    h.string_table.len(),
                    decode::hex(&h.string_table)
                ),
            );
        }
        match from_raw(&raw) {
            Ok(doc) => dissect_tree(&doc.tree(), d),
            Err(e) => result = Err(e),
        }
    });
    result
}

fn dissect_tree(e: &XElement, d: &mut Dissection) {
    d.nest(format!("<{}>", e.name), |d| {
        for (k, v) in &e.attrs {
            d.field(format!("@{k}"), v);
        }
        for c in &e.children {
            match c {
                XNode::Element(child) => dissect_tree(child, d),
                XNode::Text(t) => d.field("text", format!("{t:?}")),
            }
        }
    });
}

/// Serialises a document tree after the prolog of `table`.
fn write_xml(table: &Table, root: &XElement) -> String {
    let mut out = String::with_capacity(256);
    xml::prolog(table.root, table.fpi, table.dtd, &mut out);
    write_element(root, 0, &mut out);
    out.push('\n');
    out
}

fn write_element(e: &XElement, depth: usize, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        xml::attr(k, v, out);
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let elements_only = e.children.iter().all(|c| matches!(c, XNode::Element(_)));
    for c in &e.children {
        match c {
            XNode::Element(child) => {
                out.push('\n');
                for _ in 0..=depth {
                    out.push_str("  ");
                }
                write_element(child, depth + 1, out);
            }
            XNode::Text(t) => xml::escape(t, out),
        }
    }
    if elements_only {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

// ---- helpers the typed documents share ----

/// The attributes of a decoded element, named through `table`, duplicates rejected.
fn raw_attrs<'a>(
    table: &Table,
    e: &'a Element,
    path: &str,
) -> Result<Vec<(&'static tables::AttrStart, &'a Attribute)>, WbxmlError> {
    let mut out: Vec<(&'static tables::AttrStart, &'a Attribute)> = Vec::new();
    for a in &e.attributes {
        let start = match &a.name {
            Name::Token { page: 0, code } => table.attr_start(*code),
            Name::Token { .. } => None,
            Name::Literal(name) => {
                return Err(WbxmlError::UnknownAttribute {
                    element: path.to_string(),
                    attribute: name.clone(),
                });
            }
        };
        let start = start.ok_or_else(|| WbxmlError::UnknownToken {
            offset: a.offset,
            element: path.to_string(),
            kind: "attribute-start",
            code: match &a.name {
                Name::Token { code, .. } => *code,
                Name::Literal(_) => 0,
            },
        })?;
        if out.iter().any(|(s, _)| s.name == start.name) {
            return Err(WbxmlError::DuplicateAttribute {
                element: path.to_string(),
                attribute: start.name,
            });
        }
        out.push((start, a));
    }
    Ok(out)
}

/// The name of a decoded child element, or an error naming its parent.
fn raw_name(table: &Table, e: &Element, parent: &str) -> Result<&'static str, WbxmlError> {
    match &e.name {
        Name::Literal(n) => Err(WbxmlError::UnknownElement {
            parent: parent.to_string(),
            element: n.clone(),
        }),
        name => table
            .element_name(name)
            .ok_or_else(|| WbxmlError::UnknownToken {
                offset: e.offset,
                element: parent.to_string(),
                kind: "tag",
                code: match name {
                    Name::Token { code, .. } => *code,
                    Name::Literal(_) => 0,
                },
            }),
    }
}

/// Splits decoded content into its text (STR_I, STR_T and ENTITY joined) and child elements.
fn raw_content(e: &Element) -> Result<(String, Vec<&Element>), WbxmlError> {
    let mut text = String::new();
    let mut children = Vec::new();
    for n in e.content.iter().flatten() {
        match n {
            Node::Element(c) => children.push(c),
            Node::Text(t) => text.push_str(t),
            Node::Entity(c) => text.push(tables::entity_char(*c, e.offset)?),
            Node::Opaque(_) | Node::Extension(_) => {
                return Err(WbxmlError::Unsupported {
                    offset: e.offset,
                    what: if matches!(n, Node::Opaque(_)) {
                        "OPAQUE content"
                    } else {
                        "extension token in content"
                    },
                });
            }
        }
    }
    Ok((text, children))
}

/// Rejects strings WBXML's STR_I cannot carry.
fn no_nul(s: &str, element: &str, what: &'static str) -> Result<(), WbxmlError> {
    if s.contains('\0') {
        Err(WbxmlError::Nul {
            element: element.to_string(),
            what,
        })
    } else {
        Ok(())
    }
}

/// Text-side checks: attributes from the allowed set, no unknown child element.
fn xml_attrs<'a>(
    e: &'a XElement,
    path: &str,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, &'a str)>, WbxmlError> {
    let mut out = Vec::new();
    for (k, v) in &e.attrs {
        match allowed.iter().find(|a| **a == k.as_str()) {
            Some(name) => out.push((*name, v.as_str())),
            None => {
                return Err(WbxmlError::UnknownAttribute {
                    element: path.to_string(),
                    attribute: k.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn xml_no_text(e: &XElement, path: &str) -> Result<(), WbxmlError> {
    if e.text().trim().is_empty() {
        Ok(())
    } else {
        Err(WbxmlError::UnexpectedText {
            element: path.to_string(),
        })
    }
}

fn xml_leaf_text(e: &XElement, path: &str) -> Result<String, WbxmlError> {
    if let Some(c) = e.elements().next() {
        return Err(WbxmlError::UnknownElement {
            parent: path.to_string(),
            element: c.name.clone(),
        });
    }
    // Leading and trailing white space is layout in the text form, not content.
    Ok(e.text().trim().to_string())
}

fn xml_root(e: &XElement, table: &Table) -> Result<(), WbxmlError> {
    if e.name == table.root {
        Ok(())
    } else {
        Err(WbxmlError::WrongRoot {
            expected: table.root,
            found: e.name.clone(),
        })
    }
}

fn raw_root(e: &Element, table: &Table) -> Result<(), WbxmlError> {
    match table.element_name(&e.name) {
        Some(n) if n == table.root => Ok(()),
        _ => Err(WbxmlError::WrongRoot {
            expected: table.root,
            found: match &e.name {
                Name::Token { page, code } => format!("token 0x{code:02X} on page {page}"),
                Name::Literal(n) => n.clone(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_public_id_selects_the_document_type() {
        let fpi = b"-//WAPFORUM//DTD SL 1.0//EN\0";
        let mut b = vec![0x03, 0x00, 0x00, 0x6A, fpi.len() as u8];
        b.extend_from_slice(fpi);
        b.extend([0x85, 0x08, 0x03, b'x', 0x00, 0x01]);
        let d = decompile(&b).unwrap();
        assert_eq!(
            d,
            Document::Sl(ServiceLoading {
                href: "x".into(),
                action: None
            })
        );
        let mut bad = b.clone();
        bad[1] = 0x01;
        bad.drain(2..3);
        assert!(matches!(
            decompile(&bad),
            Err(WbxmlError::UnknownPublicId { .. })
        ));
    }

    #[test]
    fn dissect_names_header_fields_and_values_in_full() {
        let sl =
            sl::compile(b"<sl href='http://www.example.com/a-long-path' action='execute-high'/>")
                .unwrap();
        let mut d = Dissection::new();
        dissect(&sl, &mut d).unwrap();
        assert_eq!(
            d.to_string(),
            "WBXML\n  version: 1.2 (0x02)\n  public id: 0x06 (-//WAPFORUM//DTD SL 1.0//EN)\n  \
             charset: UTF-8 (0x6A)\n  string table: empty\n  <sl>\n    \
             @href: http://www.example.com/a-long-path\n    @action: execute-high\n"
        );
    }
}
