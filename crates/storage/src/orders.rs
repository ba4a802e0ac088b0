//! Orders, their events and refunds. State changes are guarded updates (`WHERE state = from`).
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::{
    StorageError,
    schema::{order_events, orders, refunds},
};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrderRow<'a> {
    pub trade_no: &'a str,
    pub app_id: i64,
    pub merchant_id: i64,
    pub out_trade_no: &'a str,
    pub body: &'a str,
    pub total_fee_fen: i64,
    pub order_type: i16,
    pub notify_url: Option<&'a str>,
    pub bank_commission_rate: Decimal,
    pub pay_platform_rate: Decimal,
    pub liquidator_commission_rate: Decimal,
    pub bank_commission_fen: i64,
    pub pay_platform_fen: i64,
    pub liquidator_commission_fen: i64,
    pub net_receipt_fen: i64,
    pub cashier_code: &'a str,
    pub content_fingerprint: &'a str,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub trade_no: String,
    pub app_id: i64,
    pub merchant_id: i64,
    pub out_trade_no: String,
    pub body: String,
    pub total_fee_fen: i64,
    pub order_type: i16,
    pub notify_url: Option<String>,
    pub bank_commission_rate: Decimal,
    pub pay_platform_rate: Decimal,
    pub liquidator_commission_rate: Decimal,
    pub bank_commission_fen: i64,
    pub pay_platform_fen: i64,
    pub liquidator_commission_fen: i64,
    pub net_receipt_fen: i64,
    pub state: String,
    pub refunded_fen: i64,
    pub cashier_code: String,
    pub content_fingerprint: String,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The business day of the payment (SPEC §7), set with `paid_at`.
    pub paid_business_date: Option<NaiveDate>,
}

pub fn find(conn: &mut PgConnection, id: i64) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).for_update().first(conn).optional()?)
}

pub fn find_by_trade_no(conn: &mut PgConnection, trade_no: &str) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.filter(orders::trade_no.eq(trade_no)).select(OrderRow::as_select()).first(conn).optional()?)
}

pub fn find_by_out_trade_no(
    conn: &mut PgConnection,
    app_id: i64,
    out_trade_no: &str,
) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table
        .filter(orders::app_id.eq(app_id))
        .filter(orders::out_trade_no.eq(out_trade_no))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_cashier_code(conn: &mut PgConnection, code: &str) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.filter(orders::cashier_code.eq(code)).select(OrderRow::as_select()).first(conn).optional()?)
}

/// A payment to apply: the order's trade number, when it was paid (and on which business day),
/// and the channel that reported it.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub trade_no: &'a str,
    pub paid: PaidAt,
    pub channel: &'a str,
}

/// An order as a payment found it: marked paid by it (`applied`), or as it was (locked).
#[derive(Debug, Clone, QueryableByName)]
pub struct PaidOrderRow {
    #[diesel(embed)]
    pub order: OrderRow,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub applied: bool,
}

