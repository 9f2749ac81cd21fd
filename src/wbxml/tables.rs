//! Code-page 0 token tables of SI (WAP-167 §8.3), SL (WAP-168 §9.3) and CO (WAP-175 §7.3),
//! and the attribute-value encoding they share: the longest attribute-start prefix, then the
//! `.com/ .edu/ .net/ .org/` attribute-value tokens inside the rest (digest §4.2).

use super::WbxmlError;
use super::token::{Name, ValuePart, Writer};

/// An attribute-start token: the attribute name and the start of its value it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrStart {
    pub code: u8,
    pub name: &'static str,
    pub prefix: &'static str,
}

const fn a(code: u8, name: &'static str, prefix: &'static str) -> AttrStart {
    AttrStart { code, name, prefix }
}

/// One document type's tokens.
#[derive(Debug)]
pub struct Table {
    /// The root element name, e.g. `si`.
    pub root: &'static str,
    /// The well-known WBXML public id (WAP-192 §7.2.1).
    pub public_id: u32,
    /// The formal public identifier of the DTD.
    pub fpi: &'static str,
    /// The DTD's system identifier, written in the DOCTYPE.
    pub dtd: &'static str,
    pub tags: &'static [(u8, &'static str)],
    pub attr_starts: &'static [AttrStart],
    pub attr_values: &'static [(u8, &'static str)],
}

/// Attribute-value tokens, the same in SI, SL and CO.
const URL_VALUES: &[(u8, &str)] = &[
    (0x85, ".com/"),
    (0x86, ".edu/"),
    (0x87, ".net/"),
    (0x88, ".org/"),
];

/// WAP-167 §8.3.
pub static SI: Table = Table {
    root: "si",
    public_id: 0x05,
    fpi: "-//WAPFORUM//DTD SI 1.0//EN",
    dtd: "http://www.wapforum.org/DTD/si.dtd",
    tags: &[
        (0x05, "si"),
        (0x06, "indication"),
        (0x07, "info"),
        (0x08, "item"),
    ],
    attr_starts: &[
        a(0x05, "action", "signal-none"),
        a(0x06, "action", "signal-low"),
        a(0x07, "action", "signal-medium"),
        a(0x08, "action", "signal-high"),
        a(0x09, "action", "delete"),
        a(0x0A, "created", ""),
        a(0x0B, "href", ""),
        a(0x0C, "href", "http://"),
        a(0x0D, "href", "http://www."),
        a(0x0E, "href", "https://"),
        a(0x0F, "href", "https://www."),
        a(0x10, "si-expires", ""),
        a(0x11, "si-id", ""),
        a(0x12, "class", ""),
    ],
    attr_values: URL_VALUES,
};

/// WAP-168 §9.3.
pub static SL: Table = Table {
    root: "sl",
    public_id: 0x06,
    fpi: "-//WAPFORUM//DTD SL 1.0//EN",
    dtd: "http://www.wapforum.org/DTD/sl.dtd",
    tags: &[(0x05, "sl")],
    attr_starts: &[
        a(0x05, "action", "execute-low"),
        a(0x06, "action", "execute-high"),
        a(0x07, "action", "cache"),
        a(0x08, "href", ""),
        a(0x09, "href", "http://"),
        a(0x0A, "href", "http://www."),
        a(0x0B, "href", "https://"),
        a(0x0C, "href", "https://www."),
    ],
    attr_values: URL_VALUES,
};

/// WAP-175 (Cache Operation) §7.3.
pub static CO: Table = Table {
    root: "co",
    public_id: 0x07,
    fpi: "-//WAPFORUM//DTD CO 1.0//EN",
    dtd: "http://www.wapforum.org/DTD/co.dtd",
    tags: &[
        (0x05, "co"),
        (0x06, "invalidate-object"),
        (0x07, "invalidate-service"),
    ],
    attr_starts: &[
        a(0x05, "uri", ""),
        a(0x06, "uri", "http://"),
        a(0x07, "uri", "http://www."),
        a(0x08, "uri", "https://"),
        a(0x09, "uri", "https://www."),
    ],
    attr_values: URL_VALUES,
};

impl Table {
    pub fn tag_code(&self, name: &str) -> Option<u8> {
        self.tags.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    pub fn tag_name(&self, code: u8) -> Option<&'static str> {
        self.tags.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    }

