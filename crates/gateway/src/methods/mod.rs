//! The method router: one module per method, registered here by name.
mod balance_query;
mod close;
mod download_bill;
mod query;
mod refund;
mod refund_query;
mod submerchant;
mod submerchant_bank_bind;
mod submerchant_create;
mod submerchant_query;
mod submerchant_rate_query;
mod submerchant_rate_set;
mod uniorder;
mod withdraw;

pub(crate) use close::reply as close_reply;
pub(crate) use query::reply as query_reply;
pub(crate) use refund::return_value as refund_reply;
pub(crate) use uniorder::return_value as uniorder_reply;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use storage::apps::AppRow;

use fshows::reply::ReplyValue;

use crate::{GatewaySettings, content::Content, error::GatewayError};

/// What a method gets: the verified calling app, its content, and a connection.
pub struct Call<'a> {
    pub conn: &'a mut PgConnection,
    pub app: &'a AppRow,
    pub content: &'a Content,
    pub now: DateTime<Utc>,
    pub settings: &'a GatewaySettings,
    /// Merchants as uniorder needs them, kept per node (checked by every insert, never stale), and
    /// the grouping of concurrent orders into one insert.
    pub placer: &'a orders::place::Placer,
    /// The deployment has upstreams that take payments: an order may have to be placed, or asked
    /// about, there before the reply.
    pub upstreams: bool,
}

/// What a method answers: its reply, or an order of a merchant whose payments may go through an
/// upstream, to place or ask about there (with no connection held) before the reply is made.
pub enum Answer {
    Reply(ReturnValue),
    /// uniorder: the order, placed here; the reply carries the cashier code of wherever it is paid.
    Place(orders::Order),
    /// A query: the order, which the upstream is asked about if it is still waiting here.
    Query(orders::Order),
    /// A close of an order that may have been placed at an upstream (closed there first), by whom.
    Close(orders::Order, String),
    /// A refund of an order placed at an upstream, pending until the upstream has made it.
    Refund(orders::Order, storage::orders::RefundRow),
}

/// A method's `return_value`, in the order its fields are sent.
pub type ReturnValue = Vec<(&'static str, ReplyValue)>;

pub type Method = fn(&mut Call<'_>) -> Result<Answer, GatewayError>;

/// A method whose reply is made by itself, as a [`Method`].
macro_rules! replies {
    ($method:path) => {
        |call: &mut Call<'_>| $method(call).map(Answer::Reply)
    };
}

/// Every method the gateway answers.
pub const METHODS: &[(&str, Method)] = &[
    ("fshows.liquidation.jdpay.uniorder", uniorder::call),
    ("fshows.liquidation.alipay.trade.query", query::call),
    ("fshows.liquidation.jdpay.query", query::call),
    ("fshows.liquidation.order.close", close::call),
    ("fshows.liquidation.pay.refund", refund::call),
    ("fshows.liquidation.pay.refund.query", replies!(refund_query::call)),
    ("fshows.liquidation.submerchant.create", replies!(submerchant_create::call)),
    ("fshows.liquidation.submerchant.query", replies!(submerchant_query::call)),
    ("fshows.liquidation.submerchant.bank.bind", replies!(submerchant_bank_bind::call)),
    ("fshows.liquidation.submerchant.rate.set", replies!(submerchant_rate_set::call)),
    ("fshows.liquidation.submerchant.rate.query", replies!(submerchant_rate_query::call)),
    ("fshows.liquidation.witness.balance.query", replies!(balance_query::call)),
    ("fshows.liquidation.witness.withdraw", replies!(withdraw::call)),
    ("fshows.liquidation.witness.withdraw.query", replies!(withdraw::query)),
    ("fshows.liquidation.finance.downloadbill", replies!(download_bill::call)),
];

pub fn find(method: &str) -> Option<Method> {
    METHODS.iter().find(|(name, _)| *name == method).map(|(_, method)| *method)
}

/// The order a call names by `trade_no` or `out_trade_no`, if the app may see it: the app that
/// placed it, the merchant's own app, or the ISV that onboarded the merchant.
pub(crate) fn visible_order(call: &mut Call<'_>) -> Result<orders::Order, GatewayError> {
    let trade_no = call.content.text("trade_no")?;
    let out_trade_no = call.content.text("out_trade_no")?;
    let order = match (trade_no, out_trade_no) {
        (Some(trade_no), _) => {
            let trade_no = domain::TradeNo::parse(&trade_no).map_err(|e| GatewayError::invalid("trade_no", e))?;
            orders::order::find_by_trade_no(call.conn, trade_no.as_ref())?
        }
        (None, Some(out_trade_no)) => {
            let out_trade_no =
                domain::OutTradeNo::parse(&out_trade_no).map_err(|e| GatewayError::invalid("out_trade_no", e))?;
            orders::order::find_by_out_trade_no(call.conn, call.app.id, out_trade_no.as_ref())?
        }
        (None, None) => return Err(GatewayError::invalid("out_trade_no", "out_trade_no or trade_no is required")),
    };
    visible_to(call.conn, call.app, order.ok_or(GatewayError::OrderNotFound)?)
}

/// The order, if `app` may see it; an order it may not see does not exist for it.
pub(crate) fn visible_to(
    conn: &mut PgConnection,
    app: &AppRow,
    order: orders::Order,
) -> Result<orders::Order, GatewayError> {
    if order.app_id() == app.id {
        return Ok(order);
    }
    let merchant = storage::merchants::find(conn, order.merchant_id())?.ok_or(GatewayError::OrderNotFound)?;
    if onboarding::access::may_act_for(app, merchant.id, merchant.owner_app_id) {
        Ok(order)
    } else {
        Err(GatewayError::OrderNotFound)
    }
}
