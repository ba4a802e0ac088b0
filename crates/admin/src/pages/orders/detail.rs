//! `GET /admin/orders/{id}`: everything about one order — its amounts with the snapshotted rates
//! and split, the state history, the refunds with what each gave back, every notification with
//! every attempt (and "send again"), the gateway requests and channel callbacks of its `trade_no`,
//! and the refund form for operators.
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use domain::{
    Amount, MerchantId, NotificationId, OrderId,
    orders::{NotificationState, OrderState, OrderType},
};
use orders::Order;
use serde::Deserialize;
use storage::{
    apps,
    callbacks::{self, CallbackRow},
    database::run_blocking,
    gateway_log::{self, RequestLogRow},
    merchants::{self, MerchantRow},
    notifications::{self, AttemptRow, NotificationRow},
    orders::{self as order_rows, EventRow, RefundRow},
};

use super::OrderBadge;
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::OrderLabels,
    pages::layout::{Chrome, Section},
    render,
    view::{china_time, operator_number, yuan},
};

/// Gateway requests shown on the page; the log page has the rest.
const MAX_REQUESTS: i64 = 50;

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    id: OrderId,
    trade_no: String,
    state: OrderBadge,
    notice: Option<&'static str>,
    alert: Option<String>,
    details: Vec<(&'static str, String)>,
    merchant: Option<MerchantLink>,
    total: String,
    refunded: String,
    unrefunded: String,
    split: Vec<SplitLine>,
    refund_form: Option<RefundForm>,
    events: Vec<EventView>,
    refunds: Vec<RefundView>,
    refund_totals: Option<RefundView>,
    has_notify_url: bool,
    notifications: Vec<NotificationView>,
    can_send_again: bool,
    requests: Vec<RequestView>,
    /// Exchanges are folded on the order's page.
    open_exchanges: bool,
    callbacks: Vec<CallbackView>,
}

struct MerchantLink {
    id: MerchantId,
    short_name: String,
    sub_merchant_id: String,
}

struct SplitLine {
    label: &'static str,
    rate: String,
    amount: String,
    emphasis: bool,
}

pub struct RefundForm {
    pub out_refund_no: String,
    pub amount: String,
    pub at_most: String,
}

struct EventView {
    at: String,
    from: Option<OrderBadge>,
    to: OrderBadge,
    cause: String,
    detail: String,
}

struct RefundView {
    refund_no: String,
    out_refund_no: String,
    /// The refund and what it gave back: bank, platform, liquidator, net receipt.
    amounts: [Money; 5],
    state: String,
    requested_by: String,
    created_at: String,
}

/// An amount with its sign visible to the stylesheet (a give-back can be negative).
struct Money {
    text: String,
    negative: bool,
}

impl Money {
    fn of(amount: Amount) -> Money {
        Money { text: yuan(amount), negative: amount.is_negative() }
    }
}

struct NotificationView {
    id: NotificationId,
    kind: String,
    url: String,
    state: String,
    state_class: &'static str,
    attempts: i32,
    next_attempt: String,
    delivered_at: String,
    history: Vec<AttemptView>,
}

struct AttemptView {
    at: String,
    http_status: String,
    latency_ms: i32,
    body_excerpt: String,
    error: String,
    delivered: bool,
}

pub struct RequestView {
    pub id: i64,
    pub at: String,
    pub app_id: String,
    pub method: String,
    pub trade_no: String,
    pub success: bool,
    pub error_code: String,
    pub latency_ms: i32,
    pub client_ip: String,
    pub request: String,
    pub reply: String,
    /// Set when the request or reply is cut short: their lengths, and the exchange's own page.
    pub whole: Option<WholeExchange>,
}

pub struct WholeExchange {
    pub request_chars: i32,
    pub reply_chars: i32,
    pub href: String,
}

impl From<RequestLogRow> for RequestView {
    fn from(row: RequestLogRow) -> Self {
        let whole = row.is_excerpt().then(|| WholeExchange {
            request_chars: row.request_chars,
            reply_chars: row.reply_chars,
            href: format!("/admin/gateway-log/{}", row.id),
        });
        RequestView {
            id: row.id,
            at: china_time(row.at),
            app_id: row.app_id.unwrap_or_default(),
            method: row.method.unwrap_or_default(),
            trade_no: row.trade_no.unwrap_or_default(),
            success: row.success,
            error_code: row.error_code.unwrap_or_default(),
            latency_ms: row.latency_ms,
            client_ip: row.client_ip.unwrap_or_default(),
            whole,
            request: row.request,
            reply: row.reply,
        }
    }
}

pub struct CallbackView {
    pub id: i64,
    pub received_at: String,
    pub channel: String,
    pub trade_no: String,
    pub outcome: String,
    pub outcome_class: &'static str,
    pub needs_attention: bool,
    pub resolved_at: String,
    pub resolved_by: String,
    pub resolution_note: String,
    pub payload: String,
}

