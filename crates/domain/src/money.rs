//! Amounts of money in fen, and the one place where wire yuan text becomes fen and back.
//!
//! Inside the platform every amount is an integer number of fen. Yuan text ("0.01") exists only
//! at the wire, so parsing and formatting live here and nowhere else.

use std::fmt;

/// An amount of money in fen (1 yuan = 100 fen).
///
/// It may be negative: a refund can give back a negative fee when rounding moves a fen from one
/// party to another (SPEC §3). All arithmetic is checked, because a silently wrapped amount is a
/// lost or invented payment.
///
/// Stored as a `BIGINT` of fen, so amount columns are read and written as `Amount` directly;
/// serialized as its number of fen, as the columns and exports hold it.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    serde::Serialize,
    diesel_derive_newtype::DieselNewType,
)]
#[serde(transparent)]
pub struct Amount(i64);

/// Why a wire "Price" text is not an acceptable amount.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("amount contains whitespace")]
    Whitespace,
    #[error("amount has a leading sign; only unsigned amounts are accepted")]
    Sign,
    #[error("amount uses exponent notation")]
    Exponent,
    #[error("amount is not a decimal number")]
    NotANumber,
    #[error("amount has more than two decimal places")]
    TooManyDecimals,
    #[error("amount is too large")]
    TooLarge,
    #[error("amount is outside the allowed range {min} to {max}")]
    OutOfRange { min: Amount, max: Amount },
}

const FEN_PER_YUAN: u64 = 100;
const MAX_DECIMALS: usize = 2;

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_fen(fen: i64) -> Amount {
        Amount(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_neg(self) -> Option<Amount> {
        self.0.checked_neg().map(Amount)
    }

    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_abs(self) -> Option<Amount> {
        self.0.checked_abs().map(Amount)
    }

    /// The total of `amounts`, or None if it overflows.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Amount>) -> Option<Amount> {
        amounts.into_iter().try_fold(Amount::ZERO, Amount::checked_add)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parses the wire "Price" text: yuan with at most two decimals, e.g. "0.01",
    /// "100000000.00", "5", "7.5". Leading zeros ("007.50") are accepted.
    ///
    /// The text is either a JSON string's value or a JSON number token exactly as received.
    /// Signs are rejected because no wire amount is negative; exponents are rejected because
    /// they hide how many decimals were meant.
    pub fn parse_yuan(text: &str) -> Result<Amount, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.chars().any(char::is_whitespace) {
            return Err(AmountError::Whitespace);
        }
        if text.starts_with(['+', '-']) {
            return Err(AmountError::Sign);
        }
        if is_exponent_notation(text) {
            return Err(AmountError::Exponent);
        }
        let (yuan_digits, fen_digits) = split_decimal(text).ok_or(AmountError::NotANumber)?;
        if fen_digits.len() > MAX_DECIMALS {
            return Err(AmountError::TooManyDecimals);
        }
        to_fen(yuan_digits, fen_digits).map(Amount).ok_or(AmountError::TooLarge)
    }

    /// [`Amount::parse_yuan`] plus an inclusive range check, e.g. 1..=10_000_000_000 fen for
    /// `total_fee`.
    pub fn parse_yuan_in(text: &str, min: Amount, max: Amount) -> Result<Amount, AmountError> {
        let amount = Amount::parse_yuan(text)?;
        if amount < min || amount > max {
            return Err(AmountError::OutOfRange { min, max });
        }
        Ok(amount)
    }

    /// Yuan with exactly two decimals: "0.01", "123.40", "-0.01".
    pub fn to_yuan_string(self) -> String {
        self.to_string()
    }
}

impl Amount {
    /// Writes the amount as yuan with two decimals (`-123.45`), as `Display` shows it, without the
    /// formatting machinery: a statement's export writes three amounts a line, and padding the
    /// cents through `write!` was a measurable share of it.
    pub fn write_yuan(self, out: &mut impl fmt::Write) -> fmt::Result {
        if self.is_negative() {
            out.write_char('-')?;
        }
        // unsigned_abs, because i64::MIN has no positive i64 counterpart.
        let fen = self.0.unsigned_abs();
        out.write_str(itoa::Buffer::new().format(fen / FEN_PER_YUAN))?;
        out.write_char('.')?;
        let cents = fen % FEN_PER_YUAN;
        for digit in [cents / 10, cents % 10] {
            // A digit, below ten.
            out.write_char(char::from(b'0' + digit as u8))?;
        }
        Ok(())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_yuan(f)
    }
}

/// True for texts like "1e5", "1.5E-3": digits and dots, an e, an optionally signed exponent.
/// Anything else containing an e ("one", "NaN") is simply not a number.
fn is_exponent_notation(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return false;
    };
    let exponent_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !exponent_digits.is_empty()
        && exponent_digits.chars().all(|c| c.is_ascii_digit())
}

/// Splits "12.34" into ("12", "34") and "12" into ("12", ""). Both sides must be ASCII digits
/// and non-empty when present, so ".5", "1.", "." and "1.2.3" are rejected.
pub(crate) fn split_decimal(text: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && all_digits(whole) && all_digits(fraction)).then_some((whole, fraction))
}

