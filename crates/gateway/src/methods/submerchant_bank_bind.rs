//! `fshows.liquidation.submerchant.bank.bind`: replace the settlement account of one of the
//! calling ISV's sub-merchants.
//!
//! Content: `sub_merchant_id` or `external_id`, and the account with the rules of an application:
//! `account_type` (`corporate` | `personal`), `account_holder`, `account_number` (16–19 digits
//! passing the Luhn check for a personal card, 8–32 digits for a corporate account), `bank_code`,
//! and `branch_name` and `cnaps_code` (12 digits), both required for a corporate account. An
//! invalid account is `-101` naming its first invalid field.
//!
//! The account can be replaced while the application is a draft or submitted — before the
//! micro-deposit that verifies it is sent. Later (verifying, in review, approved, frozen,
//! rejected, closed) it is `-220` with the reason: an approved merchant's new account would have
//! to be verified by micro-deposit before any payout goes to it, which this method does not do.
//! Binding the account the merchant already has succeeds in any state and changes nothing, so a
//! retry gets the original answer.
//!
//! Optional `payout_notify_url` (http or https, on a public address): where the results of the
//! merchant's scheduled payouts are told (as `witness.withdraw`'s `notify_url` is for a
//! withdrawal). It can be set in any state, with the account the merchant already has.
//!
//! Reply: `external_id`, `sub_merchant_id` (`""` until approved), `state`, `account_type`,
//! `account_number` (masked: first 4 and last 4 digits), `bank_code`, `payout_notify_url` (`""` if none).
use onboarding::bank_account::{self, RawSettlementAccount};

use super::{
    Call, ReturnValue,
    submerchant::{actor, masked_account_number, onboarding_error, owned_merchant, require_isv, text_or_empty},
    withdraw::notify_url,
};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    require_isv(call.app)?;
    let content = call.content;
    let raw = RawSettlementAccount {
        account_type: content.text("account_type")?,
        account_holder: content.text("account_holder")?,
        account_number: content.text("account_number")?,
        bank_code: content.text("bank_code")?,
        branch_name: content.text("branch_name")?,
        cnaps_code: content.text("cnaps_code")?,
    };
    let account = bank_account::parse(&raw).map_err(|error| GatewayError::invalid(error.field, error.message))?;
    let payout_notify_url = notify_url(call, "payout_notify_url")?;
    let merchant = owned_merchant(call)?;
    let bound = bank_account::bind(call.conn, &actor(call.app), merchant.id, &account, payout_notify_url.as_ref())
        .map_err(onboarding_error)?;
    let merchant = &bound.merchant.row;
    let payout_notify_url = merchant.payout_notify_url.clone().unwrap_or_default();
    Ok(vec![
        ("external_id", text_or_empty(merchant.external_id.clone())),
        ("sub_merchant_id", text_or_empty(merchant.sub_merchant_id.clone())),
        ("state", ReplyValue::text(merchant.state.as_str())),
        ("account_type", ReplyValue::text(merchant.account_type.as_str())),
        ("account_number", ReplyValue::text(masked_account_number(merchant))),
        ("bank_code", ReplyValue::text(merchant.bank_code.clone())),
        ("payout_notify_url", ReplyValue::text(payout_notify_url)),
    ])
}
