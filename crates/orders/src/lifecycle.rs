//! Payment, closing and expiry.
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use domain::{
    calendar::BusinessCalendar,
    orders::{OrderEvent, OrderState},
};
use ledger::bookings::{self, PaidOrder};
use serde_json::Value;
use storage::{
    callbacks,
    orders::{self as rows, PaidAt},
};

use crate::{Order, OrderError, notify, order};

/// Applies an event to a locked order: guarded update plus its event row.
pub(crate) fn apply(
    conn: &mut PgConnection,
    order: &Order,
    event: OrderEvent,
    cause: &str,
    detail: Option<&str>,
    refunded_fen: i64,
    paid: Option<PaidAt>,
) -> Result<Order, OrderError> {
    let to = order.state.apply(event)?;
    if !rows::set_state(conn, order.row.id, order.state.as_str(), to.as_str(), refunded_fen, paid)? {
        // The row is locked, so this means the lock was not taken: a bug, never a race.
        return Err(OrderError::Storage(storage::StorageError::Query(diesel::result::Error::NotFound)));
    }
    rows::record_event(conn, order.row.id, Some(order.state.as_str()), to.as_str(), cause, detail)?;
    order::find(conn, order.row.id)?.ok_or(OrderError::OrderNotFound)
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
        let Some(found) = order::find_by_trade_no(conn, trade_no)? else {
            callbacks::record(conn, channel, Some(trade_no), payload, "rejected", true)?;
            return Err(OrderError::OrderNotFound);
        };
        let locked = order::lock(conn, found.row.id)?;
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
