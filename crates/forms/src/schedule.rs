//! A merchant's payout schedule, or a rate plan's payout defaults, as the forms give them; and
//! the fields that show a schedule for editing, which parse back to it.
use chrono::NaiveTime;
use domain::{
    Amount, Rate,
    onboarding::PayoutSchedule,
    payouts::{
        fee::FeeRule,
        schedule::{Cadence, Frequency, Schedule},
    },
};
use serde::{Deserialize, Serialize};

/// The largest amount a schedule names: the largest order (SPEC §5).
const MAX_AMOUNT: Amount = Amount::from_fen(10_000_000_000);

#[derive(Deserialize, Serialize, Debug, Clone, Default)]
pub struct ScheduleForm {
    pub frequency: Option<String>,
    pub time: Option<String>,
    pub weekday: Option<String>,
    pub month_day: Option<String>,
    pub minimum: Option<String>,
    pub retained: Option<String>,
    pub fee_fixed: Option<String>,
    pub fee_rate: Option<String>,
    pub fee_minimum: Option<String>,
}

/// The schedule form's values for `schedule`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFields {
    pub frequency: &'static str,
    pub time: String,
    pub weekday: String,
    pub month_day: String,
    pub minimum: String,
    pub retained: String,
    pub fee_fixed: String,
    pub fee_rate: String,
    pub fee_minimum: String,
}

pub fn fields(schedule: &Schedule) -> ScheduleFields {
    let (fee_fixed, fee_rate, fee_minimum) = match schedule.fee {
        FeeRule::Fixed(fee) => (fee.to_string(), "0".to_string(), Amount::ZERO.to_string()),
        FeeRule::Rate { rate, minimum } => (Amount::ZERO.to_string(), rate.to_string(), minimum.to_string()),
    };
    ScheduleFields {
        frequency: schedule.cadence.frequency().as_str(),
        time: schedule.at.format("%H:%M").to_string(),
        weekday: match schedule.cadence {
            Cadence::Weekly(weekday) => weekday.number_from_monday().to_string(),
            _ => String::new(),
        },
        month_day: match schedule.cadence {
            Cadence::Monthly(day) => day.to_string(),
            _ => String::new(),
        },
        minimum: schedule.minimum.to_string(),
        retained: schedule.retained.to_string(),
        fee_fixed,
        fee_rate,
        fee_minimum,
    }
}

impl ScheduleForm {
    /// A rate plan's payout defaults as the form gives them (the form has no frequency: the
    /// cadence is each merchant's), or the field that is wrong.
    pub fn parse_defaults(mut self) -> Result<Schedule, String> {
        self.frequency = Some(Frequency::Daily.as_str().to_string());
        self.parse()
    }

    /// The schedule the form describes, or the field that is wrong.
    pub fn parse(&self) -> Result<Schedule, String> {
        let text = |value: &Option<String>| value.as_deref().unwrap_or_default().trim().to_string();
        let number = |value: &Option<String>, range: std::ops::RangeInclusive<u32>, field: &str| {
            text(value).parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| field.to_string())
        };
        let money = |value: &Option<String>, field: &str| {
            Amount::parse_yuan_in(&text(value), Amount::ZERO, MAX_AMOUNT).map_err(|_| field.to_string())
        };
        let frequency = Frequency::parse(&text(&self.frequency)).ok_or("frequency")?;
        let cadence = match frequency {
            Frequency::Daily => Cadence::Daily,
            Frequency::Weekly => {
                Cadence::Weekly(PayoutSchedule::parse_weekday(&text(&self.weekday)).map_err(|_| "weekday")?)
            }
            Frequency::Monthly => Cadence::Monthly(number(&self.month_day, 1..=31, "month_day")?),
            Frequency::Manual => Cadence::Manual,
        };
        let at = NaiveTime::parse_from_str(&text(&self.time), "%H:%M").map_err(|_| "time")?;
        let minimum = money(&self.minimum, "minimum")?;
        if !minimum.is_positive() {
            return Err("minimum".into());
        }
        let rate = Rate::parse(&text(&self.fee_rate)).map_err(|_| "fee_rate")?;
        let fee = if rate == Rate::ZERO {
            FeeRule::Fixed(money(&self.fee_fixed, "fee_fixed")?)
        } else {
            FeeRule::Rate { rate, minimum: money(&self.fee_minimum, "fee_minimum")? }
        };
        Ok(Schedule { cadence, at, minimum, retained: money(&self.retained, "retained")?, fee })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &str) -> ScheduleForm {
        crate::body::read(pairs.as_bytes()).unwrap()
    }

    #[test]
    fn each_wrong_field_is_named() {
        let good = "frequency=weekly&weekday=3&time=09:30&minimum=1.00&retained=0&fee_rate=0.001&fee_minimum=2.00";
        let schedule = form(good).parse().unwrap();
        assert_eq!(schedule.cadence, Cadence::Weekly(chrono::Weekday::Wed));
        for (change, field) in [
            ("weekday=8", "weekday"),
            ("time=25:00", "time"),
            ("minimum=0", "minimum"),
            ("fee_rate=x", "fee_rate"),
            ("fee_minimum=-1", "fee_minimum"),
        ] {
            let name = change.split('=').next().unwrap();
            let kept: Vec<&str> = good.split('&').filter(|pair| !pair.starts_with(&format!("{name}="))).collect();
            let body = format!("{}&{change}", kept.join("&"));
            assert_eq!(form(&body).parse(), Err(field.to_string()), "{body}");
        }
    }

    #[test]
    fn the_fields_shown_parse_back_to_the_schedule() {
        for body in [
            "frequency=daily&time=00:00&minimum=0.01&retained=5&fee_rate=0&fee_fixed=1.50",
            "frequency=monthly&month_day=31&time=23:59&minimum=100&retained=0&fee_rate=0.0025&fee_minimum=0",
            "frequency=manual&time=12:00&minimum=1&retained=0&fee_rate=0&fee_fixed=0",
        ] {
            let schedule = form(body).parse().unwrap();
            let shown = serde_urlencoded::to_string(fields(&schedule)).unwrap();
            assert_eq!(form(&shown).parse(), Ok(schedule), "{shown}");
        }
    }
}
