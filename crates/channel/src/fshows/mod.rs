//! The `fshows` channel (SPEC §6): an upstream fshows liquidation gateway that takes this
//! platform's merchants' payments and pays their money out, spoken to as an fshows integrator.
//!
//! [`client`] makes the signed calls; this module says what each answer means. The merchant is
//! registered there (`submerchant.create`, `.query`, `.bank.bind`, `.rate.set`); its orders are
//! placed there with our `trade_no` as their `out_trade_no`, so a retry is the same order and a
//! query by our number always finds it; its payments are notified to `/channel/fshows/notify` and
//! believed only after the upstream confirms them by query; its payouts are withdrawals of its
//! balance there (`witness.withdraw`); and the upstream's daily bill feeds reconciliation.
pub mod client;

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::{
    Amount, Rates,
    onboarding::ApplicationState,
    orders::{OrderState, RefundState},
    payouts::PayoutState,
};
use serde_json::{Map, Value, json};

pub use client::{CallError, FshowsClient, FshowsSettings};

use crate::{
    CallbackError, ChannelError, Confirmation, PayIn, PayOut, PaymentCallback, PayoutCallback, PayoutRequest,
    PayoutStatus,
    bill::{self, BillLine},
    health::Health,
};

pub const NAME: &str = "fshows";

const CREATE: &str = "fshows.liquidation.submerchant.create";
const QUERY_MERCHANT: &str = "fshows.liquidation.submerchant.query";
const BANK_BIND: &str = "fshows.liquidation.submerchant.bank.bind";
const RATE_SET: &str = "fshows.liquidation.submerchant.rate.set";
const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const QUERY_ORDER: &str = "fshows.liquidation.alipay.trade.query";
const CLOSE: &str = "fshows.liquidation.order.close";
const REFUND: &str = "fshows.liquidation.pay.refund";
const QUERY_REFUND: &str = "fshows.liquidation.pay.refund.query";
const DOWNLOAD_BILL: &str = "fshows.liquidation.finance.downloadbill";
const WITHDRAW: &str = "fshows.liquidation.witness.withdraw";
const QUERY_WITHDRAW: &str = "fshows.liquidation.witness.withdraw.query";

/// The upstream's code for "no such order" or withdrawal.
const ORDER_NOT_FOUND: &str = "-207";

pub struct Fshows {
    client: FshowsClient,
    /// Where the upstream notifies payments: this platform's `/channel/fshows/notify`.
    notify_url: String,
    /// What the settings page shows.
    shown: Vec<(&'static str, String)>,
}

/// A merchant as the upstream has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubMerchantThere {
    /// Its application's state there (the upstream speaks this platform's protocol).
    pub state: ApplicationState,
    /// The upstream's id for it, once approved.
    pub sub_merchant_id: Option<String>,
}

impl SubMerchantThere {
    /// Approved there, with an id orders can name.
    pub fn approved_id(&self) -> Option<&str> {
        (self.state == ApplicationState::Approved).then_some(self.sub_merchant_id.as_deref()).flatten()
    }

    /// Turned down, or closed, there: asking again will not change it.
    pub fn is_refused(&self) -> bool {
        matches!(self.state, ApplicationState::Rejected | ApplicationState::Closed)
    }
}

/// An order to place at the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToPlace<'a> {
    /// The merchant's id at the upstream.
    pub sub_merchant_id: &'a str,
    /// Our `trade_no`: the order's `out_trade_no` there.
    pub out_trade_no: &'a str,
    pub body: &'a str,
    pub total: Amount,
    /// seed 003's `order_type` code.
    pub order_type: i16,
}

/// What the upstream made of an order placed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedThere {
    pub trade_no: String,
    /// Where the payer pays: the upstream's cashier.
    pub qr_code: String,
}

/// Where an order stands at the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentThere {
    Waiting,
    Paid,
    Closed,
}