    pub fn attr_start(&self, code: u8) -> Option<&'static AttrStart> {
        self.attr_starts.iter().find(|s| s.code == code)
    }

    pub fn attr_value(&self, code: u8) -> Option<&'static str> {
        self.attr_values
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| *v)
    }

    /// The name of a decoded element, if it is one of this table's page-0 tags.
    pub fn element_name(&self, name: &Name) -> Option<&'static str> {
        match name {
            Name::Token { page: 0, code } => self.tag_name(*code & 0x3F),
            _ => None,
        }
    }

    /// The start token for `name` whose prefix is the longest one `value` begins with
    /// (libwbxml's choice; Kannel takes the first match and never emits `http://www.`).
    pub fn longest_start(&self, name: &str, value: &str) -> Option<&'static AttrStart> {
        self.attr_starts
            .iter()
            .filter(|s| s.name == name && value.starts_with(s.prefix))
            .max_by_key(|s| s.prefix.len())
    }

    /// Writes one attribute: the start token, then the rest of the value, with the
    /// attribute-value tokens substituted when `url_tokens` is set (every string value: libwbxml
    /// 0.11.8 substitutes them in si-id too; only action values, wholly in their start token,
    /// are written without).
    pub fn write_attr(
        &self,
        w: &mut Writer,
        element: &'static str,
        name: &'static str,
        value: &str,
        url_tokens: bool,
    ) -> Result<(), WbxmlError> {
        let start = self
            .longest_start(name, value)
            .ok_or_else(|| WbxmlError::BadValue {
                element: element.into(),
                attribute: name,
                value: value.into(),
                expected: "a value this document type can encode",
            })?;
        w.attr_token(0, start.code);
        let mut rest = value.get(start.prefix.len()..).unwrap_or("");
        if !url_tokens {
            if !rest.is_empty() {
                w.str_i(rest);
            }
            return Ok(());
        }
        while !rest.is_empty() {
            // The earliest value token in the rest.
            let next = self
                .attr_values
                .iter()
                .filter_map(|(code, text)| rest.find(text).map(|at| (at, *code, text.len())))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, code, len)) => {
                    if at > 0 {
                        w.str_i(&rest[..at]);
                    }
                    w.attr_token(0, code);
                    rest = &rest[at + len..];
                }
                None => {
                    w.str_i(rest);
                    rest = "";
                }
            }
        }
        Ok(())
    }

    /// Joins a decoded attribute value: start prefix + text, tokens and entities.
    pub fn read_value(
        &self,
        prefix: &str,
        parts: &[ValuePart],
        element: &'static str,
        offset: usize,
    ) -> Result<String, WbxmlError> {
        let mut s = String::from(prefix);
        for p in parts {
            match p {
                ValuePart::Text(t) => s.push_str(t),
                ValuePart::Token { page: 0, code } => match self.attr_value(*code) {
                    Some(v) => s.push_str(v),
                    None => {
                        return Err(WbxmlError::UnknownToken {
                            offset,
                            element: element.into(),
                            kind: "attribute-value",
                            code: *code,
                        });
                    }
                },
                ValuePart::Token { code, .. } => {
                    return Err(WbxmlError::UnknownToken {
                        offset,
                        element: element.into(),
                        kind: "attribute-value",
                        code: *code,
                    });
                }
                ValuePart::Entity(c) => s.push(entity_char(*c, offset)?),
                ValuePart::Opaque(_) | ValuePart::Extension(_) => {
                    return Err(WbxmlError::Unsupported {
                        offset,
                        what: match p {
                            ValuePart::Opaque(_) => "OPAQUE in this attribute value",
                            _ => "extension token in an attribute value",
                        },
                    });
                }
            }
        }
        Ok(s)
    }
}

/// The character an ENTITY token stands for (WAP-192 §5.8.4.3: a UCS-4 code point).
pub fn entity_char(code: u32, offset: usize) -> Result<char, WbxmlError> {
    match char::from_u32(code) {
        Some(c) if c != '\0' => Ok(c),
        _ => Err(WbxmlError::BadEntity { offset, code }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            SI.longest_start("href", "http://www.a.com/").unwrap().code,
            0x0D
        );
        assert_eq!(SI.longest_start("href", "http://a").unwrap().code, 0x0C);
        assert_eq!(SI.longest_start("href", "https://www.").unwrap().code, 0x0F);
        assert_eq!(SI.longest_start("href", "ftp://x").unwrap().code, 0x0B);
        assert_eq!(
            SL.longest_start("href", "https://www.x").unwrap().code,
            0x0C
        );
        assert_eq!(CO.longest_start("uri", "http://www.x").unwrap().code, 0x07);
        assert_eq!(SL.longest_start("action", "cache").unwrap().code, 0x07);
        assert!(SL.longest_start("action", "run").is_none());
    }

    #[test]
    fn url_value_tokens_are_substituted_everywhere_in_the_rest() {
        let mut w = Writer::new(2, 6, 0x6A);
        SL.write_attr(&mut w, "sl", "href", "http://www.a.org/b.com/c.net", true)
            .unwrap();
        let b = w.finish();
        assert_eq!(
            &b[4..],
            [
                0x0A, 0x03, b'a', 0x00, 0x88, 0x03, b'b', 0x00, 0x85, 0x03, b'c', b'.', b'n', b'e',
                b't', 0x00
            ]
        );
    }
}
