//! A time of day as the console's forms give it: China time, to the minute or the second.
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use domain::calendar::china;

const FORMATS: [&str; 4] = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"];

/// The instant a form's China time names (`datetime-local`'s `T` or a space), or `now` when the
/// field is blank.
pub fn parse_china_time(text: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(now);
    };
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|local| local.and_local_timezone(china()).single())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| format!("{text:?} is not a time written YYYY-MM-DD HH:MM"))
}

/// `at` as the console shows it and its forms take it back: `YYYY-MM-DD HH:MM:SS`, China time.
pub fn china_time(at: DateTime<Utc>) -> String {
    let mut shown = String::with_capacity(19);
    // Writing to a String cannot fail.
    let _ = write_china_time(&mut shown, at);
    shown
}

/// [`china_time`] written into `out`, from the local time's fields (an export writes one per line,
/// so neither a `String` each nor a format string parsed each time).
pub fn write_china_time(out: &mut impl std::fmt::Write, at: DateTime<Utc>) -> std::fmt::Result {
    let local = at.with_timezone(&china()).naive_local();
    let (date, time) = (local.date(), local.time());
    write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_china_time() {
        let now = Utc::now();
        let at = parse_china_time(Some("2025-01-31T09:30"), now).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-01-31T01:30:00+00:00");
        let with_seconds = parse_china_time(Some("2025-01-31 09:30:15"), now).unwrap();
        assert_eq!(with_seconds.to_rfc3339(), "2025-01-31T01:30:15+00:00");
        assert!(parse_china_time(Some("tomorrow"), now).is_err());
        assert_eq!(parse_china_time(Some("  "), now), Ok(now));
        assert_eq!(china_time(at), "2025-01-31 09:30:00");
        let mut written = String::new();
        write_china_time(&mut written, with_seconds).unwrap();
        assert_eq!(written, "2025-01-31 09:30:15");
        assert_eq!(parse_china_time(Some(&china_time(with_seconds)), now), Ok(with_seconds));
        let early = parse_china_time(Some("0987-03-04 05:06:07"), now).unwrap();
        assert_eq!(china_time(early), early.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string());
    }
}
