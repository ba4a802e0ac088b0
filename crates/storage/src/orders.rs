//! Orders, their events and refunds. State changes are guarded updates (`WHERE state = from`).
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::orders::{EventCause, OrderState, RefundState};
use domain::{Amount, AppRowId, MerchantId, OrderId, RefundId};
use rust_decimal::Decimal;

use crate::{
    StorageError,
    schema::{order_days, order_events, orders, refunds},
};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: OrderId,
    pub trade_no: String,
    pub app_id: AppRowId,
    pub merchant_id: MerchantId,
    pub out_trade_no: String,
    pub body: String,
    pub total_fee_fen: Amount,
    pub order_type: i16,
    pub notify_url: Option<String>,
    pub bank_commission_rate: Decimal,
    pub pay_platform_rate: Decimal,
    pub liquidator_commission_rate: Decimal,
    pub bank_commission_fen: Amount,
    pub pay_platform_fen: Amount,
    pub liquidator_commission_fen: Amount,
    pub net_receipt_fen: Amount,
    pub state: OrderState,
    pub refunded_fen: Amount,
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

pub fn find(conn: &mut PgConnection, id: OrderId) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, id: OrderId) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).for_update().first(conn).optional()?)
}

pub fn find_by_trade_no(conn: &mut PgConnection, trade_no: &str) -> Result<Option<OrderRow>, StorageError> {
    Ok(orders::table.filter(orders::trade_no.eq(trade_no)).select(OrderRow::as_select()).first(conn).optional()?)
}

