//! The errors of a whole application, and the checker that collects them while the fields are
//! parsed.

use std::fmt;

/// One invalid field: its name in [`RawApplication`](super::RawApplication) (and so in the form or JSON), and what is
/// wrong with it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Every invalid field of an application, in the order of the
/// [`RawApplication`](super::RawApplication) fields. Never empty when returned by
/// [`Application::parse`](super::Application::parse).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ApplicationErrors(pub Vec<FieldError>);

impl ApplicationErrors {
    /// The first message about `field`, e.g. to show next to that input of a form.
    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|error| error.field == field).map(|error| error.message.as_str())
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl fmt::Display for ApplicationErrors {
    /// "contact_mobile: mobile number must have 11 digits; rate_plan: …"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplicationErrors {}

/// The message for a required field that is absent or blank.
pub(super) const REQUIRED: &str = "is required";

/// Blank text is absent text.
pub(super) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

/// Collects field errors while the fields are parsed. Each method returns None exactly when it
/// has recorded an error.
#[derive(Default)]
pub(super) struct Checker {
    pub(super) errors: Vec<FieldError>,
}

impl Checker {
    pub(super) fn report(&mut self, field: &'static str, message: impl fmt::Display) {
        self.errors.push(FieldError { field, message: message.to_string() });
    }

    pub(super) fn check<T, E: fmt::Display>(&mut self, field: &'static str, result: Result<T, E>) -> Option<T> {
        result.map_err(|error| self.report(field, error)).ok()
    }

    pub(super) fn required<T, E: fmt::Display>(
        &mut self,
        field: &'static str,
        value: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match present(value) {
            Some(text) => self.check(field, parse(text)),
            None => {
                self.report(field, REQUIRED);
                None
            }
        }
    }

    /// `Some(None)` when absent, `Some(Some(value))` when valid, None when invalid.
    pub(super) fn optional<T, E: fmt::Display>(
        &mut self,
        field: &'static str,
        value: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match present(value) {
            Some(text) => self.check(field, parse(text)).map(Some),
            None => Some(None),
        }
    }
}
