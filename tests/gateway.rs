//! The gateway through the real server: signed envelopes in, signed replies out (SPEC §5).
use domain::onboarding::SignType;
use e2e::{gateway_client::Client, spawn_app, spawn_app_with};
use serde_json::{Value, json};

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const QUERY: &str = "fshows.liquidation.alipay.trade.query";

fn order(sub_merchant_id: &str, out_trade_no: &str, total_fee: Value) -> Value {
    json!({
        "out_trade_no": out_trade_no,
        "sub_merchant_id": sub_merchant_id,
        "body": "这是京东支付订单",
        "total_fee": total_fee,
        "order_type": "0",
        "notify_url": "http://cc.ngrok.cc/test"
    })
}

fn error_code(reply: &Value) -> &str {
    reply["error_code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn uniorder_answers_in_seed_003_order_with_two_and_five_decimals() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let body =
        client.json_envelope(UNIORDER, &order(&sub_merchant_id, "CQL201709061014480195818", json!("0.01")).to_string());
    let (status, text) = app.post_gateway(body, "application/json").await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = [
        "qr_code",
        "trade_no",
        "total_fee",
        "net_receipt_amount",
        "bank_commission_rate",
        "bank_commission_fee",
        "pay_platform_rate",
        "pay_platform_fee",
        "liquidator_commission_rate",
        "liquidator_commission_fee",
        "notify_url",
    ]
    .to_vec();
    let positions: Vec<usize> =
        keys.iter().map(|key| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {text}"))).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "fields in seed 003's order: {text}");
    assert!(
        text.contains(r#""total_fee":0.01,"#)
            && text.contains(r#""bank_commission_rate":0.00030,"#)
            && text.contains(r#""bank_commission_fee":0.00,"#),
        "{text}"
    );
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["success"], true);
    assert!(fshows::reply::verify_reply(SignType::Rsa2, &[app.platform_key().await], &text));
    let value = &reply["return_value"];
    assert_eq!(value["trade_no"].as_str().unwrap().len(), 28);
    assert!(value["qr_code"].as_str().unwrap().starts_with(&format!("{}/cashier/code?c=", app.address)));
}

#[tokio::test]
async fn form_bodies_php_escapes_numbers_and_sha1_apps_work_too() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa, None).await;
    // fshows' PHP clients: json_encode escapes '/' and non-ASCII, and sends numbers.
    let content = format!(
        r#"{{"out_trade_no":"PHP_1","sub_merchant_id":"{sub_merchant_id}","body":"\u4eac\u4e1c\u516c\u4ed4","total_fee":12.5,"order_type":1,"notify_url":"http:\/\/cc.ngrok.cc\/test"}}"#
    );
    let (status, text) = app
        .post_gateway(client.form_envelope(UNIORDER, &content), "application/x-www-form-urlencoded; charset=utf-8")
        .await;
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["success"], true, "{text}");
    assert!(text.contains(r#""total_fee":12.50,"#), "{text}");
    assert!(
        fshows::reply::verify_reply(SignType::Rsa, &[app.platform_key().await], &text),
        "signed SHA1withRSA for an RSA app"
    );
}

#[tokio::test]
async fn retries_are_idempotent_and_conflicting_reuse_is_206() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let first = app.call(&client, UNIORDER, order(&sub_merchant_id, "A1", json!("100.00"))).await;
    let again = app.call(&client, UNIORDER, order(&sub_merchant_id, "A1", json!(100.00))).await;
    assert_eq!(first["return_value"], again["return_value"], "the original reply");
    let conflict = app.call(&client, UNIORDER, order(&sub_merchant_id, "A1", json!("100.01"))).await;
    assert_eq!(error_code(&conflict), "-206");
}

#[tokio::test]
async fn bad_signatures_unknown_apps_and_foreign_merchants_are_refused() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (_, other) = app.merchant_client("m2", SignType::Rsa2, None).await;
    let content = order(&sub_merchant_id, "B1", json!("1.00")).to_string();

    let mut tampered: Value = serde_json::from_str(&client.json_envelope(UNIORDER, &content)).unwrap();
    tampered["content"] = json!(content.replace("1.00", "0.01"));
    let (_, text) = app.post_gateway(tampered.to_string(), "application/json").await;
    assert_eq!(error_code(&serde_json::from_str(&text).unwrap()), "-100");

    let impostor = Client::new(client.app_id.clone(), SignType::Rsa2, other.private_key.clone());
    let reply = app.call(&impostor, UNIORDER, order(&sub_merchant_id, "B2", json!("1.00"))).await;
    assert_eq!(error_code(&reply), "-100", "signed with another app's key");

    let wrong_type = Client::new(client.app_id.clone(), SignType::Rsa, client.private_key.clone());
    let (_, text) = app.post_gateway(wrong_type.json_envelope(UNIORDER, &content), "application/json").await;
    assert_eq!(error_code(&serde_json::from_str(&text).unwrap()), "-100", "SHA1 for an RSA2 app");

    let nobody = Client::new("2016072300007148".into(), SignType::Rsa2, client.private_key.clone());
    assert_eq!(error_code(&app.call(&nobody, UNIORDER, json!({})).await), "-201");

    let foreign = app.call(&other, UNIORDER, order(&sub_merchant_id, "B4", json!("1.00"))).await;
    assert_eq!(error_code(&foreign), "-102", "another merchant's app");
    let unknown_method = app.call(&client, "fshows.liquidation.nope", json!({})).await;
    assert_eq!(
        (error_code(&unknown_method), unknown_method["error_message"].as_str().unwrap().contains("method")),
        ("-101", true)
    );
    let orders = storage::orders::list(&mut app.database.connection(), &Default::default(), 10).unwrap();
    assert!(orders.is_empty(), "nothing was created");
}

#[tokio::test]
async fn every_uniorder_field_is_checked_and_named() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let valid = order(&sub_merchant_id, "F1", json!("0.01"));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("total_fee", json!("0.00"), "-101"),
        ("total_fee", json!("100000000.01"), "-101"),
        ("total_fee", json!("1.001"), "-101"),
        ("total_fee", json!("1e2"), "-101"),
        ("total_fee", json!("-1"), "-101"),
        ("total_fee", json!("+1"), "-101"),
        ("total_fee", json!(""), "-101"),
        ("total_fee", json!("abc"), "-101"),
        ("body", json!("好".repeat(129)), "-101"),
        ("body", json!(""), "-101"),
        ("out_trade_no", json!("has-dash"), "-101"),
        ("out_trade_no", json!("x".repeat(65)), "-101"),
        ("order_type", json!("2"), "-101"),
        ("order_type", json!(true), "-101"),
        ("notify_url", json!("ftp://example.com/"), "-101"),
        ("notify_url", json!(format!("http://example.com/{}", "a".repeat(250))), "-101"),
        ("sub_merchant_id", json!("123"), "-101"),
        ("sub_merchant_id", json!("20170720205421027980"), "-203"),
    ];
    for (field, value, code) in cases {
        let mut content = valid.clone();
        content[field] = value.clone();
        let reply = app.call(&client, UNIORDER, content).await;
        assert_eq!(error_code(&reply), code, "{field} = {value}");
        if code == "-101" {
            assert!(reply["error_message"].as_str().unwrap().contains(field), "the message names {field}: {reply}");
        }
    }
    for (field, value) in [
        ("total_fee", json!("100000000.00")),
        ("total_fee", json!("0.01")),
        ("body", json!("好".repeat(128))),
        ("out_trade_no", json!("x".repeat(64))),
        ("order_type", json!(1)),
    ] {
        let mut content = valid.clone();
        content[field] = value.clone();
        content["out_trade_no"] = json!(format!("OK_{}", field.len() + value.to_string().len()));
        if field == "out_trade_no" {
            content["out_trade_no"] = value.clone();
        }
        assert_eq!(app.call(&client, UNIORDER, content).await["success"], true, "{field} = {value} is accepted");
    }
}

