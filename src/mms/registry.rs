//! MMS header-field registry 0x81–0xBF and token tables (OMA-MMS-ENC 1.0–1.3 §7; digest §3).
//! Codes, names and value encodings checked against AOSP PduHeaders.java and Wireshark
//! packet-mmse.c; the version column is the MMS version that assigned the code (Wireshark's
//! per-version annotations: 0x81–0x98 1.0, 0x99–0xA1 1.1, 0xA2–0xB3 1.2, 0xB4–0xBF 1.3).

/// How a field's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text-string.
    Text,
    /// Encoded-string-value.
    EncodedString,
    /// Long-integer.
    LongInteger,
    /// Integer-value.
    IntegerValue,
    /// Short-integer token, with its meanings.
    Token(&'static [(u8, &'static str)]),
    /// Yes (`80`) / No (`81`).
    YesNo,
    /// MMS-Version: Short-integer (major.minor).
    Version,
    /// From: Value-length + (Address-present-token `80` + Encoded-string | Insert-address `81`).
    From,
    /// Value-length + (Absolute `80` + Date-value | Relative `81` + Delta-seconds-value).
    Time,
    /// Content-type-value; ends the headers.
    ContentType,
    /// Message-Class: class token or Token-text.
    MessageClass,
    /// A short-integer naming another field (X-Mms-Attributes).
    FieldCode,
    /// A Value-length-delimited composite kept as raw octets.
    Composite,
    /// Any value form, kept raw.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub code: u8,
    pub name: &'static str,
    pub kind: Kind,
    /// The MMS version (major, minor) that assigned the code.
    pub version: (u8, u8),
}

pub const YES_NO: &[(u8, &str)] = &[(0x80, "Yes"), (0x81, "No")];

pub const MESSAGE_TYPES: &[(u8, &str)] = &[
    (0x80, "m-send-req"),
    (0x81, "m-send-conf"),
    (0x82, "m-notification-ind"),
    (0x83, "m-notifyresp-ind"),
    (0x84, "m-retrieve-conf"),
    (0x85, "m-acknowledge-ind"),
    (0x86, "m-delivery-ind"),
    (0x87, "m-read-rec-ind"),
    (0x88, "m-read-orig-ind"),
    (0x89, "m-forward-req"),
    (0x8A, "m-forward-conf"),
    (0x8B, "m-mbox-store-req"),
    (0x8C, "m-mbox-store-conf"),
    (0x8D, "m-mbox-view-req"),
    (0x8E, "m-mbox-view-conf"),
    (0x8F, "m-mbox-upload-req"),
    (0x90, "m-mbox-upload-conf"),
    (0x91, "m-mbox-delete-req"),
    (0x92, "m-mbox-delete-conf"),
    (0x93, "m-mbox-descr"),
    (0x94, "m-delete-req"),
    (0x95, "m-delete-conf"),
    (0x96, "m-cancel-req"),
    (0x97, "m-cancel-conf"),
];

pub const MESSAGE_CLASSES: &[(u8, &str)] = &[
    (0x80, "Personal"),
    (0x81, "Advertisement"),
    (0x82, "Informational"),
    (0x83, "Auto"),
];

pub const PRIORITIES: &[(u8, &str)] = &[(0x80, "Low"), (0x81, "Normal"), (0x82, "High")];

pub const STATUSES: &[(u8, &str)] = &[
    (0x80, "Expired"),
    (0x81, "Retrieved"),
    (0x82, "Rejected"),
    (0x83, "Deferred"),
    (0x84, "Unrecognised"),
    (0x85, "Indeterminate"),
    (0x86, "Forwarded"),
    (0x87, "Unreachable"),
];

pub const RESPONSE_STATUSES: &[(u8, &str)] = &[
    (0x80, "Ok"),
    (0x81, "Error-unspecified"),
    (0x82, "Error-service-denied"),
    (0x83, "Error-message-format-corrupt"),
    (0x84, "Error-sending-address-unresolved"),
    (0x85, "Error-message-not-found"),
    (0x86, "Error-network-problem"),
    (0x87, "Error-content-not-accepted"),
    (0x88, "Error-unsupported-message"),
    (0xC0, "Error-transient-failure"),
    (0xC1, "Error-transient-sending-address-unresolved"),
    (0xC2, "Error-transient-message-not-found"),
    (0xC3, "Error-transient-network-problem"),
    (0xC4, "Error-transient-partial-success"),
    (0xE0, "Error-permanent-failure"),
    (0xE1, "Error-permanent-service-denied"),
    (0xE2, "Error-permanent-message-format-corrupt"),
    (0xE3, "Error-permanent-sending-address-unresolved"),
    (0xE4, "Error-permanent-message-not-found"),
    (0xE5, "Error-permanent-content-not-accepted"),
    (0xE6, "Error-permanent-reply-charging-limitations-not-met"),
    (0xE7, "Error-permanent-reply-charging-request-not-accepted"),
    (0xE8, "Error-permanent-reply-charging-forwarding-denied"),
    (0xE9, "Error-permanent-reply-charging-not-supported"),
    (0xEA, "Error-permanent-address-hiding-not-supported"),
    (0xEB, "Error-permanent-lack-of-prepaid"),
];

