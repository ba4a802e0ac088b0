//! The database's own ids (`BIGINT` keys), one type per table, so an order's id can never be
//! passed where a merchant's is wanted. They are opaque numbers: made by the database, read from
//! rows, or parsed from a console path or form; nothing does arithmetic on them.
//!
//! The ids that cross the gateway's wire (`AppId`, `SubMerchantId`, `TradeNo`, …) are in
//! [`crate::ids`]; these are the keys behind them.

use std::{fmt, num::ParseIntError, str::FromStr};

macro_rules! keys {
    ($($(#[$meta:meta])* $name:ident,)+) => {$(
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug,
            serde::Serialize, serde::Deserialize, diesel_derive_newtype::DieselNewType,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id of the row numbered `id`; whether such a row exists is the database's to say.
            pub const fn new(id: i64) -> $name {
                $name(id)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<$name, ParseIntError> {
                text.parse().map($name)
            }
        }
    )+};
}

keys! {
    /// A sub-merchant (`merchants.id`).
    MerchantId,
    /// An app (`apps.id`); the wire's `app_id` is its [`crate::AppId`].
    AppRowId,
    /// One of an app's public keys (`app_keys.id`).
    AppKeyId,
    /// An order (`orders.id`); the wire's `trade_no` is its [`crate::TradeNo`].
    OrderId,
    /// A refund (`refunds.id`).
    RefundId,
    /// An outbox notification to a merchant's server (`notifications.id`).
    NotificationId,
    /// A console operator (`operators.id`).
    OperatorId,
    /// A ledger account (`ledger_accounts.id`).
    AccountId,
    /// A ledger entry (`ledger_entries.id`).
    EntryId,
    /// A payout order (代付, `payouts.id`).
    PayoutId,
    /// A payout run (`payout_runs.id`).
    PayoutRunId,
    /// A micro-deposit sent to verify a settlement account (`micro_deposits.id`).
    DepositId,
    /// A rate plan (`rate_plans.id`).
    RatePlanId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_prints_as_its_number() {
        let id: OrderId = "42".parse().expect("a number");
        assert_eq!((id, id.get(), id.to_string()), (OrderId::new(42), 42, "42".to_string()));
        assert!("4x".parse::<MerchantId>().is_err());
        assert_eq!(serde_json::to_string(&EntryId::new(7)).expect("serializes"), "7");
    }
}
