//! Which error type is used where:
//!
//! - [`FormError`]: a form that cannot be taken as a message — the requests the fake JD server
//!   receives ([`crate::DefrayPay`], [`crate::TradeQuery`]) and the notify the client receives
//!   ([`crate::Notify`]). A bad signature is [`FormError::BadSign`], whatever else is wrong.
//! - [`crate::ReplyError`]: a reply body the client cannot take as JD's answer; an empty body and
//!   one that is not JSON have their own variants, because they mean "outcome unknown".
//! - [`crate::OpenError`] / [`crate::SealError`]: the `encrypt_data` envelope.
//! - [`crate::KeyError`]: keys and certificates that cannot be used.
//! - [`crate::fields::FieldError`]: why one field's text is not a value of its type.
use crate::envelope::OpenError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form has more than {max} fields")]
    TooManyFields { max: usize },
    #[error("field {0} appears more than once")]
    DuplicateField(String),
    #[error("field {0} is missing")]
    MissingField(&'static str),
    #[error("field {0} is not part of this message")]
    UnknownField(String),
    /// `reason` is the value type's own error, as text: [`crate::fields::FieldError`] or one of
    /// the onboarding types' errors.
    #[error("field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("encrypt_data: {0}")]
    Envelope(#[from] OpenError),
    #[error("the decrypted content is not key=value pairs joined with &")]
    MalformedContent,
    #[error("sign_data does not match the fields and the sign key")]
    BadSign,
    #[error("customer_no in the form is not the one in encrypt_data")]
    CustomerNoMismatch,
}
