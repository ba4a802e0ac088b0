//! Orders of merchants whose payments go through an upstream. Our order is placed here first (the
//! gateway's usual path); then it is placed there under our `trade_no`, and the upstream's cashier
//! code is what the caller gets. An order whose placing was not answered stays `placing` and is
//! placed again under the same number — by the caller's retry or by the periodic job — which the
//! upstream answers with the same order.
//!
//! What the upstream says of a payment is booked through the same recorder as every callback:
//! its notify (verified, then confirmed by a query: `orders::callbacks`), or a query made when
//! the caller asks about an order that is still waiting here.
use channel::{
    Registry,
    fshows::{CallError, Fshows, OrderThere, OrderToPlace, PaymentThere},
};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::{
    MerchantId, OrderId,
    orders::OrderState,
    upstream::{RegistrationState, UpstreamOrderState},
};
use orders::{
    Order,
    recorder::{PaymentRecorder, Report},
};
use storage::{
    Pool,
    database::run_blocking,
    upstream::{self as rows, UpstreamOrderRow},
};

use crate::UpstreamError;

/// Where an order's payment is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Here: the built-in cashier.
    Here,
    /// At the upstream: its cashier code.
    Placed { qr_code: String },
    /// The upstream did not answer for certain: the same order is placed again on a retry.
    Unknown(String),
    /// The upstream refused the order (its code and message); the order is closed here.
    Refused(String),
    /// The merchant's payments go to an upstream that has not finished registering it.
    NotRegistered,
}

/// The upstream that takes the merchant's payments, if they go to one, and the merchant's id there.
enum Route {
    Here,
    Upstream { channel: String, sub_merchant_id: Option<String> },
}

fn route(conn: &mut PgConnection, channels: &Registry, merchant_id: MerchantId) -> Result<Route, UpstreamError> {
    let channel = rows::pay_in_channel(conn, merchant_id)?.unwrap_or_else(|| channels.payments_default().to_string());
    if channels.upstream(&channel).is_none() {
        return Ok(Route::Here);
    }
    let registration = rows::find_registration(conn, merchant_id)?;
    let sub_merchant_id = registration
        .filter(|row| row.state == RegistrationState::Ready && row.channel == channel)
        .and_then(|row| row.upstream_sub_merchant_id);
    Ok(Route::Upstream { channel, sub_merchant_id })
}

/// Places a new (or retried) order where its merchant's payments go. Called with no transaction
/// open; a deployment without upstreams answers [`Placement::Here`] without asking anything.
pub async fn place(pool: &Pool, channels: &Registry, order: &Order) -> Result<Placement, UpstreamError> {
    if channels.upstream_names().is_empty() {
        return Ok(Placement::Here);
    }
    let (order_id, merchant_id) = (order.id(), order.merchant_id());
    let routes = channels.clone();
    let noted = run_blocking(pool, move |conn| {
        // An order placed at an upstream before stays there, wherever its merchant is routed now.
        if let Some(row) = rows::find_order(conn, order_id)? {
            return Ok(Noted::Row(row));
        }
        Ok::<_, UpstreamError>(match route(conn, &routes, merchant_id)? {
            Route::Here => Noted::Here,
            Route::Upstream { sub_merchant_id: None, .. } => Noted::NotRegistered,
            Route::Upstream { channel, sub_merchant_id: Some(_) } => {
                Noted::Row(rows::note_placing(conn, order_id, &channel)?)
            }
        })
    })
    .await?;
    let row = match noted {
        Noted::Here => return Ok(Placement::Here),
        Noted::NotRegistered => return Ok(Placement::NotRegistered),
        Noted::Row(row) => row,
    };
    match row.state {
        UpstreamOrderState::Placed => Ok(Placement::Placed { qr_code: row.qr_code.unwrap_or_default() }),
        UpstreamOrderState::Refused => Ok(Placement::Refused(row.detail)),
        UpstreamOrderState::Placing => {
            let (Some(upstream), Some(sub_merchant_id)) =
                (channels.upstream(&row.channel), registered_id(pool, merchant_id).await?)
            else {
                return Ok(Placement::Unknown(format!("the upstream {} cannot be asked now", row.channel)));
            };
            place_there(pool, &upstream, order, &sub_merchant_id).await
        }
    }
}

/// What is known of an order's placing before the upstream is asked.
enum Noted {
    Here,
    NotRegistered,
    Row(UpstreamOrderRow),
}

async fn registered_id(pool: &Pool, merchant_id: MerchantId) -> Result<Option<String>, UpstreamError> {
    run_blocking(pool, move |conn| {
        Ok::<_, UpstreamError>(rows::find_registration(conn, merchant_id)?.and_then(|row| row.upstream_sub_merchant_id))
    })
    .await
}

