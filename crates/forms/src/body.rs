//! A posted `application/x-www-form-urlencoded` body, read into the form it carries.
use std::collections::HashSet;

use serde::de::DeserializeOwned;

/// Why a body is not the form it was posted as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Which of the two values was meant cannot be known. Checked here, before serde (which also
    /// refuses a repeat, as "duplicate field"), so that every form refuses it the same way and
    /// the fuzz target can hold the parser to it.
    #[error("the field {0} is given more than once")]
    RepeatedField(String),
    #[error("the form could not be read: {0}")]
    Malformed(String),
}

/// The form `T` that `body` carries. Fields `T` does not name are ignored (the CSRF token).
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let mut names = HashSet::new();
    for (name, _) in form_urlencoded::parse(body) {
        if !names.insert(name.clone()) {
            return Err(BodyError::RepeatedField(name.into_owned()));
        }
    }
    serde_urlencoded::from_bytes(body).map_err(|error| BodyError::Malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Form {
        amount: Option<String>,
        #[serde(flatten)]
        inner: Inner,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Inner {
        rate: Option<String>,
    }

    #[test]
    fn a_field_named_twice_is_refused_even_when_flattened() {
        let read = |body: &str| read::<Form>(body.as_bytes());
        assert_eq!(read("rate=0.1&rate=0.9"), Err(BodyError::RepeatedField("rate".into())));
        assert_eq!(read("amount=1&amount=2"), Err(BodyError::RepeatedField("amount".into())));
        // Encoded the other way, it is still the same name.
        assert_eq!(read("rate=1&%72ate=2"), Err(BodyError::RepeatedField("rate".into())));
        let form = read("amount=1.00&rate=0.006&csrf_token=x").unwrap();
        assert_eq!(form, Form { amount: Some("1.00".into()), inner: Inner { rate: Some("0.006".into()) } });
    }

    #[test]
    fn a_body_that_is_not_the_form_is_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct Required {
            #[allow(dead_code)]
            amount: String,
        }
        assert!(matches!(read::<Required>(b"csrf_token=x"), Err(BodyError::Malformed(_))));
    }
}
