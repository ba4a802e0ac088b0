//! Bank-account verification by micro-deposit (小额打款验证, seed 002).
//!
//! Starting it writes a random 0.01–0.99 yuan payout order of kind `verification` through
//! `payouts` (booked as the platform's expense, sent and followed like every payout), in one
//! transaction. When the payout settles, [`follow`] moves the deposit on. The merchant (or an
//! operator for it) then names the amount: right moves the application to review, three wrong
//! answers send it back to `submitted`.
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, PayoutId,
    onboarding::{ApplicationState, DepositEvent, DepositState, Transition},
    payouts::PayoutState,
};
use payouts::verification::{MicroDeposit, Route, VerificationSettled};
use rand::Rng;
use storage::{
    Pool, StorageError,
    audit::Actor,
    database::run_blocking,
    micro_deposits::{self, MicroDepositRow},
};

use crate::{
    OnboardingError,
    applications::{self, Merchant, china_now},
};

pub const MAX_WRONG_ANSWERS: i32 = 3;

/// Moves a submitted application to `verifying_account` and writes the micro-deposit with the
/// payout order that sends it (through `route`), in one transaction.
pub fn start(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    route: Route,
) -> Result<(Merchant, MicroDepositRow), OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = applications::lock(conn, merchant_id)?;
        let merchant = applications::apply(conn, actor, merchant, Transition::StartVerification, None)?;
        let amount_fen = Amount::from_fen(rand::thread_rng().gen_range(1..=99));
        let out_trade_no = format!(
            "MD{merchant_id}T{}{:04}",
            china_now().format("%Y%m%d%H%M%S"),
            rand::thread_rng().gen_range(0..10_000)
        );
        let sending =
            MicroDeposit { merchant_id, amount: amount_fen, out_trade_no: &out_trade_no, requested_by: &actor.name };
        let payout = payouts::verification::create(conn, route, &sending)?;
        let deposit = micro_deposits::insert(conn, merchant_id, amount_fen, &out_trade_no, payout.id)?;
        Ok((merchant, deposit))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// The money arrived: the applicant may name the amount now.
    Sent,
    /// The bank refused or returned it; the application went back to `submitted`.
    Failed,
    /// Nothing to do: already followed, or the verification ended meanwhile.
    AlreadyHandled,
}

/// The job handler for a micro-deposit's payout that reached an outcome.
pub async fn on_settled(pool: &Pool, job: VerificationSettled) -> Result<SendOutcome, OnboardingError> {
    let outcome = run_blocking(pool, move |conn| follow(conn, job.payout_id)).await?;
    tracing::info!(payout_id = %job.payout_id, ?outcome, "micro-deposit followed");
    Ok(outcome)
}

/// Moves the micro-deposit on by what became of its payout: paid → the applicant may answer;
/// refused or returned → the application goes back to `submitted`. Idempotent (guarded updates).
pub fn follow(conn: &mut PgConnection, payout_id: PayoutId) -> Result<SendOutcome, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let Some(deposit) = micro_deposits::of_payout_for_update(conn, payout_id)? else {
            return Ok(SendOutcome::AlreadyHandled);
        };
        let payout = storage::payouts::find(conn, payout_id)?.ok_or_else(|| {
            OnboardingError::BrokenInvariant(format!("micro-deposit {}: its payout is gone", deposit.id))
        })?;
        match payout.state {
            PayoutState::Succeeded => {
                let reference = payout.channel_reference.as_deref();
                let sent = micro_deposits::apply(conn, deposit.id, DepositEvent::Sent, reference, None)?;
                Ok(if sent { SendOutcome::Sent } else { SendOutcome::AlreadyHandled })
            }
            PayoutState::Failed | PayoutState::Returned => {
                let reason = payout.failure_reason.as_deref().unwrap_or("refused by the bank");
                if !micro_deposits::apply(conn, deposit.id, DepositEvent::SendFailed, None, Some(reason))? {
                    return Ok(SendOutcome::AlreadyHandled);
                }
                let merchant = applications::lock(conn, deposit.merchant_id)?;
                if merchant.state == ApplicationState::VerifyingAccount {
                    let why = format!("the micro-deposit could not be paid to the settlement account: {reason}");
                    applications::apply(conn, &Actor::system(), merchant, Transition::VerificationFailed, Some(&why))?;
                }
                Ok(SendOutcome::Failed)
            }
            _ => Ok(SendOutcome::AlreadyHandled),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Right amount: the application is now in review.
    Verified,
    /// Wrong amount; this many tries remain.
    Wrong { remaining: i32 },
    /// Third wrong answer: verification failed and the application is back to `submitted`.
    Failed,
}

/// Checks the amount the merchant says it received. Wrong answers are counted even though the
/// call "fails", so the transaction commits in every case.
pub fn answer(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    amount: Amount,
) -> Result<Answer, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = applications::lock(conn, merchant_id)?;
        if merchant.state != ApplicationState::VerifyingAccount {
            return Err(domain::onboarding::IllegalTransition {
                from: merchant.state,
                transition: Transition::AccountVerified,
            }
            .into());
        }
        let deposit = micro_deposits::open_for_update(conn, merchant_id)?
            .filter(|d| d.state == DepositState::Sent)
            .ok_or(OnboardingError::MicroDepositNotSent)?;
        if amount == deposit.amount_fen {
            micro_deposits::apply(
                conn,
                deposit.id,
                DepositEvent::Verified,
                deposit.channel_reference.as_deref(),
                None,
            )?;
            applications::apply(conn, actor, merchant, Transition::AccountVerified, None)?;
            return Ok(Answer::Verified);
        }
        let wrong = micro_deposits::record_wrong_answer(conn, deposit.id)?;
        if wrong < MAX_WRONG_ANSWERS {
            return Ok(Answer::Wrong { remaining: MAX_WRONG_ANSWERS - wrong });
        }
        micro_deposits::apply(
            conn,
            deposit.id,
            DepositEvent::Exhausted,
            deposit.channel_reference.as_deref(),
            Some("three wrong answers"),
        )?;
        applications::apply(
            conn,
            actor,
            merchant,
            Transition::VerificationFailed,
            Some("three wrong micro-deposit answers"),
        )?;
        Ok(Answer::Failed)
    })
}

/// The verification attempts of a merchant, newest first (for the console).
pub fn history(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<MicroDepositRow>, StorageError> {
    micro_deposits::for_merchant(conn, merchant_id)
}
