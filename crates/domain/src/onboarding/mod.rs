//! Sub-merchant onboarding (入驻, SPEC §4): every field of an application parsed into a type that
//! can only hold a valid value, the whole application parsed at once with every bad field
//! reported, and the application's life cycle as a closed set of transitions.
//!
//! Applications arrive from console forms, CLI JSON files and gateway calls, so every parser here
//! trims surrounding whitespace and none of them panics, whatever the input. Nothing here stores
//! or sends anything: the onboarding crate records transitions and talks to the bank.

/// `AsRef<str>` and `Display` for newtypes over a `String` that hold their canonical text.
/// Defined before the submodules so that each of them can use it.
macro_rules! string_views {
    ($($name:ty),+ $(,)?) => {$(
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

/// `Serialize` for closed enums as their fixed code, so the wire and storage spelling lives in
/// each enum's `as_str` and nowhere else.
macro_rules! serialize_as_code {
    ($($name:ty => $code:ident),+ $(,)?) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.$code())
            }
        }
    )+};
}

mod application;
mod bank;
mod category;
mod codes;
mod contact;
mod credit_code;
mod deposit;
mod field_errors;
mod icp;
mod raw;
mod schedule;
mod state;
mod text;

pub use application::{Application, RateChoice};
pub use bank::{
    AccountNumberError, AccountType, AccountTypeError, BankAccountNumber, BankCode, BankCodeError, CnapsCode,
    CnapsError, SettlementAccount, SettlementAccountError, StoredAccountNumber,
};
pub use category::{BusinessCategory, CategoryError, ProhibitedCategory};
pub use codes::{AppKind, ExternalId, RatePlanCode, SignType, SignTypeError};
pub use contact::{Email, EmailError, MainlandMobile, MobileError};
pub use credit_code::{CreditCodeError, UnifiedSocialCreditCode};
pub use deposit::{DepositEvent, DepositState};
pub use field_errors::{ApplicationErrors, FieldError};
pub use icp::{IcpError, IcpFilingNumber};
pub use raw::RawApplication;
pub use schedule::{PayoutSchedule, ScheduleError};
pub use state::{ApplicationState, HistoryStep, IllegalTransition, Transition};
pub use text::{AccountHolder, BranchName, LegalName, PersonName, ShortName, SiteName, TextError};
