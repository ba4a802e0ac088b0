//! Payment, closing and expiry.
use chrono::{DateTime, Utc};
use diesel::{Connection, OptionalExtension, PgConnection, RunQueryDsl};
use domain::{
    calendar::BusinessCalendar,
    orders::{OrderEvent, OrderState},
};
use ledger::bookings::{self, PaidOrder};
use serde_json::Value;
use storage::{
    callbacks,
    orders::{self as rows, OrderRow, PaidAt},
};

use crate::{Order, OrderError, notify, order};

/// Applies an event to a locked order: the guarded update (`WHERE state = from`) and its event
/// row in one statement, which returns the order as changed. One round trip instead of three
/// (update, event, read back); the columns each target sets are those of `storage::orders::set_state`.
pub(crate) fn apply(
    conn: &mut PgConnection,
    order: &Order,
    event: OrderEvent,
    cause: &str,
    detail: Option<&str>,
    refunded_fen: i64,
    paid: Option<PaidAt>,
) -> Result<Order, OrderError> {
    use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz};
    let to = order.state.apply(event)?;
    // The row is locked, so a guard that fails means the lock was not taken: a bug, never a race.
    let not_applied = || OrderError::Storage(storage::StorageError::Query(diesel::result::Error::NotFound));
    if to == OrderState::Paid && paid.is_none() {
        return Err(not_applied());
    }
    // Prepared once per connection (the parameters come in through `p`, each bound once).
    let changed: Option<OrderRow> = storage::ledger::PreparedSql::new(
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
    .bind::<BigInt, _>(order.row.id)
    .bind::<Text, _>(order.state.as_str())
    .bind::<Text, _>(to.as_str())
    .bind::<BigInt, _>(refunded_fen)
    .bind::<Nullable<Timestamptz>, _>(paid.map(|paid| paid.at))
    .bind::<Nullable<Date>, _>(paid.map(|paid| paid.business_date))
    .bind::<Text, _>(cause)
    .bind::<Nullable<Text>, _>(detail)
    .get_result(conn)
    .optional()
    .map_err(storage::StorageError::from)?;
    Order::from_row(changed.ok_or_else(not_applied)?)
}

/// The order with this trade number, locked for the rest of the transaction.
fn lock_by_trade_no(conn: &mut PgConnection, trade_no: &str) -> Result<Option<Order>, OrderError> {
    use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
    use storage::schema::orders;
    let row = orders::table
        .filter(orders::trade_no.eq(trade_no))
        .select(OrderRow::as_select())
        .for_update()
        .first(conn)
        .optional()
        .map_err(storage::StorageError::from)?;
    row.map(Order::from_row).transpose()
}

/// What became of a payment callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    /// The order is now paid (and its notification queued).
    Applied,
    /// It was already paid: nothing changes.
    Duplicate,
    /// It was closed (by request or expiry) when the money came: recorded for an operator.
    LatePayment,
}

/// A payment a channel reported: which order, when, and the callback as received.
pub struct PaymentReport<'a> {
    pub channel: &'a str,
    pub trade_no: &'a str,
    pub payload: Value,
    pub at: DateTime<Utc>,
}

/// A channel says the payer paid `trade_no`. The callback is kept whatever happens to it; a new
/// payment is booked in the ledger in the same transaction as the order's state change and its
/// outbox row.
pub fn record_payment(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    report: PaymentReport<'_>,
) -> Result<Payment, OrderError> {
    let PaymentReport { channel, trade_no, payload, at } = report;
    conn.transaction(|conn| {
        let Some(locked) = lock_by_trade_no(conn, trade_no)? else {
            callbacks::record(conn, channel, Some(trade_no), payload, "rejected", true)?;
            return Err(OrderError::OrderNotFound);
        };
        let outcome = match locked.state {
            OrderState::Waiting => {
                let paid_at = PaidAt { at, business_date: calendar.date_of(at) };
                let paid = apply(conn, &locked, OrderEvent::Pay, "channel_callback", Some(channel), 0, Some(paid_at))?;
                book_payment(conn, &paid, paid_at)?;
                notify::enqueue(conn, "order_paid", &paid, notify::paid_fields(&paid))?;
                Payment::Applied
            }
            OrderState::Closed => {
                tracing::warn!(trade_no, "payment for a closed order: kept for manual handling");
                Payment::LatePayment
            }
            _ => Payment::Duplicate,
        };
        let (name, attention) = match outcome {
            Payment::Applied => ("applied", false),
            Payment::Duplicate => ("duplicate", false),
            Payment::LatePayment => ("late_payment", true),
        };
        callbacks::record(conn, channel, Some(trade_no), payload, name, attention)?;
        Ok(outcome)
    })
}

fn book_payment(conn: &mut PgConnection, paid: &Order, paid_at: PaidAt) -> Result<(), OrderError> {
    let booking = PaidOrder {
        order_id: paid.row.id,
        trade_no: &paid.row.trade_no,
        merchant_id: paid.row.merchant_id,
        split: paid.split(),
        business_date: paid_at.business_date,
    };
    bookings::order_paid(conn, &booking)?;
    Ok(())
}

/// Closes an unpaid order at the caller's request.
pub fn close(conn: &mut PgConnection, order_id: i64, by: &str) -> Result<Order, OrderError> {
    conn.transaction(|conn| {
        let locked = order::lock(conn, order_id)?;
        apply(conn, &locked, OrderEvent::Close, "closed", Some(by), 0, None)
    })
}

/// Closes up to `limit` unpaid orders past their two hours (the expiry worker). Safe on several
/// nodes: each run locks a disjoint batch with SKIP LOCKED.
pub fn expire_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<usize, OrderError> {
    conn.transaction(|conn| {
        let due = rows::lock_expired(conn, now, limit)?;
        for row in &due {
            apply(conn, &Order::from_row(row.clone())?, OrderEvent::Expire, "expired", None, 0, None)?;
        }
        Ok(due.len())
    })
}
