//! Cache Operation (WAP-175): `text/vnd.wap.co` ⇄ `application/vnd.wap.coc`.
//! `<co>` holds one or more `<invalidate-object uri>` / `<invalidate-service uri>` (§5.2).

use super::tables::CO;
use super::token::{Element, Writer};
use super::xml::{XElement, XNode};
use super::{WbxmlError, no_nul, raw_attrs, raw_content, raw_name, raw_root, xml_attrs};

/// One cache operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CoOperation {
    /// Invalidate the object at this URI.
    InvalidateObject(String),
    /// Invalidate every object whose URI starts with this prefix.
    InvalidateService(String),
}

impl CoOperation {
    fn element(&self) -> (&'static str, u8, &str) {
        match self {
            CoOperation::InvalidateObject(u) => ("invalidate-object", 0x06, u),
            CoOperation::InvalidateService(u) => ("invalidate-service", 0x07, u),
        }
    }
}

/// A Cache Operation document (at least one operation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheOperation {
    pub operations: Vec<CoOperation>,
}

/// Compiles `text/vnd.wap.co` into `application/vnd.wap.coc`.
pub fn compile(xml: &[u8]) -> Result<Vec<u8>, WbxmlError> {
    CacheOperation::from_xml(xml)?.to_wbxml()
}

fn path(name: &str) -> &'static str {
    if name == "invalidate-object" {
        "co/invalidate-object"
    } else {
        "co/invalidate-service"
    }
}

impl CacheOperation {
    pub fn validate(&self) -> Result<(), WbxmlError> {
        if self.operations.is_empty() {
            return Err(WbxmlError::MissingElement {
                element: "co".into(),
                child: "invalidate-object or invalidate-service",
            });
        }
        for op in &self.operations {
            let (name, _, uri) = op.element();
            no_nul(uri, path(name), "uri")?;
        }
        Ok(())
    }

    pub fn from_xml(xml: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&super::xml::parse(xml)?)
    }

    pub(crate) fn from_tree(root: &XElement) -> Result<Self, WbxmlError> {
        super::xml_root(root, &CO)?;
        xml_attrs(root, "co", &[])?;
        super::xml_no_text(root, "co")?;
        let mut operations = Vec::new();
        for e in root.elements() {
            let make: fn(String) -> CoOperation = match e.name.as_str() {
                "invalidate-object" => CoOperation::InvalidateObject,
                "invalidate-service" => CoOperation::InvalidateService,
                other => {
                    return Err(WbxmlError::UnknownElement {
                        parent: "co".into(),
                        element: other.into(),
                    });
                }
            };
            let p = path(&e.name);
            if let Some(c) = e.elements().next() {
                return Err(WbxmlError::UnknownElement {
                    parent: p.into(),
                    element: c.name.clone(),
                });
            }
            super::xml_no_text(e, p)?;
            let attrs = xml_attrs(e, p, &["uri"])?;
            let uri =
                attrs
                    .first()
                    .map(|(_, v)| v.to_string())
                    .ok_or(WbxmlError::MissingAttribute {
                        element: p.into(),
                        attribute: "uri",
                        why: "",
                    })?;
            operations.push(make(uri));
        }
        let co = CacheOperation { operations };
        co.validate()?;
        Ok(co)
    }

    pub(crate) fn to_tree(&self) -> XElement {
        XElement {
            name: "co".into(),
            attrs: Vec::new(),
            children: self
                .operations
                .iter()
                .map(|op| {
                    let (name, _, uri) = op.element();
                    XNode::Element(XElement {
                        name: name.into(),
                        attrs: vec![("uri".into(), uri.to_string())],
                        children: Vec::new(),
                    })
                })
                .collect(),
        }
    }

    pub fn to_xml(&self) -> Result<String, WbxmlError> {
        self.validate()?;
        Ok(super::write_xml(&CO, &self.to_tree()))
    }

    pub fn to_wbxml(&self) -> Result<Vec<u8>, WbxmlError> {
        self.validate()?;
        let mut w = Writer::new(0x02, CO.public_id, super::token::CHARSET_UTF8);
        w.tag(0, 0x05, false, true); // <co>
        for op in &self.operations {
            let (name, code, uri) = op.element();
            w.tag(0, code, true, false);
            CO.write_attr(&mut w, path(name), "uri", uri, true)?;
            w.end();
        }
        w.end(); // </co>
        Ok(w.finish())
    }

    pub fn from_wbxml(bytes: &[u8]) -> Result<Self, WbxmlError> {
        match super::decompile(bytes)? {
            super::Document::Co(co) => Ok(co),
            _ => Err(WbxmlError::WrongRoot {
                expected: "co",
                found: "another document type".into(),
            }),
        }
    }
}

pub(crate) fn from_raw(root: &Element) -> Result<CacheOperation, WbxmlError> {
    raw_root(root, &CO)?;
    if !root.attributes.is_empty() {
        return Err(WbxmlError::UnknownAttribute {
            element: "co".into(),
            attribute: "(any)".into(),
        });
    }
    let (text, kids) = raw_content(root)?;
    if !text.trim().is_empty() {
        return Err(WbxmlError::UnexpectedText {
            element: "co".into(),
        });
    }
    let mut operations = Vec::new();
    for e in kids {
        let name = raw_name(&CO, e, "co")?;
        let make: fn(String) -> CoOperation = match name {
            "invalidate-object" => CoOperation::InvalidateObject,
            "invalidate-service" => CoOperation::InvalidateService,
            other => {
                return Err(WbxmlError::UnknownElement {
                    parent: "co".into(),
                    element: other.into(),
                });
            }
        };
        let p = path(name);
        let (text, inner) = raw_content(e)?;
        if let Some(k) = inner.first() {
            return Err(WbxmlError::UnknownElement {
                parent: p.into(),
                element: raw_name(&CO, k, p)?.into(),
            });
        }
        if !text.trim().is_empty() {
            return Err(WbxmlError::UnexpectedText { element: p.into() });
        }
        let mut uri = None;
        for (start, a) in raw_attrs(&CO, e, p)? {
            uri = Some(CO.read_value(start.prefix, &a.value, p, a.offset)?);
        }
        operations.push(make(uri.ok_or(WbxmlError::MissingAttribute {
            element: p.into(),
            attribute: "uri",
            why: "",
        })?));
    }
    let co = CacheOperation { operations };
    co.validate()?;
    Ok(co)
}
