//! # ppgd — a WAP Push Proxy Gateway
//!
//! A Push Initiator (usually an MMSC) POSTs a PAP push-message; ppgd stores it durably, answers with a
//! push-response, compiles the content into a WSP connectionless Push PDU, wraps it in the WDP-over-SMS
//! user data header, and submits the segments to SMSCs over SMPP. Status queries, cancels and result
//! notifications close the loop.
//!
//! ## Crate map, in pipeline order
//!
//! | module | kind | what it is |
//! |---|---|---|
//! | [`pap`] | pure | PAP documents (WAP-247/WAP-164), address-value grammar, status codes, multipart/related |
//! | [`wsp`] | pure | WSP primitives (uintvar, integers, text), content types, headers, the Push PDU (WAP-230) |
//! | [`mms`] | pure | MMS encapsulation PDUs (OMA-MMS-ENC 1.0–1.3), m-notification-ind first |
//! | [`wbxml`] | pure | WBXML reader/writer and the SI / SL token tables (WAP-192, WAP-167, WAP-168) |
//! | [`sms`] | pure | UDH information elements, segmentation and reassembly (3GPP TS 23.040 §9.2.3.24) |
//! | [`compile`] | pure | one push for one address → the segments to submit: the heart of the product |
//! | [`decode`] | pure | `ppgd decode`: dissects whatever an operator pastes from a trace |
//! | [`smpp`] | pure + io | window, session and status tables (pure); connection driver and pool (io) |
//! | [`store`] | io | the durable push store: one trait, the embedded SQLite backend |
//! | [`dispatch`] | io | store → compile → pool → store; receipts, retries, expiry |
//! | [`http`] | io | the PAP listener; the one place errors become an HTTP status and a PAP code |
//! | [`notify`] | io | result notifications POSTed back to the PI, retried until acknowledged |
//! | [`sim`] | io | the SMSC simulator (`ppgd sim`), also used in-process by tests |
//! | [`config`] | — | the one config file (TOML + `PPGD_` environment), validated |
//! | [`metrics`] | — | the one catalogue of Prometheus metric names |
//! | [`app`] | io | wiring and graceful shutdown for `ppgd serve` |
//! | [`cli`] | io | logging setup, `serve` and `config check` for the binary |
//! | [`client`] | io | `ppgd push`: a PI on the command line |
//! | [`bench`] | io | `ppgd bench`: PAP load, loss and duplicate check against the simulator's record |
//! | [`util`] | pure | UTC timestamps in the formats PAP, SI and SMPP use |

pub mod app;
pub mod bench;
pub mod cli;
pub mod client;
pub mod compile;
pub mod config;
pub mod decode;
pub mod dispatch;
pub mod http;
pub mod metrics;
pub mod mms;
pub mod notify;
pub mod pap;
pub mod sim;
pub mod smpp;
pub mod sms;
pub mod store;
pub mod util;
pub mod wbxml;
pub mod wsp;
