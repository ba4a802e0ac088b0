//! The `fshows` channel end to end against a second instance of this platform (SPEC §6): a
//! merchant of the platform is registered on the upstream, its orders are placed there, paid on
//! the upstream's cashier, notified back, confirmed by query and booked on both sides.
use std::time::{Duration, Instant};

use domain::{MerchantId, onboarding::SignType, orders::OrderState, payouts::PayoutState, upstream::RegistrationState};
use e2e::{TestApp, gateway_client::Client, upstream::TwoInstances};
use serde_json::{Value, json};
use storage::database::run_blocking;

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const QUERY: &str = "fshows.liquidation.alipay.trade.query";
const REFUND: &str = "fshows.liquidation.pay.refund";
const CLOSE: &str = "fshows.liquidation.order.close";
const WITHDRAW: &str = "fshows.liquidation.witness.withdraw";

/// A merchant of the platform, registered and ready on the upstream: its id here, its id there,
/// and a client for its own app here.
async fn ready_merchant(two: &TwoInstances, external_id: &str) -> (MerchantId, MerchantId, Client) {
    let (sub_merchant_id, client) = two.platform.merchant_client(external_id, SignType::Rsa2, None).await;
    let merchant_id = merchant_id_of(&two.platform, &sub_merchant_id).await;
    two.sync_until(merchant_id, RegistrationState::AwaitingApproval).await;
    let there = two.approve_upstream(&sub_merchant_id).await;
    two.sync_until(merchant_id, RegistrationState::Ready).await;
    (merchant_id, there, client)
}

async fn merchant_id_of(app: &TestApp, sub_merchant_id: &str) -> MerchantId {
    let sub_merchant_id = sub_merchant_id.to_string();
    run_blocking(&app.pool, move |conn| storage::merchants::find_by_sub_merchant_id(conn, &sub_merchant_id))
        .await
        .expect("read")
        .expect("the merchant")
        .id
}

async fn order(app: &TestApp, trade_no: &str) -> Option<orders::Order> {
    let trade_no = trade_no.to_string();
    run_blocking(&app.pool, move |conn| orders::order::find_by_trade_no(conn, &trade_no)).await.expect("read")
}

