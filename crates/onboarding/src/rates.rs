//! Rate plans (费率模板) and merchants' rates. Both are versioned by the instant a version takes
//! effect; history is kept, and the rates in force at any instant can be asked for. Orders
//! snapshot the rates in force when they are created, so a change never touches an existing order.
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use domain::{MerchantId, Rate, Rates, onboarding::RatePlanCode};
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    rates::{self as rows, PlanRow, RateSource, StoredRates},
};

use crate::{OnboardingError, applications};

/// A version may be dated this far in the past (clock skew, form round trip), no further.
const PAST_TOLERANCE_SECONDS: i64 = 60;

fn stored(rates: &Rates) -> StoredRates {
    StoredRates {
        bank_commission: rates.bank_commission().as_decimal(),
        pay_platform: rates.pay_platform().as_decimal(),
        liquidator_commission: rates.liquidator_commission().as_decimal(),
    }
}

/// Stored rates back to the domain type (they were validated on the way in, and by the database).
pub fn rates_of(stored: StoredRates) -> Result<Rates, OnboardingError> {
    let invalid = |_| OnboardingError::InvalidField { field: "rates", message: "stored rates are invalid".into() };
    Rates::new(
        Rate::from_decimal(stored.bank_commission).map_err(invalid)?,
        Rate::from_decimal(stored.pay_platform).map_err(invalid)?,
        Rate::from_decimal(stored.liquidator_commission).map_err(invalid)?,
    )
    .map_err(|_| OnboardingError::InvalidField { field: "rates", message: "stored rates sum to 1 or more".into() })
}

fn check_effective(effective_from: DateTime<Utc>) -> Result<(), OnboardingError> {
    if effective_from < Utc::now() - Duration::seconds(PAST_TOLERANCE_SECONDS) {
        Err(OnboardingError::EffectiveInPast)
    } else {
        Ok(())
    }
}

pub fn create_plan(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &RatePlanCode,
    name: &str,
    rates: &Rates,
    effective_from: DateTime<Utc>,
) -> Result<PlanRow, OnboardingError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(OnboardingError::InvalidField { field: "name", message: "1 to 64 characters".into() });
    }
    check_effective(effective_from)?;
    storage::database::transaction(conn, |conn| {
        let plan = rows::insert_plan(conn, code.as_ref(), name).map_err(|error| {
            if error.is_unique_violation() { OnboardingError::DuplicateRatePlan } else { error.into() }
        })?;
        rows::insert_plan_version(conn, plan.id, stored(rates), effective_from, &actor.name)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "rate_plan.create",
                target: format!("rate_plan:{}", plan.code),
                before: None,
                after: Some(json!({ "name": name, "rates": rates_json(rates), "effective_from": effective_from })),
            },
        )?;
        Ok(plan)
    })
}

/// A new version of a plan, in force from `effective_from` for every merchant on the plan.
pub fn add_plan_version(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &RatePlanCode,
    rates: &Rates,
    effective_from: DateTime<Utc>,
) -> Result<(), OnboardingError> {
    check_effective(effective_from)?;
    storage::database::transaction(conn, |conn| {
        let plan = rows::find_plan_by_code(conn, code.as_ref())?
            .ok_or_else(|| OnboardingError::UnknownRatePlan(code.to_string()))?;
        rows::insert_plan_version(conn, plan.id, stored(rates), effective_from, &actor.name).map_err(|error| {
            if error.is_unique_violation() {
                OnboardingError::InvalidField {
                    field: "effective_from",
                    message: "a version already takes effect at that instant".into(),
                }
            } else {
                error.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "rate_plan.version",
                target: format!("rate_plan:{}", plan.code),
                before: None,
                after: Some(json!({ "rates": rates_json(rates), "effective_from": effective_from })),
            },
        )?;
        Ok(())
    })
}

/// What a merchant's rates follow from a given instant.
pub enum NewRates<'a> {
    Plan(&'a RatePlanCode),
    Own(Rates),
}

pub fn set_merchant_rates(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    new_rates: NewRates<'_>,
    effective_from: DateTime<Utc>,
) -> Result<(), OnboardingError> {
    check_effective(effective_from)?;
    storage::database::transaction(conn, |conn| {
        let merchant = applications::lock(conn, merchant_id)?;
        let (source, described) = match new_rates {
            NewRates::Plan(code) => {
                let plan = rows::find_plan_by_code(conn, code.as_ref())?
                    .ok_or_else(|| OnboardingError::UnknownRatePlan(code.to_string()))?;
                (RateSource::Plan(plan.id), json!({ "rate_plan": plan.code }))
            }
            NewRates::Own(rates) => (RateSource::Own(stored(&rates)), json!({ "rates": rates_json(&rates) })),
        };
        rows::insert_merchant_rates(conn, merchant.id(), &source, effective_from, &actor.name).map_err(|error| {
            if error.is_unique_violation() {
                OnboardingError::InvalidField {
                    field: "effective_from",
                    message: "a version already takes effect at that instant".into(),
                }
            } else {
                error.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "merchant.rates",
                target: format!("merchant:{merchant_id}"),
                before: None,
                after: Some(json!({ "new": described, "effective_from": effective_from })),
            },
        )?;
        Ok(())
    })
}

/// The rates in force for a merchant at an instant, and where they come from.
#[derive(Debug, Clone)]
pub struct RatesInForce {
    pub rates: Rates,
    /// The plan's code, when the merchant follows a plan.
    pub plan: Option<String>,
    pub effective_from: DateTime<Utc>,
}

pub fn in_force(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    at: DateTime<Utc>,
) -> Result<Option<RatesInForce>, OnboardingError> {
    let Some(row) = rows::merchant_rates_at(conn, merchant_id, at)? else {
        return Ok(None);
    };
    if let Some(own) = row.own_rates() {
        return Ok(Some(RatesInForce { rates: rates_of(own)?, plan: None, effective_from: row.effective_from }));
    }
    let Some(plan_id) = row.rate_plan_id else {
        return Ok(None);
    };
    let plan = rows::find_plan(conn, plan_id)?.ok_or_else(|| OnboardingError::UnknownRatePlan(plan_id.to_string()))?;
    // The later of the two changes is when this combination took effect.
    let Some(version) = rows::plan_version_at(conn, plan_id, at)? else {
        return Ok(None);
    };
    Ok(Some(RatesInForce {
        rates: rates_of(version.rates())?,
        plan: Some(plan.code),
        effective_from: row.effective_from.max(version.effective_from),
    }))
}

fn rates_json(rates: &Rates) -> serde_json::Value {
    json!({
        "bank_commission_rate": rates.bank_commission().to_string(),
        "pay_platform_rate": rates.pay_platform().to_string(),
        "liquidator_commission_rate": rates.liquidator_commission().to_string(),
    })
}
