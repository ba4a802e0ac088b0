//! The console's order pages through the real server and database: the orders list and its
//! filters and pages, an order's page (split, history, refunds with their give-backs, every
//! notification attempt, its gateway requests and callbacks), the operator's refund and "send
//! again", the gateway request log, and the late payments kept for manual handling.
use domain::{MerchantId, NotificationId, OrderId, onboarding::SignType};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use e2e::{PASSWORD, TestApp, gateway_client::Client, new_client, spawn_app, unescape};
use reqwest::{Response, StatusCode};
use rsa::RsaPrivateKey;
use serde_json::json;
use storage::{audit, database::run_blocking, operators::Role};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
/// Nothing listens on the discard port of loopback: a send there fails at once.
const DEAD_URL: &str = "http://127.0.0.1:9/notify";

// ---------------------------------------------------------------------------------------------
// Helpers.

/// An approved merchant with its own rates and short name, and a client for its app.
async fn merchant(
    app: &TestApp,
    external_id: &str,
    short_name: &str,
    rates: [&str; 3],
) -> (String, MerchantId, Client) {
    let mut raw = e2e::gateway_client::application(external_id);
    raw.short_name = Some(short_name.to_string());
    raw.rate_plan = None;
    raw.bank_commission_rate = Some(rates[0].to_string());
    raw.pay_platform_rate = Some(rates[1].to_string());
    raw.liquidator_commission_rate = Some(rates[2].to_string());
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
    let pem = {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        rsa::RsaPublicKey::from(&key).to_public_key_pem(LineEnding::LF).expect("pem")
    };
    let (sub_merchant_id, merchant_id, app_id) =
        run_blocking(&app.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            let actor = audit::Actor::cli();
            let approval = onboarding::applications::import_approved(conn, &actor, &raw, None)?;
            onboarding::credentials::add_key(conn, &actor, approval.app.id, &pem)?;
            Ok((approval.sub_merchant_id.to_string(), approval.merchant.id(), approval.app.app_id))
        })
        .await
        .expect("merchant onboarded");
    (sub_merchant_id, merchant_id, Client::new(app_id, SignType::Rsa2, key))
}

const FIXTURE_RATES: [&str; 3] = ["0.00030", "0.00200", "0.00100"];

