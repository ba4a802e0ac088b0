use chrono::{NaiveTime, Weekday};
use domain::onboarding::{PayoutSchedule, ScheduleError};

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

#[test]
fn daily_defaults_to_six_in_the_evening() {
    let daily = PayoutSchedule::parse("daily", None, None).unwrap();
    assert_eq!(daily, PayoutSchedule::Daily { cutoff: time(18, 0) });
    assert_eq!(PayoutSchedule::default(), daily);
    assert_eq!(daily.kind(), "daily");
    assert_eq!(daily.weekday_number(), None);
    assert_eq!(daily.cutoff(), Some(time(18, 0)));
    assert_eq!(daily.cutoff_text().as_deref(), Some("18:00"));
}

#[test]
fn daily_with_a_cutoff() {
    let daily = PayoutSchedule::parse(" Daily ", None, Some("09:05")).unwrap();
    assert_eq!(daily, PayoutSchedule::Daily { cutoff: time(9, 5) });
    assert_eq!(daily.cutoff_text().as_deref(), Some("09:05"));
    for (text, expected) in [("00:00", time(0, 0)), ("23:59", time(23, 59))] {
        assert_eq!(PayoutSchedule::parse("daily", None, Some(text)).unwrap().cutoff(), Some(expected));
    }
}

#[test]
fn weekly_needs_a_weekday_from_one_to_seven() {
    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    for (number, weekday) in (1_u32..).zip(weekdays) {
        let text = number.to_string();
        let weekly = PayoutSchedule::parse("weekly", Some(&text), None).unwrap();
        assert_eq!(weekly, PayoutSchedule::Weekly { weekday, cutoff: time(18, 0) });
        assert_eq!(weekly.kind(), "weekly");
        assert_eq!(weekly.weekday_number(), Some(number));
    }
    let friday = PayoutSchedule::parse("weekly", Some("5"), Some("17:30")).unwrap();
    assert_eq!(friday.cutoff(), Some(time(17, 30)));
    assert_eq!(PayoutSchedule::parse("weekly", None, None), Err(ScheduleError::MissingWeekday));
    for text in ["0", "8", "01", "Mon", "monday", "1.5", "-1", ""] {
        assert_eq!(PayoutSchedule::parse("weekly", Some(text), None), Err(ScheduleError::InvalidWeekday), "{text:?}");
    }
}

#[test]
fn manual_has_no_weekday_or_cutoff() {
    let manual = PayoutSchedule::parse("manual", None, None).unwrap();
    assert_eq!(manual, PayoutSchedule::Manual);
    assert_eq!(manual.kind(), "manual");
    assert_eq!(manual.weekday_number(), None);
    assert_eq!(manual.cutoff(), None);
    assert_eq!(manual.cutoff_text(), None);
    assert_eq!(PayoutSchedule::parse("manual", None, Some("18:00")), Err(ScheduleError::UnexpectedCutoff));
    assert_eq!(PayoutSchedule::parse("manual", Some("1"), None), Err(ScheduleError::UnexpectedWeekday));
}

#[test]
fn a_weekday_on_a_daily_schedule_is_refused() {
    assert_eq!(PayoutSchedule::parse("daily", Some("1"), None), Err(ScheduleError::UnexpectedWeekday));
}

#[test]
fn unknown_kinds_are_refused() {
    for kind in ["", "monthly", "每日", "d"] {
        assert_eq!(PayoutSchedule::parse(kind, None, None), Err(ScheduleError::UnknownKind), "{kind:?}");
    }
}

#[test]
fn cutoffs_are_exactly_hh_mm() {
    for text in ["", "18", "18:0", "8:00", "18:00:00", "24:00", "23:60", "18-00", "18:00pm", "１８:00", "+1:00", " : "]
    {
        assert_eq!(PayoutSchedule::parse("daily", None, Some(text)), Err(ScheduleError::InvalidCutoff), "{text:?}");
        assert_eq!(PayoutSchedule::parse_cutoff(text), Err(ScheduleError::InvalidCutoff));
    }
    assert_eq!(PayoutSchedule::parse_cutoff(" 07:45 "), Ok(time(7, 45)));
    assert_eq!(PayoutSchedule::parse_weekday("7"), Ok(Weekday::Sun));
}

#[test]
fn error_messages_name_the_problem() {
    let cases = [
        (ScheduleError::UnknownKind, "payout schedule must be daily, weekly or manual"),
        (ScheduleError::MissingWeekday, "a weekly payout schedule needs a weekday"),
        (ScheduleError::InvalidWeekday, "payout weekday must be a number from 1 (Monday) to 7 (Sunday)"),
        (ScheduleError::UnexpectedWeekday, "a payout weekday is allowed only for a weekly schedule"),
        (ScheduleError::InvalidCutoff, "payout cutoff must be a time of day written HH:MM, e.g. 18:00"),
        (ScheduleError::UnexpectedCutoff, "a manual payout schedule has no cutoff time"),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}
