//! Service Indication (WAP-167): `text/vnd.wap.si` ⇄ `application/vnd.wap.sic`.
//!
//! Encoder choices (digest §4.1–4.4): WBXML version 1.2, public id `05`, charset UTF-8 (`6A`), an
//! empty string table, all text as STR_I, dates as OPAQUE BCD (WAP-167 §8.2.2), href with the
//! longest prefix token and the `.com/`-style value tokens, which (like libwbxml 0.11.8) are also
//! substituted inside si-id and class values. Attributes are written in the order
//! href, si-id, action, created, si-expires, which reproduces the Kannel user-guide vector.

use super::tables::SI;
use super::token::{Element, ValuePart, Writer};
use super::xml::{XElement, XNode};
use super::{WbxmlError, no_nul, raw_attrs, raw_content, raw_name, raw_root, xml_attrs};
use crate::util::UtcTime;

const INDICATION: &str = "si/indication";
const INFO: &str = "si/info";
const ITEM: &str = "si/info/item";

/// `indication@action` (WAP-167 §5.2.1). Absent means signal-medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiAction {
    SignalNone,
    SignalLow,
    SignalMedium,
    SignalHigh,
    Delete,
}

const ACTIONS: &str = "signal-none, signal-low, signal-medium, signal-high, delete";

impl SiAction {
    pub const ALL: [SiAction; 5] = [
        SiAction::SignalNone,
        SiAction::SignalLow,
        SiAction::SignalMedium,
        SiAction::SignalHigh,
        SiAction::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SiAction::SignalNone => "signal-none",
            SiAction::SignalLow => "signal-low",
            SiAction::SignalMedium => "signal-medium",
            SiAction::SignalHigh => "signal-high",
            SiAction::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One `<info><item class="...">text</item>` entry (WAP-167 §5.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InfoItem {
    pub class: String,
    pub text: String,
}

/// A Service Indication. Empty `text` means no text; empty `info` means no `<info>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ServiceIndication {
    pub href: Option<String>,
    pub si_id: Option<String>,
    pub action: Option<SiAction>,
    pub created: Option<UtcTime>,
    pub si_expires: Option<UtcTime>,
    pub text: String,
    pub info: Vec<InfoItem>,
}

/// Compiles `text/vnd.wap.si` into `application/vnd.wap.sic`.
pub fn compile(xml: &[u8]) -> Result<Vec<u8>, WbxmlError> {
    ServiceIndication::from_xml(xml)?.to_wbxml()
}

/// Packs a date as WAP-167 §8.2.2 says: the 14 digits YYYYMMDDhhmmss as BCD, two a octet,
/// trailing zero octets dropped.
pub fn encode_date(t: UtcTime) -> Option<Vec<u8>> {
    let digits = t.format_digits14();
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None; // a year outside 0000–9999
    }
    let d = digits.as_bytes();
    let mut out: Vec<u8> = d
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p.get(1).copied().unwrap_or(b'0') - b'0'))
        .collect();
    while out.last() == Some(&0) {
        out.pop();
    }
    Some(out)
}

/// Unpacks an OPAQUE date (1–7 BCD octets, missing octets are zero).
pub fn decode_date(octets: &[u8]) -> Result<UtcTime, String> {
    if octets.is_empty() || octets.len() > 7 {
        return Err(format!("{} octets, expected 1 to 7", octets.len()));
    }
    let mut digits = String::with_capacity(14);
    for &o in octets {
        for nibble in [o >> 4, o & 0x0F] {
            if nibble > 9 {
                return Err(format!("octet 0x{o:02X} is not BCD"));
            }
            digits.push(char::from(b'0' + nibble));
        }
    }
    while digits.len() < 14 {
        digits.push('0');
    }
    UtcTime::parse_digits14(&digits).map_err(|e| e.to_string())
}

