//! What a merchant's server is told of its payout's result (SPEC §5: "when a refund or payout
//! settles"): a withdrawal's result goes to the `notify_url` of its request, a scheduled payout's
//! to the merchant's payout notify URL as it was when the payout was made, through the same
//! outbox, schedule and signature as orders' notifications, written in the transaction of the
//! change it announces.
use diesel::PgConnection;
use domain::{calendar::china, payouts::PayoutState};
use serde_json::json;
use storage::{
    notifications::{self, NewNotification},
    payouts::PayoutRow,
};

use crate::PayoutError;

/// The states a result is told in: the outcome known, or the payout sent back.
pub(crate) fn is_told(state: PayoutState) -> bool {
    matches!(state, PayoutState::Succeeded | PayoutState::Failed | PayoutState::Returned | PayoutState::Rejected)
}

/// Writes the notification of the payout's result, if it has an address to go to.
pub(crate) fn result(conn: &mut PgConnection, payout: &PayoutRow) -> Result<(), PayoutError> {
    let Some(url) = payout.notify_url.as_deref() else { return Ok(()) };
    let missing = |what: &str| PayoutError::BrokenInvariant(format!("payout {}: {what}", payout.id));
    let merchant =
        storage::merchants::find(conn, payout.merchant_id)?.ok_or_else(|| missing("its merchant is gone"))?;
    let app =
        storage::apps::find_by_merchant(conn, payout.merchant_id)?.ok_or_else(|| missing("its merchant has no app"))?;
    let fields = json!({
        "sub_merchant_id": merchant.sub_merchant_id.unwrap_or_default(),
        "kind": payout.kind.as_str(),
        "out_withdraw_no": payout.out_withdraw_no.clone().unwrap_or_default(),
        "withdraw_no": payout.out_trade_no,
        "amount": payout.amount_fen.to_yuan_string(),
        "fee": payout.fee_fen.to_yuan_string(),
        "status": payout.state.as_str(),
        "reason": payout.failure_reason.clone().unwrap_or_default(),
        "finish_time": payout
            .finished_at
            .map(|at| at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
    });
    notifications::enqueue(
        conn,
        NewNotification { kind: domain::orders::NotificationKind::Payout, order_id: None, app_id: app.id, url, fields },
    )?;
    Ok(())
}
