//! Micro-deposit verifications of settlement accounts.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::onboarding::{DepositEvent, DepositState};
use domain::{Amount, DepositId, MerchantId, PayoutId};

use crate::{StorageError, schema::micro_deposits};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = micro_deposits)]
pub struct MicroDepositRow {
    pub id: DepositId,
    pub merchant_id: MerchantId,
    pub amount_fen: Amount,
    pub out_trade_no: String,
    pub state: DepositState,
    pub wrong_answers: i32,
    pub channel_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The payout order that sends it (none for deposits sent before payouts existed).
    pub payout_id: Option<PayoutId>,
}

pub fn insert(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    amount_fen: Amount,
    out_trade_no: &str,
    payout_id: PayoutId,
) -> Result<MicroDepositRow, StorageError> {
    Ok(diesel::insert_into(micro_deposits::table)
        .values((
            micro_deposits::merchant_id.eq(merchant_id),
            micro_deposits::amount_fen.eq(amount_fen),
            micro_deposits::out_trade_no.eq(out_trade_no),
            micro_deposits::payout_id.eq(payout_id),
        ))
        .returning(MicroDepositRow::as_returning())
        .get_result(conn)?)
}

/// The micro-deposit the payout sends, locked.
pub fn of_payout_for_update(
    conn: &mut PgConnection,
    payout_id: PayoutId,
) -> Result<Option<MicroDepositRow>, StorageError> {
    Ok(micro_deposits::table
        .filter(micro_deposits::payout_id.eq(payout_id))
        .select(MicroDepositRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// The verification in progress (pending or sent), if any.
pub fn open_for_update(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<Option<MicroDepositRow>, StorageError> {
    Ok(micro_deposits::table
        .filter(micro_deposits::merchant_id.eq(merchant_id))
        .filter(micro_deposits::state.eq_any([DepositState::Pending, DepositState::Sent]))
        .select(MicroDepositRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Newest first.
pub fn for_merchant(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<MicroDepositRow>, StorageError> {
    Ok(micro_deposits::table
        .filter(micro_deposits::merchant_id.eq(merchant_id))
        .order(micro_deposits::id.desc())
        .select(MicroDepositRow::as_select())
        .load(conn)?)
}

/// Applies `event` as one guarded update (`WHERE state = event.from()`), with the fields that go
/// with it: `sent_at` is stamped when it is sent and kept afterwards; `finished_at` when it reaches
/// a final state. False when the deposit was no longer in the event's starting state.
pub fn apply(
    conn: &mut PgConnection,
    id: DepositId,
    event: DepositEvent,
    channel_reference: Option<&str>,
    failure_reason: Option<&str>,
) -> Result<bool, StorageError> {
    let to = event.to();
    let target = micro_deposits::table.find(id).filter(micro_deposits::state.eq(event.from()));
    let fields = (
        micro_deposits::state.eq(to),
        micro_deposits::channel_reference.eq(channel_reference),
        micro_deposits::failure_reason.eq(failure_reason),
    );
    let now = crate::database::db_now();
    let updated = if to == DepositState::Sent {
        diesel::update(target).set((fields, micro_deposits::sent_at.eq(now))).execute(conn)?
    } else if to.is_final() {
        diesel::update(target).set((fields, micro_deposits::finished_at.eq(now))).execute(conn)?
    } else {
        diesel::update(target).set(fields).execute(conn)?
    };
    Ok(updated == 1)
}

pub fn record_wrong_answer(conn: &mut PgConnection, id: DepositId) -> Result<i32, StorageError> {
    Ok(diesel::update(micro_deposits::table.find(id))
        .set(micro_deposits::wrong_answers.eq(micro_deposits::wrong_answers + 1))
        .returning(micro_deposits::wrong_answers)
        .get_result(conn)?)
}
