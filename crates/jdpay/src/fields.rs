//! The values of JD's payout fields, each checked when parsed, so a message built from them is
//! always one JD (and the fake JD) can read back.
//!
//! Fields the platform already has a type for use it: `out_trade_no` is [`OutTradeNo`], the
//! payee's account number, bank and branch codes and mobile are the onboarding types, so what
//! onboarding accepted is what a payout sends. No value may contain `&` (see the crate doc).
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use domain::Amount;

pub use domain::OutTradeNo;
pub use domain::onboarding::{AccountType, BankAccountNumber, BankCode, CnapsCode, MainlandMobile};

/// `trade_currency`: JD pays out in yuan only.
pub const CURRENCY: &str = "CNY";
/// `pay_tool`: a transfer to a bank account.
pub const PAY_TOOL: &str = "TRAN";
/// `trade_type` of `trade_query`: a payout (代付) order.
pub const TRADE_TYPE: &str = "T_AGD";

/// Why a field's text is not an acceptable value. The caller knows which field it parsed, so the
/// messages name only the problem.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum FieldError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a character that is not allowed")]
    InvalidCharacter,
    #[error("contains `&`, which JD's string to sign cannot carry")]
    Ampersand,
    #[error("is not a date and time as yyyyMMdd'T'HHmmss between the years 1000 and 9999")]
    NotADateTime,
    #[error("is not a positive whole number of fen")]
    NotAnAmount,
    #[error("must be {expected}")]
    NotOneOf { expected: &'static str },
    #[error("is not an http or https URL")]
    NotAUrl,
}

/// Up to `max` characters with none of `&` or control characters; kept exactly as given, because
/// the signature covers the exact text.
fn checked_text(text: &str, max: usize) -> Result<String, FieldError> {
    if text.is_empty() {
        return Err(FieldError::Empty);
    }
    if text.contains('&') {
        return Err(FieldError::Ampersand);
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::InvalidCharacter);
    }
    if text.chars().count() > max {
        return Err(FieldError::TooLong { max });
    }
    Ok(text.to_owned())
}

/// 1 to `max` characters of `[A-Za-z0-9]` and the given extra ASCII characters.
fn checked_code(text: &str, max: usize, extra: &[u8]) -> Result<String, FieldError> {
    if text.is_empty() {
        return Err(FieldError::Empty);
    }
    if !text.bytes().all(|byte| byte.is_ascii_alphanumeric() || extra.contains(&byte)) {
        return Err(FieldError::InvalidCharacter);
    }
    // ASCII by now, so bytes and characters count the same.
    if text.len() > max {
        return Err(FieldError::TooLong { max });
    }
    Ok(text.to_owned())
}

macro_rules! text_field {
    ($(#[$doc:meta])* $name:ident, $max:expr, $parse:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(text: &str) -> Result<$name, FieldError> {
                let parse: fn(&str) -> Result<String, FieldError> = $parse;
                parse(text).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_field!(
    /// `customer_no`: the merchant's member number at JD (会员号).
    CustomerNo, 32, |text| checked_code(text, CustomerNo::MAX_CHARS, b"")
);
text_field!(
    /// `trade_no`: JD's own number for the payout.
    JdTradeNo, 64, |text| checked_code(text, JdTradeNo::MAX_CHARS, b"_-")
);
text_field!(
    /// `trade_subject`: what the payout is for, shown on the payee's statement.
    TradeSubject, 64, |text| checked_text(text, TradeSubject::MAX_CHARS)
);
text_field!(
    /// `payee_account_name`: whose the account is, a person or a company. `Debug` masks it.
    PayeeAccountName, 128, |text| checked_text(text, PayeeAccountName::MAX_CHARS)
);
text_field!(
    /// `notify_url`: where JD posts the payout's outcome.
    NotifyUrl, 256, parse_notify_url
);

fn parse_notify_url(text: &str) -> Result<String, FieldError> {
    let url = checked_text(text, NotifyUrl::MAX_CHARS)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).ok_or(FieldError::NotAUrl)?;
    if rest.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(FieldError::NotAUrl);
    }
    Ok(url)
}

macro_rules! plain_debug {
    ($($name:ident),+) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    )+};
}

plain_debug!(CustomerNo, JdTradeNo, TradeSubject, NotifyUrl);

/// A name is personal data and debug output ends up in logs: only its first character shows.
impl fmt::Debug for PayeeAccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked: String =
            self.0.chars().enumerate().map(|(index, character)| if index == 0 { character } else { '*' }).collect();
        f.debug_tuple("PayeeAccountName").field(&masked).finish()
    }
}

