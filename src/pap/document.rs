//! Every PAP document (WAP-164 PAP 1.0 §9, WAP-247 PAP 2.0 §9), typed, parsed and written.
//!
//! PI→PPG: push-message, statusquery-message, cancel-message, ccq-message,
//! resultnotification-response. PPG→PI: push-response, badmessage-response,
//! statusquery-response, cancel-response, resultnotification-message, ccq-response.
//!
//! Parsing is strict about names (an unknown element or attribute is a 2000, as Kannel's
//! compiler does) and lenient about the version (digest §1.1). Writing emits the DOCTYPE of the
//! document's version family.

// Errors carry the element, attribute and quoted fragment a PI needs; they are built only on
// the failure path and are smaller than the documents they reject, so their size is accepted.
#![allow(clippy::result_large_err)]

use super::address::{Address, AddressError};
use super::code::{PapCode, message_state_text, parse_message_state};
use super::xml::{self, Element, XmlFailure, XmlLimits, XmlProblem};
use crate::store::{MessageState, Priority};
use crate::util::datetime::{DateTimeError, UtcTime};

/// The PAP version a document declares (digest §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PapVersion {
    V1_0,
    V2_0,
    V2_1,
}

impl PapVersion {
    pub fn public_id(self) -> &'static str {
        match self {
            PapVersion::V1_0 => "-//WAPFORUM//DTD PAP 1.0//EN",
            PapVersion::V2_0 => "-//WAPFORUM//DTD PAP 2.0//EN",
            PapVersion::V2_1 => "-//WAPFORUM//DTD PAP 2.1//EN",
        }
    }
    pub fn system_id(self) -> &'static str {
        match self {
            PapVersion::V1_0 => "http://www.wapforum.org/DTD/pap_1.0.dtd",
            PapVersion::V2_0 => "http://www.wapforum.org/DTD/pap_2.0.dtd",
            PapVersion::V2_1 => "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd",
        }
    }
    /// "1.0", "2.0", "2.1" (the store keeps this text).
    pub fn as_str(self) -> &'static str {
        match self {
            PapVersion::V1_0 => "1.0",
            PapVersion::V2_0 => "2.0",
            PapVersion::V2_1 => "2.1",
        }
    }

    /// The version a DOCTYPE public id names. Lenient: `-//WAPFORUM//DTD PAP//EN` (Kannel's
    /// user guide) is 1.0, and the `-//OMA//` owner is accepted as well as `-//WAPFORUM//`.
    /// `None`: a PAP id of a version we do not speak, or not a PAP id at all.
    pub fn from_public_id(id: &str) -> Option<PapVersion> {
        // The ids as written (ours, and most PIs'), before the general normalisation.
        for v in [PapVersion::V1_0, PapVersion::V2_0, PapVersion::V2_1] {
            if id == v.public_id() {
                return Some(v);
            }
        }
        let norm: String = id
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        let rest = norm
            .strip_prefix("-//WAPFORUM//DTD PAP")
            .or_else(|| norm.strip_prefix("-//OMA//DTD PAP"))?;
        match rest.trim_start() {
            "//EN" | "1.0//EN" => Some(PapVersion::V1_0),
            "2.0//EN" => Some(PapVersion::V2_0),
            "2.1//EN" => Some(PapVersion::V2_1),
            _ => None,
        }
    }
}

/// `replace-method` (PAP 2.0 §9.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplaceMethod {
    All,
    PendingOnly,
}

/// `delivery-method` of quality-of-service (PAP §9.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryMethod {
    Confirmed,
    PreferConfirmed,
    Unconfirmed,
    NotSpecified,
}

impl DeliveryMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMethod::Confirmed => "confirmed",
            DeliveryMethod::PreferConfirmed => "preferconfirmed",
            DeliveryMethod::Unconfirmed => "unconfirmed",
            DeliveryMethod::NotSpecified => "notspecified",
        }
    }
}

fn priority_text(p: Priority) -> &'static str {
    match p {
        Priority::High => "high",
        Priority::Medium => "medium",
        Priority::Low => "low",
    }
}

/// `quality-of-service`: absent attributes stay `None` so a document round-trips; the
/// accessors give the DTD defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualityOfService {
    pub priority: Option<Priority>,
    pub delivery_method: Option<DeliveryMethod>,
    pub network: Option<String>,
    pub network_required: Option<bool>,
    pub bearer: Option<String>,
    pub bearer_required: Option<bool>,
}

impl QualityOfService {
    pub fn priority_or_default(&self) -> Priority {
        self.priority.unwrap_or(Priority::Medium)
    }
    pub fn delivery_method_or_default(&self) -> DeliveryMethod {
        self.delivery_method.unwrap_or(DeliveryMethod::NotSpecified)
    }
}

/// `push-message` (PAP §9.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub push_id: String,
    pub deliver_before: Option<UtcTime>,
    pub deliver_after: Option<UtcTime>,
    pub source_reference: Option<String>,
    pub ppg_notify_requested_to: Option<String>,
    /// `None` when absent (default false).
    pub progress_notes_requested: Option<bool>,
    pub replace_push_id: Option<String>,
    pub replace_method: Option<ReplaceMethod>,
    pub addresses: Vec<Address>,
    pub qos: Option<QualityOfService>,
}

/// `statusquery-message` (PAP §9.7); no address means every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQueryMessage {
    pub push_id: String,
    pub addresses: Vec<Address>,
}

/// `cancel-message` (PAP §9.5); no address means every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelMessage {
    pub push_id: String,
    pub addresses: Vec<Address>,
}

/// `ccq-message` (PAP §9.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcqMessage {
    pub query_id: String,
    pub app_id: Option<String>,
    pub address: Address,
}

