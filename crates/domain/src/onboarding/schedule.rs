//! When a sub-merchant's settled balance is paid out (SPEC §8): every day, once a week, or only
//! when an operator starts a payout.

use chrono::{NaiveTime, Timelike, Weekday};

/// A payout schedule. The cutoff is the time of day (Beijing time, as all business times here)
/// after which newly settled money waits for the next run.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PayoutSchedule {
    Daily { cutoff: NaiveTime },
    Weekly { weekday: Weekday, cutoff: NaiveTime },
    Manual,
}

/// Why a schedule's parts do not make a schedule. Each variant belongs to one input: the kind,
/// the weekday or the cutoff.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("payout schedule must be daily, weekly or manual")]
    UnknownKind,
    #[error("a weekly payout schedule needs a weekday")]
    MissingWeekday,
    #[error("payout weekday must be a number from 1 (Monday) to 7 (Sunday)")]
    InvalidWeekday,
    #[error("a payout weekday is allowed only for a weekly schedule")]
    UnexpectedWeekday,
    #[error("payout cutoff must be a time of day written HH:MM, e.g. 18:00")]
    InvalidCutoff,
    #[error("a manual payout schedule has no cutoff time")]
    UnexpectedCutoff,
}

impl PayoutSchedule {
    /// The cutoff when none is given: the end of a working day.
    pub const DEFAULT_CUTOFF: NaiveTime = match NaiveTime::from_hms_opt(18, 0, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    };

    /// Builds a schedule from its three form fields. A weekday or cutoff given where the kind
    /// has no use for it is an error rather than silently dropped, because it usually means
    /// the wrong kind was chosen.
    pub fn parse(kind: &str, weekday: Option<&str>, cutoff: Option<&str>) -> Result<Self, ScheduleError> {
        let kind = kind.trim().to_ascii_lowercase();
        let read_cutoff = || cutoff.map_or(Ok(Self::DEFAULT_CUTOFF), Self::parse_cutoff);
        match kind.as_str() {
            "daily" => {
                if weekday.is_some() {
                    return Err(ScheduleError::UnexpectedWeekday);
                }
                Ok(Self::Daily { cutoff: read_cutoff()? })
            }
            "weekly" => {
                let weekday = Self::parse_weekday(weekday.ok_or(ScheduleError::MissingWeekday)?)?;
                Ok(Self::Weekly { weekday, cutoff: read_cutoff()? })
            }
            "manual" => match (weekday, cutoff) {
                (Some(_), _) => Err(ScheduleError::UnexpectedWeekday),
                (None, Some(_)) => Err(ScheduleError::UnexpectedCutoff),
                (None, None) => Ok(Self::Manual),
            },
            _ => Err(ScheduleError::UnknownKind),
        }
    }

    /// "daily", "weekly" or "manual", as [`PayoutSchedule::parse`] reads them.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Daily { .. } => "daily",
            Self::Weekly { .. } => "weekly",
            Self::Manual => "manual",
        }
    }

    /// 1 for Monday to 7 for Sunday, for a weekly schedule.
    pub fn weekday_number(&self) -> Option<u32> {
        match self {
            Self::Weekly { weekday, .. } => Some(weekday.number_from_monday()),
            Self::Daily { .. } | Self::Manual => None,
        }
    }

    pub fn cutoff(&self) -> Option<NaiveTime> {
        match self {
            Self::Daily { cutoff } | Self::Weekly { cutoff, .. } => Some(*cutoff),
            Self::Manual => None,
        }
    }

    /// The cutoff written "HH:MM", as [`PayoutSchedule::parse`] reads it.
    pub fn cutoff_text(&self) -> Option<String> {
        self.cutoff().map(|time| format!("{:02}:{:02}", time.hour(), time.minute()))
    }

    /// A weekday written "1" (Monday) to "7" (Sunday), on its own, so that a form can check
    /// it even when the schedule's kind is wrong.
    pub fn parse_weekday(text: &str) -> Result<Weekday, ScheduleError> {
        let weekday = match text.trim() {
            "1" => Weekday::Mon,
            "2" => Weekday::Tue,
            "3" => Weekday::Wed,
            "4" => Weekday::Thu,
            "5" => Weekday::Fri,
            "6" => Weekday::Sat,
            "7" => Weekday::Sun,
            _ => return Err(ScheduleError::InvalidWeekday),
        };
        Ok(weekday)
    }

    /// A cutoff written exactly "HH:MM", on its own. Read by hand rather than with chrono's
    /// `%H:%M`, which is more lenient about digits than this format promises.
    pub fn parse_cutoff(text: &str) -> Result<NaiveTime, ScheduleError> {
        let text = text.trim();
        let two_digits = |part: &str| {
            (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<u32>().ok()).flatten()
        };
        text.split_once(':')
            .and_then(|(hour, minute)| NaiveTime::from_hms_opt(two_digits(hour)?, two_digits(minute)?, 0))
            .ok_or(ScheduleError::InvalidCutoff)
    }
}

impl Default for PayoutSchedule {
    /// Daily at 18:00: money reaches merchants promptly without anyone having to set it up.
    fn default() -> Self {
        Self::Daily { cutoff: Self::DEFAULT_CUTOFF }
    }
}
