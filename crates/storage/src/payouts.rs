//! Payouts (代付): the payout calendar's special days, merchants' schedules and stops, payout
//! runs with their skipped merchants, payout orders and their history.
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use domain::{
    Amount, MerchantId, PayoutId, PayoutRunId, RatePlanId,
    onboarding::{AccountType, ApplicationState},
    payouts::{
        ChannelAnswer, PayoutKind, PayoutState, RunKind, SkipReason, StopKind, calendar::SpecialDay,
        schedule::Frequency,
    },
};
use rust_decimal::Decimal;

use crate::{
    StorageError,
    schema::{
        payout_calendar_days, payout_events, payout_exchanges, payout_run_skips, payout_runs, payout_schedules,
        payout_stops, payouts, rate_plan_payout_defaults,
    },
};

pub fn calendar_days(conn: &mut PgConnection) -> Result<Vec<(NaiveDate, SpecialDay)>, StorageError> {
    Ok(payout_calendar_days::table
        .select((payout_calendar_days::day, payout_calendar_days::kind))
        .order(payout_calendar_days::day.asc())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_calendar_days)]
pub struct CalendarDayRow {
    pub day: NaiveDate,
    pub kind: SpecialDay,
    pub note: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// The special days from `from` on, in date order.
pub fn calendar_days_from(conn: &mut PgConnection, from: NaiveDate) -> Result<Vec<CalendarDayRow>, StorageError> {
    Ok(payout_calendar_days::table
        .filter(payout_calendar_days::day.ge(from))
        .order(payout_calendar_days::day.asc())
        .select(CalendarDayRow::as_select())
        .load(conn)?)
}

/// `day` follows the weekly rule again; false when it was not special.
pub fn remove_calendar_day(conn: &mut PgConnection, day: NaiveDate) -> Result<bool, StorageError> {
    Ok(diesel::delete(payout_calendar_days::table.find(day)).execute(conn)? > 0)
}

/// Marks `day` a holiday or a make-up working day (replacing what it was).
pub fn set_calendar_day(
    conn: &mut PgConnection,
    day: NaiveDate,
    kind: SpecialDay,
    note: &str,
    by: &str,
) -> Result<(), StorageError> {
    diesel::insert_into(payout_calendar_days::table)
        .values((
            payout_calendar_days::day.eq(day),
            payout_calendar_days::kind.eq(kind),
            payout_calendar_days::note.eq(note),
            payout_calendar_days::updated_by.eq(by),
        ))
        .on_conflict(payout_calendar_days::day)
        .do_update()
        .set((
            payout_calendar_days::kind.eq(kind),
            payout_calendar_days::note.eq(note),
            payout_calendar_days::updated_by.eq(by),
            payout_calendar_days::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = payout_schedules)]
pub struct ScheduleRow {
    pub merchant_id: MerchantId,
    pub frequency: Frequency,
    pub at_time: NaiveTime,
    pub weekday: Option<i16>,
    pub month_day: Option<i16>,
    pub minimum_fen: Amount,
    pub retained_fen: Amount,
    pub fee_fixed_fen: Amount,
    pub fee_rate: Decimal,
    pub fee_minimum_fen: Amount,
    pub updated_by: String,
}

/// Sets a merchant's own schedule (replacing the one it had).
pub fn set_schedule(conn: &mut PgConnection, row: &ScheduleRow) -> Result<(), StorageError> {
    diesel::insert_into(payout_schedules::table)
        .values(row)
        .on_conflict(payout_schedules::merchant_id)
        .do_update()
        .set((
            payout_schedules::frequency.eq(row.frequency),
            payout_schedules::at_time.eq(row.at_time),
            payout_schedules::weekday.eq(row.weekday),
            payout_schedules::month_day.eq(row.month_day),
            payout_schedules::minimum_fen.eq(row.minimum_fen),
            payout_schedules::retained_fen.eq(row.retained_fen),
            payout_schedules::fee_fixed_fen.eq(row.fee_fixed_fen),
            payout_schedules::fee_rate.eq(row.fee_rate),
            payout_schedules::fee_minimum_fen.eq(row.fee_minimum_fen),
            payout_schedules::updated_by.eq(&row.updated_by),
            payout_schedules::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A merchant's own schedule, if it has one.
pub fn schedule_of(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<ScheduleRow>, StorageError> {
    Ok(payout_schedules::table.find(merchant_id).select(ScheduleRow::as_select()).first(conn).optional()?)
}

/// The merchant follows the platform's default schedule again; false when it had none of its own.
pub fn remove_schedule(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<bool, StorageError> {
    Ok(diesel::delete(payout_schedules::table.find(merchant_id)).execute(conn)? > 0)
}

/// The times of day merchants' own schedules and rate plans' payout defaults fall at (manual
/// schedules have none that matter).
pub fn schedule_times(conn: &mut PgConnection) -> Result<Vec<NaiveTime>, StorageError> {
    let mut times: Vec<NaiveTime> = payout_schedules::table
        .filter(payout_schedules::frequency.ne(Frequency::Manual))
        .select(payout_schedules::at_time)
        .distinct()
        .load(conn)?;
    let plans: Vec<NaiveTime> =
        rate_plan_payout_defaults::table.select(rate_plan_payout_defaults::at_time).distinct().load(conn)?;
    times.extend(plans);
    Ok(times)
}

/// A rate plan's payout defaults: when and how its merchants without a schedule of their own are
/// paid (their cadence is the one each declared when it applied).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rate_plan_payout_defaults)]
pub struct PlanDefaultsRow {
    pub rate_plan_id: RatePlanId,
    pub at_time: NaiveTime,
    pub minimum_fen: Amount,
    pub retained_fen: Amount,
    pub fee_fixed_fen: Amount,
    pub fee_rate: Decimal,
    pub fee_minimum_fen: Amount,
    pub updated_by: String,
}

pub fn plan_defaults(conn: &mut PgConnection, plan: RatePlanId) -> Result<Option<PlanDefaultsRow>, StorageError> {
    Ok(rate_plan_payout_defaults::table.find(plan).select(PlanDefaultsRow::as_select()).first(conn).optional()?)
}

/// Sets a rate plan's payout defaults (replacing what it had).
pub fn set_plan_defaults(conn: &mut PgConnection, row: &PlanDefaultsRow) -> Result<(), StorageError> {
    use rate_plan_payout_defaults as d;
    diesel::insert_into(d::table)
        .values(row)
        .on_conflict(d::rate_plan_id)
        .do_update()
        .set((
            d::at_time.eq(row.at_time),
            d::minimum_fen.eq(row.minimum_fen),
            d::retained_fen.eq(row.retained_fen),
            d::fee_fixed_fen.eq(row.fee_fixed_fen),
            d::fee_rate.eq(row.fee_rate),
            d::fee_minimum_fen.eq(row.fee_minimum_fen),
            d::updated_by.eq(&row.updated_by),
            d::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The plan's merchants follow the platform's defaults again; false when it had none.
pub fn remove_plan_defaults(conn: &mut PgConnection, plan: RatePlanId) -> Result<bool, StorageError> {
    Ok(diesel::delete(rate_plan_payout_defaults::table.find(plan)).execute(conn)? > 0)
}

/// Stops a merchant's payouts for a reason (an operator's hold, or a returned payout).
pub fn set_stop(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    kind: StopKind,
    reason: &str,
    by: &str,
) -> Result<(), StorageError> {
    diesel::insert_into(payout_stops::table)
        .values((
            payout_stops::merchant_id.eq(merchant_id),
            payout_stops::kind.eq(kind),
            payout_stops::reason.eq(reason),
            payout_stops::set_by.eq(by),
        ))
        .on_conflict((payout_stops::merchant_id, payout_stops::kind))
        .do_update()
        .set((payout_stops::reason.eq(reason), payout_stops::set_by.eq(by), payout_stops::set_at.eq(diesel::dsl::now)))
        .execute(conn)?;
    Ok(())
}

/// Lifts a stop; false when there was none.
pub fn clear_stop(conn: &mut PgConnection, merchant_id: MerchantId, kind: StopKind) -> Result<bool, StorageError> {
    let removed = diesel::delete(
        payout_stops::table.filter(payout_stops::merchant_id.eq(merchant_id)).filter(payout_stops::kind.eq(kind)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_stops)]
pub struct StopRow {
    pub merchant_id: MerchantId,
    pub kind: StopKind,
    pub reason: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

pub fn stops_of(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<StopRow>, StorageError> {
    Ok(payout_stops::table.filter(payout_stops::merchant_id.eq(merchant_id)).select(StopRow::as_select()).load(conn)?)
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = payout_runs)]
pub struct RunRow {
    pub id: PayoutRunId,
    pub kind: RunKind,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub merchant_id: Option<MerchantId>,
    pub triggered_by: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The scheduled run of a slot, made once: `None` if it exists already (another node, an earlier
/// tick or a restart made it).
pub fn insert_scheduled_run(
    conn: &mut PgConnection,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
) -> Result<Option<RunRow>, StorageError> {
    use diesel::sql_types::{Date, Time};
    Ok(diesel::sql_query(
        "INSERT INTO payout_runs (kind, slot_date, slot_time, triggered_by) VALUES ('scheduled', $1, $2, 'scheduler')
         ON CONFLICT (slot_date, slot_time) WHERE kind = 'scheduled' DO NOTHING
         RETURNING *",
    )
    .bind::<Date, _>(slot_date)
    .bind::<Time, _>(slot_time)
    .get_result(conn)
    .optional()?)
}

/// The newest slot that has a scheduled run, if any.
pub fn latest_scheduled_slot(conn: &mut PgConnection) -> Result<Option<(NaiveDate, NaiveTime)>, StorageError> {
    Ok(payout_runs::table
        .filter(payout_runs::kind.eq(RunKind::Scheduled))
        .order((payout_runs::slot_date.desc(), payout_runs::slot_time.desc()))
        .select((payout_runs::slot_date, payout_runs::slot_time))
        .first(conn)
        .optional()?)
}

/// A manual run (an operator's), for one merchant or every merchant with a balance.
pub fn insert_manual_run(
    conn: &mut PgConnection,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
    merchant_id: Option<MerchantId>,
    by: &str,
) -> Result<RunRow, StorageError> {
    Ok(diesel::insert_into(payout_runs::table)
        .values((
            payout_runs::kind.eq(RunKind::Manual),
            payout_runs::slot_date.eq(slot_date),
            payout_runs::slot_time.eq(slot_time),
            payout_runs::merchant_id.eq(merchant_id),
            payout_runs::triggered_by.eq(by),
        ))
        .returning(RunRow::as_returning())
        .get_result(conn)?)
}

/// Runs not completed yet, oldest first.
pub fn open_runs(conn: &mut PgConnection) -> Result<Vec<RunRow>, StorageError> {
    Ok(payout_runs::table
        .filter(payout_runs::completed_at.is_null())
        .order(payout_runs::id.asc())
        .select(RunRow::as_select())
        .load(conn)?)
}

pub fn find_run(conn: &mut PgConnection, id: PayoutRunId) -> Result<Option<RunRow>, StorageError> {
    Ok(payout_runs::table.find(id).select(RunRow::as_select()).first(conn).optional()?)
}

/// Locks an open run for this transaction unless another one holds it (`SKIP LOCKED`): one node
/// works through a run at a time. False when it is locked elsewhere or complete.
pub fn lock_open_run(conn: &mut PgConnection, id: PayoutRunId) -> Result<bool, StorageError> {
    let locked: Option<PayoutRunId> = payout_runs::table
        .find(id)
        .filter(payout_runs::completed_at.is_null())
        .select(payout_runs::id)
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()?;
    Ok(locked.is_some())
}

pub fn complete_run(conn: &mut PgConnection, id: PayoutRunId) -> Result<(), StorageError> {
    diesel::update(payout_runs::table.find(id).filter(payout_runs::completed_at.is_null()))
        .set(payout_runs::completed_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// A merchant a run looks at: what it needs to decide whether and how much to pay.
#[derive(Debug, Clone, QueryableByName)]
pub struct CandidateRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: ApplicationState,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub frequency: Option<Frequency>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Time>)]
    pub at_time: Option<NaiveTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::SmallInt>)]
    pub weekday: Option<i16>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::SmallInt>)]
    pub month_day: Option<i16>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub minimum_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub retained_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub fee_fixed_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    pub fee_rate: Option<Decimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub fee_minimum_fen: Option<Amount>,
    /// The operator's hold, if any.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub hold_reason: Option<String>,
    /// The pause after a returned payout, if any.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub pause_reason: Option<String>,
    /// The settlement account as it is now: the payee.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub account_type: AccountType,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub account_holder: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub account_number: domain::onboarding::StoredAccountNumber,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub bank_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub cnaps_code: Option<String>,
    /// Where its scheduled payouts' results are told.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub payout_notify_url: Option<String>,
    /// The channel its payouts go through, if not the platform's.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub payout_channel: Option<String>,
    /// The schedule it declared when it applied: `daily`, `weekly` (with its weekday) or `manual`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub declared_frequency: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub declared_weekday: Option<String>,
    /// Its rate plan's payout defaults, if the plan has them.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Time>)]
    pub plan_at_time: Option<NaiveTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub plan_minimum_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub plan_retained_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub plan_fee_fixed_fen: Option<Amount>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    pub plan_fee_rate: Option<Decimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub plan_fee_minimum_fen: Option<Amount>,
}

/// What payouts need of merchants: their state, schedule, stops and payee.
macro_rules! candidates_from {
    () => {
        "SELECT m.id AS merchant_id, m.state, s.frequency, s.at_time, s.weekday, s.month_day, s.minimum_fen,
                s.retained_fen, s.fee_fixed_fen, s.fee_rate, s.fee_minimum_fen,
                hold.reason AS hold_reason, pause.reason AS pause_reason,
                m.account_type, m.account_holder, m.account_number, m.bank_code, m.cnaps_code,
                m.payout_notify_url, m.payout_channel, m.payout_schedule AS declared_frequency, m.payout_weekday AS declared_weekday,
                d.at_time AS plan_at_time, d.minimum_fen AS plan_minimum_fen, d.retained_fen AS plan_retained_fen,
                d.fee_fixed_fen AS plan_fee_fixed_fen, d.fee_rate AS plan_fee_rate,
                d.fee_minimum_fen AS plan_fee_minimum_fen
           FROM merchants m
           LEFT JOIN payout_schedules s ON s.merchant_id = m.id
           -- The rate plan in force now (none when the merchant has rates of its own).
           LEFT JOIN LATERAL (SELECT r.rate_plan_id FROM merchant_rates r
                               WHERE r.merchant_id = m.id AND r.effective_from <= now()
                               ORDER BY r.effective_from DESC LIMIT 1) plan ON true
           LEFT JOIN rate_plan_payout_defaults d ON d.rate_plan_id = plan.rate_plan_id
           LEFT JOIN payout_stops hold ON hold.merchant_id = m.id AND hold.kind = 'hold'
           LEFT JOIN payout_stops pause ON pause.merchant_id = m.id AND pause.kind = 'returned_account'"
    };
}

/// One merchant as payouts see it (for a withdrawal).
pub fn candidate(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<CandidateRow>, StorageError> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(concat!(candidates_from!(), " WHERE m.id = $1"))
        .bind::<BigInt, _>(merchant_id)
        .get_result(conn)
        .optional()?)
}

/// Up to `limit` approved, frozen or closed merchants after `after` (by id) that the run has
/// neither paid nor skipped yet — one merchant when the run is for one.
pub fn run_candidates(
    conn: &mut PgConnection,
    run: &RunRow,
    after: Option<MerchantId>,
    limit: i64,
) -> Result<Vec<CandidateRow>, StorageError> {
    use diesel::sql_types::{BigInt, Nullable};
    Ok(diesel::sql_query(concat!(
        candidates_from!(),
        "
          WHERE m.state IN ('approved', 'frozen', 'closed') AND m.id > $2
            AND ($3::bigint IS NULL OR m.id = $3)
            AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.run_id = $1 AND p.merchant_id = m.id)
            AND NOT EXISTS (SELECT 1 FROM payout_run_skips k WHERE k.run_id = $1 AND k.merchant_id = m.id)
          ORDER BY m.id
          LIMIT $4",
    ))
    .bind::<BigInt, _>(run.id)
    .bind::<BigInt, _>(after.map_or(0, MerchantId::get))
    .bind::<Nullable<BigInt>, _>(run.merchant_id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

pub fn insert_skip(
    conn: &mut PgConnection,
    run_id: PayoutRunId,
    merchant_id: MerchantId,
    reason: SkipReason,
    detail: &str,
) -> Result<(), StorageError> {
    diesel::insert_into(payout_run_skips::table)
        .values((
            payout_run_skips::run_id.eq(run_id),
            payout_run_skips::merchant_id.eq(merchant_id),
            payout_run_skips::reason.eq(reason),
            payout_run_skips::detail.eq(detail),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_run_skips)]
pub struct SkipRow {
    pub run_id: PayoutRunId,
    pub merchant_id: MerchantId,
    pub reason: SkipReason,
    pub detail: String,
}

pub fn skips_of(conn: &mut PgConnection, run_id: PayoutRunId) -> Result<Vec<SkipRow>, StorageError> {
    Ok(payout_run_skips::table
        .filter(payout_run_skips::run_id.eq(run_id))
        .order(payout_run_skips::merchant_id.asc())
        .select(SkipRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = payouts)]
pub struct PayoutRow {
    pub id: PayoutId,
    pub out_trade_no: String,
    pub kind: PayoutKind,
    pub merchant_id: MerchantId,
    pub run_id: Option<PayoutRunId>,
    pub amount_fen: Amount,
    pub fee_fen: Amount,
    pub state: PayoutState,
    pub channel: String,
    pub account_type: AccountType,
    pub account_holder: String,
    pub account_number: domain::onboarding::StoredAccountNumber,
    pub bank_code: String,
    pub cnaps_code: Option<String>,
    pub channel_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub business_date: NaiveDate,
    pub triggered_by: String,
    pub next_query_at: Option<DateTime<Utc>>,
    pub query_count: i32,
    pub needs_attention: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A withdrawal's number, the app's (unique per merchant).
    pub out_withdraw_no: Option<String>,
    /// Where a withdrawal's result is told.
    pub notify_url: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payouts)]
pub struct NewPayout<'a> {
    pub out_trade_no: &'a str,
    pub kind: PayoutKind,
    pub merchant_id: MerchantId,
    pub run_id: Option<PayoutRunId>,
    pub amount_fen: Amount,
    pub fee_fen: Amount,
    pub state: PayoutState,
    pub channel: &'a str,
    pub account_type: AccountType,
    pub account_holder: &'a str,
    pub account_number: &'a str,
    pub bank_code: &'a str,
    pub cnaps_code: Option<&'a str>,
    pub business_date: NaiveDate,
    pub triggered_by: &'a str,
    pub out_withdraw_no: Option<&'a str>,
    pub notify_url: Option<&'a str>,
}

/// Writes a payout order and its `created` history row.
pub fn insert(conn: &mut PgConnection, new: &NewPayout<'_>, actor: &str) -> Result<PayoutRow, StorageError> {
    let row: PayoutRow =
        diesel::insert_into(payouts::table).values(new).returning(PayoutRow::as_returning()).get_result(conn)?;
    diesel::insert_into(payout_events::table)
        .values((
            payout_events::payout_id.eq(row.id),
            payout_events::to_state.eq(row.state),
            payout_events::actor.eq(actor),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Writes many payout orders and their `created` history rows: two statements. Returns them in
/// the order given.
pub fn insert_many(
    conn: &mut PgConnection,
    new: &[NewPayout<'_>],
    actor: &str,
) -> Result<Vec<PayoutRow>, StorageError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<PayoutRow> =
        diesel::insert_into(payouts::table).values(new).returning(PayoutRow::as_returning()).get_results(conn)?;
    rows.sort_by_key(|row| row.id);
    let events: Vec<_> = rows
        .iter()
        .map(|row| {
            (payout_events::payout_id.eq(row.id), payout_events::to_state.eq(row.state), payout_events::actor.eq(actor))
        })
        .collect();
    diesel::insert_into(payout_events::table).values(&events).execute(conn)?;
    Ok(rows)
}

pub fn find(conn: &mut PgConnection, id: PayoutId) -> Result<Option<PayoutRow>, StorageError> {
    Ok(payouts::table.find(id).select(PayoutRow::as_select()).first(conn).optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, id: PayoutId) -> Result<Option<PayoutRow>, StorageError> {
    Ok(payouts::table.find(id).select(PayoutRow::as_select()).for_update().first(conn).optional()?)
}

pub fn find_by_out_trade_no(conn: &mut PgConnection, out_trade_no: &str) -> Result<Option<PayoutRow>, StorageError> {
    Ok(payouts::table
        .filter(payouts::out_trade_no.eq(out_trade_no))
        .select(PayoutRow::as_select())
        .first(conn)
        .optional()?)
}

/// A merchant's withdrawal by its number.
pub fn find_withdrawal(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    out_withdraw_no: &str,
) -> Result<Option<PayoutRow>, StorageError> {
    Ok(payouts::table
        .filter(payouts::merchant_id.eq(merchant_id))
        .filter(payouts::out_withdraw_no.eq(out_withdraw_no))
        .select(PayoutRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn of_run(conn: &mut PgConnection, run_id: PayoutRunId) -> Result<Vec<PayoutRow>, StorageError> {
    Ok(payouts::table
        .filter(payouts::run_id.eq(run_id))
        .order(payouts::id.asc())
        .select(PayoutRow::as_select())
        .load(conn)?)
}

/// Which payouts the console lists; `before_id` is the keyset cursor (newer first).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<PayoutState>,
    pub needs_attention: bool,
    pub run_id: Option<PayoutRunId>,
    pub merchant_id: Option<MerchantId>,
    /// Payouts booked on this business day.
    pub business_date: Option<NaiveDate>,
    pub before_id: Option<i64>,
}

impl CandidateRow {
    /// The merchant's own schedule, if it has one (all its columns come together).
    pub fn own_schedule(&self) -> Option<ScheduleRow> {
        Some(ScheduleRow {
            merchant_id: self.merchant_id,
            frequency: self.frequency?,
            at_time: self.at_time?,
            weekday: self.weekday,
            month_day: self.month_day,
            minimum_fen: self.minimum_fen?,
            retained_fen: self.retained_fen?,
            fee_fixed_fen: self.fee_fixed_fen?,
            fee_rate: self.fee_rate?,
            fee_minimum_fen: self.fee_minimum_fen?,
            updated_by: String::new(),
        })
    }

    /// Its rate plan's payout defaults, if the plan has them.
    pub fn plan_defaults(&self) -> Option<PlanDefaultsRow> {
        Some(PlanDefaultsRow {
            // Not selected: only the values matter here.
            rate_plan_id: RatePlanId::new(0),
            at_time: self.plan_at_time?,
            minimum_fen: self.plan_minimum_fen?,
            retained_fen: self.plan_retained_fen?,
            fee_fixed_fen: self.plan_fee_fixed_fen?,
            fee_rate: self.plan_fee_rate?,
            fee_minimum_fen: self.plan_fee_minimum_fen?,
            updated_by: String::new(),
        })
    }
}

/// Payouts with their merchant's short name, newest first, at most `limit`.
pub fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<(PayoutRow, String)>, StorageError> {
    use crate::schema::merchants;
    let mut query = payouts::table
        .inner_join(merchants::table)
        .select((PayoutRow::as_select(), merchants::short_name))
        .into_boxed();
    if let Some(state) = filter.state {
        query = query.filter(payouts::state.eq(state));
    }
    if filter.needs_attention {
        query = query.filter(payouts::needs_attention.eq(true));
    }
    if let Some(run_id) = filter.run_id {
        query = query.filter(payouts::run_id.eq(run_id));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(payouts::merchant_id.eq(merchant_id));
    }
    if let Some(date) = filter.business_date {
        query = query.filter(payouts::business_date.eq(date));
    }
    if let Some(before_id) = filter.before_id {
        query = query.filter(payouts::id.lt(before_id));
    }
    Ok(query.order(payouts::id.desc()).limit(limit).load(conn)?)
}

/// How many payouts are in each state, and how many need attention (the dashboard's figures).
pub fn counts(conn: &mut PgConnection) -> Result<(Vec<(PayoutState, i64)>, i64), StorageError> {
    use diesel::dsl::count_star;
    let by_state = payouts::table.group_by(payouts::state).select((payouts::state, count_star())).load(conn)?;
    let attention = payouts::table.filter(payouts::needs_attention.eq(true)).count().get_result(conn)?;
    Ok((by_state, attention))
}

/// A run with what it did: its payouts (how many, how much) and how many merchants it skipped.
#[derive(Debug, Clone, QueryableByName)]
pub struct RunSummary {
    #[diesel(embed)]
    pub run: RunRow,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub payout_count: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub payout_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub skip_count: i64,
}

/// Runs, newest first, at most `limit`, before the run `before_id`.
pub fn run_summaries(
    conn: &mut PgConnection,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<RunSummary>, StorageError> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(
        "SELECT r.*,
                (SELECT count(*) FROM payouts p WHERE p.run_id = r.id) AS payout_count,
                (SELECT COALESCE(sum(p.amount_fen), 0)::bigint FROM payouts p WHERE p.run_id = r.id) AS payout_fen,
                (SELECT count(*) FROM payout_run_skips k WHERE k.run_id = r.id) AS skip_count
           FROM payout_runs r
          WHERE r.id < $1
          ORDER BY r.id DESC
          LIMIT $2",
    )
    .bind::<BigInt, _>(before_id.unwrap_or(i64::MAX))
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// A merchant's payouts, newest first, at most `limit`.
pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    limit: i64,
) -> Result<Vec<PayoutRow>, StorageError> {
    Ok(payouts::table
        .filter(payouts::merchant_id.eq(merchant_id))
        .order(payouts::id.desc())
        .limit(limit)
        .select(PayoutRow::as_select())
        .load(conn)?)
}

/// One guarded change of a payout's state (`WHERE state = from`) with its history row; what the
/// channel said comes with it. `next_query_at` is set while the payout is submitted.
#[derive(Debug, Clone)]
pub struct PayoutChange<'a> {
    pub id: PayoutId,
    pub from: PayoutState,
    pub to: PayoutState,
    pub actor: &'a str,
    pub detail: Option<&'a str>,
    pub channel_reference: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    pub next_query_at: Option<DateTime<Utc>>,
}

/// Applies the change and writes its history row in one statement; `None` when the guard failed.
pub fn change_state(conn: &mut PgConnection, change: &PayoutChange<'_>) -> Result<Option<PayoutRow>, StorageError> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
    Ok(diesel::sql_query(
        "WITH changed AS (
             UPDATE payouts
                SET state = $3,
                    channel_reference = COALESCE($6, channel_reference),
                    failure_reason = COALESCE($7, failure_reason),
                    next_query_at = CASE WHEN $3 = 'submitted' THEN $8 END,
                    submitted_at = CASE WHEN $3 = 'submitted' THEN now() ELSE submitted_at END,
                    finished_at = CASE WHEN $3 IN ('succeeded', 'failed', 'returned', 'rejected') THEN now()
                                       ELSE finished_at END,
                    updated_at = now()
              WHERE id = $1 AND state = $2
             RETURNING *),
         event AS (
             INSERT INTO payout_events (payout_id, from_state, to_state, actor, detail)
             SELECT id, $2, $3, $4, $5 FROM changed)
         SELECT * FROM changed",
    )
    .bind::<BigInt, _>(change.id)
    .bind::<Text, _>(change.from)
    .bind::<Text, _>(change.to)
    .bind::<Text, _>(change.actor)
    .bind::<Nullable<Text>, _>(change.detail)
    .bind::<Nullable<Text>, _>(change.channel_reference)
    .bind::<Nullable<Text>, _>(change.failure_reason)
    .bind::<Nullable<Timestamptz>, _>(change.next_query_at)
    .get_result(conn)
    .optional()?)
}

/// Keeps what the channel said of a submitted payout without changing its state (its reference,
/// while the payout is in progress).
pub fn note_reference(conn: &mut PgConnection, id: PayoutId, channel_reference: &str) -> Result<(), StorageError> {
    diesel::update(payouts::table.find(id).filter(payouts::channel_reference.is_null()))
        .set((payouts::channel_reference.eq(channel_reference), payouts::updated_at.eq(diesel::dsl::now)))
        .execute(conn)?;
    Ok(())
}

/// Flags a payout for an operator (an outcome contradicting the one recorded, or none for too long).
pub fn flag_attention(conn: &mut PgConnection, id: PayoutId) -> Result<(), StorageError> {
    diesel::update(payouts::table.find(id))
        .set((payouts::needs_attention.eq(true), payouts::updated_at.eq(diesel::dsl::now)))
        .execute(conn)?;
    Ok(())
}

/// Flags every payout submitted before `submitted_before` that still has no outcome; returns how
/// many were newly flagged.
pub fn flag_overdue(conn: &mut PgConnection, submitted_before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::update(
        payouts::table
            .filter(payouts::state.eq(PayoutState::Submitted))
            .filter(payouts::submitted_at.lt(submitted_before))
            .filter(payouts::needs_attention.eq(false)),
    )
    .set(payouts::needs_attention.eq(true))
    .execute(conn)?)
}

/// Claims up to `limit` submitted payouts due to be asked about (`SKIP LOCKED`, so nodes share
/// them) and moves each one's next question out by the interval its count of questions reaches
/// (the last interval repeats). Returns them as claimed.
pub fn claim_due_queries(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    intervals_seconds: &[i32],
    limit: i64,
) -> Result<Vec<PayoutRow>, StorageError> {
    use diesel::sql_types::{Array, BigInt, Integer, Timestamptz};
    Ok(diesel::sql_query(
        "UPDATE payouts p
            SET query_count = p.query_count + 1,
                next_query_at = $1 + make_interval(secs => ($2::int[])[LEAST(p.query_count + 1, cardinality($2::int[]))]),
                updated_at = now()
          WHERE p.id IN (SELECT id FROM payouts
                          WHERE state = 'submitted' AND next_query_at <= $1
                          ORDER BY next_query_at
                          LIMIT $3
                          FOR UPDATE SKIP LOCKED)
         RETURNING p.*",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Integer>, _>(intervals_seconds)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Payouts still `created` (not yet handed to the channel) that were written before `before`:
/// their submit job died or gave up, so they are handed over by the sweeper instead.
pub fn stale_created(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PayoutId>, StorageError> {
    Ok(payouts::table
        .filter(payouts::state.eq(PayoutState::Created))
        .filter(payouts::created_at.lt(before))
        .order(payouts::id.asc())
        .limit(limit)
        .select(payouts::id)
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_events)]
pub struct PayoutEventRow {
    pub id: i64,
    pub payout_id: PayoutId,
    pub from_state: Option<PayoutState>,
    pub to_state: PayoutState,
    pub actor: String,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// One exchange with the channel about a payout.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_exchanges)]
pub struct ExchangeRow {
    pub id: i64,
    pub payout_id: PayoutId,
    pub actor: String,
    pub answer: ChannelAnswer,
    pub detail: String,
    pub at: DateTime<Utc>,
}

pub fn insert_exchange(
    conn: &mut PgConnection,
    payout_id: PayoutId,
    actor: &str,
    answer: ChannelAnswer,
    detail: &str,
) -> Result<(), StorageError> {
    diesel::insert_into(payout_exchanges::table)
        .values((
            payout_exchanges::payout_id.eq(payout_id),
            payout_exchanges::actor.eq(actor),
            payout_exchanges::answer.eq(answer),
            payout_exchanges::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// Oldest first.
pub fn exchanges_of(conn: &mut PgConnection, payout_id: PayoutId) -> Result<Vec<ExchangeRow>, StorageError> {
    Ok(payout_exchanges::table
        .filter(payout_exchanges::payout_id.eq(payout_id))
        .order(payout_exchanges::id.asc())
        .select(ExchangeRow::as_select())
        .load(conn)?)
}

pub fn events_of(conn: &mut PgConnection, payout_id: PayoutId) -> Result<Vec<PayoutEventRow>, StorageError> {
    Ok(payout_events::table
        .filter(payout_events::payout_id.eq(payout_id))
        .order(payout_events::id.asc())
        .select(PayoutEventRow::as_select())
        .load(conn)?)
}
