//! The sandbox channel's payer side (SPEC §6, §12): `GET /cashier/code?c=…` shows the order with
//! "pay" and "fail" buttons; `POST /cashier/pay` (fields `c`, `outcome=pay|fail`) acts as the payer.
//! Paying makes the sandbox sign a callback and hands it to the very handler behind
//! `POST /channel/sandbox/notify`, so the order logic cannot tell the sandbox from a real channel.
use std::sync::Arc;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use channel::sandbox::Sandbox;
use chrono::Utc;
use domain::orders::OrderState;
use orders::{callbacks::CallbackError, recorder::PaymentRecorder};
use serde::Deserialize;
use storage::{Pool, StorageError, database::run_blocking, merchants};

#[derive(Template)]
#[template(path = "cashier/code.html")]
struct CodePage<'a> {
    code: &'a str,
    merchant: &'a str,
    body: &'a str,
    amount: String,
    trade_no: &'a str,
    expires_at: String,
}

#[derive(Template)]
#[template(path = "cashier/result.html")]
struct ResultPage<'a> {
    title: &'a str,
    message: &'a str,
    ok: bool,
}

fn page<T: Template>(template: &T, status: StatusCode) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(error) => {
            tracing::error!(%error, "cashier page failed to render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn result(status: StatusCode, title: &str, message: &str, ok: bool) -> HttpResponse {
    page(&ResultPage { title, message, ok }, status)
}

#[derive(Deserialize)]
pub struct CodeQuery {
    c: Option<String>,
}

/// A code names an order if it is the right shape and exists; anything else is "not found".
async fn order_of(pool: &Pool, code: Option<String>) -> Result<Option<(orders::Order, String)>, StorageError> {
    let Some(code) = code.filter(|code| {
        (14..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) else {
        return Ok(None);
    };
    run_blocking(pool, move |conn| {
        let Some(row) = storage::orders::find_by_cashier_code(conn, &code)? else { return Ok(None) };
        let merchant = merchants::find(conn, row.merchant_id)?.map(|m| m.short_name).unwrap_or_default();
        Ok(orders::Order::from_row(row).ok().map(|order| (order, merchant)))
    })
    .await
}

pub async fn show(pool: web::Data<Pool>, query: web::Query<CodeQuery>) -> HttpResponse {
    let found = match order_of(&pool, query.into_inner().c).await {
        Ok(found) => found,
        Err(_) => return result(StatusCode::SERVICE_UNAVAILABLE, "暂时无法支付", "Please try again later.", false),
    };
    let Some((order, merchant)) = found else {
        return result(StatusCode::NOT_FOUND, "二维码无效", "This payment code does not exist.", false);
    };
    match order.state {
        OrderState::Waiting if order.expires_at() > Utc::now() => page(
            &CodePage {
                code: order.cashier_code(),
                merchant: &merchant,
                body: order.body(),
                amount: order.total().to_yuan_string(),
                trade_no: order.trade_no(),
                expires_at: orders::notify::china_time(order.expires_at()),
            },
            StatusCode::OK,
        ),
        OrderState::Waiting | OrderState::Closed => {
            result(StatusCode::GONE, "二维码已过期", "This payment code has expired.", false)
        }
        _ => result(StatusCode::OK, "已支付", "This order is paid.", true),
    }
}

#[derive(Deserialize)]
pub struct PayForm {
    c: Option<String>,
    outcome: Option<String>,
}

/// The payer's choice: `pay` or `fail`.
pub async fn pay(
    pool: web::Data<Pool>,
    sandbox: web::Data<Arc<Sandbox>>,
    payments: web::Data<PaymentRecorder>,
    form: web::Form<PayForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let paid = match form.outcome.as_deref() {
        Some("pay") => true,
        Some("fail") => false,
        _ => return result(StatusCode::BAD_REQUEST, "无效操作", "outcome must be pay or fail.", false),
    };
    let found = match order_of(&pool, form.c).await {
        Ok(found) => found,
        Err(_) => return result(StatusCode::SERVICE_UNAVAILABLE, "暂时无法支付", "Please try again later.", false),
    };
    let Some((order, _)) = found else {
        return result(StatusCode::NOT_FOUND, "二维码无效", "This payment code does not exist.", false);
    };
    if order.state != OrderState::Waiting || order.expires_at() <= Utc::now() {
        return result(StatusCode::GONE, "二维码已过期", "This payment code can no longer be paid.", false);
    }
    let fields =
        sandbox.payment_callback(order.trade_no(), order.total(), paid, &orders::notify::china_time(Utc::now()));
    match orders::callbacks::receive(&pool, &payments, sandbox.as_ref().as_ref(), fields).await {
        Ok(_) if paid => result(StatusCode::OK, "支付成功", "Paid. The merchant is being notified.", true),
        Ok(_) => result(
            StatusCode::OK,
            "支付失败",
            "The payment failed; the order is still open and can be paid again.",
            false,
        ),
        Err(error) if error.is_temporary() => {
            result(StatusCode::SERVICE_UNAVAILABLE, "暂时无法支付", "Please try again later.", false)
        }
        Err(_) => result(StatusCode::CONFLICT, "支付未完成", "The payment could not be applied.", false),
    }
}

/// `POST /channel/{name}/notify`: a channel's payment callback, to the channel registered under
/// that name. What it answers: channels retry until they read `success`.
pub async fn notify(
    name: web::Path<String>,
    pool: web::Data<Pool>,
    channels: web::Data<channel::Registry>,
    payments: web::Data<PaymentRecorder>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Some(channel) = channels.pay_in(&name) else {
        return HttpResponse::NotFound().content_type("text/plain").body("no such channel");
    };
    match orders::callbacks::receive(&pool, &payments, channel.as_ref(), form.into_inner()).await {
        Ok(_) => HttpResponse::Ok().content_type("text/plain").body("success"),
        Err(CallbackError::BadSignature(_)) => {
            HttpResponse::BadRequest().content_type("text/plain").body("bad signature")
        }
        // The channel sends it again; it will be applied once.
        Err(error) if error.is_temporary() => {
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("try again")
        }
        Err(_) => HttpResponse::UnprocessableEntity().content_type("text/plain").body("not applied"),
    }
}

/// `POST /channel/{name}/payout-notify`: a channel's payout callback. Verified by the channel,
/// then applied through the payouts' one transition function (a replay or an old report changes
/// nothing). Answered `ok` once recorded, as JD Pay expects; a bad signature or a payout we never
/// gave that channel changes nothing.
pub async fn payout_notify(
    name: web::Path<String>,
    pool: web::Data<Pool>,
    channels: web::Data<channel::Registry>,
    calendar: web::Data<domain::calendar::BusinessCalendar>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let text =
        |status: StatusCode, body: &'static str| HttpResponse::build(status).content_type("text/plain").body(body);
    let Some(channel) = channels.pay_out(name.as_str()) else {
        return text(StatusCode::NOT_FOUND, "no such channel");
    };
    let callback = match channel.parse_payout_callback(&form.into_inner()) {
        Ok(callback) => callback,
        Err(channel::CallbackError::BadSignature) => return text(StatusCode::BAD_REQUEST, "bad signature"),
        Err(channel::CallbackError::Malformed(_) | channel::CallbackError::RepeatedField(_)) => {
            return text(StatusCode::BAD_REQUEST, "malformed");
        }
    };
    let (calendar, channel_name) = (**calendar, channel.name());
    let recorded =
        run_blocking(&pool, move |conn| payouts::outcome::record_callback(conn, &calendar, channel_name, callback))
            .await;
    match recorded {
        Ok(Some(_)) => text(StatusCode::OK, "ok"),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such payout"),
        Err(error) => {
            tracing::error!(%error, "a payout callback could not be recorded");
            text(StatusCode::SERVICE_UNAVAILABLE, "not recorded")
        }
    }
}
