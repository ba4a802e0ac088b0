//! Payment, closing and expiry.
use domain::{
    Amount, OrderId,
    calendar::BusinessCalendar,
    orders::{CallbackOutcome, EventCause, NotificationKind, OrderEvent, OrderState},
};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use ledger::bookings::{self, PaidOrder};
use serde_json::Value;
use storage::{
    callbacks, notifications,
    orders::{self as rows, PaidAt},
};

use crate::{Order, OrderError, notify, order};

/// Applies an event to a locked order: the guarded update (`WHERE state = from`) and its event
/// row in one statement, which returns the order as changed.
pub(crate) fn apply(
    conn: &mut PgConnection,
    order: &Order,
    event: OrderEvent,
    cause: EventCause,
    detail: Option<&str>,
    refunded_fen: Amount,
    paid: Option<PaidAt>,
) -> Result<Order, OrderError> {
    let to = order.state.apply(event)?;
    if to == OrderState::Paid && paid.is_none() {
        return Err(guard_failed());
    }
    let change = rows::StateChange { order_id: order.row.id, from: order.state, to, refunded_fen, paid, cause, detail };
    // The row is locked, so a guard that fails means the lock was not taken.
    Order::from_row(rows::change_state(conn, &change)?.ok_or_else(guard_failed)?)
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

impl Payment {
    /// The callback's outcome as stored, and whether an operator must look at it.
    fn outcome(self) -> (CallbackOutcome, bool) {
        match self {
            Payment::Applied => (CallbackOutcome::Applied, false),
            Payment::Duplicate => (CallbackOutcome::Duplicate, false),
            Payment::LatePayment => (CallbackOutcome::LatePayment, true),
        }
    }
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
    record_payments(conn, calendar, vec![report])?.pop().unwrap_or(Err(OrderError::OrderNotFound))
}

/// Records a batch of payment callbacks in one transaction, one result per report, in order, in
/// three statements: the orders locked with the waiting ones marked paid and their events; the
/// callbacks kept with the outbox rows of the new payments; the new payments' entries with their
/// postings. An unknown order is answered `OrderNotFound`; the others go ahead. Whatever fails the
/// transaction (the database refusing a payment on a settled day, say) fails the whole batch: the
/// caller retries its reports one by one ([`crate::recorder`] does).
pub fn record_payments(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    reports: Vec<PaymentReport<'_>>,
) -> Result<Vec<Result<Payment, OrderError>>, OrderError> {
    // The batch's statements are prepared once per connection; their generic plans (index lookups
    // by trade_no, id, key) fit every batch, so skip re-planning them per batch size.
    storage::database::transaction_with_settings(conn, "SET LOCAL plan_cache_mode = force_generic_plan", |conn| {
        // The statement applies the domain's rule for a payment to the waiting orders.
        if OrderState::Waiting.apply(OrderEvent::Pay)? != OrderState::Paid {
            return Err(guard_failed());
        }
        let mut found: HashMap<String, (Order, bool)> = HashMap::with_capacity(reports.len());
        for row in rows::pay(conn, &distinct_payments(calendar, &reports))? {
            found.insert(row.order.trade_no.clone(), (Order::from_row(row.order)?, row.applied));
        }
        let outcomes = outcomes(&reports, &found)?;
        let mut paid: Vec<Order> =
            found.into_values().filter(|(_, applied)| *applied).map(|(order, _)| order).collect();
        paid.sort_by_key(|order| order.row.id);
        keep_callbacks(conn, &reports, &outcomes, &paid)?;
        // Last: booking takes the merchants' balance rows, which concurrent batches of the same
        // merchants wait for until this commits.
        book(conn, &paid)?;
        Ok(outcomes)
    })
}

/// A locked row failed the guard of its state change: a bug, never a race.
fn guard_failed() -> OrderError {
    OrderError::Storage(storage::StorageError::Query(diesel::result::Error::NotFound))
}

/// The batch's payments, one per trade number (the first report of each), with their business day.
fn distinct_payments<'a>(calendar: &BusinessCalendar, reports: &'a [PaymentReport<'a>]) -> Vec<rows::Payment<'a>> {
    let mut payments: Vec<rows::Payment<'a>> = Vec::with_capacity(reports.len());
    for report in reports {
        if !payments.iter().any(|payment| payment.trade_no == report.trade_no) {
            let paid = PaidAt { at: report.at, business_date: calendar.date_of(report.at) };
            payments.push(rows::Payment { trade_no: report.trade_no, paid, channel: report.channel });
        }
    }
    payments
}

/// Each report's outcome, from the orders the payment statement found (and whether it marked them
/// paid); a second report of the same payment in the batch is a duplicate of the first.
fn outcomes(
    reports: &[PaymentReport<'_>],
    found: &HashMap<String, (Order, bool)>,
) -> Result<Vec<Result<Payment, OrderError>>, OrderError> {
    let mut answered: Vec<&str> = Vec::with_capacity(reports.len());
    let mut outcomes = Vec::with_capacity(reports.len());
    for report in reports {
        let first = !answered.contains(&report.trade_no);
        answered.push(report.trade_no);
        outcomes.push(match found.get(report.trade_no) {
            None => Err(OrderError::OrderNotFound),
            Some((_, true)) if first => Ok(Payment::Applied),
            Some((order, false)) if first => Ok(unapplied(order)?),
            Some(_) => Ok(Payment::Duplicate),
        });
    }
    Ok(outcomes)
}

/// What a payment for an order it did not mark paid is: late (the order was closed first), or a
/// duplicate (paid already). A waiting order is always marked paid, as it is locked.
fn unapplied(order: &Order) -> Result<Payment, OrderError> {
    match order.state {
        OrderState::Closed => {
            tracing::warn!(trade_no = order.row.trade_no, "payment for a closed order: kept for manual handling");
            Ok(Payment::LatePayment)
        }
        OrderState::Waiting => Err(guard_failed()),
        _ => Ok(Payment::Duplicate),
    }
}

fn book(conn: &mut PgConnection, paid: &[Order]) -> Result<(), OrderError> {
    let bookings = paid
        .iter()
        .map(|order| {
            let business_date = order.row.paid_business_date.ok_or(OrderError::OrderNotFound)?;
            Ok(bookings::order_paid_booking(&PaidOrder {
                order_id: order.row.id,
                trade_no: &order.row.trade_no,
                merchant_id: order.row.merchant_id,
                split: order.split(),
                business_date,
            }))
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
    for booked in ledger::post_many(conn, bookings)? {
        booked?;
    }
    Ok(())
}

/// Keeps the callbacks (all but those for unknown orders: the gateway keeps those itself, before
/// it records) and queues the new payments' notifications, in one statement.
fn keep_callbacks(
    conn: &mut PgConnection,
    reports: &[PaymentReport<'_>],
    outcomes: &[Result<Payment, OrderError>],
    paid: &[Order],
) -> Result<(), OrderError> {
    let callbacks: Vec<_> = reports
        .iter()
        .zip(outcomes)
        .filter_map(|(report, outcome)| {
            let (outcome, needs_attention) = outcome.as_ref().ok()?.outcome();
            Some(callbacks::NewCallback {
                channel: report.channel,
                trade_no: Some(report.trade_no),
                payload: &report.payload,
                outcome,
                needs_attention,
            })
        })
        .collect();
    let notifications: Vec<_> = paid
        .iter()
        .filter_map(|order| {
            Some(notifications::NewNotification {
                kind: NotificationKind::OrderPaid,
                order_id: Some(order.row.id),
                app_id: order.row.app_id,
                url: order.row.notify_url.as_deref()?,
                fields: notify::paid_fields(order),
            })
        })
        .collect();
    callbacks::record_with_notifications(conn, &callbacks, &notifications)?;
    Ok(())
}

/// Closes an unpaid order at the caller's request.
pub fn close(conn: &mut PgConnection, order_id: OrderId, by: &str) -> Result<Order, OrderError> {
    storage::database::transaction(conn, |conn| {
        let locked = order::lock(conn, order_id)?;
        apply(conn, &locked, OrderEvent::Close, EventCause::Closed, Some(by), Amount::ZERO, None)
    })
}

/// Closes up to `limit` unpaid orders past their two hours (the expiry worker). Safe on several
/// nodes: each run locks a disjoint batch with SKIP LOCKED.
pub fn expire_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<usize, OrderError> {
    storage::database::transaction(conn, |conn| {
        let due = rows::lock_expired(conn, now, limit)?;
        for row in &due {
            apply(
                conn,
                &Order::from_row(row.clone())?,
                OrderEvent::Expire,
                EventCause::Expired,
                None,
                Amount::ZERO,
                None,
            )?;
        }
        Ok(due.len())
    })
}
