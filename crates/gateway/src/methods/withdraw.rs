//! `fshows.liquidation.witness.withdraw` and `.withdraw.query` (SPEC §5): a payout now, asked for
//! by the merchant's app, and its state.
//!
//! Content: `sub_merchant_id`, `out_withdraw_no` (1–64 of `[A-Za-z0-9_]`, unique per merchant),
//! optional `amount` (Price; default everything available less the fee), optional `notify_url`.
//! Reply: `sub_merchant_id`, `out_withdraw_no`, `withdraw_no` (the payout's number at the
//! channel), `amount`, `fee`, `status` (`created`, `awaiting_approval`, `submitted`, `succeeded`,
//! `failed`, `returned`, `rejected`). The same request again answers with the original payout;
//! the same `out_withdraw_no` for another amount is `-206`; a balance short of the amount and its
//! fee `-216`; a merchant whose payouts are held or paused `-220` with the reason.
use domain::{
    Amount, SubMerchantId,
    orders::{NotifyUrl, OrderFieldError},
    payouts::OutWithdrawNo,
};
use payouts::withdraw::{self, WithdrawError, WithdrawRequest, Withdrawn};
use storage::{merchants::MerchantRow, payouts::PayoutRow};

use super::{Call, ReturnValue};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

const MIN_AMOUNT: Amount = Amount::from_fen(1);
const MAX_AMOUNT: Amount = Amount::from_fen(10_000_000_000);

/// The content's `field`, if given: an http(s) address that is not private. The same rule as
/// uniorder's: a name that resolves to a private address is refused here too (delivery checks
/// again on every send).
pub(super) fn notify_url(call: &Call<'_>, field: &'static str) -> Result<Option<NotifyUrl>, GatewayError> {
    let Some(text) = call.content.text(field)? else { return Ok(None) };
    let allow_private = call.settings.allow_private_notify_urls;
    let url = NotifyUrl::parse(&text, allow_private).map_err(|e| GatewayError::invalid(field, e))?;
    if !allow_private {
        crate::address::check_at_placing(&url)
            .map_err(|_| GatewayError::invalid(field, OrderFieldError::PrivateAddress))?;
    }
    Ok(Some(url))
}

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let merchant = visible_merchant(call)?;
    let out_withdraw_no = out_withdraw_no(call)?;
    let amount = match call.content.text("amount")? {
        Some(text) => {
            Some(Amount::parse_yuan_in(&text, MIN_AMOUNT, MAX_AMOUNT).map_err(|e| GatewayError::invalid("amount", e))?)
        }
        None => None,
    };
    let notify_url = notify_url(call, "notify_url")?;
    let channel = call
        .settings
        .payout_channel
        .ok_or_else(|| GatewayError::InvalidOperation("this deployment has no payout channel".into()))?;
    let requested_by = format!("app:{}", call.app.app_id);
    let request = WithdrawRequest {
        merchant_id: merchant.id,
        out_withdraw_no: &out_withdraw_no,
        amount,
        notify_url: notify_url.as_ref().map(AsRef::as_ref),
        requested_by: &requested_by,
    };
    let settings = &call.settings.payouts;
    let withdrawn =
        withdraw::withdraw(call.conn, settings, &call.settings.calendar, channel, &request).map_err(withdraw_error)?;
    let (Withdrawn::New(payout) | Withdrawn::Replay(payout)) = withdrawn;
    Ok(return_value(&merchant, &payout))
}

pub fn query(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let merchant = visible_merchant(call)?;
    let out_withdraw_no = out_withdraw_no(call)?;
    let payout = storage::payouts::find_withdrawal(call.conn, merchant.id, out_withdraw_no.as_ref())?
        .ok_or(GatewayError::OrderNotFound)?;
    Ok(return_value(&merchant, &payout))
}

fn visible_merchant(call: &mut Call<'_>) -> Result<MerchantRow, GatewayError> {
    let sub_merchant_id = SubMerchantId::parse(&call.content.required("sub_merchant_id")?)
        .map_err(|e| GatewayError::invalid("sub_merchant_id", e))?;
    let merchant = storage::merchants::find_by_sub_merchant_id(call.conn, sub_merchant_id.as_ref())?
        .ok_or(GatewayError::SubMerchantInvalid)?;
    if !onboarding::access::may_act_for(call.app, merchant.id, merchant.owner_app_id) {
        return Err(GatewayError::PermissionDenied("this app may not act for this sub-merchant".into()));
    }
    Ok(merchant)
}

fn out_withdraw_no(call: &Call<'_>) -> Result<OutWithdrawNo, GatewayError> {
    OutWithdrawNo::parse(&call.content.required("out_withdraw_no")?)
        .map_err(|e| GatewayError::invalid("out_withdraw_no", e))
}

fn withdraw_error(error: WithdrawError) -> GatewayError {
    match error {
        WithdrawError::Duplicate => GatewayError::Duplicate("out_withdraw_no"),
        WithdrawError::InsufficientBalance => GatewayError::InsufficientBalance,
        WithdrawError::Stopped(reason) => GatewayError::InvalidOperation(format!("payouts are stopped: {reason}")),
        WithdrawError::NotApproved | WithdrawError::UnknownMerchant => GatewayError::SubMerchantInvalid,
        WithdrawError::Payout(error) => {
            tracing::error!(%error, "withdrawal failed");
            GatewayError::ServerError
        }
    }
}

fn return_value(merchant: &MerchantRow, payout: &PayoutRow) -> ReturnValue {
    vec![
        ("sub_merchant_id", ReplyValue::text(merchant.sub_merchant_id.clone().unwrap_or_default())),
        ("out_withdraw_no", ReplyValue::text(payout.out_withdraw_no.clone().unwrap_or_default())),
        ("withdraw_no", ReplyValue::text(payout.out_trade_no.clone())),
        ("amount", ReplyValue::amount(payout.amount_fen)),
        ("fee", ReplyValue::amount(payout.fee_fen)),
        ("status", ReplyValue::text(payout.state.as_str())),
    ]
}
