//! Withdrawals (`witness.withdraw`, SPEC §5): a payout now, asked for by the merchant's app,
//! through the same machinery as scheduled payouts. Idempotent on the app's `out_withdraw_no`:
//! the same request answers with the original payout; the same number for another amount is a
//! duplicate. The fee is the merchant's payout fee; without an amount, everything available
//! less the fee is withdrawn.
use chrono::Utc;
use diesel::PgConnection;
use domain::{
    Amount, MerchantId,
    calendar::BusinessCalendar,
    onboarding::ApplicationState,
    payouts::{OutWithdrawNo, PayoutKind, PayoutState},
};
use storage::{
    jobs::Job,
    payouts::{self as rows, NewPayout, PayoutRow},
};

use crate::{PayoutError, Settings, jobs::SendPayout, runs, transition};

pub struct WithdrawRequest<'a> {
    pub merchant_id: MerchantId,
    pub out_withdraw_no: &'a OutWithdrawNo,
    /// `None`: everything available, less the fee.
    pub amount: Option<Amount>,
    pub notify_url: Option<&'a str>,
    /// Who asked (`app:<app_id>`).
    pub requested_by: &'a str,
}

#[derive(Debug, Clone)]
pub enum Withdrawn {
    New(PayoutRow),
    /// The same request again: the original payout as it is now.
    Replay(PayoutRow),
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error("out_withdraw_no was used for another amount")]
    Duplicate,
    #[error("the available balance does not cover the amount and its fee")]
    InsufficientBalance,
    #[error("the merchant's payouts are stopped: {0}")]
    Stopped(String),
    #[error("the merchant is not approved")]
    NotApproved,
    #[error("the merchant does not exist")]
    UnknownMerchant,
    #[error(transparent)]
    Payout(#[from] PayoutError),
}

impl From<storage::StorageError> for WithdrawError {
    fn from(error: storage::StorageError) -> Self {
        WithdrawError::Payout(error.into())
    }
}

/// The withdrawal, its reservation and (unless it waits for approval) its submit job, in one
/// transaction; or the original one for a repeated request.
pub fn withdraw(
    conn: &mut PgConnection,
    settings: &Settings,
    calendar: &BusinessCalendar,
    channel: &str,
    request: &WithdrawRequest<'_>,
) -> Result<Withdrawn, WithdrawError> {
    let attempt = storage::database::transaction(conn, |conn| create(conn, settings, calendar, channel, request));
    match attempt {
        // Two identical requests at once: the loser answers with the winner's payout.
        Err(WithdrawError::Payout(PayoutError::Storage(error))) if error.is_unique_violation() => {
            replay(conn, request)?.ok_or(WithdrawError::Payout(PayoutError::Storage(error)))
        }
        other => other,
    }
}

fn create(
    conn: &mut PgConnection,
    settings: &Settings,
    calendar: &BusinessCalendar,
    channel: &str,
    request: &WithdrawRequest<'_>,
) -> Result<Withdrawn, WithdrawError> {
    if let Some(replayed) = replay(conn, request)? {
        return Ok(replayed);
    }
    let merchant = rows::candidate(conn, request.merchant_id)?.ok_or(WithdrawError::UnknownMerchant)?;
    if merchant.state != ApplicationState::Approved {
        return Err(WithdrawError::NotApproved);
    }
    if let Some(reason) = merchant.hold_reason.as_ref().or(merchant.pause_reason.as_ref()) {
        return Err(WithdrawError::Stopped(reason.clone()));
    }
    let fee_rule = runs::schedule_of(&merchant, &settings.default_schedule)?.fee;
    let available = runs::available_locked(conn, request.merchant_id)?;
    let (amount, fee) = match request.amount {
        Some(amount) => {
            let fee = fee_rule.fee_on(amount).map_err(PayoutError::from)?;
            let total = amount.checked_add(fee).ok_or(PayoutError::FeeOverflow)?;
            if total > available {
                return Err(WithdrawError::InsufficientBalance);
            }
            (amount, fee)
        }
        None => {
            fee_rule.largest_payout(available).map_err(PayoutError::from)?.ok_or(WithdrawError::InsufficientBalance)?
        }
    };
    let state = if amount > settings.approval_above { PayoutState::AwaitingApproval } else { PayoutState::Created };
    let out_trade_no = format!("WD{}_{}", request.merchant_id, request.out_withdraw_no.as_ref());
    let new = NewPayout {
        out_trade_no: &out_trade_no,
        kind: PayoutKind::Withdrawal,
        merchant_id: request.merchant_id,
        run_id: None,
        amount_fen: amount,
        fee_fen: fee,
        state,
        channel: merchant.payout_channel.as_deref().unwrap_or(channel),
        account_type: merchant.account_type,
        account_holder: &merchant.account_holder,
        account_number: merchant.account_number.digits(),
        bank_code: &merchant.bank_code,
        cnaps_code: merchant.cnaps_code.as_deref(),
        business_date: calendar.date_of(Utc::now()),
        triggered_by: request.requested_by,
        out_withdraw_no: Some(request.out_withdraw_no.as_ref()),
        notify_url: request.notify_url,
    };
    let row = rows::insert(conn, &new, request.requested_by)?;
    transition::reserve(conn, calendar, &row)?;
    if state == PayoutState::Created {
        storage::jobs::enqueue(conn, SendPayout { payout_id: row.id }.now()?)?;
    }
    Ok(Withdrawn::New(row))
}

/// The payout this number already made, if the request is the same (no amount, or the same one).
fn replay(conn: &mut PgConnection, request: &WithdrawRequest<'_>) -> Result<Option<Withdrawn>, WithdrawError> {
    let Some(existing) = rows::find_withdrawal(conn, request.merchant_id, request.out_withdraw_no.as_ref())? else {
        return Ok(None);
    };
    match request.amount {
        Some(amount) if amount != existing.amount_fen => Err(WithdrawError::Duplicate),
        _ => Ok(Some(Withdrawn::Replay(existing))),
    }
}
