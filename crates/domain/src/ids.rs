//! Identifiers that cross the wire. Each is validated when parsed, so a value of one of these
//! types is always well formed, and one kind of id can never be passed where another is wanted.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::Serialize;

/// Why a text is not a well-formed id. The caller knows which field it parsed, so the messages
/// name only the problem.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id is longer than {max} characters")]
    TooLong { max: usize },
    #[error("id must be exactly {expected} digits long")]
    WrongLength { expected: usize },
    #[error("id contains a character that is not allowed")]
    InvalidCharacter,
    #[error("id does not start with a valid timestamp")]
    InvalidDate,
}

/// A sub-merchant's id: `yyyyMMddHHmmss` + 6 digits, e.g. "20170720205421027980" (SPEC §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct SubMerchantId(String);

/// An app's id: `yyyyMMdd` + 8 digits, e.g. "2016072300007148" (SPEC §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct AppId(String);

/// The platform's order number: `yyyyMMddHHmmss` + 14 digits, e.g.
/// "2017090622140509534568101496" (SPEC §5).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct TradeNo(String);

/// The merchant's own order number: 1 to 64 characters of `[A-Za-z0-9_]` (seed 003).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct OutTradeNo(String);

const SUB_MERCHANT_ID_LENGTH: usize = 20;
const APP_ID_LENGTH: usize = 16;
const TRADE_NO_LENGTH: usize = 28;
const OUT_TRADE_NO_MAX_LENGTH: usize = 64;

impl SubMerchantId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        parse_stamped_digits(text, SUB_MERCHANT_ID_LENGTH, Stamp::DateTime).map(Self)
    }

    /// The id for a sub-merchant approved at `at`; `suffix` is taken mod 1 000 000.
    /// Uniqueness is the caller's job (a database constraint), not this function's.
    ///
    /// # Panics
    /// If `at` is outside the years 0000–9999, which a clock never reports.
    pub fn generate(at: NaiveDateTime, suffix: u32) -> Self {
        Self(format!("{}{:06}", date_time_digits(at), suffix % 1_000_000))
    }
}

impl AppId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        parse_stamped_digits(text, APP_ID_LENGTH, Stamp::Date).map(Self)
    }

    /// The id for an app created on `on`; `suffix` is taken mod 100 000 000.
    ///
    /// # Panics
    /// If `on` is outside the years 0000–9999.
    pub fn generate(on: NaiveDate, suffix: u32) -> Self {
        Self(format!("{}{:08}", date_digits(on), suffix % 100_000_000))
    }
}

impl TradeNo {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        parse_stamped_digits(text, TRADE_NO_LENGTH, Stamp::DateTime).map(Self)
    }

    /// The number for an order created at `at`; `suffix` is taken mod 10^14.
    ///
    /// # Panics
    /// If `at` is outside the years 0000–9999.
    pub fn generate(at: NaiveDateTime, suffix: u64) -> Self {
        let suffix = suffix % 100_000_000_000_000;
        Self(format!("{}{suffix:014}", date_time_digits(at)))
    }
}

impl OutTradeNo {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if !text.chars().all(allowed) {
            return Err(IdError::InvalidCharacter);
        }
        // All ASCII by now, so bytes and characters count the same.
        if text.len() > OUT_TRADE_NO_MAX_LENGTH {
            return Err(IdError::TooLong { max: OUT_TRADE_NO_MAX_LENGTH });
        }
        Ok(Self(text.to_owned()))
    }
}

