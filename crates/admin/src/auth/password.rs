//! Operator passwords: argon2id with a random salt per password.
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};

/// Shorter passwords are refused: operators move money.
pub const MIN_PASSWORD_LENGTH: usize = 12;
/// Longer input is refused before hashing so a huge body cannot burn CPU.
pub const MAX_PASSWORD_LENGTH: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_LENGTH} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_LENGTH} characters")]
    TooLong,
    #[error("password could not be hashed")]
    Hashing,
}

/// A password that meets the rules, ready to hash.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(password: SecretString) -> Result<NewPassword, PasswordError> {
        match password.expose_secret().chars().count() {
            n if n < MIN_PASSWORD_LENGTH => Err(PasswordError::TooShort),
            n if n > MAX_PASSWORD_LENGTH => Err(PasswordError::TooLong),
            _ => Ok(NewPassword(password)),
        }
    }

    /// Hashes with argon2id (CPU-heavy: call from a blocking thread).
    pub fn hash(&self) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| PasswordError::Hashing)
    }
}

/// Checks a password against a stored hash. With no stored hash (unknown user) a dummy hash is
/// verified anyway, so response time does not reveal which usernames exist.
pub fn verify(password: &SecretString, stored_hash: Option<&str>) -> bool {
    static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy =
        DUMMY_HASH.get_or_init(|| NewPassword(SecretString::from(super::csrf::new_token())).hash().unwrap_or_default());
    let candidate = password.expose_secret().as_bytes();
    if candidate.len() > MAX_PASSWORD_LENGTH * 4 {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored_hash.unwrap_or(dummy)) else {
        return false;
    };
    let matches = Argon2::default().verify_password(candidate, &parsed).is_ok();
    matches && stored_hash.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_reject() {
        let password = SecretString::from("correct horse battery");
        let hash = NewPassword::parse(password.clone()).unwrap().hash().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&password, Some(&hash)));
        assert!(!verify(&SecretString::from("wrong horse battery"), Some(&hash)));
        assert!(!verify(&password, None));
        assert!(!verify(&password, Some("not a hash")));
    }

    #[test]
    fn length_rules() {
        assert_eq!(NewPassword::parse(SecretString::from("short")).err(), Some(PasswordError::TooShort));
        assert_eq!(NewPassword::parse(SecretString::from("x".repeat(257))).err(), Some(PasswordError::TooLong));
    }
}