pub const RETRIEVE_STATUSES: &[(u8, &str)] = &[
    (0x80, "Ok"),
    (0xC0, "Error-transient-failure"),
    (0xC1, "Error-transient-message-not-found"),
    (0xC2, "Error-transient-network-problem"),
    (0xE0, "Error-permanent-failure"),
    (0xE1, "Error-permanent-service-denied"),
    (0xE2, "Error-permanent-message-not-found"),
    (0xE3, "Error-permanent-content-unsupported"),
];

pub const SENDER_VISIBILITY: &[(u8, &str)] = &[(0x80, "Hide"), (0x81, "Show")];
pub const READ_STATUS: &[(u8, &str)] = &[(0x80, "Read"), (0x81, "Deleted without being read")];
pub const REPLY_CHARGING: &[(u8, &str)] = &[
    (0x80, "Requested"),
    (0x81, "Requested text only"),
    (0x82, "Accepted"),
    (0x83, "Accepted text only"),
];
pub const MM_STATES: &[(u8, &str)] = &[
    (0x80, "Draft"),
    (0x81, "Sent"),
    (0x82, "New"),
    (0x83, "Retrieved"),
    (0x84, "Forwarded"),
];
pub const STORE_STATUSES: &[(u8, &str)] = &[
    (0x80, "Success"),
    (0xC0, "Error-transient-failure"),
    (0xC1, "Error-transient-network-problem"),
    (0xE0, "Error-permanent-failure"),
    (0xE1, "Error-permanent-service-denied"),
    (0xE2, "Error-permanent-message-format-corrupt"),
    (0xE3, "Error-permanent-message-not-found"),
    (0xE4, "Error-permanent-mmbox-full"),
];
pub const RETRIEVAL_MODES: &[(u8, &str)] = &[(0x80, "Manual")];
pub const CONTENT_CLASSES: &[(u8, &str)] = &[
    (0x80, "text"),
    (0x81, "image-basic"),
    (0x82, "image-rich"),
    (0x83, "video-basic"),
    (0x84, "video-rich"),
    (0x85, "megapixel"),
    (0x86, "content-basic"),
    (0x87, "content-rich"),
];
pub const CANCEL_STATUSES: &[(u8, &str)] = &[
    (0x80, "Cancel request successfully received"),
    (0x81, "Cancel request corrupted"),
];

macro_rules! f {
    ($code:expr, $name:expr, $kind:expr, $maj:expr, $min:expr) => {
        Field {
            code: $code,
            name: $name,
            kind: $kind,
            version: ($maj, $min),
        }
    };
}

use Kind::*;