#[tokio::test]
async fn private_notify_urls_are_refused_unless_allowed() {
    let app = spawn_app_with(|settings| settings.gateway.allow_private_notify_urls = false).await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let mut content = order(&sub_merchant_id, "N1", json!("1.00"));
    content["notify_url"] = json!("http://169.254.169.254/latest/meta-data");
    let reply = app.call(&client, UNIORDER, content).await;
    assert_eq!(error_code(&reply), "-101");
    assert!(reply["error_message"].as_str().unwrap().contains("notify_url"));
}

#[tokio::test]
async fn an_isv_acts_for_its_merchants_and_queries_see_the_order_change() {
    let app = spawn_app().await;
    let isv = app.isv_client("Partner").await;
    let (sub_merchant_id, own) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let placed = app.call(&isv, UNIORDER, order(&sub_merchant_id, "Q1", json!("9.99"))).await;
    let trade_no = placed["return_value"]["trade_no"].as_str().unwrap().to_string();
    let waiting = app.call(&isv, QUERY, json!({ "out_trade_no": "Q1" })).await;
    assert_eq!(waiting["return_value"]["status"], 1);
    e2e::record_payment(&mut app.database.connection(), &trade_no).unwrap();
    let paid = app.call(&own, "fshows.liquidation.jdpay.query", json!({ "trade_no": trade_no })).await;
    assert_eq!(
        (paid["return_value"]["status"].as_i64(), paid["return_value"]["total_fee"].as_f64()),
        (Some(2), Some(9.99))
    );
    let stranger = app.isv_client("Stranger").await;
    assert_eq!(error_code(&app.call(&stranger, QUERY, json!({ "trade_no": trade_no })).await), "-207");
    let close = app.call(&isv, "fshows.liquidation.order.close", json!({ "trade_no": trade_no })).await;
    assert_eq!(error_code(&close), "-220", "a paid order cannot be closed");
}

