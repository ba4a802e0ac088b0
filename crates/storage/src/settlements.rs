//! Settlements (SPEC §7): one row per merchant per business day. An order is settled when the row
//! of its `(merchant_id, paid_business_date)` exists; the orders themselves are never touched.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Bool, Date, Integer},
};
use domain::{Amount, EntryId, MerchantId};

use crate::{StorageError, schema::settlements};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize)]
#[diesel(table_name = settlements)]
pub struct SettlementRow {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub business_date: NaiveDate,
    pub amount_fen: Amount,
    pub order_count: i32,
    pub entry_id: Option<EntryId>,
    pub settled_at: DateTime<Utc>,
}

/// A merchant's business day with paid orders and no settlement yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct DueSettlement {
    #[diesel(sql_type = BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
}

/// The days before `today` with paid orders and not yet wholly settled: a loose index scan, one
/// probe per distinct day, so it costs the number of days, not of orders.
const OPEN_DAYS: &str = "
    WITH RECURSIVE paid_days (business_date) AS (
        (SELECT paid_business_date FROM orders
          WHERE paid_business_date IS NOT NULL AND paid_business_date < $1
          ORDER BY paid_business_date LIMIT 1)
        UNION ALL
        SELECT (SELECT o.paid_business_date FROM orders o
                 WHERE o.paid_business_date IS NOT NULL
                   AND o.paid_business_date > d.business_date AND o.paid_business_date < $1
                 ORDER BY o.paid_business_date LIMIT 1)
          FROM paid_days d WHERE d.business_date IS NOT NULL),
    open_days AS (
        SELECT d.business_date, b.reconciled_at, b.released_at
          FROM paid_days d
          LEFT JOIN business_days b ON b.business_date = d.business_date
         WHERE d.business_date IS NOT NULL AND b.settled_at IS NULL)";

/// The merchant has paid orders on the day and no settlement of it. The `LIMIT 1` keeps the
/// planner from turning the probe into a join over every order of the day: one index probe each.
const UNSETTLED: &str = "
    EXISTS (SELECT 1 FROM orders o
             WHERE o.paid_business_date IS NOT NULL
               AND o.paid_business_date = d.business_date AND o.merchant_id = m.id
             LIMIT 1)
    AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.merchant_id = m.id AND s.business_date = d.business_date)";