/// Asks the upstream to place the order and writes down what it said.
async fn place_there(
    pool: &Pool,
    upstream: &Fshows,
    order: &Order,
    sub_merchant_id: &str,
) -> Result<Placement, UpstreamError> {
    let to_place = OrderToPlace {
        sub_merchant_id,
        out_trade_no: order.trade_no(),
        body: order.body(),
        total: order.total(),
        order_type: order.order_type.code(),
    };
    let answer = upstream.place_order(&to_place).await;
    let order_id = order.id();
    run_blocking(pool, move |conn| match answer {
        Ok(placed) => {
            rows::mark_placed(conn, order_id, &placed.trade_no, &placed.qr_code)?;
            Ok(Placement::Placed { qr_code: placed.qr_code })
        }
        Err(CallError::Refused { code, message }) if code != "-206" && !code.starts_with("-3") && code != "-200" => {
            let why = format!("the upstream refused the order: {code} {message}");
            refuse(conn, order_id, &why)?;
            Ok(Placement::Refused(why))
        }
        Err(error) => {
            let why = error.to_string();
            rows::note_order(conn, order_id, UpstreamOrderState::Placing, &why)?;
            Ok::<_, UpstreamError>(Placement::Unknown(why))
        }
    })
    .await
}

/// The upstream will not take the order: it is refused there and, if still waiting (nobody can pay
/// it), closed here, in one transaction.
fn refuse(conn: &mut PgConnection, order_id: OrderId, why: &str) -> Result<(), UpstreamError> {
    storage::database::transaction(conn, |conn| {
        let waiting = orders::order::lock(conn, order_id)?.state == OrderState::Waiting;
        if rows::note_order(conn, order_id, UpstreamOrderState::Refused, why)? && waiting {
            orders::lifecycle::close(conn, order_id, "upstream")?;
        }
        Ok(())
    })
}

/// Orders whose placing went unanswered for a while are placed again under their number, so the
/// upstream's answer (and its cashier code) is found even if the caller never retries — whatever
/// became of the order meanwhile (a query may have found it paid): the same number is the same
/// order there.
pub async fn place_unanswered(pool: &Pool, channels: &Registry, now: DateTime<Utc>) -> Result<usize, UpstreamError> {
    const BATCH: i64 = 20;
    let before = now - chrono::Duration::seconds(30);
    let placing = run_blocking(pool, move |conn| {
        let rows = rows::placing_before(conn, before, BATCH)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(order) = orders::order::find(conn, row.order_id)? {
                found.push(order);
            }
        }
        Ok::<_, UpstreamError>(found)
    })
    .await?;
    for order in &placing {
        if order.state == OrderState::Closed {
            // Expired (or closed) here before the upstream answered: closed there too, never
            // placed again.
            forget_closed(pool, channels, order).await?;
            continue;
        }
        let placement = place(pool, channels, order).await?;
        tracing::info!(trade_no = %order.trade_no(), ?placement, "an unanswered upstream order placed again");
    }
    Ok(placing.len())
}

/// What closing an order came to.
#[derive(Debug)]
pub enum Closing {
    Closed(Box<Order>),
    /// The upstream says it is paid: the payment is booked (if it was not yet) and it stays open.
    PaidThere,
    /// The upstream did not answer for certain: nothing changed.
    Unknown(String),
}

/// Closes an order, at its upstream first when it was placed at one (so it can no longer be paid
/// there), then here — with, for one placed at an upstream, its row marked so it is never placed
/// again. Called with no transaction open.
pub async fn close(
    pool: &Pool,
    channels: &Registry,
    payments: &PaymentRecorder,
    order: &Order,
    by: &str,
) -> Result<Closing, UpstreamError> {
    let order_id = order.id();
    let placed = run_blocking(pool, move |conn| placed_at(conn, order_id)).await?;
    if let Some(row) = placed.filter(|row| row.state != UpstreamOrderState::Refused) {
        let Some(upstream) = channels.upstream(&row.channel) else {
            return Ok(Closing::Unknown(format!("the upstream {} is not configured", row.channel)));
        };
        match upstream.close_order(order.trade_no()).await {
            // Closed there, or never placed there: nothing can be paid there any more.
            Ok(()) => {}
            Err(CallError::Refused { code, .. }) if code == "-207" => {}
            // It cannot be closed there: closed already, or paid — which the upstream's query says.
            Err(CallError::Refused { code, .. }) if code == "-220" => {
                match upstream.query_order(order.trade_no()).await {
                    Ok(Some(there)) if there.status == PaymentThere::Closed => {}
                    Ok(Some(there)) if there.status == PaymentThere::Paid && there.total == order.total() => {
                        book(payments, &upstream, order, &there).await?;
                        return Ok(Closing::PaidThere);
                    }
                    Ok(there) => return Ok(Closing::Unknown(format!("the upstream refused to close it: {there:?}"))),
                    Err(error) => return Ok(Closing::Unknown(error.to_string())),
                }
            }
            Err(error) => return Ok(Closing::Unknown(error.to_string())),
        }
    }
    let by = by.to_string();
    let closed = run_blocking(pool, move |conn| {
        storage::database::transaction(conn, |conn| {
            rows::note_order(conn, order_id, UpstreamOrderState::Refused, "closed before the upstream placed it")?;
            Ok::<_, UpstreamError>(orders::lifecycle::close(conn, order_id, &by)?)
        })
    })
    .await?;
    Ok(Closing::Closed(Box::new(closed)))
}

