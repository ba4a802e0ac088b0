//! The payout calendar as configured: the weekend setting and the special days kept in the
//! database — public holidays (法定节假日) and make-up working days (调休) — which finance
//! operators set one by one or import as CSV, audited.
use chrono::NaiveDate;
use diesel::PgConnection;
use domain::payouts::calendar::{PayoutCalendar, SpecialDay};
use serde_json::json;
use storage::audit::{self, Actor, NewEntry};

use crate::{PayoutError, Settings};

/// The longest note a day keeps.
pub const MAX_NOTE_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A line of an import that is not `date,kind[,note]`: its number (1-based) and why.
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error("the day was not special")]
    NotSpecial,
    #[error(transparent)]
    Payout(#[from] PayoutError),
}

impl From<storage::StorageError> for CalendarError {
    fn from(error: storage::StorageError) -> Self {
        CalendarError::Payout(error.into())
    }
}

/// One day of the calendar as an operator enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEntry {
    pub day: NaiveDate,
    pub kind: SpecialDay,
    pub note: String,
}

/// Reads a CSV of special days: one `yyyy-MM-dd,kind[,note]` per line, `kind` being `holiday` or
/// `working_day` (or 休 / 班, as Chinese calendars mark them); blank lines and lines starting
/// with `#` are skipped. The whole import is refused at the first bad line.
pub fn parse_csv(text: &str) -> Result<Vec<DayEntry>, CalendarError> {
    let mut days = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| CalendarError::BadLine { line: index + 1, reason: reason.into() };
        let mut fields = line.splitn(3, ',').map(str::trim);
        let day = fields
            .next()
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .ok_or_else(|| bad("not a date as yyyy-MM-dd"))?;
        let kind = match fields.next().unwrap_or_default() {
            "holiday" | "休" => SpecialDay::Holiday,
            "working_day" | "班" => SpecialDay::WorkingDay,
            _ => return Err(bad("the kind is holiday (休) or working_day (班)")),
        };
        let note = fields.next().unwrap_or_default();
        if note.chars().any(char::is_control) {
            return Err(bad("the note holds a control character"));
        }
        days.push(DayEntry { day, kind, note: note.chars().take(MAX_NOTE_CHARS).collect() });
    }
    Ok(days)
}

/// Sets the days (one, or an import's) in one transaction, with one audit row.
pub fn set_days(conn: &mut PgConnection, actor: &Actor, days: &[DayEntry]) -> Result<(), CalendarError> {
    storage::database::transaction(conn, |conn| {
        for entry in days {
            storage::payouts::set_calendar_day(conn, entry.day, entry.kind, &entry.note, &actor.name)?;
        }
        let listed: Vec<_> =
            days.iter().map(|entry| json!([entry.day.to_string(), entry.kind.as_str(), entry.note])).collect();
        let entry = NewEntry {
            action: "payout.calendar",
            target: "payout_calendar".into(),
            before: None,
            after: Some(json!(listed)),
        };
        audit::record(conn, actor, entry)?;
        Ok(())
    })
}

/// The day follows the weekly rule again, audited.
pub fn remove_day(conn: &mut PgConnection, actor: &Actor, day: NaiveDate) -> Result<(), CalendarError> {
    storage::database::transaction(conn, |conn| {
        if !storage::payouts::remove_calendar_day(conn, day)? {
            return Err(CalendarError::NotSpecial);
        }
        let entry = NewEntry {
            action: "payout.calendar.remove",
            target: "payout_calendar".into(),
            before: Some(json!(day.to_string())),
            after: None,
        };
        audit::record(conn, actor, entry)?;
        Ok(())
    })
}

pub fn load(conn: &mut PgConnection, settings: &Settings) -> Result<PayoutCalendar, PayoutError> {
    let special = storage::payouts::calendar_days(conn)?;
    Ok(PayoutCalendar::new(settings.weekends_are_payout_days, special))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_csv_is_read_line_by_line_and_refused_whole_at_a_bad_line() {
        let text = "# 2026 National Day\n2026-10-01,holiday,国庆节\n\n2026-10-10, 班 ,调休\n2026-10-02,休\n";
        let days = parse_csv(text).unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(
            days[1],
            DayEntry {
                day: NaiveDate::from_ymd_opt(2026, 10, 10).unwrap(),
                kind: SpecialDay::WorkingDay,
                note: "调休".into()
            }
        );
        assert_eq!(days[2].note, "");
        let refused = parse_csv("2026-10-01,holiday\n2026-13-01,holiday\n").unwrap_err();
        assert_eq!(refused.to_string(), "line 2: not a date as yyyy-MM-dd");
        assert!(parse_csv("2026-10-01,weekend").is_err());
        assert!(parse_csv("2026-10-01,holiday,a\u{0}b").is_err());
    }
}
