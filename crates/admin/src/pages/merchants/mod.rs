//! The sub-merchant pages: the applications list, the application form, and each merchant's page
//! with its review actions, verification, credentials and rates.
pub mod actions;
pub mod credentials;
pub mod detail;
pub mod list;
pub mod new;
pub mod payments;
pub mod payouts;
mod profile;
pub mod rates;
pub mod settlement;

use domain::onboarding::ApplicationState;
use onboarding::OnboardingError;

use crate::{ConsoleError, i18n::MerchantLabels};

/// A state as a coloured badge: `class` picks the colour in the stylesheet.
pub struct StateBadge {
    pub class: &'static str,
    pub label: String,
}

impl StateBadge {
    pub fn of(m: &MerchantLabels, state: ApplicationState) -> StateBadge {
        StateBadge { class: state.as_str(), label: m.state(state).to_string() }
    }
}

/// Splits an onboarding result: refusals the operator can act on come back as their message, to
/// show on the page where the action was tried; everything else is a console error.
pub fn refusal<T>(result: Result<T, OnboardingError>) -> Result<Result<T, String>, ConsoleError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => match ConsoleError::from(error) {
            ConsoleError::BadRequest(message) => Ok(Err(message)),
            other => Err(other),
        },
    }
}

pub use super::{present, present_note};
