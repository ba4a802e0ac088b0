//! The fshows liquidation wire format (SPEC §5), shared by both ends of the protocol: the gateway
//! that answers sub-merchants and, next, the client that calls an upstream fshows platform.
//!
//! - [`envelope`]: the request envelope, form-encoded or JSON, parsed so that the string to sign
//!   is rebuilt from the bytes received;
//! - [`signature`]: the string to sign, RSA2 (SHA256withRSA) and RSA (SHA1withRSA) sign and verify;
//! - [`reply`]: the signed reply bodies and their verification.
//!
//! Everything here is a pure function of its input: no I/O, no clock, no database, no HTTP, and no
//! panic on any input — a body from the internet is parsed or refused with a reason.
pub mod envelope;
pub mod reply;
pub mod signature;
