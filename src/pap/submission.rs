//! What a PI POSTs (PAP §8, digest §1.2): a multipart/related push submission — control
//! entity (application/xml, the push-message), content entity, optional capabilities entity —
//! or a single application/xml PAP document (statusquery, cancel, ccq).

// Errors carry the element, attribute and quoted fragment a PI needs; they are built only on
// the failure path and are smaller than the documents they reject, so their size is accepted.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;

use super::address::AddressError;
use super::code::PapCode;
use super::document::{DocumentError, PapDocument, PapMessage, PapVersion, PushMessage};
use super::multipart::{self, Headers, MediaType, MultipartError, OwnedPart, TransferEncoding};
use super::xml::XmlLimits;

/// What is wrong with a submission as a whole (its entities and their headers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionError {
    #[error("the request Content-Type is `{content_type}`; a push submission is multipart/related")]
    NotMultipartRelated { content_type: String },
    #[error(
        "the request Content-Type `{content_type}` is not multipart/related or application/xml"
    )]
    UnsupportedContentType { content_type: String },
    #[error("the multipart/related Content-Type has no boundary parameter")]
    NoBoundary,
    #[error("the multipart/related type parameter is `{type_param}`; PAP needs application/xml")]
    TypeNotXml { type_param: String },
    #[error(
        "the submission has {count} entities; PAP allows control, content and capabilities (2 or 3)"
    )]
    EntityCount { count: usize },
    #[error(
        "the control entity (first part) has Content-Type `{content_type}`, not application/xml"
    )]
    ControlNotXml { content_type: String },
    #[error("the control entity (first part) has no Content-Type header")]
    ControlNoContentType,
    #[error("the control entity holds a <{element}>, not a <push-message>")]
    ControlNotPush { element: &'static str },
    #[error("a <{element}> is sent alone as application/xml, not inside a push submission")]
    NotStandalone { element: &'static str },
    #[error("the content entity has no Content-Type header")]
    ContentNoContentType,
    #[error("the content entity's Content-Type `{content_type}` is malformed")]
    ContentBadContentType { content_type: String },
    #[error("the content entity: {source}")]
    ContentEncoding { source: MultipartError },
    #[error(
        "the capabilities entity (third part) has Content-Type `{content_type}`, not application/xml"
    )]
    CapabilitiesNotXml { content_type: String },
}

/// Every error the PAP layer reports, with what the gateway needs to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PapError {
    #[error("{0}")]
    Document(#[from] DocumentError),
    #[error("{0}")]
    Address(#[from] AddressError),
    #[error("multipart/related body: {0}")]
    Multipart(#[from] MultipartError),
    #[error("{0}")]
    Submission(#[from] SubmissionError),
}

impl PapError {
    /// The PAP code to answer with (in a badmessage-response, or a push-response when the
    /// push-id is known): 2000 bad request for anything malformed, 2002 for an address,
    /// 3002 for an unsupported PAP version.
    pub fn pap_code(&self) -> PapCode {
        match self {
            PapError::Document(d) => d.pap_code(),
            PapError::Address(_) => PapCode::AddressError,
            PapError::Multipart(_) | PapError::Submission(_) => PapCode::BadRequest,
        }
    }

    /// The offending fragment to quote in `bad-message-fragment`, if there is one.
    pub fn fragment(&self) -> Option<&str> {
        match self {
            PapError::Document(d) if !d.fragment.is_empty() => Some(&d.fragment),
            _ => None,
        }
    }

    /// The push-id, when the error came after it was read (answer with a push-response).
    pub fn push_id(&self) -> Option<&str> {
        match self {
            PapError::Document(d) => d.push_id.as_deref(),
            _ => None,
        }
    }
}

/// The content entity of a push submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentEntity<'a> {
    /// The Content-Type header as written.
    pub content_type: &'a str,
    pub media_type: MediaType<'a>,
    /// X-Wap-Application-Id as written (absent: the PPG defaults it, PAP §8 / digest §1.7).
    pub application_id: Option<&'a str>,
    pub content_location: Option<&'a str>,
    pub transfer_encoding: TransferEncoding,
    /// Every header of the part, in order (including the ones above).
    pub headers: Headers<'a>,
    /// The body with its Content-Transfer-Encoding undone.
    pub body: Cow<'a, [u8]>,
}

/// The optional capabilities entity (UAProf RDF; PAP §8: the third entity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilitiesEntity<'a> {
    pub headers: Headers<'a>,
    pub body: &'a [u8],
}

/// A parsed push submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubmission<'a> {
    pub version: PapVersion,
    pub supported_versions: Option<String>,
    pub product_name: Option<String>,
    pub push: PushMessage,
    pub content: ContentEntity<'a>,
    pub capabilities: Option<CapabilitiesEntity<'a>>,
    /// The `start` parameter of the multipart/related Content-Type, if any (RFC 2387 §3.2).
    pub start: Option<String>,
}

