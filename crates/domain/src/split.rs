//! The fee split of a paid amount and of a refund: SPEC §3, the fshows rule.
//!
//! Every figure is computed with exact decimals and rounded half-up to the fen, and every split
//! is checked to add up before it is returned, because the ledger books these four figures as
//! one balanced entry.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::Amount;
use crate::rate::Rates;

/// How a paid amount, or a refund of it, divides between the merchant and the three fee takers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FeeSplit {
    pub net_receipt: Amount,
    pub bank_commission: Amount,
    pub pay_platform: Amount,
    pub liquidator_commission: Amount,
}

/// Why an amount could not be split.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SplitError {
    #[error("the amount to split is negative")]
    NegativeTotal,
    #[error("the refund amount is not positive")]
    NonPositiveRefund,
    #[error("the refund is larger than the amount not yet refunded")]
    RefundExceedsRemaining,
    /// Cannot happen for amounts that fit in fen; kept so a bug fails closed.
    #[error("the fee split overflowed")]
    Overflow,
    /// Cannot happen by construction; kept so that, if a change ever breaks the rule, release
    /// builds refuse the split instead of booking an unbalanced entry.
    #[error("the fee split does not add up to the amount split")]
    Unbalanced,
}

impl FeeSplit {
    /// SPEC §3 fee rule for a paid total (which must not be negative).
    ///
    /// The liquidator's commission takes what rounding leaves over; when rounding leaves less
    /// than nothing the merchant absorbs the shortfall, never the ledger.
    pub fn of_total(total: Amount, rates: &Rates) -> Result<FeeSplit, SplitError> {
        if total.is_negative() {
            return Err(SplitError::NegativeTotal);
        }
        let bank_commission = share(total, rates.bank_commission().as_decimal())?;
        let pay_platform = share(total, rates.pay_platform().as_decimal())?;
        let net_receipt = share(total, rates.net_receipt())?;
        let liquidator_commission = remainder(total, &[net_receipt, bank_commission, pay_platform])?;
        let split = if liquidator_commission.is_negative() {
            FeeSplit {
                net_receipt: remainder(total, &[bank_commission, pay_platform])?,
                bank_commission,
                pay_platform,
                liquidator_commission: Amount::ZERO,
            }
        } else {
            FeeSplit { net_receipt, bank_commission, pay_platform, liquidator_commission }
        };
        split.ensure_adds_up_to(total)?;
        Ok(split)
    }

    /// SPEC §3 refund rule: what each party gives back is `split(remaining) −
    /// split(remaining − refund)`.
    ///
    /// Taking differences of whole splits (rather than splitting the refund itself) is what makes
    /// a sequence of refunds that empties the order give back exactly the original split. The
    /// price is that a give-back can be negative by a fen or two; that is correct, not an error.
    pub fn of_refund(remaining: Amount, refund: Amount, rates: &Rates) -> Result<FeeSplit, SplitError> {
        if remaining.is_negative() {
            return Err(SplitError::NegativeTotal);
        }
        if refund <= Amount::ZERO {
            return Err(SplitError::NonPositiveRefund);
        }
        if refund > remaining {
            return Err(SplitError::RefundExceedsRemaining);
        }
        let remaining_after = remaining.checked_sub(refund).ok_or(SplitError::Overflow)?;
        let before = FeeSplit::of_total(remaining, rates)?;
        let after = FeeSplit::of_total(remaining_after, rates)?;
        let give_back = before.checked_sub(after).ok_or(SplitError::Overflow)?;
        give_back.ensure_adds_up_to(refund)?;
        Ok(give_back)
    }

    /// The checked sum of the four parts.
    #[must_use = "an unchecked result hides an overflow"]
    pub fn total(&self) -> Option<Amount> {
        self.net_receipt
            .checked_add(self.bank_commission)?
            .checked_add(self.pay_platform)?
            .checked_add(self.liquidator_commission)
    }

    /// Part by part sum, e.g. to total the give-backs of several refunds.
    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_add(self, other: FeeSplit) -> Option<FeeSplit> {
        self.combine(other, Amount::checked_add)
    }

    /// Part by part difference.
    #[must_use = "an unchecked result hides an overflow"]
    pub fn checked_sub(self, other: FeeSplit) -> Option<FeeSplit> {
        self.combine(other, Amount::checked_sub)
    }

    fn combine(self, other: FeeSplit, operation: fn(Amount, Amount) -> Option<Amount>) -> Option<FeeSplit> {
        Some(FeeSplit {
            net_receipt: operation(self.net_receipt, other.net_receipt)?,
            bank_commission: operation(self.bank_commission, other.bank_commission)?,
            pay_platform: operation(self.pay_platform, other.pay_platform)?,
            liquidator_commission: operation(self.liquidator_commission, other.liquidator_commission)?,
        })
    }

    /// The money invariant of every split: its parts add up to the amount split.
    fn ensure_adds_up_to(&self, amount: Amount) -> Result<(), SplitError> {
        let adds_up = self.total() == Some(amount);
        debug_assert!(adds_up, "{self:?} does not add up to {amount}");
        if adds_up { Ok(()) } else { Err(SplitError::Unbalanced) }
    }
}

/// `round(amount × rate)`, half-up to the fen. The products here are never negative, so
/// "midpoint away from zero" is exactly half-up.
pub(crate) fn share(amount: Amount, rate: Decimal) -> Result<Amount, SplitError> {
    Decimal::from(amount.fen())
        .checked_mul(rate)
        .map(|product| product.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero))
        .and_then(|rounded| i64::try_from(rounded).ok())
        .map(Amount::from_fen)
        .ok_or(SplitError::Overflow)
}

