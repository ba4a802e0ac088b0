//! Money and rates as they come over the wire (`total_fee`, `refund_fee`, the three rates).
//!
//! Beyond "no panic": a parsed amount is never negative, formats to yuan with two decimals that
//! parse back to the same amount, and text already in that form formats back to itself; the same
//! for rates (five decimals, below one).
#![no_main]
use domain::{Amount, AmountError, Rate};
use libfuzzer_sys::fuzz_target;

/// Yuan as we write it: no sign, no leading zero, two decimals.
fn canonical_yuan(text: &str) -> bool {
    let Some((yuan, fen)) = text.split_once('.') else { return false };
    fen.len() == 2
        && fen.bytes().all(|b| b.is_ascii_digit())
        && !yuan.is_empty()
        && yuan.bytes().all(|b| b.is_ascii_digit())
        && (yuan == "0" || !yuan.starts_with('0'))
}

fuzz_target!(|text: &str| {
    if let Ok(amount) = Amount::parse_yuan(text) {
        assert!(!amount.is_negative(), "{text:?}");
        let shown = amount.to_yuan_string();
        assert!(canonical_yuan(&shown), "{shown:?}");
        assert_eq!(Amount::parse_yuan(&shown).ok(), Some(amount), "{text:?}");
        let one_fen = Amount::from_fen(1);
        assert_eq!(Amount::parse_yuan_in(text, one_fen, amount).is_ok(), amount >= one_fen);
    } else if canonical_yuan(text) {
        // Written as we write yuan, so refused only for being more than an i64 of fen.
        assert_eq!(Amount::parse_yuan(text).err(), Some(AmountError::TooLarge), "{text:?}");
    }
    if let Ok(rate) = Rate::parse(text) {
        let shown = rate.to_string();
        assert_eq!(Rate::parse(&shown).ok(), Some(rate), "{text:?}");
        assert!(shown.starts_with("0.") && shown.len() == 7, "{shown:?}");
        if text.len() == 7 && text.starts_with("0.") {
            assert_eq!(shown, text);
        }
    }
});