fn parse_text_date(element: &str, attribute: &'static str, v: &str) -> Result<UtcTime, WbxmlError> {
    UtcTime::parse_pap(v).map_err(|e| WbxmlError::BadDate {
        element: element.to_string(),
        attribute,
        value: v.to_string(),
        reason: e.to_string(),
    })
}

impl ServiceIndication {
    /// The rules of WAP-167 §5.2 that the DTD cannot say, plus what WBXML can carry.
    pub fn validate(&self) -> Result<(), WbxmlError> {
        for (s, what) in [
            (self.href.as_deref(), "href"),
            (self.si_id.as_deref(), "si-id"),
            (Some(self.text.as_str()), "text"),
        ] {
            if let Some(s) = s {
                no_nul(s, INDICATION, what)?;
            }
        }
        for item in &self.info {
            no_nul(&item.class, ITEM, "class")?;
            no_nul(&item.text, ITEM, "text")?;
        }
        for (t, attribute) in [(self.created, "created"), (self.si_expires, "si-expires")] {
            if let Some(t) = t
                && encode_date(t).is_none()
            {
                return Err(WbxmlError::BadDate {
                    element: INDICATION.into(),
                    attribute,
                    value: t.format_pap(),
                    reason: "the year is outside 0000-9999".into(),
                });
            }
        }
        if self.action == Some(SiAction::Delete) {
            // §5.2.1: delete removes the SI with the same si-id.
            if self.si_id.is_none() {
                return Err(WbxmlError::MissingAttribute {
                    element: INDICATION.into(),
                    attribute: "si-id",
                    why: " when action is delete",
                });
            }
        } else if self.href.is_none() && self.text.trim().is_empty() {
            // White space alone is no text: the text form drops it as layout, and handsets
            // drop an SI with neither href nor text (digest §7 item 12).
            return Err(WbxmlError::MissingAttribute {
                element: INDICATION.into(),
                attribute: "href",
                why: " when the indication has no text",
            });
        }
        Ok(())
    }

    pub fn from_xml(xml: &[u8]) -> Result<Self, WbxmlError> {
        Self::from_tree(&super::xml::parse(xml)?)
    }

    pub(crate) fn from_tree(root: &XElement) -> Result<Self, WbxmlError> {
        super::xml_root(root, &SI)?;
        xml_attrs(root, "si", &[])?;
        super::xml_no_text(root, "si")?;
        let mut si = ServiceIndication::default();
        let mut seen_indication = false;
        let mut seen_info = false;
        for e in root.elements() {
            match e.name.as_str() {
                "indication" if !seen_indication && !seen_info => {
                    seen_indication = true;
                    let attrs = xml_attrs(
                        e,
                        INDICATION,
                        &["href", "si-id", "action", "created", "si-expires"],
                    )?;
                    for (k, v) in attrs {
                        match k {
                            "href" => si.href = Some(v.to_string()),
                            "si-id" => si.si_id = Some(v.to_string()),
                            "action" => {
                                si.action = Some(SiAction::parse(v).ok_or_else(|| {
                                    WbxmlError::BadValue {
                                        element: INDICATION.into(),
                                        attribute: "action",
                                        value: v.to_string(),
                                        expected: ACTIONS,
                                    }
                                })?)
                            }
                            "created" => {
                                si.created = Some(parse_text_date(INDICATION, "created", v)?)
                            }
                            _ => {
                                si.si_expires = Some(parse_text_date(INDICATION, "si-expires", v)?)
                            }
                        }
                    }
                    si.text = super::xml_leaf_text(e, INDICATION)?;
                }
                "info" if seen_indication && !seen_info => {
                    seen_info = true;
                    xml_attrs(e, INFO, &[])?;
                    super::xml_no_text(e, INFO)?;
                    for item in e.elements() {
                        if item.name != "item" {
                            return Err(WbxmlError::UnknownElement {
                                parent: INFO.into(),
                                element: item.name.clone(),
                            });
                        }
                        let attrs = xml_attrs(item, ITEM, &["class"])?;
                        let class = attrs.first().map(|(_, v)| v.to_string()).ok_or(
                            WbxmlError::MissingAttribute {
                                element: ITEM.into(),
                                attribute: "class",
                                why: "",
                            },
                        )?;
                        let text = super::xml_leaf_text(item, ITEM)?;
                        si.info.push(InfoItem { class, text });
                    }
                    if si.info.is_empty() {
                        return Err(WbxmlError::MissingElement {
                            element: INFO.into(),
                            child: "item",
                        });
                    }
                }
                other => {
                    return Err(WbxmlError::UnknownElement {
                        parent: "si".into(),
                        element: other.to_string(),
                    });
                }
            }
        }
        if !seen_indication {
            return Err(WbxmlError::MissingElement {
                element: "si".into(),
                child: "indication",
            });
        }
        si.validate()?;
        Ok(si)
    }

