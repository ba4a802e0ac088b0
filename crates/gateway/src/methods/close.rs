//! `fshows.liquidation.order.close`: close an unpaid order (`-220` once it is paid or closed). An
//! order placed at an upstream is closed there first, so it can no longer be paid there.
use super::{Answer, Call, ReturnValue, visible_order};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<Answer, GatewayError> {
    let order = visible_order(call)?;
    if call.upstreams && order.state == domain::orders::OrderState::Waiting {
        return Ok(Answer::Close(order, by(call)));
    }
    let closed = orders::lifecycle::close(call.conn, order.id(), &by(call))?;
    Ok(Answer::Reply(reply(&closed)))
}

fn by(call: &Call<'_>) -> String {
    format!("app:{}", call.app.app_id)
}

/// The order, closed.
pub fn reply(closed: &orders::Order) -> ReturnValue {
    vec![
        ("trade_no", ReplyValue::text(closed.trade_no().to_string())),
        ("out_trade_no", ReplyValue::text(closed.out_trade_no().to_string())),
        ("status", ReplyValue::Number(i64::from(closed.state.status_code()).into())),
    ]
}
