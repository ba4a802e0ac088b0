//! The sub-merchant gateway of SPEC §5: `POST /gateway` (envelope → app → signature → rate limit →
//! method → signed reply, every request logged redacted), the methods, the sandbox cashier and its
//! callbacks, and the notifications to sub-merchants. The wire format itself — envelope, string to
//! sign, signatures, replies — is the `fshows` crate, shared with the upstream client.
pub mod address;
pub mod cashier;
pub mod content;
pub mod error;
pub mod http;
pub mod methods;
pub mod notify;
pub mod redact;
pub mod service;
mod settings;

pub use error::GatewayError;
pub use service::Gateway;
pub use settings::GatewaySettings;
