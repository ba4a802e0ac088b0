//! Merchants' payout schedules. A merchant's own (set by a finance operator, audited) comes first;
//! a merchant without one is paid on the cadence it declared when it applied, with the time,
//! amounts and fee of its rate plan's payout defaults (set on the rate plan, audited) or, if the
//! plan has none, the platform's.
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, Rate, RatePlanId,
    onboarding::{PayoutSchedule, RatePlanCode},
    payouts::{
        fee::FeeRule,
        schedule::{Cadence, Frequency, Schedule},
    },
};
use rust_decimal::Decimal;
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    payouts::{self as rows, CandidateRow, PlanDefaultsRow, ScheduleRow},
};

use crate::PayoutError;

/// The schedule a stored row describes; a row breaking the table's rules is a corrupt row.
pub fn of_row(row: &ScheduleRow) -> Result<Schedule, PayoutError> {
    let corrupt = |what: &str| PayoutError::BrokenInvariant(format!("merchant {}: {what}", row.merchant_id));
    let cadence = match row.frequency {
        Frequency::Daily => Cadence::Daily,
        Frequency::Weekly => {
            let day = row.weekday.ok_or_else(|| corrupt("a weekly schedule without its weekday"))?;
            let weekday = domain::onboarding::PayoutSchedule::parse_weekday(&day.to_string())
                .map_err(|_| corrupt("a weekday out of range"))?;
            Cadence::Weekly(weekday)
        }
        Frequency::Monthly => {
            let day = row.month_day.ok_or_else(|| corrupt("a monthly schedule without its day"))?;
            Cadence::Monthly(u32::try_from(day).map_err(|_| corrupt("a day of the month out of range"))?)
        }
        Frequency::Manual => Cadence::Manual,
    };
    let fee = fee_of(row.fee_fixed_fen, row.fee_rate, row.fee_minimum_fen)
        .ok_or_else(|| corrupt("a fee rate out of range"))?;
    Ok(Schedule { cadence, at: row.at_time, minimum: row.minimum_fen, retained: row.retained_fen, fee })
}

/// The fee rule three stored columns describe: fixed when the rate is zero, else the rate with its
/// minimum; `None` for a rate out of range.
fn fee_of(fixed: Amount, rate: Decimal, minimum: Amount) -> Option<FeeRule> {
    if rate.is_zero() {
        return Some(FeeRule::Fixed(fixed));
    }
    Some(FeeRule::Rate { rate: Rate::from_decimal(rate).ok()?, minimum })
}

/// The three columns that store a fee rule: (fixed, rate, minimum).
fn fee_columns(fee: FeeRule) -> (Amount, Decimal, Amount) {
    match fee {
        FeeRule::Fixed(fee) => (fee, Rate::ZERO.as_decimal(), Amount::ZERO),
        FeeRule::Rate { rate, minimum } => (Amount::ZERO, rate.as_decimal(), minimum),
    }
}

/// The row that stores `schedule` as the merchant's own.
pub fn row_of(merchant_id: MerchantId, schedule: &Schedule, by: &str) -> ScheduleRow {
    let (weekday, month_day) = match schedule.cadence {
        Cadence::Weekly(weekday) => (Some(i16::try_from(weekday.number_from_monday()).unwrap_or(1)), None),
        Cadence::Monthly(day) => (None, Some(i16::try_from(day).unwrap_or(31))),
        Cadence::Daily | Cadence::Manual => (None, None),
    };
    let (fee_fixed_fen, fee_rate, fee_minimum_fen) = fee_columns(schedule.fee);
    ScheduleRow {
        merchant_id,
        frequency: schedule.cadence.frequency(),
        at_time: schedule.at,
        weekday,
        month_day,
        minimum_fen: schedule.minimum,
        retained_fen: schedule.retained,
        fee_fixed_fen,
        fee_rate,
        fee_minimum_fen,
        updated_by: by.to_string(),
    }
}