/// A media type's `type/subtype`, before any parameters, trimmed.
fn essence_of(media: &str) -> &str {
    let end = memchr::memchr(b';', media.as_bytes()).unwrap_or(media.len());
    media[..end].trim()
}

fn is_xml(media: &str) -> bool {
    let m = essence_of(media);
    m.eq_ignore_ascii_case("application/xml") || m.eq_ignore_ascii_case("text/xml")
}

impl<'a> PushSubmission<'a> {
    /// Parses an HTTP request body given its Content-Type header.
    pub fn parse(content_type: &str, body: &'a [u8]) -> Result<PushSubmission<'a>, PapError> {
        PushSubmission::parse_with(content_type, body, &XmlLimits::default())
    }

    pub fn parse_with(
        content_type: &str,
        body: &'a [u8],
        limits: &XmlLimits,
    ) -> Result<PushSubmission<'a>, PapError> {
        let mt =
            MediaType::parse(content_type).map_err(|_| SubmissionError::NotMultipartRelated {
                content_type: content_type.chars().take(200).collect(),
            })?;
        if mt.essence != "multipart/related" {
            return Err(SubmissionError::NotMultipartRelated {
                content_type: content_type.chars().take(200).collect(),
            }
            .into());
        }
        // RFC 2387 makes `type` mandatory, but PIs omit it; when present it must be XML.
        if let Some(t) = mt.param("type")
            && !is_xml(t)
        {
            return Err(SubmissionError::TypeNotXml {
                type_param: t.to_string(),
            }
            .into());
        }
        let boundary = mt.param("boundary").ok_or(SubmissionError::NoBoundary)?;
        let m = multipart::parse(body, boundary)?;
        // Control, content and capabilities (2 or 3 entities); taken, not copied.
        let count = m.parts.len();
        let mut parts = m.parts.into_iter();
        let (Some(control), Some(part), capabilities_part, None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SubmissionError::EntityCount { count }.into());
        };
        match control.content_type() {
            None => return Err(SubmissionError::ControlNoContentType.into()),
            Some(ct) if !is_xml(ct) => {
                return Err(SubmissionError::ControlNotXml {
                    content_type: ct.to_string(),
                }
                .into());
            }
            Some(_) => {}
        }
        let control_body = control.decoded_body()?;
        let doc = PapDocument::parse_with(&control_body, limits)?;
        let push = match doc.message {
            PapMessage::Push(p) => p,
            other => {
                return Err(SubmissionError::ControlNotPush {
                    element: other.element(),
                }
                .into());
            }
        };
        let ct = part
            .content_type()
            .ok_or(SubmissionError::ContentNoContentType)?;
        let media_type =
            MediaType::parse(ct).map_err(|_| SubmissionError::ContentBadContentType {
                content_type: ct.to_string(),
            })?;
        let transfer_encoding = part.transfer_encoding();
        let decoded = transfer_encoding
            .decode(part.body)
            .map_err(|source| SubmissionError::ContentEncoding { source })?;
        let content = ContentEntity {
            content_type: ct,
            media_type,
            application_id: part.headers.get("X-Wap-Application-Id"),
            content_location: part.headers.get("Content-Location"),
            transfer_encoding,
            headers: part.headers,
            body: decoded,
        };
        let capabilities = match capabilities_part {
            None => None,
            Some(p) => {
                let ct = p.content_type().unwrap_or("");
                if !is_xml(ct) {
                    return Err(SubmissionError::CapabilitiesNotXml {
                        content_type: ct.to_string(),
                    }
                    .into());
                }
                Some(CapabilitiesEntity {
                    headers: p.headers,
                    body: p.body,
                })
            }
        };
        Ok(PushSubmission {
            version: doc.version,
            supported_versions: doc.supported_versions,
            product_name: doc.product_name,
            push,
            content,
            capabilities,
            start: mt.param("start").map(str::to_string),
        })
    }
}