impl CallbackView {
    pub fn of(o: &OrderLabels, row: CallbackRow) -> CallbackView {
        CallbackView {
            id: row.id,
            received_at: china_time(row.received_at),
            channel: row.channel,
            trade_no: row.trade_no.unwrap_or_default(),
            outcome: o.outcome(row.outcome).to_string(),
            outcome_class: row.outcome.as_str(),
            needs_attention: row.needs_attention && row.resolved_at.is_none(),
            resolved_at: row.resolved_at.map(china_time).unwrap_or_default(),
            resolved_by: row.resolved_by.unwrap_or_default(),
            resolution_note: row.resolution_note.unwrap_or_default(),
            payload: serde_json::to_string_pretty(&row.payload).unwrap_or_default(),
        }
    }
}

/// What a render adds to the stored order: the outcome of the action just taken, and the refund
/// form as it was filled in when it was refused.
#[derive(Default)]
pub struct Extras {
    pub notice: Option<&'static str>,
    pub alert: Option<String>,
    pub refund_form: Option<(String, String)>,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

fn notice_text(o: &OrderLabels, notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "refunded" => Some(o.notice_refunded),
        "refund_replay" => Some(o.notice_refund_replay),
        "sent_again" => Some(o.notice_sent_again),
        _ => None,
    }
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<OrderId>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let notice = notice_text(session.lang.labels().order, query.notice.as_deref());
    render(&session, &state, id.into_inner(), Extras { notice, ..Extras::default() }, StatusCode::OK).await
}

/// Everything the page shows, read in one go.
struct Loaded {
    order: Order,
    merchant: Option<MerchantRow>,
    app_id: Option<String>,
    events: Vec<EventRow>,
    refunds: Vec<RefundRow>,
    notifications: Vec<(NotificationRow, Vec<AttemptRow>)>,
    requests: Vec<RequestLogRow>,
    callbacks: Vec<CallbackRow>,
}

fn load(conn: &mut diesel::PgConnection, id: OrderId) -> Result<Loaded, ConsoleError> {
    let order = orders::order::find(conn, id)?.ok_or(ConsoleError::NotFound)?;
    let trade_no = order.trade_no().to_string();
    let mut with_attempts = Vec::new();
    for notification in notifications::for_order(conn, id)? {
        let attempts = notifications::attempts(conn, notification.id)?;
        with_attempts.push((notification, attempts));
    }
    let requests = gateway_log::Filter { trade_no: Some(trade_no.clone()), ..gateway_log::Filter::default() };
    Ok(Loaded {
        merchant: merchants::find(conn, order.merchant_id())?,
        app_id: apps::find(conn, order.app_id())?.map(|app| app.app_id),
        events: order_rows::events(conn, id)?,
        refunds: order_rows::refunds_of(conn, id)?,
        notifications: with_attempts,
        requests: gateway_log::list(conn, &requests, MAX_REQUESTS)?,
        callbacks: callbacks::for_trade_no(conn, &trade_no)?,
        order,
    })
}

/// Renders the order's page; the action handlers use it too, to show a refusal in place.
pub async fn render(
    session: &SignedIn,
    state: &ConsoleState,
    id: OrderId,
    extras: Extras,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let loaded = run_blocking(&state.pool, move |conn| load(conn, id)).await?;
    render::page_with_status(&build(session, loaded, extras)?, status)
}

fn build(session: &SignedIn, loaded: Loaded, extras: Extras) -> Result<OrderPage, ConsoleError> {
    let o = session.lang.labels().order;
    let Loaded { order, merchant, app_id, events, refunds, notifications, requests, callbacks } = loaded;
    let can_manage = session.can(Permission::ManageMerchants);
    let refundable = matches!(order.state, OrderState::Paid | OrderState::PartiallyRefunded);
    let refund_form = (can_manage && refundable).then(|| {
        let (out_refund_no, amount) =
            extras.refund_form.unwrap_or_else(|| (operator_number("OPS", Utc::now()), String::new()));
        RefundForm { out_refund_no, amount, at_most: order.unrefunded().to_string() }
    });
    Ok(OrderPage {
        chrome: Chrome::titled(session, Section::Orders, format!("{} {}", o.order, order.trade_no())),
        o,
        id: order.id(),
        trade_no: order.trade_no().to_string(),
        state: OrderBadge::of(o, order.state),
        notice: extras.notice,
        alert: extras.alert,
        merchant: merchant.map(|merchant| MerchantLink {
            id: merchant.id,
            short_name: merchant.short_name,
            sub_merchant_id: merchant.sub_merchant_id.unwrap_or_default(),
        }),
        total: order.total().to_string(),
        refunded: order.refunded().to_string(),
        unrefunded: order.unrefunded().to_string(),
        split: split_lines(o, &order)?,
        refund_form,
        events: events.into_iter().map(|event| event_view(o, event)).collect(),
        refund_totals: refund_totals(&refunds),
        refunds: refunds.into_iter().map(|refund| refund_view(o, refund)).collect(),
        has_notify_url: order.notify_url().is_some(),
        notifications: notifications
            .into_iter()
            .map(|(notification, attempts)| notification_view(o, notification, attempts))
            .collect(),
        can_send_again: can_manage,
        requests: requests.into_iter().map(RequestView::from).collect(),
        open_exchanges: false,
        callbacks: callbacks.into_iter().map(|callback| CallbackView::of(o, callback)).collect(),
        details: details(o, &order, app_id),
    })
}

