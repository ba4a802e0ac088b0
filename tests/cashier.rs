//! The sandbox cashier and the channel callback path, through the real server.
use diesel::connection::SimpleConnection;
use domain::onboarding::SignType;
use e2e::spawn_app;
use serde_json::json;

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";

async fn placed(
    app: &e2e::TestApp,
    client: &e2e::gateway_client::Client,
    sub_merchant_id: &str,
    out_trade_no: &str,
) -> (String, String) {
    let content = json!({ "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "京东公仔", "total_fee": "12.34", "order_type": "0", "notify_url": "http://127.0.0.1:9/notify" });
    let reply = app.call(client, UNIORDER, content).await;
    let value = &reply["return_value"];
    (value["qr_code"].as_str().unwrap().to_string(), value["trade_no"].as_str().unwrap().to_string())
}

fn code_of(qr_code: &str) -> String {
    qr_code.split("c=").nth(1).unwrap().to_string()
}

async fn status(app: &e2e::TestApp, client: &e2e::gateway_client::Client, trade_no: &str) -> i64 {
    let reply = app.call(client, "fshows.liquidation.alipay.trade.query", json!({ "trade_no": trade_no })).await;
    reply["return_value"]["status"].as_i64().unwrap()
}

/// The sandbox as the server runs it, to sign callbacks the way the channel would.
fn sandbox(app: &e2e::TestApp) -> channel::sandbox::Sandbox {
    use diesel::prelude::*;
    use storage::schema::platform_settings::dsl::*;
    let secret: String =
        platform_settings.find("sandbox.callback_secret").select(value).first(&mut app.database.connection()).unwrap();
    channel::sandbox::Sandbox::new(Default::default(), secret.as_bytes())
}

#[tokio::test]
async fn the_payer_pays_at_the_cashier_and_the_order_becomes_paid() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (qr_code, trade_no) = placed(&app, &client, &sub_merchant_id, "C1").await;
    let page = app.client.get(&qr_code).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("示例科技")
            && page.contains("京东公仔")
            && page.contains("12.34")
            && page.contains(r#"value="pay""#),
        "{page}"
    );

    let failed = app
        .client
        .post(app.url("/cashier/pay"))
        .form(&[("c", code_of(&qr_code).as_str()), ("outcome", "fail")])
        .send()
        .await
        .unwrap();
    assert!(failed.text().await.unwrap().contains("支付失败"));
    assert_eq!(status(&app, &client, &trade_no).await, 1, "a failed payment leaves the order open");

    let paid = app
        .client
        .post(app.url("/cashier/pay"))
        .form(&[("c", code_of(&qr_code).as_str()), ("outcome", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    assert!(paid.text().await.unwrap().contains("支付成功"));
    assert_eq!(status(&app, &client, &trade_no).await, 2);
    let mut conn = app.database.connection();
    let order = storage::orders::find_by_trade_no(&mut conn, &trade_no).unwrap().unwrap();
    assert_eq!(
        storage::notifications::for_order(&mut conn, order.id).unwrap().len(),
        1,
        "the merchant's notification is queued"
    );
    let again = app.client.get(&qr_code).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("已支付"), "{again}");
}

#[tokio::test]
async fn forged_wrong_amount_and_unknown_order_callbacks_are_refused_and_kept() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (_, trade_no) = placed(&app, &client, &sub_merchant_id, "C2").await;
    let forged = [
        ("trade_no", trade_no.as_str()),
        ("total_fee", "1234"),
        ("result", "SUCCESS"),
        ("paid_at", "2026-11-22 10:00:00"),
        ("sign", "00"),
    ];
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&forged).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let wrong_amount =
        sandbox(&app).payment_callback(&trade_no, domain::Amount::from_fen(1), true, "2026-11-22 10:00:00");
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&wrong_amount).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(status(&app, &client, &trade_no).await, 1, "nothing was applied");
    let unknown = sandbox(&app).payment_callback(
        "9999999999999999999999999999",
        domain::Amount::from_fen(1234),
        true,
        "2026-11-22 10:00:00",
    );
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 422, "a callback for an unknown order is not acknowledged");
    let kept = storage::callbacks::needing_attention(&mut app.database.connection(), 10).unwrap();
    assert_eq!(kept.len(), 3, "the forged, the wrong-amount and the unknown-order callbacks are all kept");
    assert!(kept.iter().any(|callback| callback.trade_no.as_deref() == Some("9999999999999999999999999999")));
    app.sign_in_as("olga", storage::operators::Role::Operator).await;
    let (_, page) = app.get_text("/admin/callbacks").await;
    assert!(
        page.contains("<code>9999999999999999999999999999</code>") && page.matches("data-callback=").count() == 3,
        "an operator sees every kept callback, the unknown order's without a link"
    );
    assert!(kept.iter().all(|callback| callback.outcome.as_str() == "rejected"));

    let genuine =
        sandbox(&app).payment_callback(&trade_no, domain::Amount::from_fen(1234), true, "2026-11-22 10:00:00");
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&genuine).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.text().await.unwrap().as_str()), (200, "success"));
    assert_eq!(status(&app, &client, &trade_no).await, 2);
    let again = app.client.post(app.url("/channel/sandbox/notify")).form(&genuine).send().await.unwrap();
    assert_eq!(again.status(), 200, "a repeated callback is acknowledged and changes nothing");
}

