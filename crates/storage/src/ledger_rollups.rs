//! The rollups per merchant and day: `ledger_merchant_days` (the ledger's figures per business
//! day) and `order_days` (orders placed per day in China), kept current by the database's
//! statement triggers as postings and orders are written. Derived data: [`rebuild`] writes them
//! again from the ledger and the orders (the views `ledger_merchant_days_from_ledger` and
//! `order_days_from_orders`, which hold the triggers' rules), and [`differences`] compares them.
use diesel::prelude::*;

use crate::StorageError;

/// The ledger rollup's columns, in the table's (and its view's) order.
const LEDGER_DAY_COLUMNS: &str = "merchant_id, business_date, paid_orders, refunds, settlements, payouts_succeeded,
    paid_fen, refunded_fen, bank_commission_fen, pay_platform_fen, commission_debit_fen, commission_credit_fen,
    pending_debit_fen, pending_credit_fen, pending_postings, available_debit_fen, available_credit_fen,
    available_postings, in_transit_debit_fen, in_transit_credit_fen, in_transit_postings, paid_out_fen";

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Merchant-days of the ledger.
    pub ledger_rows: usize,
    /// Merchant-days with orders placed.
    pub order_rows: usize,
}

/// Writes the rollups again, in one transaction that keeps new bookings and orders waiting
/// meanwhile (a share lock on their tables), so nothing is counted twice or missed.
pub fn rebuild(conn: &mut PgConnection) -> Result<Rebuilt, StorageError> {
    crate::database::transaction(conn, |conn| {
        diesel::sql_query("LOCK TABLE ledger_entries, ledger_postings, orders IN SHARE MODE").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_merchant_days").execute(conn)?;
        diesel::sql_query("DELETE FROM order_days").execute(conn)?;
        let ledger_rows = diesel::sql_query(format!(
            "INSERT INTO ledger_merchant_days ({LEDGER_DAY_COLUMNS}) SELECT * FROM ledger_merchant_days_from_ledger"
        ))
        .execute(conn)?;
        let order_rows = diesel::sql_query(
            "INSERT INTO order_days (merchant_id, placed_on, placed) SELECT * FROM order_days_from_orders",
        )
        .execute(conn)?;
        Ok(Rebuilt { ledger_rows, order_rows })
    })
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Difference {
    /// Which rollup and side, and the row as that side has it.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub row: String,
}

/// The rollup rows that differ from what the ledger and the orders say (missing, extra or with
/// other figures), at most `limit`; none when the rollups are right.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, StorageError> {
    Ok(diesel::sql_query(format!(
        "WITH kept AS (SELECT {LEDGER_DAY_COLUMNS} FROM ledger_merchant_days),
              derived AS (TABLE ledger_merchant_days_from_ledger),
              orders_kept AS (SELECT merchant_id, placed_on, placed FROM order_days),
              orders_derived AS (TABLE order_days_from_orders)
         (SELECT 'ledger, derived: ' || row(d.*)::text AS row FROM (TABLE derived EXCEPT TABLE kept) d)
         UNION ALL (SELECT 'ledger, rollup: ' || row(k.*)::text FROM (TABLE kept EXCEPT TABLE derived) k)
         UNION ALL (SELECT 'orders, derived: ' || row(d.*)::text FROM (TABLE orders_derived EXCEPT TABLE orders_kept) d)
         UNION ALL (SELECT 'orders, rollup: ' || row(k.*)::text FROM (TABLE orders_kept EXCEPT TABLE orders_derived) k)
         LIMIT $1"
    ))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?)
}