impl PaymentThere {
    /// The query methods' and notifies' `status` code (1 waiting, 2 paid, 9 closed) as it reads.
    pub fn from_status_code(code: &str) -> Option<PaymentThere> {
        [
            (OrderState::Waiting, PaymentThere::Waiting),
            (OrderState::Paid, PaymentThere::Paid),
            (OrderState::Closed, PaymentThere::Closed),
        ]
        .into_iter()
        .find(|(state, _)| state.status_code().to_string() == code)
        .map(|(_, there)| there)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderThere {
    pub trade_no: String,
    pub status: PaymentThere,
    pub total: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundThere {
    /// The upstream's number for it.
    pub refund_no: String,
    pub status: RefundState,
    pub amount: Amount,
}

/// The upstream's refusals that mean a refund was not made and will not be: an invalid request,
/// no such order, a balance short of it, an order that cannot be refunded, more than is left.
pub const REFUSES_A_REFUND: &[&str] = &["-101", "-102", "-207", "-216", "-220", "-302"];

impl Fshows {
    pub fn new(settings: FshowsSettings, notify_url: String) -> Result<Fshows, reqwest::Error> {
        let shown = vec![
            ("url", settings.url.clone()),
            ("app_id", settings.app_id.clone()),
            ("private_key", "set (never shown)".to_string()),
            ("notify_url", notify_url.clone()),
            ("timeout_seconds", settings.timeout.as_secs().to_string()),
        ];
        Ok(Fshows { client: FshowsClient::new(settings)?, notify_url, shown })
    }

    /// Applies for the merchant there (`application`: `submerchant.create`'s content, its
    /// `external_id` our idempotency key). An application made before (`-206`) is queried.
    pub async fn create_sub_merchant(&self, application: &Map<String, Value>) -> Result<SubMerchantThere, CallError> {
        let content = Value::Object(application.clone());
        match self.client.call(CREATE, &content, true).await {
            Ok(reply) => sub_merchant(CREATE, &reply),
            Err(error) if error.is_duplicate() => {
                let external_id = application.get("external_id").and_then(Value::as_str).unwrap_or_default();
                self.query_sub_merchant(external_id).await
            }
            Err(error) => Err(error),
        }
    }

    pub async fn query_sub_merchant(&self, external_id: &str) -> Result<SubMerchantThere, CallError> {
        let reply = self.client.call(QUERY_MERCHANT, &json!({ "external_id": external_id }), false).await?;
        sub_merchant(QUERY_MERCHANT, &reply)
    }

    /// Binds the merchant's settlement account there (binding the same one again changes nothing).
    pub async fn bind_account(&self, sub_merchant_id: &str, account: &Map<String, Value>) -> Result<(), CallError> {
        let mut content = account.clone();
        content.insert("sub_merchant_id".into(), sub_merchant_id.into());
        self.client.call(BANK_BIND, &Value::Object(content), false).await.map(drop)
    }

    /// Gives the merchant its rates there: the same as ours, so the upstream's split of every
    /// payment is ours.
    pub async fn set_rates(&self, sub_merchant_id: &str, rates: &Rates) -> Result<(), CallError> {
        let content = json!({
            "sub_merchant_id": sub_merchant_id,
            "bank_commission_rate": rates.bank_commission().to_string(),
            "pay_platform_rate": rates.pay_platform().to_string(),
            "liquidator_commission_rate": rates.liquidator_commission().to_string(),
        });
        self.client.call(RATE_SET, &content, false).await.map(drop)
    }

    /// Places the order there. The same order again is answered with the original (the upstream
    /// is idempotent on `out_trade_no`); an answer about another order or amount is not believed.
    pub async fn place_order(&self, order: &OrderToPlace<'_>) -> Result<PlacedThere, CallError> {
        let content = json!({
            "sub_merchant_id": order.sub_merchant_id,
            "out_trade_no": order.out_trade_no,
            "body": order.body,
            "total_fee": order.total.to_yuan_string(),
            "order_type": order.order_type.to_string(),
            "notify_url": self.notify_url,
        });
        let reply = self.client.call(UNIORDER, &content, true).await?;
        let trade_no = text(&reply, "trade_no");
        let qr_code = text(&reply, "qr_code");
        if trade_no.is_empty() || qr_code.is_empty() || amount(&reply, "total_fee") != Some(order.total) {
            return Err(CallError::Unknown(format!("{UNIORDER}: a reply that does not match the order: {reply}")));
        }
        Ok(PlacedThere { trade_no, qr_code })
    }

    /// The order as the upstream has it now, by our `trade_no`; `None` if it has no such order.
    pub async fn query_order(&self, out_trade_no: &str) -> Result<Option<OrderThere>, CallError> {
        let reply = match self.client.call(QUERY_ORDER, &json!({ "out_trade_no": out_trade_no }), false).await {
            Ok(reply) => reply,
            Err(CallError::Refused { code, .. }) if code == ORDER_NOT_FOUND => return Ok(None),
            Err(error) => return Err(error),
        };
        let code = text(&reply, "status");
        let status = PaymentThere::from_status_code(&code)
            .ok_or_else(|| CallError::Unknown(format!("{QUERY_ORDER}: an unknown status {code:?}")))?;
        let total = amount(&reply, "total_fee")
            .ok_or_else(|| CallError::Unknown(format!("{QUERY_ORDER}: no total_fee in {reply}")))?;
        if text(&reply, "out_trade_no") != out_trade_no {
            return Err(CallError::Unknown(format!("{QUERY_ORDER}: a reply about another order: {reply}")));
        }
        Ok(Some(OrderThere { trade_no: text(&reply, "trade_no"), status, total }))
    }

    /// Closes the order placed there under our `trade_no`, so it can no longer be paid there.
    pub async fn close_order(&self, out_trade_no: &str) -> Result<(), CallError> {
        self.client.call(CLOSE, &json!({ "out_trade_no": out_trade_no }), false).await.map(drop)
    }

    /// Refunds part of the order placed there under our `trade_no`; our `refund_no` is the
    /// refund's `out_refund_no` there, so asking again is the same refund.
    pub async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Amount,
    ) -> Result<RefundThere, CallError> {
        let content = json!({
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "refund_fee": amount.to_yuan_string(),
        });
        let reply = self.client.call(REFUND, &content, true).await?;
        refund_there(REFUND, &reply, out_refund_no, amount)
    }

    /// The refund as the upstream has it now; `None` if it has no such refund.
    pub async fn query_refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Amount,
    ) -> Result<Option<RefundThere>, CallError> {
        let content = json!({ "out_trade_no": out_trade_no, "out_refund_no": out_refund_no });
        match self.client.call(QUERY_REFUND, &content, false).await {
            Ok(reply) => refund_there(QUERY_REFUND, &reply, out_refund_no, amount).map(Some),
            Err(CallError::Refused { code, .. }) if code == ORDER_NOT_FOUND => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub fn client(&self) -> &FshowsClient {
        &self.client
    }
}

/// The upstream's refusals that mean a withdrawal was not made and will not be: an invalid
/// request, no such merchant, a balance short of it, the merchant's payouts stopped there.
/// Every other code (a duplicate number, a system error, too many requests) leaves it unknown.
const REFUSES_A_WITHDRAWAL: &[&str] = &["-101", "-102", "-203", "-216", "-220"];

/// A withdrawal's state as the upstream words it, as a payout's.
fn withdrawal_status(reply: &Value) -> Result<PayoutStatus, ChannelError> {
    let reference = text(reply, "withdraw_no");
    let status = text(reply, "status");
    let Some(state) = PayoutState::parse(&status) else {
        return Err(ChannelError::OutcomeUnknown(format!("{WITHDRAW}: an unknown status {status:?}")));
    };
    Ok(match state {
        PayoutState::Created | PayoutState::AwaitingApproval | PayoutState::Submitted => {
            PayoutStatus::Pending { channel_reference: reference }
        }
        PayoutState::Succeeded => PayoutStatus::Succeeded { channel_reference: reference },
        PayoutState::Failed | PayoutState::Rejected => {
            PayoutStatus::Failed { reason: format!("the upstream's withdrawal {reference} failed") }
        }
        PayoutState::Returned => {
            PayoutStatus::Returned { reason: format!("the upstream's withdrawal {reference} was returned") }
        }
    })
}

/// A refund as the upstream answered about it; an answer about another refund or amount is not
/// believed.
fn refund_there(method: &str, reply: &Value, out_refund_no: &str, amount: Amount) -> Result<RefundThere, CallError> {
    let status = text(reply, "status");
    let status = RefundState::parse(&status)
        .ok_or_else(|| CallError::Unknown(format!("{method}: an unknown refund status {status:?}")))?;
    let refund_no = text(reply, "refund_no");
    if text(reply, "out_refund_no") != out_refund_no
        || refund_no.is_empty()
        || self::amount(reply, "refund_fee") != Some(amount)
    {
        return Err(CallError::Unknown(format!("{method}: a reply about another refund: {reply}")));
    }
    Ok(RefundThere { refund_no, status, amount })
}

/// A reply's text field (a number as its digits), `""` if absent.
fn text(reply: &Value, field: &str) -> String {
    match reply.get(field) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A reply's amount in yuan (a number or its text).
fn amount(reply: &Value, field: &str) -> Option<Amount> {
    Amount::parse_yuan(&text(reply, field)).ok()
}

/// The merchant a reply describes; a state this platform does not know is no answer.
fn sub_merchant(method: &str, reply: &Value) -> Result<SubMerchantThere, CallError> {
    let state = text(reply, "state");
    let state = ApplicationState::parse(&state)
        .ok_or_else(|| CallError::Unknown(format!("{method}: an unknown merchant state {state:?}")))?;
    let id = text(reply, "sub_merchant_id");
    Ok(SubMerchantThere { state, sub_merchant_id: (!id.is_empty()).then_some(id) })
}

/// A call's failure as a channel error: a refusal is still an answer the caller may not act on
/// as "failed" unless it says so; everything else is unknown.
fn channel_error(error: CallError) -> ChannelError {
    match error {
        CallError::Refused { code, message } => {
            ChannelError::Unavailable(format!("the upstream refused: {code} {message}"))
        }
        CallError::Unknown(why) => ChannelError::OutcomeUnknown(why),
        CallError::HeldBack(method) => ChannelError::Unavailable(format!("{method} is held back: its breaker is open")),
    }
}

#[async_trait]
impl PayIn for Fshows {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The upstream's payment notify (seed 001's fields, signed by the upstream's platform key):
    /// its `out_trade_no` is our `trade_no`.
    fn parse_callback(&self, fields: &[(String, String)]) -> Result<PaymentCallback, CallbackError> {
        // The string to sign drops empty values: a repeated field, empty first, would otherwise
        // change what is read without changing what was signed.
        CallbackError::refuse_repeated(fields)?;
        let field = |name: &'static str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
                .ok_or(CallbackError::Malformed(name))
        };
        let sign = field("sign")?;
        let sign_type = ::fshows::signature::SignType::parse(field("sign_type")?)
            .map_err(|_| CallbackError::Malformed("sign_type"))?;
        let message = ::fshows::signature::string_to_sign(
            fields
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "sign" | "sign_type"))
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        if !self.client.upstream_keys().verify(sign_type, message.as_bytes(), sign) {
            return Err(CallbackError::BadSignature);
        }
        let amount = Amount::parse_yuan(field("total_fee")?).map_err(|_| CallbackError::Malformed("total_fee"))?;
        Ok(PaymentCallback {
            trade_no: field("out_trade_no")?.to_string(),
            amount,
            paid: PaymentThere::from_status_code(field("status")?) == Some(PaymentThere::Paid),
            channel_reference: field("trade_no")?.to_string(),
        })
    }

    /// The notify is believed only when a query of the order says the same (as fshows
    /// integrators do): paid, for that amount, under that number.
    async fn confirm_payment(&self, callback: &PaymentCallback) -> Result<Confirmation, ChannelError> {
        let there = self.query_order(&callback.trade_no).await.map_err(channel_error)?;
        Ok(match there {
            Some(order)
                if order.status == PaymentThere::Paid
                    && order.total == callback.amount
                    && order.trade_no == callback.channel_reference =>
            {
                Confirmation::Confirmed
            }
            Some(order) => Confirmation::Disagrees(format!(
                "the upstream's query says {:?}, {} yuan, its number {}",
                order.status,
                order.total.to_yuan_string(),
                order.trade_no
            )),
            None => Confirmation::Disagrees("the upstream has no such order".to_string()),
        })
    }

    async fn daily_bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        let content = json!({ "bill_date": date.format("%Y%m%d").to_string() });
        let reply = match self.client.call(DOWNLOAD_BILL, &content, false).await {
            Ok(reply) => reply,
            Err(error) if error.is_bill_not_ready() => return Err(ChannelError::BillNotReady),
            Err(error) => return Err(channel_error(error)),
        };
        let lines = bill::from_csv(&text(&reply, "bill_content"))
            .map_err(|error| ChannelError::Unavailable(format!("{DOWNLOAD_BILL}: {error}")))?;
        // The upstream's bill names our orders by its own numbers; ours are its out_trade_no.
        Ok(lines.into_iter().map(our_numbers).collect())
    }
}

/// A line of the upstream's bill in our numbers: its `out_trade_no` (and `out_refund_no`) are our
/// `trade_no` (and `refund_no`).
fn our_numbers(line: BillLine) -> BillLine {
    BillLine {
        trade_no: line.out_trade_no.clone(),
        out_trade_no: line.trade_no.clone(),
        refund_no: line.out_refund_no.clone(),
        out_refund_no: line.refund_no.clone(),
        ..line
    }
}

#[async_trait]
impl PayOut for Fshows {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A withdrawal of the merchant's balance there, to the account bound there; our
    /// `out_trade_no` is its `out_withdraw_no`, so asking again is the same withdrawal.
    async fn payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let Some(sub_merchant_id) = request.merchant_at_channel.as_deref() else {
            return Ok(PayoutStatus::Failed { reason: "the merchant is not registered at the upstream".to_string() });
        };
        let content = json!({
            "sub_merchant_id": sub_merchant_id,
            "out_withdraw_no": request.out_trade_no,
            "amount": request.amount.to_yuan_string(),
        });
        match self.client.call(WITHDRAW, &content, true).await {
            Ok(reply) => withdrawal_status(&reply),
            Err(CallError::Refused { code, message }) if REFUSES_A_WITHDRAWAL.contains(&code.as_str()) => {
                Ok(PayoutStatus::Failed { reason: format!("the upstream refused the withdrawal: {code} {message}") })
            }
            Err(CallError::Refused { code, message }) => {
                Err(ChannelError::OutcomeUnknown(format!("{WITHDRAW}: {code} {message}")))
            }
            Err(error) => Err(channel_error(error)),
        }
    }