/// `resultnotification-response` (PAP §9.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultNotificationResponse {
    pub push_id: String,
    pub code: PapCode,
    pub desc: Option<String>,
    pub addresses: Vec<Address>,
}

/// `response-result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseResult {
    pub code: PapCode,
    pub desc: Option<String>,
}

/// `progress-note` (PAP §9.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressNote {
    pub stage: String,
    pub note: Option<String>,
    pub time: Option<UtcTime>,
}

/// `push-response` (PAP §9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResponse {
    pub push_id: String,
    pub sender_address: Option<String>,
    pub sender_name: Option<String>,
    pub reply_time: Option<UtcTime>,
    pub progress_notes: Vec<ProgressNote>,
    pub result: ResponseResult,
}

/// `badmessage-response` (PAP §9.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMessageResponse {
    pub code: PapCode,
    pub desc: Option<String>,
    pub bad_message_fragment: Option<String>,
}

/// One `statusquery-result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQueryResult {
    pub addresses: Vec<Address>,
    pub qos: Option<QualityOfService>,
    pub event_time: Option<UtcTime>,
    pub message_state: MessageState,
    pub code: PapCode,
    pub desc: Option<String>,
}

/// `statusquery-response` (PAP §9.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQueryResponse {
    pub push_id: String,
    pub results: Vec<StatusQueryResult>,
}

/// One `cancel-result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelResult {
    pub addresses: Vec<Address>,
    pub code: PapCode,
    pub desc: Option<String>,
}

/// `cancel-response` (PAP §9.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelResponse {
    pub push_id: String,
    pub results: Vec<CancelResult>,
}

/// `resultnotification-message` (PAP §9.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultNotificationMessage {
    pub push_id: String,
    pub sender_address: Option<String>,
    pub sender_name: Option<String>,
    pub received_time: Option<UtcTime>,
    /// Always written; not required on input (digest §1.3).
    pub event_time: Option<UtcTime>,
    pub message_state: MessageState,
    pub code: PapCode,
    pub desc: Option<String>,
    pub address: Address,
    pub qos: Option<QualityOfService>,
}

/// `ccq-response` (PAP §9.10); the capabilities ride in a separate MIME part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcqResponse {
    pub query_id: String,
    pub code: PapCode,
    pub desc: Option<String>,
    pub address: Address,
}

/// The one message a `pap` element carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PapMessage {
    Push(PushMessage),
    StatusQuery(StatusQueryMessage),
    Cancel(CancelMessage),
    Ccq(CcqMessage),
    ResultNotificationResponse(ResultNotificationResponse),
    PushResponse(PushResponse),
    BadMessageResponse(BadMessageResponse),
    StatusQueryResponse(StatusQueryResponse),
    CancelResponse(CancelResponse),
    ResultNotification(ResultNotificationMessage),
    CcqResponse(CcqResponse),
}

impl PapMessage {
    /// The element name of the message.
    pub fn element(&self) -> &'static str {
        match self {
            PapMessage::Push(_) => "push-message",
            PapMessage::StatusQuery(_) => "statusquery-message",
            PapMessage::Cancel(_) => "cancel-message",
            PapMessage::Ccq(_) => "ccq-message",
            PapMessage::ResultNotificationResponse(_) => "resultnotification-response",
            PapMessage::PushResponse(_) => "push-response",
            PapMessage::BadMessageResponse(_) => "badmessage-response",
            PapMessage::StatusQueryResponse(_) => "statusquery-response",
            PapMessage::CancelResponse(_) => "cancel-response",
            PapMessage::ResultNotification(_) => "resultnotification-message",
            PapMessage::CcqResponse(_) => "ccq-response",
        }
    }
}

/// A whole PAP document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PapDocument {
    pub version: PapVersion,
    /// `supported-versions` of a `wap-pap-ver` processing instruction (PAP 2.x).
    pub supported_versions: Option<String>,
    /// `product-name` of the `pap` element.
    pub product_name: Option<String>,
    pub message: PapMessage,
}

/// What is wrong with a PAP document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentErrorKind {
    #[error("the document is {size} bytes, more than the {limit} allowed")]
    TooLarge { size: usize, limit: usize },
    #[error("the document is not UTF-8 (invalid byte at {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error("malformed XML: {detail}")]
    Syntax { detail: String },
    #[error(
        "entity `&{name};` is not defined (PAP documents use only the predefined XML entities)"
    )]
    UndefinedEntity { name: String },
    #[error("the DOCTYPE declares markup (entities); PAP documents may not")]
    EntityDeclaration,
    #[error("elements nest deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error("<{element}> may not contain text")]
    Text { element: String },
    #[error("no root element")]
    NoRoot,
    #[error("content after the root element")]
    AfterRoot,
    #[error(
        "DOCTYPE public id `{public_id}` is not a PAP version this PPG supports (1.0, 2.0, 2.1)"
    )]
    UnsupportedVersion { public_id: String },
    #[error("the root element is <{found}>, not <pap>")]
    WrongRoot { found: String },
    #[error("<pap> holds no message element")]
    NoMessage,
    #[error("<{element}> is not a PAP element (inside <{parent}>)")]
    UnknownElement { element: String, parent: String },
    #[error("<{element}> is not allowed inside <{parent}>")]
    UnexpectedElement { element: String, parent: String },
    #[error("<{element}> has no attribute `{attribute}`")]
    UnknownAttribute { element: String, attribute: String },
    #[error("<{element}> is missing the required attribute `{attribute}`")]
    MissingAttribute {
        element: String,
        attribute: &'static str,
    },
    #[error("<{element}> is missing a required <{child}>")]
    MissingElement {
        element: String,
        child: &'static str,
    },
    #[error("<{element}> {attribute}=\"{value}\" is not one of {expected}")]
    BadValue {
        element: String,
        attribute: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("<{element}> {attribute}: {source}")]
    BadTimestamp {
        element: String,
        attribute: &'static str,
        source: DateTimeError,
    },
    #[error("<{element}> {attribute}=\"{value}\" is not a PAP status code")]
    BadCode {
        element: String,
        attribute: &'static str,
        value: String,
    },
    #[error("<{element}> address-value: {source}")]
    Address {
        element: String,
        source: AddressError,
    },
}

