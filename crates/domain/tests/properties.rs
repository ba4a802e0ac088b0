//! Property tests for the money rules of SPEC §3: splits always add up, refunds that empty an
//! order give back exactly the original split, and amounts survive formatting and parsing.

use domain::{Amount, FeeSplit, Rate, Rates};
use proptest::prelude::*;

/// The largest `total_fee` the gateway accepts: 100 000 000.00 yuan.
const MAX_TOTAL_FEE: i64 = 10_000_000_000;
/// One in units of the fifth decimal place.
const ONE_IN_RATE_UNITS: u32 = 100_000;

/// A rate with five decimals, built through the parser as wire input would be.
fn rate(units: u32) -> Rate {
    Rate::parse(&format!("0.{units:05}")).expect("a five-decimal rate below one parses")
}

/// Typical small rates (up to 5% each, often exactly zero, which is when the liquidator's
/// commission can round below zero) and, just as often, triples spread over the whole range up
/// to a sum of 0.99999, where rounding has the most room to misbehave.
fn rates() -> impl Strategy<Value = Rates> {
    let typical_units = || prop_oneof![Just(0_u32), 0..=5_000_u32];
    let typical = (typical_units(), typical_units(), typical_units());
    let spread = (0..ONE_IN_RATE_UNITS)
        .prop_flat_map(|first| (Just(first), 0..ONE_IN_RATE_UNITS - first))
        .prop_flat_map(|(first, second)| (Just(first), Just(second), 0..ONE_IN_RATE_UNITS - first - second));
    // The first draw tends to be the largest, so rotate which rate receives it.
    let extreme = (spread, 0..3_usize).prop_map(|((a, b, c), rotation)| match rotation {
        0 => (a, b, c),
        1 => (b, c, a),
        _ => (c, a, b),
    });
    prop_oneof![typical, extreme].prop_map(|(bank, platform, liquidator)| {
        Rates::new(rate(bank), rate(platform), rate(liquidator)).expect("sum is below one")
    })
}

/// Paid totals up to the gateway's maximum, half of them small, where one fen of rounding
/// matters most.
fn total_fen() -> impl Strategy<Value = i64> {
    prop_oneof![0..=10_000_i64, 0..=MAX_TOTAL_FEE]
}

fn parts(split: &FeeSplit) -> [Amount; 4] {
    [split.net_receipt, split.bank_commission, split.pay_platform, split.liquidator_commission]
}

/// Turns random draws into refunds of at least one fen each that together empty `total`.
fn refunds_emptying(total: i64, draws: &[u64]) -> Vec<Amount> {
    let mut remaining = total;
    let mut refunds = Vec::new();
    for draw in draws {
        if remaining <= 0 {
            break;
        }
        let remaining_unsigned = u64::try_from(remaining).expect("remaining is positive");
        let refund = i64::try_from(draw % remaining_unsigned).expect("below remaining") + 1;
        refunds.push(Amount::from_fen(refund));
        remaining -= refund;
    }
    if remaining > 0 {
        refunds.push(Amount::from_fen(remaining));
    }
    refunds
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_split_adds_up_and_has_no_negative_part(
        total_fen in total_fen(),
        rates in rates(),
    ) {
        let total = Amount::from_fen(total_fen);
        let split = FeeSplit::of_total(total, &rates).unwrap();
        prop_assert_eq!(split.total(), Some(total));
        for part in parts(&split) {
            prop_assert!(!part.is_negative(), "negative part in {:?}", split);
        }
    }

    #[test]
    fn any_non_negative_total_splits_without_error(
        total_fen in 0..=i64::MAX,
        rates in rates(),
    ) {
        let total = Amount::from_fen(total_fen);
        let split = FeeSplit::of_total(total, &rates).unwrap();
        prop_assert_eq!(split.total(), Some(total));
    }

    #[test]
    fn refunds_that_empty_an_order_give_back_its_split(
        total_fen in total_fen().prop_map(|fen| fen.max(1)),
        draws in prop::collection::vec(any::<u64>(), 0..6),
        rates in rates(),
    ) {
        let total = Amount::from_fen(total_fen);
        let original = FeeSplit::of_total(total, &rates).unwrap();
        let mut remaining = total;
        let mut given_back = FeeSplit::of_total(Amount::ZERO, &rates).unwrap();
        for refund in refunds_emptying(total_fen, &draws) {
            let give_back = FeeSplit::of_refund(remaining, refund, &rates).unwrap();
            prop_assert_eq!(give_back.total(), Some(refund));
            given_back = given_back.checked_add(give_back).unwrap();
            remaining = remaining.checked_sub(refund).unwrap();
        }
        prop_assert_eq!(remaining, Amount::ZERO);
        prop_assert_eq!(given_back, original);
    }

    #[test]
    fn a_non_negative_amount_round_trips_through_yuan_text(fen in 0..=i64::MAX) {
        let amount = Amount::from_fen(fen);
        let text = amount.to_yuan_string();
        prop_assert_eq!(Amount::parse_yuan(&text), Ok(amount));
    }

    #[test]
    fn a_negative_amount_formats_as_minus_its_magnitude(fen in (i64::MIN + 1)..0) {
        let amount = Amount::from_fen(fen);
        let text = amount.to_yuan_string();
        let magnitude = text.strip_prefix('-').expect("negative amounts start with a minus");
        let parsed = Amount::parse_yuan(magnitude).unwrap().checked_neg();
        prop_assert_eq!(parsed, Some(amount));
    }

    #[test]
    fn a_rate_round_trips_through_its_text(units in 0..ONE_IN_RATE_UNITS) {
        let text = format!("0.{units:05}");
        prop_assert_eq!(Rate::parse(&text).unwrap().to_string(), text);
    }
}
