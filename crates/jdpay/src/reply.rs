//! The JSON reply to `defray_pay` and `trade_query`, as JD's npp10 demos receive it:
//! `{"response_code":"0000","response_message":"…","out_trade_no":"…","trade_no":"…",
//! "trade_amount":"1","trade_currency":"CNY","trade_status":"FINI","sign_type":"SHA-256",
//! "sign_data":"…"}`, signed with the same `sign_data` rule over its other non-empty fields.
//!
//! The client reads it with [`Reply::parse`]; the fake JD server writes it with
//! [`Reply::to_json`]. An empty body and a body that is not JSON are their own errors, because
//! the client must take them as "outcome unknown, query", never as a refusal.
use std::fmt;

use domain::payouts::ChannelPayoutState;
use serde_json::{Map, Value};

use crate::error::FormError;
use crate::fields::{CURRENCY, FieldError, JdTradeNo, OutTradeNo, TradeAmount, expect_constant};
use crate::form::Fields;
use crate::sign::{SIGN_TYPE, SignKey, sign_data, verify_sign_data};

/// Far above any reply of this protocol; a longer body is not one.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// `response_code`. Only `0000` means JD answered the question; what each other code means for a
/// payout (refused, or unknown and to be queried) is the client's table, not this crate's.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ResponseCode {
    /// `0000`.
    Success,
    /// `SYSTEM_ERROR`: JD failed; whether the payout was taken is unknown.
    SystemError,
    /// `OUT_TRADE_NO_EXIST`: the `out_trade_no` was already used (seed 002: 外部交易号已经存在).
    OutTradeNoExist,
    /// `NO_RESULT`: JD has no such payout (seed 002).
    NoResult,
    /// `ILLEGAL_SIGN`: JD could not verify the signature or the envelope.
    IllegalSign,
    /// `ILLEGAL_ARGUMENT`: a field is missing or invalid.
    IllegalArgument,
    /// Any other code, kept as received.
    Other(String),
}

