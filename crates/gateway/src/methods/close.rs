//! `fshows.liquidation.order.close`: close an unpaid order (`-220` once it is paid or closed).
use super::{Call, ReturnValue, visible_order};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let order = visible_order(call)?;
    let closed = orders::lifecycle::close(call.conn, order.id(), &format!("app:{}", call.app.app_id))?;
    Ok(vec![
        ("trade_no", ReplyValue::text(closed.trade_no().to_string())),
        ("out_trade_no", ReplyValue::text(closed.out_trade_no().to_string())),
        ("status", ReplyValue::Number(i64::from(closed.state.status_code()).into())),
    ])
}