/// Combines validated yuan and fen digit strings into fen, or None when it overflows an i64.
/// Digit by digit, so any number of leading zeros is harmless.
fn to_fen(yuan_digits: &str, fen_digits: &str) -> Option<i64> {
    let missing_zeros = MAX_DECIMALS.saturating_sub(fen_digits.len());
    yuan_digits
        .bytes()
        .chain(fen_digits.bytes())
        .chain(std::iter::repeat_n(b'0', missing_zeros))
        .try_fold(0_i64, |total, digit| total.checked_mul(10)?.checked_add(i64::from(digit - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<i64, AmountError> {
        Amount::parse_yuan(text).map(Amount::fen)
    }

    #[test]
    fn accepts_wire_prices() {
        assert_eq!(parse("0.01"), Ok(1));
        assert_eq!(parse("100000000.00"), Ok(10_000_000_000));
        assert_eq!(parse("5"), Ok(500));
        assert_eq!(parse("7.5"), Ok(750));
        assert_eq!(parse("007.50"), Ok(750));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("92233720368547758.07"), Ok(i64::MAX));
    }

    #[test]
    fn rejects_each_malformed_price_with_its_own_error() {
        let cases = [
            ("", AmountError::Empty),
            (" 1.00", AmountError::Whitespace),
            ("1.00\n", AmountError::Whitespace),
            ("1 000", AmountError::Whitespace),
            ("+1.00", AmountError::Sign),
            ("-0.01", AmountError::Sign),
            ("1e5", AmountError::Exponent),
            ("1.5E-3", AmountError::Exponent),
            ("NaN", AmountError::NotANumber),
            ("Infinity", AmountError::NotANumber),
            ("inf", AmountError::NotANumber),
            ("one", AmountError::NotANumber),
            ("1.2.3", AmountError::NotANumber),
            (".", AmountError::NotANumber),
            (".5", AmountError::NotANumber),
            ("1.", AmountError::NotANumber),
            ("1,00", AmountError::NotANumber),
            ("１.00", AmountError::NotANumber),
            ("1.001", AmountError::TooManyDecimals),
            ("1.000", AmountError::TooManyDecimals),
            ("92233720368547758.08", AmountError::TooLarge),
            ("99999999999999999999999", AmountError::TooLarge),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "text {text:?}");
        }
    }

    #[test]
    fn range_check_is_inclusive() {
        let min = Amount::from_fen(1);
        let max = Amount::from_fen(10_000_000_000);
        let out_of_range = Err(AmountError::OutOfRange { min, max });
        assert_eq!(Amount::parse_yuan_in("0.01", min, max), Ok(min));
        assert_eq!(Amount::parse_yuan_in("100000000.00", min, max), Ok(max));
        assert_eq!(Amount::parse_yuan_in("0.00", min, max), out_of_range);
        assert_eq!(Amount::parse_yuan_in("100000000.01", min, max), out_of_range);
        // A malformed text reports its own problem, not the range.
        assert_eq!(Amount::parse_yuan_in("1.001", min, max), Err(AmountError::TooManyDecimals));
    }

    #[test]
    fn formats_with_exactly_two_decimals() {
        assert_eq!(Amount::from_fen(1).to_yuan_string(), "0.01");
        assert_eq!(Amount::from_fen(12_340).to_yuan_string(), "123.40");
        assert_eq!(Amount::from_fen(-1).to_yuan_string(), "-0.01");
        assert_eq!(Amount::from_fen(-12_345).to_string(), "-123.45");
        assert_eq!(Amount::ZERO.to_string(), "0.00");
        assert_eq!(Amount::from_fen(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn formatting_round_trips_through_parsing() {
        for text in ["0.01", "100000000.00", "123.40", "0.00"] {
            assert_eq!(Amount::parse_yuan(text).unwrap().to_yuan_string(), text);
        }
        let negative = Amount::from_fen(-1);
        let unsigned = negative.to_yuan_string().strip_prefix('-').unwrap().to_owned();
        assert_eq!(Amount::parse_yuan(&unsigned).unwrap().checked_neg(), Some(negative));
    }

    #[test]
    fn arithmetic_reports_overflow() {
        let max = Amount::from_fen(i64::MAX);
        let min = Amount::from_fen(i64::MIN);
        assert_eq!(max.checked_add(Amount::from_fen(1)), None);
        assert_eq!(min.checked_sub(Amount::from_fen(1)), None);
        assert_eq!(min.checked_neg(), None);
        assert_eq!(Amount::from_fen(5).checked_sub(Amount::from_fen(7)), Some(Amount::from_fen(-2)));
        assert!(Amount::from_fen(-2).is_negative());
        assert!(!Amount::ZERO.is_negative());
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(AmountError::TooManyDecimals.to_string(), "amount has more than two decimal places");
        let range = AmountError::OutOfRange { min: Amount::from_fen(1), max: Amount::from_fen(10_000_000_000) };
        assert_eq!(range.to_string(), "amount is outside the allowed range 0.01 to 100000000.00");
    }
}
