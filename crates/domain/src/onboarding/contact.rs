//! How to reach a sub-merchant's contact: a mainland mobile number and an email address.

use std::fmt;

use serde::Serialize;

use super::text::mask;

/// A mainland China mobile number, stored as its 11 digits without country code or separators.
///
/// `Debug` shows it masked, because a phone number is personal data and debug output ends up
/// in logs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MainlandMobile(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MobileError {
    #[error("mobile number must have 11 digits")]
    WrongLength,
    #[error("mobile number may contain only digits, spaces, hyphens and a leading +86")]
    NotDigits,
    #[error("mobile number is not a mainland China mobile number")]
    NotMainland,
}

const MOBILE_DIGITS: usize = 11;
const COUNTRY_CODE: &str = "86";

impl MainlandMobile {
    /// Accepts "13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000" and
    /// "8613800138000". A number with another country code is [`MobileError::NotMainland`].
    pub fn parse(text: &str) -> Result<Self, MobileError> {
        let compact: String = text.chars().filter(|&c| !(c.is_whitespace() || c == '-')).collect();
        let (international, digits) = match compact.strip_prefix('+') {
            Some(digits) => (true, digits),
            None => (false, compact.as_str()),
        };
        if digits.is_empty() {
            return Err(MobileError::WrongLength);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MobileError::NotDigits);
        }
        let national = match digits.strip_prefix(COUNTRY_CODE) {
            Some(national) if international || digits.len() == COUNTRY_CODE.len() + MOBILE_DIGITS => national,
            // "+852…", "+1…": a number, just not a mainland one.
            _ if international => return Err(MobileError::NotMainland),
            _ => digits,
        };
        if national.len() != MOBILE_DIGITS {
            return Err(MobileError::WrongLength);
        }
        // Mainland mobile numbers are 1 followed by a network digit from 3 to 9.
        if !(national.starts_with('1') && matches!(national.as_bytes().get(1), Some(b'3'..=b'9'))) {
            return Err(MobileError::NotMainland);
        }
        Ok(Self(national.to_owned()))
    }

    /// "138****1234": enough to recognise the number, not enough to call it.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }
}

impl fmt::Debug for MainlandMobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MainlandMobile").field(&self.masked()).finish()
    }
}

/// An email address in the common `name@example.com` form, with its domain lower-cased.
///
/// Stricter than RFC 5322 on purpose: the local part is a dot-atom (no quoted strings, no
/// commas or angle brackets), so the address can go into a mail header unchanged, and the domain
/// is ASCII (internationalised domains arrive in their `xn--` form).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EmailError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is too long (at most 254 characters, 64 before the @)")]
    TooLong,
    #[error("email address is not in the form name@example.com")]
    Malformed,
}

/// RFC 5321's limits on a path and on the part before the @.
const EMAIL_MAX_CHARS: usize = 254;
const LOCAL_PART_MAX_CHARS: usize = 64;
const LABEL_MAX_CHARS: usize = 63;

impl Email {
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        if text.chars().count() > EMAIL_MAX_CHARS {
            return Err(EmailError::TooLong);
        }
        let mut parts = text.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Malformed);
        };
        if local.chars().count() > LOCAL_PART_MAX_CHARS {
            return Err(EmailError::TooLong);
        }
        if !is_dot_atom(local) || !is_domain(domain) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}

string_views!(MainlandMobile, Email);

/// Dot-separated runs of RFC 5322 `atext`: no empty run, so no leading, trailing or double dot.
fn is_dot_atom(local: &str) -> bool {
    let is_atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    local.split('.').all(|run| !run.is_empty() && run.chars().all(is_atext))
}

/// At least two labels of letters, digits and inner hyphens, and a top-level label that is not
/// all digits (which would make it an IP address, not a domain).
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let is_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= LABEL_MAX_CHARS
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let numeric_top = labels.last().is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()));
    labels.len() >= 2 && labels.iter().all(is_label) && !numeric_top
}
