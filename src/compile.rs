//! One push's content → the WSP connectionless Push PDU the handset receives.
//!
//! This is where a PI's content entity becomes bytes on the air, so the rules live here:
//! - MMS notifications (application/vnd.wap.mms-message) are validated as an m-notification-ind
//!   and passed through byte-for-byte: a PI's PDU is never re-encoded.
//! - Textual SI / SL / CO are compiled to WBXML (sic / slc / coc) with `charset=utf-8` in the
//!   content type, the form field reports say every handset accepts (digest §7 pitfall 3).
//! - Binary sic / slc / coc pass through after a check that they decode.
//! - Only headers the handset needs go into the PDU: the content type, X-Wap-Application-Id (the
//!   PI's, or the default for the content type) and entity headers the PI put in the content part
//!   that WSP can carry. HTTP request headers never get here (the caller passes entity headers
//!   only), and Content-Length / Encoding-Version are left out: some handsets drop pushes that carry
//!   them (digest §7 pitfall 1), and the bearer delimits the PDU anyway.
//! - The compact well-known encodings are used so a notification takes as few SMS as possible.
//!
//! Pure: bytes and values in, bytes out.

use std::borrow::Cow;

use crate::mms::{Violation, check_notification};
use crate::wbxml::{self, WbxmlError};
use crate::wsp::{AppId, ContentType, Header, Parameter, PduType, encode_push};

/// Well-known X-Wap-Application-Id codes (WINA; digest §2.5).
pub const APP_WML_UA: u32 = 0x02;
pub const APP_MMS_UA: u32 = 0x04;

/// IANA MIBenum of UTF-8.
const UTF8: u32 = 106;

/// What the PI sent as the content entity.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    /// The content entity's Content-Type value, parameters included.
    pub content_type: &'a str,
    /// Its X-Wap-Application-Id, if any.
    pub application_id: Option<&'a str>,
    /// Every other entity header of the content part (Content-Type, X-Wap-Application-Id and
    /// Content-Transfer-Encoding are ignored here).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body after Content-Transfer-Encoding decoding.
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Send the MMS content type as text (`"application/vnd.wap.mms-message" 00`, Kannel's way)
    /// instead of the WSP 1.4 short code 0xBE.
    pub mms_content_type_text: bool,
}

/// The compiled push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The whole WSP Push PDU, TID first.
    pub wsp_pdu: Vec<u8>,
    /// The media type the handset receives (after any transformation).
    pub delivered_type: String,
    /// What kind of content it is (for logs and metrics).
    pub kind: ContentKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    MmsNotification,
    ServiceIndication,
    ServiceLoading,
    CacheOperation,
    Other,
}

/// Why content cannot be pushed. The HTTP layer maps each to a PAP code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(
        "the content entity's Content-Type `{content_type}` cannot be encoded for WSP: {reason}"
    )]
    BadContentType {
        content_type: String,
        reason: String,
    },
    #[error("the MMS notification is not a valid m-notification-ind: {}", violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidNotification { violations: Vec<Violation> },
    #[error("the {media} document cannot be compiled to WBXML: {source}")]
    Transformation {
        media: &'static str,
        source: WbxmlError,
    },
    #[error("the {media} content does not decode as WBXML: {source}")]
    BadBinary {
        media: &'static str,
        source: WbxmlError,
    },
    #[error("the content entity says {declared} but holds a {found} document")]
    WrongDocument {
        declared: &'static str,
        found: &'static str,
    },
    #[error("{media} needs a transformation ppgd does not perform; send {instead}")]
    Unsupported {
        media: String,
        instead: &'static str,
    },
}

