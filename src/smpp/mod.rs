//! SMPP 3.4 client: the pure window, session and status pieces, the PDU builders and receipt
//! parser, the tolerant codec, and the I/O session driver and pool the dispatcher calls.
//!
//! | module | kind | what |
//! |---|---|---|
//! | [`status`] | pure | command_status names and retry/throttle/permanent disposition |
//! | [`time`] | pure | SMPP time format (absolute and relative) |
//! | [`window`] | pure | sequence numbers and the outstanding-request window |
//! | [`session`] | pure | bind state, enquire_link schedule, throttle pause, rate limiter, backoff |
//! | [`codec`] | pure | rusmpp framing that survives malformed PDUs |
//! | [`pdu`] | pure | submit_sm from a `Segment`; delivery receipts (text and TLVs) |
//! | [`conn`] | io | one session task: connect, bind, the select loop, reconnect |
//! | [`pool`] | io | the sessions of every SMSC, routing, submit with retries |

pub mod codec;
pub mod conn;
pub mod dissect;
pub mod pdu;
pub mod pool;
pub mod session;
pub mod status;
pub mod time;
pub mod window;

pub use pool::{OutboundMessage, Pool, Receipt, SmscRoute, SubmitOutcome};
