//! Reading a message's fields: from a decoded form, or from the `k=v&k=v` string inside
//! `encrypt_data`.
use std::fmt::Display;

use crate::error::FormError;

pub(crate) fn invalid(field: &'static str, reason: impl Display) -> FormError {
    FormError::InvalidField { field, reason: reason.to_string() }
}

/// No message of this protocol has half as many; a form with more is not one of them.
pub(crate) const MAX_FIELDS: usize = 64;

/// A message's fields, keys unique, in the order received. An empty value counts as absent, as in
/// the string to sign.
pub(crate) struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Fields<'a>, FormError> {
        let mut unique: Vec<(&str, &str)> = Vec::new();
        for (key, value) in pairs {
            if unique.len() == MAX_FIELDS {
                return Err(FormError::TooManyFields { max: MAX_FIELDS });
            }
            if unique.iter().any(|(seen, _)| *seen == key) {
                return Err(FormError::DuplicateField(key.to_owned()));
            }
            unique.push((key, value));
        }
        Ok(Fields { pairs: unique })
    }

    pub(crate) fn from_form(form: &'a [(String, String)]) -> Result<Fields<'a>, FormError> {
        Fields::new(form.iter().map(|(key, value)| (key.as_str(), value.as_str())))
    }

    /// The pairs of a string to sign. Values may contain `=` (the first one separates); no value
    /// contains `&`, which is why every field type refuses it.
    pub(crate) fn from_signed_string(text: &'a str) -> Result<Fields<'a>, FormError> {
        let pairs = text
            .split('&')
            .map(|pair| pair.split_once('=').filter(|(key, _)| !key.is_empty()).ok_or(FormError::MalformedContent))
            .collect::<Result<Vec<_>, _>>()?;
        Fields::new(pairs)
    }

    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.pairs.iter().copied()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(name, value)| *name == key && !value.is_empty()).map(|(_, value)| *value)
    }

    pub(crate) fn require(&self, key: &'static str) -> Result<&'a str, FormError> {
        self.get(key).ok_or(FormError::MissingField(key))
    }

    /// Parses a required field, naming it in the error.
    pub(crate) fn parse<T, E: Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, FormError> {
        parse(self.require(key)?).map_err(|reason| invalid(key, reason))
    }

    /// Parses an optional field.
    pub(crate) fn parse_optional<T, E: Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, FormError> {
        self.get(key).map(|text| parse(text).map_err(|reason| invalid(key, reason))).transpose()
    }

    /// Refuses any non-empty field not in `known`: for requests, where an unexpected field means
    /// the client sent something it should not.
    pub(crate) fn refuse_unknown(&self, known: &[&str]) -> Result<(), FormError> {
        match self.pairs.iter().find(|(key, value)| !value.is_empty() && !known.contains(key)) {
            Some((key, _)) => Err(FormError::UnknownField((*key).to_owned())),
            None => Ok(()),
        }
    }
}

/// Owned form pairs, as a form encoder takes them.
pub(crate) fn to_owned_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}
