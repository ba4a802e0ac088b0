//! Reconciliation runs and their differences (migration `000005_reconciliation`), and the sandbox
//! channel's record of what it processed, from which it writes its daily bill.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::ledger::{BillKind, DifferenceKind};
use serde_json::Value;

use crate::{
    StorageError,
    ledger::BillRow,
    schema::{reconciliation_differences, reconciliation_runs},
};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = reconciliation_runs)]
pub struct RunRow {
    pub id: i64,
    pub channel: String,
    pub business_date: NaiveDate,
    pub source: String,
    pub imported_by: String,
    pub bill_line_count: i32,
    pub our_line_count: i32,
    pub matched_count: i32,
    pub difference_count: i32,
    pub imported_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reconciliation_runs)]
pub struct NewRun<'a> {
    pub channel: &'a str,
    pub business_date: NaiveDate,
    pub source: &'a str,
    pub imported_by: &'a str,
    pub bill_line_count: i32,
    pub our_line_count: i32,
    pub matched_count: i32,
    pub difference_count: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = reconciliation_differences)]
pub struct DifferenceRow {
    pub id: i64,
    pub run_id: i64,
    pub kind: DifferenceKind,
    pub bill_type: BillKind,
    pub trade_no: String,
    pub refund_no: Option<String>,
    pub ours: Option<Value>,
    pub theirs: Option<Value>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reconciliation_differences)]
pub struct NewDifference {
    pub run_id: i64,
    pub kind: DifferenceKind,
    pub bill_type: BillKind,
    pub trade_no: String,
    pub refund_no: Option<String>,
    pub ours: Option<Value>,
    pub theirs: Option<Value>,
}

pub fn insert_run(conn: &mut PgConnection, run: &NewRun<'_>) -> Result<RunRow, StorageError> {
    Ok(diesel::insert_into(reconciliation_runs::table)
        .values(run)
        .returning(RunRow::as_returning())
        .get_result(conn)?)
}

