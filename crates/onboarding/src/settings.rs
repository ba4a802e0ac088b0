//! A merchant's settings that operators change outside its application's life cycle: its T+N
//! (and, with payouts, its schedule). Each change writes its audit row in its own transaction.
use diesel::PgConnection;
use domain::{MerchantId, calendar::SettlementDays};
use serde_json::json;
use storage::audit::{self, Actor, NewEntry};

use crate::OnboardingError;

/// Sets a merchant's T+N; `false` if there is no such merchant. Orders already paid settle by the
/// new N from the next settlement run.
pub fn set_settlement_days(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    days: SettlementDays,
) -> Result<bool, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let new = i16::try_from(days.get()).unwrap_or(i16::MAX);
        let Some(before) = storage::merchants::set_settlement_days(conn, merchant_id, new)? else { return Ok(false) };
        let entry = NewEntry {
            action: "merchant.settlement_days",
            target: format!("merchant:{merchant_id}"),
            before: Some(json!({ "settlement_days": before })),
            after: Some(json!({ "settlement_days": new })),
        };
        audit::record(conn, actor, entry)?;
        Ok(true)
    })
}