/// A PAP document error: what, where (byte offset and line), the offending fragment (the start
/// tag, for quoting in a badmessage-response), and the push-id if one was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (line {line}, offset {offset})")]
pub struct DocumentError {
    pub kind: DocumentErrorKind,
    pub offset: usize,
    pub line: usize,
    pub fragment: String,
    pub push_id: Option<String>,
}

impl DocumentError {
    /// The PAP code to answer with: 3002 for an unsupported version, 2002 for a bad address,
    /// 2000 (bad request) for everything else.
    pub fn pap_code(&self) -> PapCode {
        match self.kind {
            DocumentErrorKind::UnsupportedVersion { .. } => PapCode::VersionNotSupported,
            DocumentErrorKind::Address { .. } => PapCode::AddressError,
            _ => PapCode::BadRequest,
        }
    }
}

/// Longest fragment quoted back to the PI.
pub const MAX_FRAGMENT: usize = 256;

fn fragment_at(input: &[u8], start: usize, end: usize) -> String {
    let start = start.min(input.len());
    let end = end.clamp(start, input.len()).min(start + MAX_FRAGMENT);
    let s = String::from_utf8_lossy(&input[start..end]);
    s.trim().to_string()
}

struct Ctx<'a> {
    input: &'a [u8],
    push_id: Option<String>,
}

impl Ctx<'_> {
    fn err(&self, kind: DocumentErrorKind, el: &Element<'_>) -> DocumentError {
        self.err_at(kind, el.offset, el.tag_end)
    }
    fn err_at(&self, kind: DocumentErrorKind, offset: usize, end: usize) -> DocumentError {
        let offset = offset.min(self.input.len());
        let line = 1 + memchr::memchr_iter(b'\n', &self.input[..offset]).count();
        DocumentError {
            kind,
            offset,
            line,
            fragment: fragment_at(self.input, offset, end),
            push_id: self.push_id.clone(),
        }
    }
}

/// Attribute access for one element, checking names against the element's allowed set.
struct Attrs<'e> {
    el: &'e Element<'e>,
}

impl<'e> Attrs<'e> {
    fn new(ctx: &Ctx<'_>, el: &'e Element<'e>, allowed: &[&str]) -> Result<Self, DocumentError> {
        for (k, _) in &el.attrs {
            if !allowed.contains(&k.as_ref()) {
                return Err(ctx.err(
                    DocumentErrorKind::UnknownAttribute {
                        element: el.name.to_string(),
                        attribute: k.to_string(),
                    },
                    el,
                ));
            }
        }
        Ok(Attrs { el })
    }
    fn opt(&self, name: &str) -> Option<&'e str> {
        self.el
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
    fn string(&self, name: &str) -> Option<String> {
        self.opt(name).map(str::to_string)
    }
    fn req(&self, ctx: &Ctx<'_>, name: &'static str) -> Result<&'e str, DocumentError> {
        self.opt(name).ok_or_else(|| {
            ctx.err(
                DocumentErrorKind::MissingAttribute {
                    element: self.el.name.to_string(),
                    attribute: name,
                },
                self.el,
            )
        })
    }
    fn time(&self, ctx: &Ctx<'_>, name: &'static str) -> Result<Option<UtcTime>, DocumentError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => UtcTime::parse_pap(v.trim()).map(Some).map_err(|source| {
                ctx.err(
                    DocumentErrorKind::BadTimestamp {
                        element: self.el.name.to_string(),
                        attribute: name,
                        source,
                    },
                    self.el,
                )
            }),
        }
    }
    fn bad(
        &self,
        ctx: &Ctx<'_>,
        name: &'static str,
        value: &str,
        expected: &'static str,
    ) -> DocumentError {
        ctx.err(
            DocumentErrorKind::BadValue {
                element: self.el.name.to_string(),
                attribute: name,
                value: value.to_string(),
                expected,
            },
            self.el,
        )
    }
    fn boolean(&self, ctx: &Ctx<'_>, name: &'static str) -> Result<Option<bool>, DocumentError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => match v.trim() {
                t if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
                t if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
                _ => Err(self.bad(ctx, name, v, "true, false")),
            },
        }
    }
    fn code(&self, ctx: &Ctx<'_>) -> Result<PapCode, DocumentError> {
        let v = self.req(ctx, "code")?;
        PapCode::parse(v).ok_or_else(|| {
            ctx.err(
                DocumentErrorKind::BadCode {
                    element: self.el.name.to_string(),
                    attribute: "code",
                    value: v.to_string(),
                },
                self.el,
            )
        })
    }
    fn state(&self, ctx: &Ctx<'_>) -> Result<MessageState, DocumentError> {
        let v = self.req(ctx, "message-state")?;
        parse_message_state(v).ok_or_else(|| {
            self.bad(
                ctx,
                "message-state",
                v,
                "rejected, pending, delivered, undeliverable, expired, aborted, timeout, cancelled, unknown",
            )
        })
    }
}

fn unexpected(ctx: &Ctx<'_>, child: &Element<'_>, parent: &Element<'_>) -> DocumentError {
    let kind = if KNOWN_ELEMENTS.contains(&child.name.as_ref()) {
        DocumentErrorKind::UnexpectedElement {
            element: child.name.to_string(),
            parent: parent.name.to_string(),
        }
    } else {
        DocumentErrorKind::UnknownElement {
            element: child.name.to_string(),
            parent: parent.name.to_string(),
        }
    };
    ctx.err(kind, child)
}