/// Where a merchant's schedule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its own, set by an operator.
    Own,
    /// Its declared cadence, with its rate plan's payout defaults.
    RatePlan,
    /// Its declared cadence, with the platform's defaults.
    Platform,
}

/// The schedule a merchant is paid on, and where it comes from.
pub fn effective(candidate: &CandidateRow, platform: &Schedule) -> Result<(Schedule, Source), PayoutError> {
    let corrupt = |what: &str| PayoutError::BrokenInvariant(format!("merchant {}: {what}", candidate.merchant_id));
    if let Some(row) = candidate.own_schedule() {
        return Ok((of_row(&row)?, Source::Own));
    }
    if candidate.frequency.is_some() {
        return Err(corrupt("a schedule with a column missing"));
    }
    let declared = PayoutSchedule::parse(&candidate.declared_frequency, candidate.declared_weekday.as_deref(), None)
        .map_err(|error| corrupt(&format!("its declared payout schedule: {error}")))?;
    let declared = Cadence::from(&declared);
    Ok(match candidate.plan_defaults() {
        Some(row) => (Schedule::following(declared, &of_plan_row(&row, platform.cadence)?), Source::RatePlan),
        None => (Schedule::following(declared, platform), Source::Platform),
    })
}

/// The merchant's schedule and its source, `None` for a merchant that does not exist.
pub fn effective_of(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    platform: &Schedule,
) -> Result<Option<(Schedule, Source)>, PayoutError> {
    rows::candidate(conn, merchant_id)?.map(|candidate| effective(&candidate, platform)).transpose()
}

/// The defaults a plan's row describes (`cadence`: the platform's, which says whether scheduled
/// payouts run at all).
pub fn of_plan_row(row: &PlanDefaultsRow, cadence: Cadence) -> Result<Schedule, PayoutError> {
    let fee = fee_of(row.fee_fixed_fen, row.fee_rate, row.fee_minimum_fen).ok_or_else(|| {
        PayoutError::BrokenInvariant(format!("rate plan {}: a fee rate out of range", row.rate_plan_id))
    })?;
    Ok(Schedule { cadence, at: row.at_time, minimum: row.minimum_fen, retained: row.retained_fen, fee })
}

/// A rate plan's payout defaults, if it has them.
pub fn plan_defaults(conn: &mut PgConnection, plan: RatePlanId) -> Result<Option<Schedule>, PayoutError> {
    rows::plan_defaults(conn, plan)?.as_ref().map(|row| of_plan_row(row, Cadence::Daily)).transpose()
}

fn plan_id(conn: &mut PgConnection, code: &RatePlanCode) -> Result<RatePlanId, PayoutError> {
    let plan = storage::rates::find_plan_by_code(conn, code.as_ref())?.ok_or(PayoutError::UnknownRatePlan)?;
    Ok(RatePlanId::new(plan.id))
}

/// Sets a rate plan's payout defaults (the time, amounts and fee of `defaults`; its cadence is
/// not the plan's to say), with its audit row.
pub fn set_plan_defaults(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &RatePlanCode,
    defaults: &Schedule,
) -> Result<(), PayoutError> {
    let plan = plan_id(conn, code)?;
    let (fee_fixed_fen, fee_rate, fee_minimum_fen) = fee_columns(defaults.fee);
    let row = PlanDefaultsRow {
        rate_plan_id: plan,
        at_time: defaults.at,
        minimum_fen: defaults.minimum,
        retained_fen: defaults.retained,
        fee_fixed_fen,
        fee_rate,
        fee_minimum_fen,
        updated_by: actor.name.clone(),
    };
    storage::database::transaction(conn, |conn| {
        let before = rows::plan_defaults(conn, plan)?;
        rows::set_plan_defaults(conn, &row)?;
        let entry = NewEntry {
            action: "rate_plan.payout_defaults",
            target: format!("rate_plan:{plan}"),
            before: before.as_ref().map(described_plan),
            after: Some(described_plan(&row)),
        };
        audit::record(conn, actor, entry)?;
        Ok(())
    })
}