    async fn query_payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let Some(sub_merchant_id) = request.merchant_at_channel.as_deref() else { return Err(ChannelError::NotFound) };
        let content = json!({ "sub_merchant_id": sub_merchant_id, "out_withdraw_no": request.out_trade_no });
        match self.client.call(QUERY_WITHDRAW, &content, false).await {
            Ok(reply) => withdrawal_status(&reply),
            Err(CallError::Refused { code, .. }) if code == ORDER_NOT_FOUND => Err(ChannelError::NotFound),
            Err(CallError::Refused { code, message }) => {
                Err(ChannelError::OutcomeUnknown(format!("{QUERY_WITHDRAW}: {code} {message}")))
            }
            Err(error) => Err(channel_error(error)),
        }
    }

    fn names_the_merchant(&self) -> bool {
        true
    }

    fn parse_payout_callback(&self, _fields: &[(String, String)]) -> Result<PayoutCallback, CallbackError> {
        Err(CallbackError::Malformed("the fshows channel's withdrawals are queried, not called back"))
    }

    fn health(&self) -> Option<&Health> {
        Some(self.client.health())
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_merchant_is_ready_only_when_approved_with_an_id() {
        let there = |state: &str, id: Option<&str>| SubMerchantThere {
            state: ApplicationState::parse(state).expect("a state"),
            sub_merchant_id: id.map(str::to_string),
        };
        assert_eq!(there("approved", Some("2026")).approved_id(), Some("2026"));
        assert_eq!(there("approved", None).approved_id(), None);
        assert_eq!(there("in_review", Some("2026")).approved_id(), None);
        assert!(there("rejected", None).is_refused() && there("closed", Some("1")).is_refused());
        assert!(!there("submitted", None).is_refused());
    }

    #[test]
    fn the_upstreams_bill_is_read_in_our_numbers() {
        let line = BillLine {
            bill_type: bill::BillKind::Refund,
            trade_no: "THEIRS".into(),
            out_trade_no: "OURS".into(),
            refund_no: "THEIR-REFUND".into(),
            out_refund_no: "OUR-REFUND".into(),
            sub_merchant_id: "1".into(),
            amount: Amount::from_fen(1),
            net_receipt_amount: Amount::from_fen(1),
            bank_commission_fee: Amount::ZERO,
            pay_platform_fee: Amount::ZERO,
            liquidator_commission_fee: Amount::ZERO,
            status: "SUCCESS".into(),
            time: "2026-12-06 10:00:00".into(),
        };
        let ours = our_numbers(line);
        assert_eq!((ours.trade_no.as_str(), ours.refund_no.as_str()), ("OURS", "OUR-REFUND"));
        assert_eq!((ours.out_trade_no.as_str(), ours.out_refund_no.as_str()), ("THEIRS", "THEIR-REFUND"));
    }
}