const KNOWN_ELEMENTS: &[&str] = &[
    "pap",
    "push-message",
    "address",
    "quality-of-service",
    "push-response",
    "progress-note",
    "response-result",
    "cancel-message",
    "cancel-response",
    "cancel-result",
    "resultnotification-message",
    "resultnotification-response",
    "statusquery-message",
    "statusquery-response",
    "statusquery-result",
    "ccq-message",
    "ccq-response",
    "badmessage-response",
];

fn no_children(ctx: &Ctx<'_>, el: &Element<'_>) -> Result<(), DocumentError> {
    match el.children.first() {
        Some(c) => Err(unexpected(ctx, c, el)),
        None => Ok(()),
    }
}

fn address(ctx: &Ctx<'_>, el: &Element<'_>) -> Result<Address, DocumentError> {
    let a = Attrs::new(ctx, el, &["address-value"])?;
    no_children(ctx, el)?;
    let v = a.req(ctx, "address-value")?;
    Address::parse(v).map_err(|source| {
        ctx.err(
            DocumentErrorKind::Address {
                element: el.name.to_string(),
                source,
            },
            el,
        )
    })
}

fn qos(ctx: &Ctx<'_>, el: &Element<'_>) -> Result<QualityOfService, DocumentError> {
    let a = Attrs::new(
        ctx,
        el,
        &[
            "priority",
            "delivery-method",
            "network",
            "network-required",
            "bearer",
            "bearer-required",
        ],
    )?;
    no_children(ctx, el)?;
    let priority = match a.opt("priority") {
        None => None,
        Some(v) => Some(match v.trim().to_ascii_lowercase().as_str() {
            "high" => Priority::High,
            "medium" => Priority::Medium,
            "low" => Priority::Low,
            _ => return Err(a.bad(ctx, "priority", v, "high, medium, low")),
        }),
    };
    let delivery_method = match a.opt("delivery-method") {
        None => None,
        Some(v) => Some(match v.trim().to_ascii_lowercase().as_str() {
            "confirmed" => DeliveryMethod::Confirmed,
            "preferconfirmed" => DeliveryMethod::PreferConfirmed,
            "unconfirmed" => DeliveryMethod::Unconfirmed,
            "notspecified" => DeliveryMethod::NotSpecified,
            _ => {
                return Err(a.bad(
                    ctx,
                    "delivery-method",
                    v,
                    "confirmed, preferconfirmed, unconfirmed, notspecified",
                ));
            }
        }),
    };
    Ok(QualityOfService {
        priority,
        delivery_method,
        network: a.string("network"),
        network_required: a.boolean(ctx, "network-required")?,
        bearer: a.string("bearer"),
        bearer_required: a.boolean(ctx, "bearer-required")?,
    })
}

/// Collects `address` children and at most one `quality-of-service`; anything else is refused.
fn addresses_and_qos(
    ctx: &Ctx<'_>,
    el: &Element<'_>,
    allow_qos: bool,
) -> Result<(Vec<Address>, Option<QualityOfService>), DocumentError> {
    let mut addrs = Vec::new();
    let mut q = None;
    for c in &el.children {
        match c.name.as_ref() {
            "address" if q.is_none() => addrs.push(address(ctx, c)?),
            "quality-of-service" if allow_qos && q.is_none() => q = Some(qos(ctx, c)?),
            _ => return Err(unexpected(ctx, c, el)),
        }
    }
    Ok((addrs, q))
}

fn need_one_address(
    ctx: &Ctx<'_>,
    el: &Element<'_>,
    addrs: Vec<Address>,
) -> Result<Address, DocumentError> {
    let n = addrs.len();
    let mut it = addrs.into_iter();
    match (it.next(), n) {
        (Some(a), 1) => Ok(a),
        (None, _) => Err(ctx.err(
            DocumentErrorKind::MissingElement {
                element: el.name.to_string(),
                child: "address",
            },
            el,
        )),
        _ => {
            let second = el
                .children
                .iter()
                .filter(|c| c.name == "address")
                .nth(1)
                .unwrap_or(el);
            Err(unexpected(ctx, second, el))
        }
    }
}

fn push_message(ctx: &mut Ctx<'_>, el: &Element<'_>) -> Result<PushMessage, DocumentError> {
    let a = Attrs::new(
        ctx,
        el,
        &[
            "push-id",
            "deliver-before-timestamp",
            "deliver-after-timestamp",
            "source-reference",
            "ppg-notify-requested-to",
            "progress-notes-requested",
            "replace-push-id",
            "replace-method",
        ],
    )?;
    let push_id = a.req(ctx, "push-id")?.to_string();
    ctx.push_id = Some(push_id.clone());
    let replace_method = match a.opt("replace-method") {
        None => None,
        Some(v) => Some(match v.trim().to_ascii_lowercase().as_str() {
            "all" => ReplaceMethod::All,
            "pending-only" => ReplaceMethod::PendingOnly,
            _ => return Err(a.bad(ctx, "replace-method", v, "all, pending-only")),
        }),
    };
    let m = PushMessage {
        push_id,
        deliver_before: a.time(ctx, "deliver-before-timestamp")?,
        deliver_after: a.time(ctx, "deliver-after-timestamp")?,
        source_reference: a.string("source-reference"),
        ppg_notify_requested_to: a.string("ppg-notify-requested-to"),
        progress_notes_requested: a.boolean(ctx, "progress-notes-requested")?,
        replace_push_id: a.string("replace-push-id"),
        replace_method,
        addresses: Vec::new(),
        qos: None,
    };
    let (addresses, qos) = addresses_and_qos(ctx, el, true)?;
    if addresses.is_empty() {
        return Err(ctx.err(
            DocumentErrorKind::MissingElement {
                element: el.name.to_string(),
                child: "address",
            },
            el,
        ));
    }
    Ok(PushMessage {
        addresses,
        qos,
        ..m
    })
}

