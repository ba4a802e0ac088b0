//! Every parser of outside input returns, whatever text it is given (SPEC §11: nothing panics
//! on bad input). Strings are drawn both from all of Unicode and from the characters these
//! formats are made of, so that near-valid inputs reach the deeper checks.

use domain::onboarding::{
    AccountType, Application, ApplicationState, BankAccountNumber, BankCode, BranchName, BusinessCategory, CnapsCode,
    Email, ExternalId, IcpFilingNumber, LegalName, MainlandMobile, PayoutSchedule, PersonName, RatePlanCode,
    RawApplication, ShortName, SignType, SiteName, Transition, UnifiedSocialCreditCode,
};
use proptest::prelude::*;

/// Any string, or one made of the characters that matter to these formats.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9A-Za-z+@._ :\\-]{0,40}",
        "[京沪港ICP备证号0-9\\-]{0,20}",
        "[0-9A-HJ-NPQRTUWXY]{16,19}",
        "(\\+86)?1[0-9 \\-]{8,14}",
    ]
}

fn parse_everything(text: &str) {
    let _ = LegalName::parse(text);
    let _ = ShortName::parse(text);
    let _ = PersonName::parse(text);
    let _ = SiteName::parse(text);
    let _ = BranchName::parse(text);
    if let Ok(code) = UnifiedSocialCreditCode::parse(text) {
        let _ = code.masked();
    }
    if let Ok(mobile) = MainlandMobile::parse(text) {
        assert_eq!(mobile.masked().chars().count(), 11);
    }
    let _ = Email::parse(text);
    let _ = BusinessCategory::parse(text);
    let _ = IcpFilingNumber::parse(text);
    let _ = AccountType::parse(text);
    for account_type in AccountType::ALL {
        if let Ok(number) = BankAccountNumber::parse(text, account_type) {
            assert!(number.masked().contains('*'));
        }
    }
    let _ = BankCode::parse(text);
    let _ = CnapsCode::parse(text);
    let _ = ExternalId::parse(text);
    let _ = RatePlanCode::parse(text);
    let _ = SignType::parse(text);
    let _ = ApplicationState::parse(text);
    let _ = Transition::parse(text);
    let _ = PayoutSchedule::parse(text, Some(text), Some(text));
    let _ = PayoutSchedule::parse("weekly", Some(text), None);
    let _ = PayoutSchedule::parse("daily", None, Some(text));
}

proptest! {
    #[test]
    fn no_parser_panics(text in text()) {
        parse_everything(&text);
    }

    #[test]
    fn parsed_values_parse_again_to_themselves(text in text()) {
        if let Ok(code) = UnifiedSocialCreditCode::parse(&text) {
            prop_assert_eq!(UnifiedSocialCreditCode::parse(code.as_ref()), Ok(code));
        }
        if let Ok(mobile) = MainlandMobile::parse(&text) {
            prop_assert_eq!(MainlandMobile::parse(mobile.as_ref()), Ok(mobile));
        }
        if let Ok(email) = Email::parse(&text) {
            prop_assert_eq!(Email::parse(email.as_ref()), Ok(email));
        }
        if let Ok(icp) = IcpFilingNumber::parse(&text) {
            prop_assert_eq!(IcpFilingNumber::parse(icp.as_ref()), Ok(icp));
        }
        if let Ok(name) = LegalName::parse(&text) {
            prop_assert_eq!(LegalName::parse(name.as_ref()), Ok(name));
        }
    }

    #[test]
    fn application_parse_never_panics(fields in prop::collection::vec(prop::option::of(text()), 24)) {
        let mut fields = fields.into_iter();
        let mut next = || fields.next().flatten();
        let raw = RawApplication {
            external_id: next(),
            legal_name: next(),
            short_name: next(),
            unified_social_credit_code: next(),
            legal_representative: next(),
            contact_name: next(),
            contact_mobile: next(),
            contact_email: next(),
            business_category: next(),
            site_name: next(),
            icp_filing_number: next(),
            account_type: next(),
            account_holder: next(),
            account_number: next(),
            bank_code: next(),
            branch_name: next(),
            cnaps_code: next(),
            rate_plan: next(),
            bank_commission_rate: next(),
            pay_platform_rate: next(),
            liquidator_commission_rate: next(),
            payout_schedule: next(),
            payout_weekday: next(),
            payout_cutoff: next(),
        };
        match Application::parse(&raw) {
            Ok(application) => {
                prop_assert_eq!(Application::parse(&application.to_raw()), Ok(application));
            }
            Err(errors) => prop_assert!(!errors.0.is_empty()),
        }
    }

    #[test]
    fn raw_json_never_panics(json in any::<String>()) {
        let _ = serde_json::from_str::<RawApplication>(&json);
    }
}