/// Places an order through the gateway; returns its trade_no and id.
async fn place(
    app: &TestApp,
    client: &Client,
    sub_merchant_id: &str,
    out_trade_no: &str,
    total_fee: &str,
    notify_url: Option<&str>,
) -> (String, OrderId) {
    let mut content = json!({
        "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "京东公仔",
        "total_fee": total_fee, "order_type": "0",
    });
    if let Some(url) = notify_url {
        content["notify_url"] = json!(url);
    }
    let reply = app.call(client, UNIORDER, content).await;
    assert_eq!(reply["success"], true, "{reply}");
    let trade_no = reply["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
    (trade_no.clone(), order(app, &trade_no).await.id)
}

async fn order(app: &TestApp, trade_no: &str) -> storage::orders::OrderRow {
    let trade_no = trade_no.to_string();
    run_blocking(&app.pool, move |conn| storage::orders::find_by_trade_no(conn, &trade_no))
        .await
        .expect("read")
        .expect("the order")
}

async fn pay(app: &TestApp, trade_no: &str) {
    let trade_no = trade_no.to_string();
    run_blocking(&app.pool, move |conn| e2e::record_payment(conn, &trade_no)).await.expect("paid");
}

async fn refunds(app: &TestApp, id: OrderId) -> Vec<storage::orders::RefundRow> {
    run_blocking(&app.pool, move |conn| storage::orders::refunds_of(conn, id)).await.expect("refunds read")
}

async fn audit_entries(app: &TestApp, action: &str) -> Vec<audit::Entry> {
    let filter = audit::Filter { action: Some(action.to_string()), ..audit::Filter::default() };
    run_blocking(&app.pool, move |conn| audit::list(conn, &filter, 100)).await.expect("audit read")
}

/// A signed-in client of its own (so several roles can act in one test).
async fn signed_in(app: &TestApp, username: &str, role: Role) -> reqwest::Client {
    app.create_operator(username, role).await;
    let client = new_client();
    assert_eq!(app.login_with(&client, username, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    client
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.expect("sent");
    (response.status(), response.text().await.expect("body"))
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let (_, page) = get(app, client, "/admin").await;
    let token = e2e::csrf_token(&page).expect("a CSRF token");
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    client.post(app.url(path)).form(&form).send().await.expect("posted")
}

fn location(response: &Response) -> String {
    response.headers()["location"].to_str().expect("location").to_string()
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

/// The China date `days` from today, as a date input sends it.
fn china_date(days: i64) -> String {
    (Utc::now() + TimeDelta::hours(8) + TimeDelta::days(days)).format("%Y-%m-%d").to_string()
}

/// The text of the tile with `id` on the dashboard.
fn tile_value(page: &str, id: &str) -> String {
    let tile = page.split(&format!("id=\"{id}\"")).nth(1).unwrap_or_else(|| panic!("no tile {id}"));
    let value = tile.split("class=\"value").nth(1).expect("a value");
    value.split_once('>').expect("a tag").1.split('<').next().unwrap_or_default().trim().to_string()
}

/// Waits (up to 5 s) until `check` holds for the notification's attempts.
async fn wait_for_attempts(app: &TestApp, notification_id: NotificationId, check: impl Fn(usize) -> bool) -> usize {
    let started = Instant::now();
    loop {
        let attempts = run_blocking(&app.pool, move |conn| storage::notifications::attempts(conn, notification_id))
            .await
            .expect("attempts read")
            .len();
        if check(attempts) {
            return attempts;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "attempts stayed at {attempts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 2.5 s) until the gateway has logged `expected` requests: the log is written in
/// batches, off the request path.
async fn wait_for_log(app: &TestApp, expected: usize) {
    for _ in 0..50 {
        let logged = run_blocking(&app.pool, |conn| storage::gateway_log::list(conn, &Default::default(), 100))
            .await
            .expect("log read")
            .len();
        if logged >= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway log did not reach {expected} requests");
}

/// A receiver that answers every notification with HTTP 200 and the body `nope` (not an
/// acknowledgement), so attempts carry a status and a body excerpt.
async fn grumpy_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://127.0.0.1:{}/notify", listener.local_addr().expect("address").port());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(read) = stream.read(&mut chunk).await else { return };
                    if read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                    let text = String::from_utf8_lossy(&buffer).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .and_then(|value| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buffer.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let reply =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

// ---------------------------------------------------------------------------------------------
// The orders list.

#[tokio::test]
async fn the_orders_list_is_searched_by_number_merchant_state_and_day_and_paged() {
    let app = spawn_app().await;
    let (first_id, _, first) = merchant(&app, "m-list-1", "甲商店", FIXTURE_RATES).await;
    let (second_id, _, second) = merchant(&app, "m-list-2", "甲商店二号", FIXTURE_RATES).await;
    let (paid_trade_no, _) = place(&app, &first, &first_id, "LIST_A", "12.34", None).await;
    place(&app, &first, &first_id, "LIST_B", "0.50", None).await;
    place(&app, &first, &first_id, "LIST_C", "7.00", None).await;
    let (old_trade_no, old_id) = place(&app, &second, &second_id, "LIST_D", "100.00", None).await;
    place(&app, &second, &second_id, "LIST_E", "1.00", None).await;
    pay(&app, &paid_trade_no).await;
    app.database
        .connection()
        .batch_execute(&format!("UPDATE orders SET created_at = now() - interval '3 days' WHERE id = {old_id}"))
        .unwrap();
    let viewer = signed_in(&app, "vera", Role::Viewer).await;

    let (status, page) = get(&app, &viewer, "/admin/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&page, "data-order="), 5, "every order, newest first");
    assert!(page.contains(r#"<td class="num amount">12.34</td>"#), "amounts are right-aligned yuan");
    assert!(page.contains("甲商店") && page.contains(&first_id), "the merchant's name and id are shown");
    assert!(page.contains(r#"class="state order-paid">已支付"#), "the state is a badge, in Chinese by default");

    let (_, page) = get(&app, &viewer, &format!("/admin/orders?number={paid_trade_no}")).await;
    assert_eq!(count(&page, "data-order="), 1, "by trade_no");
    let (_, page) = get(&app, &viewer, "/admin/orders?number=LIST_B").await;
    assert_eq!(count(&page, "data-order="), 1, "by out_trade_no");
    assert!(page.contains("LIST_B"));
    let (_, page) = get(&app, &viewer, &format!("/admin/orders?merchant={first_id}")).await;
    assert_eq!(count(&page, "data-order="), 3, "by sub-merchant id");
    let (_, page) = get(&app, &viewer, "/admin/orders?merchant=%E7%94%B2%E5%95%86%E5%BA%97%E4%BA%8C%E5%8F%B7").await;
    assert_eq!(count(&page, "data-order="), 2, "by a short name only one merchant has");
    let (_, page) = get(&app, &viewer, "/admin/orders?merchant=%E7%94%B2").await;
    assert_eq!(count(&page, "data-order="), 0, "a name several merchants share lists none…");
    assert!(page.contains("id=\"merchant-candidates\""), "…and offers the candidates");
    assert!(page.contains(&format!("merchant={first_id}")) && page.contains(&format!("merchant={second_id}")));
    let (_, page) = get(&app, &viewer, "/admin/orders?merchant=nobody").await;
    assert!(page.contains("id=\"merchant-unknown\"") && count(&page, "data-order=") == 0);
    let (_, page) = get(&app, &viewer, "/admin/orders?state=paid").await;
    assert_eq!(count(&page, "data-order="), 1, "by state");
    assert!(page.contains(&paid_trade_no));
    let (_, page) = get(&app, &viewer, &format!("/admin/orders?state=waiting&merchant={first_id}")).await;
    assert_eq!(count(&page, "data-order="), 2, "filters combine");
    let today = china_date(0);
    let (_, page) = get(&app, &viewer, &format!("/admin/orders?from={today}&to={today}")).await;
    assert_eq!(count(&page, "data-order="), 4, "placed today (China time)");
    let three_days_ago = china_date(-3);
    let (_, page) = get(&app, &viewer, &format!("/admin/orders?from={three_days_ago}&to={three_days_ago}")).await;
    assert_eq!(count(&page, "data-order="), 1, "the order placed three days ago");
    assert!(page.contains(&old_trade_no));
    let (_, page) = get(&app, &viewer, &format!("/admin/orders?to={}", china_date(-1))).await;
    assert_eq!(count(&page, "data-order="), 1, "up to yesterday, included");
    assert_eq!(get(&app, &viewer, "/admin/orders?state=lost").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, &viewer, "/admin/orders?from=yesterday").await.0, StatusCode::BAD_REQUEST);

    // Sixty more orders of the first merchant: two pages of fifty at most, keyset by id.
    let model = order(&app, &paid_trade_no).await;
    app.database
        .connection()
        .batch_execute(&format!(
            "INSERT INTO orders (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type,
                bank_commission_rate, pay_platform_rate, liquidator_commission_rate, bank_commission_fen,
                pay_platform_fen, liquidator_commission_fen, net_receipt_fen, cashier_code, content_fingerprint,
                expires_at)
             SELECT lpad(i::text, 28, '9'), app_id, merchant_id, 'BULK_' || i, body, total_fee_fen, order_type,
                bank_commission_rate, pay_platform_rate, liquidator_commission_rate, bank_commission_fen,
                pay_platform_fen, liquidator_commission_fen, net_receipt_fen, 'bulk' || lpad(i::text, 12, '0'),
                content_fingerprint, expires_at
             FROM orders, generate_series(1, 60) AS i WHERE id = {}",
            model.id
        ))
        .unwrap();
    let path = format!("/admin/orders?merchant={first_id}");
    let (_, page) = get(&app, &viewer, &path).await;
    assert_eq!(count(&page, "data-order="), 50);
    let marker = "id=\"next-page\"";
    assert!(page.contains(marker), "a next page");
    let next = page.split("href=\"/admin/orders?").find(|part| part.contains(marker)).unwrap();
    let next = unescape(next.split('"').next().unwrap());
    assert!(next.contains(&format!("merchant={first_id}")) && next.contains("before="), "{next}");
    let (_, second_page) = get(&app, &viewer, &format!("/admin/orders?{next}")).await;
    assert_eq!(count(&second_page, "data-order="), 13, "63 in all");
    assert!(!second_page.contains(marker), "the last page");
    assert!(second_page.contains(&paid_trade_no), "the oldest is on the last page");
    let ids = |page: &str| -> Vec<String> {
        page.split("data-order=\"").skip(1).map(|part| part.split('"').next().unwrap().to_string()).collect()
    };
    assert!(ids(&page).iter().all(|id| !ids(&second_page).contains(id)), "no order on both pages");
}

// ---------------------------------------------------------------------------------------------
// The order page.

#[tokio::test]
async fn the_order_page_shows_the_split_history_and_refunds_with_a_negative_give_back() {
    let app = spawn_app().await;
    // Case 0 of crates/domain/tests/data/refund_vectors.json.
    let (sub_merchant_id, merchant_id, client) =
        merchant(&app, "m-vector", "向量商店", ["0.00784", "0.00611", "0.00044"]).await;
    let (trade_no, id) = place(&app, &client, &sub_merchant_id, "VECTOR_0", "16.13", None).await;
    pay(&app, &trade_no).await;
    let operator = signed_in(&app, "olivia", Role::Operator).await;

    for (number, amount) in [("OPS_V1", "8.73"), ("OPS_V2", "4.25")] {
        let response = post(
            &app,
            &operator,
            &format!("/admin/orders/{id}/refund"),
            &[("out_refund_no", number), ("amount", amount)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), format!("/admin/orders/{id}?notice=refunded"));
    }
    wait_for_log(&app, 1).await;
    let (status, page) = get(&app, &operator, &format!("/admin/orders/{id}?notice=refunded")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"notice\"") && page.contains("退款已完成"));
    assert!(page.contains(&trade_no) && page.contains("VECTOR_0") && page.contains("向量商店"));
    assert!(page.contains(&format!("/admin/merchants/{merchant_id}")) && page.contains(&sub_merchant_id));
    assert!(page.contains(r#"id="order-state">部分退款"#), "{page}");
    assert!(page.contains(r#"id="total">16.13<"#) && page.contains(r#"id="refunded">12.98<"#));
    assert!(page.contains(r#"id="unrefunded">3.15<"#));

    // The snapshotted rates and split, as stored.
    let row = order(&app, &trade_no).await;
    for rate in ["0.00784", "0.00611", "0.00044"] {
        assert!(page.contains(&format!(r#"<td class="num">{rate}</td>"#)), "rate {rate}");
    }
    for fen in [
        row.bank_commission_fen.fen(),
        row.pay_platform_fen.fen(),
        row.liquidator_commission_fen.fen(),
        row.net_receipt_fen.fen(),
    ] {
        let yuan = domain::Amount::from_fen(fen).to_string();
        assert!(page.contains(&format!(r#"<td class="num amount">{yuan}</td>"#)), "split part {yuan}");
    }

    // The refunds and what each gave back (the vector's values), the second with -0.01.
    let refund_row = |number: &str| {
        let start = page.find(&format!("data-out-refund-no=\"{number}\"")).expect("refund row");
        page[start..].split("</tr>").next().unwrap().to_string()
    };
    let first = refund_row("OPS_V1");
    for value in ["8.73", "0.07", "0.05", "0.00", "8.61"] {
        assert!(first.contains(&format!(">{value}</td>")), "{value} in {first}");
    }
    let second = refund_row("OPS_V2");
    for value in ["4.25", "0.04", "0.03", "4.19"] {
        assert!(second.contains(&format!(">{value}</td>")), "{value} in {second}");
    }
    assert!(second.contains(r#"<td class="num amount negative">-0.01</td>"#), "{second}");
    assert!(second.contains("operator:olivia"), "the operator is the requester");

    // The state history: placed, paid, then each refund.
    let history = page.split("id=\"events\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(count(history, "<tr><td"), 4, "{history}");
    for cause in ["下单", "渠道支付回调", "退款"] {
        assert!(history.contains(cause), "{cause}");
    }
    let refunds = refunds(&app, id).await;
    assert!(history.contains(&refunds[0].refund_no) && history.contains(&refunds[1].refund_no));

    // The gateway request that placed it, and the channel's payment callback.
    let requests = page.split("id=\"requests\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(count(requests, "data-request="), 1);
    assert!(requests.contains(UNIORDER) && unescape(requests).contains("VECTOR_0"), "the request text is shown");
    assert!(requests.contains("<pre class=\"wire\">"));
    let callbacks = page.split("id=\"callbacks\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(callbacks.contains("已应用") && callbacks.contains("sandbox"), "{callbacks}");
    assert!(page.contains("下单时未提供通知地址"), "no notify_url, no notifications");

    // In English, on request.
    let (_, english) = {
        let client = new_client();
        app.login_with(&client, "olivia", PASSWORD).await;
        client.get(app.url("/admin/lang/en")).send().await.unwrap();
        get(&app, &client, &format!("/admin/orders/{id}")).await
    };
    assert!(english.contains("Partially refunded") && english.contains("Liquidator commission"));
    assert_eq!(get(&app, &operator, "/admin/orders/999999").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_refund_from_the_form_and_refusals_change_nothing() {
    let app = spawn_app().await;
    let (sub_merchant_id, _, client) = merchant(&app, "m-refund", "退款商店", FIXTURE_RATES).await;
    let (trade_no, id) = place(&app, &client, &sub_merchant_id, "REFUND_1", "10.00", None).await;
    let (_, unpaid) = place(&app, &client, &sub_merchant_id, "REFUND_2", "10.00", None).await;
    pay(&app, &trade_no).await;
    let operator = signed_in(&app, "olivia", Role::Operator).await;
    let refund_path = format!("/admin/orders/{id}/refund");

    // The form: a generated out_refund_no, the refundable amount as the limit.
    let (_, page) = get(&app, &operator, &format!("/admin/orders/{id}")).await;
    assert!(page.contains("id=\"refund-form\""));
    let default_number = page.split("name=\"out_refund_no\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(default_number.starts_with("OPS") && default_number.len() == 17, "{default_number}");
    assert!(page.contains("placeholder=\"10.00\""));
    let (_, waiting) = get(&app, &operator, &format!("/admin/orders/{unpaid}")).await;
    assert!(!waiting.contains("id=\"refund-form\""), "no form for an unpaid order");

    // Refusals: shown on the page with a 400, the form as typed, nothing refunded.
    let refusals: [(&[(&str, &str)], &str); 6] = [
        (&[("out_refund_no", "OPS_1"), ("amount", "")], "请填写退款金额"),
        (&[("out_refund_no", "OPS_1"), ("amount", "abc")], "退款金额格式不正确"),
        (&[("out_refund_no", "OPS_1"), ("amount", "0.00")], "退款金额格式不正确"),
        (&[("out_refund_no", "OPS_1"), ("amount", "1.234")], "退款金额格式不正确"),
        (&[("out_refund_no", "bad-number!"), ("amount", "1.00")], "商户退款单号"),
        (&[("out_refund_no", "OPS_1"), ("amount", "10.01")], "退款金额超过可退金额"),
    ];
    for (fields, message) in refusals {
        let response = post(&app, &operator, &refund_path, fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains("id=\"alert\"") && page.contains(message), "{fields:?}: {message}");
        assert!(page.contains(&format!("value=\"{}\"", fields[0].1)) || fields[0].1.contains('!'), "kept as typed");
    }
    assert!(refunds(&app, id).await.is_empty(), "nothing was refunded");
    let response = post(
        &app,
        &operator,
        &format!("/admin/orders/{unpaid}/refund"),
        &[("out_refund_no", "X1"), ("amount", "1.00")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("当前状态的订单不能退款"));

    // Viewers and finance may look but not refund.
    for (name, role) in [("vera", Role::Viewer), ("fiona", Role::Finance)] {
        let client = signed_in(&app, name, role).await;
        let (status, page) = get(&app, &client, &format!("/admin/orders/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("id=\"refund-form\""), "{role}: no form");
        let response = post(&app, &client, &refund_path, &[("out_refund_no", "OPS_X"), ("amount", "1.00")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
    assert!(refunds(&app, id).await.is_empty(), "still nothing refunded");
    assert!(audit_entries(&app, "order.refund").await.is_empty());

    // A refund, audited; the same number and amount again is a replay; another amount is refused.
    let response = post(&app, &operator, &refund_path, &[("out_refund_no", "OPS_1"), ("amount", "4.00")]).await;
    assert_eq!(location(&response), format!("/admin/orders/{id}?notice=refunded"));
    let response = post(&app, &operator, &refund_path, &[("out_refund_no", "OPS_1"), ("amount", "4.00")]).await;
    assert_eq!(location(&response), format!("/admin/orders/{id}?notice=refund_replay"));
    let response = post(&app, &operator, &refund_path, &[("out_refund_no", "OPS_1"), ("amount", "5.00")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("该商户退款单号已用于另一金额的退款"));
    let made = refunds(&app, id).await;
    assert_eq!(made.len(), 1);
    assert_eq!((made[0].refund_fee_fen.fen(), made[0].requested_by.as_str()), (400, "operator:olivia"));
    let entries = audit_entries(&app, "order.refund").await;
    assert_eq!(entries.len(), 1, "one audit entry for one refund");
    assert_eq!((entries[0].actor.as_str(), entries[0].target.as_str()), ("olivia", format!("order:{id}").as_str()));
    let after = entries[0].after.clone().unwrap();
    assert_eq!((after["refund_fee"].as_str(), after["state"].as_str()), (Some("4.00"), Some("partially_refunded")));
    assert_eq!(after["refund_no"].as_str(), Some(made[0].refund_no.as_str()));

    // The rest: the order is refunded and the form is gone.
    let response = post(&app, &operator, &refund_path, &[("out_refund_no", "OPS_2"), ("amount", "6.00")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&app, &operator, &format!("/admin/orders/{id}")).await;
    assert!(page.contains(r#"id="order-state">已全额退款"#) && !page.contains("id=\"refund-form\""));
    assert_eq!(order(&app, &trade_no).await.state.as_str(), "refunded");
}

#[tokio::test]
async fn every_notification_attempt_is_shown_and_sending_again_is_audited() {
    let app = spawn_app().await;
    let (sub_merchant_id, _, client) = merchant(&app, "m-notify", "通知商店", FIXTURE_RATES).await;
    let receiver = grumpy_receiver().await;
    let (dead_trade_no, dead_id) = place(&app, &client, &sub_merchant_id, "NOTIFY_DEAD", "3.00", Some(DEAD_URL)).await;
    let (trade_no, id) = place(&app, &client, &sub_merchant_id, "NOTIFY_1", "3.00", Some(&receiver)).await;
    pay(&app, &dead_trade_no).await;
    pay(&app, &trade_no).await;
    let outbox = |order_id: OrderId| {
        let pool = app.pool.clone();
        async move {
            run_blocking(&pool, move |conn| storage::notifications::for_order(conn, order_id)).await.expect("read")
        }
    };
    let notification = outbox(id).await[0].id;
    let dead_notification = outbox(dead_id).await[0].id;
    // The workers send at once; both fail (one answers `nope`, one is unreachable) and wait a minute.
    wait_for_attempts(&app, notification, |n| n >= 1).await;
    wait_for_attempts(&app, dead_notification, |n| n >= 1).await;
    let operator = signed_in(&app, "olivia", Role::Operator).await;

    let (_, page) = get(&app, &operator, &format!("/admin/orders/{id}")).await;
    let section = page.split(&format!("data-notification=\"{notification}\"")).nth(1).unwrap();
    let section = section.split("</section>").next().unwrap();
    assert!(section.contains(&receiver) && section.contains("待发送"), "{section}");
    assert_eq!(count(section, "class=\"attempt\""), 1);
    assert!(section.contains(r#"<td class="num">200</td>"#) && section.contains(">nope</code>"), "{section}");
    assert!(section.contains("send-again"), "operators see the button");
    let (_, page) = get(&app, &operator, &format!("/admin/orders/{dead_id}")).await;
    let section = page.split(&format!("data-notification=\"{dead_notification}\"")).nth(1).unwrap();
    let section = section.split("</section>").next().unwrap();
    assert_eq!(count(section, "class=\"attempt\""), 1);
    let error = section.split("<td class=\"bad small\">").nth(1).unwrap().split("</td>").next().unwrap();
    assert!(!error.trim().is_empty(), "the error of an unreachable URL is shown: {section}");

    // Viewers see the attempts but cannot send again.
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    let (_, page) = get(&app, &viewer, &format!("/admin/orders/{id}")).await;
    assert!(page.contains(">nope</code>") && !page.contains("send-again"));
    let send_again = format!("/admin/orders/{id}/notifications/{notification}/send-again");
    assert_eq!(post(&app, &viewer, &send_again, &[]).await.status(), StatusCode::FORBIDDEN);
    assert!(audit_entries(&app, "notification.send_again").await.is_empty());

    // The operator sends again: audited, and one more attempt is made within a second or so.
    let response = post(&app, &operator, &send_again, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/orders/{id}?notice=sent_again#notifications"));
    wait_for_attempts(&app, notification, |n| n >= 2).await;
    let entries = audit_entries(&app, "notification.send_again").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].actor.as_str(), entries[0].target.as_str()),
        ("olivia", format!("notification:{notification}").as_str())
    );
    let (_, page) = get(&app, &operator, &format!("/admin/orders/{id}?notice=sent_again")).await;
    assert!(page.contains("通知已重新加入发送队列"));
    let section = page.split(&format!("data-notification=\"{notification}\"")).nth(1).unwrap();
    assert_eq!(count(section.split("</section>").next().unwrap(), "class=\"attempt\""), 2);

    // While a sender holds the notification, sending again is refused (it could go out twice).
    app.database
        .connection()
        .batch_execute(&format!(
            "UPDATE notifications SET locked_until = now() + interval '1 minute' WHERE id = {dead_notification}"
        ))
        .unwrap();
    let in_flight = format!("/admin/orders/{dead_id}/notifications/{dead_notification}/send-again");
    let response = post(&app, &operator, &in_flight, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("该通知正在发送中"));
    assert_eq!(audit_entries(&app, "notification.send_again").await.len(), 1, "not audited: nothing was done");

    // Another order's notification is not this order's to send.
    let foreign = format!("/admin/orders/{id}/notifications/{dead_notification}/send-again");
    assert_eq!(post(&app, &operator, &foreign, &[]).await.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// The gateway request log.

#[tokio::test]
async fn the_gateway_log_is_filtered_by_app_method_order_and_failure_and_paged() {
    let app = spawn_app().await;
    let (first_id, _, first) = merchant(&app, "m-log-1", "日志一", FIXTURE_RATES).await;
    let (second_id, _, second) = merchant(&app, "m-log-2", "日志二", FIXTURE_RATES).await;
    let (trade_no, _) = place(&app, &first, &first_id, "LOG_1", "1.00", None).await;
    app.call(&first, "fshows.liquidation.alipay.trade.query", json!({ "trade_no": trade_no })).await;
    let refused = app
        .call(
            &second,
            UNIORDER,
            json!({ "out_trade_no": "LOG_2", "sub_merchant_id": second_id, "body": "x", "total_fee": "0", "order_type": "0" }),
        )
        .await;
    assert_eq!(refused["success"], false);
    wait_for_log(&app, 3).await;
    let finance = signed_in(&app, "fiona", Role::Finance).await;

    let (status, page) = get(&app, &finance, "/admin/gateway-log").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&page, "data-request="), 3);
    let (_, page) = get(&app, &finance, &format!("/admin/gateway-log?app_id={}", first.app_id)).await;
    assert_eq!(count(&page, "data-request="), 2, "by app");
    assert!(!page.contains(&second.app_id));
    let (_, page) = get(&app, &finance, &format!("/admin/gateway-log?method={UNIORDER}")).await;
    assert_eq!(count(&page, "data-request="), 2, "by method");
    let (_, page) = get(&app, &finance, &format!("/admin/gateway-log?trade_no={trade_no}")).await;
    assert_eq!(count(&page, "data-request="), 2, "by trade_no: the order and its query");
    let (_, page) = get(&app, &finance, "/admin/gateway-log?failures=1").await;
    assert_eq!(count(&page, "data-request="), 1, "failures only");
    assert!(page.contains(r#"<span class="bad">-101</span>"#) && page.contains(&second.app_id));
    assert!(page.contains("name=\"failures\" value=\"1\" checked"));
    let request = page.split("<pre class=\"wire\">").nth(1).unwrap().split("</pre>").next().unwrap();
    assert!(unescape(request).contains("LOG_2"), "the request text: {request}");
    let reply = page.split("<pre class=\"wire\">").nth(2).unwrap().split("</pre>").next().unwrap();
    assert!(unescape(reply).contains("total_fee"), "the reply text: {reply}");

    app.database
        .connection()
        .batch_execute(
            "INSERT INTO gateway_requests (app_id, method, request, reply, success, latency_ms)
             SELECT 'bulkapp', 'bulk.method', 'request ' || i, 'reply ' || i, true, 1 FROM generate_series(1, 60) AS i",
        )
        .unwrap();
    let (_, page) = get(&app, &finance, "/admin/gateway-log?app_id=bulkapp").await;
    assert_eq!(count(&page, "data-request="), 50);
    let next = page.split("href=\"/admin/gateway-log?").nth(1).unwrap().split('"').next().unwrap();
    let next = unescape(next);
    assert!(next.contains("app_id=bulkapp") && next.contains("before="), "{next}");
    let (_, rest) = get(&app, &finance, &format!("/admin/gateway-log?{next}")).await;
    assert_eq!(count(&rest, "data-request="), 10);
    assert!(rest.contains(">request 1</pre>") && !page.contains(">request 1</pre>"));

    // A long reply (a downloadbill's bill, say) is cut short in the list; its own page holds it
    // whole. Chinese text, so the cut is by characters, never inside one.
    let long_reply = format!("{{\"bill\":\"{}\"}}", "京东,".repeat(3000));
    let mut conn = app.database.connection();
    storage::gateway_log::insert_many(
        &mut conn,
        &[storage::gateway_log::NewRequestLog {
            app_id: Some("longapp"),
            method: Some("fshows.liquidation.finance.downloadbill"),
            trade_no: None,
            request: "a short request",
            reply: &long_reply,
            success: true,
            error_code: None,
            latency_ms: 3,
            client_ip: None,
        }],
    )
    .unwrap();
    let (_, page) = get(&app, &finance, "/admin/gateway-log?app_id=longapp").await;
    let shown = unescape(page.split("<pre class=\"wire\">").nth(2).unwrap().split("</pre>").next().unwrap());
    assert_eq!(shown.chars().count(), storage::gateway_log::EXCERPT_CHARS as usize);
    assert!(long_reply.starts_with(&shown));
    let whole = page.split("href=\"/admin/gateway-log/").nth(1).unwrap().split('"').next().unwrap();
    assert!(page.contains("(15 / 9011)"), "the lengths in characters");
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Lengths {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        request_chars: Option<i32>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        reply_chars: Option<i32>,
    }
    let kept: Lengths =
        diesel::sql_query("SELECT request_chars, reply_chars FROM gateway_requests WHERE app_id = 'longapp'")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!((kept.request_chars, kept.reply_chars), (Some(15), Some(9011)), "counted once, when logged");
    let (status, exchange) = get(&app, &finance, &format!("/admin/gateway-log/{whole}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(exchange.contains("<details open>"), "the exchange is shown open");
    let reply = exchange.split("<pre class=\"wire\">").nth(2).unwrap().split("</pre>").next().unwrap();
    assert_eq!(unescape(reply), long_reply);
    for (path, wanted) in [
        ("/admin/gateway-log/999999", StatusCode::NOT_FOUND),
        ("/admin/gateway-log/not-a-number", StatusCode::NOT_FOUND),
        ("/admin/gateway-log/99999999999999999999999", StatusCode::NOT_FOUND),
        ("/admin/gateway-log/1%00", StatusCode::NOT_FOUND),
    ] {
        let (status, _) = get(&app, &finance, path).await;
        assert_eq!(status, wanted, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Late payments and the dashboard.

#[tokio::test]
async fn a_late_payment_waits_on_the_callbacks_page_until_an_operator_resolves_it_with_a_note() {
    let app = spawn_app().await;
    let (sub_merchant_id, _, client) = merchant(&app, "m-late", "迟到商店", FIXTURE_RATES).await;
    let (trade_no, id) = place(&app, &client, &sub_merchant_id, "LATE_1", "5.00", None).await;
    let (paid_trade_no, _) = place(&app, &client, &sub_merchant_id, "LATE_2", "2.50", None).await;
    pay(&app, &paid_trade_no).await;
    let late = trade_no.clone();
    let outcome = run_blocking(&app.pool, move |conn| -> Result<_, orders::OrderError> {
        orders::lifecycle::close(conn, id, "test")?;
        let report = orders::lifecycle::PaymentReport {
            channel: "sandbox",
            trade_no: &late,
            payload: json!({ "result": "SUCCESS", "total_fee": "500" }),
            at: chrono::Utc::now(),
        };
        orders::lifecycle::record_payment(conn, &domain::calendar::BusinessCalendar::default(), report)
    })
    .await
    .unwrap();
    assert_eq!(outcome, orders::lifecycle::Payment::LatePayment);
    let operator = signed_in(&app, "olivia", Role::Operator).await;
    let viewer = signed_in(&app, "vera", Role::Viewer).await;

    // The dashboard counts today's orders, their paid volume and the callback waiting.
    let (_, dashboard) = get(&app, &viewer, "/admin").await;
    assert_eq!(tile_value(&dashboard, "orders-today"), "2");
    assert_eq!(tile_value(&dashboard, "paid-today"), "1");
    assert_eq!(tile_value(&dashboard, "volume-today"), "2.50");
    assert_eq!(tile_value(&dashboard, "callbacks-open"), "1");
    assert_eq!(tile_value(&dashboard, "success-rate-today"), "50.0%");
    assert_eq!(tile_value(&dashboard, "commission-today"), "0.00", "2.50 at these rates earns nothing");
    // The 30-day charts, drawn as SVG with today's bar titled with its figure.
    let today = domain::calendar::BusinessCalendar::default().date_of(chrono::Utc::now()).format("%Y-%m-%d");
    assert!(dashboard.contains("id=\"volume-chart\"") && dashboard.contains("id=\"commission-chart\""));
    assert_eq!(count(&dashboard, "<rect "), 60, "thirty bars in each chart");
    assert!(dashboard.contains(&format!("<title>{today}: 2.50</title>")), "today's volume bar");

    let (status, page) = get(&app, &viewer, "/admin/callbacks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&page, "data-callback="), 1);
    assert!(page.contains("关单后到账") && page.contains(&format!("href=\"/admin/orders/{id}\"")));
    assert!(unescape(&page).contains("\"total_fee\": \"500\""), "the payload is shown");
    assert!(!page.contains("resolve-form"), "viewers cannot resolve");
    let callback = page.split("data-callback=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let resolve = format!("/admin/callbacks/{callback}/resolve");
    assert_eq!(post(&app, &viewer, &resolve, &[("note", "looked")]).await.status(), StatusCode::FORBIDDEN);

    let (_, page) = get(&app, &operator, "/admin/callbacks").await;
    assert!(page.contains("resolve-form"));
    let response = post(&app, &operator, &resolve, &[("note", "   ")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a note is required");
    assert!(response.text().await.unwrap().contains("请填写处理说明"));
    assert!(audit_entries(&app, "callback.resolve").await.is_empty(), "nothing changed");

    let note = format!("refunded the payer offline, ticket 42 {}", e2e::HOSTILE_TEXT);
    let response = post(&app, &operator, &resolve, &[("note", &note)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/callbacks?notice=resolved");
    let (_, page) = get(&app, &operator, "/admin/callbacks?notice=resolved").await;
    assert!(page.contains("已标记为已处理") && count(&page, "data-callback=") == 0);
    let (_, page) = get(&app, &operator, "/admin/callbacks?show=resolved").await;
    assert_eq!(count(&page, "data-callback="), 1);
    assert!(e2e::shows_escaped(&page, &note) && page.contains("olivia"), "the note as typed, escaped");
    let entries = audit_entries(&app, "callback.resolve").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].actor.as_str(), entries[0].target.as_str()),
        ("olivia", format!("callback:{callback}").as_str())
    );

    let again = post(&app, &operator, &resolve, &[("note", "again")]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "resolved once only");
    assert!(again.text().await.unwrap().contains("该回调已被处理"));
    assert_eq!(
        post(&app, &operator, "/admin/callbacks/999999/resolve", &[("note", "x")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(audit_entries(&app, "callback.resolve").await.len(), 1);

    // The order's page shows the callback with its resolution; the dashboard has nothing waiting.
    let (_, page) = get(&app, &viewer, &format!("/admin/orders/{id}")).await;
    let callbacks = page.split("id=\"callbacks\"").nth(1).unwrap();
    assert!(callbacks.contains("关单后到账") && callbacks.contains("refunded the payer offline, ticket 42"));
    assert!(page.contains(r#"id="order-state">已关闭"#));
    let (_, dashboard) = get(&app, &viewer, "/admin").await;
    assert_eq!(tile_value(&dashboard, "callbacks-open"), "0");
}