/// Any request a PI sends to the PPG URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PapRequest<'a> {
    /// A multipart/related push submission.
    Push(Box<PushSubmission<'a>>),
    /// A single application/xml document: statusquery-message, cancel-message, ccq-message.
    Document(Box<PapDocument>),
}

impl<'a> PapRequest<'a> {
    pub fn parse(content_type: &str, body: &'a [u8]) -> Result<PapRequest<'a>, PapError> {
        let essence = essence_of(content_type);
        if essence.eq_ignore_ascii_case("multipart/related") {
            return Ok(PapRequest::Push(Box::new(PushSubmission::parse(
                content_type,
                body,
            )?)));
        }
        if !is_xml(essence) {
            return Err(SubmissionError::UnsupportedContentType {
                content_type: content_type.chars().take(200).collect(),
            }
            .into());
        }
        let doc = PapDocument::parse(body)?;
        match &doc.message {
            PapMessage::StatusQuery(_) | PapMessage::Cancel(_) | PapMessage::Ccq(_) => {
                Ok(PapRequest::Document(Box::new(doc)))
            }
            PapMessage::Push(_) => Err(SubmissionError::NotMultipartRelated {
                content_type: content_type.chars().take(200).collect(),
            }
            .into()),
            other => Err(SubmissionError::NotStandalone {
                element: other.element(),
            }
            .into()),
        }
    }
}

/// Writes a push submission for the client and bench: returns the Content-Type header value
/// and the body. `content_headers` go into the content entity as given (Content-Type first).
pub fn write_push_submission(
    control: &PapDocument,
    content_headers: &[(&str, &str)],
    content: &[u8],
) -> (String, Vec<u8>) {
    let parts = vec![
        OwnedPart {
            headers: vec![("Content-Type".into(), "application/xml".into())],
            body: control.to_xml().into_bytes(),
        },
        OwnedPart {
            headers: content_headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: content.to_vec(),
        },
    ];
    let boundary = multipart::choose_boundary(&parts);
    let ct = format!("multipart/related; boundary={boundary}; type=\"application/xml\"");
    (ct, multipart::write(&boundary, &parts))
}

impl PapDocument {
    /// A document with no wap-pap-ver instruction and no product-name.
    pub fn new(version: PapVersion, message: PapMessage) -> PapDocument {
        PapDocument {
            version,
            supported_versions: None,
            product_name: None,
            message,
        }
    }

    /// The badmessage-response answering `err` (PAP §9.11): its PAP code, its text as `desc`,
    /// and the offending fragment when there is one (escaped on writing).
    pub fn bad_message_response(version: PapVersion, err: &PapError) -> PapDocument {
        PapDocument::new(
            version,
            PapMessage::BadMessageResponse(super::document::BadMessageResponse {
                code: err.pap_code(),
                desc: Some(err.to_string()),
                bad_message_fragment: err.fragment().map(str::to_string),
            }),
        )
    }
}
