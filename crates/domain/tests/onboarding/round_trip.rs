//! Any valid application survives `to_raw` and `parse` unchanged, whatever its rates, account
//! type and payout schedule.

use domain::onboarding::{Application, RawApplication};
use proptest::prelude::*;

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// Own rates as five-decimal units summing below one, or a plan.
fn rates() -> impl Strategy<Value = (Option<String>, [Option<String>; 3])> {
    let own = (0..40_000_u32, 0..30_000_u32, 0..29_999_u32).prop_map(|(bank, platform, liquidator)| {
        let rate = |units: u32| Some(format!("0.{units:05}"));
        (None, [rate(bank), rate(platform), rate(liquidator)])
    });
    let plan = "[a-z0-9_-]{1,32}".prop_map(|code| (Some(code), [None, None, None]));
    prop_oneof![own, plan]
}

fn schedule() -> impl Strategy<Value = (Option<String>, Option<String>, Option<String>)> {
    let cutoff = (0..24_u32, 0..60_u32).prop_map(|(h, m)| format!("{h:02}:{m:02}"));
    prop_oneof![
        prop::option::of(cutoff.clone()).prop_map(|cutoff| (None, None, cutoff)),
        prop::option::of(cutoff.clone()).prop_map(|cutoff| (some("daily"), None, cutoff)),
        (1..=7_u32, prop::option::of(cutoff)).prop_map(|(day, cutoff)| (some("weekly"), Some(day.to_string()), cutoff)),
        Just((some("manual"), None, None)),
    ]
}

proptest! {
    #[test]
    fn parse_of_to_raw_is_the_identity(
        (rate_plan, [bank, platform, liquidator]) in rates(),
        (payout_schedule, payout_weekday, payout_cutoff) in schedule(),
        corporate in any::<bool>(),
        external_id in prop::option::of("[A-Za-z0-9_-]{1,64}"),
        name in "[a-zA-Z0-9 ]{0,30}[a-zA-Z]",
    ) {
        let (account_type, account_number) = if corporate {
            ("corporate", "11001018500053006751")
        } else {
            ("personal", "6228480402564890018")
        };
        let raw = RawApplication {
            external_id,
            legal_name: Some(format!("{name} 有限公司")),
            short_name: some("测试"),
            unified_social_credit_code: some("914403001922038216"),
            legal_representative: some("张三"),
            contact_name: some("李四"),
            contact_mobile: some("13800138000"),
            contact_email: some("ops@example.com"),
            business_category: some("retail"),
            site_name: some("测试商城"),
            icp_filing_number: some("粤ICP备12345678号"),
            account_type: some(account_type),
            account_holder: some("李四"),
            account_number: some(account_number),
            bank_code: some("CMB"),
            branch_name: corporate.then(|| "招商银行深圳分行营业部".to_owned()),
            cnaps_code: corporate.then(|| "308584000013".to_owned()),
            rate_plan,
            bank_commission_rate: bank,
            pay_platform_rate: platform,
            liquidator_commission_rate: liquidator,
            payout_schedule,
            payout_weekday,
            payout_cutoff,
        };
        let application = Application::parse(&raw).map_err(|errors| {
            TestCaseError::fail(format!("valid application refused: {errors}"))
        })?;
        let canonical = application.to_raw();
        prop_assert_eq!(Application::parse(&canonical), Ok(application));
        prop_assert_eq!(Application::parse(&canonical).map(|a| a.to_raw()), Ok(canonical));
    }
}
