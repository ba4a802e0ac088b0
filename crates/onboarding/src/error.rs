//! Onboarding errors. Each variant is one reason, worded for the operator or API caller; the
//! console and the gateway map them to their own surfaces.
use domain::onboarding::{ApplicationErrors, IllegalTransition};

use crate::keys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("invalid application: {0}")]
    InvalidApplication(ApplicationErrors),
    #[error("{field}: {message}")]
    InvalidField { field: &'static str, message: String },
    /// The merchant's state does not allow what was asked (worded for the caller).
    #[error("state: {0}")]
    WrongState(String),
    /// A stored row breaks a rule the code relies on: a bug or a corrupt row, never the caller's.
    #[error("a stored merchant breaks an invariant: {0}")]
    BrokenInvariant(String),
    #[error("no such merchant")]
    MerchantNotFound,
    #[error("no such app")]
    AppNotFound,
    #[error("no such rate plan: {0}")]
    UnknownRatePlan(String),
    #[error("a rate plan with this code already exists")]
    DuplicateRatePlan,
    #[error("{0}")]
    IllegalTransition(#[from] IllegalTransition),
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the merchant was changed by someone else at the same time; reload and try again")]
    ConcurrentChange,
    #[error("external_id is already used by another merchant")]
    DuplicateExternalId,
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("an app may have at most two active keys; revoke one first")]
    TooManyActiveKeys,
    #[error("this key is already registered for the app")]
    DuplicateKey,
    #[error("no active micro-deposit has been sent yet")]
    MicroDepositNotSent,
    #[error("the rates must take effect now or later, not in the past")]
    EffectiveInPast,
    #[error("could not generate a unique id; try again")]
    IdExhausted,
    #[error("micro-deposit payout: {0}")]
    Payout(#[from] payouts::PayoutError),
    #[error("platform key: {0}")]
    PlatformKey(String),
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
}
