//! Releasing a business day (SPEC §7, seed 000): an operator lets a closed day settle without a
//! reconciled bill, with a note and an audit row in the same transaction.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::calendar::BusinessCalendar;
use serde_json::json;
use storage::audit::{self, Actor, NewEntry};

use crate::{LedgerError, reports::DayState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Released,
    /// The day has not reached its cut-off: its payments are not all in yet.
    NotOver,
    AlreadyReleased,
    /// Reconciled days settle on their own; a release would add nothing.
    AlreadyReconciled,
}

/// Releases an open day, with its audit row in the same transaction. A concurrent release of the
/// same day loses at the guarded update and is told the day was already released.
pub fn release(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    actor: &Actor,
    date: NaiveDate,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Release, LedgerError> {
    if !calendar.is_closed(date, now) {
        return Ok(Release::NotOver);
    }
    storage::database::transaction(conn, |conn| {
        if let Some(day) = storage::ledger::business_day(conn, date)? {
            if day.reconciled_at.is_some() {
                return Ok(Release::AlreadyReconciled);
            }
            if day.released_at.is_some() {
                return Ok(Release::AlreadyReleased);
            }
        }
        if !storage::ledger::release_day(conn, date, &actor.name, note)? {
            return Ok(Release::AlreadyReleased);
        }
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "business_day.release",
                target: format!("business_day:{date}"),
                before: Some(json!({ "state": DayState::Open.as_str() })),
                after: Some(json!({ "state": DayState::Released.as_str(), "note": note })),
            },
        )?;
        Ok(Release::Released)
    })
}