/// `request_datetime`: `yyyyMMdd'T'HHmmss` (e.g. `20261206T101500`), China time, whole seconds.
/// The caller supplies it: this crate has no clock.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RequestDateTime(NaiveDateTime);

const MIN_YEAR: i32 = 1000;
const MAX_YEAR: i32 = 9999;

impl RequestDateTime {
    /// Sub-seconds (and a leap second's extra second) are dropped; a year outside 1000–9999 has
    /// no four-digit spelling and is refused.
    pub fn new(at: NaiveDateTime) -> Result<RequestDateTime, FieldError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&at.year()) {
            return Err(FieldError::NotADateTime);
        }
        at.with_nanosecond(0).map(RequestDateTime).ok_or(FieldError::NotADateTime)
    }

    pub fn parse(text: &str) -> Result<RequestDateTime, FieldError> {
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 15
            && bytes
                .iter()
                .enumerate()
                .all(|(index, byte)| if index == 8 { *byte == b'T' } else { byte.is_ascii_digit() });
        if !well_formed {
            return Err(FieldError::NotADateTime);
        }
        let number = |range: std::ops::Range<usize>| text.get(range).and_then(|digits| digits.parse::<u32>().ok());
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
            (number(0..4), number(4..6), number(6..8), number(9..11), number(11..13), number(13..15))
        else {
            return Err(FieldError::NotADateTime);
        };
        let year = i32::try_from(year).map_err(|_| FieldError::NotADateTime)?;
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(FieldError::NotADateTime)?;
        let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(FieldError::NotADateTime)?;
        RequestDateTime::new(date.and_time(time))
    }

    pub fn date_time(self) -> NaiveDateTime {
        self.0
    }
}

impl fmt::Display for RequestDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.0;
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    }
}

/// `trade_amount`: a positive number of fen, written as a plain integer (`1` is one fen).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TradeAmount(Amount);

/// A trillion yuan, far above any payout; it keeps the text short and the number exact.
const MAX_AMOUNT_DIGITS: usize = 15;

impl TradeAmount {
    pub fn new(amount: Amount) -> Result<TradeAmount, FieldError> {
        if !amount.is_positive() || amount.fen().to_string().len() > MAX_AMOUNT_DIGITS {
            return Err(FieldError::NotAnAmount);
        }
        Ok(TradeAmount(amount))
    }

    /// Digits only, no sign, no leading zero, no decimals: the text is signed, so there is
    /// exactly one spelling of each amount.
    pub fn parse(text: &str) -> Result<TradeAmount, FieldError> {
        let canonical = !text.is_empty()
            && text.len() <= MAX_AMOUNT_DIGITS
            && text.bytes().all(|byte| byte.is_ascii_digit())
            && !text.starts_with('0');
        if !canonical {
            return Err(FieldError::NotAnAmount);
        }
        let fen = text.parse::<i64>().map_err(|_| FieldError::NotAnAmount)?;
        TradeAmount::new(Amount::from_fen(fen))
    }

    pub fn amount(self) -> Amount {
        self.0
    }
}

impl fmt::Display for TradeAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.fen())
    }
}

/// `payee_card_type`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CardType {
    /// `DE`: a debit card or an ordinary account.
    Debit,
    /// `CR`: a credit card.
    Credit,
}

impl CardType {
    pub fn parse(text: &str) -> Result<CardType, FieldError> {
        match text {
            "DE" => Ok(CardType::Debit),
            "CR" => Ok(CardType::Credit),
            _ => Err(FieldError::NotOneOf { expected: "DE or CR" }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Debit => "DE",
            CardType::Credit => "CR",
        }
    }
}

/// `payee_account_type`: `P` a person's account, `C` a company's.
pub fn account_type_code(account_type: AccountType) -> &'static str {
    match account_type {
        AccountType::Personal => "P",
        AccountType::Corporate => "C",
    }
}

pub fn parse_account_type(text: &str) -> Result<AccountType, FieldError> {
    match text {
        "P" => Ok(AccountType::Personal),
        "C" => Ok(AccountType::Corporate),
        _ => Err(FieldError::NotOneOf { expected: "P or C" }),
    }
}

/// A field whose value is fixed by the protocol: `trade_currency`, `pay_tool`, `trade_type`,
/// `sign_type`, `encrypt_type`.
pub(crate) fn expect_constant(text: &str, expected: &'static str) -> Result<(), FieldError> {
    if text == expected { Ok(()) } else { Err(FieldError::NotOneOf { expected }) }
}
