//! The order life cycle (SPEC §5): create (idempotent on `out_trade_no`), pay (from a channel's
//! callback), close, expire, refund — each one transaction with a guarded state change, its
//! event row and, when the caller gave a `notify_url`, its notification in the outbox.
//!
//! Shared by the gateway (the sub-merchants' API) and the console; it knows no HTTP and calls no
//! outside system.
pub mod callbacks;
mod error;
pub mod jobs;
pub mod lifecycle;
pub mod notify;
pub mod operator;
pub mod order;
pub mod place;
pub mod recorder;
pub mod refund;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::OrderError;
pub use order::Order;
