//! WSP (WAP-230-WSP): primitives, registries, content types, headers, the connectionless Push PDU,
//! the multipart format, and the `ppgd decode` dissector for all of them.

pub mod content_type;
pub mod header;
pub mod pdu;
pub mod primitives;
pub mod tables;

pub use content_type::{ContentType, Media, MimeError, ParamName, ParamValue, Parameter};
pub use header::{AppId, Header, PUSH_FLAG_AUTHENTICATED, PUSH_FLAG_LAST, PUSH_FLAG_TRUSTED};
pub use pdu::{MultipartEntry, PduType, PushPdu, decode_multipart, encode_multipart, encode_push};
pub use primitives::{EncodedString, Reader, Version};

use crate::decode::{Dissection, hex};

/// What is wrong with WSP input, and at which absolute offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WspError {
    #[error("{what}: input ends at offset {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("{what} at offset {offset}: length {len} runs past the end ({available} octets left)")]
    PastEnd {
        what: &'static str,
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("uintvar at offset {offset} is longer than 5 octets")]
    UintvarTooLong { offset: usize },
    #[error("uintvar at offset {offset} exceeds 32 bits")]
    UintvarOverflow { offset: usize },
    #[error("uintvar at offset {offset} is overlong (leading 0x80)")]
    UintvarOverlong { offset: usize },
    #[error("Long-integer at offset {offset} has invalid length {len} (1-30)")]
    LongIntegerLength { offset: usize, len: u8 },
    #[error("Long-integer at offset {offset} has {len} octets, more than fit 64 bits")]
    LongIntegerTooBig { offset: usize, len: u8 },
    #[error("{what} at offset {offset}: unexpected octet 0x{octet:02X}")]
    UnexpectedOctet {
        what: &'static str,
        octet: u8,
        offset: usize,
    },
    #[error("{what} at offset {offset} has no NUL terminator")]
    Unterminated { what: &'static str, offset: usize },
    #[error("{what} at offset {offset} is not UTF-8")]
    InvalidUtf8 { what: &'static str, offset: usize },
    #[error("{what}: unexpected octets left at offset {offset}")]
    TrailingOctets { what: &'static str, offset: usize },
    #[error("header code page shift 0x{octet:02X} at offset {offset} is not supported")]
    CodePageShift { offset: usize, octet: u8 },
    #[error(
        "PDU type 0x{pdu_type:02X} at offset {offset} is not Push (0x06) or ConfirmedPush (0x07)"
    )]
    NotAPush { pdu_type: u8, offset: usize },
}

/// Dissects a connectionless WSP PDU (TID first) for `ppgd decode`. Push PDUs are shown field by
/// field and their body handed to [`dissect_body`]; other PDU types show TID, type and hex.
pub fn dissect(bytes: &[u8], out: &mut Dissection) -> Result<(), WspError> {
    let mut r = Reader::new(bytes);
    let tid = r.u8("TID")?;
    let t = r.u8("PDU type")?;
    let mut result = Ok(());
    out.nest("WSP", |d| {
        d.field("TID", format!("0x{tid:02X}"));
        d.field("PDU type", format!("{} (0x{t:02X})", PduType::name(t)));
        if !matches!(t, 0x06 | 0x07) {
            d.field("Rest (not dissected)", hex(r.rest()));
            return;
        }
        result = (|| {
            let hl_at = r.offset();
            let mut probe = r.clone();
            let hl = probe.uintvar("HeadersLen")?;
            d.field("HeadersLen", format!("{hl} (at offset {hl_at})"));
            let pdu = PushPdu::decode(bytes)?;
            d.field("Content-Type", &pdu.content_type);
            for h in &pdu.headers {
                d.field(h.name(), h);
            }
            dissect_body(&pdu.content_type, &pdu.body, d);
            Ok(())
        })();
    });
    result
}

/// Shows a push body by its content type: MMS via [`crate::mms::dissect`], WSP multipart as its
/// entries, everything else as hex.
///
/// SI / SL / CO WBXML (`application/vnd.wap.sic` / `slc` / `coc`) goes to [`crate::wbxml::dissect`].
pub fn dissect_body(content_type: &ContentType, body: &[u8], out: &mut Dissection) {
    if content_type.is("application/vnd.wap.mms-message") {
        out.nest(format!("Body ({} octets)", body.len()), |d| {
            if let Err(e) = crate::mms::dissect(body, d) {
                d.field("MMS error", e);
                d.field("Octets", hex(body));
            }
        });
        return;
    }
    let is_wbxml = [
        "application/vnd.wap.sic",
        "application/vnd.wap.slc",
        "application/vnd.wap.coc",
    ]
    .iter()
    .any(|m| content_type.is(m));
    if is_wbxml {
        out.nest(format!("Body ({} octets)", body.len()), |d| {
            if let Err(e) = crate::wbxml::dissect(body, d) {
                d.field("WBXML error", e);
                d.field("Octets", hex(body));
            }
        });
        return;
    }
    let is_multipart = content_type.media_name().is_some_and(|n| {
        n.to_ascii_lowercase()
            .starts_with("application/vnd.wap.multipart.")
    });
    if is_multipart {
        dissect_multipart(body, out);
        return;
    }
    out.field(format!("Body ({} octets)", body.len()), hex(body));
}

/// Shows a WSP multipart body entry by entry.
pub fn dissect_multipart(body: &[u8], out: &mut Dissection) {
    match decode_multipart(body, 0) {
        Ok(entries) => out.nest(format!("Multipart ({} entries)", entries.len()), |d| {
            for (i, e) in entries.iter().enumerate() {
                d.nest(format!("Entry {} (at offset {})", i + 1, e.offset), |d| {
                    d.field("Content-Type", &e.content_type);
                    for h in &e.headers {
                        d.field(h.name(), h);
                    }
                    dissect_body(&e.content_type, &e.data, d);
                });
            }
        }),
        Err(e) => {
            out.field("Multipart error", e);
            out.field(format!("Body ({} octets)", body.len()), hex(body));
        }
    }
}
