//! Receiving a payment callback from a channel (SPEC §6): verified by the channel, checked against
//! the order, kept for an operator when refused, and handed to the payment recorder (batched with
//! concurrent callbacks) when good. The one path every channel's `/channel/{name}/notify` and the
//! sandbox cashier use. A payment that fails changes nothing.
use channel::{Confirmation, PayIn};
use chrono::Utc;
use domain::orders::CallbackOutcome;
use serde_json::Value;
use storage::{Pool, StorageError, callbacks, database::run_blocking};

use crate::{
    OrderError,
    lifecycle::Payment,
    order,
    recorder::{PaymentRecorder, Report},
};

/// Why a callback was not applied.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback does not verify: {0}")]
    BadSignature(String),
    #[error("no order has this trade_no")]
    UnknownOrder,
    #[error("the callback's amount differs from the order's")]
    AmountMismatch,
    #[error("the payment recorder has stopped")]
    RecorderStopped,
    #[error("the channel's own records disagree: {0}")]
    Disagrees(String),
    #[error("the channel could not confirm the payment: {0}")]
    Unconfirmed(String),
    #[error("the order was not placed at this channel")]
    WrongChannel,
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl CallbackError {
    /// Nothing was decided (the database, the recorder or the channel could not be reached): the
    /// same callback, sent again, is applied once.
    pub fn is_temporary(&self) -> bool {
        match self {
            CallbackError::Storage(_) | CallbackError::RecorderStopped | CallbackError::Unconfirmed(_) => true,
            CallbackError::Order(error) => error.is_temporary(),
            _ => false,
        }
    }
}

/// Receives one callback: `Ok(None)` when it reports a failed payment (nothing to do), the
/// payment's outcome otherwise.
pub async fn receive(
    pool: &Pool,
    payments: &PaymentRecorder,
    channel: &dyn PayIn,
    fields: Vec<(String, String)>,
) -> Result<Option<Payment>, CallbackError> {
    let payload = Value::Object(fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    let name = channel.name();
    let callback = match channel.parse_callback(&fields) {
        Ok(callback) => callback,
        Err(error) => {
            tracing::warn!(%error, channel = name, "callback refused");
            let trade_no = fields.iter().find(|(k, _)| k == "trade_no").map(|(_, v)| v.clone());
            run_blocking(pool, move |conn| {
                callbacks::record(conn, name, trade_no.as_deref(), payload, CallbackOutcome::Rejected, true)
            })
            .await?;
            return Err(CallbackError::BadSignature(error.to_string()));
        }
    };
    if !callback.paid {
        return Ok(None);
    }
    // Asked with no transaction open. A channel that cannot answer now gets a refusal it retries.
    match channel.confirm_payment(&callback).await {
        Ok(Confirmation::Confirmed) => {}
        Ok(Confirmation::Disagrees(why)) => {
            tracing::warn!(channel = name, trade_no = %callback.trade_no, %why, "a callback its channel does not confirm");
            let (trade_no, mut payload) = (callback.trade_no.clone(), payload);
            if let Value::Object(fields) = &mut payload {
                fields.insert("_disagreement".into(), Value::String(why.clone()));
            }
            run_blocking(pool, move |conn| {
                callbacks::record(conn, name, Some(&trade_no), payload, CallbackOutcome::Rejected, true)
            })
            .await?;
            return Err(CallbackError::Disagrees(why));
        }
        Err(error) => return Err(CallbackError::Unconfirmed(error.to_string())),
    }
    let trade_no = callback.trade_no.clone();
    let report = run_blocking(pool, move |conn| {
        // A signed callback for an order we do not have (misrouted, or from another deployment)
        // is kept for an operator like any other refused one.
        let Some(order) = order::find_by_trade_no(conn, &trade_no)? else {
            tracing::warn!(%trade_no, "callback for an unknown order");
            callbacks::record(conn, name, Some(&trade_no), payload, CallbackOutcome::Rejected, true)?;
            return Err(CallbackError::UnknownOrder);
        };
        // An order placed at an upstream is paid only through it; every other order only here.
        let placed_at = storage::upstream::find_order(conn, order.id())?.map(|row| row.channel);
        if placed_at.as_deref().unwrap_or(channel::sandbox::NAME) != name {
            tracing::warn!(%trade_no, "callback from a channel the order was not placed at");
            callbacks::record(conn, name, Some(&trade_no), payload, CallbackOutcome::Rejected, true)?;
            return Err(CallbackError::WrongChannel);
        }
        if order.total() != callback.amount {
            tracing::warn!(%trade_no, "callback amount differs from the order's");
            callbacks::record(conn, name, Some(&trade_no), payload, CallbackOutcome::Rejected, true)?;
            return Err(CallbackError::AmountMismatch);
        }
        Ok(Report {
            merchant_id: Some(order.row.merchant_id),
            channel: name.to_owned(),
            trade_no,
            payload,
            at: Utc::now(),
        })
    })
    .await?;
    // Waited for off the async runtime, holding no connection (the recorder takes its own).
    let payments = payments.clone();
    let recorded = tokio::task::spawn_blocking(move || payments.record(report))
        .await
        .map_err(|_| CallbackError::Storage(StorageError::TaskFailed))?;
    let outcome = recorded.map_err(|stopped| {
        tracing::error!(%stopped, "payment callback not recorded");
        CallbackError::RecorderStopped
    })?;
    Ok(Some(outcome?))
}
