//! The payout calendar: which days payouts are made on. Weekends are payout days or not (a
//! setting); public holidays (法定节假日) are not, make-up working days (调休) are, whatever the
//! weekday. A slot that falls on any other day moves to the next payout day.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};

crate::sql::text_enum! {
    /// A day that breaks the weekly rule.
    pub enum SpecialDay {
        /// A public holiday (法定节假日): no payouts, even on a weekday.
        Holiday = "holiday",
        /// A make-up working day (调休): payouts, even on a weekend.
        WorkingDay = "working_day",
    }
}

/// How far ahead the next payout day is looked for: no holiday lasts a year.
const LOOK_AHEAD_DAYS: u64 = 366;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutCalendar {
    weekends_are_payout_days: bool,
    special: BTreeMap<NaiveDate, SpecialDay>,
}

impl PayoutCalendar {
    pub fn new(weekends_are_payout_days: bool, special: impl IntoIterator<Item = (NaiveDate, SpecialDay)>) -> Self {
        PayoutCalendar { weekends_are_payout_days, special: special.into_iter().collect() }
    }

    pub fn is_payout_day(&self, date: NaiveDate) -> bool {
        match self.special.get(&date) {
            Some(SpecialDay::Holiday) => false,
            Some(SpecialDay::WorkingDay) => true,
            None => self.weekends_are_payout_days || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The first payout day on or after `date`; `None` if there is none within a year (a
    /// calendar that makes every day a holiday).
    pub fn next_payout_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        (0..=LOOK_AHEAD_DAYS)
            .filter_map(|ahead| date.checked_add_days(Days::new(ahead)))
            .find(|day| self.is_payout_day(*day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// October 2026: the National Day holiday runs Thu 1 – Thu 8 (a week of holidays), with the
    /// Saturday before (Sep 26) and the Saturday after (Oct 10) as make-up working days.
    fn golden_week() -> PayoutCalendar {
        let mut special: Vec<(NaiveDate, SpecialDay)> =
            (1..=8).map(|d| (day(&format!("2026-10-{d:02}")), SpecialDay::Holiday)).collect();
        special.push((day("2026-09-26"), SpecialDay::WorkingDay));
        special.push((day("2026-10-10"), SpecialDay::WorkingDay));
        PayoutCalendar::new(false, special)
    }

    #[test]
    fn holidays_and_make_up_days_override_the_weekly_rule() {
        let calendar = golden_week();
        assert!(calendar.is_payout_day(day("2026-09-30")), "a Wednesday");
        assert!(!calendar.is_payout_day(day("2026-10-01")), "a holiday on a Thursday");
        assert!(!calendar.is_payout_day(day("2026-09-27")), "an ordinary Sunday");
        assert!(calendar.is_payout_day(day("2026-09-26")), "a make-up Saturday");
        assert!(calendar.is_payout_day(day("2026-10-10")), "a make-up Saturday");
        assert!(PayoutCalendar::new(true, []).is_payout_day(day("2026-09-27")), "weekends as payout days");
    }

    #[test]
    fn a_slot_on_a_non_payout_day_moves_to_the_next_payout_day() {
        let calendar = golden_week();
        assert_eq!(calendar.next_payout_day(day("2026-10-01")), Some(day("2026-10-09")));
        assert_eq!(calendar.next_payout_day(day("2026-10-09")), Some(day("2026-10-09")), "a payout day stays");
        assert_eq!(calendar.next_payout_day(day("2026-10-03")), Some(day("2026-10-09")));
        assert_eq!(calendar.next_payout_day(day("2026-10-11")), Some(day("2026-10-12")), "Sunday to Monday");
        let never =
            PayoutCalendar::new(true, (0..=400).map(|d| (day("2026-01-01") + Days::new(d), SpecialDay::Holiday)));
        assert_eq!(never.next_payout_day(day("2026-01-01")), None);
    }
}
