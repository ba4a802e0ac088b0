//! A sub-merchant application as `submerchant.create` content or the console's form sends it.
//!
//! Beyond "no panic": a refused application names, for each problem, one of the application's
//! own fields (so the applicant knows which input to fix); an accepted one parses again the same.
#![no_main]
use domain::onboarding::{Application, RawApplication};
use libfuzzer_sys::fuzz_target;

const FIELDS: [&str; 25] = [
    "external_id",
    "legal_name",
    "short_name",
    "unified_social_credit_code",
    "legal_representative",
    "contact_name",
    "contact_mobile",
    "contact_email",
    "business_category",
    "site_name",
    "icp_filing_number",
    "account_type",
    "account_holder",
    "account_number",
    "bank_code",
    "branch_name",
    "cnaps_code",
    "rate_plan",
    "bank_commission_rate",
    "pay_platform_rate",
    "liquidator_commission_rate",
    "payout_schedule",
    "payout_weekday",
    "payout_cutoff",
    "rates",
];

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<RawApplication>(data) else { return };
    match Application::parse(&raw) {
        Ok(application) => assert_eq!(Application::parse(&raw).ok(), Some(application)),
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for error in &errors.0 {
                assert!(FIELDS.contains(&error.field), "{}", error.field);
                assert!(!error.message.is_empty());
            }
        }
    }
});
