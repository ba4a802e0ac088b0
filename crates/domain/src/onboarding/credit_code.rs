//! The unified social credit code (统一社会信用代码) of GB 32100-2015: the one number that
//! identifies a Chinese company, printed on its business licence.

use serde::Serialize;

use super::text::mask;

/// An 18-character code whose last character is the check character over the first 17.
///
/// Only the check character is verified, not the registration authority, category or region
/// codes inside it: those lists change over time, and a code that passes the check has almost
/// certainly been copied correctly, which is what this guards against.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct UnifiedSocialCreditCode(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CreditCodeError {
    #[error("unified social credit code must be exactly 18 characters long")]
    WrongLength,
    #[error(
        "unified social credit code may contain only digits and the capital letters \
         A to Y except I, O, S, V and Z"
    )]
    InvalidCharacter,
    #[error("unified social credit code has a wrong check character (expected {expected})")]
    CheckCharacterMismatch { expected: char },
}

const LENGTH: usize = 18;
/// The 31 characters a code is written with, in the order of their values 0 to 30. I, O, S, V
/// and Z are left out because they are easily mistaken for 1, 0, 5, U and 2.
const ALPHABET: [char; 31] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N',
    'P', 'Q', 'R', 'T', 'U', 'W', 'X', 'Y',
];
/// The weight of each of the first 17 characters: 3^i mod 31.
const WEIGHTS: [u32; LENGTH - 1] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const MODULUS: u32 = 31;

impl UnifiedSocialCreditCode {
    /// Parses a code, accepting lower-case letters and surrounding whitespace, which people
    /// copying from a scanned licence often produce.
    pub fn parse(text: &str) -> Result<Self, CreditCodeError> {
        let code = text.trim().to_ascii_uppercase();
        if code.chars().count() != LENGTH {
            return Err(CreditCodeError::WrongLength);
        }
        let values =
            code.chars().map(value_of).collect::<Option<Vec<u32>>>().ok_or(CreditCodeError::InvalidCharacter)?;
        let Some((&check, body)) = values.split_last() else {
            return Err(CreditCodeError::WrongLength);
        };
        let expected = check_value(body);
        if check != expected {
            return Err(CreditCodeError::CheckCharacterMismatch { expected: character_of(expected) });
        }
        Ok(Self(code))
    }

    /// The first and last four characters, e.g. "9111**********433B", for lists and logs.
    pub fn masked(&self) -> String {
        mask(&self.0, 4, 4)
    }
}

string_views!(UnifiedSocialCreditCode);

fn value_of(c: char) -> Option<u32> {
    let index = ALPHABET.iter().position(|&letter| letter == c)?;
    u32::try_from(index).ok()
}

/// The character for a value below 31; anything else (impossible here) maps to '0' rather than
/// panicking.
fn character_of(value: u32) -> char {
    usize::try_from(value).ok().and_then(|index| ALPHABET.get(index).copied()).unwrap_or('0')
}

/// `31 − (Σ valueᵢ × weightᵢ mod 31)`, where 31 itself is written as 0. Every value and weight
/// is below 31, so the sum stays far below `u32::MAX`.
fn check_value(body: &[u32]) -> u32 {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(value, weight)| value * weight).sum();
    (MODULUS - sum % MODULUS) % MODULUS
}
