//! `fshows.liquidation.submerchant.create`: an ISV applies for a sub-merchant, which is created and
//! submitted at once (state `submitted`); the provider then verifies its account and reviews it.
//!
//! Content: the fields of an application (SPEC §4), each a string or a number — `external_id`
//! (required here: it is this method's idempotency key), `legal_name`, `short_name`,
//! `unified_social_credit_code`, `legal_representative`, `contact_name`, `contact_mobile`,
//! `contact_email`, `business_category`, `site_name`, `icp_filing_number`, `account_type`
//! (`corporate` | `personal`), `account_holder`, `account_number`, `bank_code`, `branch_name` and
//! `cnaps_code` (both required for corporate accounts), either `rate_plan` or the three rates
//! `bank_commission_rate`, `pay_platform_rate`, `liquidator_commission_rate`, and
//! `payout_schedule` (`daily` by default, `weekly` with `payout_weekday`, `manual`) with an
//! optional `payout_cutoff`. An invalid application is `-101` naming its first invalid field.
//!
//! Reply: `external_id`, `state`, `sub_merchant_id` and `app_id` (both `""` until approved). The
//! merchant's internal id is never shown.
//!
//! The same `external_id` with the same application answers with that merchant as it is now (a
//! retry); with a different application it is `-206`.
use domain::onboarding::RawApplication;
use storage::merchants::MerchantRow;

use super::{
    Call, ReturnValue,
    submerchant::{actor, merchant_app_id, onboarding_error, require_isv, text_or_empty},
};
use fshows::reply::ReplyValue;

use crate::{content::Content, error::GatewayError};

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    require_isv(call.app)?;
    call.content.required("external_id")?;
    let raw = raw_application(call.content)?;
    let created = onboarding::replay::create_or_replay(call.conn, &actor(call.app), &raw, call.app.id)
        .map_err(onboarding_error)?;
    return_value(call, &created.merchant.row)
}

/// The content as an application. Each field is read as its exact text (a number keeps its
/// digits, so a rate sent as `0.000301` is refused rather than rounded).
fn raw_application(content: &Content) -> Result<RawApplication, GatewayError> {
    Ok(RawApplication {
        external_id: content.text("external_id")?,
        legal_name: content.text("legal_name")?,
        short_name: content.text("short_name")?,
        unified_social_credit_code: content.text("unified_social_credit_code")?,
        legal_representative: content.text("legal_representative")?,
        contact_name: content.text("contact_name")?,
        contact_mobile: content.text("contact_mobile")?,
        contact_email: content.text("contact_email")?,
        business_category: content.text("business_category")?,
        site_name: content.text("site_name")?,
        icp_filing_number: content.text("icp_filing_number")?,
        account_type: content.text("account_type")?,
        account_holder: content.text("account_holder")?,
        account_number: content.text("account_number")?,
        bank_code: content.text("bank_code")?,
        branch_name: content.text("branch_name")?,
        cnaps_code: content.text("cnaps_code")?,
        rate_plan: content.text("rate_plan")?,
        bank_commission_rate: content.text("bank_commission_rate")?,
        pay_platform_rate: content.text("pay_platform_rate")?,
        liquidator_commission_rate: content.text("liquidator_commission_rate")?,
        payout_schedule: content.text("payout_schedule")?,
        payout_weekday: content.text("payout_weekday")?,
        payout_cutoff: content.text("payout_cutoff")?,
    })
}

fn return_value(call: &mut Call<'_>, merchant: &MerchantRow) -> Result<ReturnValue, GatewayError> {
    Ok(vec![
        ("external_id", text_or_empty(merchant.external_id.clone())),
        ("state", ReplyValue::text(merchant.state.as_str())),
        ("sub_merchant_id", text_or_empty(merchant.sub_merchant_id.clone())),
        ("app_id", merchant_app_id(call, merchant)?),
    ])
}
