//! The worked examples of SPEC §3 (`tests/data/*_vectors.json`), checked case by case.
//!
//! The numbers are read from the files at test time and never copied into code, so the files
//! stay the single source of truth.

use std::path::Path;

use domain::{Amount, FeeSplit, Rate, Rates};
use serde::Deserialize;

// No deny_unknown_fields where a struct flattens another: serde does not support the two
// together.
#[derive(Deserialize)]
struct FeeCase {
    total_fee: String,
    bank_commission_rate: String,
    pay_platform_rate: String,
    liquidator_commission_rate: String,
    #[serde(flatten)]
    expected: ExpectedSplit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundCase {
    total_fee: String,
    bank_commission_rate: String,
    pay_platform_rate: String,
    liquidator_commission_rate: String,
    refunds: Vec<RefundStep>,
}

#[derive(Deserialize)]
struct RefundStep {
    refund_fee: String,
    #[serde(flatten)]
    expected: ExpectedSplit,
}

/// The four figures as the vectors write them: yuan text, possibly negative for a give-back.
#[derive(Deserialize)]
struct ExpectedSplit {
    bank_commission_fee: String,
    pay_platform_fee: String,
    liquidator_commission_fee: String,
    net_receipt_amount: String,
}

fn load<T: serde::de::DeserializeOwned>(file_name: &str) -> Vec<T> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file_name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("cannot parse {}: {error}", path.display()))
}

/// Wire amounts are unsigned, so a negative expected give-back is parsed as its absolute value
/// and negated.
fn signed_amount(text: &str, context: &str) -> Amount {
    let parsed = match text.strip_prefix('-') {
        Some(magnitude) => Amount::parse_yuan(magnitude).map(|amount| amount.checked_neg()),
        None => Amount::parse_yuan(text).map(Some),
    };
    match parsed {
        Ok(Some(amount)) => amount,
        other => panic!("{context}: cannot read amount {text:?}: {other:?}"),
    }
}

fn rates(bank: &str, platform: &str, liquidator: &str, context: &str) -> Rates {
    let rate =
        |text: &str, field: &str| Rate::parse(text).unwrap_or_else(|error| panic!("{context}, {field}: {error}"));
    Rates::new(
        rate(bank, "bank_commission_rate"),
        rate(platform, "pay_platform_rate"),
        rate(liquidator, "liquidator_commission_rate"),
    )
    .unwrap_or_else(|error| panic!("{context}: {error}"))
}

/// Compares field by field so a failure names the field, not just "splits differ".
fn assert_split(actual: FeeSplit, expected: &ExpectedSplit, context: &str) {
    let fields = [
        ("bank_commission_fee", actual.bank_commission, &expected.bank_commission_fee),
        ("pay_platform_fee", actual.pay_platform, &expected.pay_platform_fee),
        ("liquidator_commission_fee", actual.liquidator_commission, &expected.liquidator_commission_fee),
        ("net_receipt_amount", actual.net_receipt, &expected.net_receipt_amount),
    ];
    for (field, actual_amount, expected_text) in fields {
        let field_context = format!("{context}, {field}");
        let expected_amount = signed_amount(expected_text, &field_context);
        assert_eq!(actual_amount, expected_amount, "{field_context}: got {actual_amount}, expected {expected_text}");
    }
}

#[test]
fn every_fee_vector_splits_as_expected() {
    let cases: Vec<FeeCase> = load("fee_vectors.json");
    assert_eq!(cases.len(), 40, "fee_vectors.json should hold 40 cases");
    for (index, case) in cases.iter().enumerate() {
        let context = format!("fee case {index}");
        let rates =
            rates(&case.bank_commission_rate, &case.pay_platform_rate, &case.liquidator_commission_rate, &context);
        let total = signed_amount(&case.total_fee, &format!("{context}, total_fee"));
        let split = FeeSplit::of_total(total, &rates).unwrap_or_else(|error| panic!("{context}: {error}"));
        assert_split(split, &case.expected, &context);
    }
}

#[test]
fn every_refund_vector_gives_back_as_expected() {
    let cases: Vec<RefundCase> = load("refund_vectors.json");
    assert_eq!(cases.len(), 30, "refund_vectors.json should hold 30 cases");
    for (index, case) in cases.iter().enumerate() {
        let context = format!("refund case {index}");
        let rates =
            rates(&case.bank_commission_rate, &case.pay_platform_rate, &case.liquidator_commission_rate, &context);
        let total = signed_amount(&case.total_fee, &format!("{context}, total_fee"));
        let mut remaining = total;
        for (step, refund) in case.refunds.iter().enumerate() {
            let step_context = format!("{context}, refund {step}");
            let refund_amount = signed_amount(&refund.refund_fee, &format!("{step_context}, refund_fee"));
            let give_back = FeeSplit::of_refund(remaining, refund_amount, &rates)
                .unwrap_or_else(|error| panic!("{step_context}: {error}"));
            assert_split(give_back, &refund.expected, &step_context);
            remaining = remaining.checked_sub(refund_amount).expect("remaining fits");
        }
    }
}

/// SPEC §3: any sequence of refunds that empties the order gives back exactly the original
/// split. Some vectors stop short of the total; those are completed with one last refund of
/// whatever is left, so every case yields a sequence that empties the order.
#[test]
fn refunds_that_empty_an_order_give_back_the_original_split() {
    let cases: Vec<RefundCase> = load("refund_vectors.json");
    for (index, case) in cases.iter().enumerate() {
        let context = format!("refund case {index}");
        let rates =
            rates(&case.bank_commission_rate, &case.pay_platform_rate, &case.liquidator_commission_rate, &context);
        let total = signed_amount(&case.total_fee, &format!("{context}, total_fee"));
        let mut refund_amounts: Vec<Amount> = case
            .refunds
            .iter()
            .map(|refund| signed_amount(&refund.refund_fee, &format!("{context}, refund_fee")))
            .collect();
        let refunded = refund_amounts
            .iter()
            .try_fold(Amount::ZERO, |sum, amount| sum.checked_add(*amount))
            .expect("refund sum fits");
        let left = total.checked_sub(refunded).expect("left fits");
        if left > Amount::ZERO {
            refund_amounts.push(left);
        }

        let mut remaining = total;
        let mut given_back = FeeSplit::of_total(Amount::ZERO, &rates).expect("zero splits");
        for refund_amount in refund_amounts {
            let give_back = FeeSplit::of_refund(remaining, refund_amount, &rates)
                .unwrap_or_else(|error| panic!("{context}: {error}"));
            given_back = given_back.checked_add(give_back).expect("give-backs fit");
            remaining = remaining.checked_sub(refund_amount).expect("remaining fits");
        }
        assert_eq!(remaining, Amount::ZERO, "{context}: order not emptied");
        let original = FeeSplit::of_total(total, &rates).expect("total splits");
        assert_eq!(given_back, original, "{context}: give-backs differ from the split");
    }
}
