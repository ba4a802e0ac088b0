//! A complete, valid application for tests and benchmarks: real GB 32100 check character, a
//! Luhn-valid card, rates that sum to well under one. Only built with the `testing` feature.
use domain::onboarding::RawApplication;

pub fn application(external_id: &str) -> RawApplication {
    let text = |value: &str| Some(value.to_string());
    RawApplication {
        external_id: text(external_id),
        legal_name: text("厦门示例科技有限公司"),
        short_name: text("示例科技"),
        unified_social_credit_code: text("91350100M000100Y43"),
        legal_representative: text("张三"),
        contact_name: text("李四"),
        contact_mobile: text("13800138000"),
        contact_email: text("ops@example.com"),
        business_category: text("retail"),
        site_name: text("https://shop.example.com"),
        icp_filing_number: text("闽ICP备12345678号-1"),
        account_type: text("personal"),
        account_holder: text("张三"),
        account_number: text("6222021234567890128"),
        bank_code: text("ICBC"),
        bank_commission_rate: text("0.00030"),
        pay_platform_rate: text("0.00200"),
        liquidator_commission_rate: text("0.00100"),
        ..RawApplication::default()
    }
}
