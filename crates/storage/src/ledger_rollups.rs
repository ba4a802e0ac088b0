//! The rollups per merchant and day: `ledger_merchant_days` (the ledger's figures per business
//! day) and `order_days` (orders placed per day in China); and `ledger_platform_days`, the
//! platform's final days summed over merchants by [`summarize_final_days`].
//!
//! Bookings do not write the ledger's rollups: their statement trigger notes each new entry in
//! `ledger_unfolded_entries`, and [`fold`] (a job, about every second) moves what is noted into
//! the merchant-day rows, and the same figures into their merchant-week rows
//! (`ledger_merchant_weeks`, which reports over long ranges read for their whole weeks). Readers read `ledger_merchant_days_now`, the folded rows together with
//! those of the entries not folded yet, so the figures are exact whether or not the job has run.
//! Orders are counted per day by their own statement trigger. Derived data: [`rebuild`] writes
//! them again from the ledger and the orders (the view `ledger_merchant_days_from_ledger` and
//! `order_days_from_orders`), and [`differences`] compares them.
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt},
};

use crate::StorageError;

/// The ledger rollup's columns, in the table's (and its view's) order.
const LEDGER_DAY_COLUMNS: &str = "merchant_id, business_date, paid_orders, refunds, settlements, payouts_succeeded,
    paid_fen, refunded_fen, bank_commission_fen, pay_platform_fen, commission_debit_fen, commission_credit_fen,
    pending_debit_fen, pending_credit_fen, pending_postings, available_debit_fen, available_credit_fen,
    available_postings, in_transit_debit_fen, in_transit_credit_fen, in_transit_postings, paid_out_fen";

/// The rollup's figures: its columns after the merchant and the day.
fn figure_columns() -> impl Iterator<Item = &'static str> {
    LEDGER_DAY_COLUMNS.split(',').map(str::trim).skip(2)
}

/// The week rollup's columns: the day's, with the week's Monday for the day.
fn week_columns() -> String {
    LEDGER_DAY_COLUMNS.replacen("business_date", "week_start", 1)
}

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Merchant-days of the ledger.
    pub ledger_rows: usize,
    /// Merchant-weeks, summed from those days.
    pub week_rows: usize,
    /// Merchant-days with orders placed.
    pub order_rows: usize,
}

/// Writes the rollups again, in one transaction that keeps new bookings, orders and folds
/// waiting meanwhile (the ledger's tables locked as a booking takes them, then the noted entries),
/// so nothing is counted twice or missed.
pub fn rebuild(conn: &mut PgConnection) -> Result<Rebuilt, StorageError> {
    crate::database::transaction(conn, |conn| {
        diesel::sql_query("LOCK TABLE ledger_entries, ledger_postings, orders IN SHARE MODE").execute(conn)?;
        diesel::sql_query("LOCK TABLE ledger_unfolded_entries IN EXCLUSIVE MODE").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_unfolded_entries").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_merchant_days").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_merchant_weeks").execute(conn)?;
        diesel::sql_query("DELETE FROM order_days").execute(conn)?;
        // The summaries of final days and the statements' copies are made again by the job.
        diesel::sql_query("DELETE FROM ledger_platform_days").execute(conn)?;
        crate::ledger_statement_copies::remove_all(conn)?;
        let ledger_rows = diesel::sql_query(format!(
            "INSERT INTO ledger_merchant_days ({LEDGER_DAY_COLUMNS}) SELECT * FROM ledger_merchant_days_from_ledger"
        ))
        .execute(conn)?;
        let week_rows = diesel::sql_query(format!(
            "INSERT INTO ledger_merchant_weeks ({}) SELECT * FROM ledger_merchant_weeks_from_days",
            week_columns()
        ))
        .execute(conn)?;
        let order_rows = diesel::sql_query(
            "INSERT INTO order_days (merchant_id, placed_on, placed) SELECT * FROM order_days_from_orders",
        )
        .execute(conn)?;
        Ok(Rebuilt { ledger_rows, week_rows, order_rows })
    })
}

#[derive(QueryableByName)]
struct Noted {
    #[diesel(sql_type = BigInt)]
    entry_id: i64,
}

