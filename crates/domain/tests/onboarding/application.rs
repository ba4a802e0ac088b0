use chrono::{NaiveTime, Weekday};
use domain::onboarding::{
    AccountType, Application, ApplicationErrors, BusinessCategory, FieldError, PayoutSchedule, RateChoice,
    RawApplication,
};

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// A complete corporate application with its own rates and a weekly payout, written the way
/// people type it (extra spaces, mixed case, grouped digits).
fn valid_raw() -> RawApplication {
    RawApplication {
        external_id: some("isv-merchant_001"),
        legal_name: some(" 北京百度网讯科技有限公司 "),
        short_name: some("百度"),
        unified_social_credit_code: some("91110000802100433b"),
        legal_representative: some("张三"),
        contact_name: some("李四"),
        contact_mobile: some("+86 138-0013-8000"),
        contact_email: some("Li.Si@Example.COM"),
        business_category: some("e_commerce"),
        site_name: some("www.example.com"),
        icp_filing_number: some("京ICP备12345678号-1"),
        account_type: some("corporate"),
        account_holder: some("北京百度网讯科技有限公司"),
        account_number: some("1100 1018 5000 5300 6751"),
        bank_code: some("icbc"),
        branch_name: some("中国工商银行北京上地支行"),
        cnaps_code: some("102100099996"),
        rate_plan: None,
        bank_commission_rate: some("0.0003"),
        pay_platform_rate: some("0.002"),
        liquidator_commission_rate: some("0.001"),
        payout_schedule: some("weekly"),
        payout_weekday: some("5"),
        payout_cutoff: some("17:30"),
    }
}

/// A personal account on a rate plan with the default payout.
fn personal_on_a_plan() -> RawApplication {
    RawApplication {
        external_id: None,
        account_type: some("personal"),
        account_holder: some("张三"),
        account_number: some("6222 0212 3456 7890 128"),
        branch_name: None,
        cnaps_code: None,
        rate_plan: some("standard"),
        bank_commission_rate: None,
        pay_platform_rate: None,
        liquidator_commission_rate: None,
        payout_schedule: None,
        payout_weekday: None,
        payout_cutoff: None,
        ..valid_raw()
    }
}

fn errors(raw: &RawApplication) -> ApplicationErrors {
    Application::parse(raw).expect_err("the application should be refused")
}

fn fields(raw: &RawApplication) -> Vec<&'static str> {
    errors(raw).0.iter().map(|error| error.field).collect()
}

#[test]
fn parses_a_complete_application() {
    let application = Application::parse(&valid_raw()).unwrap();
    assert_eq!(application.external_id.as_ref().unwrap().as_ref(), "isv-merchant_001");
    assert_eq!(application.legal_name.as_ref(), "北京百度网讯科技有限公司");
    assert_eq!(application.short_name.as_ref(), "百度");
    assert_eq!(application.credit_code.as_ref(), "91110000802100433B");
    assert_eq!(application.legal_representative.as_ref(), "张三");
    assert_eq!(application.contact_name.as_ref(), "李四");
    assert_eq!(application.contact_mobile.as_ref(), "13800138000");
    assert_eq!(application.contact_email.as_ref(), "Li.Si@example.com");
    assert_eq!(application.business_category, BusinessCategory::ECommerce);
    assert_eq!(application.site_name.as_ref(), "www.example.com");
    assert_eq!(application.icp_filing_number.as_ref(), "京ICP备12345678号-1");
    let account = &application.settlement_account;
    assert_eq!(account.account_type(), AccountType::Corporate);
    assert_eq!(account.holder().as_ref(), "北京百度网讯科技有限公司");
    assert_eq!(account.number().as_ref(), "11001018500053006751");
    assert_eq!(account.bank_code().as_ref(), "ICBC");
    assert_eq!(account.branch_name().unwrap().as_ref(), "中国工商银行北京上地支行");
    assert_eq!(account.cnaps_code().unwrap().as_ref(), "102100099996");
    let RateChoice::Own(rates) = &application.rates else {
        panic!("expected own rates, got {:?}", application.rates);
    };
    assert_eq!(rates.bank_commission().to_string(), "0.00030");
    assert_eq!(rates.pay_platform().to_string(), "0.00200");
    assert_eq!(rates.liquidator_commission().to_string(), "0.00100");
    assert_eq!(
        application.payout_schedule,
        PayoutSchedule::Weekly { weekday: Weekday::Fri, cutoff: NaiveTime::from_hms_opt(17, 30, 0).unwrap() }
    );
}