macro_rules! string_id_views {
    ($($id:ty),+) => {$(
        impl AsRef<str> for $id {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

string_id_views!(SubMerchantId, AppId, TradeNo, OutTradeNo);

/// What the leading digits of an id encode.
#[derive(Clone, Copy)]
enum Stamp {
    /// `yyyyMMdd`
    Date,
    /// `yyyyMMddHHmmss`
    DateTime,
}

/// Validates an id of exactly `length` ASCII digits that starts with a real date or date-time.
/// Characters are checked before the length so that, say, full-width digits are reported as the
/// wrong characters rather than as a confusing byte length.
fn parse_stamped_digits(text: &str, length: usize, stamp: Stamp) -> Result<String, IdError> {
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::InvalidCharacter);
    }
    if text.len() != length {
        return Err(IdError::WrongLength { expected: length });
    }
    if read_stamp(text, stamp).is_none() {
        return Err(IdError::InvalidDate);
    }
    Ok(text.to_owned())
}

/// The timestamp at the start of `digits`, or None if it is not a real calendar date (and time
/// of day). Read field by field rather than with `%Y%m%d%H%M%S`, because chrono's `%S` accepts
/// 60 as a leap second, which no id should carry.
fn read_stamp(digits: &str, stamp: Stamp) -> Option<NaiveDateTime> {
    let field = |start: usize, width: usize| digits.get(start..start + width)?.parse::<u32>().ok();
    let year = i32::try_from(field(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, field(4, 2)?, field(6, 2)?)?;
    match stamp {
        Stamp::Date => date.and_hms_opt(0, 0, 0),
        Stamp::DateTime => date.and_hms_opt(field(8, 2)?, field(10, 2)?, field(12, 2)?),
    }
}

/// `yyyyMMdd`, refusing years that do not fit four digits, since the id would be malformed.
fn date_digits(on: NaiveDate) -> String {
    let year = on.year();
    assert!((0..=9999).contains(&year), "ids encode a four-digit year, got {year}");
    format!("{year:04}{:02}{:02}", on.month(), on.day())
}

/// `yyyyMMddHHmmss`. Built from the fields rather than `%S`, which prints a leap second as 60,
/// a value the parser (rightly) rejects.
fn date_time_digits(at: NaiveDateTime) -> String {
    format!("{}{:02}{:02}{:02}", date_digits(at.date()), at.hour(), at.minute(), at.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_time(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn parses_the_documented_examples() {
        let sub_merchant = SubMerchantId::parse("20170720205421027980").unwrap();
        assert_eq!(sub_merchant.as_ref(), "20170720205421027980");
        assert_eq!(AppId::parse("2016072300007148").unwrap().to_string(), "2016072300007148");
        let trade_no = "2017090622140509534568101496";
        assert_eq!(TradeNo::parse(trade_no).unwrap().as_ref(), trade_no);
        let out_trade_no = "Order_2017_abc";
        assert_eq!(OutTradeNo::parse(out_trade_no).unwrap().as_ref(), out_trade_no);
        assert!(OutTradeNo::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_each_malformed_id_with_its_own_error() {
        use IdError::*;
        let sub_merchant = |text: &str| SubMerchantId::parse(text).map(|_| ());
        assert_eq!(sub_merchant(""), Err(Empty));
        assert_eq!(sub_merchant("2017072020542102798x"), Err(InvalidCharacter));
        assert_eq!(sub_merchant("２０17072020542102798"), Err(InvalidCharacter));
        assert_eq!(sub_merchant("2017072020542102798"), Err(WrongLength { expected: 20 }));
        assert_eq!(sub_merchant("20171320205421027980"), Err(InvalidDate));
        assert_eq!(sub_merchant("20170230205421027980"), Err(InvalidDate));
        assert_eq!(sub_merchant("20170720245421027980"), Err(InvalidDate));
        assert_eq!(sub_merchant("20170720205460027980"), Err(InvalidDate));

        let app = |text: &str| AppId::parse(text).map(|_| ());
        assert_eq!(app(""), Err(Empty));
        assert_eq!(app("2016-07-23000071"), Err(InvalidCharacter));
        assert_eq!(app("20160723000071480"), Err(WrongLength { expected: 16 }));
        assert_eq!(app("2015022900007148"), Err(InvalidDate));

        let trade = |text: &str| TradeNo::parse(text).map(|_| ());
        assert_eq!(trade(""), Err(Empty));
        assert_eq!(trade("2017090622140509534568101 96"), Err(InvalidCharacter));
        assert_eq!(trade("20170906221405"), Err(WrongLength { expected: 28 }));
        assert_eq!(trade("2017090699140509534568101496"), Err(InvalidDate));

        let out_trade = |text: &str| OutTradeNo::parse(text).map(|_| ());
        assert_eq!(out_trade(""), Err(Empty));
        assert_eq!(out_trade("order-1"), Err(InvalidCharacter));
        assert_eq!(out_trade("订单1"), Err(InvalidCharacter));
        assert_eq!(out_trade(&"a".repeat(65)), Err(TooLong { max: 64 }));
    }

    #[test]
    fn generated_ids_parse_and_carry_their_timestamp() {
        let at = date_time("2017-07-20 20:54:21");
        let sub_merchant = SubMerchantId::generate(at, 1_027_980);
        assert_eq!(sub_merchant.as_ref(), "20170720205421027980");
        assert_eq!(SubMerchantId::parse(sub_merchant.as_ref()), Ok(sub_merchant));

        let app = AppId::generate(at.date(), 7148);
        assert_eq!(app.as_ref(), "2017072000007148");
        assert_eq!(AppId::parse(app.as_ref()), Ok(app));

        let trade = TradeNo::generate(at, u64::MAX);
        assert_eq!(trade.as_ref(), "2017072020542144073709551615");
        assert_eq!(TradeNo::parse(trade.as_ref()), Ok(trade));
    }

    #[test]
    fn a_leap_second_still_generates_a_valid_id() {
        let leap =
            NaiveDate::from_ymd_opt(2016, 12, 31).and_then(|date| date.and_hms_milli_opt(23, 59, 59, 1_500)).unwrap();
        let id = SubMerchantId::generate(leap, 1);
        assert_eq!(id.as_ref(), "20161231235959000001");
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let id = OutTradeNo::parse("abc_123").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc_123\"");
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(IdError::TooLong { max: 64 }.to_string(), "id is longer than 64 characters");
        assert_eq!(IdError::WrongLength { expected: 20 }.to_string(), "id must be exactly 20 digits long");
    }
}
