//! A time of day as the console's forms give it: China time, to the minute or the second.
use chrono::{
    DateTime, NaiveDateTime, Utc,
    format::{Item, Numeric, Pad},
};
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

/// `%Y-%m-%d %H:%M:%S`, spelled out once: an export formats a time on every line, and a format
/// string would be parsed again each time.
const SHOWN: [Item<'static>; 11] = [
    Item::Numeric(Numeric::Year, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Month, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Day, Pad::Zero),
    Item::Literal(" "),
    Item::Numeric(Numeric::Hour, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Minute, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Second, Pad::Zero),
];

/// `at` as the console shows it and its forms take it back.
pub fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china()).format_with_items(SHOWN.iter()).to_string()
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
        assert_eq!(parse_china_time(Some(&china_time(with_seconds)), now), Ok(with_seconds));
        let early = parse_china_time(Some("0987-03-04 05:06:07"), now).unwrap();
        assert_eq!(china_time(early), early.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string());
    }
}
