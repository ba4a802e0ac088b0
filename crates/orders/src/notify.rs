//! What a sub-merchant's server is told (seed 001): the outbox rows, written in the transaction of
//! the state change. Amounts are yuan text with two decimals, as in the gateway's replies.
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::orders::NotificationKind;
use serde_json::{Value, json};
use storage::{StorageError, notifications, orders::RefundRow};

use crate::Order;

fn yuan(amount: domain::Amount) -> String {
    amount.to_yuan_string()
}

/// `yyyy-MM-dd HH:mm:ss` in China Standard Time.
pub fn china_time(at: DateTime<Utc>) -> String {
    let offset = domain::calendar::china();
    at.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The fields of the "paid" notification; `status` is 2, the query methods' code for paid.
pub fn paid_fields(order: &Order) -> Value {
    json!({
        "out_trade_no": order.row.out_trade_no,
        "trade_no": order.row.trade_no,
        "status": "2",
        "total_fee": yuan(order.row.total_fee_fen),
        "net_receipt_amount": yuan(order.row.net_receipt_fen),
        "bank_commission_fee": yuan(order.row.bank_commission_fen),
        "pay_platform_fee": yuan(order.row.pay_platform_fen),
        "liquidator_commission_fee": yuan(order.row.liquidator_commission_fen),
        "pay_time": order.row.paid_at.map(china_time).unwrap_or_default(),
    })
}

/// The fields of a refund's notification, with the split it gave back.
pub fn refund_fields(order: &Order, refund: &RefundRow) -> Value {
    json!({
        "out_trade_no": order.row.out_trade_no,
        "trade_no": order.row.trade_no,
        "out_refund_no": refund.out_refund_no,
        "refund_no": refund.refund_no,
        "status": refund.state,
        "refund_fee": yuan(refund.refund_fee_fen),
        "net_receipt_amount": yuan(refund.net_receipt_fen),
        "bank_commission_fee": yuan(refund.bank_commission_fen),
        "pay_platform_fee": yuan(refund.pay_platform_fen),
        "liquidator_commission_fee": yuan(refund.liquidator_commission_fen),
        "refund_time": china_time(refund.created_at),
    })
}

/// Queues a notification when the order has a `notify_url` (none: nothing to send).
pub fn enqueue(
    conn: &mut PgConnection,
    kind: NotificationKind,
    order: &Order,
    fields: Value,
) -> Result<Option<i64>, StorageError> {
    let Some(url) = order.row.notify_url.as_deref() else { return Ok(None) };
    let notification =
        notifications::NewNotification { kind, order_id: Some(order.row.id), app_id: order.row.app_id, url, fields };
    notifications::enqueue(conn, notification).map(Some)
}
