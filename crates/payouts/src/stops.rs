//! Stopping a merchant's payouts and letting them go again, by an operator, audited: a hold with
//! a reason, and confirming a settlement account after the bank returned a payout to it.
use diesel::PgConnection;
use domain::{MerchantId, payouts::StopKind};
use serde_json::json;
use storage::audit::{self, Actor, NewEntry};

use crate::PayoutError;

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("a hold needs a reason")]
    ReasonRequired,
    #[error("the merchant's payouts are not stopped that way")]
    NotStopped,
    #[error(transparent)]
    Payout(#[from] PayoutError),
}

impl From<storage::StorageError> for StopError {
    fn from(error: storage::StorageError) -> Self {
        StopError::Payout(error.into())
    }
}

/// Holds the merchant's payouts (runs skip it, saying why) until the hold is lifted.
pub fn hold(conn: &mut PgConnection, actor: &Actor, merchant_id: MerchantId, reason: &str) -> Result<(), StopError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StopError::ReasonRequired);
    }
    storage::database::transaction(conn, |conn| {
        storage::payouts::set_stop(conn, merchant_id, StopKind::Hold, reason, &actor.name)?;
        record(conn, actor, "payout.hold", merchant_id, json!({ "reason": reason }))
    })
}

/// Lifts the operator's hold.
pub fn release(conn: &mut PgConnection, actor: &Actor, merchant_id: MerchantId) -> Result<(), StopError> {
    lift(conn, actor, merchant_id, StopKind::Hold, "payout.release")
}

/// The operator confirms the settlement account a payout was returned from: payouts resume.
pub fn confirm_account(conn: &mut PgConnection, actor: &Actor, merchant_id: MerchantId) -> Result<(), StopError> {
    lift(conn, actor, merchant_id, StopKind::ReturnedAccount, "payout.confirm_account")
}

fn lift(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    kind: StopKind,
    action: &'static str,
) -> Result<(), StopError> {
    storage::database::transaction(conn, |conn| {
        if !storage::payouts::clear_stop(conn, merchant_id, kind)? {
            return Err(StopError::NotStopped);
        }
        record(conn, actor, action, merchant_id, json!({ "stop": kind.as_str() }))
    })
}

fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &'static str,
    merchant_id: MerchantId,
    after: serde_json::Value,
) -> Result<(), StopError> {
    let entry = NewEntry { action, target: format!("merchant:{merchant_id}"), before: None, after: Some(after) };
    audit::record(conn, actor, entry)?;
    Ok(())
}
