//! Business days and their state: still running, open (closed but neither reconciled nor
//! released), reconciled, or released by an operator for settlement (seed 000: settle on the
//! platform's reconciled records, unless someone takes responsibility for releasing the day).
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::calendar::BusinessCalendar;
use storage::ledger_reports as rows;

use super::DateRange;
use crate::LedgerError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayState {
    /// The day has not reached its cut-off yet.
    Running,
    /// Over, but neither reconciled nor released: its settlement waits.
    Open,
    Reconciled,
    Released,
}

impl DayState {
    pub fn as_str(self) -> &'static str {
        match self {
            DayState::Running => "running",
            DayState::Open => "open",
            DayState::Reconciled => "reconciled",
            DayState::Released => "released",
        }
    }
}

#[derive(Clone, Debug)]
pub struct BusinessDay {
    pub date: NaiveDate,
    pub closed: bool,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    pub release_note: Option<String>,
    pub paid_orders: i64,
    pub refunds: i64,
    pub settlements: i64,
    pub unsettled_orders: i64,
}

impl BusinessDay {
    /// Reconciliation is the stronger fact, so a day both reconciled and released shows as
    /// reconciled (the release is still listed with it).
    pub fn state(&self) -> DayState {
        match (self.reconciled_at, self.released_at, self.closed) {
            (Some(_), _, _) => DayState::Reconciled,
            (None, Some(_), _) => DayState::Released,
            (None, None, false) => DayState::Running,
            (None, None, true) => DayState::Open,
        }
    }

    /// Only an open day can be released: a running one is not over, and a reconciled or released
    /// one needs nothing more.
    pub fn can_release(&self) -> bool {
        self.state() == DayState::Open
    }
}

/// Every day of `range`, newest first, with what was booked for it.
pub fn business_days(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    range: DateRange,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessDay>, LedgerError> {
    let (recorded, activity) = super::in_snapshot(conn, |conn| {
        let recorded = rows::business_days_between(conn, range.from(), range.to())?;
        let activity = rows::day_activity(conn, range.from(), range.to())?;
        Ok::<_, LedgerError>((recorded, activity))
    })?;
    Ok(range
        .dates_newest_first()
        .map(|date| {
            let row = recorded.iter().find(|row| row.business_date == date);
            let booked = activity.iter().find(|row| row.business_date == date);
            BusinessDay {
                date,
                closed: calendar.is_closed(date, now),
                reconciled_at: row.and_then(|row| row.reconciled_at),
                released_at: row.and_then(|row| row.released_at),
                released_by: row.and_then(|row| row.released_by.clone()),
                release_note: row.and_then(|row| row.release_note.clone()),
                paid_orders: booked.map_or(0, |row| row.paid_orders),
                refunds: booked.map_or(0, |row| row.refunds),
                settlements: booked.map_or(0, |row| row.settlements),
                unsettled_orders: booked.map_or(0, |row| row.unsettled_orders),
            }
        })
        .collect())
}
