//! Payout runs: one per schedule slot (a payout day and a time of day), made once in the database
//! however many nodes or restarts try; each pays every due merchant once, in batches, each
//! payout written with its reservation and its submit job in one transaction.
use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, PayoutRunId,
    calendar::{BusinessCalendar, china},
    ledger::AccountKind,
    onboarding::ApplicationState,
    payouts::{
        PayoutKind, PayoutState, RunKind, SkipReason,
        calendar::PayoutCalendar,
        schedule::{Cadence, Payable, Schedule},
    },
};
use storage::{
    jobs::Job,
    payouts::{self as rows, CandidateRow, NewPayout, RunRow},
};

use crate::{PayoutError, Settings, jobs::SendPayout, transition};

/// How many days back a missed slot still gets its run (a node down over a weekend).
const CATCH_UP_DAYS: u64 = 3;

/// Makes the run of every slot that has come, once: today's, and slots of the last few days that
/// were missed after the last run made (never slots from before the first run, so a new
/// deployment starts with today). Returns the runs made now.
pub fn create_due_runs(
    conn: &mut PgConnection,
    settings: &Settings,
    calendar: &PayoutCalendar,
    now: DateTime<Utc>,
) -> Result<Vec<RunRow>, PayoutError> {
    let mut times: BTreeSet<NaiveTime> = rows::schedule_times(conn)?.into_iter().collect();
    if settings.default_schedule.cadence != Cadence::Manual {
        times.insert(settings.default_schedule.at);
    }
    let today = now.with_timezone(&china()).date_naive();
    let latest = rows::latest_scheduled_slot(conn)?;
    let missed = |slot: (NaiveDate, NaiveTime)| slot.0 == today || latest.is_some_and(|latest| slot > latest);
    let mut made = Vec::new();
    for back in (0..=CATCH_UP_DAYS).rev() {
        let Some(date) = today.checked_sub_days(Days::new(back)) else { continue };
        if !calendar.is_payout_day(date) {
            continue;
        }
        for time in &times {
            if missed((date, *time))
                && slot_instant(date, *time).is_some_and(|slot| slot <= now)
                && let Some(run) = rows::insert_scheduled_run(conn, date, *time)?
            {
                made.push(run);
            }
        }
    }
    Ok(made)
}

fn slot_instant(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    china().from_local_datetime(&date.and_time(time)).single().map(|at| at.with_timezone(&Utc))
}

/// What a run's batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub payouts: usize,
    pub skipped: usize,
    /// Every merchant the run concerns has its payout or its reason; the run is complete.
    pub complete: bool,
}

/// Works through the run in batches of `settings.run_batch` merchants, each batch one
/// transaction, until every merchant it concerns has its payout or its reason for being skipped;
/// then marks it complete. Safe to run again after a crash, and on several nodes at once (a
/// merchant's payout is unique per run, so a node that loses the race rolls its batch back).
pub fn work_through(
    conn: &mut PgConnection,
    settings: &Settings,
    payout_calendar: &PayoutCalendar,
    business_calendar: &BusinessCalendar,
    run: &RunRow,
    channel: &str,
) -> Result<Progress, PayoutError> {
    let mut total = Progress::default();
    let mut after = None;
    loop {
        let (progress, last) = storage::database::transaction(conn, |conn| {
            if !rows::lock_open_run(conn, run.id)? {
                // Complete, or another node is working through it.
                return Ok::<_, PayoutError>((Progress { complete: true, ..Progress::default() }, None));
            }
            let candidates = rows::run_candidates(conn, run, after, settings.run_batch)?;
            let mut progress = Progress::default();
            let (skips, pays) = decide_batch(conn, settings, payout_calendar, run, &candidates)?;
            for (candidate, reason, detail) in &skips {
                rows::insert_skip(conn, run.id, candidate.merchant_id, *reason, detail)?;
            }
            progress.skipped = skips.len();
            progress.payouts = create_batch(conn, settings, business_calendar, run, channel, &pays)?;
            progress.complete = (candidates.len() as i64) < settings.run_batch;
            if progress.complete {
                rows::complete_run(conn, run.id)?;
            }
            Ok::<_, PayoutError>((progress, candidates.last().map(|candidate| candidate.merchant_id)))
        })?;
        total.payouts += progress.payouts;
        total.skipped += progress.skipped;
        if progress.complete {
            total.complete = true;
            return Ok(total);
        }
        after = last;
    }
}

