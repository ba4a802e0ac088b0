//! The payout notify: JD POSTs a form with the payout's outcome, signed with the same `sign_data`
//! rule, to the request's `notify_url`, and wants the plain text `ok` back (seed 002: up to 5
//! times, at 0, 1, 3, 10 and 120 minutes, so the receiver must be idempotent).

use crate::error::FormError;
use crate::fields::CustomerNo;
use crate::fields::expect_constant;
use crate::form::{Fields, to_owned_pairs};
use crate::reply::TradeResult;
use crate::sign::{SIGN_TYPE, SignKey, sign_data, verify_sign_data};

/// The body the receiver answers once it has taken the notify in; anything else and JD sends it
/// again.
pub const NOTIFY_ACKNOWLEDGEMENT: &str = "ok";

/// A payout's outcome as JD posts it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Notify {
    pub customer_no: CustomerNo,
    pub trade: TradeResult,
}

impl Notify {
    /// The form the fake JD server posts.
    pub fn to_form(&self, sign_key: &SignKey) -> Vec<(String, String)> {
        let mut fields = vec![("customer_no", self.customer_no.to_string())];
        fields.extend(self.trade.fields());
        let sign = sign_data(fields.iter().map(|(key, value)| (*key, value.as_str())), sign_key);
        fields.push(("sign_type", SIGN_TYPE.to_owned()));
        fields.push(("sign_data", sign));
        to_owned_pairs(fields)
    }

    /// The client's side: `sign_data` verified over every other non-empty field (including any
    /// JD adds that this crate does not know), then the known fields parsed.
    pub fn from_form(form: &[(String, String)], sign_key: &SignKey) -> Result<Notify, FormError> {
        let fields = Fields::from_form(form)?;
        fields.require("sign_data")?;
        fields.parse_optional("sign_type", |text| expect_constant(text, SIGN_TYPE))?;
        if !verify_sign_data(fields.pairs(), sign_key) {
            return Err(FormError::BadSign);
        }
        Ok(Notify {
            customer_no: fields.parse("customer_no", CustomerNo::parse)?,
            trade: TradeResult::from_fields(&fields)?,
        })
    }
}
