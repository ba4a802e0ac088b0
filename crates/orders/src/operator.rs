//! What operators do to orders (from the console): refund, send a notification again, and mark a
//! channel callback as handled. Each takes the acting operator and writes its audit row in the
//! same transaction as the change, so the change never commits without its entry; the rules
//! themselves are [`crate::refund`], the notification outbox and the guarded update of a callback.
use crate::{
    OrderError,
    refund::{RefundRequest, Refunded},
};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::{
    Amount, NotificationId, OrderId,
    calendar::BusinessCalendar,
    orders::{NotificationState, OutRefundNo},
};
use serde_json::json;
use storage::{
    StorageError,
    audit::{self, Actor, NewEntry},
    callbacks, notifications,
};

/// The longest resolution note kept.
pub const MAX_NOTE_CHARS: usize = 500;

/// A refund requested by an operator (`requested_by` = `operator:{username}`). A replay (same
/// `out_refund_no`, same amount) changes nothing and so writes no audit row.
pub fn refund(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    actor: &Actor,
    order_id: OrderId,
    out_refund_no: &OutRefundNo,
    amount: Amount,
    now: DateTime<Utc>,
) -> Result<Refunded, OrderError> {
    storage::database::transaction(conn, |conn| {
        let requested_by = format!("operator:{}", actor.name);
        let request = RefundRequest { order_id, out_refund_no, amount, requested_by: &requested_by, at: now };
        let outcome = crate::refund::refund(conn, calendar, &request)?;
        if let Refunded::New { order, refund } = &outcome {
            let refunded_before =
                order.refunded().checked_sub(refund.refund_fee_fen).filter(|before| !before.is_negative()).ok_or_else(
                    || {
                        OrderError::BrokenInvariant(format!(
                            "refund {} exceeds its order's refunded total",
                            refund.refund_no
                        ))
                    },
                )?;
            audit::record(
                conn,
                actor,
                NewEntry {
                    action: "order.refund",
                    target: format!("order:{order_id}"),
                    before: Some(json!({ "refunded": refunded_before.to_string() })),
                    after: Some(json!({
                        "refund_no": refund.refund_no,
                        "out_refund_no": refund.out_refund_no,
                        "refund_fee": refund.refund_fee_fen.to_string(),
                        "refunded": order.refunded().to_string(),
                        "state": order.state.as_str(),
                    })),
                },
            )?;
        }
        Ok(outcome)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAgain {
    Queued,
    /// A worker holds it and is sending right now: queueing it again could send it twice at once.
    InFlight,
    /// The order has no such notification.
    NotFound,
}

/// Queues one more send of an order's notification, now. The row is locked while deciding, so a
/// sender cannot claim it between the check for a send in flight and the update.
pub fn send_again(
    conn: &mut PgConnection,
    actor: &Actor,
    order_id: OrderId,
    notification_id: NotificationId,
    now: DateTime<Utc>,
) -> Result<SendAgain, StorageError> {
    storage::database::transaction(conn, |conn| {
        let Some(notification) =
            notifications::find_for_update(conn, notification_id)?.filter(|row| row.order_id == Some(order_id))
        else {
            return Ok(SendAgain::NotFound);
        };
        if notification.locked_until.is_some_and(|until| until > now) {
            return Ok(SendAgain::InFlight);
        }
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "notification.send_again",
                target: format!("notification:{notification_id}"),
                before: Some(
                    json!({ "order_id": order_id, "state": notification.state, "attempts": notification.attempts }),
                ),
                after: Some(json!({ "state": NotificationState::Pending })),
            },
        )?;
        Ok(if notifications::send_again(conn, notification_id, now)? { SendAgain::Queued } else { SendAgain::NotFound })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Resolved,
    /// Another operator resolved it first, or it never needed attention.
    NotOpen,
    NotFound,
}

/// Marks a callback that needed attention as handled, with the operator's note.
pub fn resolve_callback(
    conn: &mut PgConnection,
    actor: &Actor,
    callback_id: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Resolution, StorageError> {
    storage::database::transaction(conn, |conn| {
        let Some(callback) = callbacks::find(conn, callback_id)? else {
            return Ok(Resolution::NotFound);
        };
        if !callbacks::resolve(conn, callback_id, &actor.name, note, now)? {
            return Ok(Resolution::NotOpen);
        }
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "callback.resolve",
                target: format!("callback:{callback_id}"),
                before: Some(json!({ "outcome": callback.outcome, "trade_no": callback.trade_no })),
                after: Some(json!({ "resolution_note": note })),
            },
        )?;
        Ok(Resolution::Resolved)
    })
}
