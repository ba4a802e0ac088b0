//! The liquidator's domain types: money in fen, fee rates, the fee split of payments and
//! refunds, the identifiers that cross the wire, and the fields and life cycle of a
//! sub-merchant's onboarding application.
//!
//! Every type here is parsed and validated once, at the edge, so code that holds one can rely on
//! it. This crate owns the rules of SPEC §3 (money), the onboarding fields and states of §4, and
//! the id formats of §4 and §5. It never does I/O: no database, network, files or clock —
//! callers pass in the time when an id needs one — so every rule can be tested exhaustively and
//! in isolation.

pub mod calendar;
pub mod console;
pub mod ids;
pub mod json;
pub mod keys;
pub mod ledger;
pub mod money;
pub mod net;
pub mod onboarding;
pub mod orders;
pub mod payouts;
pub mod rate;
pub mod signing;
pub mod split;
mod sql;
pub mod upstream;

pub use ids::{AppId, IdError, OutTradeNo, SubMerchantId, TradeNo};
pub use keys::{
    AccountId, AppKeyId, AppRowId, DepositId, EntryId, MerchantId, NotificationId, OperatorId, OrderId, PayoutId,
    PayoutRunId, RatePlanId, RefundId,
};
pub use money::{Amount, AmountError};
pub use rate::{Rate, RateError, Rates, RatesError};
pub use split::{FeeSplit, SplitError};
