//! Refunds of orders placed at an upstream. The refund is made here first — booked, so the money
//! is taken from the merchant before the payer gets it — and is `pending`; then the upstream is
//! asked to refund under our `refund_no`, and its word settles it (`orders::refund::settle_pending`):
//! done, or refused and given back. A refund whose answer was not certain stays pending and is
//! asked about later, and handed over again under the same number if the upstream never got it.
use channel::{
    Registry,
    fshows::{CallError, Fshows, REFUSES_A_REFUND, RefundThere},
};
use chrono::{DateTime, Utc};
use domain::{RefundId, calendar::BusinessCalendar, orders::RefundState};
use orders::{Order, refund::ChannelRefund};
use storage::{Pool, database::run_blocking, orders::RefundRow};

use crate::UpstreamError;

/// A pending refund with its order and the upstream it was placed at.
struct PendingRefund {
    refund: RefundRow,
    order: Order,
    channel: String,
}

async fn pending(pool: &Pool, refund_id: RefundId) -> Result<Option<PendingRefund>, UpstreamError> {
    run_blocking(pool, move |conn| {
        let Some(refund) = storage::orders::find_refund_by_id(conn, refund_id)? else { return Ok(None) };
        if refund.state != RefundState::Pending {
            return Ok(None);
        }
        let Some(order) = orders::order::find(conn, refund.order_id)? else { return Ok(None) };
        let Some(placed) = storage::upstream::find_order(conn, order.id())? else { return Ok(None) };
        Ok::<_, UpstreamError>(Some(PendingRefund { refund, order, channel: placed.channel }))
    })
    .await
}

/// Asks the upstream to make a pending refund (the same number again is the same refund) and
/// settles it with the answer. Returns the refund as it is now.
pub async fn refund_there(
    pool: &Pool,
    channels: &Registry,
    calendar: BusinessCalendar,
    refund_id: RefundId,
) -> Result<Option<RefundRow>, UpstreamError> {
    if let Some(pending) = pending(pool, refund_id).await?
        && let Some(upstream) = channels.upstream(&pending.channel)
    {
        let PendingRefund { refund, order, .. } = &pending;
        let answer = upstream.refund(order.trade_no(), &refund.refund_no, refund.refund_fee_fen).await;
        settle(pool, calendar, refund_id, outcome_of(answer)).await?;
    }
    run_blocking(pool, move |conn| Ok::<_, UpstreamError>(storage::orders::find_refund_by_id(conn, refund_id)?)).await
}

/// What an answer about a refund settles it as; `None` while it is not known.
fn outcome_of(answer: Result<RefundThere, CallError>) -> Option<ChannelRefund> {
    match answer {
        Ok(there) => match there.status {
            RefundState::Succeeded => Some(ChannelRefund::Succeeded { channel_refund_no: there.refund_no }),
            RefundState::Failed => {
                Some(ChannelRefund::Refused { reason: format!("the upstream's refund {} failed", there.refund_no) })
            }
            RefundState::Pending => None,
        },
        Err(CallError::Refused { code, message }) if REFUSES_A_REFUND.contains(&code.as_str()) => {
            Some(ChannelRefund::Refused { reason: format!("{code} {message}") })
        }
        Err(error) => {
            tracing::warn!(%error, "a refund's outcome at the upstream is not known yet");
            None
        }
    }
}

async fn settle(
    pool: &Pool,
    calendar: BusinessCalendar,
    refund_id: RefundId,
    outcome: Option<ChannelRefund>,
) -> Result<(), UpstreamError> {
    let Some(outcome) = outcome else { return Ok(()) };
    run_blocking(pool, move |conn| {
        orders::refund::settle_pending(conn, &calendar, refund_id, &outcome, Utc::now())?;
        Ok::<_, UpstreamError>(())
    })
    .await
}

/// Asks about every refund pending since before `now` less a grace (the request that made it
/// asks at once): one the upstream has is settled with its word, one it never got is handed over
/// again under its number.
pub async fn settle_pending(
    pool: &Pool,
    channels: &Registry,
    calendar: BusinessCalendar,
    now: DateTime<Utc>,
) -> Result<usize, UpstreamError> {
    const BATCH: i64 = 50;
    let before = now - chrono::Duration::seconds(10);
    let refunds = run_blocking(pool, move |conn| {
        Ok::<_, UpstreamError>(storage::orders::pending_refunds_before(conn, before, BATCH)?)
    })
    .await?;
    for refund in &refunds {
        let Some(pending) = pending(pool, refund.id).await? else { continue };
        let Some(upstream) = channels.upstream(&pending.channel) else { continue };
        ask(pool, &upstream, calendar, &pending).await?;
    }
    Ok(refunds.len())
}

async fn ask(
    pool: &Pool,
    upstream: &Fshows,
    calendar: BusinessCalendar,
    pending: &PendingRefund,
) -> Result<(), UpstreamError> {
    let PendingRefund { refund, order, .. } = pending;
    let amount = refund.refund_fee_fen;
    let answer = match upstream.query_refund(order.trade_no(), &refund.refund_no, amount).await {
        Ok(Some(there)) => Ok(there),
        Ok(None) => upstream.refund(order.trade_no(), &refund.refund_no, amount).await,
        Err(error) => Err(error),
    };
    settle(pool, calendar, refund.id, outcome_of(answer)).await
}
