//! Micro-deposits (小额打款验证, seed 002) are payout orders of kind `verification`: onboarding
//! asks for one here, it is booked as the platform's expense (never the merchant's money) and sent,
//! asked about and recorded like every other payout. When one settles, a [`VerificationSettled`]
//! job tells onboarding, which owns what the result means for the application.
use chrono::Utc;
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, PayoutId,
    calendar::BusinessCalendar,
    payouts::{PayoutKind, PayoutState},
};
use storage::{
    jobs::Job,
    payouts::{self as rows, NewPayout, PayoutRow},
};

use crate::{PayoutError, jobs::SendPayout, transition};

/// Where micro-deposits go out, and the business day they are booked on.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The payout channel's name.
    pub channel: &'static str,
    pub calendar: BusinessCalendar,
}

/// A micro-deposit to send.
#[derive(Debug, Clone, Copy)]
pub struct MicroDeposit<'a> {
    pub merchant_id: MerchantId,
    pub amount: Amount,
    pub out_trade_no: &'a str,
    /// Who started the verification.
    pub requested_by: &'a str,
}

/// Writes the micro-deposit's payout to the merchant's settlement account as it is now, with its
/// booking and its submit job, in the caller's transaction. It never waits for approval: it is
/// the platform's own money, under one yuan.
pub fn create(conn: &mut PgConnection, route: Route, deposit: &MicroDeposit<'_>) -> Result<PayoutRow, PayoutError> {
    let merchant = rows::candidate(conn, deposit.merchant_id)?.ok_or(PayoutError::NotFound)?;
    let new = NewPayout {
        out_trade_no: deposit.out_trade_no,
        kind: PayoutKind::Verification,
        merchant_id: deposit.merchant_id,
        run_id: None,
        amount_fen: deposit.amount,
        fee_fen: Amount::ZERO,
        state: PayoutState::Created,
        channel: route.channel,
        account_type: merchant.account_type,
        account_holder: &merchant.account_holder,
        account_number: merchant.account_number.digits(),
        bank_code: &merchant.bank_code,
        cnaps_code: merchant.cnaps_code.as_deref(),
        business_date: route.calendar.date_of(Utc::now()),
        triggered_by: deposit.requested_by,
        out_withdraw_no: None,
        notify_url: None,
    };
    let row = rows::insert(conn, &new, deposit.requested_by)?;
    transition::reserve(conn, &route.calendar, &row)?;
    storage::jobs::enqueue(conn, SendPayout { payout_id: row.id }.now()?)?;
    Ok(row)
}

/// A micro-deposit's payout reached an outcome (paid, refused, returned): onboarding's handler
/// moves the verification on. Enqueued in the transaction of that transition.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct VerificationSettled {
    pub payout_id: PayoutId,
}

impl Job for VerificationSettled {
    const KIND: &'static str = "payouts.verification_settled";
}

/// Tells onboarding of a verification payout's outcome, in the transition's transaction.
pub(crate) fn announce(conn: &mut PgConnection, payout: &PayoutRow) -> Result<(), PayoutError> {
    let settled = matches!(payout.state, PayoutState::Succeeded | PayoutState::Failed | PayoutState::Returned);
    if payout.kind == PayoutKind::Verification && settled {
        storage::jobs::enqueue(conn, VerificationSettled { payout_id: payout.id }.now()?)?;
    }
    Ok(())
}
