//! Business days (日切): which day a payment belongs to, when a day closes and when it settles.
//!
//! Days are counted in China Standard Time (UTC+8, no daylight saving). A day ends at the cut-off:
//! with a cut-off of 23:00 a payment at 23:30 belongs to the next day; the default, 00:00, makes
//! business days calendar days.
use std::{fmt, str::FromStr};

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};

/// UTC+8, the time zone of every business day, bill and schedule.
pub fn china() -> FixedOffset {
    const EIGHT_HOURS_SECONDS: i32 = 8 * 3600;
    match FixedOffset::east_opt(EIGHT_HOURS_SECONDS) {
        Some(offset) => offset,
        None => unreachable!("UTC+8 is a valid offset"),
    }
}

/// The daily cut-off of business days.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BusinessCalendar {
    cutoff: NaiveTime,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the cut-off must be a time of day as HH:MM (or HH:MM:SS), e.g. 00:00 or 23:00; got {0:?}")]
pub struct CutoffError(String);

impl FromStr for BusinessCalendar {
    type Err = CutoffError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let cutoff = NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .ok()
            // chrono reads `:60` as a leap second; a cut-off is an ordinary time of day.
            .filter(|time| time.nanosecond() < 1_000_000_000)
            .ok_or_else(|| CutoffError(text.to_owned()))?;
        Ok(BusinessCalendar { cutoff })
    }
}

impl Default for BusinessCalendar {
    fn default() -> Self {
        BusinessCalendar { cutoff: NaiveTime::MIN }
    }
}

impl fmt::Display for BusinessCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = if self.cutoff.second() == 0 { "%H:%M" } else { "%H:%M:%S" };
        write!(f, "{}", self.cutoff.format(format))
    }
}

impl BusinessCalendar {
    /// The business day an instant belongs to.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        let local = instant.with_timezone(&china());
        let date = local.date_naive();
        if self.cutoff != NaiveTime::MIN && local.time() >= self.cutoff { next_day(date) } else { date }
    }

    /// The instant `date` ends; the day is closed from then on.
    pub fn closes_at(&self, date: NaiveDate) -> DateTime<Utc> {
        let end_date = if self.cutoff == NaiveTime::MIN { next_day(date) } else { date };
        // UTC+8 has no gaps or folds, so the local time always maps to exactly one instant.
        match china().from_local_datetime(&end_date.and_time(self.cutoff)).single() {
            Some(end) => end.with_timezone(&Utc),
            None => unreachable!("a fixed offset maps every local time once"),
        }
    }

    /// The instants `[from, to)` that belong to `date`: from the previous day's close to its own.
    pub fn span_of(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let to = self.closes_at(date);
        (date.pred_opt().map_or(to, |previous| self.closes_at(previous)), to)
    }

    pub fn is_closed(&self, date: NaiveDate, now: DateTime<Utc>) -> bool {
        now >= self.closes_at(date)
    }

    /// T+N: the payments of `paid_on` become available once business day `paid_on + N` has begun.
    pub fn settles_on(&self, paid_on: NaiveDate, settlement_days: u16) -> NaiveDate {
        paid_on.checked_add_days(Days::new(u64::from(settlement_days))).unwrap_or(NaiveDate::MAX)
    }

    /// The latest business date whose payments are due for settlement at `now`, for T+N.
    pub fn last_settleable(&self, now: DateTime<Utc>, settlement_days: u16) -> NaiveDate {
        let today = self.date_of(now);
        today.checked_sub_days(Days::new(u64::from(settlement_days))).unwrap_or(NaiveDate::MIN)
    }
}

/// T+N: how many business days after a payment its money becomes available (1 to 30).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SettlementDays(u16);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("settlement days must be a whole number from 1 to 30; got {0:?}")]
pub struct SettlementDaysError(String);

impl SettlementDays {
    pub const MAX: u16 = 30;

    pub fn parse(text: &str) -> Result<SettlementDays, SettlementDaysError> {
        let invalid = || SettlementDaysError(text.to_owned());
        let trimmed = text.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) || trimmed.len() > 2 {
            return Err(invalid());
        }
        let days: u16 = trimmed.parse().map_err(|_| invalid())?;
        if (1..=Self::MAX).contains(&days) { Ok(SettlementDays(days)) } else { Err(invalid()) }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).expect("test time")
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn midnight_cutoff_gives_calendar_days_in_china_time() {
        let calendar = BusinessCalendar::default();
        assert_eq!(calendar.date_of(at("2026-11-21T15:59:59Z")), date("2026-11-21"));
        assert_eq!(calendar.date_of(at("2026-11-21T16:00:00Z")), date("2026-11-22"));
        assert_eq!(calendar.closes_at(date("2026-11-21")), at("2026-11-21T16:00:00Z"));
    }

    #[test]
    fn a_payment_after_the_cutoff_belongs_to_the_next_day() {
        let calendar: BusinessCalendar = "23:00".parse().expect("cutoff");
        assert_eq!(calendar.date_of(at("2026-11-21T14:59:59+00:00")), date("2026-11-21"));
        assert_eq!(calendar.date_of(at("2026-11-21T23:30:00+08:00")), date("2026-11-22"));
        assert_eq!(calendar.closes_at(date("2026-11-21")), at("2026-11-21T23:00:00+08:00"));
        assert!(!calendar.is_closed(date("2026-11-21"), at("2026-11-21T22:59:59+08:00")));
        assert!(calendar.is_closed(date("2026-11-21"), at("2026-11-21T23:00:00+08:00")));
    }

    #[test]
    fn t_plus_n() {
        let calendar = BusinessCalendar::default();
        assert_eq!(calendar.settles_on(date("2026-11-21"), 1), date("2026-11-22"));
        assert_eq!(calendar.last_settleable(at("2026-11-22T00:00:00+08:00"), 1), date("2026-11-21"));
        assert_eq!(calendar.last_settleable(at("2026-11-21T23:59:59+08:00"), 1), date("2026-11-20"));
        assert_eq!(calendar.last_settleable(at("2026-11-25T09:00:00+08:00"), 3), date("2026-11-22"));
    }

    #[test]
    fn settlement_days_are_one_to_thirty() {
        assert_eq!(SettlementDays::parse(" 3 ").map(SettlementDays::get), Ok(3));
        assert_eq!(SettlementDays::parse("30").map(SettlementDays::get), Ok(30));
        for bad in ["0", "31", "", "-1", "+2", "1.5", "007", "abc", "999999999999"] {
            assert!(SettlementDays::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cutoffs_parse_strictly() {
        for bad in ["", "24:00", "7", "07:00:00:00", "07:00:60", "ab:cd", "-1:00"] {
            assert!(bad.parse::<BusinessCalendar>().is_err(), "{bad:?}");
        }
        assert_eq!("07:30".parse::<BusinessCalendar>().map(|c| c.to_string()), Ok("07:30".to_owned()));
        assert_eq!("07:30:00".parse::<BusinessCalendar>().map(|c| c.to_string()), Ok("07:30".to_owned()));
        assert_eq!("23:59:59".parse::<BusinessCalendar>().map(|c| c.to_string()), Ok("23:59:59".to_owned()));
    }
}
