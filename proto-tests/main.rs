//! Integration tests and protocol vectors, one test binary (one link step on 2 cores).
//! Each codec and layer has its own module file here.

mod bench;
mod crash;
mod decode;
mod e2e;
mod mms;
mod ops;
mod pap;
mod pg;
mod scaleout;
mod smpp;
mod sms;
mod store;
mod vectors;
mod wbxml;
mod wsp;
