//! The onboarding methods of the gateway (SPEC §4, §5) through the real server: an ISV app
//! creates, queries and changes only its own sub-merchants, with signed envelopes and replies.
use chrono::{DateTime, Duration, FixedOffset, Utc};
use domain::{MerchantId, onboarding::SignType};
use e2e::{
    TestApp,
    gateway_client::{Client, application},
    spawn_app,
};
use serde_json::{Value, json};

const CREATE: &str = "fshows.liquidation.submerchant.create";
const QUERY: &str = "fshows.liquidation.submerchant.query";
const BANK_BIND: &str = "fshows.liquidation.submerchant.bank.bind";
const RATE_SET: &str = "fshows.liquidation.submerchant.rate.set";
const RATE_QUERY: &str = "fshows.liquidation.submerchant.rate.query";

fn error_code(reply: &Value) -> &str {
    reply["error_code"].as_str().unwrap_or("")
}

fn error_message(reply: &Value) -> &str {
    reply["error_message"].as_str().unwrap_or("")
}

/// The fixture application as `content`.
fn create_content(external_id: &str) -> Value {
    serde_json::to_value(application(external_id)).expect("the fixture serializes")
}

fn with(mut content: Value, field: &str, value: Value) -> Value {
    content[field] = value;
    content
}

fn corporate_account(key: (&str, &str)) -> Value {
    json!({
        key.0: key.1,
        "account_type": "corporate",
        "account_holder": "厦门示例科技有限公司",
        "account_number": "3500 1234 5678 9012",
        "bank_code": "CCB",
        "branch_name": "中国建设银行厦门分行营业部",
        "cnaps_code": "105393000011"
    })
}

fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Calls and insists on success; returns `return_value`.
async fn ok(app: &TestApp, client: &Client, method: &str, content: Value) -> Value {
    let reply = app.call(client, method, content).await;
    assert_eq!(reply["success"], true, "{method}: {reply}");
    reply["return_value"].clone()
}

#[tokio::test]
async fn create_submits_the_application_and_a_retry_answers_with_the_same_merchant() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;

    let text = app.call_text(&isv, CREATE, create_content("shop-1")).await;
    assert!(
        text.contains(
            r#""return_value":{"external_id":"shop-1","state":"submitted","sub_merchant_id":"","app_id":""}"#
        ),
        "{text}"
    );
    let first: Value = serde_json::from_str(&text).unwrap();

    // A retry, even spelt differently (rates as JSON numbers, the card number grouped), is the same call.
    let respelt = with(create_content("shop-1"), "bank_commission_rate", json!(0.0003));
    let respelt = with(respelt, "account_number", json!("6222 0212 3456 7890 128"));
    assert_eq!(ok(&app, &isv, CREATE, respelt).await, first["return_value"]);
    assert_eq!(ok(&app, &isv, CREATE, create_content("shop-1")).await, first["return_value"]);

    let conflict = app.call(&isv, CREATE, with(create_content("shop-1"), "contact_mobile", json!("13900139000"))).await;
    assert_eq!(error_code(&conflict), "-206", "{conflict}");
    assert!(error_message(&conflict).contains("external_id"), "{conflict}");

    let merchants = storage::merchants::list(&mut app.database.connection(), &Default::default(), 10).unwrap();
    assert_eq!(merchants.len(), 1, "one merchant however often it is asked for");
    assert_eq!(merchants[0].state.as_str(), "submitted");

    // Once approved, a retry answers with the merchant as it is now.
    let id = merchants[0].id;
    approve(&app, id).await;
    let now_approved = ok(&app, &isv, CREATE, create_content("shop-1")).await;
    assert_eq!(now_approved["state"], "approved");
    assert_eq!(now_approved["sub_merchant_id"].as_str().map(str::len), Some(20));
    assert_eq!(now_approved["app_id"].as_str().map(str::len), Some(16));
}

