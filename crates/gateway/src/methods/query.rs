//! `fshows.liquidation.alipay.trade.query` (the name fshows uses for every channel) and its alias
//! `fshows.liquidation.jdpay.query`: the order as it is now, with `status` 1 waiting, 2 paid,
//! 9 closed, and its refund totals.
use super::{Call, ReturnValue, visible_order};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let order = visible_order(call)?;
    let merchant = storage::merchants::find(call.conn, order.row.merchant_id)?.ok_or(GatewayError::OrderNotFound)?;
    let row = &order.row;
    Ok(vec![
        ("trade_no", ReplyValue::text(row.trade_no.clone())),
        ("out_trade_no", ReplyValue::text(row.out_trade_no.clone())),
        ("sub_merchant_id", ReplyValue::text(merchant.sub_merchant_id.unwrap_or_default())),
        ("status", ReplyValue::Number(i64::from(order.state.status_code()).into())),
        ("state", ReplyValue::text(order.state.as_str())),
        ("total_fee", ReplyValue::amount(row.total_fee_fen)),
        ("net_receipt_amount", ReplyValue::amount(row.net_receipt_fen)),
        ("bank_commission_fee", ReplyValue::amount(row.bank_commission_fen)),
        ("pay_platform_fee", ReplyValue::amount(row.pay_platform_fen)),
        ("liquidator_commission_fee", ReplyValue::amount(row.liquidator_commission_fen)),
        ("refund_fee", ReplyValue::amount(row.refunded_fen)),
        ("refundable_fee", ReplyValue::amount(order.unrefunded())),
        ("pay_time", ReplyValue::text(row.paid_at.map(orders::notify::china_time).unwrap_or_default())),
    ])
}
