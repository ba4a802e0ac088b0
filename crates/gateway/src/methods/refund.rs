//! `fshows.liquidation.pay.refund`: a partial or full refund, giving back its own split (one part
//! may be negative by a fen or two — SPEC §3). `out_refund_no` with the same amount answers with
//! the original refund. The refund of an order placed at an upstream is made there before the
//! reply, whose `status` then says `succeeded`, `failed` (refused there: nothing was refunded) or
//! `pending` (no certain answer yet: query it later).
use domain::{Amount, orders::OutRefundNo};
use orders::refund::RefundRequest;
use storage::orders::RefundRow;

use super::{Answer, Call, ReturnValue, visible_order};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

const MIN_REFUND: Amount = Amount::from_fen(1);
const MAX_REFUND: Amount = Amount::from_fen(10_000_000_000);

pub fn call(call: &mut Call<'_>) -> Result<Answer, GatewayError> {
    let out_refund_no = OutRefundNo::parse(&call.content.required("out_refund_no")?)
        .map_err(|e| GatewayError::invalid("out_refund_no", e))?;
    let refund_fee = Amount::parse_yuan_in(&call.content.required("refund_fee")?, MIN_REFUND, MAX_REFUND)
        .map_err(|e| GatewayError::invalid("refund_fee", e))?;
    let order = visible_order(call)?;
    let requested_by = format!("app:{}", call.app.app_id);
    let request = RefundRequest {
        order_id: order.id(),
        out_refund_no: &out_refund_no,
        amount: refund_fee,
        requested_by: &requested_by,
        at: call.now,
    };
    let refunded = orders::refund::refund(call.conn, &call.settings.calendar, &request)?;
    let refund = refunded.refund();
    if refund.state == domain::orders::RefundState::Pending {
        // The order was placed at an upstream: it makes the refund before the reply says how it went.
        return Ok(Answer::Refund(order, refund.clone()));
    }
    Ok(Answer::Reply(return_value(&order, refund)))
}

pub(crate) fn return_value(order: &orders::Order, refund: &RefundRow) -> ReturnValue {
    vec![
        ("refund_no", ReplyValue::text(refund.refund_no.clone())),
        ("out_refund_no", ReplyValue::text(refund.out_refund_no.clone())),
        ("trade_no", ReplyValue::text(order.trade_no().to_string())),
        ("out_trade_no", ReplyValue::text(order.out_trade_no().to_string())),
        ("refund_fee", ReplyValue::amount(refund.refund_fee_fen)),
        ("status", ReplyValue::text(refund.state.as_str())),
        ("bank_commission_fee", ReplyValue::amount(refund.bank_commission_fen)),
        ("pay_platform_fee", ReplyValue::amount(refund.pay_platform_fen)),
        ("liquidator_commission_fee", ReplyValue::amount(refund.liquidator_commission_fen)),
        ("net_receipt_amount", ReplyValue::amount(refund.net_receipt_fen)),
        ("refund_time", ReplyValue::text(orders::notify::china_time(refund.created_at))),
    ]
}