/// Compiles one push's content into its WSP Push PDU with transaction id `tid`.
pub fn compile(
    content: &Content<'_>,
    tid: u8,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let parsed = ContentType::parse_mime(content.content_type).map_err(|e| {
        CompileError::BadContentType {
            content_type: content.content_type.chars().take(200).collect(),
            reason: e.to_string(),
        }
    })?;
    let essence = content.content_type.split(';').next().unwrap_or("").trim();
    // Lower-cased, without a copy when it already is (it nearly always is).
    let essence: Cow<'_, str> = if essence.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(essence.to_ascii_lowercase())
    } else {
        Cow::Borrowed(essence)
    };

    let utf8 = |media: &str| {
        let mut ct = ContentType::parse_mime(media).expect("registered media type parses");
        ct.params.push(Parameter::charset(UTF8));
        ct
    };
    let (content_type, body, default_app, kind): (
        ContentType,
        std::borrow::Cow<'_, [u8]>,
        u32,
        ContentKind,
    ) = match &*essence {
        "application/vnd.wap.mms-message" => {
            // The PI's bytes are forwarded: check them, no need to decode them.
            check_notification(content.body)
                .map_err(|violations| CompileError::InvalidNotification { violations })?;
            let ct = if opts.mms_content_type_text {
                parsed.textual()
            } else {
                parsed
            };
            (
                ct,
                content.body.into(),
                APP_MMS_UA,
                ContentKind::MmsNotification,
            )
        }
        "text/vnd.wap.si" | "text/vnd.wap.sl" | "text/vnd.wap.co" => {
            let (media, wbxml_media, kind): (&'static str, &str, ContentKind) = match &*essence {
                "text/vnd.wap.si" => (
                    "text/vnd.wap.si",
                    "application/vnd.wap.sic",
                    ContentKind::ServiceIndication,
                ),
                "text/vnd.wap.sl" => (
                    "text/vnd.wap.sl",
                    "application/vnd.wap.slc",
                    ContentKind::ServiceLoading,
                ),
                _ => (
                    "text/vnd.wap.co",
                    "application/vnd.wap.coc",
                    ContentKind::CacheOperation,
                ),
            };
            let doc = wbxml::Document::from_xml(content.body)
                .map_err(|source| CompileError::Transformation { media, source })?;
            if doc.text_media_type() != media {
                return Err(CompileError::WrongDocument {
                    declared: media,
                    found: doc.text_media_type(),
                });
            }
            let compiled = doc
                .to_wbxml()
                .map_err(|source| CompileError::Transformation { media, source })?;
            (utf8(wbxml_media), compiled.into(), APP_WML_UA, kind)
        }
        "application/vnd.wap.sic" | "application/vnd.wap.slc" | "application/vnd.wap.coc" => {
            let media: &'static str = match &*essence {
                "application/vnd.wap.sic" => "application/vnd.wap.sic",
                "application/vnd.wap.slc" => "application/vnd.wap.slc",
                _ => "application/vnd.wap.coc",
            };
            wbxml::decompile(content.body)
                .map_err(|source| CompileError::BadBinary { media, source })?;
            let kind = match media {
                "application/vnd.wap.sic" => ContentKind::ServiceIndication,
                "application/vnd.wap.slc" => ContentKind::ServiceLoading,
                _ => ContentKind::CacheOperation,
            };
            (parsed, content.body.into(), APP_WML_UA, kind)
        }
        "text/vnd.wap.wml" | "text/vnd.wap.wmlscript" => {
            return Err(CompileError::Unsupported {
                media: essence.into_owned(),
                instead: "the compiled form (application/vnd.wap.wmlc / wmlscriptc)",
            });
        }
        _ => (parsed, content.body.into(), APP_WML_UA, ContentKind::Other),
    };

    let mut headers = Vec::with_capacity(2 + content.headers.len());
    let app_id = match content.application_id {
        Some(urn) => AppId::from_urn(urn.trim()),
        None => AppId::Code(default_app),
    };
    headers.push(Header::ApplicationId(app_id));
    for (name, value) in content.headers {
        if is_handled_elsewhere(name) {
            continue;
        }
        if let Some(h) = Header::from_http(name, value) {
            headers.push(h);
        }
    }
    let delivered_type = content_type
        .media_name()
        .map_or_else(|| essence.into_owned(), str::to_string);
    Ok(Compiled {
        wsp_pdu: encode_push(tid, PduType::Push, &content_type, &headers, &body),
        delivered_type,
        kind,
    })
}

/// Headers the compiler sets itself or that describe the HTTP transfer, not the content.
fn is_handled_elsewhere(name: &str) -> bool {
    const SKIP: &[&str] = &[
        "content-type",
        "x-wap-application-id",
        "content-transfer-encoding",
        "content-length",
        "encoding-version",
        "content-id",
    ];
    SKIP.iter().any(|s| name.eq_ignore_ascii_case(s))
}
