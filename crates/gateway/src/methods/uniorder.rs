//! `fshows.liquidation.jdpay.uniorder` (seed 003): place an order and answer with its cashier
//! code, number, and split. The same `out_trade_no` with the same content answers with the
//! original order; with other content it is `-206`.
use domain::{
    Amount, OutTradeNo, SubMerchantId,
    orders::{NotifyUrl, OrderBody, OrderFieldError, OrderType},
};
use orders::place::{self, NewOrder};
use sha2::{Digest, Sha256};

use super::{Answer, Call, ReturnValue};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

const MIN_TOTAL: Amount = Amount::from_fen(1);
const MAX_TOTAL: Amount = Amount::from_fen(10_000_000_000);

pub fn call(call: &mut Call<'_>) -> Result<Answer, GatewayError> {
    let new = parse(call)?;
    if let Some(url) = &new.notify_url
        && !call.settings.allow_private_notify_urls
    {
        crate::address::check_at_placing(url)
            .map_err(|_| GatewayError::invalid("notify_url", OrderFieldError::PrivateAddress))?;
    }
    let placed = place::place_with(call.conn, call.placer, call.app, &new, call.now)?;
    if call.upstreams {
        // Its merchant's payments may be taken at an upstream: placed there before the reply.
        return Ok(Answer::Place(placed.into_order()));
    }
    let qr_code = format!("{}?c={}", call.settings.cashier_url, placed.order().cashier_code());
    return_value(placed.order(), qr_code).map(Answer::Reply)
}

fn parse(call: &Call<'_>) -> Result<NewOrder, GatewayError> {
    let content = call.content;
    let sub_merchant_id = SubMerchantId::parse(&content.required("sub_merchant_id")?)
        .map_err(|e| GatewayError::invalid("sub_merchant_id", e))?;
    let body = OrderBody::parse(&content.required("body")?).map_err(|e| GatewayError::invalid("body", e))?;
    let out_trade_no =
        OutTradeNo::parse(&content.required("out_trade_no")?).map_err(|e| GatewayError::invalid("out_trade_no", e))?;
    let total = Amount::parse_yuan_in(&content.required("total_fee")?, MIN_TOTAL, MAX_TOTAL)
        .map_err(|e| GatewayError::invalid("total_fee", e))?;
    let order_type =
        OrderType::parse(&content.required("order_type")?).map_err(|e| GatewayError::invalid("order_type", e))?;
    let notify_url = match content.text("notify_url")? {
        Some(url) => Some(
            NotifyUrl::parse(&url, call.settings.allow_private_notify_urls)
                .map_err(|e| GatewayError::invalid("notify_url", e))?,
        ),
        None => None,
    };
    let fingerprint = fingerprint(&[
        sub_merchant_id.as_ref(),
        body.as_ref(),
        &total.fen().to_string(),
        &order_type.code().to_string(),
        notify_url.as_ref().map_or("", AsRef::as_ref),
    ]);
    Ok(NewOrder {
        sub_merchant_id,
        out_trade_no,
        body,
        total,
        order_type,
        notify_url,
        content_fingerprint: fingerprint,
    })
}

/// A hash of the parsed business content: retries that differ only in formatting (`"0.01"` vs
/// `0.01`, key order) are still the same order.
fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The reply fields in seed 003's order, with the cashier code where the order is paid. The rates
/// are the order's snapshot; one that is not a valid rate is a corrupt row and fails the call
/// (never a `null` in the reply).
pub(crate) fn return_value(order: &orders::Order, qr_code: String) -> Result<ReturnValue, GatewayError> {
    let rates = order.rates()?;
    let split = order.split();
    let mut value = vec![
        ("qr_code", ReplyValue::text(qr_code)),
        ("trade_no", ReplyValue::text(order.trade_no())),
        ("total_fee", ReplyValue::amount(order.total())),
        ("net_receipt_amount", ReplyValue::amount(split.net_receipt)),
        ("bank_commission_rate", ReplyValue::rate(rates.bank_commission())),
        ("bank_commission_fee", ReplyValue::amount(split.bank_commission)),
        ("pay_platform_rate", ReplyValue::rate(rates.pay_platform())),
        ("pay_platform_fee", ReplyValue::amount(split.pay_platform)),
        ("liquidator_commission_rate", ReplyValue::rate(rates.liquidator_commission())),
        ("liquidator_commission_fee", ReplyValue::amount(split.liquidator_commission)),
    ];
    if let Some(url) = order.notify_url() {
        value.push(("notify_url", ReplyValue::text(url)));
    }
    Ok(value)
}