/// Closes at its upstream an order closed here while its placing was unanswered, and marks it so
/// it is never placed again; left for the next pass if the upstream does not answer.
async fn forget_closed(pool: &Pool, channels: &Registry, order: &Order) -> Result<(), UpstreamError> {
    let order_id = order.id();
    let Some(row) = run_blocking(pool, move |conn| placed_at(conn, order_id)).await? else { return Ok(()) };
    let Some(upstream) = channels.upstream(&row.channel) else { return Ok(()) };
    match upstream.close_order(order.trade_no()).await {
        // Closed there, never placed there, or closed (or paid: its notify tells) already.
        Ok(()) => {}
        Err(CallError::Refused { code, .. }) if code == "-207" || code == "-220" => {}
        Err(error) => {
            tracing::warn!(trade_no = %order.trade_no(), %error, "a closed order could not be closed upstream yet");
            return Ok(());
        }
    }
    run_blocking(pool, move |conn| {
        Ok::<_, UpstreamError>(rows::note_order(
            conn,
            order_id,
            UpstreamOrderState::Refused,
            "closed here before the upstream answered",
        )?)
    })
    .await?;
    Ok(())
}

/// The order's row at its upstream, if it was placed at one.
pub fn placed_at(conn: &mut PgConnection, order_id: OrderId) -> Result<Option<UpstreamOrderRow>, UpstreamError> {
    Ok(rows::find_order(conn, order_id)?)
}

/// For an order still waiting here that was placed at an upstream: asks the upstream, and books
/// the payment if it says paid (for the order's amount, through the same recorder as every
/// callback). Returns whether a payment was booked. An order paid or closed here, or one taken
/// here, is not asked about.
pub async fn settle_by_query(
    pool: &Pool,
    channels: &Registry,
    payments: &PaymentRecorder,
    order: &Order,
) -> Result<bool, UpstreamError> {
    if order.state != OrderState::Waiting || channels.upstream_names().is_empty() {
        return Ok(false);
    }
    let order_id = order.id();
    let Some(row) = run_blocking(pool, move |conn| placed_at(conn, order_id)).await? else { return Ok(false) };
    let Some(upstream) = channels.upstream(&row.channel) else { return Ok(false) };
    let there = match upstream.query_order(order.trade_no()).await {
        Ok(there) => there,
        Err(error) => {
            tracing::warn!(trade_no = %order.trade_no(), %error, "the upstream could not be asked about an order");
            return Ok(false);
        }
    };
    match there {
        Some(there) if there.status == PaymentThere::Paid && there.total == order.total() => {
            book(payments, upstream.as_ref(), order, &there).await
        }
        _ => Ok(false),
    }
}

/// Books a payment the upstream's query reported.
async fn book(
    payments: &PaymentRecorder,
    upstream: &Fshows,
    order: &Order,
    there: &OrderThere,
) -> Result<bool, UpstreamError> {
    let report = Report {
        merchant_id: Some(order.merchant_id()),
        channel: channel::PayIn::name(upstream).to_string(),
        trade_no: order.trade_no().to_string(),
        payload: serde_json::json!({
            "source": "query",
            "trade_no": there.trade_no,
            "out_trade_no": order.trade_no(),
            "total_fee": there.total.to_yuan_string(),
        }),
        at: Utc::now(),
    };
    let payments = payments.clone();
    let recorded = tokio::task::spawn_blocking(move || payments.record(report))
        .await
        .map_err(|_| UpstreamError::RecorderStopped)?
        .map_err(|_| UpstreamError::RecorderStopped)?;
    Ok(recorded.is_ok())
}
