//! A merchant's payout schedule: when its slots fall (daily, weekly on a weekday, monthly on a
//! day, or never — manual), at what time of day, and what a payout run pays it: its available
//! balance less an amount kept back and the fee, if that reaches the minimum.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};

use super::{calendar::PayoutCalendar, fee::FeeRule};
use crate::Amount;

crate::sql::text_enum! {
    /// How often a merchant is paid out.
    pub enum Frequency {
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
        /// Only when an operator or the merchant's app asks.
        Manual = "manual",
    }
}

/// Which nominal days a schedule pays on (before the payout calendar moves them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Daily,
    Weekly(Weekday),
    /// On this day of the month; a month without it pays on its last day.
    Monthly(u32),
    Manual,
}

/// How far back a nominal day is looked for: the longest run of non-payout days a calendar
/// plausibly has (the Spring Festival with its weekends) is well under a month.
const LOOK_BACK_DAYS: u64 = 40;

impl Cadence {
    pub fn frequency(self) -> Frequency {
        match self {
            Cadence::Daily => Frequency::Daily,
            Cadence::Weekly(_) => Frequency::Weekly,
            Cadence::Monthly(_) => Frequency::Monthly,
            Cadence::Manual => Frequency::Manual,
        }
    }

    /// Whether `date` is one of the cadence's nominal days.
    fn falls_on(self, date: NaiveDate) -> bool {
        match self {
            Cadence::Daily => true,
            Cadence::Weekly(weekday) => date.weekday() == weekday,
            Cadence::Monthly(day) => date.day() == day.min(last_day_of_month(date)),
            Cadence::Manual => false,
        }
    }

    /// Whether the cadence has a slot on payout day `date`: one of its nominal days is `date`
    /// itself or moves to it because the days in between are not payout days.
    pub fn is_due_on(self, date: NaiveDate, calendar: &PayoutCalendar) -> bool {
        if !calendar.is_payout_day(date) {
            return false;
        }
        (0..=LOOK_BACK_DAYS)
            .filter_map(|back| date.checked_sub_days(Days::new(back)))
            .take_while(|day| *day == date || !calendar.is_payout_day(*day))
            .any(|day| self.falls_on(day))
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let first_of_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    first_of_next.and_then(|first| first.pred_opt()).map_or(28, |last| last.day())
}

/// A merchant's schedule, from its own row or the platform's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub cadence: Cadence,
    /// China time of day the slot falls at.
    pub at: NaiveTime,
    /// Below this a run pays nothing (and says so).
    pub minimum: Amount,
    /// Kept back in available at every payout.
    pub retained: Amount,
    pub fee: FeeRule,
}

impl Schedule {
    /// The schedule of a merchant without one of its own: the cadence it declared when it applied,
    /// with the time, amounts and fee of `defaults` (its rate plan's payout defaults, or the
    /// platform's). The platform's defaults set to `manual` stop every such merchant's scheduled
    /// payouts.
    pub fn following(declared: Cadence, defaults: &Schedule) -> Schedule {
        let cadence = if defaults.cadence == Cadence::Manual { Cadence::Manual } else { declared };
        Schedule { cadence, ..*defaults }
    }
}

impl From<&crate::onboarding::PayoutSchedule> for Cadence {
    fn from(declared: &crate::onboarding::PayoutSchedule) -> Cadence {
        match declared {
            crate::onboarding::PayoutSchedule::Daily { .. } => Cadence::Daily,
            crate::onboarding::PayoutSchedule::Weekly { weekday, .. } => Cadence::Weekly(*weekday),
            crate::onboarding::PayoutSchedule::Manual => Cadence::Manual,
        }
    }
}

/// What a payout run pays a merchant, before its stops are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payable {
    Pay {
        amount: Amount,
        fee: Amount,
    },
    /// What the balance allows is below the schedule's minimum (or nothing at all).
    BelowMinimum,
}

