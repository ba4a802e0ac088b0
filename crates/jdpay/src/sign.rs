//! `sign_data`: the upper-case hex SHA-256 of the string to sign immediately followed by the sign
//! key JD gives the merchant, the rule of JD's demos for requests, replies and notifies alike.
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The fields that are never part of a string to sign: the signature and the encryption itself,
/// and the `salt` JD's demos reserve.
pub const UNSIGNED_FIELDS: [&str; 5] = ["sign_type", "sign_data", "encrypt_type", "encrypt_data", "salt"];

/// The only `sign_type` there is.
pub const SIGN_TYPE: &str = "SHA-256";

/// The shared secret appended to the string to sign. It never prints itself: `Debug` shows
/// `[REDACTED]`.
#[derive(Clone)]
pub struct SignKey(SecretString);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the sign key is empty")]
pub struct EmptySignKey;

impl SignKey {
    /// An empty key would make `sign_data` a plain hash anyone can compute, so it is refused.
    pub fn new(key: impl Into<String>) -> Result<SignKey, EmptySignKey> {
        let key: String = key.into();
        if key.is_empty() {
            return Err(EmptySignKey);
        }
        Ok(SignKey(SecretString::from(key)))
    }
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignKey([REDACTED])")
    }
}

/// The string to sign: the fields with a non-empty value except [`UNSIGNED_FIELDS`], sorted by key
/// in byte order, joined as `key=value` with `&`. Values are used exactly as given, with no
/// escaping, because JD signs the bytes it sends.
///
/// The caller makes sure keys are unique (every parser here refuses duplicates).
pub fn string_to_sign<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    domain::signing::string_to_sign(fields, &UNSIGNED_FIELDS)
}

/// `sign_data` for `fields`: upper-case hex of SHA-256(string to sign ‖ sign key).
pub fn sign_data<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>, key: &SignKey) -> String {
    sign_string(&string_to_sign(fields), key)
}

/// `sign_data` of an already built string to sign.
pub(crate) fn sign_string(string_to_sign: &str, key: &SignKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(string_to_sign.as_bytes());
    hasher.update(key.0.expose_secret().as_bytes());
    hex::encode_upper(hasher.finalize())
}

/// True if `fields` carry a `sign_data` equal to the one computed over the others with `key`.
/// Compared in constant time; lower-case hex is accepted (the digest is the same).
pub fn verify_sign_data<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>, key: &SignKey) -> bool {
    let fields: Vec<(&str, &str)> = fields.into_iter().collect();
    let Some((_, received)) = fields.iter().find(|(name, _)| *name == "sign_data") else {
        return false;
    };
    let expected = sign_data(fields.iter().copied(), key);
    let received = received.to_ascii_uppercase();
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}
