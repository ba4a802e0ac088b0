//! The console's posted forms that carry money, ids, rates and schedules (`crates/forms`), from
//! the raw body on, as the console reads them.
//!
//! Beyond "no panic":
//! - a body that names a field twice is refused as such, for every form;
//! - a form read holds exactly what a standard form parser reads;
//! - a refund, a schedule, a merchant's rates, a plan and a plan's version that are accepted,
//!   written back into a body the way the console fills its forms, read and parse to the same
//!   values; a refund is within one fen and the largest order;
//! - a text field is kept trimmed, cut to its length, free of control characters, or refused.
#![no_main]
use chrono::{DateTime, TimeZone, Utc};
use domain::Amount;
use forms::{
    body::{BodyError, read},
    rates::{MerchantRatesForm, PlanForm, PlanVersionForm, RateFields, RatesChoice},
    refund::{MAX_REFUND, RefundForm},
    schedule::{ScheduleForm, fields},
    text::present,
    time::china_time,
};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

#[path = "forms.rs"]
mod posted;

fuzz_target!(|body: &[u8]| {
    let pairs = posted::form(body);
    let repeats = posted::has_repeats(&pairs);
    let now = Utc.timestamp_opt(1_767_225_600, 0).single().expect("a fixed instant");
    refund(body, repeats, &pairs);
    schedule(body, repeats);
    merchant_rates(body, repeats, now);
    plan(body, repeats, now);
    text_fields(&pairs);
});

/// The form a body is read as, or `None` after checking a refusal is for the repeat, if any.
fn read_form<T: DeserializeOwned>(body: &[u8], repeats: bool) -> Option<T> {
    let form = read::<T>(body);
    if repeats {
        assert!(matches!(form, Err(BodyError::RepeatedField(_))), "a repeated field must be refused");
        return None;
    }
    form.ok()
}

/// `value` as a body, the way a browser sends the form the console filled in.
fn body_of(value: impl Serialize) -> Vec<u8> {
    serde_urlencoded::to_string(value).expect("form fields encode").into_bytes()
}

fn refund(body: &[u8], repeats: bool, pairs: &[(String, String)]) {
    let Some(form) = read_form::<RefundForm>(body, repeats) else { return };
    assert_eq!(Some(form.out_refund_no.as_str()), posted::value(pairs, "out_refund_no"));
    assert_eq!(Some(form.amount.as_str()), posted::value(pairs, "amount"));
    let Ok(refund) = form.parse() else { return };
    assert!(refund.amount >= Amount::from_fen(1) && refund.amount <= MAX_REFUND);
    assert_eq!(refund.out_refund_no.as_ref(), form.out_refund_no.trim());
    let shown =
        RefundForm { out_refund_no: refund.out_refund_no.as_ref().to_string(), amount: refund.amount.to_string() };
    let again = read::<RefundForm>(&body_of(shown)).expect("a refund written back reads");
    assert_eq!(again.parse(), Ok(refund));
}

fn schedule(body: &[u8], repeats: bool) {
    let Some(form) = read_form::<ScheduleForm>(body, repeats) else { return };
    if let Ok(defaults) = form.clone().parse_defaults() {
        assert_eq!(defaults.cadence, domain::payouts::schedule::Cadence::Daily);
    }
    let Ok(schedule) = form.parse() else { return };
    let again = read::<ScheduleForm>(&body_of(fields(&schedule))).expect("the fields shown read");
    assert_eq!(again.parse(), Ok(schedule), "the fields shown parse back to the schedule");
}

fn merchant_rates(body: &[u8], repeats: bool, now: DateTime<Utc>) {
    let Some(form) = read_form::<MerchantRatesForm>(body, repeats) else { return };
    let Ok((choice, from)) = form.parse(now) else { return };
    let shown = match &choice {
        RatesChoice::Plan(code) => {
            MerchantRatesForm { rate_plan: Some(code.as_ref().to_string()), ..Default::default() }
        }
        RatesChoice::Own(rates) => MerchantRatesForm { rates: RateFields::of(rates), ..Default::default() },
    };
    let shown = MerchantRatesForm { effective_from: Some(china_time(from)), ..shown };
    let again = read::<MerchantRatesForm>(&body_of(shown)).expect("rates written back read");
    assert_eq!(again.parse(now), Ok((choice, from)));
}

fn plan(body: &[u8], repeats: bool, now: DateTime<Utc>) {
    if let Some(form) = read_form::<PlanForm>(body, repeats)
        && let Ok((code, rates, from)) = form.parse(now)
    {
        let shown = PlanForm {
            code: code.as_ref().to_string(),
            name: form.name.clone(),
            rates: RateFields::of(&rates),
            effective_from: Some(china_time(from)),
        };
        let again = read::<PlanForm>(&body_of(shown)).expect("a plan written back reads");
        assert_eq!(again.parse(now), Ok((code, rates, from)));
        assert_eq!(again.name, form.name);
    }
    if let Some(form) = read_form::<PlanVersionForm>(body, repeats)
        && let Ok((rates, from)) = form.parse(now)
    {
        let shown = PlanVersionForm { rates: RateFields::of(&rates), effective_from: Some(china_time(from)) };
        let again = read::<PlanVersionForm>(&body_of(shown)).expect("a version written back reads");
        assert_eq!(again.parse(now), Ok((rates, from)));
    }
}

fn text_fields(pairs: &[(String, String)]) {
    const MAX_CHARS: usize = 32;
    for (name, value) in pairs {
        match present(name, Some(value.clone()), MAX_CHARS) {
            Ok(Some(kept)) => {
                assert!(!kept.chars().any(char::is_control));
                assert_eq!(kept.trim(), kept);
                assert!(kept.chars().count() <= MAX_CHARS);
                assert!(value.trim().starts_with(kept.as_str()));
            }
            Ok(None) => assert!(value.trim().is_empty()),
            Err(refused) => {
                assert_eq!(refused.0, *name);
                assert!(value.chars().any(char::is_control));
            }
        }
    }
}
