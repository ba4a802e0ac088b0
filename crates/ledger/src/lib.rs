//! The commission ledger (SPEC §7): double-entry bookings of paid orders, refunds, settlements
//! and payouts; balances that are never negative where they must not be; settlement T+N.
//!
//! Every booking is one entry whose idempotency key names its cause, so booking a cause twice
//! books nothing the second time. The postings come from the pure rules in `domain::ledger`; they
//! are checked in Rust before writing (balanced, no merchant balance below zero) and by PostgreSQL
//! at the end of every statement that writes entries or postings (migrations `000004_ledger`,
//! `000007_ledger_checks` and `000009_booking_costs`), so not even a hand-written `INSERT` breaks
//! them.
//!
//! Callers pass their own connection, usually inside their transaction: an order's payment is
//! booked in the same transaction as its state change and its outbox row. [`post_many`] books a
//! batch (the payment recorder's, a settlement run's) in one pass.
pub mod bill;
pub mod bookings;
pub mod days;
mod error;
pub mod jobs;
mod post;
pub mod reconciliation;
pub mod reports;
pub mod rollups;
pub mod settlement;
pub mod verification;

pub use error::LedgerError;
pub use post::{Booked, Booking, Cause, post, post_many};