fn message(ctx: &mut Ctx<'_>, el: &Element<'_>) -> Result<PapMessage, DocumentError> {
    Ok(match el.name.as_ref() {
        "push-message" => PapMessage::Push(push_message(ctx, el)?),
        "statusquery-message" | "cancel-message" => {
            let a = Attrs::new(ctx, el, &["push-id"])?;
            let push_id = a.req(ctx, "push-id")?.to_string();
            ctx.push_id = Some(push_id.clone());
            let (addresses, _) = addresses_and_qos(ctx, el, false)?;
            if el.name == "cancel-message" {
                PapMessage::Cancel(CancelMessage { push_id, addresses })
            } else {
                PapMessage::StatusQuery(StatusQueryMessage { push_id, addresses })
            }
        }
        "ccq-message" => {
            let a = Attrs::new(ctx, el, &["query-id", "app-id"])?;
            let query_id = a.req(ctx, "query-id")?.to_string();
            let (addrs, _) = addresses_and_qos(ctx, el, false)?;
            PapMessage::Ccq(CcqMessage {
                query_id,
                app_id: a.string("app-id"),
                address: need_one_address(ctx, el, addrs)?,
            })
        }
        "resultnotification-response" => {
            let a = Attrs::new(ctx, el, &["push-id", "code", "desc"])?;
            let push_id = a.req(ctx, "push-id")?.to_string();
            ctx.push_id = Some(push_id.clone());
            let code = a.code(ctx)?;
            let (addresses, _) = addresses_and_qos(ctx, el, false)?;
            PapMessage::ResultNotificationResponse(ResultNotificationResponse {
                push_id,
                code,
                desc: a.string("desc"),
                addresses,
            })
        }
        "push-response" => {
            let a = Attrs::new(
                ctx,
                el,
                &["push-id", "sender-address", "sender-name", "reply-time"],
            )?;
            let push_id = a.req(ctx, "push-id")?.to_string();
            ctx.push_id = Some(push_id.clone());
            let mut notes = Vec::new();
            let mut result = None;
            for c in &el.children {
                match c.name.as_ref() {
                    "progress-note" if result.is_none() => {
                        let n = Attrs::new(ctx, c, &["stage", "note", "time"])?;
                        no_children(ctx, c)?;
                        notes.push(ProgressNote {
                            stage: n.req(ctx, "stage")?.to_string(),
                            note: n.string("note"),
                            time: n.time(ctx, "time")?,
                        });
                    }
                    "response-result" if result.is_none() => {
                        let r = Attrs::new(ctx, c, &["code", "desc"])?;
                        no_children(ctx, c)?;
                        result = Some(ResponseResult {
                            code: r.code(ctx)?,
                            desc: r.string("desc"),
                        });
                    }
                    _ => return Err(unexpected(ctx, c, el)),
                }
            }
            let result = result.ok_or_else(|| {
                ctx.err(
                    DocumentErrorKind::MissingElement {
                        element: el.name.to_string(),
                        child: "response-result",
                    },
                    el,
                )
            })?;
            PapMessage::PushResponse(PushResponse {
                push_id,
                sender_address: a.string("sender-address"),
                sender_name: a.string("sender-name"),
                reply_time: a.time(ctx, "reply-time")?,
                progress_notes: notes,
                result,
            })
        }
        "badmessage-response" => {
            let a = Attrs::new(ctx, el, &["code", "desc", "bad-message-fragment"])?;
            no_children(ctx, el)?;
            PapMessage::BadMessageResponse(BadMessageResponse {
                code: a.code(ctx)?,
                desc: a.string("desc"),
                bad_message_fragment: a.string("bad-message-fragment"),
            })
        }
        "statusquery-response" | "cancel-response" => {
            let a = Attrs::new(ctx, el, &["push-id"])?;
            let push_id = a.req(ctx, "push-id")?.to_string();
            ctx.push_id = Some(push_id.clone());
            let (result_name, child): (&str, &'static str) = if el.name == "cancel-response" {
                ("cancel-result", "cancel-result")
            } else {
                ("statusquery-result", "statusquery-result")
            };
            let mut sq = Vec::new();
            let mut cr = Vec::new();
            for c in &el.children {
                if c.name != result_name {
                    return Err(unexpected(ctx, c, el));
                }
                if el.name == "cancel-response" {
                    let r = Attrs::new(ctx, c, &["code", "desc"])?;
                    let code = r.code(ctx)?;
                    let (addresses, _) = addresses_and_qos(ctx, c, false)?;
                    cr.push(CancelResult {
                        addresses,
                        code,
                        desc: r.string("desc"),
                    });
                } else {
                    let r = Attrs::new(ctx, c, &["event-time", "message-state", "code", "desc"])?;
                    let message_state = r.state(ctx)?;
                    let code = r.code(ctx)?;
                    let (addresses, qos) = addresses_and_qos(ctx, c, true)?;
                    sq.push(StatusQueryResult {
                        addresses,
                        qos,
                        event_time: r.time(ctx, "event-time")?,
                        message_state,
                        code,
                        desc: r.string("desc"),
                    });
                }
            }
            if sq.is_empty() && cr.is_empty() {
                return Err(ctx.err(
                    DocumentErrorKind::MissingElement {
                        element: el.name.to_string(),
                        child,
                    },
                    el,
                ));
            }
            if el.name == "cancel-response" {
                PapMessage::CancelResponse(CancelResponse {
                    push_id,
                    results: cr,
                })
            } else {
                PapMessage::StatusQueryResponse(StatusQueryResponse {
                    push_id,
                    results: sq,
                })
            }
        }
        "resultnotification-message" => {
            let a = Attrs::new(
                ctx,
                el,
                &[
                    "push-id",
                    "sender-address",
                    "sender-name",
                    "received-time",
                    "event-time",
                    "message-state",
                    "code",
                    "desc",
                ],
            )?;
            let push_id = a.req(ctx, "push-id")?.to_string();
            ctx.push_id = Some(push_id.clone());
            let message_state = a.state(ctx)?;
            let code = a.code(ctx)?;
            let (addrs, qos) = addresses_and_qos(ctx, el, true)?;
            PapMessage::ResultNotification(ResultNotificationMessage {
                push_id,
                sender_address: a.string("sender-address"),
                sender_name: a.string("sender-name"),
                received_time: a.time(ctx, "received-time")?,
                event_time: a.time(ctx, "event-time")?,
                message_state,
                code,
                desc: a.string("desc"),
                address: need_one_address(ctx, el, addrs)?,
                qos,
            })
        }
        "ccq-response" => {
            let a = Attrs::new(ctx, el, &["query-id", "code", "desc"])?;
            let query_id = a.req(ctx, "query-id")?.to_string();
            let code = a.code(ctx)?;
            let (addrs, _) = addresses_and_qos(ctx, el, false)?;
            PapMessage::CcqResponse(CcqResponse {
                query_id,
                code,
                desc: a.string("desc"),
                address: need_one_address(ctx, el, addrs)?,
            })
        }
        _ => unreachable_message(ctx, el)?,
    })
}

