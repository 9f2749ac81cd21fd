//! Service Loading (WAP-168): `text/vnd.wap.sl` ⇄ `application/vnd.wap.slc`.
//!
//! Encoder choices as for SI: version 1.2, public id `06`, UTF-8, empty string table; href with
//! the longest prefix token (`0A` http://www. before `09` http://, unlike Kannel) and the
//! `.com/`-style value tokens; attributes in the order href, action (digest §4.4).

use super::tables::SL;
use super::token::{Element, Writer};
use super::xml::XElement;
use super::{WbxmlError, no_nul, raw_attrs, raw_content, raw_root, xml_attrs};

/// `sl@action` (WAP-168 §5.2). Absent means execute-low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlAction {
    ExecuteLow,
    ExecuteHigh,
    Cache,
}

const ACTIONS: &str = "execute-low, execute-high, cache";

impl SlAction {
    pub const ALL: [SlAction; 3] = [SlAction::ExecuteLow, SlAction::ExecuteHigh, SlAction::Cache];

    pub fn as_str(self) -> &'static str {
        match self {
            SlAction::ExecuteLow => "execute-low",
            SlAction::ExecuteHigh => "execute-high",
            SlAction::Cache => "cache",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A Service Loading document: `<sl href="..." action="..."/>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceLoading {
    pub href: String,
    pub action: Option<SlAction>,
}

/// Compiles `text/vnd.wap.sl` into `application/vnd.wap.slc`.
pub fn compile(xml: &[u8]) -> Result<Vec<u8>, WbxmlError> {
    ServiceLoading::from_xml(xml)?.to_wbxml()
}

impl ServiceLoading {
    pub fn validate(&self) -> Result<(), WbxmlError> {
        no_nul(&self.href, "sl", "href")
    }

    pub fn from_xml(xml: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&super::xml::parse(xml)?)
    }

    pub(crate) fn from_tree(root: &XElement) -> Result<Self, WbxmlError> {
        super::xml_root(root, &SL)?;
        if let Some(c) = root.elements().next() {
            return Err(WbxmlError::UnknownElement {
                parent: "sl".into(),
                element: c.name.clone(),
            });
        }
        super::xml_no_text(root, "sl")?;
        let mut href = None;
        let mut action = None;
        for (k, v) in xml_attrs(root, "sl", &["href", "action"])? {
            if k == "href" {
                href = Some(v.to_string());
            } else {
                action = Some(SlAction::parse(v).ok_or_else(|| WbxmlError::BadValue {
                    element: "sl".into(),
                    attribute: "action",
                    value: v.to_string(),
                    expected: ACTIONS,
                })?);
            }
        }
        let sl = ServiceLoading {
            href: href.ok_or(WbxmlError::MissingAttribute {
                element: "sl".into(),
                attribute: "href",
                why: "",
            })?,
            action,
        };
        sl.validate()?;
        Ok(sl)
    }

    pub(crate) fn to_tree(&self) -> XElement {
        let mut attrs = vec![("href".to_string(), self.href.clone())];
        if let Some(a) = self.action {
            attrs.push(("action".into(), a.as_str().into()));
        }
        XElement {
            name: "sl".into(),
            attrs,
            children: Vec::new(),
        }
    }

    pub fn to_xml(&self) -> Result<String, WbxmlError> {
        self.validate()?;
        Ok(super::write_xml(&SL, &self.to_tree()))
    }

    pub fn to_wbxml(&self) -> Result<Vec<u8>, WbxmlError> {
        self.validate()?;
        let mut w = Writer::new(0x02, SL.public_id, super::token::CHARSET_UTF8);
        w.tag(0, 0x05, true, false); // <sl ...>, no content (WAP-168 §9.3)
        SL.write_attr(&mut w, "sl", "href", &self.href, true)?;
        if let Some(a) = self.action {
            SL.write_attr(&mut w, "sl", "action", a.as_str(), false)?;
        }
        w.end();
        Ok(w.finish())
    }

    pub fn from_wbxml(bytes: &[u8]) -> Result<Self, WbxmlError> {
        match super::decompile(bytes)? {
            super::Document::Sl(sl) => Ok(sl),
            _ => Err(WbxmlError::WrongRoot {
                expected: "sl",
                found: "another document type".into(),
            }),
        }
    }
}

pub(crate) fn from_raw(root: &Element) -> Result<ServiceLoading, WbxmlError> {
    raw_root(root, &SL)?;
    let (text, kids) = raw_content(root)?;
    if let Some(k) = kids.first() {
        return Err(WbxmlError::UnknownElement {
            parent: "sl".into(),
            element: super::raw_name(&SL, k, "sl")?.into(),
        });
    }
    if !text.trim().is_empty() {
        return Err(WbxmlError::UnexpectedText {
            element: "sl".into(),
        });
    }
    let mut href = None;
    let mut action = None;
    for (start, a) in raw_attrs(&SL, root, "sl")? {
        if start.name == "href" {
            href = Some(SL.read_value(start.prefix, &a.value, "sl", a.offset)?);
        } else {
            let rest = SL.read_value("", &a.value, "sl", a.offset)?;
            if !rest.is_empty() {
                return Err(WbxmlError::BadValue {
                    element: "sl".into(),
                    attribute: "action",
                    value: format!("{}{rest}", start.prefix),
                    expected: ACTIONS,
                });
            }
            action = SlAction::parse(start.prefix);
        }
    }
    let sl = ServiceLoading {
        href: href.ok_or(WbxmlError::MissingAttribute {
            element: "sl".into(),
            attribute: "href",
            why: "",
        })?,
        action,
    };
    sl.validate()?;
    Ok(sl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn href_is_required_and_action_checked() {
        let e = compile(b"<sl action='cache'/>").unwrap_err();
        assert_eq!(e.to_string(), "sl@href is required");
        let e = compile(b"<sl href='http://a' action='run'/>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "sl@action: \"run\" is not one of execute-low, execute-high, cache"
        );
    }
}