/// What a run does for one merchant it looks at.
type Skip<'a> = (&'a CandidateRow, SkipReason, String);
type Pay<'a> = (&'a CandidateRow, Amount, Amount);

/// Whether and how much the run pays each merchant of a batch. Their available balances are read
/// under one lock, so nothing moves them between the reading and the reservations.
fn decide_batch<'a>(
    conn: &mut PgConnection,
    settings: &Settings,
    calendar: &PayoutCalendar,
    run: &RunRow,
    candidates: &'a [CandidateRow],
) -> Result<(Vec<Skip<'a>>, Vec<Pay<'a>>), PayoutError> {
    let (mut skips, mut due) = (Vec::new(), Vec::new());
    for candidate in candidates {
        let schedule = schedule_of(candidate, &settings.default_schedule)?;
        let is_due = match run.kind {
            RunKind::Scheduled => schedule.at == run.slot_time && schedule.cadence.is_due_on(run.slot_date, calendar),
            RunKind::Manual => true,
        };
        if !is_due {
            continue;
        }
        match stop_of(candidate) {
            Some((reason, detail)) => skips.push((candidate, reason, detail)),
            None => due.push((candidate, schedule)),
        }
    }
    let ids: Vec<MerchantId> = due.iter().map(|(candidate, _)| candidate.merchant_id).collect();
    let available: std::collections::HashMap<MerchantId, Amount> =
        storage::ledger::accounts_of_kinds(conn, &ids, &[AccountKind::MerchantAvailable], true)?
            .into_iter()
            .map(|account| (account.merchant_id, account.balance_fen))
            .collect();
    let mut pays = Vec::new();
    for (candidate, schedule) in due {
        let balance = available.get(&candidate.merchant_id).copied().unwrap_or(Amount::ZERO);
        match schedule.payable(balance)? {
            Payable::Pay { amount, fee } => pays.push((candidate, amount, fee)),
            // A merchant with nothing at all is not worth a line on the run.
            Payable::BelowMinimum if balance.is_positive() => {
                skips.push((candidate, SkipReason::BelowMinimum, format!("available {balance}")));
            }
            Payable::BelowMinimum => {}
        }
    }
    Ok((skips, pays))
}

/// Why a merchant's payouts are stopped, if they are.
fn stop_of(candidate: &CandidateRow) -> Option<(SkipReason, String)> {
    match candidate.state {
        ApplicationState::Frozen => Some((SkipReason::Frozen, String::new())),
        ApplicationState::Closed => Some((SkipReason::Closed, String::new())),
        _ => None,
    }
    .or_else(|| candidate.hold_reason.clone().map(|reason| (SkipReason::Held, reason)))
    .or_else(|| candidate.pause_reason.clone().map(|reason| (SkipReason::Paused, reason)))
}

