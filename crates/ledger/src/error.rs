//! Why a booking was refused.
use domain::ledger::{BalanceError, BookingError, EntryError, InsufficientBalance};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The refund's net exceeds pending and available together (`-216`).
    #[error(transparent)]
    Insufficient(#[from] InsufficientBalance),
    #[error(transparent)]
    Balance(#[from] BalanceError),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("a booking amount must be positive")]
    NonPositiveAmount,
    /// Two different causes derived the same key: a bug, refused rather than booked.
    #[error("idempotency key {0} was booked for a different cause")]
    KeyReused(String),
    #[error("the ledger has no {0} account for the merchant")]
    MissingAccount(&'static str),
    #[error("the entry does not exist")]
    EntryNotFound,
    /// A statement's page cursor that is not one of its movements (a hand-edited link).
    #[error("the page starts after a movement that is not in this statement")]
    UnknownCursor,
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
}

impl From<BookingError> for LedgerError {
    fn from(error: BookingError) -> Self {
        match error {
            BookingError::Insufficient(insufficient) => LedgerError::Insufficient(insufficient),
            BookingError::Entry(entry) => LedgerError::Entry(entry),
            BookingError::NonPositiveAmount => LedgerError::NonPositiveAmount,
        }
    }
}