/// Locks the orders of these payments (in id order, so two batches never deadlock), marks the
/// waiting ones paid and writes their `paid` events, all in one statement. Returns every order
/// found: those it marked paid as changed, the others as locked (their latest version). The trade
/// numbers must be distinct.
pub fn pay(conn: &mut PgConnection, payments: &[Payment<'_>]) -> Result<Vec<PaidOrderRow>, StorageError> {
    use diesel::sql_types::{Array, Date, Text, Timestamptz};
    if payments.is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::ledger::PreparedSql::new(
        "WITH p AS (
             SELECT * FROM unnest(?::text[], ?::timestamptz[], ?::date[], ?::text[])
                      AS p (trade_no, paid_at, paid_business_date, channel)),
         locked AS (
             SELECT o.* FROM orders o JOIN p ON p.trade_no = o.trade_no ORDER BY o.id FOR UPDATE OF o),
         changed AS (
             UPDATE orders o
                SET state = 'paid', paid_at = p.paid_at, paid_business_date = p.paid_business_date,
                    updated_at = now()
               FROM locked l JOIN p ON p.trade_no = l.trade_no
              WHERE o.id = l.id AND l.state = 'waiting' AND o.state = 'waiting'
             RETURNING o.*),
         event AS (
             INSERT INTO order_events (order_id, from_state, to_state, cause, detail)
             SELECT changed.id, 'waiting', 'paid', 'channel_callback', p.channel
               FROM changed JOIN p ON p.trade_no = changed.trade_no
              ORDER BY changed.id)
         SELECT changed.*, TRUE AS applied FROM changed
         UNION ALL
         SELECT locked.*, FALSE AS applied FROM locked WHERE locked.id NOT IN (SELECT id FROM changed)",
    )
    .bind::<Array<Text>, _>(payments.iter().map(|payment| payment.trade_no).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(payments.iter().map(|payment| payment.paid.at).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(payments.iter().map(|payment| payment.paid.business_date).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(payments.iter().map(|payment| payment.channel).collect::<Vec<_>>())
    .load(conn)?)
}

/// When a payment happened and the business day it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct PaidAt {
    pub at: DateTime<Utc>,
    pub business_date: NaiveDate,
}

/// The guarded state change; `paid_at`/`closed_at` are stamped by the caller's choice of target.
pub fn set_state(
    conn: &mut PgConnection,
    id: i64,
    from: &str,
    to: &str,
    refunded_fen: i64,
    paid: Option<PaidAt>,
) -> Result<bool, StorageError> {
    let target = orders::table.find(id).filter(orders::state.eq(from));
    let now = crate::database::db_now();
    let updated = match (to, paid) {
        ("paid", Some(paid)) => diesel::update(target)
            .set((orders::state.eq(to), orders::paid_at.eq(paid.at), orders::paid_business_date.eq(paid.business_date)))
            .execute(conn)?,
        ("paid", None) => return Ok(false),
        ("closed", _) => diesel::update(target).set((orders::state.eq(to), orders::closed_at.eq(now))).execute(conn)?,
        _ => diesel::update(target).set((orders::state.eq(to), orders::refunded_fen.eq(refunded_fen))).execute(conn)?,
    };
    Ok(updated == 1)
}

pub fn record_event(
    conn: &mut PgConnection,
    order_id: i64,
    from: Option<&str>,
    to: &str,
    cause: &str,
    detail: Option<&str>,
) -> Result<(), StorageError> {
    diesel::insert_into(order_events::table)
        .values((
            order_events::order_id.eq(order_id),
            order_events::from_state.eq(from),
            order_events::to_state.eq(to),
            order_events::cause.eq(cause),
            order_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = order_events)]
pub struct EventRow {
    pub id: i64,
    pub order_id: i64,
    pub from_state: Option<String>,
    pub to_state: String,
    pub cause: String,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn events(conn: &mut PgConnection, order_id: i64) -> Result<Vec<EventRow>, StorageError> {
    Ok(order_events::table
        .filter(order_events::order_id.eq(order_id))
        .order(order_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Unpaid orders past their expiry, oldest first, locked for closing (others skip them).
pub fn lock_expired(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<OrderRow>, StorageError> {
    Ok(orders::table
        .filter(orders::state.eq("waiting"))
        .filter(orders::expires_at.le(now))
        .order(orders::expires_at.asc())
        .limit(limit)
        .select(OrderRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)?)
}

/// Search of the orders list; `before_id` is the keyset cursor (newest first).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Matches trade_no or out_trade_no exactly.
    pub number: Option<String>,
    pub merchant_id: Option<i64>,
    pub state: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
}

pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<OrderRow>, StorageError> {
    let mut query = orders::table.select(OrderRow::as_select()).into_boxed();
    if let Some(number) = &filter.number {
        query = query.filter(orders::trade_no.eq(number).or(orders::out_trade_no.eq(number)));
    }
    if let Some(merchant) = filter.merchant_id {
        query = query.filter(orders::merchant_id.eq(merchant));
    }
    if let Some(state) = &filter.state {
        query = query.filter(orders::state.eq(state));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(orders::created_at.lt(to));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(orders::id.lt(before));
    }
    Ok(query.order(orders::id.desc()).limit(limit).load(conn)?)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refunds)]
pub struct NewRefundRow<'a> {
    pub refund_no: &'a str,
    pub order_id: i64,
    pub out_refund_no: &'a str,
    pub refund_fee_fen: i64,
    pub bank_commission_fen: i64,
    pub pay_platform_fen: i64,
    pub liquidator_commission_fen: i64,
    pub net_receipt_fen: i64,
    pub requested_by: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    pub id: i64,
    pub refund_no: String,
    pub order_id: i64,
    pub out_refund_no: String,
    pub refund_fee_fen: i64,
    pub bank_commission_fen: i64,
    pub pay_platform_fen: i64,
    pub liquidator_commission_fen: i64,
    pub net_receipt_fen: i64,
    pub state: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

pub fn insert_refund(conn: &mut PgConnection, refund: &NewRefundRow<'_>) -> Result<RefundRow, StorageError> {
    Ok(diesel::insert_into(refunds::table).values(refund).returning(RefundRow::as_returning()).get_result(conn)?)
}

pub fn find_refund(
    conn: &mut PgConnection,
    order_id: i64,
    out_refund_no: &str,
) -> Result<Option<RefundRow>, StorageError> {
    Ok(refunds::table
        .filter(refunds::order_id.eq(order_id))
        .filter(refunds::out_refund_no.eq(out_refund_no))
        .select(RefundRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_refund_by_number(conn: &mut PgConnection, refund_no: &str) -> Result<Option<RefundRow>, StorageError> {
    Ok(refunds::table.filter(refunds::refund_no.eq(refund_no)).select(RefundRow::as_select()).first(conn).optional()?)
}

pub fn refunds_of(conn: &mut PgConnection, order_id: i64) -> Result<Vec<RefundRow>, StorageError> {
    Ok(refunds::table
        .filter(refunds::order_id.eq(order_id))
        .order(refunds::id.asc())
        .select(RefundRow::as_select())
        .load(conn)?)
}

/// What the dashboard shows of one day (or any span): the orders created in `[from, to)`, how many
/// of them were paid (refunds included) and their paid volume. Counted by creation time so the
/// `created_at` index serves it; an order is payable for two hours, so few cross midnight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanTotals {
    pub created: i64,
    pub paid: i64,
    pub paid_fen: i64,
}

pub fn totals_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<SpanTotals, StorageError> {
    use diesel::{dsl::sql, sql_types::BigInt};
    let (created, paid, paid_fen) = orders::table
        .filter(orders::created_at.ge(from))
        .filter(orders::created_at.lt(to))
        .select((
            sql::<BigInt>("count(*)"),
            sql::<BigInt>("count(*) FILTER (WHERE paid_at IS NOT NULL)"),
            sql::<BigInt>("COALESCE(sum(total_fee_fen) FILTER (WHERE paid_at IS NOT NULL), 0)::BIGINT"),
        ))
        .get_result::<(i64, i64, i64)>(conn)?;
    Ok(SpanTotals { created, paid, paid_fen })
}
