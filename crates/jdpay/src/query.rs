//! `npp10/trade_query`, asking where a payout is: a plain signed form, nothing encrypted.
use crate::error::FormError;
use crate::fields::{CustomerNo, OutTradeNo, RequestDateTime, TRADE_TYPE, expect_constant};
use crate::form::{Fields, to_owned_pairs};
use crate::sign::{SIGN_TYPE, SignKey, sign_data, verify_sign_data};

const FORM_FIELDS: [&str; 6] =
    ["customer_no", "request_datetime", "out_trade_no", "trade_type", "sign_type", "sign_data"];

/// A query for one payout by the merchant's `out_trade_no`; `trade_type` is always `T_AGD` (seed
/// 002: anything else and JD's gateway answers 502).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TradeQuery {
    pub customer_no: CustomerNo,
    pub request_datetime: RequestDateTime,
    pub out_trade_no: OutTradeNo,
}

impl TradeQuery {
    fn signed_fields(&self) -> [(&'static str, String); 4] {
        [
            ("customer_no", self.customer_no.to_string()),
            ("request_datetime", self.request_datetime.to_string()),
            ("out_trade_no", self.out_trade_no.to_string()),
            ("trade_type", TRADE_TYPE.to_owned()),
        ]
    }

    /// The form to POST.
    pub fn to_form(&self, sign_key: &SignKey) -> Vec<(String, String)> {
        let fields = self.signed_fields();
        let sign_data = sign_data(fields.iter().map(|(key, value)| (*key, value.as_str())), sign_key);
        to_owned_pairs(fields.into_iter().chain([("sign_type", SIGN_TYPE.to_owned()), ("sign_data", sign_data)]))
    }

    /// What JD does with the form: check `sign_data`, then parse each field. Unknown fields are
    /// refused.
    pub fn from_form(form: &[(String, String)], sign_key: &SignKey) -> Result<TradeQuery, FormError> {
        let fields = Fields::from_form(form)?;
        fields.refuse_unknown(&FORM_FIELDS)?;
        fields.parse("sign_type", |text| expect_constant(text, SIGN_TYPE))?;
        fields.require("sign_data")?;
        if !verify_sign_data(fields.pairs(), sign_key) {
            return Err(FormError::BadSign);
        }
        fields.parse("trade_type", |text| expect_constant(text, TRADE_TYPE))?;
        Ok(TradeQuery {
            customer_no: fields.parse("customer_no", CustomerNo::parse)?,
            request_datetime: fields.parse("request_datetime", RequestDateTime::parse)?,
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
        })
    }
}
