use domain::payouts::IllegalPayoutTransition;

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalPayoutTransition),
    #[error("no such payout")]
    NotFound,
    #[error("no such rate plan")]
    UnknownRatePlan,
    /// The payout was made for a channel this deployment does not have (any more).
    #[error("no payout channel named {0} is configured")]
    NoChannel(String),
    /// The channel takes no new payouts for now (its breaker is open): try again later.
    #[error("the {0} channel is not taking payouts for now")]
    ChannelPaused(String),
    #[error("the payout fee overflows")]
    FeeOverflow,
    /// A payout row broke a rule the database keeps (a guard failed on a locked row, a stored
    /// account number that does not parse): a bug or a corrupt row, never the caller's fault.
    #[error("broken invariant: {0}")]
    BrokenInvariant(String),
}

impl From<domain::payouts::fee::FeeOverflow> for PayoutError {
    fn from(_: domain::payouts::fee::FeeOverflow) -> Self {
        PayoutError::FeeOverflow
    }
}
