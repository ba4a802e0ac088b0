//! The sandbox channel's record of the payouts it was asked for (migration `000011`): what an
//! outside payout system would keep, here so that every node and every restart see the same.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::Amount;
use domain::payouts::ChannelPayoutState;

use crate::{StorageError, schema::sandbox_payouts};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sandbox_payouts)]
pub struct SandboxPayoutRow {
    pub out_trade_no: String,
    pub amount_fen: Amount,
    pub status: ChannelPayoutState,
    pub channel_reference: Option<String>,
    pub reason: Option<String>,
    /// Before this the payout is pending; then `status` shows.
    pub shows_at: DateTime<Utc>,
}

/// Keeps `row` unless a payout with its `out_trade_no` is kept already; returns the one kept.
pub fn keep_first(conn: &mut PgConnection, row: &SandboxPayoutRow) -> Result<SandboxPayoutRow, StorageError> {
    diesel::insert_into(sandbox_payouts::table).values(row).on_conflict_do_nothing().execute(conn)?;
    find(conn, &row.out_trade_no)?.ok_or(StorageError::Query(diesel::result::Error::NotFound))
}

pub fn find(conn: &mut PgConnection, out_trade_no: &str) -> Result<Option<SandboxPayoutRow>, StorageError> {
    Ok(sandbox_payouts::table.find(out_trade_no).select(SandboxPayoutRow::as_select()).first(conn).optional()?)
}

/// How many payouts the sandbox was asked for since `since` (tests count what the channel got).
pub fn count_since(conn: &mut PgConnection, since: DateTime<Utc>) -> Result<i64, StorageError> {
    Ok(sandbox_payouts::table.filter(sandbox_payouts::created_at.ge(since)).count().get_result(conn)?)
}
