//! Settlement (SPEC §7): T+N per merchant, pending → available for the paid orders of a business
//! day, one entry per merchant per day. Safe on several nodes and after a restart: the orders are
//! locked, the settlement row is unique per (merchant, day) and the entry's key is too.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use domain::{
    Amount,
    calendar::BusinessCalendar,
    ledger::{self as rules, AccountKind, EntryKind},
};
use storage::ledger::{self as rows, SettlementRow};

use crate::{Cause, LedgerError, post};

/// When settlement may run.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub calendar: BusinessCalendar,
    /// Settle a day only once it is reconciled or an operator released it (seed 000).
    pub require_reconciliation: bool,
}

/// Settles every due (merchant, day), each in its own transaction, at most `limit` of them.
pub fn settle_due(
    conn: &mut PgConnection,
    policy: &Policy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SettlementRow>, LedgerError> {
    let today = policy.calendar.date_of(now);
    let due = rows::due_settlements(conn, today, policy.require_reconciliation, limit)?;
    let mut settled = Vec::with_capacity(due.len());
    for day in due {
        if let Some(row) = settle(conn, day.merchant_id, day.business_date)? {
            settled.push(row);
        }
    }
    Ok(settled)
}

/// Settles one merchant's day: the net left on its orders, capped by what pending holds (refunds of
/// older orders take from pending first). `None` if nothing was left to settle.
pub fn settle(
    conn: &mut PgConnection,
    merchant_id: i64,
    date: NaiveDate,
) -> Result<Option<SettlementRow>, LedgerError> {
    conn.transaction(|conn| {
        let orders = rows::lock_unsettled_orders(conn, merchant_id, date)?;
        if orders.is_empty() {
            return Ok(None);
        }
        if let Some(existing) = rows::find_settlement(conn, merchant_id, date)? {
            // Orders of a settled day cannot appear later (T+N ≥ 1); if they do, an operator must look.
            tracing::error!(merchant_id, %date, settlement = existing.id, "unsettled orders on a settled day");
            return Ok(None);
        }
        let owed_fen = orders.iter().try_fold(0_i64, |sum, order| sum.checked_add(order.net_fen.max(0)));
        let owed_fen = owed_fen.ok_or(domain::ledger::EntryError::Overflow)?;
        let pending_fen = pending_balance(conn, merchant_id)?;
        let amount_fen = owed_fen.min(pending_fen);
        let entry_id = if amount_fen > 0 {
            let cause =
                Cause::new(format!("settlement:{merchant_id}:{date}"), EntryKind::Settlement, merchant_id, date);
            let postings = rules::settlement(Amount::from_fen(amount_fen))?;
            Some(post(conn, &cause, |_| Ok(postings))?.entry().id)
        } else {
            None
        };
        let order_count = i32::try_from(orders.len()).unwrap_or(i32::MAX);
        let Some(row) = rows::insert_settlement(conn, merchant_id, date, amount_fen.max(0), order_count, entry_id)?
        else {
            // The orders are locked and no settlement existed: only a bug gets here. Roll back.
            return Err(LedgerError::KeyReused(format!("settlement:{merchant_id}:{date}")));
        };
        let ids: Vec<i64> = orders.iter().map(|order| order.id).collect();
        rows::mark_orders_settled(conn, &ids, row.id)?;
        Ok(Some(row))
    })
}

fn pending_balance(conn: &mut PgConnection, merchant_id: i64) -> Result<i64, LedgerError> {
    let accounts = rows::lock_accounts(conn, merchant_id)?;
    Ok(accounts
        .iter()
        .find(|account| account.kind == AccountKind::MerchantPending.as_str())
        .map_or(0, |account| account.balance_fen))
}