/// Every header field of MMS 1.0–1.3, index = code − 0x81.
pub static FIELDS: &[Field] = &[
    f!(0x81, "Bcc", EncodedString, 1, 0),
    f!(0x82, "Cc", EncodedString, 1, 0),
    f!(0x83, "X-Mms-Content-Location", Text, 1, 0),
    f!(0x84, "Content-Type", ContentType, 1, 0),
    f!(0x85, "Date", LongInteger, 1, 0),
    f!(0x86, "X-Mms-Delivery-Report", YesNo, 1, 0),
    f!(0x87, "X-Mms-Delivery-Time", Time, 1, 0),
    f!(0x88, "X-Mms-Expiry", Time, 1, 0),
    f!(0x89, "From", From, 1, 0),
    f!(0x8A, "X-Mms-Message-Class", MessageClass, 1, 0),
    f!(0x8B, "Message-ID", Text, 1, 0),
    f!(0x8C, "X-Mms-Message-Type", Token(MESSAGE_TYPES), 1, 0),
    f!(0x8D, "X-Mms-MMS-Version", Version, 1, 0),
    f!(0x8E, "X-Mms-Message-Size", LongInteger, 1, 0),
    f!(0x8F, "X-Mms-Priority", Token(PRIORITIES), 1, 0),
    f!(0x90, "X-Mms-Read-Report", YesNo, 1, 0),
    f!(0x91, "X-Mms-Report-Allowed", YesNo, 1, 0),
    f!(
        0x92,
        "X-Mms-Response-Status",
        Token(RESPONSE_STATUSES),
        1,
        0
    ),
    f!(0x93, "X-Mms-Response-Text", EncodedString, 1, 0),
    f!(
        0x94,
        "X-Mms-Sender-Visibility",
        Token(SENDER_VISIBILITY),
        1,
        0
    ),
    f!(0x95, "X-Mms-Status", Token(STATUSES), 1, 0),
    f!(0x96, "Subject", EncodedString, 1, 0),
    f!(0x97, "To", EncodedString, 1, 0),
    f!(0x98, "X-Mms-Transaction-ID", Text, 1, 0),
    f!(
        0x99,
        "X-Mms-Retrieve-Status",
        Token(RETRIEVE_STATUSES),
        1,
        1
    ),
    f!(0x9A, "X-Mms-Retrieve-Text", EncodedString, 1, 1),
    f!(0x9B, "X-Mms-Read-Status", Token(READ_STATUS), 1, 1),
    f!(0x9C, "X-Mms-Reply-Charging", Token(REPLY_CHARGING), 1, 1),
    f!(0x9D, "X-Mms-Reply-Charging-Deadline", Time, 1, 1),
    f!(0x9E, "X-Mms-Reply-Charging-ID", Text, 1, 1),
    f!(0x9F, "X-Mms-Reply-Charging-Size", LongInteger, 1, 1),
    f!(0xA0, "X-Mms-Previously-Sent-By", Composite, 1, 1),
    f!(0xA1, "X-Mms-Previously-Sent-Date", Composite, 1, 1),
    f!(0xA2, "X-Mms-Store", YesNo, 1, 2),
    f!(0xA3, "X-Mms-MM-State", Token(MM_STATES), 1, 2),
    f!(0xA4, "X-Mms-MM-Flags", Composite, 1, 2),
    f!(0xA5, "X-Mms-Store-Status", Token(STORE_STATUSES), 1, 2),
    f!(0xA6, "X-Mms-Store-Status-Text", EncodedString, 1, 2),
    f!(0xA7, "X-Mms-Stored", YesNo, 1, 2),
    f!(0xA8, "X-Mms-Attributes", FieldCode, 1, 2),
    f!(0xA9, "X-Mms-Totals", YesNo, 1, 2),
    f!(0xAA, "X-Mms-Mbox-Totals", Composite, 1, 2),
    f!(0xAB, "X-Mms-Quotas", YesNo, 1, 2),
    f!(0xAC, "X-Mms-Mbox-Quotas", Composite, 1, 2),
    f!(0xAD, "X-Mms-Message-Count", IntegerValue, 1, 2),
    f!(0xAE, "Content", Any, 1, 2),
    f!(0xAF, "X-Mms-Start", IntegerValue, 1, 2),
    f!(0xB0, "Additional-headers", Any, 1, 2),
    f!(0xB1, "X-Mms-Distribution-Indicator", YesNo, 1, 2),
    f!(0xB2, "X-Mms-Element-Descriptor", Composite, 1, 2),
    f!(0xB3, "X-Mms-Limit", IntegerValue, 1, 2),
    f!(
        0xB4,
        "X-Mms-Recommended-Retrieval-Mode",
        Token(RETRIEVAL_MODES),
        1,
        3
    ),
    f!(
        0xB5,
        "X-Mms-Recommended-Retrieval-Mode-Text",
        EncodedString,
        1,
        3
    ),
    f!(0xB6, "X-Mms-Status-Text", EncodedString, 1, 3),
    f!(0xB7, "X-Mms-Applic-ID", Text, 1, 3),
    f!(0xB8, "X-Mms-Reply-Applic-ID", Text, 1, 3),
    f!(0xB9, "X-Mms-Aux-Applic-Info", Text, 1, 3),
    f!(0xBA, "X-Mms-Content-Class", Token(CONTENT_CLASSES), 1, 3),
    f!(0xBB, "X-Mms-DRM-Content", YesNo, 1, 3),
    f!(0xBC, "X-Mms-Adaptation-Allowed", YesNo, 1, 3),
    f!(0xBD, "X-Mms-Replace-ID", Text, 1, 3),
    f!(0xBE, "X-Mms-Cancel-ID", Text, 1, 3),
    f!(0xBF, "X-Mms-Cancel-Status", Token(CANCEL_STATUSES), 1, 3),
];

pub fn field(code: u8) -> Option<&'static Field> {
    code.checked_sub(0x81)
        .and_then(|i| FIELDS.get(usize::from(i)))
}

/// The field's name, or `unknown field 0xNN`-style text for unassigned codes.
pub fn field_name(code: u8) -> &'static str {
    field(code).map(|f| f.name).unwrap_or("unassigned field")
}

pub fn token_name(table: &[(u8, &'static str)], v: u8) -> Option<&'static str> {
    table.iter().find(|e| e.0 == v).map(|e| e.1)
}

pub fn message_type_name(v: u8) -> Option<&'static str> {
    token_name(MESSAGE_TYPES, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_dense_and_ordered() {
        assert_eq!(FIELDS.len(), 0xBF - 0x81 + 1);
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(usize::from(f.code), 0x81 + i, "{}", f.name);
        }
        assert_eq!(field(0x98).unwrap().name, "X-Mms-Transaction-ID");
        assert_eq!(field(0xBD).unwrap().version, (1, 3));
        assert!(field(0x80).is_none() && field(0xC0).is_none());
        assert_eq!(message_type_name(0x97), Some("m-cancel-conf"));
    }
}
