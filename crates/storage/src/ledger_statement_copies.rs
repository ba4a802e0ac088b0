//! Copies of merchants' statement lines for their settled days (`ledger_statement_lines`), which a
//! statement's export reads side by side instead of each movement's posting, entry and order
//! scattered among every merchant's bookings. A merchant-day is copied once it is over and
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
            let merchants = diesel::sql_query(format!(
                "INSERT INTO ledger_statement_days (merchant_id, business_date)
                 SELECT d.merchant_id, d.business_date FROM ledger_merchant_days d
                  WHERE d.business_date = $1 AND NOT ({UNSETTLED})
                 ON CONFLICT DO NOTHING"
            ))
            .bind::<Date, _>(business_date)
            .execute(conn)?;
            // The lines of the merchant-days just noted (stamped with this transaction's time), in
            // the statement's order, so each merchant's lines lie together.
            diesel::sql_query(
                "INSERT INTO ledger_statement_lines
                 SELECT l.* FROM ledger_statement_days c
                   JOIN ledger_statement_lines_from_ledger l
                     ON l.merchant_id = c.merchant_id AND l.business_date = c.business_date
                  WHERE c.business_date = $1 AND c.copied_at = now()
                  ORDER BY l.merchant_id, l.entry_id, l.posting_id",
            )
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
        "WITH kept AS (SELECT * FROM ledger_statement_lines),
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