/// Folds up to `limit` noted entries into the merchant-day rows, in one transaction: they leave
/// the notes as their figures join the rows, so a reader counts each once. Safe beside other
/// folds (each takes notes the others have not locked). Returns how many entries it folded.
pub fn fold(conn: &mut PgConnection, limit: i64) -> Result<usize, StorageError> {
    crate::database::transaction(conn, |conn| {
        let entry_ids: Vec<i64> = diesel::sql_query(
            "DELETE FROM ledger_unfolded_entries
              WHERE ctid = ANY (ARRAY(SELECT ctid FROM ledger_unfolded_entries LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING entry_id",
        )
        .bind::<BigInt, _>(limit)
        .load::<Noted>(conn)?
        .into_iter()
        .map(|noted| noted.entry_id)
        .collect();
        if entry_ids.is_empty() {
            return Ok(0);
        }
        // A summary of a day folded into is no longer whole. The summing job holds the same lock
        // on the day it sums, so it never sums rows a fold is changing; days in order, then rows.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(1502, day - DATE '2000-01-01')
               FROM (SELECT DISTINCT business_date AS day FROM ledger_entries WHERE id = ANY ($1) ORDER BY 1) days",
        )
        .bind::<Array<BigInt>, _>(&entry_ids)
        .execute(conn)?;
        diesel::sql_query(
            "DELETE FROM ledger_platform_days
              WHERE business_date IN (SELECT business_date FROM ledger_entries WHERE id = ANY ($1))",
        )
        .bind::<Array<BigInt>, _>(&entry_ids)
        .execute(conn)?;
        // Likewise the statement lines copied for a merchant-day.
        crate::ledger_statement_copies::remove_days_of(conn, &entry_ids)?;
        // The entries' figures, summed once, added to their merchant-days and to their weeks (so a
        // week stays the sum of its days).
        let added: Vec<String> =
            figure_columns().map(|column| format!("{column} = t.{column} + EXCLUDED.{column}")).collect();
        let summed: Vec<String> = figure_columns().map(|column| format!("sum({column})::bigint")).collect();
        diesel::sql_query(format!(
            "WITH figures AS MATERIALIZED (SELECT * FROM ledger_merchant_days_of($1)),
                  days AS (INSERT INTO ledger_merchant_days AS t ({LEDGER_DAY_COLUMNS})
                           SELECT * FROM figures ORDER BY merchant_id, business_date
                           ON CONFLICT (merchant_id, business_date) DO UPDATE SET {added})
             INSERT INTO ledger_merchant_weeks AS t ({week_columns})
             SELECT merchant_id, date_trunc('week', business_date::timestamp)::date, {summed}
               FROM figures GROUP BY 1, 2 ORDER BY 1, 2
             ON CONFLICT (merchant_id, week_start) DO UPDATE SET {added}",
            added = added.join(", "),
            week_columns = week_columns(),
            summed = summed.join(", "),
        ))
        .bind::<Array<BigInt>, _>(&entry_ids)
        .execute(conn)?;
        Ok(entry_ids.len())
    })
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Difference {
    /// Which rollup and side, and the row as that side has it.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub row: String,
}

/// The rollup rows (folded and not) that differ from what the ledger and the orders say
/// (missing, extra or with other figures), summaries of days that differ from their merchants'
/// rows, and copied statement lines that differ from the ledger's, at most `limit`; none when
/// the rollups are right.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, StorageError> {
    let mut found: Vec<Difference> = diesel::sql_query(format!(
        "WITH kept AS (SELECT merchant_id, business_date, {sums} FROM ledger_merchant_days_now GROUP BY 1, 2),
              derived AS (TABLE ledger_merchant_days_from_ledger),
              orders_kept AS (SELECT merchant_id, placed_on, placed FROM order_days),
              orders_derived AS (TABLE order_days_from_orders)
         (SELECT 'ledger, derived: ' || row(d.*)::text AS row FROM (TABLE derived EXCEPT TABLE kept) d)
         UNION ALL (SELECT 'ledger, rollup: ' || row(k.*)::text FROM (TABLE kept EXCEPT TABLE derived) k)
         UNION ALL (SELECT 'orders, derived: ' || row(d.*)::text FROM (TABLE orders_derived EXCEPT TABLE orders_kept) d)
         UNION ALL (SELECT 'orders, rollup: ' || row(k.*)::text FROM (TABLE orders_kept EXCEPT TABLE orders_derived) k)
         UNION ALL (SELECT 'days, summary: ' || row(k.*)::text FROM (
                        SELECT business_date, merchants, paid_orders, refunds, settlements, payouts_succeeded, paid_fen,
                               refunded_fen, bank_commission_fen, pay_platform_fen, commission_debit_fen,
                               commission_credit_fen, paid_out_fen
                          FROM ledger_platform_days
                        EXCEPT TABLE ledger_platform_days_from_merchants) k)
         UNION ALL (SELECT 'weeks, from days: ' || row(d.*)::text
                      FROM (TABLE ledger_merchant_weeks_from_days EXCEPT TABLE ledger_merchant_weeks) d)
         UNION ALL (SELECT 'weeks, rollup: ' || row(k.*)::text
                      FROM (TABLE ledger_merchant_weeks EXCEPT TABLE ledger_merchant_weeks_from_days) k)
         LIMIT $1",
        sums =
            figure_columns().map(|column| format!("sum({column})::bigint AS {column}")).collect::<Vec<_>>().join(", ")
    ))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?;
    let left = limit - found.len() as i64;
    if left > 0 {
        found.extend(crate::ledger_statement_copies::differences(conn, left)?);
    }
    Ok(found)
}

/// The platform's figures per business day within `$1..=$2`, as SQL: the summaries of final
/// days, and the merchants' rows (folded or not) summed for the others, walked day by day along
/// their index. A summarized day with entries not folded yet is one of the others. Columns as
/// `ledger_platform_days_from_merchants`.
pub(crate) const PLATFORM_DAYS: &str = "
    (WITH unfolded_days AS MATERIALIZED (
            SELECT DISTINCT e.business_date FROM ledger_unfolded_entries u JOIN ledger_entries e ON e.id = u.entry_id),
          summaries AS MATERIALIZED (
            SELECT business_date, merchants, paid_orders, refunds, settlements, payouts_succeeded, paid_fen,
                   refunded_fen, bank_commission_fen, pay_platform_fen, commission_debit_fen, commission_credit_fen,
                   paid_out_fen
              FROM ledger_platform_days
             WHERE business_date BETWEEN $1 AND $2
               AND business_date NOT IN (SELECT business_date FROM unfolded_days))
     SELECT * FROM summaries
     UNION ALL
     SELECT open_days.day, f.*
       FROM (SELECT day::date AS day FROM generate_series($1::date, $2::date, interval '1 day') day
              WHERE day::date NOT IN (SELECT business_date FROM summaries)) open_days
      -- One day at a time along the day index (an aggregate in a lateral is not flattened into a
      -- scan of every merchant-day).
      CROSS JOIN LATERAL (
            SELECT count(DISTINCT d.merchant_id) AS merchants, sum(d.paid_orders)::bigint, sum(d.refunds)::bigint,
                   sum(d.settlements)::bigint, sum(d.payouts_succeeded)::bigint, sum(d.paid_fen)::bigint,
                   sum(d.refunded_fen)::bigint, sum(d.bank_commission_fen)::bigint, sum(d.pay_platform_fen)::bigint,
                   sum(d.commission_debit_fen)::bigint, sum(d.commission_credit_fen)::bigint,
                   sum(d.paid_out_fen)::bigint
              FROM ledger_merchant_days_now d
             WHERE d.business_date = open_days.day) f
      WHERE f.merchants > 0)";

/// A merchant's day (`d`) with paid orders and no settlement yet, as SQL. A day settled with an
/// amount has its settlement entry counted; only the others (none, or a settlement of nothing)
/// are looked up.
pub(crate) const UNSETTLED: &str = "d.paid_orders > 0 AND d.settlements = 0
    AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.merchant_id = d.merchant_id AND s.business_date = d.business_date)";

