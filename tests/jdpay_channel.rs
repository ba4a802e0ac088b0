//! JD Pay direct payouts end to end: the real server with `channel.payouts = "jdpay"` against the
//! fake JD of `e2e::jdpay_fake`, which opens and checks every request exactly as JD does. Each
//! status JD can give, its error codes, an empty reply and a timeout, its notifies (a `REFU` after
//! `FINI`, a forged one), and a request JD cannot verify.
use std::time::Duration;

use chrono::Utc;
use domain::{MerchantId, calendar::BusinessCalendar, ledger::AccountKind, payouts::PayoutState};
use e2e::jdpay_fake::{Answer, FakeJd, Plan};
use jdpay::Status;
use ledger::settlement::Policy;
use storage::database::run_blocking;

async fn platform_on(fake: &FakeJd, timeout_seconds: u64, breaker_failures: u32) -> e2e::TestApp {
    platform_paying_through(fake, timeout_seconds, breaker_failures, "jdpay").await
}

/// A platform with JD Pay configured, whose new payouts go through `payouts_channel`.
async fn platform_paying_through(
    fake: &FakeJd,
    timeout_seconds: u64,
    breaker_failures: u32,
    payouts_channel: &'static str,
) -> e2e::TestApp {
    let port = e2e::free_port();
    let config = fake.config(timeout_seconds, breaker_failures);
    e2e::spawn_app_with(move |settings| {
        settings.server.bind = format!("127.0.0.1:{port}");
        settings.channel.jdpay = Some(config);
        settings.channel.payouts = payouts_channel.into();
        settings.channel.health_flush_seconds = 1;
        // Ask again at once, so the tests need not wait for the gentle schedule.
        settings.payouts.query_intervals_seconds = vec![0];
    })
    .await
}

/// An approved merchant paid to an account ending with `suffix` (corporate, with its CNAPS code,
/// when `corporate`), with an order of 1,000.00 yuan paid five days ago ([`settle`] makes it
/// available).
async fn merchant(app: &e2e::TestApp, name: &str, suffix: &str, corporate: bool) -> MerchantId {
    merchant_with_id(app, name, suffix, corporate).await.0
}

/// [`merchant`], with its `sub_merchant_id`.
async fn merchant_with_id(app: &e2e::TestApp, name: &str, suffix: &str, corporate: bool) -> (MerchantId, String) {
    let mut raw = onboarding::testing::application(name);
    if corporate {
        raw.account_type = Some("corporate".into());
        raw.account_holder = Some("厦门示例科技有限公司".into());
        raw.account_number = Some(format!("35010{suffix}"));
        raw.branch_name = Some("厦门分行".into());
        raw.cnaps_code = Some("102393000014".into());
    } else {
        raw.account_number = Some(orders::testing::card_ending(suffix));
    }
    let out_trade_no = format!("{}_PAID", name.replace('-', "_"));
    run_blocking(&app.pool, move |conn| {
        let shop = orders::testing::shop_from(conn, &raw);
        let calendar = BusinessCalendar::default();
        orders::testing::paid(conn, &calendar, &shop, &out_trade_no, 100_000, Utc::now() - chrono::Duration::days(5));
        Ok::<_, ledger::LedgerError>((shop.merchant_id, shop.sub_merchant_id.to_string()))
    })
    .await
    .expect("a merchant with a paid order")
}

/// Settles every merchant's paid orders: their money is available.
async fn settle(app: &e2e::TestApp) {
    let policy = Policy { calendar: BusinessCalendar::default(), require_reconciliation: false };
    run_blocking(&app.pool, move |conn| ledger::settlement::settle_due(conn, &policy, Utc::now(), 100))
        .await
        .expect("settled");
}

async fn payout_of(app: &e2e::TestApp, merchant_id: MerchantId) -> Option<storage::payouts::PayoutRow> {
    run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 1))
        .await
        .expect("read")
        .into_iter()
        .next()
}