pub fn find_by_out_trade_no(
    conn: &mut PgConnection,
    app_id: AppRowId,
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

/// An order row to insert, with what its checks and rates were worked out from: the merchant's
/// state and owner, the instant, and the rate versions in force then.
#[derive(Debug, Clone)]
pub struct GuardedOrder {
    pub trade_no: String,
    pub app_id: AppRowId,
    pub merchant_id: MerchantId,
    pub out_trade_no: String,
    pub body: String,
    pub total_fee_fen: Amount,
    pub order_type: i16,
    pub notify_url: Option<String>,
    pub bank_commission_rate: Decimal,
    pub pay_platform_rate: Decimal,
    pub liquidator_commission_rate: Decimal,
    pub bank_commission_fen: Amount,
    pub pay_platform_fen: Amount,
    pub liquidator_commission_fen: Amount,
    pub net_receipt_fen: Amount,
    pub cashier_code: String,
    pub content_fingerprint: String,
    pub expires_at: DateTime<Utc>,
    pub merchant_state: domain::onboarding::ApplicationState,
    pub owner_app_id: Option<AppRowId>,
    /// When the order is placed: its `created_at` (and its `created` event's), and the instant
    /// whose rates it takes.
    pub at: DateTime<Utc>,
    pub merchant_rates_id: i64,
    pub rate_plan_id: Option<i64>,
    pub plan_version_id: Option<i64>,
}

/// The rows to insert (`p`), the checks each must pass, and the insert of the orders and their
/// `created` events; `$rows` is the source of `p` and `$conflict` what a unique violation does.
/// Every group inserts in the same order, so two groups holding the same `out_trade_no` wait for
/// each other rather than deadlock.
macro_rules! insert_orders_sql {
    ($rows:literal, $conflict:literal) => {
        concat!(
            "WITH p AS (",
            $rows,
            "),
         inserted AS (
             INSERT INTO orders (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type,
                 notify_url, bank_commission_rate, pay_platform_rate, liquidator_commission_rate,
                 bank_commission_fen, pay_platform_fen, liquidator_commission_fen, net_receipt_fen,
                 cashier_code, content_fingerprint, expires_at, created_at)
             SELECT p.trade_no, p.app_id, p.merchant_id, p.out_trade_no, p.body, p.total_fee_fen, p.order_type,
                    p.notify_url, p.bank_commission_rate, p.pay_platform_rate, p.liquidator_commission_rate,
                    p.bank_commission_fen, p.pay_platform_fen, p.liquidator_commission_fen, p.net_receipt_fen,
                    p.cashier_code, p.content_fingerprint, p.expires_at, p.at
               FROM p
              WHERE EXISTS (SELECT 1 FROM merchants m
                             WHERE m.id = p.merchant_id AND m.state = p.merchant_state
                               AND m.owner_app_id IS NOT DISTINCT FROM p.owner_app_id)
                AND (SELECT r.id FROM merchant_rates r
                      WHERE r.merchant_id = p.merchant_id AND r.effective_from <= p.at
                      ORDER BY r.effective_from DESC LIMIT 1) = p.merchant_rates_id
                AND (p.plan_version_id IS NULL
                     OR (SELECT v.id FROM rate_plan_versions v
                          WHERE v.rate_plan_id = p.rate_plan_id AND v.effective_from <= p.at
                          ORDER BY v.effective_from DESC LIMIT 1) = p.plan_version_id)
              ORDER BY p.app_id, p.out_trade_no ",
            $conflict,
            "
             RETURNING *),
         created AS (
             INSERT INTO order_events (order_id, to_state, cause, at)
             SELECT id, state, 'created', created_at FROM inserted)
         SELECT * FROM inserted"
        )
    };
}

/// GuardedOrders the order and its `created` event in one statement, only if the merchant's state and
/// owner and the rate versions in force are still those the order was worked out from; `None` if
/// they are not. Prepared once per connection.
pub fn insert_if_current(conn: &mut PgConnection, order: &GuardedOrder) -> Result<Option<OrderRow>, StorageError> {
    use diesel::sql_types::{BigInt, Nullable, Numeric, SmallInt, Text, Timestamptz};
    Ok(crate::database::PreparedSql::new(insert_orders_sql!(
        "SELECT ?::text AS trade_no, ?::bigint AS app_id, ?::bigint AS merchant_id, ?::text AS out_trade_no,
                ?::text AS body, ?::bigint AS total_fee_fen, ?::smallint AS order_type, ?::text AS notify_url,
                ?::numeric AS bank_commission_rate, ?::numeric AS pay_platform_rate,
                ?::numeric AS liquidator_commission_rate, ?::bigint AS bank_commission_fen,
                ?::bigint AS pay_platform_fen, ?::bigint AS liquidator_commission_fen,
                ?::bigint AS net_receipt_fen, ?::text AS cashier_code, ?::text AS content_fingerprint,
                ?::timestamptz AS expires_at, ?::text AS merchant_state, ?::bigint AS owner_app_id,
                ?::timestamptz AS at, ?::bigint AS merchant_rates_id, ?::bigint AS rate_plan_id,
                ?::bigint AS plan_version_id",
        ""
    ))
    .bind::<Text, _>(&order.trade_no)
    .bind::<BigInt, _>(order.app_id)
    .bind::<BigInt, _>(order.merchant_id)
    .bind::<Text, _>(&order.out_trade_no)
    .bind::<Text, _>(&order.body)
    .bind::<BigInt, _>(order.total_fee_fen)
    .bind::<SmallInt, _>(order.order_type)
    .bind::<Nullable<Text>, _>(order.notify_url.as_deref())
    .bind::<Numeric, _>(order.bank_commission_rate)
    .bind::<Numeric, _>(order.pay_platform_rate)
    .bind::<Numeric, _>(order.liquidator_commission_rate)
    .bind::<BigInt, _>(order.bank_commission_fen)
    .bind::<BigInt, _>(order.pay_platform_fen)
    .bind::<BigInt, _>(order.liquidator_commission_fen)
    .bind::<BigInt, _>(order.net_receipt_fen)
    .bind::<Text, _>(&order.cashier_code)
    .bind::<Text, _>(&order.content_fingerprint)
    .bind::<Timestamptz, _>(order.expires_at)
    .bind::<Text, _>(order.merchant_state)
    .bind::<Nullable<BigInt>, _>(order.owner_app_id)
    .bind::<Timestamptz, _>(order.at)
    .bind::<BigInt, _>(order.merchant_rates_id)
    .bind::<Nullable<BigInt>, _>(order.rate_plan_id)
    .bind::<Nullable<BigInt>, _>(order.plan_version_id)
    .get_result(conn)
    .optional()?)
}

/// Many orders in one statement, each under the checks of [`insert_if_current`]; an order that
/// would violate a unique constraint is skipped rather than failing the others. Returns the orders
/// placed. Prepared once per connection (the rows come in as one array per column).
pub fn insert_many_if_current(conn: &mut PgConnection, orders: &[GuardedOrder]) -> Result<Vec<OrderRow>, StorageError> {
    use diesel::sql_types::{Array, BigInt, Nullable, Numeric, SmallInt, Text, Timestamptz};
    fn column<T>(orders: &[GuardedOrder], field: impl Fn(&GuardedOrder) -> T) -> Vec<T> {
        orders.iter().map(field).collect()
    }
    Ok(crate::database::PreparedSql::new(insert_orders_sql!(
        "SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[],
                              ?::smallint[], ?::text[], ?::numeric[], ?::numeric[], ?::numeric[], ?::bigint[],
                              ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::timestamptz[],
                              ?::text[], ?::bigint[], ?::timestamptz[], ?::bigint[], ?::bigint[], ?::bigint[])
             AS p (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type, notify_url,
                   bank_commission_rate, pay_platform_rate, liquidator_commission_rate, bank_commission_fen,
                   pay_platform_fen, liquidator_commission_fen, net_receipt_fen, cashier_code, content_fingerprint,
                   expires_at, merchant_state, owner_app_id, at, merchant_rates_id, rate_plan_id, plan_version_id)",
        "ON CONFLICT DO NOTHING"
    ))
    .bind::<Array<Text>, _>(column(orders, |o| o.trade_no.clone()))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.app_id))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.merchant_id))
    .bind::<Array<Text>, _>(column(orders, |o| o.out_trade_no.clone()))
    .bind::<Array<Text>, _>(column(orders, |o| o.body.clone()))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.total_fee_fen))
    .bind::<Array<SmallInt>, _>(column(orders, |o| o.order_type))
    .bind::<Array<Nullable<Text>>, _>(column(orders, |o| o.notify_url.clone()))
    .bind::<Array<Numeric>, _>(column(orders, |o| o.bank_commission_rate))
    .bind::<Array<Numeric>, _>(column(orders, |o| o.pay_platform_rate))
    .bind::<Array<Numeric>, _>(column(orders, |o| o.liquidator_commission_rate))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.bank_commission_fen))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.pay_platform_fen))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.liquidator_commission_fen))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.net_receipt_fen))
    .bind::<Array<Text>, _>(column(orders, |o| o.cashier_code.clone()))
    .bind::<Array<Text>, _>(column(orders, |o| o.content_fingerprint.clone()))
    .bind::<Array<Timestamptz>, _>(column(orders, |o| o.expires_at))
    .bind::<Array<Text>, _>(column(orders, |o| o.merchant_state))
    .bind::<Array<Nullable<BigInt>>, _>(column(orders, |o| o.owner_app_id))
    .bind::<Array<Timestamptz>, _>(column(orders, |o| o.at))
    .bind::<Array<BigInt>, _>(column(orders, |o| o.merchant_rates_id))
    .bind::<Array<Nullable<BigInt>>, _>(column(orders, |o| o.rate_plan_id))
    .bind::<Array<Nullable<BigInt>>, _>(column(orders, |o| o.plan_version_id))
    .load(conn)?)
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
    Ok(crate::database::PreparedSql::new(
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

/// One guarded change of an order's state: from what it is (the guard) to what it becomes, with
/// its event row; `refunded_fen` is the new refunded total (kept for `paid` and `closed`), `paid`
/// stamps a payment.
#[derive(Debug, Clone, Copy)]
pub struct StateChange<'a> {
    pub order_id: OrderId,
    pub from: OrderState,
    pub to: OrderState,
    pub refunded_fen: Amount,
    pub paid: Option<PaidAt>,
    pub cause: EventCause,
    pub detail: Option<&'a str>,
}

/// Applies the change (`WHERE state = from`) and writes its event in one statement, prepared
/// once per connection; returns the order as changed, or `None` when the guard failed.
pub fn change_state(conn: &mut PgConnection, change: &StateChange<'_>) -> Result<Option<OrderRow>, StorageError> {
    use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz};
    Ok(crate::database::PreparedSql::new(
        "WITH p AS (
             SELECT ?::bigint AS id, ?::text AS from_state, ?::text AS to_state, ?::bigint AS refunded_fen,
                    ?::timestamptz AS paid_at, ?::date AS paid_business_date, ?::text AS cause, ?::text AS detail),
         changed AS (
             UPDATE orders o
                SET state = p.to_state,
                    paid_at = CASE WHEN p.to_state = 'paid' THEN p.paid_at ELSE o.paid_at END,
                    paid_business_date = CASE WHEN p.to_state = 'paid' THEN p.paid_business_date
                                              ELSE o.paid_business_date END,
                    closed_at = CASE WHEN p.to_state = 'closed' THEN now() ELSE o.closed_at END,
                    refunded_fen = CASE WHEN p.to_state IN ('paid', 'closed') THEN o.refunded_fen
                                        ELSE p.refunded_fen END
               FROM p
              WHERE o.id = p.id AND o.state = p.from_state
             RETURNING o.*),
         event AS (
             INSERT INTO order_events (order_id, from_state, to_state, cause, detail)
             SELECT changed.id, p.from_state, p.to_state, p.cause, p.detail FROM changed, p)
         SELECT * FROM changed",
    )
    .bind::<BigInt, _>(change.order_id)
    .bind::<Text, _>(change.from)
    .bind::<Text, _>(change.to)
    .bind::<BigInt, _>(change.refunded_fen)
    .bind::<Nullable<Timestamptz>, _>(change.paid.map(|paid| paid.at))
    .bind::<Nullable<Date>, _>(change.paid.map(|paid| paid.business_date))
    .bind::<Text, _>(change.cause)
    .bind::<Nullable<Text>, _>(change.detail)
    .get_result(conn)
    .optional()?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = order_events)]
