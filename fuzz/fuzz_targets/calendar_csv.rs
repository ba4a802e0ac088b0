//! The payout calendar's CSV import (special days: holidays and working weekends).
//!
//! Beyond "no panic": every day read is written back as a line that reads to the same day, and
//! no note holds a control character or more than the kept length.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(days) = payouts::calendar::parse_csv(text) else { return };
    for day in &days {
        assert!(!day.note.chars().any(char::is_control));
        let kind = match day.kind {
            domain::payouts::calendar::SpecialDay::Holiday => "holiday",
            domain::payouts::calendar::SpecialDay::WorkingDay => "working_day",
        };
        let line = format!("{},{kind},{}", day.day.format("%Y-%m-%d"), day.note);
        let again = payouts::calendar::parse_csv(&line).expect("a day that was read reads again");
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].day, again[0].kind), (day.day, day.kind));
        assert_eq!(again[0].note, day.note.trim());
    }
});