#[test]
fn parses_a_personal_account_on_a_rate_plan_with_the_default_payout() {
    let application = Application::parse(&personal_on_a_plan()).unwrap();
    assert_eq!(application.external_id, None);
    assert_eq!(application.settlement_account.account_type(), AccountType::Personal);
    assert_eq!(application.settlement_account.branch_name(), None);
    match &application.rates {
        RateChoice::Plan(code) => assert_eq!(code.as_ref(), "standard"),
        other => panic!("expected a rate plan, got {other:?}"),
    }
    assert_eq!(application.payout_schedule, PayoutSchedule::default());
}

#[test]
fn reports_every_invalid_field_at_once() {
    let raw = RawApplication {
        external_id: some("has space"),
        legal_name: some(&"名".repeat(129)),
        unified_social_credit_code: some("91110000802100433C"),
        contact_mobile: some("12345"),
        contact_email: some("not-an-email"),
        business_category: some("gambling"),
        icp_filing_number: some("ICP12345"),
        account_number: some("6222021234567890123"),
        account_type: some("personal"),
        bank_code: some("中国银行"),
        payout_cutoff: some("25:00"),
        ..personal_on_a_plan()
    };
    let errors = errors(&raw);
    let fields: Vec<_> = errors.0.iter().map(|error| error.field).collect();
    assert_eq!(
        fields,
        [
            "external_id",
            "legal_name",
            "unified_social_credit_code",
            "contact_mobile",
            "contact_email",
            "business_category",
            "icp_filing_number",
            "account_number",
            "bank_code",
            "payout_cutoff",
        ]
    );
    assert_eq!(
        errors.message_for("unified_social_credit_code"),
        Some("unified social credit code has a wrong check character (expected B)")
    );
    assert_eq!(
        errors.message_for("business_category"),
        Some("business category is prohibited: gambling, drugs or pornography")
    );
    assert_eq!(
        errors.message_for("account_number"),
        Some("card number fails its check digit; it was probably mistyped")
    );
    assert_eq!(errors.message_for("short_name"), None);
}

#[test]
fn an_empty_application_names_every_required_field() {
    let expected = [
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
        "rate_plan",
    ];
    let errors = errors(&RawApplication::default());
    assert_eq!(errors.0.iter().map(|e| e.field).collect::<Vec<_>>(), expected);
    for error in &errors.0 {
        let expected = match error.field {
            "rate_plan" => "give a rate plan or all three own rates",
            _ => "is required",
        };
        assert_eq!(error.message, expected, "{}", error.field);
    }
}

#[test]
fn blank_text_counts_as_absent() {
    let raw = RawApplication {
        external_id: some(""),
        short_name: some("   "),
        payout_schedule: some(""),
        payout_cutoff: some(" "),
        ..personal_on_a_plan()
    };
    let errors = errors(&raw);
    assert_eq!(errors.0, [FieldError { field: "short_name", message: "is required".into() }]);
    let raw = RawApplication { external_id: some(""), ..personal_on_a_plan() };
    assert_eq!(Application::parse(&raw).unwrap().external_id, None);
}

#[test]
fn errors_display_as_field_and_message_pairs() {
    let raw = RawApplication { short_name: None, contact_mobile: some("+85291234567"), ..personal_on_a_plan() };
    let errors = errors(&raw);
    assert_eq!(
        errors.to_string(),
        "short_name: is required; contact_mobile: mobile number is not a mainland China mobile number"
    );
    let as_error: &dyn std::error::Error = &errors;
    assert!(as_error.source().is_none());
}

#[test]
fn corporate_accounts_report_both_missing_branch_fields() {
    let raw = RawApplication { branch_name: None, cnaps_code: some(""), ..valid_raw() };
    let errors = errors(&raw);
    assert_eq!(fields(&raw), ["branch_name", "cnaps_code"]);
    assert_eq!(errors.message_for("branch_name"), Some("a corporate account needs its branch name"));
    assert_eq!(errors.message_for("cnaps_code"), Some("a corporate account needs its CNAPS code"));
    let only_cnaps = RawApplication { cnaps_code: None, ..valid_raw() };
    assert_eq!(fields(&only_cnaps), ["cnaps_code"]);
}

#[test]
fn a_bad_account_type_still_reports_a_missing_number() {
    let raw = RawApplication { account_type: some("savings"), account_number: None, ..valid_raw() };
    assert_eq!(fields(&raw), ["account_type", "account_number"]);
    // With a number present, its rules depend on the type, so only the type is reported.
    let raw = RawApplication { account_type: some("savings"), ..valid_raw() };
    assert_eq!(fields(&raw), ["account_type"]);
}

