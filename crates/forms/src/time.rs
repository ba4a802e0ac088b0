//! A time of day as the console's forms give it: China time, to the minute or the second.
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
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

/// [`china_time`] written into `out`. An export writes one per line, so the digits are put in
/// place by hand: through `write!`, padding each field was most of a line's formatting.
pub fn write_china_time(out: &mut impl std::fmt::Write, at: DateTime<Utc>) -> std::fmt::Result {
    let local = at.with_timezone(&china()).naive_local();
    let Some(mut text) = date_digits(local.date()) else {
        return write!(out, "{}", local.format("%Y-%m-%d %H:%M:%S"));
    };
    let time = local.time();
    for (at, field) in [(11, time.hour()), (14, time.minute()), (17, time.second())] {
        text[at..at + 2].copy_from_slice(&two_digits(field));
    }
    text[10] = b' ';
    text[13] = b':';
    text[16] = b':';
    out.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
}

/// `date` written `YYYY-MM-DD` into `out` (as chrono's `Display` writes it), its digits put in
/// place by hand, as [`write_china_time`]'s.
pub fn write_date(out: &mut impl std::fmt::Write, date: NaiveDate) -> std::fmt::Result {
    match date_digits(date) {
        Some(text) => out.write_str(std::str::from_utf8(&text[..10]).map_err(|_| std::fmt::Error)?),
        None => write!(out, "{date}"),
    }
}

/// `YYYY-MM-DD` in the first ten bytes of nineteen (room for a time after it); `None` for a year
/// outside 0–9999, which chrono writes otherwise.
fn date_digits(date: NaiveDate) -> Option<[u8; 19]> {
    let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
    let mut text = [b'0'; 19];
    text[..2].copy_from_slice(&two_digits(year / 100));
    text[2..4].copy_from_slice(&two_digits(year % 100));
    text[4] = b'-';
    text[5..7].copy_from_slice(&two_digits(date.month()));
    text[7] = b'-';
    text[8..10].copy_from_slice(&two_digits(date.day()));
    Some(text)
}

/// The last two decimal digits of `value`.
fn two_digits(value: u32) -> [u8; 2] {
    // Both digits are below ten, so the casts keep them.
    [b'0' + (value / 10 % 10) as u8, b'0' + (value % 10) as u8]
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

    #[test]
    fn dates_and_times_are_written_as_chrono_writes_them() {
        let instants = [
            "2026-12-31T16:00:00Z",
            "2026-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "9999-12-30T12:34:56Z",
            "9999-12-31T20:00:00Z",
        ];
        for text in instants {
            let at = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
            assert_eq!(china_time(at), at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string(), "{text}");
        }
        for date in [NaiveDate::MIN, NaiveDate::MAX, NaiveDate::from_ymd_opt(7, 8, 9).unwrap(), NaiveDate::default()] {
            let mut written = String::new();
            write_date(&mut written, date).unwrap();
            assert_eq!(written, date.to_string());
        }
        let at = NaiveDate::from_ymd_opt(-1, 6, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert_eq!(china_time(at), at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string());
    }
}