fn unreachable_message(ctx: &Ctx<'_>, el: &Element<'_>) -> Result<PapMessage, DocumentError> {
    Err(ctx.err(
        if KNOWN_ELEMENTS.contains(&el.name.as_ref()) {
            DocumentErrorKind::UnexpectedElement {
                element: el.name.to_string(),
                parent: "pap".into(),
            }
        } else {
            DocumentErrorKind::UnknownElement {
                element: el.name.to_string(),
                parent: "pap".into(),
            }
        },
        el,
    ))
}

fn xml_error(input: &[u8], f: XmlFailure) -> DocumentError {
    let kind = match f.problem {
        XmlProblem::TooLarge { size, limit } => DocumentErrorKind::TooLarge { size, limit },
        XmlProblem::NotUtf8 { valid_up_to } => DocumentErrorKind::NotUtf8 { valid_up_to },
        XmlProblem::Syntax { detail } => DocumentErrorKind::Syntax { detail },
        XmlProblem::UndefinedEntity { name } => DocumentErrorKind::UndefinedEntity { name },
        XmlProblem::EntityDeclaration => DocumentErrorKind::EntityDeclaration,
        XmlProblem::TooDeep { limit } => DocumentErrorKind::TooDeep { limit },
        XmlProblem::TooManyElements { limit } => DocumentErrorKind::TooManyElements { limit },
        XmlProblem::Text { element } => DocumentErrorKind::Text { element },
        XmlProblem::NoRoot => DocumentErrorKind::NoRoot,
        XmlProblem::AfterRoot => DocumentErrorKind::AfterRoot,
    };
    let ctx = Ctx {
        input,
        push_id: None,
    };
    // Quote up to the end of the line the problem is on.
    let off = f.offset.min(input.len());
    let end = memchr::memchr(b'\n', &input[off..]).map_or(input.len(), |i| off + i);
    let end = if end == off { input.len() } else { end };
    ctx.err_at(kind, off, end)
}

impl PapDocument {
    /// Parses a PAP document with the default limits.
    pub fn parse(input: &[u8]) -> Result<PapDocument, DocumentError> {
        PapDocument::parse_with(input, &XmlLimits::default())
    }

    /// Parses a PAP document within `limits`.
    pub fn parse_with(input: &[u8], limits: &XmlLimits) -> Result<PapDocument, DocumentError> {
        let doc = xml::read(input, limits).map_err(|f| xml_error(input, f))?;
        let mut ctx = Ctx {
            input,
            push_id: None,
        };
        let root = &doc.root;
        let version = match &doc.doctype {
            // No DOCTYPE: read it as PAP 2.0, whose vocabulary includes 1.0's.
            None => PapVersion::V2_0,
            Some(dt) => match &dt.public_id {
                None => PapVersion::V2_0,
                Some(id) => PapVersion::from_public_id(id).ok_or_else(|| {
                    ctx.err_at(
                        DocumentErrorKind::UnsupportedVersion {
                            public_id: id.to_string(),
                        },
                        0,
                        input.len().min(root.offset),
                    )
                })?,
            },
        };
        if root.name != "pap" {
            return Err(ctx.err(
                DocumentErrorKind::WrongRoot {
                    found: root.name.to_string(),
                },
                root,
            ));
        }
        let a = Attrs::new(&ctx, root, &["product-name"])?;
        let product_name = a.string("product-name");
        let el = match root.children.as_slice() {
            [] => return Err(ctx.err(DocumentErrorKind::NoMessage, root)),
            [one] => one,
            [first, second, ..] => {
                // Report the first unknown name before the count, it is the likelier mistake.
                if !KNOWN_ELEMENTS.contains(&first.name.as_ref()) {
                    return Err(unexpected(&ctx, first, root));
                }
                return Err(unexpected(&ctx, second, root));
            }
        };
        let message = message(&mut ctx, el)?;
        Ok(PapDocument {
            version,
            supported_versions: doc.pap_ver.map(|v| v.into_owned()),
            product_name,
            message,
        })
    }