/// Walks a submitted application through verification to approval, as the provider would.
async fn approve(app: &TestApp, id: MerchantId) {
    let pool = app.pool.clone();
    let actor = storage::audit::Actor::cli();
    let started = actor.clone();
    storage::database::run_blocking(&pool, move |conn| {
        onboarding::verification::start(conn, &started, id, e2e::sandbox_route())
    })
    .await
    .expect("verification started");
    let amount = app.wait_for_micro_deposit(id).await.amount_fen;
    storage::database::run_blocking(&pool, move |conn| {
        onboarding::verification::answer(conn, &actor, id, amount)?;
        onboarding::applications::approve(conn, &actor, id)
    })
    .await
    .expect("approved");
}

#[tokio::test]
async fn an_invalid_application_names_its_first_invalid_field() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(create_content("a1"), "contact_mobile", json!("1380013800")), "contact_mobile", "11 digits"),
        (with(create_content("a2"), "business_category", json!("gambling")), "business_category", "prohibited"),
        (
            with(create_content("a3"), "unified_social_credit_code", json!("91350100M000100Y44")),
            "unified_social_credit_code",
            "",
        ),
        (with(create_content("a4"), "account_number", json!("6222021234567890127")), "account_number", "check digit"),
        (with(create_content("a5"), "bank_commission_rate", json!("0.000301")), "bank_commission_rate", "five"),
        (with(create_content("a6"), "account_type", json!("corporate")), "branch_name", "branch"),
        (with(create_content("a7"), "external_id", json!(null)), "external_id", "required"),
        (with(create_content("a8"), "external_id", json!("has space")), "external_id", ""),
        (with(create_content("a9"), "legal_name", json!(true)), "legal_name", ""),
    ];
    for (content, field, detail) in cases {
        let reply = app.call(&isv, CREATE, content).await;
        assert_eq!(error_code(&reply), "-101", "{field}: {reply}");
        let message = error_message(&reply);
        assert!(message.starts_with(&format!("无效参数 >> {field}")), "{field}: {message}");
        assert!(message.contains(detail), "{field}: {message}");
    }
    // Two invalid fields: the first in the application's order is named.
    let two = with(with(create_content("b1"), "contact_mobile", json!("123")), "legal_name", json!(""));
    assert!(error_message(&app.call(&isv, CREATE, two).await).starts_with("无效参数 >> legal_name"));
    let merchants = storage::merchants::list(&mut app.database.connection(), &Default::default(), 10).unwrap();
    assert!(merchants.is_empty(), "nothing was created");
}

#[tokio::test]
async fn only_isv_apps_call_these_and_only_for_their_own_merchants() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;
    let rival = app.isv_client("Rival").await;
    let (sub_merchant_id, merchant) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let (operators_sub_merchant_id, _) = app.merchant_client("m2", SignType::Rsa2, None).await;

    // The merchant's own app is not an ISV's.
    for (method, content) in [
        (CREATE, create_content("mine")),
        (QUERY, json!({ "sub_merchant_id": sub_merchant_id })),
        (RATE_QUERY, json!({ "sub_merchant_id": sub_merchant_id })),
    ] {
        assert_eq!(error_code(&app.call(&merchant, method, content).await), "-102", "{method}");
    }

    // Another ISV: the merchant does not exist for it, by either key, for every method.
    let rates = json!({ "sub_merchant_id": sub_merchant_id, "bank_commission_rate": "0.00030", "pay_platform_rate": "0.00200", "liquidator_commission_rate": "0" });
    for (method, content) in [
        (QUERY, json!({ "sub_merchant_id": sub_merchant_id })),
        (QUERY, json!({ "external_id": "m1" })),
        (BANK_BIND, corporate_account(("sub_merchant_id", &sub_merchant_id))),
        (BANK_BIND, corporate_account(("external_id", "m1"))),
        (RATE_SET, rates.clone()),
        (RATE_QUERY, json!({ "sub_merchant_id": sub_merchant_id })),
    ] {
        let reply = app.call(&rival, method, content).await;
        assert_eq!(error_code(&reply), "-203", "{method}: {reply}");
    }
    // Nor does a merchant the provider's operators onboarded.
    let reply = app.call(&isv, QUERY, json!({ "sub_merchant_id": operators_sub_merchant_id })).await;
    assert_eq!(error_code(&reply), "-203");

    // The rival's attempts changed nothing; the owner still sees its merchant as it was.
    let owned = ok(&app, &isv, QUERY, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert_eq!(
        (owned["account_type"].as_str(), owned["liquidator_commission_rate"].as_f64()),
        (Some("personal"), Some(0.001))
    );
}

