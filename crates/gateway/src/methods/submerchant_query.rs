//! `fshows.liquidation.submerchant.query`: one of the calling ISV's sub-merchants as it is now.
//!
//! Content: `sub_merchant_id` or `external_id` (or both, naming the same merchant).
//!
//! Reply: `external_id`, `sub_merchant_id` and `app_id` (`""` until approved), `state` (`draft`,
//! `submitted`, `verifying_account`, `in_review`, `approved`, `rejected`, `frozen`, `closed`),
//! `legal_name`, `short_name`, `account_type`, `account_number` (masked: first 4 and last 4
//! digits), `bank_code`, the three rates in force now (five decimals; `null` if none), `rate_plan`
//! (the plan's code, `""` for own rates), `created_at` and `approved_at` (`yyyy-MM-dd HH:mm:ss`,
//! China time; `approved_at` `""` until approved).
use orders::notify::china_time;

use super::{
    Call, ReturnValue,
    submerchant::{
        masked_account_number, merchant_app_id, onboarding_error, owned_merchant, require_isv, text_or_empty,
    },
};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    require_isv(call.app)?;
    let merchant = owned_merchant(call)?;
    let rates = onboarding::rates::in_force(call.conn, merchant.id, call.now).map_err(onboarding_error)?;
    let rate = |pick: fn(&domain::Rates) -> domain::Rate| {
        rates.as_ref().map_or(ReplyValue::Null, |in_force| ReplyValue::rate(pick(&in_force.rates)))
    };
    Ok(vec![
        ("external_id", text_or_empty(merchant.external_id.clone())),
        ("sub_merchant_id", text_or_empty(merchant.sub_merchant_id.clone())),
        ("app_id", merchant_app_id(call, &merchant)?),
        ("state", ReplyValue::text(merchant.state.as_str())),
        ("legal_name", ReplyValue::text(merchant.legal_name.clone())),
        ("short_name", ReplyValue::text(merchant.short_name.clone())),
        ("account_type", ReplyValue::text(merchant.account_type.as_str())),
        ("account_number", ReplyValue::text(masked_account_number(&merchant))),
        ("bank_code", ReplyValue::text(merchant.bank_code.clone())),
        ("bank_commission_rate", rate(domain::Rates::bank_commission)),
        ("pay_platform_rate", rate(domain::Rates::pay_platform)),
        ("liquidator_commission_rate", rate(domain::Rates::liquidator_commission)),
        ("rate_plan", text_or_empty(rates.as_ref().and_then(|in_force| in_force.plan.clone()))),
        ("created_at", ReplyValue::text(china_time(merchant.created_at))),
        ("approved_at", text_or_empty(merchant.approved_at.map(china_time))),
    ])
}