/// `amount − parts[0] − parts[1] − …`, checked.
fn remainder(amount: Amount, parts: &[Amount]) -> Result<Amount, SplitError> {
    parts.iter().try_fold(amount, |left, part| left.checked_sub(*part)).ok_or(SplitError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::Rate;

    fn rates(bank: &str, platform: &str, liquidator: &str) -> Rates {
        let rate = |text| Rate::parse(text).unwrap();
        Rates::new(rate(bank), rate(platform), rate(liquidator)).unwrap()
    }

    fn split(net: i64, bank: i64, platform: i64, liquidator: i64) -> FeeSplit {
        FeeSplit {
            net_receipt: Amount::from_fen(net),
            bank_commission: Amount::from_fen(bank),
            pay_platform: Amount::from_fen(platform),
            liquidator_commission: Amount::from_fen(liquidator),
        }
    }

    #[test]
    fn splits_a_total_rounding_half_up() {
        // 100 000 000.00 yuan at 0.03% / 0.2% / 0.1%: no rounding at all.
        let typical = rates("0.00030", "0.00200", "0.00100");
        let total = Amount::from_fen(10_000_000_000);
        assert_eq!(FeeSplit::of_total(total, &typical), Ok(split(9_967_000_000, 3_000_000, 20_000_000, 10_000_000)));
        // 1.00 yuan at 0.3% each: 0.3 fen rounds down three times, the liquidator takes the fen.
        let even = rates("0.003", "0.003", "0.003");
        assert_eq!(FeeSplit::of_total(Amount::from_fen(100), &even), Ok(split(99, 0, 0, 1)));
    }

    #[test]
    fn merchant_absorbs_a_rounding_shortfall() {
        // 1.00 yuan at 0.5% / 0.5% / 0%: net 99, bank 0.5 → 1, platform 0.5 → 1, which leaves
        // the liquidator −1; it is set to 0 and the merchant's net drops to 98.
        let half = rates("0.005", "0.005", "0");
        assert_eq!(FeeSplit::of_total(Amount::from_fen(100), &half), Ok(split(98, 1, 1, 0)));
    }

    #[test]
    fn zero_total_splits_into_zeros() {
        let any = rates("0.1", "0.2", "0.3");
        assert_eq!(FeeSplit::of_total(Amount::ZERO, &any), Ok(split(0, 0, 0, 0)));
    }

    #[test]
    fn refund_gives_back_the_difference_of_splits() {
        let half = rates("0.005", "0.005", "0");
        // split(100) = 98/1/1/0 and split(1) = 1/0/0/0.
        assert_eq!(FeeSplit::of_refund(Amount::from_fen(100), Amount::from_fen(99), &half), Ok(split(97, 1, 1, 0)));
    }

    #[test]
    fn refund_give_back_may_be_negative() {
        let even = rates("0.003", "0.003", "0.003");
        // split(167) = 165/1/1/0 (0.501 fen rounds up), split(166) = 165/0/0/1 (0.498 rounds
        // down): refunding one fen gives back a fen each to bank and platform, and the
        // liquidator's commission grows by one fen.
        assert_eq!(FeeSplit::of_refund(Amount::from_fen(167), Amount::from_fen(1), &even), Ok(split(0, 1, 1, -1)));
    }

    #[test]
    fn rejects_bad_inputs_with_their_own_error() {
        let any = rates("0.1", "0.2", "0.3");
        let fen = Amount::from_fen;
        assert_eq!(FeeSplit::of_total(fen(-1), &any), Err(SplitError::NegativeTotal));
        assert_eq!(FeeSplit::of_refund(fen(-1), fen(1), &any), Err(SplitError::NegativeTotal));
        assert_eq!(FeeSplit::of_refund(fen(100), fen(0), &any), Err(SplitError::NonPositiveRefund));
        assert_eq!(FeeSplit::of_refund(fen(100), fen(-5), &any), Err(SplitError::NonPositiveRefund));
        assert_eq!(FeeSplit::of_refund(fen(100), fen(101), &any), Err(SplitError::RefundExceedsRemaining));
    }

    #[test]
    fn total_and_part_arithmetic_are_checked() {
        assert_eq!(split(1, 2, 3, -4).total(), Some(Amount::from_fen(2)));
        assert_eq!(split(i64::MAX, 1, 0, 0).total(), None);
        assert_eq!(split(5, 4, 3, 2).checked_sub(split(1, 1, 1, 3)), Some(split(4, 3, 2, -1)));
        assert_eq!(split(i64::MAX, 0, 0, 0).checked_add(split(1, 0, 0, 0)), None);
    }

    #[test]
    fn largest_amounts_split_without_overflow() {
        let near_all = rates("0", "0", "0.99999");
        let total = Amount::from_fen(i64::MAX);
        let result = FeeSplit::of_total(total, &near_all).unwrap();
        assert_eq!(result.total(), Some(total));
    }

    #[test]
    fn internal_failures_have_clear_messages() {
        // Overflow and Unbalanced guard against bugs and cannot be reached through the public
        // API (see largest_amounts_split_without_overflow); their messages still must be clear.
        assert_eq!(SplitError::Overflow.to_string(), "the fee split overflowed");
        assert_eq!(SplitError::Unbalanced.to_string(), "the fee split does not add up to the amount split");
    }
}