#[tokio::test]
async fn query_finds_a_merchant_by_either_key() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;
    ok(&app, &isv, CREATE, create_content("shop-1")).await;
    let text = app.call_text(&isv, QUERY, json!({ "external_id": "shop-1" })).await;
    assert!(
        text.contains(r#""account_number":"6222***********0128""#)
            && text.contains(
                r#""bank_commission_rate":0.00030,"pay_platform_rate":0.00200,"liquidator_commission_rate":0.00100"#
            ),
        "masked account, rates with five decimals: {text}"
    );
    let submitted = &serde_json::from_str::<Value>(&text).unwrap()["return_value"];
    assert_eq!(
        (submitted["state"].as_str(), submitted["sub_merchant_id"].as_str(), submitted["app_id"].as_str()),
        (Some("submitted"), Some(""), Some(""))
    );
    assert_eq!(submitted["legal_name"], "厦门示例科技有限公司");
    assert_eq!(submitted["created_at"].as_str().unwrap().len(), "2026-01-01 00:00:00".len());
    assert!(!text.contains("6222021234567890128"), "the full number is never shown");

    let (sub_merchant_id, merchant) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let by_id = ok(&app, &isv, QUERY, json!({ "sub_merchant_id": sub_merchant_id })).await;
    let by_external_id = ok(&app, &isv, QUERY, json!({ "external_id": "m1" })).await;
    assert_eq!(by_id, by_external_id);
    assert_eq!(
        (by_id["state"].as_str(), by_id["external_id"].as_str(), by_id["app_id"].as_str()),
        (Some("approved"), Some("m1"), Some(merchant.app_id.as_str()))
    );
    assert_eq!(by_id, ok(&app, &isv, QUERY, json!({ "sub_merchant_id": sub_merchant_id, "external_id": "m1" })).await);

    let mismatch = app.call(&isv, QUERY, json!({ "sub_merchant_id": sub_merchant_id, "external_id": "shop-1" })).await;
    assert_eq!(error_code(&mismatch), "-203", "both keys must name the same merchant");
    assert_eq!(error_code(&app.call(&isv, QUERY, json!({ "external_id": "nobody" })).await), "-203");
    assert_eq!(error_code(&app.call(&isv, QUERY, json!({})).await), "-101");
    assert_eq!(error_code(&app.call(&isv, QUERY, json!({ "sub_merchant_id": "123" })).await), "-101");
}

