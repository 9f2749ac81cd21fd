//! The one place where something that went wrong with a PAP request becomes an HTTP status, a
//! PAP code, and a desc a PI developer can act on.

use axum::http::StatusCode;

use crate::compile::CompileError;
use crate::http::auth::AuthError;
use crate::pap::{PapCode, PapError};
use crate::store::StoreError;

/// Everything that stops a PAP request short of success.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("authentication: {0}")]
    Auth(AuthError),
    #[error("the body is larger than the {limit}-octet limit")]
    BodyTooLarge { limit: usize },
    #[error("the body could not be read: {0}")]
    BodyRead(String),
    #[error("PI {pi} exceeds its rate limit of {rate} push-messages per second")]
    RateLimited {
        pi: String,
        rate: f64,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Pap(Box<PapError>),
    #[error("{0}")]
    Content(CompileError),
    #[error("address {address}: {problem}")]
    Address { address: String, problem: String },
    #[error("address {address}: this PI may not push to it (allowed prefixes: {allowed})")]
    DestinationForbidden { address: String, allowed: String },
    #[error("deliver-before-timestamp {0} is already past")]
    AlreadyExpired(String),
    #[error("deliver-after-timestamp {after} is not before deliver-before-timestamp {before}")]
    EmptyDeliveryWindow { after: String, before: String },
    #[error("replace-push-id is not supported by this PPG; cancel the old push and send a new one")]
    ReplacementNotSupported,
    #[error("network {0:?} is required but this PPG delivers over GSM only")]
    NetworkNotAvailable(String),
    #[error("bearer {0:?} is required but this PPG delivers over SMS only")]
    BearerNotAvailable(String),
    #[error("the content needs {needed} SMS for {address}; SMSC {smsc} allows at most {allowed}")]
    TooManySegments {
        address: String,
        needed: usize,
        allowed: usize,
        smsc: String,
    },
    #[error("push-id {0:?} is already in use (still remembered); use a new push-id")]
    DuplicatePushId(String),
    #[error("the queue is full ({depth} recipients pending, limit {limit}); retry later")]
    QueueFull { depth: u64, limit: u64 },
    #[error("the store failed: {0}")]
    Store(String),
    #[error("push-id {0:?} is not known to this PPG")]
    UnknownPushId(String),
    #[error("ppgd keeps no client capability (UAProf) database")]
    CcqNotSupported,
}

/// How a rejection is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    /// None: an HTTP-level refusal with a plain-text body (no PAP document).
    pub code: Option<PapCode>,
    /// Seconds for a Retry-After header.
    pub retry_after: Option<u64>,
    /// Add `WWW-Authenticate: Basic realm="ppgd"`.
    pub challenge: bool,
}

impl Rejection {
    /// The mapping, exhaustive on purpose: a new rejection must choose its answer here.
    pub fn answer(&self) -> Answer {
        let pap = |code: PapCode| Answer {
            status: StatusCode::ACCEPTED,
            code: Some(code),
            retry_after: None,
            challenge: false,
        };
        let http = |status: StatusCode| Answer {
            status,
            code: None,
            retry_after: None,
            challenge: false,
        };
        match self {
            Rejection::Auth(AuthError::SourceNotAllowed { .. }) => http(StatusCode::FORBIDDEN),
            Rejection::Auth(
                AuthError::Missing | AuthError::Malformed | AuthError::BadCredentials,
            ) => Answer {
                challenge: true,
                ..http(StatusCode::UNAUTHORIZED)
            },
            Rejection::BodyTooLarge { .. } => http(StatusCode::PAYLOAD_TOO_LARGE),
            Rejection::BodyRead(_) => http(StatusCode::BAD_REQUEST),
            Rejection::RateLimited {
                retry_after_secs, ..
            } => Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: Some(PapCode::ServiceUnavailable),
                retry_after: Some(*retry_after_secs),
                challenge: false,
            },
            Rejection::Pap(e) => pap(e.pap_code()),
            Rejection::Content(CompileError::InvalidNotification { .. })
            | Rejection::Content(CompileError::BadContentType { .. })
            | Rejection::Content(CompileError::BadBinary { .. })
            | Rejection::Content(CompileError::WrongDocument { .. }) => pap(PapCode::BadRequest),
            Rejection::Content(CompileError::Transformation { .. })
            | Rejection::Content(CompileError::Unsupported { .. }) => {
                pap(PapCode::TransformationFailure)
            }
            Rejection::Address { .. } => pap(PapCode::AddressError),
            Rejection::DestinationForbidden { .. } => pap(PapCode::Forbidden),
            // Kannel answers an already-past deliver-before with 2001 (digest §1.7).
            Rejection::AlreadyExpired(_) => pap(PapCode::Forbidden),
            Rejection::EmptyDeliveryWindow { .. } => pap(PapCode::BadRequest),
            Rejection::ReplacementNotSupported => pap(PapCode::ReplacementNotSupported),
            Rejection::NetworkNotAvailable(_) => pap(PapCode::RequiredNetworkNotAvailable),
            Rejection::BearerNotAvailable(_) => pap(PapCode::RequiredBearerNotAvailable),
            // PAP has no "too large" code; the PPG cannot transform the content to the bearer.
            Rejection::TooManySegments { .. } => pap(PapCode::TransformationFailure),
            Rejection::DuplicatePushId(_) => pap(PapCode::DuplicatePushId),
            Rejection::QueueFull { .. } => Answer {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: Some(PapCode::ServiceUnavailable),
                retry_after: Some(5),
                challenge: false,
            },
            Rejection::Store(_) => Answer {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: Some(PapCode::InternalServerError),
                retry_after: None,
                challenge: false,
            },
            Rejection::UnknownPushId(_) => pap(PapCode::PushIdNotFound),
            Rejection::CcqNotSupported => pap(PapCode::CapabilityMatchingNotSupported),
        }
    }
}

