//! PAP, the Push Access Protocol (WAP-164 PAP 1.0, WAP-247 PAP 2.0, WAP-249 PPG Service):
//! status codes, the address-value grammar, every PAP document, multipart/related, and the
//! push submission a PI POSTs. Pure: no I/O, no clock.

pub mod address;
pub mod code;
mod dissect;
pub mod document;
pub mod multipart;
pub mod submission;
pub mod xml;

pub use address::{Address, AddressError, AddressType};
pub use code::{PapCode, PapCodeClass, message_state_text, parse_message_state};
pub use document::*;
pub use multipart::{Headers, MediaType, Multipart, MultipartError, Part, TransferEncoding};
pub use submission::{
    CapabilitiesEntity, ContentEntity, PapError, PapRequest, PushSubmission, SubmissionError,
    write_push_submission,
};
pub use xml::XmlLimits;