impl ResponseCode {
    pub fn parse(text: &str) -> ResponseCode {
        match text {
            "0000" => ResponseCode::Success,
            "SYSTEM_ERROR" => ResponseCode::SystemError,
            "OUT_TRADE_NO_EXIST" => ResponseCode::OutTradeNoExist,
            "NO_RESULT" => ResponseCode::NoResult,
            "ILLEGAL_SIGN" => ResponseCode::IllegalSign,
            "ILLEGAL_ARGUMENT" => ResponseCode::IllegalArgument,
            other => ResponseCode::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::Success => "0000",
            ResponseCode::SystemError => "SYSTEM_ERROR",
            ResponseCode::OutTradeNoExist => "OUT_TRADE_NO_EXIST",
            ResponseCode::NoResult => "NO_RESULT",
            ResponseCode::IllegalSign => "ILLEGAL_SIGN",
            ResponseCode::IllegalArgument => "ILLEGAL_ARGUMENT",
            ResponseCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `trade_status`, the payout as JD has it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Status {
    /// `BUID`: created at JD.
    Created,
    /// `ACSU`: accepted, handed on.
    Accepted,
    /// `WPAR`: waiting for the bank's answer.
    AwaitingBank,
    /// `FINI`: paid.
    Succeeded,
    /// `CLOS`: not paid; final.
    Failed,
    /// `REFU`: paid, then sent back by the payee's bank (退票, seed 002); final.
    Returned,
}

impl Status {
    pub fn parse(text: &str) -> Result<Status, FieldError> {
        match text {
            "BUID" => Ok(Status::Created),
            "ACSU" => Ok(Status::Accepted),
            "WPAR" => Ok(Status::AwaitingBank),
            "FINI" => Ok(Status::Succeeded),
            "CLOS" => Ok(Status::Failed),
            "REFU" => Ok(Status::Returned),
            _ => Err(FieldError::NotOneOf { expected: "BUID, ACSU, WPAR, FINI, CLOS or REFU" }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "BUID",
            Status::Accepted => "ACSU",
            Status::AwaitingBank => "WPAR",
            Status::Succeeded => "FINI",
            Status::Failed => "CLOS",
            Status::Returned => "REFU",
        }
    }

    /// The platform's view (SPEC §6): BUID, ACSU and WPAR are pending, FINI succeeded, CLOS failed,
    /// REFU returned after success.
    pub fn channel_state(self) -> ChannelPayoutState {
        match self {
            Status::Created | Status::Accepted | Status::AwaitingBank => ChannelPayoutState::Pending,
            Status::Succeeded => ChannelPayoutState::Succeeded,
            Status::Failed => ChannelPayoutState::Failed,
            Status::Returned => ChannelPayoutState::Returned,
        }
    }
}

/// The payout a successful reply (or a notify) describes. `trade_currency` is CNY whenever it is
/// present, so it is not kept.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TradeResult {
    pub out_trade_no: OutTradeNo,
    pub trade_no: JdTradeNo,
    pub trade_amount: TradeAmount,
    pub trade_status: Status,
}

impl TradeResult {
    pub(crate) fn fields(&self) -> [(&'static str, String); 5] {
        [
            ("out_trade_no", self.out_trade_no.to_string()),
            ("trade_no", self.trade_no.to_string()),
            ("trade_amount", self.trade_amount.to_string()),
            ("trade_currency", CURRENCY.to_owned()),
            ("trade_status", self.trade_status.as_str().to_owned()),
        ]
    }

    /// `trade_currency` may be absent; when present it must be CNY.
    pub(crate) fn from_fields(fields: &Fields<'_>) -> Result<TradeResult, FormError> {
        fields.parse_optional("trade_currency", |text| expect_constant(text, CURRENCY))?;
        Ok(TradeResult {
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
            trade_no: fields.parse("trade_no", JdTradeNo::parse)?,
            trade_amount: fields.parse("trade_amount", TradeAmount::parse)?,
            trade_status: fields.parse("trade_status", Status::parse)?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// No body at all (or only whitespace): the outcome is unknown.
    #[error("the reply is empty")]
    Empty,
    #[error("the reply is longer than {max} bytes")]
    TooLarge { max: usize },
    /// Not a JSON object (an HTML error page, a proxy's text): the outcome is unknown.
    #[error("the reply is not a JSON object")]
    NotJson,
    #[error("the reply has more than {max} fields")]
    TooManyFields { max: usize },
    #[error("field {0} is not a string, a whole number, a boolean or null")]
    UnsupportedValue(String),
    /// A reply without `sign_data` cannot be told from a forgery; its code is kept so the client
    /// can log what it said, but it must not act on it.
    #[error("the reply carries no sign_data (response_code {response_code})")]
    Unsigned { response_code: ResponseCode },
    #[error("sign_data does not match the reply and the sign key")]
    BadSign,
    #[error("field {0} is missing")]
    MissingField(&'static str),
    #[error("field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

/// Only the field errors of reading a reply's fields occur where this is used.
impl From<FormError> for ReplyError {
    fn from(error: FormError) -> ReplyError {
        match error {
            FormError::MissingField(field) => ReplyError::MissingField(field),
            FormError::InvalidField { field, reason } => ReplyError::InvalidField { field, reason },
            FormError::TooManyFields { max } => ReplyError::TooManyFields { max },
            _ => ReplyError::NotJson,
        }
    }
}

/// A reply from JD. For a parsed reply, `trade` is present exactly when `response_code` is
/// [`ResponseCode::Success`]; the fake server may write any combination.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reply {
    pub response_code: ResponseCode,
    pub response_message: String,
    pub trade: Option<TradeResult>,
}

impl Reply {
    /// The reply body, signed with `sign_key` (for the fake JD server).
    pub fn to_json(&self, sign_key: &SignKey) -> String {
        let mut fields = vec![
            ("response_code", self.response_code.as_str().to_owned()),
            ("response_message", self.response_message.clone()),
        ];
        if let Some(trade) = &self.trade {
            fields.extend(trade.fields());
        }
        fields.push(("sign_type", SIGN_TYPE.to_owned()));
        let sign = sign_data(fields.iter().map(|(key, value)| (*key, value.as_str())), sign_key);
        fields.push(("sign_data", sign));
        let object: Map<String, Value> = fields
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.to_owned(), Value::String(value)))
            .collect();
        Value::Object(object).to_string()
    }

    /// A reply body as received, its `sign_data` verified over all its other non-empty fields
    /// (including any this crate does not know), then parsed.
    pub fn parse(body: &[u8], sign_key: &SignKey) -> Result<Reply, ReplyError> {
        if body.len() > MAX_REPLY_BYTES {
            return Err(ReplyError::TooLarge { max: MAX_REPLY_BYTES });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ReplyError::Empty);
        }
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
            return Err(ReplyError::NotJson);
        };
        let mut texts: Vec<(&str, String)> = Vec::with_capacity(object.len());
        for (key, value) in &object {
            match value {
                Value::String(text) => texts.push((key, text.clone())),
                Value::Number(number) if number.is_i64() || number.is_u64() => texts.push((key, number.to_string())),
                Value::Bool(flag) => texts.push((key, flag.to_string())),
                Value::Null => {}
                // Fractions, arrays and objects have no agreed signed text: refused, not guessed at.
                _ => return Err(ReplyError::UnsupportedValue(key.clone())),
            }
        }
        // The object's keys are unique, so only the field count can fail here.
        let fields = Fields::new(texts.iter().map(|(key, text)| (*key, text.as_str())))?;

        let response_code =
            ResponseCode::parse(fields.get("response_code").ok_or(ReplyError::MissingField("response_code"))?);
        if fields.get("sign_data").is_none() {
            return Err(ReplyError::Unsigned { response_code });
        }
        fields.parse_optional("sign_type", |text| expect_constant(text, SIGN_TYPE))?;
        if !verify_sign_data(fields.pairs(), sign_key) {
            return Err(ReplyError::BadSign);
        }
        let trade = match response_code {
            ResponseCode::Success => Some(TradeResult::from_fields(&fields)?),
            _ => None,
        };
        Ok(Reply {
            response_code,
            response_message: fields.get("response_message").unwrap_or_default().to_owned(),
            trade,
        })
    }
}
