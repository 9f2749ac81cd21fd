//! Small helpers shared by several modules (date-times of the codecs, the TLS client setup).

pub mod datetime;
pub mod tls;

pub use datetime::{DateTimeError, UtcTime};
