//! Fee rates: exact decimals in `[0, 1)` with at most five decimal places, never floats.

use std::fmt;

use rust_decimal::Decimal;

use crate::money::split_decimal;

/// Decimal places a rate may have, and the number it is always written with ("0.00030").
const RATE_DECIMALS: u32 = 5;

/// One fee rate, `0 <= rate < 1`, with at most five decimal places.
///
/// Stored rescaled to exactly five decimal places, so [`Rate::as_decimal`] hands storage the
/// same `NUMERIC` scale whatever text the rate was parsed from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Rate(Decimal);

/// Why a text or decimal is not an acceptable rate.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RateError {
    #[error("rate is not a plain decimal number")]
    Malformed,
    #[error("rate is negative")]
    Negative,
    #[error("rate is not below one")]
    NotBelowOne,
    #[error("rate has more than five decimal places")]
    TooManyDecimals,
}

impl Rate {
    pub const ZERO: Rate = Rate(Decimal::from_parts(0, 0, 0, false, RATE_DECIMALS));

    /// Parses "0.00030", "0.003" or "0": a JSON number token or a JSON string's value.
    ///
    /// A minus sign is reported as [`RateError::Negative`] even on zero, because no rate is
    /// written that way. Exponents, other signs and whitespace are [`RateError::Malformed`].
    /// Like amounts, trailing zeros count as decimals: "0.000300" has too many.
    pub fn parse(text: &str) -> Result<Rate, RateError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(unsigned) => (true, unsigned),
            None => (false, text),
        };
        let (whole_digits, fraction_digits) = split_decimal(unsigned).ok_or(RateError::Malformed)?;
        if negative {
            return Err(RateError::Negative);
        }
        if whole_digits.bytes().any(|digit| digit != b'0') {
            return Err(RateError::NotBelowOne);
        }
        let scale = u32::try_from(fraction_digits.len()).map_err(|_| RateError::TooManyDecimals)?;
        if scale > RATE_DECIMALS {
            return Err(RateError::TooManyDecimals);
        }
        // At most five digits, so the mantissa always fits.
        let mantissa = match fraction_digits {
            "" => 0,
            digits => digits.parse::<i64>().map_err(|_| RateError::Malformed)?,
        };
        let decimal = Decimal::try_new(mantissa, scale).map_err(|_| RateError::Malformed)?;
        Rate::from_decimal(decimal)
    }

    /// Accepts a decimal from storage or configuration. Trailing zeros do not count here
    /// (`0.000300` with scale 6 is the rate 0.0003), since a decimal's scale is not user input.
    pub fn from_decimal(decimal: Decimal) -> Result<Rate, RateError> {
        // normalize() also turns -0 into 0, so only a real negative is rejected.
        let mut normalized = decimal.normalize();
        if normalized.is_sign_negative() {
            return Err(RateError::Negative);
        }
        if normalized >= Decimal::ONE {
            return Err(RateError::NotBelowOne);
        }
        if normalized.scale() > RATE_DECIMALS {
            return Err(RateError::TooManyDecimals);
        }
        normalized.rescale(RATE_DECIMALS);
        Ok(Rate(normalized))
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Rate {
    /// Exactly five decimals: "0.00030".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.5}", self.0)
    }
}

/// The three rates of a sub-merchant. Together they are below one, so the merchant's net receipt
/// rate is always positive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Rates {
    bank_commission: Rate,
    pay_platform: Rate,
    liquidator_commission: Rate,
    /// `1 − bank − platform − liquidator`, computed once in [`Rates::new`] where the sum is
    /// checked, so nothing later has to handle an impossible overflow.
    net_receipt: Decimal,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RatesError {
    #[error("the bank, pay platform and liquidator rates together are not below one")]
    SumNotBelowOne,
}