#[tokio::test]
async fn bank_bind_replaces_the_account_before_verification_only() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;
    ok(&app, &isv, CREATE, create_content("shop-1")).await;

    let bound = ok(&app, &isv, BANK_BIND, corporate_account(("external_id", "shop-1"))).await;
    assert_eq!(
        bound,
        json!({ "external_id": "shop-1", "sub_merchant_id": "", "state": "submitted", "account_type": "corporate",
                "account_number": "3500********9012", "bank_code": "CCB", "payout_notify_url": "" })
    );
    assert_eq!(ok(&app, &isv, BANK_BIND, corporate_account(("external_id", "shop-1"))).await, bound, "a retry");
    let queried = ok(&app, &isv, QUERY, json!({ "external_id": "shop-1" })).await;
    assert_eq!((queried["account_type"].as_str(), queried["bank_code"].as_str()), (Some("corporate"), Some("CCB")));

    let cases: Vec<(&str, Value, &str)> = vec![
        ("cnaps_code", json!(null), "CNAPS"),
        ("cnaps_code", json!("10539300001"), "12 digits"),
        ("branch_name", json!(""), "branch"),
        ("account_number", json!("12"), "digits"),
        ("account_type", json!("savings"), "corporate or personal"),
        ("account_holder", json!(null), "required"),
    ];
    for (field, value, detail) in cases {
        let reply = app.call(&isv, BANK_BIND, with(corporate_account(("external_id", "shop-1")), field, value)).await;
        assert_eq!(error_code(&reply), "-101", "{field}: {reply}");
        assert!(error_message(&reply).starts_with(&format!("无效参数 >> {field}")), "{reply}");
        assert!(error_message(&reply).contains(detail), "{reply}");
    }
    let bad_card = json!({ "external_id": "shop-1", "account_type": "personal", "account_holder": "张三",
                           "account_number": "6222021234567890127", "bank_code": "ICBC" });
    let reply = app.call(&isv, BANK_BIND, bad_card).await;
    assert!(error_message(&reply).starts_with("无效参数 >> account_number"), "{reply}");
    // A personal card needs no branch details.
    let card = json!({ "external_id": "shop-1", "account_type": "personal", "account_holder": "张三",
                       "account_number": "6222021234567890128", "bank_code": "ICBC" });
    assert_eq!(ok(&app, &isv, BANK_BIND, card).await["account_number"], "6222***********0128");

    // An approved merchant keeps its verified account; binding that same account succeeds.
    let (sub_merchant_id, _) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let refused = app.call(&isv, BANK_BIND, corporate_account(("sub_merchant_id", &sub_merchant_id))).await;
    assert_eq!(error_code(&refused), "-220", "{refused}");
    assert!(error_message(&refused).contains("approved"), "{refused}");
    let same = json!({ "sub_merchant_id": sub_merchant_id, "account_type": "personal", "account_holder": "张三",
                       "account_number": "6222021234567890128", "bank_code": "ICBC" });
    assert_eq!(ok(&app, &isv, BANK_BIND, same.clone()).await["state"], "approved");
    // Where its payouts' results go can be set with it, in any state.
    let told = with(same.clone(), "payout_notify_url", json!("https://isv.example.com/payouts"));
    let bound = ok(&app, &isv, BANK_BIND, told).await;
    assert_eq!(bound["payout_notify_url"], "https://isv.example.com/payouts", "{bound}");
    let reply =
        app.call(&isv, BANK_BIND, with(same.clone(), "payout_notify_url", json!("ftp://isv.example.com"))).await;
    assert!(error_message(&reply).starts_with("无效参数 >> payout_notify_url"), "{reply}");
    assert_eq!(ok(&app, &isv, BANK_BIND, same).await["payout_notify_url"], "https://isv.example.com/payouts", "kept");
}