/// Waits (up to 10 s) until the order is paid on `app`.
async fn paid(app: &TestApp, trade_no: &str) -> orders::Order {
    let started = Instant::now();
    loop {
        if let Some(order) = order(app, trade_no).await.filter(|order| order.state == OrderState::Paid) {
            return order;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{trade_no} was not paid on {}", app.address);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Pays the order behind an upstream cashier URL, as a payer would on its page.
async fn pay_on_cashier(qr_code: &str) {
    let url = reqwest::Url::parse(qr_code).expect("a URL");
    let code = url.query_pairs().find(|(key, _)| key == "c").map(|(_, value)| value.to_string()).expect("a code");
    let pay = url.join("/cashier/pay").expect("the pay URL");
    let response =
        e2e::new_client().post(pay).form(&[("c", code.as_str()), ("outcome", "pay")]).send().await.expect("paid");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
}

#[tokio::test]
async fn a_merchant_is_registered_upstream_and_its_order_is_paid_there_and_booked_on_both_sides() {
    let two = TwoInstances::start(|_, _| {}).await;
    let (merchant_id, merchant_there, client) = ready_merchant(&two, "shop-up-1").await;
    let registration =
        run_blocking(&two.platform.pool, move |conn| storage::upstream::find_registration(conn, merchant_id))
            .await
            .expect("read")
            .expect("registered");
    let there = two.upstream.merchant(merchant_there).await;
    assert_eq!(
        registration.upstream_sub_merchant_id, there.row.sub_merchant_id,
        "the upstream's id is kept beside ours"
    );
    assert_eq!(there.row.payout_schedule, "manual", "the upstream never pays the merchant out on its own schedule");

    // The order: placed here, then there under our trade_no; the caller gets the upstream's cashier.
    let sub_merchant_id = client_merchant(&two.platform, merchant_id).await;
    let content = json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": "UP1", "body": "咖啡", "total_fee": "100.00", "order_type": "0" });
    let reply = two.platform.call(&client, UNIORDER, content.clone()).await;
    assert_eq!(reply["success"], json!(true), "{reply}");
    let value = &reply["return_value"];
    let trade_no = value["trade_no"].as_str().expect("trade_no").to_string();
    let qr_code = value["qr_code"].as_str().expect("qr_code").to_string();
    assert!(qr_code.starts_with(&two.upstream.url("/cashier/code")), "the upstream's cashier: {qr_code}");
    let there = order(&two.upstream, &upstream_trade_no(&two.platform, &trade_no).await).await.expect("placed there");
    assert_eq!((there.out_trade_no(), there.total()), (trade_no.as_str(), domain::Amount::from_fen(10_000)));

    // The same request again is the same order, here and there.
    let again = two.platform.call(&client, UNIORDER, content).await;
    assert_eq!(again["return_value"]["qr_code"], json!(qr_code), "{again}");

    // Paid on the upstream's cashier: booked there, notified here, confirmed by query, booked here.
    pay_on_cashier(&qr_code).await;
    let paid_there = paid(&two.upstream, there.trade_no()).await;
    let paid_here = paid(&two.platform, &trade_no).await;
    assert_eq!(paid_here.split(), paid_there.split(), "the same split on both sides");
    let queried = two.platform.call(&client, QUERY, json!({ "out_trade_no": "UP1" })).await;
    assert_eq!(queried["return_value"]["status"], json!(2), "{queried}");

    // A partial refund: booked here, made there under our refund_no, then done here.
    let refund = json!({ "out_trade_no": "UP1", "out_refund_no": "R1", "refund_fee": "30.00" });
    let refunded = two.platform.call(&client, REFUND, refund.clone()).await;
    assert_eq!(refunded["return_value"]["status"], json!("succeeded"), "{refunded}");
    let refund_no = refunded["return_value"]["refund_no"].as_str().expect("refund_no").to_string();
    let here = order(&two.platform, &trade_no).await.expect("the order");
    let there = order(&two.upstream, there.trade_no()).await.expect("the order there");
    assert_eq!((here.state, here.refunded()), (OrderState::PartiallyRefunded, domain::Amount::from_fen(3_000)));
    assert_eq!((there.state, there.refunded()), (OrderState::PartiallyRefunded, domain::Amount::from_fen(3_000)));
    let refund_there = run_blocking(&two.upstream.pool, move |conn| storage::orders::refunds_of(conn, there.id()))
        .await
        .expect("read");
    assert_eq!(refund_there.len(), 1);
    assert_eq!(refund_there[0].out_refund_no, refund_no, "our refund_no is its out_refund_no there");
    let again = two.platform.call(&client, REFUND, refund).await;
    assert_eq!(again["return_value"]["refund_no"], json!(refund_no), "the same refund: {again}");

    // A paid order cannot be closed; an unpaid one is closed there first, then here.
    let refused = two.platform.call(&client, CLOSE, json!({ "out_trade_no": "UP1" })).await;
    assert_eq!(refused["error_code"], json!("-220"), "{refused}");
    let content = json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": "UP2", "body": "茶", "total_fee": "8.00", "order_type": "0" });
    let second = two.platform.call(&client, UNIORDER, content).await;
    let second_trade_no = second["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
    let closed = two.platform.call(&client, CLOSE, json!({ "out_trade_no": "UP2" })).await;
    assert_eq!(closed["return_value"]["status"], json!(9), "{closed}");
    let closed_there = order(&two.upstream, &upstream_trade_no(&two.platform, &second_trade_no).await).await;
    assert_eq!(closed_there.map(|order| order.state), Some(OrderState::Closed), "closed at the upstream too");

    // More than is left is refused here; nothing reaches the upstream.
    let too_much = json!({ "out_trade_no": "UP1", "out_refund_no": "R2", "refund_fee": "80.00" });
    let refused = two.platform.call(&client, REFUND, too_much).await;
    assert_eq!(refused["error_code"], json!("-302"), "{refused}");
    for app in [&two.platform, &two.upstream] {
        let trial = run_blocking(&app.pool, ledger::reports::trial_balance).await.expect("trial balance");
        assert!(trial.is_balanced(), "{trial:?}");
    }
}

#[tokio::test]
async fn a_withdrawal_is_paid_out_of_the_merchants_balance_at_the_upstream() {
    let two = TwoInstances::start(|settings, _| {
        settings.channel.payouts = "fshows".into();
        settings.payouts.query_intervals_seconds = vec![0];
    })
    .await;
    let (merchant_id, merchant_there, client) = ready_merchant(&two, "shop-up-2").await;
    // The merchant's money, here and at the upstream that holds it.
    e2e::upstream::available_money(&two.platform, merchant_id, &client.app_id, ("OLD1", 1_000, 5)).await;
    e2e::upstream::available_money(&two.upstream, merchant_there, &two.provider.app_id, ("OLD1", 1_000, 5)).await;

    let sub_merchant_id = client_merchant(&two.platform, merchant_id).await;
    let withdraw = json!({ "sub_merchant_id": sub_merchant_id, "out_withdraw_no": "W1", "amount": "5.00" });
    let reply = two.platform.call(&client, WITHDRAW, withdraw).await;
    assert_eq!(reply["success"], json!(true), "{reply}");
    let out_trade_no = reply["return_value"]["withdraw_no"].as_str().expect("withdraw_no").to_string();

    // Handed to the upstream as a withdrawal of the merchant's balance there, under our number.
    let paid_here = payout_reaching(&two.platform, merchant_id, PayoutState::Succeeded).await;
    let there = payout_of(&two.upstream, merchant_there).await.expect("a withdrawal there");
    assert_eq!(there.out_withdraw_no.as_deref(), Some(out_trade_no.as_str()), "our number is its out_withdraw_no");
    assert_eq!((there.state, there.amount_fen), (PayoutState::Succeeded, domain::Amount::from_fen(500)));
    assert_eq!(paid_here.amount_fen, domain::Amount::from_fen(500));
    for app in [&two.platform, &two.upstream] {
        let trial = run_blocking(&app.pool, ledger::reports::trial_balance).await.expect("trial balance");
        assert!(trial.is_balanced(), "{trial:?}");
    }

    // More than the upstream holds for the merchant: refused there, so the payout fails here and
    // the money is the merchant's again.
    e2e::upstream::available_money(&two.platform, merchant_id, &client.app_id, ("OLD2", 100_000, 2)).await;
    let withdraw = json!({ "sub_merchant_id": sub_merchant_id, "out_withdraw_no": "W2", "amount": "900.00" });
    let reply = two.platform.call(&client, WITHDRAW, withdraw).await;
    assert_eq!(reply["success"], json!(true), "{reply}");
    let failed = payout_reaching(&two.platform, merchant_id, PayoutState::Failed).await;
    assert!(failed.failure_reason.as_deref().is_some_and(|why| why.contains("-216")), "{failed:?}");
}

#[tokio::test]
async fn the_days_bills_of_both_instances_reconcile_with_no_difference() {
    // A business day that ends 40 s from now on both instances (the registration, orders and refund
    // below take a few), so the test can see it closed.
    let cutoff = (chrono::Utc::now() + chrono::Duration::seconds(40))
        .with_timezone(&domain::calendar::china())
        .format("%H:%M:%S")
        .to_string();
    let calendar: domain::calendar::BusinessCalendar = cutoff.parse().expect("a cut-off");
    let upstream_cutoff = cutoff.clone();
    let two = TwoInstances::start_with(
        move |settings| settings.ledger.day_cutoff = upstream_cutoff,
        move |settings, _| settings.ledger.day_cutoff = cutoff,
    )
    .await;
    let (merchant_id, _, client) = ready_merchant(&two, "shop-up-3").await;
    let sub_merchant_id = client_merchant(&two.platform, merchant_id).await;
    let mut trade_nos = Vec::new();
    for (out_trade_no, total) in [("B1", "12.34"), ("B2", "100.00")] {
        let content = json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": out_trade_no, "body": "茶", "total_fee": total, "order_type": "0" });
        let reply = two.platform.call(&client, UNIORDER, content).await;
        pay_on_cashier(reply["return_value"]["qr_code"].as_str().expect("qr_code")).await;
        let trade_no = reply["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
        paid(&two.platform, &trade_no).await;
        trade_nos.push(trade_no);
    }
    let refund = json!({ "out_trade_no": "B2", "out_refund_no": "RB2", "refund_fee": "33.33" });
    let refunded = two.platform.call(&client, REFUND, refund).await;
    assert_eq!(refunded["return_value"]["status"], json!("succeeded"), "{refunded}");

    let here = order(&two.platform, &trade_nos[0]).await.expect("the order");
    let date = here.paid_business_date().expect("a business day");
    let there = order(&two.upstream, &upstream_trade_no(&two.platform, &trade_nos[0]).await).await.expect("there");
    assert_eq!(there.paid_business_date(), Some(date), "booked on the same business day on both sides");

    // Once the day has closed, each instance reconciles its channels' bills of it.
    let closes_at = calendar.closes_at(date);
    while chrono::Utc::now() < closes_at + chrono::Duration::seconds(1) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    e2e::upstream::run_job(&two.upstream, ledger::jobs::ImportBills).await;
    e2e::upstream::run_job(&two.platform, ledger::jobs::ImportBills).await;
    for (app, channel) in [(&two.upstream, "sandbox"), (&two.platform, "fshows")] {
        let run = run_blocking(&app.pool, move |conn| storage::reconciliation::latest_run(conn, channel, date))
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("{channel}'s bill of {date} imported"));
        assert_eq!((run.bill_line_count, run.our_line_count, run.difference_count), (3, 3, 0), "{run:?}");
        let days = run_blocking(&app.pool, |conn| storage::ledger::recent_business_days(conn, 10)).await.expect("read");
        let day = days.iter().find(|day| day.business_date == date).expect("the day");
        assert!(day.reconciled_at.is_some(), "{channel}: {date} reconciled");
    }
}

/// Where nothing listens: the upstream's notifies are lost, and payments are learned by asking.
const NOWHERE: &str = "http://127.0.0.1:9/channel/fshows/notify";

#[tokio::test]
async fn a_timeout_placing_an_order_upstream_leaves_an_order_that_a_query_resolves() {
    let proxy = e2e::upstream::Proxy::start().await;
    let proxy_url = proxy.url.clone();
    let two = TwoInstances::start(move |_, config| {
        config.url = proxy_url;
        config.timeout_seconds = 1;
        config.notify_url = Some(NOWHERE.into());
    })
    .await;
    proxy.forward_to(two.upstream.url("/gateway"));
    let (merchant_id, _, client) = ready_merchant(&two, "shop-up-4").await;
    let sub_merchant_id = client_merchant(&two.platform, merchant_id).await;
    let content = json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": "T1", "body": "面包", "total_fee": "50.00", "order_type": "0" });

    // The upstream places the order, but its answer never arrives in time.
    proxy.swallow(true);
    let reply = two.platform.call(&client, UNIORDER, content.clone()).await;
    proxy.swallow(false);
    assert_eq!(reply["error_code"], json!("-300"), "{reply}");
    let here = order_by_out_trade_no(&two.platform, &client.app_id, "T1").await;
    assert_eq!(here.state, OrderState::Waiting, "the order is kept");
    let id = here.id();
    let placing = run_blocking(&two.platform.pool, move |conn| storage::upstream::find_order(conn, id))
        .await
        .expect("read")
        .expect("noted before the upstream was asked");
    assert_eq!(placing.state, domain::upstream::UpstreamOrderState::Placing);
    let there = order_by_out_trade_no(&two.upstream, &two.provider.app_id, here.trade_no()).await;
    assert_eq!(there.total(), here.total(), "the upstream has it, under our trade_no");

    // Asked about, it is still waiting there; paid there, the next query finds it and books it.
    let queried = two.platform.call(&client, QUERY, json!({ "out_trade_no": "T1" })).await;
    assert_eq!(queried["return_value"]["status"], json!(1), "{queried}");
    pay_on_cashier(&format!("{}?c={}", two.upstream.url("/cashier/code"), there.cashier_code())).await;
    paid(&two.upstream, there.trade_no()).await;
    let queried = two.platform.call(&client, QUERY, json!({ "out_trade_no": "T1" })).await;
    assert_eq!(queried["return_value"]["status"], json!(2), "{queried}");
    let booked = paid(&two.platform, here.trade_no()).await;
    assert_eq!(booked.split(), there.split());

    // The caller's retry places it again under the same number: the upstream's same order, whose
    // cashier code the caller gets at last. Nothing is booked twice.
    let again = two.platform.call(&client, UNIORDER, content).await;
    let qr_code = format!("{}?c={}", two.upstream.url("/cashier/code"), there.cashier_code());
    assert_eq!(again["return_value"]["qr_code"], json!(qr_code), "{again}");
    let queried = two.platform.call(&client, QUERY, json!({ "out_trade_no": "T1" })).await;
    assert_eq!(queried["return_value"]["status"], json!(2), "{queried}");
    let trial = run_blocking(&two.platform.pool, ledger::reports::trial_balance).await.expect("trial balance");
    assert!(trial.is_balanced(), "{trial:?}");
}

#[tokio::test]
async fn a_notify_is_booked_only_when_the_upstream_signed_it_and_its_query_agrees() {
    let master = onboarding::platform_key::MasterKey::generate().to_base64();
    let upstream_master = master.clone();
    let two = TwoInstances::start_with(
        move |settings| settings.platform.master_key = Some(secrecy::SecretString::from(upstream_master)),
        |_, config| config.notify_url = Some(NOWHERE.into()),
    )
    .await;
    let (merchant_id, _, client) = ready_merchant(&two, "shop-up-5").await;
    let sub_merchant_id = client_merchant(&two.platform, merchant_id).await;
    let content = json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": "N1", "body": "书", "total_fee": "20.00", "order_type": "0" });
    let reply = two.platform.call(&client, UNIORDER, content).await;
    let trade_no = reply["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
    let there = order(&two.upstream, &upstream_trade_no(&two.platform, &trade_no).await).await.expect("there");

    // The upstream's notify, as it signs them (its platform key, the provider app's sign type).
    let key = server::platform::signing_key(
        &two.upstream.pool,
        onboarding::platform_key::MasterKey::from_base64(&master).expect("a master key"),
    )
    .await
    .expect("the upstream's key");
    let upstream_signer = fshows::signature::Signer::new(key.private_key).expect("a signer");
    let stranger =
        fshows::signature::Signer::new(rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("a key"))
            .expect("a signer");
    let fields = [
        ("out_trade_no", trade_no.as_str()),
        ("trade_no", there.trade_no()),
        ("status", "2"),
        ("total_fee", "20.00"),
        ("pay_time", "2026-12-06 10:00:00"),
    ];
    let notify = |signer: &fshows::signature::Signer| {
        let message = fshows::signature::string_to_sign(fields);
        let sign = signer.sign(fshows::signature::SignType::Rsa, message.as_bytes());
        let mut form: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        form.push(("sign".into(), sign));
        form.push(("sign_type".into(), "RSA".into()));
        form
    };
    let post = |form: Vec<(String, String)>| {
        let url = two.platform.url("/channel/fshows/notify");
        async move {
            let response = e2e::new_client().post(url).form(&form).send().await.expect("sent");
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        }
    };

    // Signed by a key that is not the upstream's: refused, nothing changes.
    assert_eq!(post(notify(&stranger)).await, (400, "bad signature".to_string()));
    // The upstream's own notify with a field repeated, empty first (the string to sign drops empty
    // values, so the signature still holds): refused, not read as "not paid".
    let mut repeated = notify(&upstream_signer);
    repeated.insert(0, ("status".into(), String::new()));
    assert_eq!(post(repeated).await, (400, "bad signature".to_string()));
    // Signed by the upstream, but the order is not paid there: not booked, kept for an operator.
    let (status, _) = post(notify(&upstream_signer)).await;
    assert_eq!(status, 422, "not applied");
    assert_eq!(order(&two.platform, &trade_no).await.expect("the order").state, OrderState::Waiting);
    let trade = trade_no.clone();
    let kept = run_blocking(&two.platform.pool, move |conn| storage::callbacks::for_trade_no(conn, &trade))
        .await
        .expect("read");
    assert!(
        kept.iter().any(|callback| callback.needs_attention && callback.payload.to_string().contains("_disagreement")),
        "{kept:?}"
    );

    // Paid there: the same notify is confirmed by the query, booked, and answered `success`.
    pay_on_cashier(&format!("{}?c={}", two.upstream.url("/cashier/code"), there.cashier_code())).await;
    paid(&two.upstream, there.trade_no()).await;
    assert_eq!(post(notify(&upstream_signer)).await, (200, "success".to_string()));
    paid(&two.platform, &trade_no).await;
    assert_eq!(post(notify(&upstream_signer)).await, (200, "success".to_string()), "a replay is acknowledged");
}

async fn order_by_out_trade_no(app: &TestApp, app_id: &str, out_trade_no: &str) -> orders::Order {
    let (app_id, out_trade_no) = (app_id.to_string(), out_trade_no.to_string());
    run_blocking(&app.pool, move |conn| {
        let app = storage::apps::find_by_app_id(conn, &app_id)?.expect("the app");
        orders::order::find_by_out_trade_no(conn, app.id, &out_trade_no)
    })
    .await
    .expect("read")
    .expect("the order")
}

#[tokio::test]
async fn an_admin_routes_one_merchants_payments_to_the_upstream_and_sees_its_registration() {
    let two = TwoInstances::start(|settings, _| settings.channel.pay_in = "sandbox".into()).await;
    let (sub_merchant_id, client) = two.platform.merchant_client("shop-up-6", SignType::Rsa2, None).await;
    let merchant_id = merchant_id_of(&two.platform, &sub_merchant_id).await;
    let content = |out_trade_no: &str| json!({ "sub_merchant_id": sub_merchant_id, "out_trade_no": out_trade_no, "body": "花", "total_fee": "9.90", "order_type": "0" });
    let here = two.platform.call(&client, UNIORDER, content("C1")).await;
    let qr_code = here["return_value"]["qr_code"].as_str().expect("qr_code").to_string();
    assert!(qr_code.starts_with(&two.platform.url("/cashier/code")), "taken here to begin with: {qr_code}");

    two.platform.sign_in_as("ada", storage::operators::Role::Admin).await;
    let page = format!("/admin/merchants/{merchant_id}");
    let (_, shown) = two.platform.get_text(&page).await;
    assert!(shown.contains(r#"<code id="pay-in-channel">sandbox</code>"#), "the platform's");
    let unknown = two.platform.post_form(&format!("{page}/pay-in-channel"), &[("channel", "nowhere")]).await;
    assert_eq!(unknown.status(), reqwest::StatusCode::BAD_REQUEST);
    let chosen = two.platform.post_form(&format!("{page}/pay-in-channel"), &[("channel", "fshows")]).await;
    assert_eq!(chosen.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, shown) = two.platform.get_text(&page).await;
    assert!(shown.contains(r#"<code id="pay-in-channel">fshows</code>"#), "its own now");
    assert!(shown.contains(r#"id="registration-state""#), "not registered yet: {shown}");
    let filter = storage::audit::Filter { action: Some("merchant.pay_in_channel".into()), ..Default::default() };
    let audited =
        run_blocking(&two.platform.pool, move |conn| storage::audit::list(conn, &filter, 5)).await.expect("audit");
    assert_eq!(audited.len(), 1, "audited");

    // Until the upstream has it ready, its orders are refused (the one placed before stays here).
    let refused = two.platform.call(&client, UNIORDER, content("C2")).await;
    assert_eq!(refused["error_code"], json!("-220"), "{refused}");

    two.sync_until(merchant_id, RegistrationState::AwaitingApproval).await;
    let (_, shown) = two.platform.get_text(&page).await;
    let labels = admin::i18n::UpstreamLabels::of(admin::i18n::Lang::Zh);
    assert!(shown.contains(labels.state(RegistrationState::AwaitingApproval)), "{shown}");
    let asked = two.platform.post_form(&format!("{page}/upstream/ask-again"), &[]).await;
    assert_eq!(asked.status(), reqwest::StatusCode::SEE_OTHER);
    let filter = storage::audit::Filter { action: Some("upstream.ask_again".into()), ..Default::default() };
    let audited =
        run_blocking(&two.platform.pool, move |conn| storage::audit::list(conn, &filter, 5)).await.expect("audit");
    assert_eq!(audited.len(), 1, "audited");

    let there = two.approve_upstream(&client_merchant(&two.platform, merchant_id).await).await;
    two.sync_until(merchant_id, RegistrationState::Ready).await;
    let (_, shown) = two.platform.get_text(&page).await;
    let upstream_id = two.upstream.merchant(there).await.row.sub_merchant_id.expect("approved there");
    assert!(shown.contains(&format!(r#"<code id="upstream-id">{upstream_id}</code>"#)), "{shown}");
    let placed = two.platform.call(&client, UNIORDER, content("C3")).await;
    let qr_code = placed["return_value"]["qr_code"].as_str().expect("qr_code").to_string();
    assert!(qr_code.starts_with(&two.upstream.url("/cashier/code")), "taken upstream now: {qr_code}");

    // The settings page lists the upstream with its settings, never its key; the dashboard counts
    // its methods' calls.
    let (_, settings) = two.platform.get_text("/admin/settings").await;
    let row = settings.split(r#"data-channel="fshows""#).nth(1).expect("the channel is listed");
    let row = row.split("</tr>").next().unwrap_or_default();
    assert!(row.contains(&two.provider.app_id) && row.contains(&two.upstream.url("/gateway")), "{row}");
    let private_key = {
        use rsa::pkcs8::EncodePrivateKey;
        two.provider.private_key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("a PEM").to_string()
    };
    let key_line = private_key.lines().nth(1).expect("a line of the key");
    assert!(!settings.contains(key_line), "never its key");
}

/// Asks about the merchant's latest payout (the query job) until it is in `state`; panics after 15 s.
async fn payout_reaching(app: &TestApp, merchant_id: MerchantId, state: PayoutState) -> storage::payouts::PayoutRow {
    let started = Instant::now();
    loop {
        e2e::upstream::run_job(app, payouts::jobs::QueryPayouts).await;
        let payout = payout_of(app, merchant_id).await;
        if let Some(payout) = payout.as_ref().filter(|payout| payout.state == state) {
            return payout.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no {state} payout: {payout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn payout_of(app: &TestApp, merchant_id: MerchantId) -> Option<storage::payouts::PayoutRow> {
    run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 1))
        .await
        .expect("read")
        .into_iter()
        .next()
}

/// The upstream's number of the order placed there for ours.
async fn upstream_trade_no(platform: &TestApp, trade_no: &str) -> String {
    let id = order(platform, trade_no).await.expect("the order").id();
    run_blocking(&platform.pool, move |conn| storage::upstream::find_order(conn, id))
        .await
        .expect("read")
        .and_then(|row| row.upstream_trade_no)
        .expect("placed upstream")
}

async fn client_merchant(app: &TestApp, merchant_id: MerchantId) -> String {
    app.merchant(merchant_id).await.row.sub_merchant_id.expect("approved")
}

#[allow(dead_code)]
fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}
