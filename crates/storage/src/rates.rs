//! Rate plans and merchants' rates, both versioned by the instant they take effect.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::MerchantId;
use rust_decimal::Decimal;

use crate::{
    StorageError,
    schema::{merchant_rates, rate_plan_versions, rate_plans},
};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = rate_plans)]
pub struct PlanRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Three rates as stored (NUMERIC(6,5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoredRates {
    pub bank_commission: Decimal,
    pub pay_platform: Decimal,
    pub liquidator_commission: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = rate_plan_versions)]
pub struct PlanVersionRow {
    pub id: i64,
    pub rate_plan_id: i64,
    pub bank_commission_rate: Decimal,
    pub pay_platform_rate: Decimal,
    pub liquidator_commission_rate: Decimal,
    pub effective_from: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl PlanVersionRow {
    pub fn rates(&self) -> StoredRates {
        StoredRates {
            bank_commission: self.bank_commission_rate,
            pay_platform: self.pay_platform_rate,
            liquidator_commission: self.liquidator_commission_rate,
        }
    }
}

pub fn insert_plan(conn: &mut PgConnection, code: &str, name: &str) -> Result<PlanRow, StorageError> {
    Ok(diesel::insert_into(rate_plans::table)
        .values((rate_plans::code.eq(code), rate_plans::name.eq(name)))
        .returning(PlanRow::as_returning())
        .get_result(conn)?)
}

pub fn find_plan_by_code(conn: &mut PgConnection, code: &str) -> Result<Option<PlanRow>, StorageError> {
    Ok(rate_plans::table.filter(rate_plans::code.eq(code)).select(PlanRow::as_select()).first(conn).optional()?)
}

pub fn find_plan(conn: &mut PgConnection, id: i64) -> Result<Option<PlanRow>, StorageError> {
    Ok(rate_plans::table.find(id).select(PlanRow::as_select()).first(conn).optional()?)
}

pub fn list_plans(conn: &mut PgConnection) -> Result<Vec<PlanRow>, StorageError> {
    Ok(rate_plans::table.order(rate_plans::code.asc()).select(PlanRow::as_select()).load(conn)?)
}

pub fn insert_plan_version(
    conn: &mut PgConnection,
    plan_id: i64,
    rates: StoredRates,
    effective_from: DateTime<Utc>,
    created_by: &str,
) -> Result<PlanVersionRow, StorageError> {
    Ok(diesel::insert_into(rate_plan_versions::table)
        .values((
            rate_plan_versions::rate_plan_id.eq(plan_id),
            rate_plan_versions::bank_commission_rate.eq(rates.bank_commission),
            rate_plan_versions::pay_platform_rate.eq(rates.pay_platform),
            rate_plan_versions::liquidator_commission_rate.eq(rates.liquidator_commission),
            rate_plan_versions::effective_from.eq(effective_from),
            rate_plan_versions::created_by.eq(created_by),
        ))
        .returning(PlanVersionRow::as_returning())
        .get_result(conn)?)
}

/// All versions of a plan, newest effective first.
pub fn plan_versions(conn: &mut PgConnection, plan_id: i64) -> Result<Vec<PlanVersionRow>, StorageError> {
    Ok(rate_plan_versions::table
        .filter(rate_plan_versions::rate_plan_id.eq(plan_id))
        .order(rate_plan_versions::effective_from.desc())
        .select(PlanVersionRow::as_select())
        .load(conn)?)
}

/// The plan version in force at `at`, if the plan had taken effect by then.
pub fn plan_version_at(
    conn: &mut PgConnection,
    plan_id: i64,
    at: DateTime<Utc>,
) -> Result<Option<PlanVersionRow>, StorageError> {
    Ok(rate_plan_versions::table
        .filter(rate_plan_versions::rate_plan_id.eq(plan_id))
        .filter(rate_plan_versions::effective_from.le(at))
        .order(rate_plan_versions::effective_from.desc())
        .select(PlanVersionRow::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = merchant_rates)]
pub struct MerchantRatesRow {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub rate_plan_id: Option<i64>,
    pub bank_commission_rate: Option<Decimal>,
    pub pay_platform_rate: Option<Decimal>,
    pub liquidator_commission_rate: Option<Decimal>,
    pub effective_from: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl MerchantRatesRow {
    /// The merchant's own rates, when it does not follow a plan.
    pub fn own_rates(&self) -> Option<StoredRates> {
        Some(StoredRates {
            bank_commission: self.bank_commission_rate?,
            pay_platform: self.pay_platform_rate?,
            liquidator_commission: self.liquidator_commission_rate?,
        })
    }
}

/// A merchant's rates from `effective_from` on: a plan, or its own rates.
pub enum RateSource {
    Plan(i64),
    Own(StoredRates),
}

pub fn insert_merchant_rates(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    source: &RateSource,
    effective_from: DateTime<Utc>,
    created_by: &str,
) -> Result<MerchantRatesRow, StorageError> {
    let (plan, own) = match source {
        RateSource::Plan(plan_id) => (Some(*plan_id), None),
        RateSource::Own(rates) => (None, Some(*rates)),
    };
    Ok(diesel::insert_into(merchant_rates::table)
        .values((
            merchant_rates::merchant_id.eq(merchant_id),
            merchant_rates::rate_plan_id.eq(plan),
            merchant_rates::bank_commission_rate.eq(own.map(|r| r.bank_commission)),
            merchant_rates::pay_platform_rate.eq(own.map(|r| r.pay_platform)),
            merchant_rates::liquidator_commission_rate.eq(own.map(|r| r.liquidator_commission)),
            merchant_rates::effective_from.eq(effective_from),
            merchant_rates::created_by.eq(created_by),
        ))
        .returning(MerchantRatesRow::as_returning())
        .get_result(conn)?)
}

/// Every rate version of a merchant, newest effective first.
pub fn merchant_rate_history(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<Vec<MerchantRatesRow>, StorageError> {
    Ok(merchant_rates::table
        .filter(merchant_rates::merchant_id.eq(merchant_id))
        .order(merchant_rates::effective_from.desc())
        .select(MerchantRatesRow::as_select())
        .load(conn)?)
}

pub fn merchant_rates_at(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    at: DateTime<Utc>,
) -> Result<Option<MerchantRatesRow>, StorageError> {
    Ok(merchant_rates::table
        .filter(merchant_rates::merchant_id.eq(merchant_id))
        .filter(merchant_rates::effective_from.le(at))
        .order(merchant_rates::effective_from.desc())
        .select(MerchantRatesRow::as_select())
        .first(conn)
        .optional()?)
}