/// Waits until the merchant's payout is in `state`, asking JD about it now and then as an
/// operator's "query now" does.
async fn settled_as(app: &e2e::TestApp, merchant_id: MerchantId, state: PayoutState) -> storage::payouts::PayoutRow {
    let started = std::time::Instant::now();
    loop {
        if let Some(payout) = payout_of(app, merchant_id).await {
            if payout.state == state {
                return payout;
            }
            if payout.state == PayoutState::Submitted {
                app.post_form(&format!("/admin/payouts/{}/query", payout.id), &[]).await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no {state} payout for {merchant_id} within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn balance(app: &e2e::TestApp, merchant_id: MerchantId, kind: AccountKind) -> i64 {
    let balances = run_blocking(&app.pool, move |conn| ledger::reports::merchant_balances(conn, merchant_id))
        .await
        .expect("balances");
    balances[&kind].fen()
}

#[tokio::test]
async fn every_status_and_error_of_jd_is_read_as_it_means() {
    let fake = FakeJd::start(&e2e::scratch_directory()).await;
    fake.plan("1001", Plan::accepted(&[Status::AwaitingBank, Status::Succeeded]));
    fake.plan("1002", Plan { answer: Answer::Code("SYSTEM_ERROR"), statuses: vec![Status::Succeeded] });
    fake.plan("1003", Plan::accepted(&[Status::Failed]));
    fake.plan("1004", Plan::accepted(&[Status::Created, Status::Accepted, Status::Failed]));
    fake.plan("1005", Plan { answer: Answer::Empty, statuses: vec![Status::Succeeded] });
    fake.plan("1006", Plan { answer: Answer::Code("OUT_TRADE_NO_EXIST"), statuses: vec![Status::Succeeded] });
    fake.plan("1007", Plan { answer: Answer::Hang, statuses: vec![Status::Succeeded] });
    fake.plan("1008", Plan { answer: Answer::Code("ILLEGAL_ARGUMENT"), statuses: vec![] });
    fake.plan("1009", Plan { answer: Answer::Code("SYSTEM_ERROR"), statuses: vec![] });
    fake.plan("1010", Plan { answer: Answer::Huge, statuses: vec![Status::Succeeded] });
    let app = platform_on(&fake, 2, 50).await;
    app.sign_in_as("fiona", storage::operators::Role::Finance).await;
    let merchants = [
        ("paid", "1000", false, PayoutState::Succeeded),
        ("pending-then-paid", "1001", false, PayoutState::Succeeded),
        ("system-error-then-paid", "1002", false, PayoutState::Succeeded),
        ("closed", "1003", false, PayoutState::Failed),
        ("built-accepted-closed", "1004", false, PayoutState::Failed),
        ("empty-reply-then-paid", "1005", false, PayoutState::Succeeded),
        ("number-exists-then-paid", "1006", false, PayoutState::Succeeded),
        ("timeout-then-paid", "1007", false, PayoutState::Succeeded),
        ("refused-argument", "1008", false, PayoutState::Failed),
        ("not-taken-then-handed-over", "1009", false, PayoutState::Succeeded),
        ("huge-reply-then-paid", "1010", false, PayoutState::Succeeded),
        ("corporate", "2000", true, PayoutState::Succeeded),
    ];
    let mut ids = Vec::new();
    for (name, suffix, corporate, _) in merchants {
        ids.push(merchant(&app, name, suffix, corporate).await);
    }
    settle(&app).await;
    let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", "")]).await;
    assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);

    for ((name, _, _, state), id) in merchants.iter().zip(&ids) {
        let payout = settled_as(&app, *id, *state).await;
        assert_eq!(payout.channel, "jdpay", "{name}");
        let available = balance(&app, *id, AccountKind::MerchantAvailable).await;
        let paid_out = -balance(&app, *id, AccountKind::ProviderReserve).await;
        match state {
            PayoutState::Succeeded => assert_eq!((available, paid_out), (0, payout.amount_fen.fen()), "{name}: paid"),
            _ => assert_eq!((available, paid_out), (payout.amount_fen.fen(), 0), "{name}: the money is back"),
        }
    }
    let received = fake.received();
    assert!(received.iter().all(|request| request.refused.is_none()), "JD could read every request: {received:?}");
    let submissions = |name: &str| {
        let id = ids[merchants.iter().position(|merchant| merchant.0 == name).expect("a merchant")];
        let number = format!("M{id}");
        received
            .iter()
            .filter(|request| request.method == "defray_pay")
            .filter(|request| request.out_trade_no.as_deref().is_some_and(|no| no.ends_with(&number)))
            .count()
    };
    assert_eq!(submissions("paid"), 1);
    assert_eq!(submissions("system-error-then-paid"), 1, "an unknown outcome is queried, not sent again");
    assert_eq!(submissions("timeout-then-paid"), 1);
    assert_eq!(submissions("huge-reply-then-paid"), 1, "a reply too long to read is unknown, then queried");
    assert_eq!(submissions("not-taken-then-handed-over"), 2, "NO_RESULT: handed over again, under the same number");
    let corporate = received.iter().find(|request| request.account_type.as_deref() == Some("C")).expect("corporate");
    assert_eq!(
        corporate.bank_associated_code.as_deref(),
        Some("102393000014"),
        "a corporate payee carries its CNAPS code"
    );

    // A REFU after FINI, told by JD's notify: the money goes back and the merchant is paused; a
    // forged notify changes nothing; a replay is answered `ok` and changes nothing more.
    let paid = payout_of(&app, ids[0]).await.expect("a payout");
    let (status, body) = fake.notify(&paid.out_trade_no, Status::Returned, true).await;
    assert_eq!((status, body.as_str()), (400, "bad signature"));
    assert_eq!(payout_of(&app, ids[0]).await.expect("a payout").state, PayoutState::Succeeded);
    let (status, body) = fake.notify(&paid.out_trade_no, Status::Returned, false).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(payout_of(&app, ids[0]).await.expect("a payout").state, PayoutState::Returned);
    let returned = paid.amount_fen.fen();
    assert_eq!(balance(&app, ids[0], AccountKind::MerchantAvailable).await, returned, "back in available");
    assert_eq!(balance(&app, ids[0], AccountKind::ProviderReserve).await, 0, "and back in the reserve");
    let (status, body) = fake.notify(&paid.out_trade_no, Status::Returned, false).await;
    assert_eq!((status, body.as_str()), (200, "ok"), "a replay is acknowledged");
    assert_eq!(balance(&app, ids[0], AccountKind::MerchantAvailable).await, returned, "and books nothing");
    let stops = run_blocking(&app.pool, move |conn| storage::payouts::stops_of(conn, ids[0])).await.expect("stops");
    assert_eq!(stops.len(), 1, "the merchant's payouts are paused after the return");
    let trial = run_blocking(&app.pool, ledger::reports::trial_balance).await.expect("trial balance");
    assert!(trial.is_balanced(), "{trial:?}");
}

fn payout_request() -> channel::PayoutRequest {
    channel::PayoutRequest {
        out_trade_no: "PO1M1".into(),
        amount: domain::Amount::from_fen(100),
        subject: "代付 payout".into(),
        payee: channel::Payee {
            account_number: domain::onboarding::BankAccountNumber::parse(
                &orders::testing::card_ending("1000"),
                domain::onboarding::AccountType::Personal,
            )
            .expect("a card"),
            account_name: "张三".into(),
            bank_code: "ICBC".into(),
            cnaps_code: None,
        },
        merchant_at_channel: None,
    }
}

#[tokio::test]
async fn jd_refuses_a_request_it_cannot_verify_and_nothing_is_believed_that_is_not_signed() {
    let fake = FakeJd::start(&e2e::scratch_directory()).await;

    // Sealed and signed by a key JD does not know: refused (ILLEGAL_SIGN, in a reply signed with
    // the shared key), so JD took nothing and the payout fails.
    let mut intruder = fake_settings(&fake);
    intruder.credentials.own_identity =
        jdpay::testing::generate_identity(1024, "intruder", &mut rand::rngs::OsRng).expect("an identity");
    let channel = channel::jdpay::JdPay::new(intruder).expect("a client");
    let answer = channel::PayOut::payout(&channel, &payout_request()).await;
    assert!(
        matches!(&answer, Ok(channel::PayoutStatus::Failed { reason }) if reason.contains("ILLEGAL_SIGN")),
        "{answer:?}"
    );
    let refused = fake.received().into_iter().next().expect("JD got it");
    assert!(refused.refused.is_some(), "the fake refused the envelope");

    // A wrong shared key: JD refuses the sign_data, and its reply cannot be verified with the
    // wrong key either, so the outcome is unknown, never failed on a guess.
    let mut wrong = fake_settings(&fake);
    wrong.credentials.sign_key = jdpay::SignKey::new("not the shared key").expect("a key");
    let channel = channel::jdpay::JdPay::new(wrong).expect("a client");
    let answer = channel::PayOut::payout(&channel, &payout_request()).await;
    assert!(matches!(answer, Err(channel::ChannelError::OutcomeUnknown(_))), "{answer:?}");
    assert_eq!(fake.received().iter().filter(|request| request.refused.is_some()).count(), 2);
    let query = channel::PayOut::query_payout(&channel, &payout_request()).await;
    assert!(matches!(query, Err(channel::ChannelError::OutcomeUnknown(_))), "{query:?}");

    // With the right credentials the same number goes through and is found by a query.
    let channel = channel::jdpay::JdPay::new(fake_settings(&fake)).expect("a client");
    let paid = channel::PayOut::payout(&channel, &payout_request()).await;
    assert!(matches!(paid, Ok(channel::PayoutStatus::Succeeded { .. })), "{paid:?}");
    let again = channel::PayOut::payout(&channel, &payout_request()).await;
    assert!(matches!(again, Err(channel::ChannelError::OutcomeUnknown(_))), "OUT_TRADE_NO_EXIST: {again:?}");
    let found = channel::PayOut::query_payout(&channel, &payout_request()).await;
    assert!(matches!(found, Ok(channel::PayoutStatus::Succeeded { .. })), "{found:?}");
    let missing = channel::PayOut::query_payout(
        &channel,
        &channel::PayoutRequest { out_trade_no: "PO1M2".into(), ..payout_request() },
    )
    .await;
    assert_eq!(missing, Err(channel::ChannelError::NotFound), "NO_RESULT");
}

/// The channel's settings as the server builds them from its configuration.
fn fake_settings(fake: &FakeJd) -> channel::jdpay::JdPaySettings {
    fake.config(1, 3).settings("http://127.0.0.1:9").expect("settings")
}

#[tokio::test]
async fn failures_in_a_row_open_the_breaker_hold_back_new_payouts_and_show_on_the_dashboard() {
    let fake = FakeJd::start(&e2e::scratch_directory()).await;
    fake.plan("3000", Plan { answer: Answer::Code("SYSTEM_ERROR"), statuses: vec![] });
    let app = platform_on(&fake, 2, 3).await;
    app.sign_in_as("fiona", storage::operators::Role::Finance).await;
    let mut merchants = Vec::new();
    for name in ["first", "second", "third", "fourth"] {
        merchants.push(merchant_with_id(&app, name, "3000", false).await);
    }
    settle(&app).await;
    let (_, dashboard) = app.get_text("/admin").await;
    assert!(!dashboard.contains("upstream-warning"), "healthy before any call");
    let (_, settings) = app.get_text("/admin/settings").await;
    let row = settings.split(r#"data-channel="jdpay""#).nth(1).expect("the channel is listed");
    let row = row.split("</tr>").next().unwrap_or_default();
    assert!(row.contains(&fake.customer_no) && row.contains("CN=jd"), "its settings: {row}");
    assert!(!settings.contains(&fake.sign_key), "never its sign key");

    // One at a time, so the failures are in a row: three SYSTEM_ERRORs, each left unknown.
    for (merchant_id, sub_merchant_id) in &merchants[..3] {
        let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", sub_merchant_id)]).await;
        assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);
        let started = std::time::Instant::now();
        while payout_of(&app, *merchant_id).await.is_none_or(|payout| payout.state != PayoutState::Submitted) {
            assert!(started.elapsed() < Duration::from_secs(10), "submitted, outcome unknown");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The breaker is open: the fourth payout is made and reserved, but not handed over.
    let (fourth, fourth_sub_merchant_id) = &merchants[3];
    let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", fourth_sub_merchant_id)]).await;
    assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(payout_of(&app, *fourth).await.expect("made").state, PayoutState::Created);
    let sent = fake.received().iter().filter(|request| request.method == "defray_pay").count();
    assert_eq!(sent, 3, "nothing new reached JD while the breaker is open");

    // The dashboard reads the deployment's counts, which each node adds every second here.
    let started = std::time::Instant::now();
    let dashboard = loop {
        let (_, dashboard) = app.get_text("/admin").await;
        let row = dashboard.split(r#"data-upstream="jdpay.defray_pay""#).nth(1).unwrap_or_default();
        if row.split("</tr>").next().unwrap_or_default().contains("0.0%") {
            break dashboard;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the counts reach the dashboard: {dashboard}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(dashboard.contains(r#"id="upstream-warning""#), "the dashboard warns");
    let row = dashboard.split(r#"data-upstream="jdpay.defray_pay""#).nth(1).expect("its row");
    let row = row.split("</tr>").next().unwrap_or_default();
    assert!(row.contains("0.0%") && row.contains("pill bad"), "0% success, breaker open: {row}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = |name: &str| format!(r#"liquidator_{name}{{upstream="jdpay",method="defray_pay"}} "#);
    assert!(metrics.contains(&format!("{}1", line("upstream_breaker_open"))), "{metrics}");
    assert!(metrics.contains(&format!("{}1", line("upstream_degraded"))), "{metrics}");
    assert!(metrics.contains(&format!("{}0", line("upstream_success_permille"))), "{metrics}");
    assert!(
        metrics.contains(r#"liquidator_upstream_calls{upstream="jdpay",method="defray_pay",outcome="system_error"} 3"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_admin_sends_one_merchants_payouts_through_jd_while_the_rest_use_the_platforms_channel() {
    let fake = FakeJd::start(&e2e::scratch_directory()).await;
    let app = platform_paying_through(&fake, 2, 50, "sandbox").await;
    let on_jd = merchant(&app, "on-jd", "4000", false).await;
    let on_sandbox = merchant(&app, "on-sandbox", "4001", false).await;
    settle(&app).await;
    app.sign_in_as("ada", storage::operators::Role::Admin).await;
    let page = format!("/admin/merchants/{on_jd}");
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains(r#"<code id="payout-channel">sandbox</code>"#), "the platform's to begin with");

    let unknown = app.post_form(&format!("{page}/payout-channel"), &[("channel", "nowhere")]).await;
    assert_eq!(unknown.status(), reqwest::StatusCode::BAD_REQUEST);
    let chosen = app.post_form(&format!("{page}/payout-channel"), &[("channel", "jdpay")]).await;
    assert_eq!(chosen.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains(r#"<code id="payout-channel">jdpay</code>"#), "its own now");
    let filter = storage::audit::Filter { action: Some("merchant.payout_channel".into()), ..Default::default() };
    let audited = run_blocking(&app.pool, move |conn| storage::audit::list(conn, &filter, 5)).await.expect("audit");
    assert_eq!(audited.len(), 1, "audited");

    app.sign_in_as("fiona", storage::operators::Role::Finance).await;
    let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", "")]).await;
    assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);
    let through_jd = settled_as(&app, on_jd, PayoutState::Succeeded).await;
    let through_sandbox = settled_as(&app, on_sandbox, PayoutState::Succeeded).await;
    assert_eq!((through_jd.channel.as_str(), through_sandbox.channel.as_str()), ("jdpay", "sandbox"));
    let at_jd: Vec<_> = fake.received().into_iter().filter_map(|request| request.out_trade_no).collect();
    assert_eq!(at_jd, std::slice::from_ref(&through_jd.out_trade_no), "JD got the one payout routed to it");
}