impl Rates {
    pub fn new(bank_commission: Rate, pay_platform: Rate, liquidator_commission: Rate) -> Result<Rates, RatesError> {
        let net_receipt = bank_commission
            .0
            .checked_add(pay_platform.0)
            .and_then(|sum| sum.checked_add(liquidator_commission.0))
            .filter(|sum| *sum < Decimal::ONE)
            .and_then(|sum| Decimal::ONE.checked_sub(sum))
            .ok_or(RatesError::SumNotBelowOne)?;
        Ok(Rates { bank_commission, pay_platform, liquidator_commission, net_receipt })
    }

    pub fn bank_commission(&self) -> Rate {
        self.bank_commission
    }

    pub fn pay_platform(&self) -> Rate {
        self.pay_platform
    }

    pub fn liquidator_commission(&self) -> Rate {
        self.liquidator_commission
    }

    /// The merchant's share, `1 − bank − platform − liquidator`; in `(0, 1]` by construction.
    pub fn net_receipt(&self) -> Decimal {
        self.net_receipt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn parses_and_formats_with_five_decimals() {
        assert_eq!(rate("0.00030").to_string(), "0.00030");
        assert_eq!(rate("0.003").to_string(), "0.00300");
        assert_eq!(rate("0").to_string(), "0.00000");
        assert_eq!(rate("0.99999").to_string(), "0.99999");
        assert_eq!(rate("000.5").to_string(), "0.50000");
        assert_eq!(Rate::ZERO.to_string(), "0.00000");
        assert_eq!(rate("0"), Rate::ZERO);
        assert_eq!(rate("0.003").as_decimal().scale(), RATE_DECIMALS);
    }

    #[test]
    fn rejects_each_bad_text_with_its_own_error() {
        let cases = [
            ("", RateError::Malformed),
            ("abc", RateError::Malformed),
            ("3e-4", RateError::Malformed),
            (" 0.1", RateError::Malformed),
            ("+0.1", RateError::Malformed),
            (".5", RateError::Malformed),
            ("0.", RateError::Malformed),
            ("0.1.2", RateError::Malformed),
            ("-0.001", RateError::Negative),
            ("-0", RateError::Negative),
            ("1", RateError::NotBelowOne),
            ("1.00000", RateError::NotBelowOne),
            ("12.5", RateError::NotBelowOne),
            ("0.000001", RateError::TooManyDecimals),
            ("0.000300", RateError::TooManyDecimals),
        ];
        for (text, expected) in cases {
            assert_eq!(Rate::parse(text), Err(expected), "text {text:?}");
        }
    }

    #[test]
    fn from_decimal_checks_the_value() {
        let decimal = |mantissa, scale| Decimal::new(mantissa, scale);
        assert_eq!(Rate::from_decimal(decimal(300, 6)), Ok(rate("0.0003")));
        assert_eq!(Rate::from_decimal(Decimal::from_parts(0, 0, 0, true, 0)), Ok(Rate::ZERO));
        assert_eq!(Rate::from_decimal(decimal(-1, 5)), Err(RateError::Negative));
        assert_eq!(Rate::from_decimal(decimal(1, 0)), Err(RateError::NotBelowOne));
        assert_eq!(Rate::from_decimal(decimal(1, 6)), Err(RateError::TooManyDecimals));
    }

    #[test]
    fn rates_must_sum_below_one() {
        let ok = Rates::new(rate("0.5"), rate("0.3"), rate("0.19999")).unwrap();
        assert_eq!(ok.bank_commission(), rate("0.5"));
        assert_eq!(ok.pay_platform(), rate("0.3"));
        assert_eq!(ok.liquidator_commission(), rate("0.19999"));
        assert_eq!(ok.net_receipt(), Decimal::new(1, 5));
        assert_eq!(Rates::new(rate("0.5"), rate("0.3"), rate("0.2")), Err(RatesError::SumNotBelowOne));
        assert_eq!(Rates::new(rate("0.99999"), rate("0.99999"), rate("0.99999")), Err(RatesError::SumNotBelowOne));
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(RateError::TooManyDecimals.to_string(), "rate has more than five decimal places");
        assert_eq!(
            RatesError::SumNotBelowOne.to_string(),
            "the bank, pay platform and liquidator rates together are not below one"
        );
    }
}
