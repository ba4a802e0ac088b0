//! Maker-checker (SPEC §8): a payout above the approval amount waits until a second operator
//! approves it (handed to the channel) or rejects it (the money and the fee go back). The one who
//! decides may be neither the one who triggered the run nor the one who last changed the
//! merchant's bank account. Every decision is audited in its own transaction.
use chrono::Utc;
use diesel::PgConnection;
use domain::{
    PayoutId,
    calendar::BusinessCalendar,
    payouts::{PayoutState, PayoutTransition},
};
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    jobs::Job,
    payouts::{self as rows, PayoutRow},
};

use crate::{
    PayoutError, Settings,
    jobs::SendPayout,
    transition::{self, Details},
};

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("the payout is not waiting for approval")]
    NotAwaiting,
    #[error("the operator who triggered the payout cannot also approve or reject it")]
    SameAsTrigger,
    #[error("the operator who last changed the merchant's bank account cannot approve or reject its payout")]
    ChangedTheAccount,
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error(transparent)]
    Payout(#[from] PayoutError),
}

impl From<storage::StorageError> for ApprovalError {
    fn from(error: storage::StorageError) -> Self {
        ApprovalError::Payout(error.into())
    }
}

/// Approves the payout: submitted, and its submit job written, in one transaction with the audit row.
pub fn approve(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    settings: &Settings,
    actor: &Actor,
    id: PayoutId,
) -> Result<PayoutRow, ApprovalError> {
    storage::database::transaction(conn, |conn| {
        let payout = awaiting(conn, actor, id)?;
        let details = Details { next_query_at: Some(Utc::now() + settings.first_query_after()), ..Details::default() };
        let approved = transition::apply(conn, calendar, &payout, PayoutTransition::Approve, &actor.name, details)?;
        storage::jobs::enqueue(conn, SendPayout { payout_id: approved.id }.now()?)?;
        audited(conn, actor, "payout.approve", &approved, None)?;
        Ok(approved)
    })
}

/// Rejects the payout: the money and the fee go back to available, with the reason.
pub fn reject(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    actor: &Actor,
    id: PayoutId,
    reason: &str,
) -> Result<PayoutRow, ApprovalError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApprovalError::ReasonRequired);
    }
    storage::database::transaction(conn, |conn| {
        let payout = awaiting(conn, actor, id)?;
        let details = Details { detail: Some(reason), failure_reason: Some(reason), ..Details::default() };
        let rejected = transition::apply(conn, calendar, &payout, PayoutTransition::Reject, &actor.name, details)?;
        audited(conn, actor, "payout.reject", &rejected, Some(reason))?;
        Ok(rejected)
    })
}

/// The payout, locked, if it waits for approval and `actor` may decide on it.
fn awaiting(conn: &mut PgConnection, actor: &Actor, id: PayoutId) -> Result<PayoutRow, ApprovalError> {
    let payout = rows::find_for_update(conn, id)?.ok_or(PayoutError::NotFound)?;
    if payout.state != PayoutState::AwaitingApproval {
        return Err(ApprovalError::NotAwaiting);
    }
    if payout.triggered_by == actor.name {
        return Err(ApprovalError::SameAsTrigger);
    }
    let account_change = audit::last_actor(conn, "merchant.bank_account", &format!("merchant:{}", payout.merchant_id))?;
    let changed_it = account_change.is_some_and(|entry| match (entry.operator_id, actor.operator_id) {
        (Some(changer), Some(decider)) => changer == decider,
        _ => entry.actor == actor.name,
    });
    if changed_it {
        return Err(ApprovalError::ChangedTheAccount);
    }
    Ok(payout)
}

fn audited(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &'static str,
    payout: &PayoutRow,
    reason: Option<&str>,
) -> Result<(), ApprovalError> {
    let after = json!({
        "out_trade_no": payout.out_trade_no,
        "amount_fen": payout.amount_fen.fen(),
        "state": payout.state.as_str(),
        "reason": reason,
    });
    let entry = NewEntry { action, target: format!("payout:{}", payout.id), before: None, after: Some(after) };
    audit::record(conn, actor, entry)?;
    Ok(())
}