pub fn insert_differences(conn: &mut PgConnection, differences: &[NewDifference]) -> Result<(), StorageError> {
    // Bounded chunks keep each INSERT well under PostgreSQL's parameter limit.
    for chunk in differences.chunks(1_000) {
        diesel::insert_into(reconciliation_differences::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn find_run(conn: &mut PgConnection, id: i64) -> Result<Option<RunRow>, StorageError> {
    Ok(reconciliation_runs::table.find(id).select(RunRow::as_select()).first(conn).optional()?)
}

/// The newest run of a day (the one that decides whether the day is reconciled).
pub fn latest_run(conn: &mut PgConnection, channel: &str, date: NaiveDate) -> Result<Option<RunRow>, StorageError> {
    Ok(reconciliation_runs::table
        .filter(reconciliation_runs::channel.eq(channel).and(reconciliation_runs::business_date.eq(date)))
        .order(reconciliation_runs::id.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?)
}

/// Runs, newest day first, keyset-paged by id.
/// The channels whose latest run for `date` has no open difference.
pub fn clean_channels(conn: &mut PgConnection, date: NaiveDate) -> Result<Vec<String>, StorageError> {
    use diesel::sql_types::{Date, Text};
    #[derive(QueryableByName)]
    struct Channel {
        #[diesel(sql_type = Text)]
        channel: String,
    }
    let rows: Vec<Channel> = diesel::sql_query(
        "SELECT DISTINCT ON (r.channel) r.channel
           FROM reconciliation_runs r
          WHERE r.business_date = $1
            AND NOT EXISTS (SELECT 1 FROM reconciliation_runs later
                             WHERE later.channel = r.channel AND later.business_date = r.business_date
                               AND later.id > r.id)
            AND NOT EXISTS (SELECT 1 FROM reconciliation_differences d
                             WHERE d.run_id = r.id AND d.resolved_at IS NULL)",
    )
    .bind::<Date, _>(date)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.channel).collect())
}

pub fn list_runs(conn: &mut PgConnection, before_id: Option<i64>, limit: i64) -> Result<Vec<RunRow>, StorageError> {
    let mut query = reconciliation_runs::table.order(reconciliation_runs::id.desc()).into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(reconciliation_runs::id.lt(before_id));
    }
    Ok(query.limit(limit).select(RunRow::as_select()).load(conn)?)
}

pub fn differences_of(conn: &mut PgConnection, run_id: i64) -> Result<Vec<DifferenceRow>, StorageError> {
    Ok(reconciliation_differences::table
        .filter(reconciliation_differences::run_id.eq(run_id))
        .order(reconciliation_differences::id)
        .select(DifferenceRow::as_select())
        .load(conn)?)
}

pub fn find_difference(conn: &mut PgConnection, id: i64) -> Result<Option<DifferenceRow>, StorageError> {
    Ok(reconciliation_differences::table.find(id).select(DifferenceRow::as_select()).first(conn).optional()?)
}

/// Marks a difference resolved; false if it already was (a guarded update).
pub fn resolve(conn: &mut PgConnection, id: i64, by: &str, note: &str) -> Result<bool, StorageError> {
    let changed = diesel::update(
        reconciliation_differences::table.find(id).filter(reconciliation_differences::resolved_at.is_null()),
    )
    .set((
        reconciliation_differences::resolved_by.eq(by),
        reconciliation_differences::resolution_note.eq(note),
        reconciliation_differences::resolved_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn open_differences(conn: &mut PgConnection, run_id: i64) -> Result<i64, StorageError> {
    Ok(reconciliation_differences::table
        .filter(reconciliation_differences::run_id.eq(run_id).and(reconciliation_differences::resolved_at.is_null()))
        .count()
        .get_result(conn)?)
}

/// What the sandbox did in `[from, to)`: each payment it confirmed (once, however often it sent
/// the callback, including payments for orders the platform had already closed) and each refund.
/// The amount is the one the channel sent; the fees follow the order's agreed rates. Rows have the
/// shape of the platform's own bill (`kind` `order_paid` or `refund`, `booked_at` when it happened).
pub fn sandbox_records(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BillRow>, StorageError> {
    use diesel::sql_types::Timestamptz;
    Ok(diesel::sql_query(
        "SELECT * FROM (
             (SELECT DISTINCT ON (c.trade_no) 'order_paid' AS kind, o.trade_no, o.out_trade_no,
                    NULL::text AS refund_no, NULL::text AS out_refund_no, COALESCE(m.sub_merchant_id, '') AS sub_merchant_id,
                    CASE WHEN c.payload->>'total_fee' ~ '^[0-9]{1,15}$' THEN (c.payload->>'total_fee')::bigint
                         ELSE o.total_fee_fen END AS amount_fen,
                    o.net_receipt_fen, o.bank_commission_fen, o.pay_platform_fen, o.liquidator_commission_fen,
                    c.received_at AS booked_at
               FROM channel_callbacks c
               JOIN orders o ON o.trade_no = c.trade_no
               JOIN merchants m ON m.id = o.merchant_id
              WHERE c.channel = 'sandbox' AND c.outcome IN ('applied', 'duplicate', 'late_payment')
                AND c.received_at >= $1 AND c.received_at < $2
              ORDER BY c.trade_no, c.id)
             UNION ALL
             (SELECT 'refund', o.trade_no, o.out_trade_no, r.refund_no, r.out_refund_no, COALESCE(m.sub_merchant_id, ''),
                    r.refund_fee_fen, r.net_receipt_fen, r.bank_commission_fen, r.pay_platform_fen,
                    r.liquidator_commission_fen, r.created_at
               FROM refunds r
               JOIN orders o ON o.id = r.order_id
               JOIN merchants m ON m.id = o.merchant_id
              WHERE r.state = 'succeeded' AND r.created_at >= $1 AND r.created_at < $2)
         ) AS records
         ORDER BY booked_at, trade_no",
    )
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)?)
}
