//! `fshows.liquidation.submerchant.rate.query`: the rates in force for one of the calling ISV's
//! sub-merchants, now or at a given time (past, or future to see a scheduled change), and where
//! they come from.
//!
//! Content: `sub_merchant_id` or `external_id`; optional `query_time` (`yyyy-MM-dd HH:mm:ss`,
//! China time; now when absent).
//!
//! Reply: `external_id`, `sub_merchant_id` (`""` until approved), the three rates (five
//! decimals), `rate_source` (`own` or `plan`), `rate_plan` (the plan's code, `""` for own rates),
//! `effective_time` (since when this combination applies) and `query_time`, both China time.
//! `-211` when no rates are in force at that time (before the merchant existed).
use orders::notify::china_time;

use super::{
    Call, ReturnValue,
    submerchant::{china_time_param, onboarding_error, owned_merchant, require_isv, text_or_empty},
};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    require_isv(call.app)?;
    let at = china_time_param(call, "query_time")?.unwrap_or(call.now);
    let merchant = owned_merchant(call)?;
    let in_force = onboarding::rates::in_force(call.conn, merchant.id, at)
        .map_err(onboarding_error)?
        .ok_or_else(|| GatewayError::InvalidRate("the sub-merchant has no rates in force at that time".into()))?;
    let rates = in_force.rates;
    Ok(vec![
        ("external_id", text_or_empty(merchant.external_id.clone())),
        ("sub_merchant_id", text_or_empty(merchant.sub_merchant_id.clone())),
        ("bank_commission_rate", ReplyValue::rate(rates.bank_commission())),
        ("pay_platform_rate", ReplyValue::rate(rates.pay_platform())),
        ("liquidator_commission_rate", ReplyValue::rate(rates.liquidator_commission())),
        ("rate_source", ReplyValue::text(if in_force.plan.is_some() { "plan" } else { "own" })),
        ("rate_plan", text_or_empty(in_force.plan)),
        ("effective_time", ReplyValue::text(china_time(in_force.effective_from))),
        ("query_time", ReplyValue::text(china_time(at))),
    ])
}
