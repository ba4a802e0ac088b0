//! Merchants and orders that live at an upstream taking this platform's payments (an fshows
//! gateway, SPEC §6): registering a merchant there once it is approved here, placing its orders
//! there and finding out what became of them.
//!
//! The pattern of every step: what is about to be asked is written first (a short transaction),
//! the upstream is asked with no transaction open, and its answer is written by a guarded update.
//! An answer that is not known for certain changes nothing and is asked again later under the same
//! number — an application under the merchant's own id, an order under our `trade_no` — so the
//! upstream never gets a second merchant or order for one of ours.
pub mod jobs;
pub mod orders;
pub mod refunds;
pub mod registration;

use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Onboarding(#[from] onboarding::OnboardingError),
    #[error(transparent)]
    Order(#[from] ::orders::OrderError),
    #[error("the payment recorder has stopped")]
    RecorderStopped,
}