impl From<StoreError> for Rejection {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DuplicatePushId { push_id } => Rejection::DuplicatePushId(push_id),
            StoreError::QueueFull { depth, limit } => Rejection::QueueFull { depth, limit },
            other @ (StoreError::Closed | StoreError::Backend(_)) => {
                Rejection::Store(other.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_table() {
        let cases: Vec<(Rejection, u16, Option<u16>)> = vec![
            (Rejection::Auth(AuthError::Missing), 401, None),
            (Rejection::Auth(AuthError::BadCredentials), 401, None),
            (
                Rejection::Auth(AuthError::SourceNotAllowed {
                    pi: "a".into(),
                    ip: "192.0.2.1".parse().unwrap(),
                }),
                403,
                None,
            ),
            (Rejection::BodyTooLarge { limit: 10 }, 413, None),
            (
                Rejection::RateLimited {
                    pi: "a".into(),
                    rate: 1.0,
                    retry_after_secs: 1,
                },
                429,
                Some(4001),
            ),
            (
                Rejection::Address {
                    address: "x".into(),
                    problem: "y".into(),
                },
                202,
                Some(2002),
            ),
            (
                Rejection::DestinationForbidden {
                    address: "x".into(),
                    allowed: "+49".into(),
                },
                202,
                Some(2001),
            ),
            (Rejection::AlreadyExpired("t".into()), 202, Some(2001)),
            (Rejection::ReplacementNotSupported, 202, Some(3011)),
            (
                Rejection::NetworkNotAvailable("CDMA".into()),
                202,
                Some(3009),
            ),
            (
                Rejection::BearerNotAvailable("GPRS".into()),
                202,
                Some(3010),
            ),
            (
                Rejection::TooManySegments {
                    address: "x".into(),
                    needed: 11,
                    allowed: 10,
                    smsc: "s".into(),
                },
                202,
                Some(3006),
            ),
            (Rejection::DuplicatePushId("p".into()), 202, Some(2007)),
            (Rejection::QueueFull { depth: 1, limit: 1 }, 503, Some(4001)),
            (Rejection::Store("x".into()), 500, Some(3000)),
            (Rejection::UnknownPushId("p".into()), 202, Some(2004)),
            (Rejection::CcqNotSupported, 202, Some(3004)),
            (
                Rejection::Content(CompileError::InvalidNotification { violations: vec![] }),
                202,
                Some(2000),
            ),
            (
                Rejection::Content(CompileError::Unsupported {
                    media: "text/vnd.wap.wml".into(),
                    instead: "wmlc",
                }),
                202,
                Some(3006),
            ),
        ];
        for (rejection, status, code) in cases {
            let a = rejection.answer();
            assert_eq!(a.status.as_u16(), status, "{rejection}");
            assert_eq!(a.code.map(|c| c.as_u16()), code, "{rejection}");
        }
        assert!(Rejection::Auth(AuthError::Missing).answer().challenge);
        assert_eq!(
            Rejection::QueueFull { depth: 1, limit: 1 }
                .answer()
                .retry_after,
            Some(5)
        );
    }
}
