//! Values as the console shows them. Times are shown in China Standard Time (UTC+8), where the
//! provider's operators work.
use chrono::{DateTime, NaiveDate, Utc};
use storage::audit;

use domain::calendar::china;

pub use forms::time::china_time;

/// The calendar day in China at `at`.
pub fn china_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china()).date_naive()
}

/// The instant a China calendar day begins, in UTC (16:00 UTC the day before).
pub fn china_day_start(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match midnight.and_local_timezone(china()).single() {
        Some(start) => start.with_timezone(&Utc),
        // A fixed offset has exactly one reading of every local time.
        None => midnight.and_utc(),
    }
}

/// A date entered in a filter, `YYYY-MM-DD` (what an `<input type=date>` sends), as a China day.
pub fn parse_china_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date written YYYY-MM-DD"))
}

/// A number for something an operator does now, e.g. `OPS20261122103005` for a refund: a prefix and
/// the China time to the second, within `[A-Za-z0-9_]`.
pub fn operator_number(prefix: &str, at: DateTime<Utc>) -> String {
    format!("{prefix}{}", at.with_timezone(&china()).format("%Y%m%d%H%M%S"))
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub client_ip: String,
}

impl From<audit::Entry> for AuditRow {
    fn from(entry: audit::Entry) -> Self {
        AuditRow {
            at: china_time(entry.at),
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            before: entry.before.map(|value| value.to_string()).unwrap_or_default(),
            after: entry.after.map(|value| value.to_string()).unwrap_or_default(),
            client_ip: entry.client_ip.unwrap_or_default(),
        }
    }
}

/// Money as the console shows it: yuan with two decimals (right-aligned by the template).
pub fn yuan(amount: domain::Amount) -> String {
    amount.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_yuan_with_two_decimals() {
        assert_eq!(yuan(domain::Amount::from_fen(37)), "0.37");
        assert_eq!(yuan(domain::Amount::from_fen(-1)), "-0.01");
    }

    #[test]
    fn china_days_begin_at_16_utc() {
        let day = parse_china_date("2025-01-31").unwrap();
        assert_eq!(china_day_start(day).to_rfc3339(), "2025-01-30T16:00:00+00:00");
        let late_evening_utc =
            chrono::DateTime::parse_from_rfc3339("2025-01-30T17:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(china_day(late_evening_utc), day);
        assert!(parse_china_date("31/01/2025").is_err());
        assert_eq!(operator_number("OPS", late_evening_utc), "OPS20250131010000");
    }
}