impl Schedule {
    /// The payout for an available balance: `available − retained − fee`, if it reaches the minimum.
    pub fn payable(&self, available: Amount) -> Result<Payable, super::fee::FeeOverflow> {
        let Some(funds) = available.checked_sub(self.retained).filter(|funds| funds.is_positive()) else {
            return Ok(Payable::BelowMinimum);
        };
        Ok(match self.fee.largest_payout(funds)? {
            Some((amount, fee)) if amount >= self.minimum => Payable::Pay { amount, fee },
            _ => Payable::BelowMinimum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payouts::calendar::SpecialDay;

    #[test]
    fn a_merchant_without_its_own_schedule_keeps_its_declared_cadence() {
        let defaults = Schedule {
            cadence: Cadence::Daily,
            at: NaiveTime::from_hms_opt(10, 0, 0).expect("a time"),
            minimum: Amount::from_fen(100),
            retained: Amount::ZERO,
            fee: FeeRule::Fixed(Amount::from_fen(200)),
        };
        let weekly = Schedule::following(Cadence::Weekly(Weekday::Tue), &defaults);
        assert_eq!(weekly, Schedule { cadence: Cadence::Weekly(Weekday::Tue), ..defaults });
        assert_eq!(Schedule::following(Cadence::Manual, &defaults).cadence, Cadence::Manual);
        let stopped = Schedule { cadence: Cadence::Manual, ..defaults };
        assert_eq!(Schedule::following(Cadence::Daily, &stopped).cadence, Cadence::Manual, "the platform's manual");
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// Weekends off; 2026-10-01..08 holidays; Saturday 2026-10-10 a make-up working day.
    fn calendar() -> PayoutCalendar {
        let mut special: Vec<_> = (1..=8).map(|d| (day(&format!("2026-10-{d:02}")), SpecialDay::Holiday)).collect();
        special.push((day("2026-10-10"), SpecialDay::WorkingDay));
        PayoutCalendar::new(false, special)
    }

    fn due_days(cadence: Cadence, from: &str, to: &str) -> Vec<String> {
        let calendar = calendar();
        day(from)
            .iter_days()
            .take_while(|d| *d <= day(to))
            .filter(|d| cadence.is_due_on(*d, &calendar))
            .map(|d| d.format("%m-%d").to_string())
            .collect()
    }

    #[test]
    fn daily_slots_fall_on_every_payout_day_once() {
        assert_eq!(
            due_days(Cadence::Daily, "2026-09-28", "2026-10-12"),
            ["09-28", "09-29", "09-30", "10-09", "10-10", "10-12"]
        );
    }

    #[test]
    fn a_weekly_slot_on_a_holiday_moves_to_the_next_payout_day() {
        // Thursdays: Oct 1 and Oct 8 are holidays, both move to Fri Oct 9 — one slot there.
        assert_eq!(due_days(Cadence::Weekly(Weekday::Thu), "2026-09-20", "2026-10-20"), ["09-24", "10-09", "10-15"]);
        // Saturdays: only the make-up working day is a payout day; the others move to Monday, or
        // past the holidays (Oct 3) to Fri Oct 9.
        assert_eq!(
            due_days(Cadence::Weekly(Weekday::Sat), "2026-09-28", "2026-10-20"),
            ["09-28", "10-09", "10-10", "10-19"]
        );
    }

    #[test]
    fn a_monthly_slot_takes_the_last_day_of_a_short_month() {
        // Sat Jan 31 moves to Mon Feb 2; February pays on its 28th, a Saturday, so on Mon Mar 2.
        assert_eq!(due_days(Cadence::Monthly(31), "2026-02-01", "2026-04-30"), ["02-02", "03-02", "03-31", "04-30"]);
        assert_eq!(due_days(Cadence::Monthly(1), "2026-09-25", "2026-10-31"), ["10-09"]);
        assert!(due_days(Cadence::Manual, "2026-01-01", "2026-12-31").is_empty());
    }

    #[test]
    fn a_run_pays_the_available_balance_less_what_is_kept_and_the_fee() {
        let schedule = Schedule {
            cadence: Cadence::Daily,
            at: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            minimum: Amount::from_fen(1_000),
            retained: Amount::from_fen(5_000),
            fee: FeeRule::Fixed(Amount::from_fen(200)),
        };
        let fen = Amount::from_fen;
        assert_eq!(schedule.payable(fen(100_000)), Ok(Payable::Pay { amount: fen(94_800), fee: fen(200) }));
        assert_eq!(schedule.payable(fen(6_200)), Ok(Payable::Pay { amount: fen(1_000), fee: fen(200) }), "the minimum");
        assert_eq!(schedule.payable(fen(6_199)), Ok(Payable::BelowMinimum), "a fen short of it");
        assert_eq!(schedule.payable(fen(3_000)), Ok(Payable::BelowMinimum), "less than what is kept back");
    }
}
