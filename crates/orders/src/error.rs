//! Why an order operation was refused. Each variant maps to one gateway error code.
use domain::orders::IllegalOrderTransition;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("sub_merchant_id does not exist")]
    UnknownSubMerchant,
    #[error("the sub-merchant is not approved")]
    MerchantNotApproved,
    #[error("this app may not act for this sub-merchant")]
    NotYourMerchant,
    #[error("out_trade_no was already used with different content")]
    DuplicateOutTradeNo,
    #[error("out_refund_no was already used with a different amount")]
    DuplicateOutRefundNo,
    #[error("the order does not exist")]
    OrderNotFound,
    #[error("the refund does not exist")]
    RefundNotFound,
    #[error("the sub-merchant has no rates in force")]
    NoRates,
    #[error("{0}")]
    IllegalTransition(#[from] IllegalOrderTransition),
    #[error("refund_fee is larger than the amount not yet refunded")]
    RefundTooLarge,
    #[error("insufficient balance: the merchant's pending and available balances cannot cover the refund")]
    InsufficientBalance,
    #[error("the fee split failed: {0}")]
    Split(#[from] domain::SplitError),
    #[error("could not generate a unique number; try again")]
    NumberExhausted,
    #[error(transparent)]
    Onboarding(#[from] onboarding::OnboardingError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// A stored row breaks a rule the code relies on: a bug or a corrupt row, never the caller's.
    #[error("a stored order breaks an invariant: {0}")]
    BrokenInvariant(String),
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
}

impl OrderError {
    /// A fault of the database or of what the order relies on (the ledger's booking, the
    /// merchant's records), not a refusal of the request: nothing was decided, and the same
    /// request sent again is applied once. The gateway answers these with `-200`.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            OrderError::Storage(_) | OrderError::Ledger(_) | OrderError::Onboarding(_) | OrderError::NumberExhausted
        )
    }
}