/// The plan's merchants follow the platform's defaults again; false when it had none.
pub fn remove_plan_defaults(conn: &mut PgConnection, actor: &Actor, code: &RatePlanCode) -> Result<bool, PayoutError> {
    let plan = plan_id(conn, code)?;
    storage::database::transaction(conn, |conn| {
        let Some(before) = rows::plan_defaults(conn, plan)? else { return Ok(false) };
        rows::remove_plan_defaults(conn, plan)?;
        let entry = NewEntry {
            action: "rate_plan.payout_defaults",
            target: format!("rate_plan:{plan}"),
            before: Some(described_plan(&before)),
            after: None,
        };
        audit::record(conn, actor, entry)?;
        Ok(true)
    })
}

fn described_plan(row: &PlanDefaultsRow) -> serde_json::Value {
    json!({
        "time": row.at_time.format("%H:%M").to_string(),
        "minimum_fen": row.minimum_fen.fen(),
        "retained_fen": row.retained_fen.fen(),
        "fee_fixed_fen": row.fee_fixed_fen.fen(),
        "fee_rate": row.fee_rate.to_string(),
        "fee_minimum_fen": row.fee_minimum_fen.fen(),
    })
}

/// The merchant's own schedule, if it has one.
pub fn own(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<Schedule>, PayoutError> {
    rows::schedule_of(conn, merchant_id)?.as_ref().map(of_row).transpose()
}

/// Sets the merchant's own schedule, with its audit row.
pub fn set(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    schedule: &Schedule,
) -> Result<(), PayoutError> {
    storage::database::transaction(conn, |conn| {
        let before = rows::schedule_of(conn, merchant_id)?;
        let row = row_of(merchant_id, schedule, &actor.name);
        rows::set_schedule(conn, &row)?;
        let entry = NewEntry {
            action: "payout.schedule",
            target: format!("merchant:{merchant_id}"),
            before: before.as_ref().map(described),
            after: Some(described(&row)),
        };
        audit::record(conn, actor, entry)?;
        Ok(())
    })
}

fn described(row: &ScheduleRow) -> serde_json::Value {
    json!({
        "frequency": row.frequency.as_str(),
        "time": row.at_time.format("%H:%M").to_string(),
        "weekday": row.weekday,
        "month_day": row.month_day,
        "minimum_fen": row.minimum_fen.fen(),
        "retained_fen": row.retained_fen.fen(),
        "fee_fixed_fen": row.fee_fixed_fen.fen(),
        "fee_rate": row.fee_rate.to_string(),
        "fee_minimum_fen": row.fee_minimum_fen.fen(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};
    use domain::Amount;

    use super::*;

    #[test]
    fn a_schedule_survives_its_row() {
        let at = NaiveTime::from_hms_opt(15, 30, 0).unwrap();
        let schedules = [
            Schedule {
                cadence: Cadence::Daily,
                at,
                minimum: Amount::from_fen(100),
                retained: Amount::ZERO,
                fee: FeeRule::FREE,
            },
            Schedule {
                cadence: Cadence::Weekly(Weekday::Sun),
                at,
                minimum: Amount::from_fen(1),
                retained: Amount::from_fen(500),
                fee: FeeRule::Rate { rate: Rate::parse("0.00100").unwrap(), minimum: Amount::from_fen(200) },
            },
            Schedule {
                cadence: Cadence::Monthly(31),
                at,
                minimum: Amount::from_fen(9),
                retained: Amount::ZERO,
                fee: FeeRule::Fixed(Amount::from_fen(150)),
            },
            Schedule {
                cadence: Cadence::Manual,
                at,
                minimum: Amount::from_fen(9),
                retained: Amount::ZERO,
                fee: FeeRule::FREE,
            },
        ];
        for schedule in schedules {
            let row = row_of(MerchantId::new(7), &schedule, "finn");
            assert_eq!(of_row(&row).unwrap(), schedule);
        }
    }
}