    /// Writes the document: XML declaration, the DOCTYPE of its version (with the wap-pap-ver
    /// processing instruction when `supported_versions` is set), one element a line.
    pub fn to_xml(&self) -> String {
        let mut o = String::with_capacity(512);
        o.push_str("<?xml version=\"1.0\"?>\n<!DOCTYPE pap PUBLIC \"");
        o.push_str(self.version.public_id());
        o.push_str("\" \"");
        o.push_str(self.version.system_id());
        o.push('"');
        if let Some(v) = &self.supported_versions {
            // The instruction sits in the DOCTYPE's internal subset, where no escaping exists:
            // keep only the characters a version list uses (digits, `.`, `,`, `*`, blanks).
            o.push_str(" [<?wap-pap-ver supported-versions=\"");
            o.extend(
                v.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '*' | ' ')),
            );
            o.push_str("\"?>]");
        }
        o.push_str(">\n");
        xml::write_tag(
            &mut o,
            "pap",
            &[("product-name", self.product_name.as_deref())],
            false,
        );
        write_message(&mut o, &self.message);
        xml::write_end(&mut o, "pap");
        o
    }
}

/// Short ASCII text written on the stack (a PAP code, a timestamp): the answers' attribute
/// values without a `format!` and an allocation each.
struct Digits {
    buf: [u8; 20],
    len: usize,
}

impl Digits {
    fn new() -> Digits {
        Digits {
            buf: [0; 20],
            len: 0,
        }
    }
    /// Appends `v` in decimal, zero-padded to `width` digits.
    fn number(&mut self, v: u32, width: usize) {
        let mut tmp = [b'0'; 10];
        let mut i = tmp.len();
        let mut v = v;
        while v > 0 || i > tmp.len() - width.max(1) {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let digits = &tmp[i..];
        self.buf[self.len..self.len + digits.len()].copy_from_slice(digits);
        self.len += digits.len();
    }
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }
}

impl std::ops::Deref for Digits {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// A PAP code's text (what `Display` writes).
fn code_text(code: PapCode) -> Digits {
    let mut d = Digits::new();
    d.number(u32::from(code.as_u16()), 1);
    d
}

/// [`UtcTime::format_pap`]'s text: written on the stack for years 0–9999 (every time a PPG
/// sees), by `format_pap` itself otherwise.
enum TimeText {
    Short(Digits),
    Long(String),
}

impl std::ops::Deref for TimeText {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            TimeText::Short(d) => d,
            TimeText::Long(s) => s,
        }
    }
}

fn time_text(t: UtcTime) -> TimeText {
    let c = t.to_civil();
    let Ok(year @ 0..=9999) = u32::try_from(c.year) else {
        return TimeText::Long(t.format_pap());
    };
    let mut d = Digits::new();
    d.number(year, 4);
    for (sep, v) in [
        (b'-', c.month),
        (b'-', c.day),
        (b'T', c.hour),
        (b':', c.minute),
        (b':', c.second),
    ] {
        d.byte(sep);
        d.number(u32::from(v), 2);
    }
    d.byte(b'Z');
    TimeText::Short(d)
}

fn t(x: &Option<UtcTime>) -> Option<TimeText> {
    x.map(time_text)
}

fn b(x: Option<bool>) -> Option<&'static str> {
    x.map(|v| if v { "true" } else { "false" })
}

fn write_addresses(o: &mut String, addrs: &[Address]) {
    for a in addrs {
        let s = a.to_string();
        xml::write_tag(o, "address", &[("address-value", Some(&s))], true);
    }
}

fn write_qos(o: &mut String, q: &Option<QualityOfService>) {
    if let Some(q) = q {
        xml::write_tag(
            o,
            "quality-of-service",
            &[
                ("priority", q.priority.map(priority_text)),
                (
                    "delivery-method",
                    q.delivery_method.map(DeliveryMethod::as_str),
                ),
                ("network", q.network.as_deref()),
                ("network-required", b(q.network_required)),
                ("bearer", q.bearer.as_deref()),
                ("bearer-required", b(q.bearer_required)),
            ],
            true,
        );
    }
}

fn open_or_empty(o: &mut String, name: &str, attrs: &[(&str, Option<&str>)], has_children: bool) {
    xml::write_tag(o, name, attrs, !has_children);
}

