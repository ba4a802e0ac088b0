//! `fshows.liquidation.submerchant.rate.set`: give one of the calling ISV's sub-merchants its own
//! three rates from a given time on (a new version; earlier versions and orders are untouched).
//!
//! Content: `sub_merchant_id` or `external_id`; `bank_commission_rate`, `pay_platform_rate`,
//! `liquidator_commission_rate` (decimals in `[0, 1)` with at most five decimal places, together
//! below one; `-211` naming the problem otherwise); optional `effective_time`
//! (`yyyy-MM-dd HH:mm:ss`, China time; now when absent; not in the past).
//!
//! Reply: `external_id`, `sub_merchant_id` (`""` until approved), the three rates (five decimals),
//! `effective_time`.
//!
//! Setting the same rates with the same `effective_time` again answers as the first call did and
//! adds no version; other rates at an instant that already has a version are `-101`.
use chrono::{DateTime, Utc};
use domain::{Rate, Rates};
use onboarding::{
    OnboardingError,
    rates::{self, NewRates},
};
use orders::notify::china_time;
use storage::merchants::MerchantRow;

use super::{
    Call, ReturnValue,
    submerchant::{actor, china_time_param, onboarding_error, owned_merchant, require_isv, text_or_empty},
};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    require_isv(call.app)?;
    let new_rates = Rates::new(
        rate(call, "bank_commission_rate")?,
        rate(call, "pay_platform_rate")?,
        rate(call, "liquidator_commission_rate")?,
    )
    .map_err(|error| GatewayError::InvalidRate(error.to_string()))?;
    let effective_from = china_time_param(call, "effective_time")?.unwrap_or(call.now);
    let merchant = owned_merchant(call)?;
    if !already_set(call, &merchant, &new_rates, effective_from)? {
        rates::set_merchant_rates(call.conn, &actor(call.app), merchant.id, NewRates::Own(new_rates), effective_from)
            .map_err(|error| match error {
            OnboardingError::EffectiveInPast => GatewayError::invalid("effective_time", error),
            OnboardingError::InvalidField { field: "effective_from", message } => {
                GatewayError::invalid("effective_time", message)
            }
            other => onboarding_error(other),
        })?;
    }
    Ok(vec![
        ("external_id", text_or_empty(merchant.external_id.clone())),
        ("sub_merchant_id", text_or_empty(merchant.sub_merchant_id.clone())),
        ("bank_commission_rate", ReplyValue::rate(new_rates.bank_commission())),
        ("pay_platform_rate", ReplyValue::rate(new_rates.pay_platform())),
        ("liquidator_commission_rate", ReplyValue::rate(new_rates.liquidator_commission())),
        ("effective_time", ReplyValue::text(china_time(effective_from))),
    ])
}

/// A rate missing is an invalid parameter; a rate that is not a valid rate is `-211`.
fn rate(call: &Call<'_>, field: &'static str) -> Result<Rate, GatewayError> {
    Rate::parse(&call.content.required(field)?).map_err(|error| GatewayError::InvalidRate(format!("{field}: {error}")))
}

/// True when exactly these own rates already take effect at exactly this instant: a retry.
fn already_set(
    call: &mut Call<'_>,
    merchant: &MerchantRow,
    new_rates: &Rates,
    effective_from: DateTime<Utc>,
) -> Result<bool, GatewayError> {
    let in_force = rates::in_force(call.conn, merchant.id, effective_from).map_err(onboarding_error)?;
    Ok(in_force.is_some_and(|in_force| {
        in_force.plan.is_none() && in_force.rates == *new_rates && in_force.effective_from == effective_from
    }))
}
