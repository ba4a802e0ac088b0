//! `fshows.liquidation.alipay.trade.query` (the name fshows uses for every channel) and its alias
//! `fshows.liquidation.jdpay.query`: the order as it is now, with `status` 1 waiting, 2 paid,
//! 9 closed, and its refund totals. An order still waiting whose payment is taken at an upstream
//! is asked about there first, and booked if the upstream says it is paid.
use diesel::PgConnection;

use super::{Answer, Call, ReturnValue, visible_order};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<Answer, GatewayError> {
    let order = visible_order(call)?;
    if call.upstreams && order.state == domain::orders::OrderState::Waiting {
        return Ok(Answer::Query(order));
    }
    reply(call.conn, &order).map(Answer::Reply)
}

/// The order as it is now.
pub fn reply(conn: &mut PgConnection, order: &orders::Order) -> Result<ReturnValue, GatewayError> {
    let merchant = storage::merchants::find(conn, order.merchant_id())?.ok_or(GatewayError::OrderNotFound)?;
    let split = order.split();
    Ok(vec![
        ("trade_no", ReplyValue::text(order.trade_no())),
        ("out_trade_no", ReplyValue::text(order.out_trade_no())),
        ("sub_merchant_id", ReplyValue::text(merchant.sub_merchant_id.unwrap_or_default())),
        ("status", ReplyValue::Number(i64::from(order.state.status_code()).into())),
        ("state", ReplyValue::text(order.state.as_str())),
        ("total_fee", ReplyValue::amount(order.total())),
        ("net_receipt_amount", ReplyValue::amount(split.net_receipt)),
        ("bank_commission_fee", ReplyValue::amount(split.bank_commission)),
        ("pay_platform_fee", ReplyValue::amount(split.pay_platform)),
        ("liquidator_commission_fee", ReplyValue::amount(split.liquidator_commission)),
        ("refund_fee", ReplyValue::amount(order.refunded())),
        ("refundable_fee", ReplyValue::amount(order.unrefunded())),
        ("pay_time", ReplyValue::text(order.paid_at().map(orders::notify::china_time).unwrap_or_default())),
    ])
}