/// Sums the platform's final days not summarized yet, before `before` (days from then on are not
/// final: bookings still come), at most `limit` of them, oldest first; each in its own
/// transaction. A day is final once every merchant paid on it is settled for it. Returns the days
/// summarized.
pub fn summarize_final_days(
    conn: &mut PgConnection,
    before: chrono::NaiveDate,
    limit: i64,
) -> Result<Vec<chrono::NaiveDate>, StorageError> {
    use diesel::sql_types::{BigInt, Date};
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = Date)]
        business_date: chrono::NaiveDate,
    }
    // Candidates: final days with rows and no summary. A day with an unsettled merchant is
    // skipped (it stays read from the merchants' rows), so it does not hold back later days.
    let candidates: Vec<Day> = diesel::sql_query(format!(
        "SELECT d.business_date FROM ledger_merchant_days d
          WHERE d.business_date < $1
            AND NOT EXISTS (SELECT 1 FROM ledger_platform_days s WHERE s.business_date = d.business_date)
          GROUP BY d.business_date
         HAVING bool_and(NOT ({UNSETTLED}))
          ORDER BY 1 LIMIT $2"
    ))
    .bind::<Date, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    let mut summarized = Vec::new();
    for Day { business_date } in candidates {
        let done = crate::database::transaction(conn, |conn| -> Result<usize, StorageError> {
            // A fold into this day finishes first; the next waits until this commits.
            diesel::sql_query("SELECT pg_advisory_xact_lock(1502, $1 - DATE '2000-01-01')")
                .bind::<Date, _>(business_date)
                .execute(conn)?;
            Ok(diesel::sql_query(format!(
                "INSERT INTO ledger_platform_days (business_date, merchants, paid_orders, refunds, settlements,
                        payouts_succeeded, paid_fen, refunded_fen, bank_commission_fen, pay_platform_fen,
                        commission_debit_fen, commission_credit_fen, paid_out_fen)
                 SELECT v.* FROM ledger_platform_days_from_merchants v
                  WHERE v.business_date = $1
                    AND NOT EXISTS (SELECT 1 FROM ledger_merchant_days d WHERE d.business_date = $1 AND {UNSETTLED})
                 ON CONFLICT (business_date) DO NOTHING"
            ))
            .bind::<Date, _>(business_date)
            .execute(conn)?)
        })?;
        if done > 0 {
            summarized.push(business_date);
        }
    }
    Ok(summarized)
}
