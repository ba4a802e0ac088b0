//! Reconciliation (对账, SPEC §7): a channel's bill for a business day against the day's bookings.
//!
//! Lines are matched by what they are (payment or refund) and their numbers (`trade_no`,
//! `refund_no`). Every line ends up matched or in exactly one difference: missing on our side,
//! missing upstream, amount, status or fee mismatch. Differences wait for an operator's note; a day
//! whose latest import has none open is reconciled, and only then (or when an operator releases
//! it) does its settlement go ahead (seed 000).
use std::collections::HashMap;

use channel::bill::{BillKind, BillLine};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::{Amount, calendar::BusinessCalendar};
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    reconciliation::{self as rows, NewDifference, NewRun, RunRow},
};

use crate::{LedgerError, bill};

pub use domain::ledger::DifferenceKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub ours: Option<BillLine>,
    pub theirs: Option<BillLine>,
}

impl Difference {
    fn line(&self) -> Option<&BillLine> {
        self.theirs.as_ref().or(self.ours.as_ref())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matching {
    pub matched: usize,
    pub differences: Vec<Difference>,
}

type Key = (BillKind, String, String);

fn key(line: &BillLine) -> Key {
    (line.bill_type, line.trade_no.clone(), line.refund_no.clone())
}

/// Matches the bill against our lines. Pure, so every kind of difference is tested directly.
pub fn compare(ours: &[BillLine], theirs: &[BillLine]) -> Matching {
    let mut unmatched: HashMap<Key, &BillLine> = ours.iter().map(|line| (key(line), line)).collect();
    let mut matching = Matching::default();
    for line in theirs {
        // A second line with the same numbers finds nothing left: it shows as missing on our side.
        let kind = match unmatched.remove(&key(line)) {
            None => Some((DifferenceKind::MissingOurs, None)),
            Some(our) => difference_between(our, line).map(|kind| (kind, Some(our.clone()))),
        };
        match kind {
            None => matching.matched += 1,
            Some((kind, ours)) => matching.differences.push(Difference { kind, ours, theirs: Some(line.clone()) }),
        }
    }
    let mut missing: Vec<&BillLine> = unmatched.into_values().collect();
    missing.sort_by(|a, b| (&a.time, &a.trade_no, &a.refund_no).cmp(&(&b.time, &b.trade_no, &b.refund_no)));
    matching.differences.extend(missing.into_iter().map(|line| Difference {
        kind: DifferenceKind::MissingUpstream,
        ours: Some(line.clone()),
        theirs: None,
    }));
    matching
}

fn difference_between(ours: &BillLine, theirs: &BillLine) -> Option<DifferenceKind> {
    if ours.amount != theirs.amount {
        Some(DifferenceKind::AmountMismatch)
    } else if !theirs.status.eq_ignore_ascii_case("SUCCESS") {
        Some(DifferenceKind::StatusMismatch)
    } else if split(ours) != split(theirs) {
        Some(DifferenceKind::FeeMismatch)
    } else {
        None
    }
}

fn split(line: &BillLine) -> [Amount; 4] {
    [line.net_receipt_amount, line.bank_commission_fee, line.pay_platform_fee, line.liquidator_commission_fee]
}

/// Where a bill came from and who brought it.
pub struct Import<'a> {
    pub channel: &'a str,
    pub business_date: NaiveDate,
    pub source: &'a str,
    pub imported_by: &'a str,
}

/// Imports a bill: matches it against the day's bookings, stores the run and its differences, and
/// marks the day reconciled when nothing differs. One transaction.
pub fn import(conn: &mut PgConnection, import: &Import<'_>, theirs: &[BillLine]) -> Result<RunRow, LedgerError> {
    storage::database::transaction(conn, |conn| {
        // Each channel's bill lists the orders it took, and is compared with ours of those alone.
        let ours = bill::lines_through(conn, import.business_date, import.channel)?;
        let matching = compare(&ours, theirs);
        let run = rows::insert_run(
            conn,
            &NewRun {
                channel: import.channel,
                business_date: import.business_date,
                source: import.source,
                imported_by: import.imported_by,
                bill_line_count: count(theirs.len()),
                our_line_count: count(ours.len()),
                matched_count: count(matching.matched),
                difference_count: count(matching.differences.len()),
            },
        )?;
        let differences: Vec<NewDifference> = matching.differences.iter().map(|d| new_difference(run.id, d)).collect();
        rows::insert_differences(conn, &differences)?;
        if differences.is_empty() {
            reconciled(conn, import.channel, import.business_date)?;
        }
        Ok(run)
    })
}

fn new_difference(run_id: i64, difference: &Difference) -> NewDifference {
    let line = difference.line();
    NewDifference {
        run_id,
        kind: difference.kind,
        // A difference without a line of either side is a payment's.
        bill_type: line.map_or(BillKind::Pay, |l| l.bill_type),
        trade_no: line.map(|l| l.trade_no.clone()).unwrap_or_default(),
        refund_no: line.map(|l| l.refund_no.clone()).filter(|no| !no.is_empty()),
        ours: difference.ours.as_ref().and_then(|l| serde_json::to_value(l).ok()),
        theirs: difference.theirs.as_ref().and_then(|l| serde_json::to_value(l).ok()),
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Why a difference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the difference does not exist")]
    NotFound,
    #[error("the difference was already resolved")]
    AlreadyResolved,
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Resolves a difference with the operator's note; when it was the last open one of its day's
/// latest run, the day becomes reconciled. Call inside the transaction that writes the audit row.
pub fn resolve(conn: &mut PgConnection, difference_id: i64, by: &str, note: &str) -> Result<RunRow, ResolveError> {
    let difference = rows::find_difference(conn, difference_id)?.ok_or(ResolveError::NotFound)?;
    if !rows::resolve(conn, difference_id, by, note)? {
        return Err(ResolveError::AlreadyResolved);
    }
    let run = rows::find_run(conn, difference.run_id)?.ok_or(ResolveError::NotFound)?;
    let latest = rows::latest_run(conn, &run.channel, run.business_date)?;
    if latest.is_some_and(|latest| latest.id == run.id) && rows::open_differences(conn, run.id)? == 0 {
        reconciled(conn, &run.channel, run.business_date)?;
    }
    Ok(run)
}

/// A channel's bill of the day and our bookings of its orders agree: what it settled for them
/// (net of what it keeps) is booked into the provider's reserve, in the same transaction; once
/// every channel that took payments that day agrees, the day is reconciled.
fn reconciled(conn: &mut PgConnection, channel: &str, date: chrono::NaiveDate) -> Result<(), LedgerError> {
    let settled = crate::bookings::upstream_settled(conn, date, bill::channel_orders(channel))?;
    let clean = rows::clean_channels(conn, date)?;
    let waiting: Vec<String> = storage::ledger::channels_of_day(conn, date, SANDBOX)?
        .into_iter()
        .filter(|of_day| !clean.contains(of_day))
        .collect();
    if waiting.is_empty() {
        storage::ledger::mark_reconciled(conn, date)?;
    }
    tracing::info!(%date, channel, settled, ?waiting, "a channel's bill reconciled; its settlement booked");
    Ok(())
}

/// An operator imports a channel's bill of a day (pasted, or fetched from the channel for them),
/// with its audit row in the same transaction as the run.
pub fn import_by_operator(
    conn: &mut PgConnection,
    actor: &Actor,
    channel: &str,
    business_date: NaiveDate,
    lines: &[BillLine],
) -> Result<RunRow, LedgerError> {
    storage::database::transaction(conn, |conn| {
        let import = Import { channel, business_date, source: "upload", imported_by: &actor.name };
        let run = self::import(conn, &import, lines)?;
        let after = json!({
            "business_date": run.business_date.to_string(),
            "channel": run.channel,
            "bill_lines": run.bill_line_count,
            "matched": run.matched_count,
            "differences": run.difference_count,
        });
        let entry = NewEntry {
            action: "reconciliation.import",
            target: format!("run:{}", run.id),
            before: None,
            after: Some(after),
        };
        audit::record(conn, actor, entry)?;
        Ok(run)
    })
}

/// An operator resolves a difference ([`resolve`]) with its audit row, in one transaction.
pub fn resolve_by_operator(
    conn: &mut PgConnection,
    actor: &Actor,
    difference_id: i64,
    note: &str,
) -> Result<RunRow, ResolveError> {
    storage::database::transaction(conn, |conn| {
        let run = resolve(conn, difference_id, &actor.name, note)?;
        let after = json!({ "note": note, "business_date": run.business_date.to_string() });
        let entry = NewEntry {
            action: "reconciliation.resolve",
            target: format!("difference:{difference_id}"),
            before: None,
            after: Some(after),
        };
        audit::record(conn, actor, entry)?;
        Ok(run)
    })
}

/// The closed days of the last `days_back` that have no run from `channel` yet and that no
/// operator released: the days whose bill the reconciliation worker fetches from the channel.
pub fn days_to_import(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    channel: &str,
    now: DateTime<Utc>,
    days_back: u32,
) -> Result<Vec<NaiveDate>, LedgerError> {
    let today = calendar.date_of(now);
    let mut days = Vec::new();
    for back in (1..=days_back).rev() {
        let Some(date) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else { continue };
        let released = storage::ledger::business_day(conn, date)?.is_some_and(|day| day.released_at.is_some());
        if released || !calendar.is_closed(date, now) || rows::latest_run(conn, channel, date)?.is_some() {
            continue;
        }
        days.push(date);
    }
    Ok(days)
}

/// Imports the bill the worker fetched from `channel` for `date`, unless a run for the day was
/// made meanwhile (by another node or an operator): then `None`.
pub fn import_fetched(
    conn: &mut PgConnection,
    channel: &str,
    date: NaiveDate,
    lines: &[BillLine],
) -> Result<Option<RunRow>, LedgerError> {
    storage::database::transaction(conn, |conn| {
        if rows::latest_run(conn, channel, date)?.is_some() {
            return Ok(None);
        }
        let import = Import { channel, business_date: date, source: "worker", imported_by: "worker" };
        Ok(Some(self::import(conn, &import, lines)?))
    })
}

/// The built-in channel's name, as runs record it.
pub const SANDBOX: &str = "sandbox";

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: BillKind, trade_no: &str, refund_no: &str, amount_fen: i64) -> BillLine {
        BillLine {
            bill_type: kind,
            trade_no: trade_no.into(),
            out_trade_no: format!("O{trade_no}"),
            refund_no: refund_no.into(),
            out_refund_no: String::new(),
            sub_merchant_id: "20261120100000000001".into(),
            amount: Amount::from_fen(amount_fen),
            net_receipt_amount: Amount::from_fen(amount_fen - 10),
            bank_commission_fee: Amount::from_fen(3),
            pay_platform_fee: Amount::from_fen(5),
            liquidator_commission_fee: Amount::from_fen(2),
            status: "SUCCESS".into(),
            time: "2026-11-20 10:00:00".into(),
        }
    }

    /// A generated bill with every kind of difference, and a matched line of each type.
    #[test]
    fn every_kind_of_difference_is_found_once() {
        let ours = vec![
            line(BillKind::Pay, "1", "", 1_000),
            line(BillKind::Refund, "1", "R1", 400),
            line(BillKind::Pay, "2", "", 2_000),
            line(BillKind::Pay, "3", "", 3_000),
            line(BillKind::Pay, "4", "", 4_000),
            line(BillKind::Pay, "5", "", 5_000),
        ];
        let mut wrong_status = line(BillKind::Pay, "3", "", 3_000);
        wrong_status.status = "CLOSED".into();
        let mut wrong_fee = line(BillKind::Pay, "4", "", 4_000);
        wrong_fee.bank_commission_fee = Amount::from_fen(4);
        wrong_fee.net_receipt_amount = Amount::from_fen(3_989);
        let theirs = vec![
            line(BillKind::Pay, "1", "", 1_000),
            line(BillKind::Refund, "1", "R1", 400),
            line(BillKind::Pay, "2", "", 2_001),
            wrong_status,
            wrong_fee,
            line(BillKind::Pay, "9", "", 900),
            line(BillKind::Pay, "1", "", 1_000),
        ];
        let matching = compare(&ours, &theirs);
        assert_eq!(matching.matched, 2);
        let kinds: Vec<(DifferenceKind, &str)> =
            matching.differences.iter().map(|d| (d.kind, d.line().map_or("", |l| l.trade_no.as_str()))).collect();
        assert_eq!(
            kinds,
            [
                (DifferenceKind::AmountMismatch, "2"),
                (DifferenceKind::StatusMismatch, "3"),
                (DifferenceKind::FeeMismatch, "4"),
                (DifferenceKind::MissingOurs, "9"),
                (DifferenceKind::MissingOurs, "1"),
                (DifferenceKind::MissingUpstream, "5"),
            ]
        );
        assert_eq!(compare(&ours, &ours), Matching { matched: ours.len(), differences: vec![] });
        assert_eq!(compare(&[], &[]), Matching::default());
    }
}