#[test]
fn rates_come_from_a_plan_or_all_three_own_rates() {
    let both = RawApplication { rate_plan: some("standard"), ..valid_raw() };
    assert_eq!(
        errors(&both).0,
        [FieldError { field: "rate_plan", message: "give either a rate plan or own rates, not both".into() }]
    );
    let neither = RawApplication { rate_plan: None, ..personal_on_a_plan() };
    assert_eq!(
        errors(&neither).0,
        [FieldError { field: "rate_plan", message: "give a rate plan or all three own rates".into() }]
    );
    let partial = RawApplication { pay_platform_rate: None, liquidator_commission_rate: some(""), ..valid_raw() };
    let partial_errors = errors(&partial);
    assert_eq!(
        partial_errors.0.iter().map(|e| e.field).collect::<Vec<_>>(),
        ["pay_platform_rate", "liquidator_commission_rate"]
    );
    assert_eq!(
        partial_errors.message_for("pay_platform_rate"),
        Some("is required when rates are given without a rate plan")
    );
    let bad_plan = RawApplication { rate_plan: some("Standard Plan"), ..personal_on_a_plan() };
    assert_eq!(fields(&bad_plan), ["rate_plan"]);
}

#[test]
fn own_rates_are_checked_one_by_one_and_together() {
    let malformed =
        RawApplication { bank_commission_rate: some("0.000001"), pay_platform_rate: some("-0.1"), ..valid_raw() };
    let malformed_errors = errors(&malformed);
    assert_eq!(malformed_errors.message_for("bank_commission_rate"), Some("rate has more than five decimal places"));
    assert_eq!(malformed_errors.message_for("pay_platform_rate"), Some("rate is negative"));
    assert_eq!(malformed_errors.0.len(), 2);
    let too_high = RawApplication {
        bank_commission_rate: some("0.5"),
        pay_platform_rate: some("0.3"),
        liquidator_commission_rate: some("0.2"),
        ..valid_raw()
    };
    assert_eq!(
        errors(&too_high).0,
        [FieldError {
            field: "liquidator_commission_rate",
            message: "the bank, pay platform and liquidator rates together are not below one".into()
        }]
    );
}

#[test]
fn payout_problems_are_reported_on_their_own_field() {
    let cases = [
        (Some("monthly"), None, None, vec!["payout_schedule"]),
        (Some("monthly"), Some("9"), Some("9am"), vec!["payout_schedule", "payout_weekday", "payout_cutoff"]),
        (Some("monthly"), Some("2"), Some("09:00"), vec!["payout_schedule"]),
        (Some("weekly"), None, None, vec!["payout_weekday"]),
        (Some("weekly"), Some("8"), Some("9:00"), vec!["payout_weekday", "payout_cutoff"]),
        (Some("weekly"), Some("1"), Some("9:00"), vec!["payout_cutoff"]),
        (None, Some("1"), None, vec!["payout_weekday"]),
        (Some("manual"), None, Some("18:00"), vec!["payout_cutoff"]),
        (Some("daily"), None, Some("18:60"), vec!["payout_cutoff"]),
    ];
    for (kind, weekday, cutoff, expected) in cases {
        let raw = RawApplication {
            payout_schedule: kind.map(str::to_owned),
            payout_weekday: weekday.map(str::to_owned),
            payout_cutoff: cutoff.map(str::to_owned),
            ..valid_raw()
        };
        assert_eq!(fields(&raw), expected, "{kind:?} {weekday:?} {cutoff:?}");
    }
    // A cutoff alone moves the default daily payout.
    let raw =
        RawApplication { payout_schedule: None, payout_weekday: None, payout_cutoff: some("16:00"), ..valid_raw() };
    assert_eq!(
        Application::parse(&raw).unwrap().payout_schedule,
        PayoutSchedule::Daily { cutoff: NaiveTime::from_hms_opt(16, 0, 0).unwrap() }
    );
}

#[test]
fn to_raw_gives_canonical_text_that_parses_back_to_the_same_application() {
    let application = Application::parse(&valid_raw()).unwrap();
    let raw = application.to_raw();
    let expected = RawApplication {
        external_id: some("isv-merchant_001"),
        legal_name: some("北京百度网讯科技有限公司"),
        short_name: some("百度"),
        unified_social_credit_code: some("91110000802100433B"),
        legal_representative: some("张三"),
        contact_name: some("李四"),
        contact_mobile: some("13800138000"),
        contact_email: some("Li.Si@example.com"),
        business_category: some("e_commerce"),
        site_name: some("www.example.com"),
        icp_filing_number: some("京ICP备12345678号-1"),
        account_type: some("corporate"),
        account_holder: some("北京百度网讯科技有限公司"),
        account_number: some("11001018500053006751"),
        bank_code: some("ICBC"),
        branch_name: some("中国工商银行北京上地支行"),
        cnaps_code: some("102100099996"),
        rate_plan: None,
        bank_commission_rate: some("0.00030"),
        pay_platform_rate: some("0.00200"),
        liquidator_commission_rate: some("0.00100"),
        payout_schedule: some("weekly"),
        payout_weekday: some("5"),
        payout_cutoff: some("17:30"),
    };
    assert_eq!(raw, expected);
    assert_eq!(Application::parse(&raw), Ok(application));
    // Canonical text is a fixed point.
    assert_eq!(Application::parse(&raw).unwrap().to_raw(), raw);
}

