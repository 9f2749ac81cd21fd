//! Small pure helpers shared by several codecs.

pub mod datetime;

pub use datetime::{DateTimeError, UtcTime};
