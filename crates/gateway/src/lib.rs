//! The sub-merchant gateway of SPEC §5, starting with its wire layer: the request envelope
//! (form-encoded or JSON), the string to sign and the RSA2/RSA signatures over it, and the signed
//! reply bodies.
//!
//! Everything in these modules is a pure function of its input: no I/O, no clock, no database, and
//! no panic on any input — a body from the internet is parsed or refused with a reason. This crate
//! never speaks HTTP in its wire layer; the server hands it the body bytes and the content type.
pub mod address;
pub mod cashier;
pub mod content;
pub mod envelope;
pub mod error;
pub mod http;
pub mod methods;
pub mod notify;
pub mod redact;
pub mod reply;
pub mod service;
pub mod signature;

pub use error::GatewayError;
pub use service::{Gateway, GatewaySettings};
