//! The payout fee (seed 002): fixed per payout, or a rate of the amount with a minimum. A payout
//! run pays out what the merchant's funds allow once the fee is taken from them too.

use crate::{Amount, Rate, split::share};

/// How a merchant's payouts are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeRule {
    /// The same fee on every payout.
    Fixed(Amount),
    /// `round(amount × rate)`, half-up to the fen, and at least `minimum`.
    Rate { rate: Rate, minimum: Amount },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the payout fee overflows")]
pub struct FeeOverflow;

impl FeeRule {
    pub const FREE: FeeRule = FeeRule::Fixed(Amount::ZERO);

    /// The fee on a payout of `amount`.
    pub fn fee_on(self, amount: Amount) -> Result<Amount, FeeOverflow> {
        match self {
            FeeRule::Fixed(fee) => Ok(fee),
            FeeRule::Rate { rate, minimum } => {
                Ok(share(amount, rate.as_decimal()).map_err(|_| FeeOverflow)?.max(minimum))
            }
        }
    }

    /// The largest payout whose amount and fee together fit in `funds`, with its fee; `None` if
    /// no positive amount fits.
    pub fn largest_payout(self, funds: Amount) -> Result<Option<(Amount, Amount)>, FeeOverflow> {
        let fits = |amount: Amount| -> Result<bool, FeeOverflow> {
            let fee = self.fee_on(amount)?;
            Ok(amount.checked_add(fee).is_some_and(|total| total <= funds))
        };
        // A first guess from the rate, then a few fen up or down to the exact largest.
        let mut amount = match self {
            FeeRule::Fixed(fee) => funds.checked_sub(fee).ok_or(FeeOverflow)?,
            FeeRule::Rate { rate, minimum } => {
                let guess = rust_decimal::Decimal::from(funds.fen()) / (rust_decimal::Decimal::ONE + rate.as_decimal());
                let guess = Amount::from_fen(i64::try_from(guess.floor()).map_err(|_| FeeOverflow)?);
                guess.min(funds.checked_sub(minimum).ok_or(FeeOverflow)?)
            }
        };
        while amount.is_positive() && !fits(amount)? {
            amount = amount.checked_sub(Amount::from_fen(1)).ok_or(FeeOverflow)?;
        }
        if !amount.is_positive() {
            return Ok(None);
        }
        while let Some(next) = amount.checked_add(Amount::from_fen(1)).filter(|next| fits(*next).unwrap_or(false)) {
            amount = next;
        }
        Ok(Some((amount, self.fee_on(amount)?)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fen(fen: i64) -> Amount {
        Amount::from_fen(fen)
    }

    #[test]
    fn fixed_and_rated_fees() {
        assert_eq!(FeeRule::Fixed(fen(200)).fee_on(fen(1_000_000)), Ok(fen(200)));
        let rated = FeeRule::Rate { rate: Rate::parse("0.00100").unwrap(), minimum: fen(100) };
        assert_eq!(rated.fee_on(fen(1_000_000)), Ok(fen(1_000)));
        assert_eq!(rated.fee_on(fen(1_000_500)), Ok(fen(1_001)), "half-up");
        assert_eq!(rated.fee_on(fen(5_000)), Ok(fen(100)), "the minimum");
    }

    #[test]
    fn the_payout_is_what_the_funds_allow_after_its_fee() {
        assert_eq!(FeeRule::Fixed(fen(200)).largest_payout(fen(10_000)), Ok(Some((fen(9_800), fen(200)))));
        assert_eq!(FeeRule::Fixed(fen(200)).largest_payout(fen(200)), Ok(None));
        assert_eq!(FeeRule::FREE.largest_payout(fen(1)), Ok(Some((fen(1), fen(0)))));
        let rated = FeeRule::Rate { rate: Rate::parse("0.00100").unwrap(), minimum: fen(100) };
        assert_eq!(rated.largest_payout(fen(1_001_000)), Ok(Some((fen(1_000_000), fen(1_000)))));
        assert_eq!(rated.largest_payout(fen(100)), Ok(None));
    }

    proptest! {
        #[test]
        fn the_largest_payout_fits_and_one_fen_more_does_not(
            funds in 0_i64..10_000_000_000,
            rate in 0_u32..100_000,
            minimum in 0_i64..10_000,
            fixed in proptest::bool::ANY,
        ) {
            let rule = if fixed {
                FeeRule::Fixed(fen(minimum))
            } else {
                FeeRule::Rate { rate: Rate::from_decimal(rust_decimal::Decimal::new(i64::from(rate), 5)).unwrap(), minimum: fen(minimum) }
            };
            match rule.largest_payout(fen(funds)).unwrap() {
                Some((amount, fee)) => {
                    prop_assert!(amount.is_positive());
                    prop_assert_eq!(fee, rule.fee_on(amount).unwrap());
                    prop_assert!(amount.fen() + fee.fen() <= funds);
                    let next = fen(amount.fen() + 1);
                    prop_assert!(next.fen() + rule.fee_on(next).unwrap().fen() > funds);
                }
                None => prop_assert!(1 + rule.fee_on(fen(1)).unwrap().fen() > funds),
            }
        }
    }
}
