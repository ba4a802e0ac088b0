//! The period of a report: whole business days, from one date to another, both included.
use chrono::{Datelike, Days, NaiveDate};

/// Business days `from..=to`: never reversed, at most [`DateRange::MAX_DAYS`] long, within years
/// 2000–2999 (so date arithmetic on them cannot overflow). Only [`DateRange::new`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("the period starts after it ends")]
    Reversed,
    #[error("the period is {days} days long; at most {max} days are allowed", max = DateRange::MAX_DAYS)]
    TooLong { days: i64 },
    #[error("dates must lie in the years 2000 to 2999")]
    OutOfBounds,
}

impl DateRange {
    /// A year and a leap day: the longest report the console reads in one go.
    pub const MAX_DAYS: i64 = 366;

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, RangeError> {
        let in_bounds = |date: NaiveDate| (2000..=2999).contains(&date.year());
        if !in_bounds(from) || !in_bounds(to) {
            return Err(RangeError::OutOfBounds);
        }
        if from > to {
            return Err(RangeError::Reversed);
        }
        let days = (to - from).num_days() + 1;
        if days > DateRange::MAX_DAYS {
            return Err(RangeError::TooLong { days });
        }
        Ok(DateRange { from, to })
    }

    /// The `days` business days ending with `to` (clamped to the allowed length).
    pub fn ending(to: NaiveDate, days: u64) -> Result<DateRange, RangeError> {
        let span = days.clamp(1, DateRange::MAX_DAYS as u64) - 1;
        let from = to.checked_sub_days(Days::new(span)).ok_or(RangeError::OutOfBounds)?;
        DateRange::new(from, to)
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Every date of the range, newest first.
    pub fn dates_newest_first(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        (0..self.days().unsigned_abs()).filter_map(move |back| to.checked_sub_days(Days::new(back)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn ranges_are_ordered_bounded_and_at_most_366_days() {
        assert_eq!(DateRange::new(date("2026-11-02"), date("2026-11-01")), Err(RangeError::Reversed));
        assert_eq!(DateRange::new(date("2026-01-01"), date("2026-12-31")).map(|r| r.days()), Ok(365));
        assert_eq!(DateRange::new(date("2024-01-01"), date("2024-12-31")).map(|r| r.days()), Ok(366));
        assert_eq!(DateRange::new(date("2024-01-01"), date("2025-01-01")), Err(RangeError::TooLong { days: 367 }));
        assert_eq!(DateRange::new(date("1999-12-31"), date("2000-01-01")), Err(RangeError::OutOfBounds));
        assert_eq!(DateRange::new(date("2999-12-31"), date("3000-01-01")), Err(RangeError::OutOfBounds));
        let one = DateRange::new(date("2026-11-21"), date("2026-11-21")).expect("one day");
        assert_eq!(one.days(), 1);
        assert_eq!(DateRange::ending(date("2026-11-21"), 3).map(|r| r.from()), Ok(date("2026-11-19")));
        assert_eq!(DateRange::ending(date("2026-11-21"), 10_000).map(|r| r.days()), Ok(366));
        let dates: Vec<_> = DateRange::ending(date("2026-11-21"), 3).expect("range").dates_newest_first().collect();
        assert_eq!(dates, vec![date("2026-11-21"), date("2026-11-20"), date("2026-11-19")]);
    }
}
