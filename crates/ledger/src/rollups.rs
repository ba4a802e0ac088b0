//! The ledger's rollups, which the console's figures read instead of every posting: a row per
//! merchant and business day, into which [`fold`] moves what bookings noted (the readers add what
//! is not folded yet), and the platform's final days summed over merchants. These fold, rebuild
//! them from the ledger, check them against it, and sum the days that have become final.
use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::PgConnection;
use domain::calendar::BusinessCalendar;
pub use storage::ledger_rollups::{Difference, Rebuilt};

use crate::LedgerError;

/// Days a summarizing pass sums at most.
const SUMMARIZE_DAYS: i64 = 31;

/// Entries a fold takes at a time: a second's bookings at several thousand a second.
pub const FOLD_BATCH: i64 = 10_000;

/// Folds what bookings noted into the merchant-day rows, a batch at a time until none is left;
/// how many entries it folded. Bookings go on meanwhile; readers see the same figures before and
/// after.
pub fn fold(conn: &mut PgConnection) -> Result<usize, LedgerError> {
    let mut folded = 0;
    loop {
        let batch = storage::ledger_rollups::fold(conn, FOLD_BATCH)?;
        folded += batch;
        if batch < FOLD_BATCH as usize {
            return Ok(folded);
        }
    }
}

/// Writes the rollups again from the ledger (bookings wait meanwhile); the days' summaries are
/// made again by the next [`summarize_final_days`].
pub fn rebuild(conn: &mut PgConnection) -> Result<Rebuilt, LedgerError> {
    Ok(storage::ledger_rollups::rebuild(conn)?)
}

/// The rollup rows that disagree with the ledger, at most `limit`; empty when they agree.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, LedgerError> {
    Ok(storage::ledger_rollups::differences(conn, limit)?)
}

/// Sums the platform's days that are final at `now` and not summarized yet: days before
/// yesterday (today's and yesterday's still take bookings) whose paid merchants are all settled.
/// Returns the days summarized.
pub fn summarize_final_days(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Result<Vec<NaiveDate>, LedgerError> {
    let today = calendar.date_of(now);
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    Ok(storage::ledger_rollups::summarize_final_days(conn, yesterday, SUMMARIZE_DAYS)?)
}

/// Copies the statement lines of merchant-days that are over at `now` (before yesterday, as
/// [`summarize_final_days`]) and settled, so statements' exports read them side by side; at most
/// [`SUMMARIZE_DAYS`] business days a pass. Returns the merchant-days copied.
pub fn copy_settled_statement_days(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Result<usize, LedgerError> {
    let today = calendar.date_of(now);
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    Ok(storage::ledger_statement_copies::copy_settled_days(conn, yesterday, SUMMARIZE_DAYS)?)
}