pub struct EventRow {
    pub id: i64,
    pub order_id: OrderId,
    pub from_state: Option<OrderState>,
    pub to_state: OrderState,
    pub cause: EventCause,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn events(conn: &mut PgConnection, order_id: OrderId) -> Result<Vec<EventRow>, StorageError> {
    Ok(order_events::table
        .filter(order_events::order_id.eq(order_id))
        .order(order_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Unpaid orders past their expiry, oldest first, locked for closing (others skip them).
pub fn lock_expired(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<OrderRow>, StorageError> {
    Ok(orders::table
        .filter(orders::state.eq(OrderState::Waiting))
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
    pub merchant_id: Option<MerchantId>,
    pub state: Option<OrderState>,
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
    if let Some(state) = filter.state {
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
    pub order_id: OrderId,
    pub out_refund_no: &'a str,
    pub refund_fee_fen: Amount,
    pub bank_commission_fen: Amount,
    pub pay_platform_fen: Amount,
    pub liquidator_commission_fen: Amount,
    pub net_receipt_fen: Amount,
    pub requested_by: &'a str,
    /// `succeeded` when the refund is done as it is booked; `pending` while a channel does it.
    pub state: RefundState,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    pub id: RefundId,
    pub refund_no: String,
    pub order_id: OrderId,
    pub out_refund_no: String,
    pub refund_fee_fen: Amount,
    pub bank_commission_fen: Amount,
    pub pay_platform_fen: Amount,
    pub liquidator_commission_fen: Amount,
    pub net_receipt_fen: Amount,
    pub state: RefundState,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    /// The channel's number for it (an upstream's refund).
    pub channel_refund_no: Option<String>,
}

pub fn insert_refund(conn: &mut PgConnection, refund: &NewRefundRow<'_>) -> Result<RefundRow, StorageError> {
    Ok(diesel::insert_into(refunds::table).values(refund).returning(RefundRow::as_returning()).get_result(conn)?)
}

pub fn find_refund(
    conn: &mut PgConnection,
    order_id: OrderId,
    out_refund_no: &str,
) -> Result<Option<RefundRow>, StorageError> {
    Ok(refunds::table
        .filter(refunds::order_id.eq(order_id))
        .filter(refunds::out_refund_no.eq(out_refund_no))
        .select(RefundRow::as_select())
        .first(conn)
        .optional()?)
}

/// Settles a pending refund as `to`, with the channel's number for it; false if it was not pending.
pub fn settle_refund(
    conn: &mut PgConnection,
    id: RefundId,
    to: RefundState,
    channel_refund_no: Option<&str>,
) -> Result<bool, StorageError> {
    let updated = diesel::update(refunds::table.find(id).filter(refunds::state.eq(RefundState::Pending)))
        .set((refunds::state.eq(to), refunds::channel_refund_no.eq(channel_refund_no)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Pending refunds made before `before`, oldest first: the upstream job asks about them.
pub fn pending_refunds_before(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RefundRow>, StorageError> {
    Ok(refunds::table
        .filter(refunds::state.eq(RefundState::Pending))
        .filter(refunds::created_at.lt(before))
        .order(refunds::created_at.asc())
        .limit(limit)
        .select(RefundRow::as_select())
        .load(conn)?)
}

pub fn find_refund_by_id(conn: &mut PgConnection, id: RefundId) -> Result<Option<RefundRow>, StorageError> {
    Ok(refunds::table.find(id).select(RefundRow::as_select()).first(conn).optional()?)
}

pub fn find_refund_by_number(conn: &mut PgConnection, refund_no: &str) -> Result<Option<RefundRow>, StorageError> {
    Ok(refunds::table.filter(refunds::refund_no.eq(refund_no)).select(RefundRow::as_select()).first(conn).optional()?)
}

pub fn refunds_of(conn: &mut PgConnection, order_id: OrderId) -> Result<Vec<RefundRow>, StorageError> {
    Ok(refunds::table
        .filter(refunds::order_id.eq(order_id))
        .order(refunds::id.asc())
        .select(RefundRow::as_select())
        .load(conn)?)
}

/// How many orders were placed on `day` (in China), from the rollups (`order_days`, one row per
/// merchant and day, kept by a trigger as orders are written).
pub fn placed_on(conn: &mut PgConnection, day: NaiveDate) -> Result<i64, StorageError> {
    use diesel::{dsl::sql, sql_types::BigInt};
    Ok(order_days::table
        .filter(order_days::placed_on.eq(day))
        .select(sql::<BigInt>("COALESCE(sum(placed), 0)::bigint"))
        .get_result(conn)?)
}