/// The (merchant, day) pairs due under T+N at business date `today`: days at least the merchant's
/// `settlement_days` old, and cleared (reconciled or released) unless `require_cleared` is off.
/// Oldest day first.
pub fn due(
    conn: &mut PgConnection,
    today: NaiveDate,
    require_cleared: bool,
    limit: i64,
) -> Result<Vec<DueSettlement>, StorageError> {
    let sql = format!(
        "{OPEN_DAYS}
         SELECT m.id AS merchant_id, d.business_date
           FROM open_days d
           JOIN merchants m ON d.business_date <= $1 - m.settlement_days::integer
          WHERE (NOT $2 OR d.reconciled_at IS NOT NULL OR d.released_at IS NOT NULL)
            AND {UNSETTLED}
          ORDER BY d.business_date, m.id
          LIMIT $3"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Date, _>(today)
        .bind::<Bool, _>(require_cleared)
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// The advisory lock class (with the day, as days since 2000-01-01, for the key) that a payment
/// booked on a day holds shared until it commits (the ledger's settled-day trigger, migration
/// `000009_booking_costs`), and that marking the day settled holds exclusive.
pub const SETTLED_DAY_LOCK: i32 = 5009;

#[derive(QueryableByName)]
struct Day {
    #[diesel(sql_type = Date)]
    business_date: NaiveDate,
}

/// Marks the closed days whose every merchant is settled, so [`due`] stops looking at them (and
/// the ledger refuses any later payment on them). Returns how many were marked.
///
/// A payment still in flight on such a day is not visible to the first look, so the marking takes
/// the day's lock exclusive — waiting for those payments to commit, and keeping new ones out until
/// it commits — and looks again before it marks.
pub fn mark_days_settled(conn: &mut PgConnection, today: NaiveDate) -> Result<usize, StorageError> {
    conn.transaction(|conn| {
        let candidates: Vec<NaiveDate> = diesel::sql_query(format!(
            "{OPEN_DAYS}
             SELECT d.business_date FROM open_days d
              WHERE NOT EXISTS (SELECT 1 FROM merchants m WHERE {UNSETTLED} LIMIT 1)
              ORDER BY d.business_date"
        ))
        .bind::<Date, _>(today)
        .load::<Day>(conn)?
        .into_iter()
        .map(|day| day.business_date)
        .collect();
        if candidates.is_empty() {
            return Ok(0);
        }
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock($1, d - DATE '2000-01-01') FROM unnest($2::date[]) AS d ORDER BY d",
        )
        .bind::<Integer, _>(SETTLED_DAY_LOCK)
        .bind::<Array<Date>, _>(&candidates)
        .execute(conn)?;
        Ok(diesel::sql_query(format!(
            "INSERT INTO business_days (business_date, settled_at)
             SELECT d.business_date, now() FROM unnest($1::date[]) AS d (business_date)
              WHERE NOT EXISTS (SELECT 1 FROM merchants m WHERE {UNSETTLED} LIMIT 1)
             ON CONFLICT (business_date) DO UPDATE SET settled_at = excluded.settled_at"
        ))
        .bind::<Array<Date>, _>(&candidates)
        .execute(conn)?)
    })
}

/// Which of these merchants already have the day's settlement.
pub fn settled_merchants(
    conn: &mut PgConnection,
    date: NaiveDate,
    merchant_ids: &[MerchantId],
) -> Result<Vec<MerchantId>, StorageError> {
    Ok(settlements::table
        .filter(settlements::business_date.eq(date).and(settlements::merchant_id.eq_any(merchant_ids)))
        .select(settlements::merchant_id)
        .load(conn)?)
}

/// What a merchant's day owes it: its paid orders' nets less what their refunds took back (never
/// below zero per order).
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DayOwed {
    #[diesel(sql_type = BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = Integer)]
    pub order_count: i32,
    #[diesel(sql_type = BigInt)]
    pub owed_fen: Amount,
}

/// The day's owed amounts of these merchants, summed in one pass over their orders (from the
/// index alone; an order's refunds are looked up only if it has any).
pub fn owed(
    conn: &mut PgConnection,
    date: NaiveDate,
    merchant_ids: &[MerchantId],
) -> Result<Vec<DayOwed>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT o.merchant_id, count(*)::integer AS order_count,
                COALESCE(sum(GREATEST(o.net_receipt_fen - CASE WHEN o.refunded_fen = 0 THEN 0 ELSE
                    (SELECT COALESCE(sum(r.net_receipt_fen), 0) FROM refunds r WHERE r.order_id = o.id) END, 0)), 0)::bigint
                    AS owed_fen
           FROM orders o
          WHERE o.paid_business_date IS NOT NULL AND o.paid_business_date = $1 AND o.merchant_id = ANY($2)
          GROUP BY o.merchant_id
          ORDER BY o.merchant_id",
    )
    .bind::<Date, _>(date)
    .bind::<Array<BigInt>, _>(merchant_ids)
    .load(conn)?)
}

/// A settlement to write.
#[derive(Debug, Clone, Copy)]
pub struct NewSettlement {
    pub merchant_id: MerchantId,
    pub amount_fen: Amount,
    pub order_count: i32,
    pub entry_id: Option<EntryId>,
}

/// Writes the day's settlements in one statement. The caller holds the merchants' accounts and has
/// checked none exists, so a conflict is a bug and fails the transaction (unique constraint).
pub fn insert(
    conn: &mut PgConnection,
    date: NaiveDate,
    rows: &[NewSettlement],
) -> Result<Vec<SettlementRow>, StorageError> {
    let values: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                settlements::merchant_id.eq(row.merchant_id),
                settlements::business_date.eq(date),
                settlements::amount_fen.eq(row.amount_fen),
                settlements::order_count.eq(row.order_count),
                settlements::entry_id.eq(row.entry_id),
            )
        })
        .collect();
    Ok(diesel::insert_into(settlements::table)
        .values(&values)
        .returning(SettlementRow::as_returning())
        .get_results(conn)?)
}