#[tokio::test]
async fn rate_set_versions_rates_and_rate_query_sees_them_at_their_time() {
    let app = spawn_app().await;
    let isv = app.isv_client("ISV").await;
    let (sub_merchant_id, _) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let rates = |bank: Value, platform: Value, liquidator: Value| {
        json!({ "sub_merchant_id": sub_merchant_id, "bank_commission_rate": bank, "pay_platform_rate": platform,
                "liquidator_commission_rate": liquidator })
    };

    let text = app.call_text(&isv, RATE_SET, rates(json!("0.0003"), json!(0.002), json!("0.0005"))).await;
    assert!(
        text.contains(
            r#""bank_commission_rate":0.00030,"pay_platform_rate":0.00200,"liquidator_commission_rate":0.00050"#
        ),
        "{text}"
    );
    let now = ok(&app, &isv, RATE_QUERY, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert_eq!((now["liquidator_commission_rate"].as_f64(), now["rate_source"].as_str()), (Some(0.0005), Some("own")));
    assert_eq!(now["rate_plan"], "");

    for (content, detail) in [
        (rates(json!("0.5"), json!("0.3"), json!("0.2")), "not below one"),
        (
            rates(json!("0.000301"), json!("0.002"), json!("0")),
            "bank_commission_rate: rate has more than five decimal places",
        ),
        (rates(json!("0.0003"), json!(0.000301), json!("0")), "pay_platform_rate"),
        (rates(json!("0.0003"), json!("0.002"), json!("-0.001")), "liquidator_commission_rate"),
        (rates(json!("0.0003"), json!("0.002"), json!("1")), "not below one"),
    ] {
        let reply = app.call(&isv, RATE_SET, content).await;
        assert_eq!(error_code(&reply), "-211", "{reply}");
        assert!(error_message(&reply).contains(detail), "{reply}");
    }
    let missing =
        app.call(&isv, RATE_SET, json!({ "sub_merchant_id": sub_merchant_id, "bank_commission_rate": "0" })).await;
    assert_eq!(error_code(&missing), "-101");

    // A change an hour from now: in force then, not before.
    let in_an_hour = china_time(Utc::now() + Duration::hours(1));
    let scheduled = with(rates(json!("0.0006"), json!("0.003"), json!("0.001")), "effective_time", json!(in_an_hour));
    let set = ok(&app, &isv, RATE_SET, scheduled.clone()).await;
    assert_eq!(set["effective_time"].as_str(), Some(in_an_hour.as_str()));
    assert_eq!(ok(&app, &isv, RATE_SET, scheduled).await, set, "a retry adds no version");
    let versions = {
        let mut conn = app.database.connection();
        let merchant = storage::merchants::find_by_sub_merchant_id(&mut conn, &sub_merchant_id).unwrap().unwrap();
        storage::rates::merchant_rate_history(&mut conn, merchant.id).unwrap().len()
    };
    assert_eq!(versions, 3, "created, set now, set for later");

    let before = ok(&app, &isv, RATE_QUERY, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert_eq!(before["bank_commission_rate"].as_f64(), Some(0.0003));
    let just_before = china_time(Utc::now() + Duration::minutes(59));
    let still = ok(&app, &isv, RATE_QUERY, json!({ "external_id": "m1", "query_time": just_before })).await;
    assert_eq!(still["bank_commission_rate"].as_f64(), Some(0.0003));
    let later = china_time(Utc::now() + Duration::hours(2));
    let after = app.call_text(&isv, RATE_QUERY, json!({ "external_id": "m1", "query_time": later })).await;
    assert!(
        after.contains(
            r#""bank_commission_rate":0.00060,"pay_platform_rate":0.00300,"liquidator_commission_rate":0.00100"#
        ),
        "{after}"
    );
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["return_value"]["effective_time"].as_str(), Some(in_an_hour.as_str()));
    assert_eq!(after["return_value"]["query_time"].as_str(), Some(later.as_str()));

    let yesterday = china_time(Utc::now() - Duration::days(1));
    let past = app
        .call(&isv, RATE_SET, with(rates(json!("0"), json!("0"), json!("0")), "effective_time", json!(yesterday)))
        .await;
    assert!(error_message(&past).starts_with("无效参数 >> effective_time"), "{past}");
    let malformed = app
        .call(
            &isv,
            RATE_SET,
            with(rates(json!("0"), json!("0"), json!("0")), "effective_time", json!("2030-01-01T00:00:00")),
        )
        .await;
    assert!(error_message(&malformed).starts_with("无效参数 >> effective_time"), "{malformed}");
    let ancient = app.call(&isv, RATE_QUERY, json!({ "external_id": "m1", "query_time": "2000-01-01 00:00:00" })).await;
    assert_eq!(error_code(&ancient), "-211", "no rates before the merchant existed");
}