fn optional_time(at: Option<chrono::DateTime<Utc>>) -> String {
    at.map(china_time).unwrap_or_default()
}

/// The order's own fields, label and value.
fn details(o: &OrderLabels, order: &orders::Order, app_id: Option<String>) -> Vec<(&'static str, String)> {
    let order_type = match order.order_type {
        OrderType::Physical => o.physical,
        OrderType::Virtual => o.virtual_goods,
    };
    vec![
        (o.trade_no, order.trade_no().to_string()),
        (o.out_trade_no, order.out_trade_no().to_string()),
        (o.app_id, app_id.unwrap_or_default()),
        (o.body, order.body().to_string()),
        (o.order_type, order_type.to_string()),
        (o.notify_url, order.notify_url().unwrap_or_default().to_string()),
        (o.created_at, china_time(order.created_at())),
        (o.expires_at, china_time(order.expires_at())),
        (o.paid_at, optional_time(order.paid_at())),
        (o.closed_at, optional_time(order.closed_at())),
    ]
}

/// The split snapshotted at creation, rate and amount, the total last. A stored rate that is not
/// a rate is a corrupt row: the page fails rather than show it.
fn split_lines(o: &OrderLabels, order: &orders::Order) -> Result<Vec<SplitLine>, ConsoleError> {
    let (rates, split) = (order.rates()?, order.split());
    let line = |label, rate: String, amount, emphasis| SplitLine { label, rate, amount: yuan(amount), emphasis };
    let rate = |rate: domain::Rate| format!("{:.5}", rate.as_decimal());
    Ok(vec![
        line(o.bank_commission, rate(rates.bank_commission()), split.bank_commission, false),
        line(o.pay_platform, rate(rates.pay_platform()), split.pay_platform, false),
        line(o.liquidator_commission, rate(rates.liquidator_commission()), split.liquidator_commission, false),
        line(o.net_receipt, String::new(), split.net_receipt, false),
        line(o.total_fee, String::new(), order.total(), true),
    ])
}

fn event_view(o: &OrderLabels, event: EventRow) -> EventView {
    EventView {
        at: china_time(event.at),
        from: event.from_state.map(|state| OrderBadge::of(o, state)),
        to: OrderBadge::of(o, event.to_state),
        cause: o.cause(event.cause).to_string(),
        detail: event.detail.unwrap_or_default(),
    }
}

/// The amounts of a refund in the table's column order: refunded, then each give-back.
fn refund_amounts(refund: &RefundRow) -> [Amount; 5] {
    [
        refund.refund_fee_fen,
        refund.bank_commission_fen,
        refund.pay_platform_fen,
        refund.liquidator_commission_fen,
        refund.net_receipt_fen,
    ]
}

fn refund_view(o: &OrderLabels, refund: RefundRow) -> RefundView {
    RefundView {
        amounts: refund_amounts(&refund).map(Money::of),
        state: o.refund_state(refund.state).to_string(),
        created_at: china_time(refund.created_at),
        refund_no: refund.refund_no,
        out_refund_no: refund.out_refund_no,
        requested_by: refund.requested_by,
    }
}

/// The sums of several refunds (none shown for one). Together the refunds never exceed the
/// order's total (a database CHECK), so no sum overflows; one that did would show as zero.
fn refund_totals(refunds: &[RefundRow]) -> Option<RefundView> {
    (refunds.len() > 1).then(|| {
        let column = |index: usize| {
            Amount::checked_sum(refunds.iter().map(|refund| refund_amounts(refund)[index])).unwrap_or(Amount::ZERO)
        };
        let totals: [Amount; 5] = std::array::from_fn(column);
        RefundView {
            refund_no: String::new(),
            out_refund_no: String::new(),
            amounts: totals.map(Money::of),
            state: String::new(),
            requested_by: String::new(),
            created_at: String::new(),
        }
    })
}

fn notification_view(
    o: &OrderLabels,
    notification: storage::notifications::NotificationRow,
    attempts: Vec<storage::notifications::AttemptRow>,
) -> NotificationView {
    NotificationView {
        id: notification.id,
        kind: o.notification_kind(notification.kind).to_string(),
        state: o.notification_state(notification.state).to_string(),
        next_attempt: if notification.state == NotificationState::Pending {
            china_time(notification.next_attempt_at)
        } else {
            String::new()
        },
        state_class: notification.state.as_str(),
        url: notification.url,
        attempts: notification.attempts,
        delivered_at: optional_time(notification.delivered_at),
        history: attempts.into_iter().map(attempt_view).collect(),
    }
}

fn attempt_view(attempt: storage::notifications::AttemptRow) -> AttemptView {
    AttemptView {
        at: china_time(attempt.at),
        http_status: attempt.http_status.map(|status| status.to_string()).unwrap_or_default(),
        latency_ms: attempt.latency_ms,
        body_excerpt: attempt.body_excerpt.unwrap_or_default(),
        error: attempt.error.unwrap_or_default(),
        delivered: attempt.delivered,
    }
}
