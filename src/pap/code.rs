//! PAP status codes (WAP-247 PAP 2.0 §9.13, WAP-164 PAP 1.0 §9.13) and the PAP text of
//! message-state values (WAP-247 §9.14, digest §1.5–1.6).

use crate::store::MessageState;

/// A PAP status code. Every code the specifications name has its own variant; anything else
/// (implementation-specific x500–x999 codes, 5xxx abort reasons) is kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PapCode {
    /// 1000: request completed.
    Ok,
    /// 1001: accepted for processing; the outcome is reported later.
    Accepted,
    /// 2000: malformed or unparsable request.
    BadRequest,
    /// 2001: refused (authorisation, ACL, already-expired deliver-before).
    Forbidden,
    /// 2002: client address not recognised or invalid.
    AddressError,
    /// 2003: address unknown to the PPG.
    AddressNotFound,
    /// 2004: cancel or statusquery for an unknown push-id.
    PushIdNotFound,
    /// 2005: PI-assumed capabilities not acceptable for the client.
    CapabilitiesMismatch,
    /// 2006: required capabilities not supported.
    RequiredCapabilitiesNotSupported,
    /// 2007: push-id not unique.
    DuplicatePushId,
    /// 2008: push-id valid but the push cannot be cancelled.
    CancellationNotPossible,
    /// 3000: internal server error.
    InternalServerError,
    /// 3001: operation not supported.
    NotImplemented,
    /// 3002: PAP version not supported.
    VersionNotSupported,
    /// 3003: action not possible (message no longer available).
    NotPossible,
    /// 3004: capability matching not supported.
    CapabilityMatchingNotSupported,
    /// 3005: multiple addresses not supported.
    MultipleAddressesNotSupported,
    /// 3006: the PPG could not transform the content.
    TransformationFailure,
    /// 3007: the specified delivery method is not possible.
    SpecifiedDeliveryMethodNotPossible,
    /// 3008: capabilities not available.
    CapabilitiesNotAvailable,
    /// 3009: required network not available.
    RequiredNetworkNotAvailable,
    /// 3010: required bearer not available.
    RequiredBearerNotAvailable,
    /// 3011: replacement (replace-push-id) not supported (PAP 2.0).
    ReplacementNotSupported,
    /// 4000: service failure; the PI may retry.
    ServiceFailure,
    /// 4001: PPG temporarily unavailable.
    ServiceUnavailable,
    /// 5000: mobile client aborted, no reason given.
    MobileClientAborted,
    /// Any other code, kept as received.
    Other(u16),
}

/// The class of a PAP code: its thousands digit (WAP-247 §9.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PapCodeClass {
    Success,
    ClientError,
    ServerError,
    ServiceFailure,
    MobileClientAborted,
    /// Outside 1000–5999.
    Invalid,
}

const NAMED: &[(u16, PapCode, &str)] = &[
    (1000, PapCode::Ok, "OK"),
    (1001, PapCode::Accepted, "Accepted for Processing"),
    (2000, PapCode::BadRequest, "Bad Request"),
    (2001, PapCode::Forbidden, "Forbidden"),
    (2002, PapCode::AddressError, "Address Error"),
    (2003, PapCode::AddressNotFound, "Address Not Found"),
    (2004, PapCode::PushIdNotFound, "Push ID Not Found"),
    (2005, PapCode::CapabilitiesMismatch, "Capabilities Mismatch"),
    (
        2006,
        PapCode::RequiredCapabilitiesNotSupported,
        "Required Capabilities Not Supported",
    ),
    (2007, PapCode::DuplicatePushId, "Duplicate Push ID"),
    (
        2008,
        PapCode::CancellationNotPossible,
        "Cancellation Not Possible",
    ),
    (3000, PapCode::InternalServerError, "Internal Server Error"),
    (3001, PapCode::NotImplemented, "Not Implemented"),
    (3002, PapCode::VersionNotSupported, "Version Not Supported"),
    (3003, PapCode::NotPossible, "Not Possible"),
    (
        3004,
        PapCode::CapabilityMatchingNotSupported,
        "Capability Matching Not Supported",
    ),
    (
        3005,
        PapCode::MultipleAddressesNotSupported,
        "Multiple Addresses Not Supported",
    ),
    (
        3006,
        PapCode::TransformationFailure,
        "Transformation Failure",
    ),
    (
        3007,
        PapCode::SpecifiedDeliveryMethodNotPossible,
        "Specified Delivery Method Not Possible",
    ),
    (
        3008,
        PapCode::CapabilitiesNotAvailable,
        "Capabilities Not Available",
    ),
    (
        3009,
        PapCode::RequiredNetworkNotAvailable,
        "Required Network Not Available",
    ),
    (
        3010,
        PapCode::RequiredBearerNotAvailable,
        "Required Bearer Not Available",
    ),
    (
        3011,
        PapCode::ReplacementNotSupported,
        "Replacement Not Supported",
    ),
    (4000, PapCode::ServiceFailure, "Service Failure"),
    (4001, PapCode::ServiceUnavailable, "Service Unavailable"),
    (5000, PapCode::MobileClientAborted, "Mobile Client Aborted"),
];

impl PapCode {
    /// Every named code, in numeric order (for tables and tests).
    pub fn all_named() -> impl Iterator<Item = PapCode> {
        NAMED.iter().map(|(_, c, _)| *c)
    }

