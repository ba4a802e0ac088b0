//! Payouts (代付, SPEC §8): money leaves the platform. Payout runs, one per schedule slot, pay
//! each due merchant its available balance less what it keeps back and the fee; each payout order
//! is written with its ledger reservation and its submit job in one transaction **before** the
//! channel is called. Every later change — submitted, succeeded, failed, returned, approved,
//! rejected — is one guarded transition with its history row and its booking, and whatever the
//! channel says (an answer, a callback, a query's result) goes through [`outcome::record`], so it
//! applies once however often and in whatever order it arrives. An outcome that is not known
//! stays unknown: the payout is asked about again, never failed on a guess, never sent under a
//! new `out_trade_no`.
//!
//! Depends on domain, storage, channel and ledger; never on HTTP.

pub mod approval;
pub mod calendar;
mod error;
pub mod jobs;
mod notify;
pub mod outcome;
pub mod runs;
pub mod schedules;
pub mod send;
pub mod stops;
mod transition;
pub mod verification;
pub mod withdraw;

use chrono::Duration;
use domain::{Amount, payouts::schedule::Schedule};

pub use error::PayoutError;

/// The platform's payout settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether Saturdays and Sundays are payout days (holidays and make-up days aside).
    pub weekends_are_payout_days: bool,
    /// The schedule of a merchant that has none of its own.
    pub default_schedule: Schedule,
    /// Payouts above this wait for a second operator's approval.
    pub approval_above: Amount,
    /// A payout submitted this long ago without an outcome is flagged for an operator.
    pub attention_after: Duration,
    /// How long to wait before asking the channel about a submitted payout again, by the number
    /// of times it has been asked; the last interval repeats.
    pub query_intervals_seconds: Vec<i32>,
    /// Merchants a run looks at per transaction.
    pub run_batch: i64,
}

impl Settings {
    /// When to ask about a payout first after submitting it.
    pub fn first_query_after(&self) -> Duration {
        Duration::seconds(i64::from(self.query_intervals_seconds.first().copied().unwrap_or(60)))
    }
}