#[test]
fn to_raw_round_trips_every_schedule_and_rate_choice() {
    let schedules = [
        (None, None, None),
        (Some("daily"), None, Some("06:15")),
        (Some("weekly"), Some("7"), None),
        (Some("manual"), None, None),
    ];
    for (kind, weekday, cutoff) in schedules {
        for base in [valid_raw(), personal_on_a_plan()] {
            let raw = RawApplication {
                payout_schedule: kind.map(str::to_owned),
                payout_weekday: weekday.map(str::to_owned),
                payout_cutoff: cutoff.map(str::to_owned),
                ..base
            };
            let application = Application::parse(&raw).unwrap();
            let round_tripped = Application::parse(&application.to_raw()).unwrap();
            assert_eq!(round_tripped, application, "{kind:?} {weekday:?} {cutoff:?}");
        }
    }
    let plan = Application::parse(&personal_on_a_plan()).unwrap().to_raw();
    assert_eq!(plan.rate_plan.as_deref(), Some("standard"));
    assert_eq!(plan.bank_commission_rate, None);
    assert_eq!(plan.payout_schedule.as_deref(), Some("daily"));
    assert_eq!(plan.payout_weekday, None);
    assert_eq!(plan.payout_cutoff.as_deref(), Some("18:00"));
    assert_eq!(plan.branch_name, None);
    assert_eq!(plan.external_id, None);
}

#[test]
fn json_numbers_are_read_as_their_text() {
    let json = r#"{
        "legal_name": "北京百度网讯科技有限公司",
        "short_name": "百度",
        "unified_social_credit_code": "91110000802100433B",
        "legal_representative": "张三",
        "contact_name": "李四",
        "contact_mobile": 13800138000,
        "contact_email": "lisi@example.com",
        "business_category": "retail",
        "site_name": "百度",
        "icp_filing_number": "京ICP证030173号",
        "account_type": "corporate",
        "account_holder": "北京百度网讯科技有限公司",
        "account_number": 11001018500053006751,
        "bank_code": 102,
        "branch_name": "中国工商银行北京上地支行",
        "cnaps_code": 102100099996,
        "bank_commission_rate": 0.0003,
        "pay_platform_rate": 0.002,
        "liquidator_commission_rate": 0,
        "payout_schedule": "weekly",
        "payout_weekday": 1,
        "external_id": null
    }"#;
    let raw: RawApplication = serde_json::from_str(json).unwrap();
    assert_eq!(raw.contact_mobile.as_deref(), Some("13800138000"));
    assert_eq!(raw.account_number.as_deref(), Some("11001018500053006751"));
    assert_eq!(raw.bank_commission_rate.as_deref(), Some("0.0003"));
    assert_eq!(raw.liquidator_commission_rate.as_deref(), Some("0"));
    assert_eq!(raw.payout_weekday.as_deref(), Some("1"));
    assert_eq!(raw.external_id, None);
    let application = Application::parse(&raw).unwrap();
    assert_eq!(application.settlement_account.bank_code().as_ref(), "102");
    assert_eq!(application.payout_schedule.weekday_number(), Some(1));
}

#[test]
fn negative_and_fractional_numbers_keep_their_sign_and_digits() {
    let raw: RawApplication = serde_json::from_str(r#"{"bank_commission_rate": -0.5, "payout_weekday": -1}"#).unwrap();
    assert_eq!(raw.bank_commission_rate.as_deref(), Some("-0.5"));
    assert_eq!(raw.payout_weekday.as_deref(), Some("-1"));
}

#[test]
fn unknown_and_mistyped_json_fields_are_refused() {
    let unknown = serde_json::from_str::<RawApplication>(r#"{"legal_nam": "x"}"#).unwrap_err();
    assert!(unknown.to_string().contains("unknown field `legal_nam`"), "{unknown}");
    for json in [r#"{"legal_name": true}"#, r#"{"legal_name": ["x"]}"#, r#"{"legal_name": {}}"#] {
        assert!(serde_json::from_str::<RawApplication>(json).is_err(), "{json}");
    }
    let empty: RawApplication = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, RawApplication::default());
}

#[test]
fn raw_applications_serialize_without_absent_fields() {
    let raw = Application::parse(&personal_on_a_plan()).unwrap().to_raw();
    let json = serde_json::to_value(&raw).unwrap();
    assert!(json.get("branch_name").is_none());
    assert_eq!(json["rate_plan"], "standard");
    let back: RawApplication = serde_json::from_value(json).unwrap();
    assert_eq!(back, raw);
}