    /// The code exactly as given: a named code gets its variant, anything else is `Other`.
    pub fn from_u16(code: u16) -> PapCode {
        NAMED
            .iter()
            .find(|(n, _, _)| *n == code)
            .map(|(_, c, _)| *c)
            .unwrap_or(PapCode::Other(code))
    }

    /// Like [`from_u16`](Self::from_u16), but an unknown code inside 1000–5999 collapses to the
    /// base of its class (x000), as Kannel does when it consumes codes from other PPGs and PIs.
    /// Codes outside 1000–5999 stay `Other`.
    pub fn from_u16_collapsed(code: u16) -> PapCode {
        match PapCode::from_u16(code) {
            PapCode::Other(n) if (1000..6000).contains(&n) => PapCode::from_u16(n / 1000 * 1000),
            named => named,
        }
    }

    /// Parses the text of a `code` attribute (decimal digits, surrounding blanks tolerated).
    pub fn parse(text: &str) -> Option<PapCode> {
        let t = text.trim();
        if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse::<u16>().ok().map(PapCode::from_u16)
    }

    pub fn as_u16(self) -> u16 {
        match self {
            PapCode::Other(n) => n,
            named => NAMED
                .iter()
                .find(|(_, c, _)| *c == named)
                .map(|(n, _, _)| *n)
                .unwrap_or(0),
        }
    }

    /// The name the specification gives the code (for `desc` attributes and logs).
    pub fn meaning(self) -> &'static str {
        if let Some((_, _, m)) = NAMED.iter().find(|(_, c, _)| *c == self) {
            return m;
        }
        match self.class() {
            PapCodeClass::Success => "Success",
            PapCodeClass::ClientError => "Client Error",
            PapCodeClass::ServerError => "Server Error",
            PapCodeClass::ServiceFailure => "Service Failure",
            PapCodeClass::MobileClientAborted => "Mobile Client Aborted",
            PapCodeClass::Invalid => "Unknown Code",
        }
    }

    pub fn class(self) -> PapCodeClass {
        match self.as_u16() / 1000 {
            1 => PapCodeClass::Success,
            2 => PapCodeClass::ClientError,
            3 => PapCodeClass::ServerError,
            4 => PapCodeClass::ServiceFailure,
            5 => PapCodeClass::MobileClientAborted,
            _ => PapCodeClass::Invalid,
        }
    }

    pub fn is_success(self) -> bool {
        self.class() == PapCodeClass::Success
    }
}

impl std::fmt::Display for PapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

/// Parses a PAP `message-state` attribute (WAP-247 §9.14; PAP 1.0 uses a subset). PIs and PPGs
/// in the field vary the case, so the match ignores ASCII case.
pub fn parse_message_state(text: &str) -> Option<MessageState> {
    let t = text.trim();
    if t.len() > 16 {
        return None;
    }
    MessageState::parse(&t.to_ascii_lowercase())
}

/// The PAP text of a message state (the store's spelling is the PAP one).
pub fn message_state_text(state: MessageState) -> &'static str {
    state.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_round_trips_and_is_in_its_class() {
        for c in PapCode::all_named() {
            let n = c.as_u16();
            assert_eq!(PapCode::from_u16(n), c);
            assert_eq!(PapCode::parse(&n.to_string()), Some(c));
            assert_ne!(c.meaning(), "");
            assert_eq!(c.class() as u8, (n / 1000 - 1) as u8);
        }
        assert_eq!(PapCode::all_named().count(), 26);
    }

    #[test]
    fn unknown_codes_are_kept_or_collapsed() {
        assert_eq!(PapCode::from_u16(2042), PapCode::Other(2042));
        assert_eq!(PapCode::from_u16_collapsed(2042), PapCode::BadRequest);
        assert_eq!(PapCode::from_u16_collapsed(1500), PapCode::Ok);
        assert_eq!(
            PapCode::from_u16_collapsed(3999),
            PapCode::InternalServerError
        );
        assert_eq!(
            PapCode::from_u16_collapsed(5028),
            PapCode::MobileClientAborted
        );
        assert_eq!(PapCode::from_u16_collapsed(2007), PapCode::DuplicatePushId);
        assert_eq!(PapCode::from_u16_collapsed(6001), PapCode::Other(6001));
        assert_eq!(PapCode::from_u16_collapsed(999), PapCode::Other(999));
        assert_eq!(PapCode::Other(5028).as_u16(), 5028);
        assert_eq!(PapCode::Other(5028).meaning(), "Mobile Client Aborted");
    }

    #[test]
    fn code_text_is_strict_digits() {
        assert_eq!(PapCode::parse(" 1001 "), Some(PapCode::Accepted));
        assert_eq!(PapCode::parse("+1001"), None);
        assert_eq!(PapCode::parse("10a1"), None);
        assert_eq!(PapCode::parse("99999"), None);
        assert_eq!(PapCode::parse(""), None);
    }

    #[test]
    fn message_states_parse_in_any_case() {
        assert_eq!(
            parse_message_state("Delivered"),
            Some(MessageState::Delivered)
        );
        assert_eq!(
            parse_message_state("cancelled"),
            Some(MessageState::Cancelled)
        );
        assert_eq!(parse_message_state("gone"), None);
        assert_eq!(message_state_text(MessageState::Timeout), "timeout");
    }
}
