//! Copies of merchants' statement lines for their settled days (`ledger_statement_days`, a row per
//! merchant-day holding its lines as arrays), which a statement's export reads instead of each
//! movement's posting, entry and order scattered among every merchant's bookings. A merchant-day is copied once it is over and
//! settled (or has nothing to settle); should anything still be booked for it, the rollups' fold
//! removes the copy (see [`crate::ledger_rollups::fold`]) and the day is read from the ledger until
//! it is copied again. Derived data: the view `ledger_statement_lines_from_ledger` is what a copy
//! holds, and [`differences`] compares them.
use chrono::NaiveDate;
use diesel::{
    prelude::*,
    sql_types::{BigInt, Date},
};

use crate::{StorageError, ledger_rollups::Difference};

/// A merchant's day (`d`, a folded rollup row) with paid orders not settled yet, as SQL.
const UNSETTLED: &str = crate::ledger_rollups::UNSETTLED;

/// A line's columns in `ledger_statement_lines_from_ledger`, each kept as an array per
/// merchant-day, in this order.
const LINE_COLUMNS: [&str; 13] = [
    "entry_id",
    "posting_id",
    "account_id",
    "amount_fen",
    "entry_kind",
    "booked_at",
    "memo",
    "reverses_entry_id",
    "order_id",
    "trade_no",
    "refund_id",
    "refund_no",
    "payout_id",
];

/// The arrays of `ledger_statement_days`, in [`LINE_COLUMNS`]' order.
const ARRAY_COLUMNS: &str = "entry_ids, posting_ids, account_ids, amounts_fen, entry_kinds, booked_ats, memos,
    reverses_entry_ids, order_ids, trade_nos, refund_ids, refund_nos, payout_ids";

/// Copies the statement lines of the merchant-days before `before` that are settled (or had
/// nothing to settle) and not copied yet, the oldest business days first, at most `days` of them;
/// each day, all its merchants, in one transaction. Returns the merchant-days copied.
pub fn copy_settled_days(conn: &mut PgConnection, before: NaiveDate, days: i64) -> Result<usize, StorageError> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = Date)]
        business_date: NaiveDate,
    }
    let candidates: Vec<Day> = diesel::sql_query(format!(
        "SELECT DISTINCT d.business_date FROM ledger_merchant_days d
          WHERE d.business_date < $1 AND NOT ({UNSETTLED})
            AND NOT EXISTS (SELECT 1 FROM ledger_statement_days c
                             WHERE c.merchant_id = d.merchant_id AND c.business_date = d.business_date)
          ORDER BY 1 LIMIT $2"
    ))
    .bind::<Date, _>(before)
    .bind::<BigInt, _>(days)
    .load(conn)?;
    let mut copied = 0;
    for Day { business_date } in candidates {
        copied += crate::database::transaction(conn, |conn| -> Result<usize, StorageError> {
            // A fold into this day finishes first; the next waits until this commits (and then
            // removes the copy of a merchant-day it adds to).
            diesel::sql_query("SELECT pg_advisory_xact_lock(1502, $1 - DATE '2000-01-01')")
                .bind::<Date, _>(business_date)
                .execute(conn)?;
            // Each merchant-day's lines as arrays in the statement's order, an empty day with
            // empty arrays (its copy still says there is nothing to read from the ledger).
            let ordered = |column: &str| {
                format!(
                    "COALESCE(array_agg(l.{column} ORDER BY l.entry_id, l.posting_id) FILTER (WHERE l.posting_id IS NOT NULL), '{{}}')"
                )
            };
            let arrays: Vec<String> = LINE_COLUMNS.iter().map(|column| ordered(column)).collect();
            let merchants = diesel::sql_query(format!(
                "INSERT INTO ledger_statement_days (merchant_id, business_date, {ARRAY_COLUMNS})
                 SELECT d.merchant_id, d.business_date, {}
                   FROM ledger_merchant_days d
                   LEFT JOIN ledger_statement_lines_from_ledger l
                     ON l.merchant_id = d.merchant_id AND l.business_date = d.business_date
                  WHERE d.business_date = $1 AND NOT ({UNSETTLED})
                    AND NOT EXISTS (SELECT 1 FROM ledger_statement_days c
                                     WHERE c.merchant_id = d.merchant_id AND c.business_date = d.business_date)
                  GROUP BY d.merchant_id, d.business_date",
                arrays.join(", ")
            ))
            .bind::<Date, _>(business_date)
            .execute(conn)?;
            Ok(merchants)
        })?;
    }
    Ok(copied)
}

/// Removes the copies of the merchant-days of these entries (something was booked for them
/// after they were copied). Inside the fold's transaction, which holds their days' locks.
pub(crate) fn remove_days_of(conn: &mut PgConnection, entry_ids: &[i64]) -> Result<usize, StorageError> {
    Ok(diesel::sql_query(
        "DELETE FROM ledger_statement_days
          WHERE (merchant_id, business_date) IN (SELECT merchant_id, business_date FROM ledger_entries
                                                  WHERE id = ANY ($1))",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(entry_ids)
    .execute(conn)?)
}

/// Removes every copy (a rebuild; the job copies the days again).
pub(crate) fn remove_all(conn: &mut PgConnection) -> Result<usize, StorageError> {
    Ok(diesel::sql_query("DELETE FROM ledger_statement_days").execute(conn)?)
}

/// The copied lines that differ from what the ledger says of their days (missing, extra or
/// changed), at most `limit`; none when the copies are right.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, StorageError> {
    Ok(diesel::sql_query(
        "WITH kept AS (TABLE ledger_statement_lines_copied),
              derived AS (SELECT l.* FROM ledger_statement_days c
                            JOIN ledger_statement_lines_from_ledger l
                              ON l.merchant_id = c.merchant_id AND l.business_date = c.business_date)
         (SELECT 'statement, derived: ' || row(d.*)::text AS row FROM (TABLE derived EXCEPT TABLE kept) d)
         UNION ALL (SELECT 'statement, copy: ' || row(k.*)::text FROM (TABLE kept EXCEPT TABLE derived) k)
         LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}
