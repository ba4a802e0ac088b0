//! The ledger's rollups per merchant and business day, which the console's figures read instead
//! of every posting. The database keeps them current with every booking; these rebuild them from
//! the ledger and check them against it.
use diesel::PgConnection;
pub use storage::ledger_rollups::{Difference, Rebuilt};

use crate::LedgerError;

/// Writes the rollups again from the ledger (bookings wait meanwhile).
pub fn rebuild(conn: &mut PgConnection) -> Result<Rebuilt, LedgerError> {
    Ok(storage::ledger_rollups::rebuild(conn)?)
}

/// The rollup rows that disagree with the ledger, at most `limit`; empty when they agree.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, LedgerError> {
    Ok(storage::ledger_rollups::differences(conn, limit)?)
}