fn write_message(o: &mut String, m: &PapMessage) {
    let name = m.element();
    match m {
        PapMessage::Push(p) => {
            let (db, da) = (t(&p.deliver_before), t(&p.deliver_after));
            xml::write_tag(
                o,
                name,
                &[
                    ("push-id", Some(&p.push_id)),
                    ("deliver-before-timestamp", db.as_deref()),
                    ("deliver-after-timestamp", da.as_deref()),
                    ("source-reference", p.source_reference.as_deref()),
                    (
                        "ppg-notify-requested-to",
                        p.ppg_notify_requested_to.as_deref(),
                    ),
                    ("progress-notes-requested", b(p.progress_notes_requested)),
                    ("replace-push-id", p.replace_push_id.as_deref()),
                    (
                        "replace-method",
                        p.replace_method.map(|r| match r {
                            ReplaceMethod::All => "all",
                            ReplaceMethod::PendingOnly => "pending-only",
                        }),
                    ),
                ],
                false,
            );
            write_addresses(o, &p.addresses);
            write_qos(o, &p.qos);
            xml::write_end(o, name);
        }
        PapMessage::StatusQuery(StatusQueryMessage { push_id, addresses })
        | PapMessage::Cancel(CancelMessage { push_id, addresses }) => {
            open_or_empty(
                o,
                name,
                &[("push-id", Some(push_id))],
                !addresses.is_empty(),
            );
            if !addresses.is_empty() {
                write_addresses(o, addresses);
                xml::write_end(o, name);
            }
        }
        PapMessage::Ccq(c) => {
            xml::write_tag(
                o,
                name,
                &[
                    ("query-id", Some(&c.query_id)),
                    ("app-id", c.app_id.as_deref()),
                ],
                false,
            );
            write_addresses(o, std::slice::from_ref(&c.address));
            xml::write_end(o, name);
        }
        PapMessage::ResultNotificationResponse(r) => {
            let code = code_text(r.code);
            open_or_empty(
                o,
                name,
                &[
                    ("push-id", Some(&r.push_id)),
                    ("code", Some(&code)),
                    ("desc", r.desc.as_deref()),
                ],
                !r.addresses.is_empty(),
            );
            if !r.addresses.is_empty() {
                write_addresses(o, &r.addresses);
                xml::write_end(o, name);
            }
        }
        PapMessage::PushResponse(r) => {
            let rt = t(&r.reply_time);
            xml::write_tag(
                o,
                name,
                &[
                    ("push-id", Some(&r.push_id)),
                    ("sender-address", r.sender_address.as_deref()),
                    ("sender-name", r.sender_name.as_deref()),
                    ("reply-time", rt.as_deref()),
                ],
                false,
            );
            for n in &r.progress_notes {
                let tm = t(&n.time);
                xml::write_tag(
                    o,
                    "progress-note",
                    &[
                        ("stage", Some(&n.stage)),
                        ("note", n.note.as_deref()),
                        ("time", tm.as_deref()),
                    ],
                    true,
                );
            }
            let code = code_text(r.result.code);
            xml::write_tag(
                o,
                "response-result",
                &[("code", Some(&code)), ("desc", r.result.desc.as_deref())],
                true,
            );
            xml::write_end(o, name);
        }
        PapMessage::BadMessageResponse(r) => {
            let code = code_text(r.code);
            xml::write_tag(
                o,
                name,
                &[
                    ("code", Some(&code)),
                    ("desc", r.desc.as_deref()),
                    ("bad-message-fragment", r.bad_message_fragment.as_deref()),
                ],
                true,
            );
        }
        PapMessage::StatusQueryResponse(r) => {
            xml::write_tag(o, name, &[("push-id", Some(&r.push_id))], false);
            for s in &r.results {
                let code = code_text(s.code);
                let et = t(&s.event_time);
                let children = !s.addresses.is_empty() || s.qos.is_some();
                open_or_empty(
                    o,
                    "statusquery-result",
                    &[
                        ("event-time", et.as_deref()),
                        ("message-state", Some(message_state_text(s.message_state))),
                        ("code", Some(&code)),
                        ("desc", s.desc.as_deref()),
                    ],
                    children,
                );
                if children {
                    write_addresses(o, &s.addresses);
                    write_qos(o, &s.qos);
                    xml::write_end(o, "statusquery-result");
                }
            }
            xml::write_end(o, name);
        }
        PapMessage::CancelResponse(r) => {
            xml::write_tag(o, name, &[("push-id", Some(&r.push_id))], false);
            for c in &r.results {
                let code = code_text(c.code);
                open_or_empty(
                    o,
                    "cancel-result",
                    &[("code", Some(&code)), ("desc", c.desc.as_deref())],
                    !c.addresses.is_empty(),
                );
                if !c.addresses.is_empty() {
                    write_addresses(o, &c.addresses);
                    xml::write_end(o, "cancel-result");
                }
            }
            xml::write_end(o, name);
        }
        PapMessage::ResultNotification(r) => {
            let code = code_text(r.code);
            let (rt, et) = (t(&r.received_time), t(&r.event_time));
            xml::write_tag(
                o,
                name,
                &[
                    ("push-id", Some(&r.push_id)),
                    ("sender-address", r.sender_address.as_deref()),
                    ("sender-name", r.sender_name.as_deref()),
                    ("received-time", rt.as_deref()),
                    ("event-time", et.as_deref()),
                    ("message-state", Some(message_state_text(r.message_state))),
                    ("code", Some(&code)),
                    ("desc", r.desc.as_deref()),
                ],
                false,
            );
            write_addresses(o, std::slice::from_ref(&r.address));
            write_qos(o, &r.qos);
            xml::write_end(o, name);
        }
        PapMessage::CcqResponse(r) => {
            let code = code_text(r.code);
            xml::write_tag(
                o,
                name,
                &[
                    ("query-id", Some(&r.query_id)),
                    ("code", Some(&code)),
                    ("desc", r.desc.as_deref()),
                ],
                false,
            );
            write_addresses(o, std::slice::from_ref(&r.address));
            xml::write_end(o, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The stack-written timestamps and codes are `format_pap`'s and `Display`'s text.
        #[test]
        fn stack_texts_are_the_formatted_ones(secs in proptest::num::i64::ANY, code in proptest::num::u16::ANY) {
            // Up to year ±300,000, the range `to_civil` is exact in.
            let secs = secs % 9_000_000_000_000;
            let t = UtcTime(secs);
            let (fast, slow) = (time_text(t), t.format_pap());
            proptest::prop_assert_eq!(&*fast, slow.as_str());
            let c = PapCode::from_u16(code);
            let (fast, slow) = (code_text(c), c.to_string());
            proptest::prop_assert_eq!(&*fast, slow.as_str());
        }
    }

    #[test]
    fn stack_texts_at_the_edges() {
        for secs in [
            0,
            -1,
            59,
            86_399,
            253_402_300_799,
            253_402_300_800,
            -62_167_219_200,
            -62_167_219_201,
        ] {
            let t = UtcTime(secs);
            assert_eq!(&*time_text(t), t.format_pap(), "{secs}");
        }
        for code in [0, 1, 9, 10, 1001, 9999, 10_000, u16::MAX] {
            let c = PapCode::from_u16(code);
            assert_eq!(&*code_text(c), c.to_string(), "{code}");
        }
    }
}
