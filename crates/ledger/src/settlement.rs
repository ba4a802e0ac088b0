//! Settlement (SPEC §7): T+N per merchant, pending → available for the paid orders of a business
//! day, one entry per merchant per day.
//!
//! An order is settled when its merchant's day is: the `settlements` row of (merchant, day) says
//! so, and the orders themselves are not written. Safe on several nodes and after a restart: a
//! batch locks its merchants' accounts before it reads anything, so two workers (or a worker and a
//! refund) take turns, and the row is unique per (merchant, day), as is the entry's key.
use domain::{
    Amount, EntryId, MerchantId,
    calendar::BusinessCalendar,
    ledger::{self as rules, AccountKind, EntryKind},
};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use storage::settlements::{self as rows, NewSettlement, SettlementRow};

use crate::{Booked, Booking, Cause, LedgerError, post_many};

/// Merchants settled per transaction: their accounts stay locked (their payments and refunds
/// wait) for one batch, a few milliseconds per merchant.
pub const BATCH_MERCHANTS: usize = 100;

/// When settlement may run.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub calendar: BusinessCalendar,
    /// Settle a day only once it is reconciled or an operator released it (seed 000).
    pub require_reconciliation: bool,
}

/// Settles up to `limit` due (merchant, day) pairs, oldest day first, [`BATCH_MERCHANTS`] to a
/// transaction; then marks the days left with nothing to settle.
pub fn settle_due(
    conn: &mut PgConnection,
    policy: &Policy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SettlementRow>, LedgerError> {
    let today = policy.calendar.date_of(now);
    let due = rows::due(conn, today, policy.require_reconciliation, limit)?;
    let mut by_day: Vec<(NaiveDate, Vec<MerchantId>)> = Vec::new();
    for pair in due {
        match by_day.last_mut() {
            Some((date, merchants)) if *date == pair.business_date => merchants.push(pair.merchant_id),
            _ => by_day.push((pair.business_date, vec![pair.merchant_id])),
        }
    }
    let mut settled = Vec::new();
    for (date, merchant_ids) in by_day {
        for batch in merchant_ids.chunks(BATCH_MERCHANTS) {
            settled.extend(settle_merchants(conn, date, batch)?);
        }
    }
    rows::mark_days_settled(conn, today)?;
    Ok(settled)
}

/// Settles one merchant's day (see [`settle_merchants`]); `None` if it was settled before or had
/// no paid orders.
pub fn settle(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    date: NaiveDate,
) -> Result<Option<SettlementRow>, LedgerError> {
    Ok(settle_merchants(conn, date, &[merchant_id])?.pop())
}

/// Settles these merchants' day in one transaction: for each, the net left on the day's orders
/// after their refunds, capped by what pending holds (refunds of older orders take from pending
/// first). Merchants settled before, or without paid orders that day, are skipped.
pub fn settle_merchants(
    conn: &mut PgConnection,
    date: NaiveDate,
    merchant_ids: &[MerchantId],
) -> Result<Vec<SettlementRow>, LedgerError> {
    storage::database::transaction(conn, |conn| {
        // Locked first: what is read below cannot change (a refund waits) until the commit.
        let pending = pending_balances(conn, merchant_ids)?;
        let settled_before = rows::settled_merchants(conn, date, merchant_ids)?;
        let owed: Vec<_> = rows::owed(conn, date, merchant_ids)?
            .into_iter()
            .filter(|day| !settled_before.contains(&day.merchant_id))
            .collect();
        let mut settlements: Vec<NewSettlement> = owed
            .iter()
            .map(|day| NewSettlement {
                merchant_id: day.merchant_id,
                amount_fen: day
                    .owed_fen
                    .min(pending.get(&day.merchant_id).copied().unwrap_or(Amount::ZERO))
                    .max(Amount::ZERO),
                order_count: day.order_count,
                entry_id: None,
            })
            .collect();
        let entry_ids = post_settlements(conn, date, &settlements)?;
        for settlement in &mut settlements {
            settlement.entry_id = entry_ids.get(&settlement.merchant_id).copied();
        }
        Ok(rows::insert(conn, date, &settlements)?)
    })
}

/// The merchants' pending balances, their pending and available accounts locked.
fn pending_balances(
    conn: &mut PgConnection,
    merchant_ids: &[MerchantId],
) -> Result<HashMap<MerchantId, Amount>, LedgerError> {
    let kinds = EntryKind::Settlement.accounts();
    Ok(storage::ledger::accounts_of_kinds(conn, merchant_ids, kinds, true)?
        .into_iter()
        .filter(|account| account.kind == AccountKind::MerchantPending)
        .map(|account| (account.merchant_id, account.balance_fen))
        .collect())
}

/// One entry per settlement with an amount, all written at once; the entry ids by merchant.
fn post_settlements(
    conn: &mut PgConnection,
    date: NaiveDate,
    settlements: &[NewSettlement],
) -> Result<HashMap<MerchantId, EntryId>, LedgerError> {
    let bookings = settlements
        .iter()
        .filter(|settlement| settlement.amount_fen.is_positive())
        .map(|settlement| {
            let merchant_id = settlement.merchant_id;
            let cause = Cause::new(settlement_key(merchant_id, date), EntryKind::Settlement, merchant_id, date);
            let amount = settlement.amount_fen;
            Booking { cause, build: Box::new(move |_| rules::settlement(amount)) }
        })
        .collect();
    let mut entry_ids = HashMap::new();
    for booked in post_many(conn, bookings)? {
        // A refusal here means pending moved under the lock: a bug. Roll the batch back.
        let entry = match booked? {
            Booked::New(entry) | Booked::Replay(entry) => entry,
        };
        entry_ids.insert(entry.merchant_id, entry.id);
    }
    Ok(entry_ids)
}

fn settlement_key(merchant_id: MerchantId, date: NaiveDate) -> String {
    format!("settlement:{merchant_id}:{date}")
}
