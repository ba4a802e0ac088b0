//! Bank-account verification by micro-deposit (小额打款验证, seed 002).
//!
//! Starting it records a random 0.01–0.99 yuan payout and enqueues the job that sends it, in one
//! transaction; the job calls the payout channel with no transaction open and records what the
//! channel said. The merchant (or an operator for it) then names the amount: right moves the
//! application to review, three wrong answers send it back to `submitted`.
use diesel::PgConnection;
use domain::{
    Amount, DepositId, MerchantId,
    onboarding::{ApplicationState, BankAccountNumber, DepositEvent, DepositState, Transition},
};
use rand::Rng;
use storage::{
    Pool, StorageError,
    audit::Actor,
    database::run_blocking,
    jobs::{self, Job},
    micro_deposits::{self, MicroDepositRow},
};

use crate::{
    OnboardingError,
    applications::{self, Merchant, china_now},
};

/// Sends a micro-deposit through the payout channel; enqueued with the deposit by [`start`].
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SendMicroDeposit {
    pub micro_deposit_id: DepositId,
}

impl Job for SendMicroDeposit {
    const KIND: &'static str = "onboarding.send_micro_deposit";
}

impl SendMicroDeposit {
    pub async fn run(self, pool: &Pool, channel: &dyn channel::PayOut) -> Result<SendOutcome, OnboardingError> {
        let outcome = send(pool, channel, self.micro_deposit_id).await?;
        tracing::info!(micro_deposit_id = %self.micro_deposit_id, ?outcome, "micro-deposit handled");
        Ok(outcome)
    }
}
pub const MAX_WRONG_ANSWERS: i32 = 3;

/// Moves a submitted application to `verifying_account` and schedules the micro-deposit.
pub fn start(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
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
        let deposit = micro_deposits::insert(conn, merchant_id, amount_fen, &out_trade_no)?;
        jobs::enqueue(conn, SendMicroDeposit { micro_deposit_id: deposit.id }.now()?)?;
        Ok((merchant, deposit))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The channel refused it; the application went back to `submitted`.
    Failed,
    /// Nothing to do: already sent, or the verification ended meanwhile.
    AlreadyHandled,
}

/// Sends a scheduled micro-deposit through `channel` (the job handler). Idempotent: the channel
/// sees one `out_trade_no` however often this runs. An unknown outcome is an error, so the job is
/// retried and the same `out_trade_no` is asked again.
pub async fn send(
    pool: &Pool,
    channel: &dyn channel::PayOut,
    micro_deposit_id: DepositId,
) -> Result<SendOutcome, OnboardingError> {
    let loaded = run_blocking(pool, move |conn| -> Result<_, OnboardingError> {
        let Some(deposit) = micro_deposits::find_for_update(conn, micro_deposit_id)? else {
            return Ok(None);
        };
        let merchant = applications::find(conn, deposit.merchant_id)?;
        Ok(Some((deposit, merchant)))
    })
    .await?;
    let Some((deposit, merchant)) = loaded else {
        return Ok(SendOutcome::AlreadyHandled);
    };
    if deposit.state != DepositState::Pending {
        return Ok(SendOutcome::AlreadyHandled);
    }
    let request = payout_request(&deposit, &merchant)?;
    let status = channel.payout(&request).await?;
    run_blocking(pool, move |conn| record_send(conn, &deposit, status)).await
}

fn payout_request(deposit: &MicroDepositRow, merchant: &Merchant) -> Result<channel::PayoutRequest, OnboardingError> {
    // Stored only after it was checked; a stored number that no longer parses is a corrupt row.
    let account_number =
        BankAccountNumber::parse(&merchant.row.account_number, merchant.row.account_type).map_err(|_| {
            OnboardingError::BrokenInvariant(format!(
                "merchant {}: its stored account number does not parse",
                merchant.id()
            ))
        })?;
    Ok(channel::PayoutRequest {
        out_trade_no: deposit.out_trade_no.clone(),
        amount: deposit.amount_fen,
        subject: "账户验证 account verification".into(),
        payee: channel::Payee {
            account_number,
            account_name: merchant.row.account_holder.clone(),
            bank_code: merchant.row.bank_code.clone(),
            cnaps_code: merchant.row.cnaps_code.clone(),
        },
    })
}

fn record_send(
    conn: &mut PgConnection,
    deposit: &MicroDepositRow,
    status: channel::PayoutStatus,
) -> Result<SendOutcome, OnboardingError> {
    use channel::PayoutStatus::*;
    storage::database::transaction(conn, |conn| match status {
        Pending { channel_reference } | Succeeded { channel_reference } => {
            let sent = micro_deposits::apply(conn, deposit.id, DepositEvent::Sent, Some(&channel_reference), None)?;
            Ok(if sent { SendOutcome::Sent } else { SendOutcome::AlreadyHandled })
        }
        Failed { reason } | Returned { reason } => {
            if !micro_deposits::apply(conn, deposit.id, DepositEvent::SendFailed, None, Some(&reason))? {
                return Ok(SendOutcome::AlreadyHandled);
            }
            let merchant = applications::lock(conn, deposit.merchant_id)?;
            if merchant.state == ApplicationState::VerifyingAccount {
                let why = format!("the micro-deposit could not be paid to the settlement account: {reason}");
                applications::apply(conn, &Actor::system(), merchant, Transition::VerificationFailed, Some(&why))?;
            }
            Ok(SendOutcome::Failed)
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
