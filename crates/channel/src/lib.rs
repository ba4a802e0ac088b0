//! Upstream channels (SPEC §6): the outside systems that move the money.
//!
//! A channel offers what it can — [`PayIn`] (payment callbacks), [`PayOut`] (payouts) — and the
//! [`Registry`] of this deployment's channels, built once at start-up, is what the rest of the
//! platform calls; implementations speak a channel's wire format. This crate never touches the
//! database: callers record what they are about to do, commit, then call a channel, then record
//! the outcome. An outcome that is not known for certain is [`ChannelError::OutcomeUnknown`] —
//! never treated as failed — and is settled by querying.
//!
//! - [`sandbox`]: the built-in channel (cashier page, scripted payout outcomes);
//! - [`jdpay`]: JD Pay direct payouts over the `jdpay` wire crate;
//! - [`fshows`]: an upstream fshows gateway, which takes payments and pays out for the platform;
//! - [`health`]: how each outside upstream answers, method by method, and its circuit breakers.
pub mod bill;
pub mod fshows;
pub mod health;
mod http;
pub mod jdpay;
mod registry;
pub mod sandbox;

pub use registry::{ChannelView, Registry};

use async_trait::async_trait;
use bill::BillLine;
use chrono::NaiveDate;
use domain::{
    Amount,
    onboarding::{AccountType, BankAccountNumber},
};

/// A payout (代付) to a bank account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    /// Our idempotency key at the channel: one payout, one `out_trade_no`, forever.
    pub out_trade_no: String,
    pub amount: Amount,
    pub subject: String,
    pub payee: Payee,
    /// The merchant's id at the channel, for a channel that pays out of the merchant's own
    /// balance there ([`PayOut::names_the_merchant`]); `None` otherwise.
    pub merchant_at_channel: Option<String>,
}

/// Who receives a payout. The account number is the domain's checked type, which remembers its
/// account type and shows only its first and last four digits in `Debug`, so no log of a request
/// can print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub account_number: BankAccountNumber,
    pub account_name: String,
    pub bank_code: String,
    /// Required by channels for corporate accounts (seed 002).
    pub cnaps_code: Option<String>,
}

impl Payee {
    /// Company (对公) or personal card (对私), as the number was checked for.
    pub fn account_type(&self) -> AccountType {
        self.account_number.account_type()
    }
}

/// Where a payout stands at the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutStatus {
    /// Accepted, not finished yet: query again later.
    Pending {
        channel_reference: String,
    },
    Succeeded {
        channel_reference: String,
    },
    Failed {
        reason: String,
    },
    /// Paid, then sent back by the bank (JD's REFU).
    Returned {
        reason: String,
    },
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    /// Timeout, empty reply, system error, unknown trade: the payout may or may not have
    /// happened. Query; never resubmit under a new `out_trade_no`.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The channel has no record of this `out_trade_no`.
    #[error("no such payout at the channel")]
    NotFound,
    /// The day's bill is not ready yet (the channel has not closed the day): ask again later.
    #[error("the channel's bill for the day is not ready")]
    BillNotReady,
    /// The channel could not be asked or did not answer (a bill, a query): try again later.
    #[error("the channel is unavailable: {0}")]
    Unavailable(String),
}

/// What a channel's payment callback reports, once its signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCallback {
    pub trade_no: String,
    pub amount: Amount,
    pub paid: bool,
    pub channel_reference: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("the callback's signature is wrong")]
    BadSignature,
    #[error("the callback is missing or has a malformed field: {0}")]
    Malformed(&'static str),
    /// A field given twice: which one is read would decide what the callback says, while the
    /// signature might cover the other (or, empty, neither).
    #[error("the callback gives the field {0} more than once")]
    RepeatedField(String),
}

impl CallbackError {
    /// Refuses a callback form that names any field twice.
    pub fn refuse_repeated(fields: &[(String, String)]) -> Result<(), CallbackError> {
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        match fields.iter().find(|(key, _)| !seen.insert(key.as_str())) {
            Some((key, _)) => Err(CallbackError::RepeatedField(key.chars().take(64).collect())),
            None => Ok(()),
        }
    }
}

/// Whether a payment callback is confirmed by the channel's own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// The channel's records say otherwise: the callback is kept for an operator, not booked.
    Disagrees(String),
}

/// Taking payments in: a channel's payment callbacks, verified and read, and its daily bill.
/// Inbound callbacks reach the channel registered under the name in their route,
/// `/channel/{name}/notify`.
#[async_trait]
pub trait PayIn: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Checks an inbound payment callback (its form fields) and reads it.
    fn parse_callback(&self, fields: &[(String, String)]) -> Result<PaymentCallback, CallbackError>;
    /// Asks the channel whether a verified callback is so, before it is booked: an upstream's
    /// notify is believed only when a query of the order agrees. A channel whose callbacks are
    /// its own word (the sandbox signs them itself) confirms them as they are.
    async fn confirm_payment(&self, _callback: &PaymentCallback) -> Result<Confirmation, ChannelError> {
        Ok(Confirmation::Confirmed)
    }
    /// The channel's bill of a business day: every payment and refund it made that day, as it
    /// records them, for reconciliation. [`ChannelError::BillNotReady`] until it has closed the day.
    async fn daily_bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError>;
}

/// What a channel's payout callback reports, once its signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutCallback {
    pub out_trade_no: String,
    pub status: PayoutStatus,
}

/// Paying out (代付) to bank accounts.
#[async_trait]
pub trait PayOut: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Submits a payout. Submitting the same `out_trade_no` again returns its current status.
    async fn payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError>;
    /// Where the payout submitted as `request` stands (most channels need only its number).
    async fn query_payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError>;
    /// Whether payouts leave from the merchant's own balance at the channel, so each request
    /// names the merchant by its id there (`merchant_at_channel`).
    fn names_the_merchant(&self) -> bool {
        false
    }
    /// Checks an inbound payout callback (its form fields) and reads it.
    fn parse_payout_callback(&self, fields: &[(String, String)]) -> Result<PayoutCallback, CallbackError>;
    /// Whether payouts may be handed over now: false while the upstream's breaker for submissions
    /// is open (queries go on regardless).
    fn accepts_payouts(&self) -> bool {
        true
    }
    /// How the upstream has been answering, if this channel is an outside upstream.
    fn health(&self) -> Option<&health::Health> {
        None
    }
    /// The provider's balance as the channel reports it (its reserve there, 备付金), if the channel
    /// can report one.
    async fn reported_balance(&self) -> Result<Option<Amount>, ChannelError> {
        Ok(None)
    }
    /// Its settings as an operator may see them (secrets never: only whether they are set).
    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