    pub(crate) fn to_tree(&self) -> XElement {
        let mut attrs = Vec::new();
        if let Some(h) = &self.href {
            attrs.push(("href".to_string(), h.clone()));
        }
        if let Some(s) = &self.si_id {
            attrs.push(("si-id".to_string(), s.clone()));
        }
        if let Some(a) = self.action {
            attrs.push(("action".to_string(), a.as_str().to_string()));
        }
        if let Some(t) = self.created {
            attrs.push(("created".to_string(), t.format_pap()));
        }
        if let Some(t) = self.si_expires {
            attrs.push(("si-expires".to_string(), t.format_pap()));
        }
        let text = |t: &str| {
            if t.is_empty() {
                Vec::new()
            } else {
                vec![XNode::Text(t.to_string())]
            }
        };
        let mut children = vec![XNode::Element(XElement {
            name: "indication".into(),
            attrs,
            children: text(&self.text),
        })];
        if !self.info.is_empty() {
            children.push(XNode::Element(XElement {
                name: "info".into(),
                attrs: Vec::new(),
                children: self
                    .info
                    .iter()
                    .map(|i| {
                        XNode::Element(XElement {
                            name: "item".into(),
                            attrs: vec![("class".into(), i.class.clone())],
                            children: text(&i.text),
                        })
                    })
                    .collect(),
            }));
        }
        XElement {
            name: "si".into(),
            attrs: Vec::new(),
            children,
        }
    }

    /// The text form with the SI 1.0 DOCTYPE.
    pub fn to_xml(&self) -> Result<String, WbxmlError> {
        self.validate()?;
        Ok(super::write_xml(&SI, &self.to_tree()))
    }

    pub fn to_wbxml(&self) -> Result<Vec<u8>, WbxmlError> {
        self.validate()?;
        let mut w = Writer::new(0x02, SI.public_id, super::token::CHARSET_UTF8);
        w.tag(0, 0x05, false, true); // <si>
        // The attribute flag only when there are attributes: libwbxml rejects an empty list.
        let has_attrs = self.href.is_some()
            || self.si_id.is_some()
            || self.action.is_some()
            || self.created.is_some()
            || self.si_expires.is_some();
        w.tag(0, 0x06, has_attrs, !self.text.is_empty()); // <indication
        if let Some(h) = &self.href {
            SI.write_attr(&mut w, INDICATION, "href", h, true)?;
        }
        if let Some(s) = &self.si_id {
            SI.write_attr(&mut w, INDICATION, "si-id", s, true)?;
        }
        if let Some(a) = self.action {
            SI.write_attr(&mut w, INDICATION, "action", a.as_str(), false)?;
        }
        for (t, name, code) in [
            (self.created, "created", 0x0A),
            (self.si_expires, "si-expires", 0x10),
        ] {
            if let Some(t) = t {
                let octets = encode_date(t).ok_or_else(|| WbxmlError::BadDate {
                    element: INDICATION.into(),
                    attribute: name,
                    value: t.format_pap(),
                    reason: "the year is outside 0000-9999".into(),
                })?;
                w.attr_token(0, code);
                w.opaque(&octets);
            }
        }
        if has_attrs {
            w.end(); // attribute list
        }
        if !self.text.is_empty() {
            w.str_i(&self.text);
            w.end(); // </indication>
        }
        if !self.info.is_empty() {
            w.tag(0, 0x07, false, true); // <info>
            for item in &self.info {
                w.tag(0, 0x08, true, !item.text.is_empty());
                SI.write_attr(&mut w, ITEM, "class", &item.class, true)?;
                w.end();
                if !item.text.is_empty() {
                    w.str_i(&item.text);
                    w.end();
                }
            }
            w.end(); // </info>
        }
        w.end(); // </si>
        Ok(w.finish())
    }

