//! The PAP listener (being written).

pub mod auth;
pub mod ops;
