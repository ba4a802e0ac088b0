//! `fshows.liquidation.pay.refund.query`: a refund by `refund_no`, or by `out_refund_no` of an order
//! named by `trade_no` / `out_trade_no`.
use super::{Call, ReturnValue, visible_order, visible_to};
use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    if let Some(refund_no) = call.content.text("refund_no")? {
        let refund =
            storage::orders::find_refund_by_number(call.conn, &refund_no)?.ok_or(GatewayError::OrderNotFound)?;
        let order = orders::order::find(call.conn, refund.order_id)?.ok_or(GatewayError::OrderNotFound)?;
        let order = visible_to(call.conn, call.app, order)?;
        return Ok(super::refund::return_value(&order, &refund));
    }
    let out_refund_no = call.content.required("out_refund_no")?;
    let order = visible_order(call)?;
    let refund =
        storage::orders::find_refund(call.conn, order.id(), &out_refund_no)?.ok_or(GatewayError::OrderNotFound)?;
    Ok(super::refund::return_value(&order, &refund))
}