    pub fn from_wbxml(bytes: &[u8]) -> Result<Self, WbxmlError> {
        match super::decompile(bytes)? {
            super::Document::Si(si) => Ok(si),
            _ => Err(WbxmlError::WrongRoot {
                expected: "si",
                found: "another document type".into(),
            }),
        }
    }
}

fn date_attr(
    attribute: &'static str,
    parts: &[ValuePart],
    offset: usize,
) -> Result<UtcTime, WbxmlError> {
    match parts {
        [ValuePart::Opaque(o)] => decode_date(o).map_err(|reason| WbxmlError::BadDate {
            element: INDICATION.into(),
            attribute,
            value: crate::decode::hex(o),
            reason,
        }),
        // Some encoders send the date as a string.
        _ => {
            let v = SI.read_value("", parts, INDICATION, offset)?;
            parse_text_date(INDICATION, attribute, &v)
        }
    }
}

pub(crate) fn from_raw(root: &Element) -> Result<ServiceIndication, WbxmlError> {
    raw_root(root, &SI)?;
    if let Some(a) = root.attributes.first() {
        return Err(WbxmlError::UnknownAttribute {
            element: "si".into(),
            attribute: format!("at offset {}", a.offset),
        });
    }
    let (text, children) = raw_content(root)?;
    if !text.trim().is_empty() {
        return Err(WbxmlError::UnexpectedText {
            element: "si".into(),
        });
    }
    let mut si = ServiceIndication::default();
    let mut seen_indication = false;
    let mut seen_info = false;
    for e in children {
        match raw_name(&SI, e, "si")? {
            "indication" if !seen_indication && !seen_info => {
                seen_indication = true;
                for (start, a) in raw_attrs(&SI, e, INDICATION)? {
                    match start.name {
                        "href" => {
                            si.href =
                                Some(SI.read_value(start.prefix, &a.value, INDICATION, a.offset)?)
                        }
                        "si-id" => {
                            si.si_id =
                                Some(SI.read_value(start.prefix, &a.value, INDICATION, a.offset)?)
                        }
                        "action" => {
                            let rest = SI.read_value("", &a.value, INDICATION, a.offset)?;
                            if !rest.is_empty() {
                                return Err(WbxmlError::BadValue {
                                    element: INDICATION.into(),
                                    attribute: "action",
                                    value: format!("{}{rest}", start.prefix),
                                    expected: ACTIONS,
                                });
                            }
                            si.action = SiAction::parse(start.prefix);
                        }
                        "created" => si.created = Some(date_attr("created", &a.value, a.offset)?),
                        "si-expires" => {
                            si.si_expires = Some(date_attr("si-expires", &a.value, a.offset)?)
                        }
                        other => {
                            return Err(WbxmlError::UnknownAttribute {
                                element: INDICATION.into(),
                                attribute: other.into(),
                            });
                        }
                    }
                }
                let (text, kids) = raw_content(e)?;
                if let Some(k) = kids.first() {
                    return Err(WbxmlError::UnknownElement {
                        parent: INDICATION.into(),
                        element: raw_name(&SI, k, INDICATION)?.into(),
                    });
                }
                si.text = text;
            }
            "info" if seen_indication && !seen_info => {
                seen_info = true;
                if !e.attributes.is_empty() {
                    return Err(WbxmlError::UnknownAttribute {
                        element: INFO.into(),
                        attribute: "(any)".into(),
                    });
                }
                let (text, items) = raw_content(e)?;
                if !text.trim().is_empty() {
                    return Err(WbxmlError::UnexpectedText {
                        element: INFO.into(),
                    });
                }
                for item in items {
                    let name = raw_name(&SI, item, INFO)?;
                    if name != "item" {
                        return Err(WbxmlError::UnknownElement {
                            parent: INFO.into(),
                            element: name.into(),
                        });
                    }
                    let mut class = None;
                    for (start, a) in raw_attrs(&SI, item, ITEM)? {
                        if start.name != "class" {
                            return Err(WbxmlError::UnknownAttribute {
                                element: ITEM.into(),
                                attribute: start.name.into(),
                            });
                        }
                        class = Some(SI.read_value(start.prefix, &a.value, ITEM, a.offset)?);
                    }
                    let class = class.ok_or(WbxmlError::MissingAttribute {
                        element: ITEM.into(),
                        attribute: "class",
                        why: "",
                    })?;
                    let (text, kids) = raw_content(item)?;
                    if let Some(k) = kids.first() {
                        return Err(WbxmlError::UnknownElement {
                            parent: ITEM.into(),
                            element: raw_name(&SI, k, ITEM)?.into(),
                        });
                    }
                    si.info.push(InfoItem { class, text });
                }
                if si.info.is_empty() {
                    return Err(WbxmlError::MissingElement {
                        element: INFO.into(),
                        child: "item",
                    });
                }
            }
            other => {
                return Err(WbxmlError::UnknownElement {
                    parent: "si".into(),
                    element: other.into(),
                });
            }
        }
    }
    if !seen_indication {
        return Err(WbxmlError::MissingElement {
            element: "si".into(),
            child: "indication",
        });
    }
    si.validate()?;
    Ok(si)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_pack_as_bcd_with_trailing_zero_octets_dropped() {
        let t = UtcTime::parse_pap("1999-06-25T15:23:15Z").unwrap();
        assert_eq!(
            encode_date(t).unwrap(),
            [0x19, 0x99, 0x06, 0x25, 0x15, 0x23, 0x15]
        );
        let t = UtcTime::parse_pap("2002-06-30T00:00:00Z").unwrap();
        assert_eq!(encode_date(t).unwrap(), [0x20, 0x02, 0x06, 0x30]);
        assert_eq!(decode_date(&[0x20, 0x02, 0x06, 0x30]).unwrap(), t);
        assert!(decode_date(&[0x20, 0x02]).is_err()); // month 00
        assert!(decode_date(&[0x2A]).is_err());
        assert!(decode_date(&[]).is_err());
    }

    #[test]
    fn validation_names_element_and_attribute() {
        let e = compile(br#"<si><indication href="http://a" action="foo"/></si>"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "si/indication@action: \"foo\" is not one of signal-none, signal-low, signal-medium, signal-high, delete"
        );
        let e = compile(br#"<si><indication action="delete">x</indication></si>"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "si/indication@si-id is required when action is delete"
        );
        let e = compile(br#"<si><indication si-id="1"/></si>"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "si/indication@href is required when the indication has no text"
        );
        assert!(compile(br#"<si><indication action="delete" si-id="1"/></si>"#).is_ok());
        let e = compile(br#"<si><indication href="x" colour="red"/></si>"#).unwrap_err();
        assert_eq!(e.to_string(), "si/indication: unknown attribute `colour`");
        let e = compile(br#"<sl href="x"/>"#).unwrap_err();
        assert_eq!(e.to_string(), "root element is <sl>, expected <si>");
    }
}
