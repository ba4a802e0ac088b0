//! Sub-merchant onboarding (SPEC §4): applications and their life cycle, bank-account verification
//! by micro-deposit, approval, credentials (apps and their RSA keys, the platform's key pair) and
//! versioned rate plans.
//!
//! Every function that changes state takes a connection, runs one transaction, guards the update
//! (`WHERE state = from`), and writes the state history and the audit log in it. Nothing here
//! speaks HTTP; the console, the CLI and the gateway all call these same functions.
pub mod access;
pub mod applications;
pub mod bank_account;
pub mod credentials;
mod error;
pub mod keys;
pub mod platform_key;
pub mod rates;
pub mod replay;
pub mod reveal;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verification;

pub use error::OnboardingError;