#[tokio::test]
async fn refunds_through_the_gateway_give_back_their_split() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let placed = app.call(&client, UNIORDER, order(&sub_merchant_id, "R1", json!("100.00"))).await;
    let trade_no = placed["return_value"]["trade_no"].as_str().unwrap().to_string();
    let early = app
        .call(
            &client,
            "fshows.liquidation.pay.refund",
            json!({ "trade_no": trade_no, "out_refund_no": "RF1", "refund_fee": "1.00" }),
        )
        .await;
    assert_eq!(error_code(&early), "-220", "unpaid orders cannot be refunded");
    e2e::record_payment(&mut app.database.connection(), &trade_no).unwrap();
    let text = app
        .call_text(
            &client,
            "fshows.liquidation.pay.refund",
            json!({ "out_trade_no": "R1", "out_refund_no": "RF1", "refund_fee": "40.00" }),
        )
        .await;
    assert!(text.contains(r#""refund_fee":40.00,"#), "{text}");
    let refund: Value = serde_json::from_str(&text).unwrap();
    let value = &refund["return_value"];
    let parts: i64 = ["bank_commission_fee", "pay_platform_fee", "liquidator_commission_fee", "net_receipt_amount"]
        .iter()
        .map(|key| (value[key].as_f64().unwrap() * 100.0).round() as i64)
        .sum();
    assert_eq!(parts, 4000, "the four give-backs add up to the refund");
    let replay = app
        .call(
            &client,
            "fshows.liquidation.pay.refund",
            json!({ "out_trade_no": "R1", "out_refund_no": "RF1", "refund_fee": "40.00" }),
        )
        .await;
    assert_eq!(replay["return_value"]["refund_no"], value["refund_no"]);
    assert_eq!(
        error_code(
            &app.call(
                &client,
                "fshows.liquidation.pay.refund",
                json!({ "out_trade_no": "R1", "out_refund_no": "RF2", "refund_fee": "60.01" })
            )
            .await
        ),
        "-302"
    );
    let queried =
        app.call(&client, "fshows.liquidation.pay.refund.query", json!({ "refund_no": value["refund_no"] })).await;
    assert_eq!(queried["return_value"]["out_refund_no"], "RF1");
    let order_now = app.call_text(&client, QUERY, json!({ "out_trade_no": "R1" })).await;
    assert!(
        order_now.contains(r#""refund_fee":40.00,"#) && order_now.contains(r#""state":"partially_refunded""#),
        "{order_now}"
    );
}

#[tokio::test]
async fn two_hundred_concurrent_duplicates_make_one_order() {
    let app = spawn_app_with(|settings| settings.gateway.rate_limit_burst = 1000).await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let body = client.json_envelope(UNIORDER, &order(&sub_merchant_id, "SAME_ORDER", json!("5.00")).to_string());
    let calls = (0..200).map(|_| {
        let (client, url, body) = (app.client.clone(), app.url("/gateway"), body.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    });
    let mut trade_nos = std::collections::HashSet::new();
    for call in calls {
        let reply: Value = serde_json::from_str(&call.await.unwrap()).unwrap();
        assert_eq!(reply["success"], true, "{reply}");
        trade_nos.insert(reply["return_value"]["trade_no"].as_str().unwrap().to_string());
    }
    assert_eq!(trade_nos.len(), 1);
    assert_eq!(storage::orders::list(&mut app.database.connection(), &Default::default(), 10).unwrap().len(), 1);
}

#[tokio::test]
async fn each_app_is_rate_limited() {
    let app = spawn_app_with(|settings| {
        settings.gateway.rate_limit_burst = 3;
        settings.gateway.rate_limit_per_second = 1;
    })
    .await;
    let (_, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let mut codes = Vec::new();
    for n in 0..5 {
        codes.push(
            error_code(&app.call(&client, QUERY, json!({ "out_trade_no": format!("none{n}") })).await).to_string(),
        );
    }
    assert_eq!(codes, ["-207", "-207", "-207", "-221", "-221"]);
}

#[tokio::test]
async fn bodies_that_are_not_envelopes_get_a_4xx_and_change_nothing() {
    let app = spawn_app().await;
    for (body, content_type, status) in [
        ("not json".to_string(), "application/json", 400),
        ("{}".to_string(), "application/json", 400),
        ("app_id=1&app_id=2".to_string(), "application/x-www-form-urlencoded", 400),
        ("{\"app_id\":\"1\"}".to_string(), "text/plain", 415),
        (format!("{{\"app_id\":\"{}\"}}", "x".repeat(70 * 1024)), "application/json", 413),
    ] {
        let (got, text) = app.post_gateway(body, content_type).await;
        assert_eq!(got, status, "{text}");
    }
    assert!(storage::gateway_log::list(&mut app.database.connection(), &Default::default(), 10).unwrap().is_empty());
}

#[tokio::test]
async fn requests_are_logged_with_secrets_masked() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    app.call(&client, UNIORDER, order(&sub_merchant_id, "L1", json!("1.00"))).await;
    let mut content = order(&sub_merchant_id, "L2", json!("1.00"));
    content["account_number"] = json!("6222021234567890128");
    app.call(&client, UNIORDER, content).await;
    // The log is written in batches, off the request path: give it a moment.
    let mut log = Vec::new();
    for _ in 0..50 {
        log = storage::gateway_log::list(&mut app.database.connection(), &Default::default(), 10).unwrap();
        if log.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|entry| entry.success && entry.method.as_deref() == Some(UNIORDER)));
    assert!(
        log.iter().all(|entry| !entry.request.contains("6222021234567890128") && !entry.request.contains("\"sign\""))
    );
    assert!(log[1].trade_no.as_deref().is_some_and(|t| t.len() == 28));
}

/// A client with nothing but the openssl CLI can call the gateway and check the reply.
#[tokio::test]
async fn a_request_signed_with_the_openssl_cli_is_accepted() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let folder = std::env::temp_dir().join(format!("liq-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let key_path = folder.join("key.pem");
    std::fs::write(&key_path, client.private_key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    let content = order(&sub_merchant_id, "OPENSSL_1", json!("0.01")).to_string();
    let to_sign = format!("app_id={}&content={content}&method={UNIORDER}&version=1.0", client.app_id);
    std::fs::write(folder.join("message"), &to_sign).unwrap();
    let signed = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key_path)
        .arg(folder.join("message"))
        .output()
        .expect("openssl is installed");
    assert!(signed.status.success());
    let sign = base64_encode(&signed.stdout);
    let body =
        json!({ "app_id": client.app_id, "method": UNIORDER, "version": "1.0", "content": content, "sign": sign })
            .to_string();
    let (_, reply) = app.post_gateway(body, "application/json").await;
    assert!(reply.contains(r#""success":true"#), "{reply}");

    // And the reply verifies with `openssl dgst -verify` against the published key.
    let (_, platform_pem) = app.get_text("/gateway/platform-key").await;
    std::fs::write(folder.join("platform.pem"), platform_pem).unwrap();
    std::fs::write(folder.join("reply_message"), fshows::reply::reply_string_to_sign(&reply).unwrap()).unwrap();
    let parsed: Value = serde_json::from_str(&reply).unwrap();
    std::fs::write(folder.join("reply.sig"), base64_decode(parsed["sign"].as_str().unwrap())).unwrap();
    let verified = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(folder.join("platform.pem"))
        .arg("-signature")
        .arg(folder.join("reply.sig"))
        .arg(folder.join("reply_message"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&verified.stdout).trim(), "Verified OK");
    std::fs::remove_dir_all(folder).unwrap();
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// SPEC §5: in a JSON body `content` may be an object; its raw bytes, as sent, are what is signed.
#[tokio::test]
async fn content_may_be_a_json_object_signed_over_its_raw_bytes() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let raw_content = format!(
        r#"{{ "out_trade_no" : "OBJ_1", "sub_merchant_id":"{sub_merchant_id}", "body":"对象", "total_fee":0.10, "order_type":0 }}"#
    );
    let sign = client.sign(&[
        ("app_id", client.app_id.as_str()),
        ("content", raw_content.as_str()),
        ("method", UNIORDER),
        ("version", "1.0"),
    ]);
    let body = format!(
        r#"{{"app_id":"{}","method":"{UNIORDER}","version":"1.0","content":{raw_content},"sign":"{sign}"}}"#,
        client.app_id
    );
    let (_, text) = app.post_gateway(body.clone(), "application/json").await;
    assert!(text.contains(r#""success":true"#) && text.contains(r#""total_fee":0.10,"#), "{text}");
    // One space less inside the object is a different message: the signature no longer matches.
    let (_, tampered) =
        app.post_gateway(body.replacen(r#""out_trade_no" : "#, r#""out_trade_no": "#, 1), "application/json").await;
    assert!(tampered.contains(r#""error_code":"-100""#), "{tampered}");
}

#[tokio::test]
async fn without_redis_the_gateway_still_takes_orders() {
    let app = spawn_app_with(|settings| settings.redis.url = secrecy::SecretString::from("redis://127.0.0.1:1")).await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let placed = app.call(&client, UNIORDER, order(&sub_merchant_id, "NOREDIS", json!("1.00"))).await;
    assert_eq!(placed["success"], true, "rate limiting degrades open; the database still guards idempotency");
    let again = app.call(&client, UNIORDER, order(&sub_merchant_id, "NOREDIS", json!("2.00"))).await;
    assert_eq!(error_code(&again), "-206");
}

fn orders_numbered(app: &e2e::TestApp, prefix: &str) -> i64 {
    use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    sql_query(format!("SELECT count(*) AS count FROM orders WHERE out_trade_no LIKE '{prefix}%'"))
        .get_result::<Count>(&mut app.database.connection())
        .expect("counted")
        .count
}

/// The outer JSON spelled another way: every non-ASCII character as `\uXXXX` and `/` as `\/`.
fn json_re_escaped(body: &str) -> String {
    body.chars()
        .map(|c| match c {
            '/' => "\\/".to_string(),
            c if !c.is_ascii() => {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units).iter().map(|unit| format!("\\u{unit:04x}")).collect()
            }
            c => c.to_string(),
        })
        .collect()
}

/// A signed body sent again as it was answers as the first time; spelled another way that means
/// the same (JSON escapes) it is the same request; re-encoded so that it means something else
/// (`%2B` sent as `+`, a space in a form) or cut short, it is refused and places nothing.
#[tokio::test]
async fn signed_bodies_replayed_re_encoded_or_cut_short_place_at_most_the_signed_order() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let mut content = order(&sub_merchant_id, "ENC_1", json!("1.00"));
    content["body"] = json!("A+B/京东 1");
    let content = content.to_string();

    // Replayed byte for byte, and with the outer JSON escaped otherwise: the one order, its reply.
    let body = client.json_envelope(UNIORDER, &content);
    let (_, first) = app.post_gateway(body.clone(), "application/json").await;
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["success"], true, "{first}");
    for again in [body.clone(), json_re_escaped(&body)] {
        let (status, text) = app.post_gateway(again, "application/json").await;
        let reply: Value = serde_json::from_str(&text).unwrap();
        assert_eq!((status, &reply["return_value"]), (200, &first["return_value"]), "{text}");
    }
    assert_eq!(orders_numbered(&app, "ENC_"), 1);
    let placed = storage::orders::find_by_trade_no(
        &mut app.database.connection(),
        first["return_value"]["trade_no"].as_str().unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(placed.body, "A+B/京东 1", "kept as signed");

    // A form body whose `%2B` is sent as `+` reads as a space: not what was signed.
    let content_2 = content.replace("ENC_1", "ENC_2");
    let form = client.form_envelope(UNIORDER, &content_2);
    assert!(form.contains("%2B"), "{form}");
    let (status, text) = app.post_gateway(form.replace("%2B", "+"), "application/x-www-form-urlencoded").await;
    assert_eq!((status, error_code(&serde_json::from_str(&text).unwrap())), (200, "-100"), "{text}");
    // Sent as encoded, it is placed.
    let (_, text) = app.post_gateway(form.clone(), "application/x-www-form-urlencoded").await;
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["success"], true, "{text}");

    // Cut short anywhere: refused (not an envelope, or not what was signed), nothing placed.
    for (whole, content_type) in [
        (client.json_envelope(UNIORDER, &content.replace("ENC_1", "ENC_3")), "application/json"),
        (client.form_envelope(UNIORDER, &content.replace("ENC_1", "ENC_4")), "application/x-www-form-urlencoded"),
    ] {
        let cuts = [1, 2, whole.len() / 3, whole.len() / 2, whole.len() - 40, whole.len() - 2, whole.len() - 1];
        for cut in cuts {
            let cut = (0..=cut).rev().find(|at| whole.is_char_boundary(*at)).unwrap_or(0);
            let (status, text) = app.post_gateway(whole[..cut].to_string(), content_type).await;
            let refused =
                status == 400 || serde_json::from_str::<Value>(&text).is_ok_and(|reply| reply["success"] == false);
            assert!(refused, "cut at {cut}: {status} {text}");
        }
    }
    assert_eq!(orders_numbered(&app, "ENC_"), 2, "ENC_1 and ENC_2 only");
}