pub(crate) fn available_locked(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Amount, PayoutError> {
    let accounts = storage::ledger::accounts_of_kinds(conn, &[merchant_id], &[AccountKind::MerchantAvailable], true)?;
    Ok(accounts.first().map_or(Amount::ZERO, |account| account.balance_fen))
}

/// The merchant's schedule: its own, or its declared cadence with its rate plan's or the
/// platform's defaults.
pub(crate) fn schedule_of(candidate: &CandidateRow, platform: &Schedule) -> Result<Schedule, PayoutError> {
    Ok(crate::schedules::effective(candidate, platform)?.0)
}

/// The batch's payout orders, their reservations and (for those not waiting for approval) their
/// submit jobs, in the caller's transaction: a few statements for the whole batch. Each number is
/// the run's and the merchant's: unique forever, and the same if a crashed batch is done again.
/// Returns how many payouts were made.
fn create_batch(
    conn: &mut PgConnection,
    settings: &Settings,
    calendar: &BusinessCalendar,
    run: &RunRow,
    channel: &str,
    pays: &[Pay<'_>],
) -> Result<usize, PayoutError> {
    let numbers: Vec<String> =
        pays.iter().map(|(candidate, _, _)| out_trade_no(run.id, candidate.merchant_id)).collect();
    let business_date = calendar.date_of(Utc::now());
    let new: Vec<NewPayout<'_>> = pays
        .iter()
        .zip(&numbers)
        .map(|((candidate, amount, fee), number)| NewPayout {
            out_trade_no: number,
            kind: PayoutKind::Scheduled,
            merchant_id: candidate.merchant_id,
            run_id: Some(run.id),
            amount_fen: *amount,
            fee_fen: *fee,
            state: if *amount > settings.approval_above { PayoutState::AwaitingApproval } else { PayoutState::Created },
            channel: candidate.payout_channel.as_deref().unwrap_or(channel),
            account_type: candidate.account_type,
            account_holder: &candidate.account_holder,
            account_number: candidate.account_number.digits(),
            bank_code: &candidate.bank_code,
            cnaps_code: candidate.cnaps_code.as_deref(),
            business_date,
            triggered_by: &run.triggered_by,
            out_withdraw_no: None,
            notify_url: candidate.payout_notify_url.as_deref(),
        })
        .collect();
    let rows = rows::insert_many(conn, &new, "scheduler")?;
    transition::reserve_many(conn, calendar, &rows)?;
    let jobs = rows
        .iter()
        .filter(|row| row.state == PayoutState::Created)
        .map(|row| SendPayout { payout_id: row.id }.now())
        .collect::<Result<Vec<_>, _>>()?;
    storage::jobs::enqueue_many(conn, jobs)?;
    Ok(rows.len())
}

/// `PO` + the run + the merchant: e.g. `PO17M42`.
pub fn out_trade_no(run_id: PayoutRunId, merchant_id: MerchantId) -> String {
    format!("PO{run_id}M{merchant_id}")
}

/// Every open run, worked through (the scheduler's tick, after it made the due runs).
pub fn work_through_open(
    conn: &mut PgConnection,
    settings: &Settings,
    payout_calendar: &PayoutCalendar,
    business_calendar: &BusinessCalendar,
    channel: &str,
) -> Result<Vec<(PayoutRunId, Progress)>, PayoutError> {
    let mut done = Vec::new();
    for run in rows::open_runs(conn)? {
        let progress = work_through(conn, settings, payout_calendar, business_calendar, &run, channel)?;
        done.push((run.id, progress));
    }
    Ok(done)
}

/// A manual run (an operator's) for one merchant or all, today, made and worked through at once.
pub fn manual_run(
    conn: &mut PgConnection,
    settings: &Settings,
    payout_calendar: &PayoutCalendar,
    business_calendar: &BusinessCalendar,
    merchant_id: Option<MerchantId>,
    by: &str,
    channel: &str,
) -> Result<(RunRow, Progress), PayoutError> {
    let now = Utc::now().with_timezone(&china());
    let run = rows::insert_manual_run(conn, now.date_naive(), now.time(), merchant_id, by)?;
    let progress = work_through(conn, settings, payout_calendar, business_calendar, &run, channel)?;
    Ok((run, progress))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payout_number_names_its_run_and_merchant() {
        assert_eq!(out_trade_no(PayoutRunId::new(17), MerchantId::new(42)), "PO17M42");
    }

    #[test]
    fn slots_are_china_time() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let slot = slot_instant(date, NaiveTime::from_hms_opt(10, 0, 0).unwrap()).unwrap();
        assert_eq!(slot.to_rfc3339(), "2026-12-07T02:00:00+00:00");
    }
}