#[tokio::test]
async fn expired_codes_cannot_be_paid_and_a_late_payment_is_kept_for_an_operator() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (qr_code, trade_no) = placed(&app, &client, &sub_merchant_id, "C3").await;
    app.database.connection().batch_execute("UPDATE orders SET expires_at = now() - interval '1 minute'").unwrap();
    assert_eq!(app.client.get(&qr_code).send().await.unwrap().status(), 410);
    let refused = app
        .client
        .post(app.url("/cashier/pay"))
        .form(&[("c", code_of(&qr_code).as_str()), ("outcome", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 410);
    assert_eq!(orders::lifecycle::expire_due(&mut app.database.connection(), chrono::Utc::now(), 10).unwrap(), 1);
    assert_eq!(status(&app, &client, &trade_no).await, 9);

    // The money arrives anyway (the payer paid at the last second upstream).
    let late = sandbox(&app).payment_callback(&trade_no, domain::Amount::from_fen(1234), true, "2026-11-22 10:00:00");
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&late).send().await.unwrap();
    assert_eq!(response.status(), 200, "acknowledged, so the channel stops retrying");
    assert_eq!(status(&app, &client, &trade_no).await, 9, "never silently reopened");
    let kept = storage::callbacks::needing_attention(&mut app.database.connection(), 10).unwrap();
    assert_eq!((kept.len(), kept[0].outcome.as_str()), (1, "late_payment"));
}

#[tokio::test]
async fn unknown_and_malformed_codes_are_not_found() {
    let app = spawn_app().await;
    for query in ["", "?c=", "?c=nosuchcode00000000", "?c=%3Cscript%3E", "?c=UPPERCASE00000000"] {
        let response = app.get(&format!("/cashier/code{query}")).await;
        assert_eq!(response.status(), 404, "{query}");
    }
    let response = app
        .client
        .post(app.url("/cashier/pay"))
        .form(&[("c", "nosuchcode00000000"), ("outcome", "maybe")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// A merchant's server on 127.0.0.1 that answers `success` and hands over each form it receives.
async fn receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Read headers and the body (Content-Length) of one small request.
            while let Ok(read) = stream.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        let _ = sender.send(text[end + 4..].to_string());
                        break;
                    }
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess").await;
        }
    });
    (url, received)
}

#[tokio::test]
async fn paying_notifies_the_merchants_server_with_a_signed_form() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (notify_url, mut received) = receiver().await;
    let content = json!({ "out_trade_no": "N1", "sub_merchant_id": sub_merchant_id, "body": "京东公仔", "total_fee": "12.34", "order_type": "0", "notify_url": notify_url });
    let reply = app.call(&client, UNIORDER, content).await;
    let qr_code = reply["return_value"]["qr_code"].as_str().unwrap().to_string();
    app.client
        .post(app.url("/cashier/pay"))
        .form(&[("c", code_of(&qr_code).as_str()), ("outcome", "pay")])
        .send()
        .await
        .unwrap();

    let form = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .expect("notified within 10 s")
        .unwrap();
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(
        (field("out_trade_no").as_str(), field("status").as_str(), field("total_fee").as_str()),
        ("N1", "2", "12.34")
    );
    let signed = fshows::signature::string_to_sign(
        fields.iter().filter(|(k, _)| k != "sign" && k != "sign_type").map(|(k, v)| (k.as_str(), v.as_str())),
    );
    assert!(
        fshows::signature::verify(SignType::Rsa2, &[app.platform_key().await], signed.as_bytes(), &field("sign")),
        "signed by the platform"
    );
    // The acknowledgement is recorded: delivered after one attempt.
    for _ in 0..50 {
        let order = storage::orders::find_by_trade_no(
            &mut app.database.connection(),
            reply["return_value"]["trade_no"].as_str().unwrap(),
        )
        .unwrap()
        .unwrap();
        let notification = &storage::notifications::for_order(&mut app.database.connection(), order.id).unwrap()[0];
        if notification.state.as_str() == "delivered" {
            assert_eq!(notification.attempts, 1);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the notification was not marked delivered");
}

#[tokio::test]
async fn callbacks_reach_the_channel_named_in_their_route_and_no_other() {
    let app = e2e::spawn_app().await;
    let form = [("trade_no", "2026112010000000000000000001"), ("total_fee", "100"), ("result", "SUCCESS")];
    let response = app.client.post(app.url("/channel/nosuch/notify")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 404, "an unconfigured channel has no callback route");
    let kept = storage::callbacks::needing_attention(&mut app.database.connection(), 10).unwrap();
    assert!(kept.is_empty(), "nothing is recorded for a channel that does not exist");
    // The sandbox is registered under its name: an unsigned callback reaches it and is refused there.
    let response = app.client.post(app.url("/channel/sandbox/notify")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 400);
}
