//! Every console route against every role (and against no session): the server, not the page,
//! decides. A refused action changes nothing.
use domain::{
    AccountId, AppKeyId, MerchantId, NotificationId, OperatorId, OrderId, PayoutId, PayoutRunId, Rate, Rates,
    onboarding::{RatePlanCode, SignType, Transition},
    payouts::{PayoutState, StopKind},
};
use std::sync::OnceLock;

use e2e::{PASSWORD, TestApp, new_client, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use storage::{audit::Actor, database::run_blocking, operators::Role};

enum Call {
    Get(&'static str),
    Post(&'static str, &'static [(&'static str, &'static str)]),
}

/// What the routes act on: an operator, and a merchant in each state an action starts from.
struct Targets {
    operator: OperatorId,
    draft: MerchantId,
    submitted: MerchantId,
    verifying: MerchantId,
    in_review: MerchantId,
    to_reject: MerchantId,
    to_send_back: MerchantId,
    approved: MerchantId,
    approved_key: AppKeyId,
    frozen: MerchantId,
    to_close: MerchantId,
    /// A paid order with a notification, and a late payment's callback waiting for an operator.
    order: OrderId,
    notification: NotificationId,
    callback: i64,
    /// The paid order's merchant: one of its ledger accounts and its sub-merchant ID.
    ledger_account: AccountId,
    ledger_merchant: String,
    /// A reconciliation run with one open difference.
    run: i64,
    difference: i64,
    /// Two payouts waiting for approval (one to approve, one to reject) and their first run.
    to_approve: PayoutId,
    to_reject_payout: PayoutId,
    payout_run: PayoutRunId,
    /// One logged gateway exchange (the orders' uniorders).
    gateway_request: i64,
}

impl Targets {
    async fn set_up(app: &TestApp) -> Targets {
        let (approved, app_row) = app.approved_merchant("t-approved").await;
        let key = e2e::rsa_key_pair_pem(2048).0;
        let approved_key =
            run_blocking(&app.pool, move |conn| onboarding::credentials::add_key(conn, &Actor::cli(), app_row, &key))
                .await
                .unwrap()
                .id;
        let (frozen, _) = app.approved_merchant("t-frozen").await;
        run_blocking(&app.pool, move |conn| {
            onboarding::applications::transition(conn, &Actor::cli(), frozen, Transition::Freeze, Some("test"))
        })
        .await
        .unwrap();
        let plan = RatePlanCode::parse("basic").unwrap();
        let rates = Rates::new(Rate::parse("0.0003").unwrap(), Rate::ZERO, Rate::parse("0.001").unwrap()).unwrap();
        run_blocking(&app.pool, move |conn| {
            onboarding::rates::create_plan(conn, &Actor::cli(), &plan, "Basic", &rates, chrono::Utc::now())
        })
        .await
        .unwrap();
        let (order, notification, callback) = orders_to_act_on(app).await;
        let (ledger_account, ledger_merchant) = ledger_of(app, order).await;
        let (run, difference) = reconciliation_run(app).await;
        let (to_approve, to_reject_payout, payout_run) = payouts_to_decide(app).await;
        // A payout to the approved merchant came back: its payouts wait for an operator.
        run_blocking(&app.pool, move |conn| {
            storage::payouts::set_stop(conn, approved, StopKind::ReturnedAccount, "payout PO1M1 returned", "setup")
        })
        .await
        .unwrap();
        Targets {
            gateway_request: logged_request(app).await,
            run,
            difference,
            to_approve,
            to_reject_payout,
            payout_run,
            order,
            notification,
            callback,
            ledger_account,
            ledger_merchant,
            operator: app.create_operator("target", Role::Viewer).await,
            draft: app.create_merchant("t-draft", false).await,
            submitted: app.create_merchant("t-submitted", true).await,
            verifying: app.verifying_merchant("t-verifying").await,
            in_review: app.merchant_in_review("t-in-review").await,
            to_reject: app.merchant_in_review("t-to-reject").await,
            to_send_back: app.merchant_in_review("t-to-send-back").await,
            approved,
            approved_key,
            frozen,
            to_close: app.create_merchant("t-to-close", true).await,
        }
    }

    /// Every merchant's state, to check that a refused action changed nothing.
    async fn states(app: &TestApp) -> Vec<(MerchantId, String)> {
        let rows =
            run_blocking(&app.pool, |conn| storage::merchants::list(conn, &Default::default(), 100)).await.unwrap();
        rows.into_iter().map(|row| (row.id, row.state.as_str().to_string())).collect()
    }
}

fn public_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| e2e::rsa_key_pair_pem(2048).0)
}

/// A paid order (its notification to a URL nobody answers) and a closed one paid late; returns the
/// paid order's id, its notification's id and the late payment's callback id.
async fn orders_to_act_on(app: &TestApp) -> (OrderId, NotificationId, i64) {
    let (sub_merchant_id, client) = app.merchant_client("t-orders", SignType::Rsa2, None).await;
    let mut trade_nos = Vec::new();
    for out_trade_no in ["ROLE_PAID", "ROLE_LATE"] {
        let content = json!({ "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "x",
            "total_fee": "1.00", "order_type": "0", "notify_url": "http://127.0.0.1:9/notify" });
        let reply = app.call(&client, "fshows.liquidation.jdpay.uniorder", content).await;
        trade_nos.push(reply["return_value"]["trade_no"].as_str().unwrap().to_string());
    }
    run_blocking(&app.pool, move |conn| -> Result<_, orders::OrderError> {
        e2e::record_payment(conn, &trade_nos[0])?;
        let paid = storage::orders::find_by_trade_no(conn, &trade_nos[0])?.unwrap();
        let notification = storage::notifications::for_order(conn, paid.id)?[0].id;
        let late = storage::orders::find_by_trade_no(conn, &trade_nos[1])?.unwrap();
        orders::lifecycle::close(conn, late.id, "test")?;
        e2e::record_payment(conn, &trade_nos[1])?;
        let callback = storage::callbacks::needing_attention(conn, 1)?[0].id;
        Ok((paid.id, notification, callback))
    })
    .await
    .unwrap()
}

/// The console's routes as `admin::routes` registers them: (method, path pattern), `{…}` for a
/// path parameter. Read from its source, so a route added there without a line in [`routes`]
/// fails the test that calls [`every_registered_route_is_listed`].
fn registered_routes() -> Vec<(&'static str, String)> {
    // One space for any run of whitespace, so a call that rustfmt broke over lines reads the same.
    let source = include_str!("../crates/admin/src/lib.rs").split_whitespace().collect::<Vec<_>>().join(" ");
    let source = source.replace(".route( \"", ".route(\"");
    let mut found = Vec::new();
    for marker in [".route(\"", "web::resource(\""] {
        for piece in source.split(marker).skip(1) {
            let Some((path, rest)) = piece.split_once('"') else { continue };
            let rest: String = rest.chars().take(200).collect();
            let method = match (rest.find("web::get()"), rest.find("web::post()")) {
                (Some(get), Some(post)) => {
                    if get < post {
                        "GET"
                    } else {
                        "POST"
                    }
                }
                (Some(_), None) => "GET",
                (None, Some(_)) => "POST",
                (None, None) => continue,
            };
            found.push((method, format!("/admin{path}")));
        }
    }
    found
}

/// Every registered route that needs a session is called by [`routes`] (its parameters filled).
fn every_registered_route_is_listed(listed: &[(Call, &'static [Role], StatusCode)]) {
    const PUBLIC: [&str; 6] =
        ["/admin", "/admin/", "/admin/login", "/admin/logout", "/admin/lang/{lang}", "/admin/static/{file}"];
    let calls: Vec<(&str, &str)> = listed
        .iter()
        .map(|(call, _, _)| match call {
            Call::Get(path) => ("GET", path.split('?').next().unwrap_or(path)),
            Call::Post(path, _) => ("POST", path.split('?').next().unwrap_or(path)),
        })
        .collect();
    let matches = |pattern: &str, path: &str| {
        let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
        pattern.len() == path.len() && pattern.iter().zip(&path).all(|(want, got)| want.starts_with('{') || want == got)
    };
    let registered = registered_routes();
    assert!(registered.len() > 60, "the routes were read from admin's source: {registered:?}");
    let missing: Vec<String> = registered
        .iter()
        .filter(|(_, pattern)| !PUBLIC.contains(&pattern.as_str()))
        .filter(|(method, pattern)| !calls.iter().any(|(m, path)| m == method && matches(pattern, path)))
        .map(|(method, pattern)| format!("{method} {pattern}"))
        .collect();
    assert!(missing.is_empty(), "console routes without a role test in routes(): {missing:?}");
}

/// A gateway exchange, once the log writer has written one.
async fn logged_request(app: &TestApp) -> i64 {
    for _ in 0..100 {
        let logged = run_blocking(&app.pool, |conn| storage::gateway_log::list(conn, &Default::default(), 1)).await;
        if let Some(row) = logged.unwrap().first() {
            return row.id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no gateway request was logged");
}

/// The ledger of the paid order's merchant: its pending account and its sub-merchant ID.
async fn ledger_of(app: &TestApp, order: OrderId) -> (AccountId, String) {
    run_blocking(&app.pool, move |conn| -> Result<_, storage::StorageError> {
        let merchant_id = storage::orders::find(conn, order)?.expect("the order").merchant_id;
        let accounts = storage::ledger::accounts_of(conn, merchant_id)?;
        let pending = accounts.iter().find(|account| account.kind.as_str() == "merchant_pending").expect("booked").id;
        let merchant = storage::merchants::find(conn, merchant_id)?.expect("the merchant");
        Ok((pending, merchant.sub_merchant_id.expect("approved")))
    })
    .await
    .unwrap()
}

/// Two merchants with more available than the approval amount, each paid out by a manual run
/// (triggered by `setup`, not the tester): two payouts waiting for approval.
async fn payouts_to_decide(app: &TestApp) -> (PayoutId, PayoutId, PayoutRunId) {
    run_blocking(&app.pool, |conn| -> Result<_, payouts::PayoutError> {
        let calendar = domain::calendar::BusinessCalendar::default();
        let shops: Vec<_> = ["t-payee-1", "t-payee-2"]
            .into_iter()
            .enumerate()
            .map(|(index, id)| {
                let shop = orders::testing::shop(conn, id, None);
                let paid_at = chrono::Utc::now() - chrono::TimeDelta::days(5);
                orders::testing::paid(conn, &calendar, &shop, &format!("BIG{index}"), 6_000_000, paid_at);
                shop
            })
            .collect();
        let policy = ledger::settlement::Policy { calendar, require_reconciliation: false };
        ledger::settlement::settle_due(conn, &policy, chrono::Utc::now(), 100)?;
        let settings = server::Settings::default().payouts.settings().expect("default payout settings");
        let payout_calendar = payouts::calendar::load(conn, &settings)?;
        let mut made = Vec::new();
        for shop in &shops {
            let (run, _) = payouts::runs::manual_run(
                conn,
                &settings,
                &payout_calendar,
                &calendar,
                Some(shop.merchant_id),
                "setup",
                "sandbox",
            )?;
            made.push((storage::payouts::of_run(conn, run.id)?[0].id, run.id));
        }
        Ok((made[0].0, made[1].0, made[0].1))
    })
    .await
    .unwrap()
}

/// A bill with one line the platform never booked, imported for the day before the open day.
async fn reconciliation_run(app: &TestApp) -> (i64, i64) {
    let date = open_day() - chrono::TimeDelta::days(1);
    run_blocking(&app.pool, move |conn| -> Result<_, ledger::LedgerError> {
        let line = channel::bill::BillLine {
            bill_type: channel::bill::BillKind::Pay,
            trade_no: "2020010100000000000000000001".into(),
            out_trade_no: "UNKNOWN".into(),
            refund_no: String::new(),
            out_refund_no: String::new(),
            sub_merchant_id: String::new(),
            amount: domain::Amount::from_fen(100),
            net_receipt_amount: domain::Amount::from_fen(100),
            bank_commission_fee: domain::Amount::ZERO,
            pay_platform_fee: domain::Amount::ZERO,
            liquidator_commission_fee: domain::Amount::ZERO,
            status: "SUCCESS".into(),
            time: "2020-01-01 00:00:00".into(),
        };
        let import = ledger::reconciliation::Import {
            channel: "sandbox",
            business_date: date,
            source: "upload",
            imported_by: "setup",
        };
        let run = ledger::reconciliation::import(conn, &import, &[line])?;
        let difference = storage::reconciliation::differences_of(conn, run.id)?[0].id;
        Ok((run.id, difference))
    })
    .await
    .unwrap()
}

/// The business day the release route acts on: over, and older than the last seven days the
/// workers reconcile on their own at start-up, so it is still open.
fn open_day() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8) - chrono::TimeDelta::days(10)).date_naive()
}

/// Whether the release route released its day.
async fn day_released(app: &TestApp) -> bool {
    let day = open_day();
    run_blocking(&app.pool, move |conn| storage::ledger::business_day(conn, day))
        .await
        .unwrap()
        .is_some_and(|row| row.released_at.is_some())
}

/// What the order routes changed: refunds of the target order, and whether its callback is
/// still waiting.
async fn order_changes(app: &TestApp, targets: &Targets) -> (usize, bool) {
    let (order, callback) = (targets.order, targets.callback);
    run_blocking(&app.pool, move |conn| -> Result<_, storage::StorageError> {
        let refunds = storage::orders::refunds_of(conn, order)?.len();
        let open = storage::callbacks::needing_attention(conn, 10)?.iter().any(|row| row.id == callback);
        Ok((refunds, open))
    })
    .await
    .unwrap()
}

/// Each route with the roles allowed to use it; everyone else gets 403.
fn routes(targets: &Targets) -> Vec<(Call, &'static [Role], StatusCode)> {
    let everyone: &'static [Role] = &[Role::Viewer, Role::Operator, Role::Finance, Role::Admin];
    let admin: &'static [Role] = &[Role::Admin];
    let managers: &'static [Role] = &[Role::Operator, Role::Admin];
    let finance: &'static [Role] = &[Role::Finance, Role::Admin];
    let leak = |path: String| -> &'static str { Box::leak(path.into_boxed_str()) };
    let merchant = |id: MerchantId, action: &str| leak(format!("/admin/merchants/{id}/{action}"));
    let target = targets.operator;
    let application: &'static [(&'static str, &'static str)] = Box::leak(e2e::application_form().into_boxed_slice());
    let key: &'static [(&'static str, &'static str)] = Box::leak(Box::new([("public_key", public_key())]));
    let order = |action: &str| leak(format!("/admin/orders/{}{action}", targets.order));
    let statement =
        |format: &str| leak(format!("/admin/ledger/statement?merchant={}{format}", targets.ledger_merchant));
    vec![
        (Call::Get("/admin/ledger"), everyone, StatusCode::OK),
        (Call::Post("/admin/ledger/verify", &[]), admin, StatusCode::SEE_OTHER),
        (Call::Get("/admin/ledger?format=csv"), everyone, StatusCode::OK),
        (Call::Get("/admin/ledger/accounts"), everyone, StatusCode::OK),
        (Call::Get("/admin/ledger/accounts?format=csv"), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/ledger/accounts/{}", targets.ledger_account))), everyone, StatusCode::OK),
        (Call::Get(statement("")), everyone, StatusCode::OK),
        (Call::Get(statement("&format=csv")), everyone, StatusCode::OK),
        (Call::Get("/admin/ledger/commission"), everyone, StatusCode::OK),
        (Call::Get("/admin/ledger/commission?format=csv&by=merchant"), everyone, StatusCode::OK),
        (Call::Get("/admin/ledger/days"), everyone, StatusCode::OK),
        (
            Call::Post(leak(format!("/admin/ledger/days/{}/release", open_day())), &[("note", "bill checked by hand")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.approved, "settlement-days"), &[("settlement_days", "2")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Get("/admin/reconciliation"), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/reconciliation/runs/{}", targets.run))), everyone, StatusCode::OK),
        (
            Call::Post(
                "/admin/reconciliation/import",
                Box::leak(Box::new([("business_date", leak(open_day().to_string())), ("bill", "")])),
            ),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                leak(format!("/admin/reconciliation/differences/{}/resolve", targets.difference)),
                &[("note", "a test payment of the channel")],
            ),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                merchant(targets.approved, "payout-schedule"),
                &[
                    ("frequency", "weekly"),
                    ("time", "10:00"),
                    ("weekday", "5"),
                    ("month_day", ""),
                    ("minimum", "1.00"),
                    ("retained", "0.00"),
                    ("fee_fixed", "2.00"),
                    ("fee_rate", "0"),
                    ("fee_minimum", "0.00"),
                ],
            ),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.approved, "payout-hold"), &[("reason", "KYC review")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.approved, "payout-release"), &[]), finance, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.approved, "payout-notify-url"), &[("url", "https://shop.example.com/payouts")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.approved, "payout-confirm-account"), &[]), finance, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.approved, "payout-channel"), &[("channel", "sandbox")]),
            admin,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.approved, "pay-in-channel"), &[("channel", "sandbox")]),
            admin,
            StatusCode::SEE_OTHER,
        ),
        // No registration upstream to ask about: refused, changing nothing.
        (Call::Post(merchant(targets.approved, "upstream/ask-again"), &[]), admin, StatusCode::CONFLICT),
        (Call::Get("/admin/payouts/calendar"), everyone, StatusCode::OK),
        (
            Call::Post("/admin/payouts/calendar", &[("day", "2030-10-01"), ("kind", "holiday"), ("note", "国庆节")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post("/admin/payouts/calendar/import", &[("csv", "2030-10-02,holiday\n2030-10-12,working_day")]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post("/admin/payouts/calendar/2030-10-01/remove", &[]), finance, StatusCode::SEE_OTHER),
        (Call::Get("/admin/payouts"), everyone, StatusCode::OK),
        (Call::Get("/admin/payouts?state=awaiting_approval"), everyone, StatusCode::OK),
        (Call::Get("/admin/payouts?format=csv"), everyone, StatusCode::OK),
        (Call::Get("/admin/payouts/runs"), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/payouts/runs/{}", targets.payout_run))), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/payouts/{}", targets.to_approve))), everyone, StatusCode::OK),
        (
            Call::Post(leak(format!("/admin/payouts/{}/approve", targets.to_approve)), &[]),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                leak(format!("/admin/payouts/{}/reject", targets.to_reject_payout)),
                &[("reason", "check the amount")],
            ),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(leak(format!("/admin/payouts/{}/query", targets.to_approve)), &[]), finance, StatusCode::SEE_OTHER),
        (Call::Post("/admin/payouts/runs", &[("sub_merchant_id", "")]), finance, StatusCode::SEE_OTHER),
        (Call::Get("/admin/orders"), everyone, StatusCode::OK),
        (Call::Get(order("")), everyone, StatusCode::OK),
        (Call::Get("/admin/gateway-log"), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/gateway-log/{}", targets.gateway_request))), everyone, StatusCode::OK),
        (Call::Get("/admin/callbacks"), everyone, StatusCode::OK),
        (
            Call::Post(order("/refund"), &[("out_refund_no", "ROLE_1"), ("amount", "0.01")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(order(&format!("/notifications/{}/send-again", targets.notification)), &[]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(leak(format!("/admin/callbacks/{}/resolve", targets.callback)), &[("note", "checked")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (Call::Get("/admin"), everyone, StatusCode::OK),
        (Call::Get("/admin/operators"), admin, StatusCode::OK),
        (Call::Get("/admin/audit"), admin, StatusCode::OK),
        (Call::Get("/admin/merchants"), everyone, StatusCode::OK),
        (Call::Get("/admin/merchants/new"), managers, StatusCode::OK),
        (Call::Get(leak(format!("/admin/merchants/{}", targets.approved))), everyone, StatusCode::OK),
        (Call::Get(leak(format!("/admin/merchants/{}", targets.verifying))), everyone, StatusCode::OK),
        (Call::Get("/admin/rate-plans"), everyone, StatusCode::OK),
        (Call::Get("/admin/settings"), everyone, StatusCode::OK),
        (
            Call::Post(
                "/admin/operators",
                &[("username", "newbie"), ("password", "a-long-enough-password"), ("role", "viewer")],
            ),
            admin,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(leak(format!("/admin/operators/{target}/role")), &[("role", "finance")]),
            admin,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(leak(format!("/admin/operators/{target}/disable")), &[]), admin, StatusCode::SEE_OTHER),
        (Call::Post(leak(format!("/admin/operators/{target}/enable")), &[]), admin, StatusCode::SEE_OTHER),
        (Call::Post("/admin/merchants", application), managers, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.draft, "transition"), &[("transition", "submit")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.submitted, "verification"), &[]), managers, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.verifying, "verification/answer"), &[("amount", "1.00")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.in_review, "approve"), &[]), managers, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.to_reject, "transition"), &[("transition", "reject"), ("reason", "r")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                merchant(targets.to_send_back, "transition"),
                &[("transition", "request_changes"), ("reason", "r")],
            ),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.approved, "transition"), &[("transition", "freeze"), ("reason", "r")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.frozen, "transition"), &[("transition", "unfreeze")]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(merchant(targets.to_close, "transition"), &[("transition", "close"), ("reason", "r")]),
            admin,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.approved, "reveal"), &[]), admin, StatusCode::OK),
        (Call::Post(merchant(targets.approved, "keys"), key), managers, StatusCode::SEE_OTHER),
        (
            Call::Post(merchant(targets.approved, &format!("keys/{}/revoke", targets.approved_key)), &[]),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post(merchant(targets.approved, "sign-type"), &[("sign_type", "RSA")]), managers, StatusCode::SEE_OTHER),
        (
            Call::Post(
                merchant(targets.approved, "rates"),
                &[
                    ("bank_commission_rate", "0.0003"),
                    ("pay_platform_rate", "0"),
                    ("liquidator_commission_rate", "0.002"),
                ],
            ),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                "/admin/rate-plans",
                &[
                    ("code", "premium"),
                    ("name", "Premium"),
                    ("bank_commission_rate", "0.0003"),
                    ("pay_platform_rate", "0.002"),
                    ("liquidator_commission_rate", "0.001"),
                ],
            ),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                "/admin/rate-plans/basic/versions",
                &[
                    ("bank_commission_rate", "0.0003"),
                    ("pay_platform_rate", "0"),
                    ("liquidator_commission_rate", "0.002"),
                ],
            ),
            managers,
            StatusCode::SEE_OTHER,
        ),
        (
            Call::Post(
                "/admin/rate-plans/basic/payout-defaults",
                &[
                    ("time", "16:00"),
                    ("minimum", "5.00"),
                    ("retained", "0.00"),
                    ("fee_fixed", "1.00"),
                    ("fee_rate", "0"),
                    ("fee_minimum", "0.00"),
                ],
            ),
            finance,
            StatusCode::SEE_OTHER,
        ),
        (Call::Post("/admin/rate-plans/basic/payout-defaults/remove", &[]), finance, StatusCode::SEE_OTHER),
    ]
}

#[tokio::test]
async fn each_role_against_each_console_route() {
    for role in Role::ALL {
        let app = spawn_app().await;
        app.sign_in_as("tester", role).await;
        let targets = Targets::set_up(&app).await;
        let states_before = Targets::states(&app).await;
        for (call, allowed, success) in routes(&targets) {
            let expected = if allowed.contains(&role) { success } else { StatusCode::FORBIDDEN };
            let (label, status) = match call {
                Call::Get(path) => (path, app.get(path).await.status()),
                Call::Post(path, fields) => (path, app.post_form(path, fields).await.status()),
            };
            assert_eq!(status, expected, "{role} on {label}");
        }
        let (_, page) = app.get_text("/admin").await;
        let sees_admin_nav = page.contains(r#"href="/admin/operators""#);
        assert_eq!(sees_admin_nav, role == Role::Admin, "{role}: navigation shows only what the role may open");
        let states_after = Targets::states(&app).await;
        let may_act_on_orders = [Role::Operator, Role::Admin].contains(&role);
        assert_eq!(
            order_changes(&app, &targets).await,
            if may_act_on_orders { (1, false) } else { (0, true) },
            "{role}: refunds and callbacks changed only by operators and admins"
        );
        match role {
            Role::Viewer | Role::Finance => assert_eq!(states_after, states_before, "{role}: no merchant changed"),
            Role::Operator => {
                let closed = states_after.iter().any(|(id, state)| *id == targets.to_close && state == "closed");
                assert!(!closed, "an operator cannot close");
            }
            Role::Admin => {}
        }
        assert_eq!(day_released(&app).await, [Role::Finance, Role::Admin].contains(&role), "{role}: day release");
        let difference = targets.difference;
        let resolved = run_blocking(&app.pool, move |conn| storage::reconciliation::find_difference(conn, difference))
            .await
            .unwrap()
            .is_some_and(|row| row.resolved_at.is_some());
        assert_eq!(
            resolved,
            [Role::Finance, Role::Admin].contains(&role),
            "{role}: differences resolved only by finance"
        );
        let (approve, reject) = (targets.to_approve, targets.to_reject_payout);
        let decided = run_blocking(&app.pool, move |conn| -> Result<_, storage::StorageError> {
            let state = |conn: &mut _, id| storage::payouts::find(conn, id).map(|row| row.expect("payout").state);
            Ok((state(conn, approve)?, state(conn, reject)?))
        })
        .await
        .unwrap();
        let finance_role = [Role::Finance, Role::Admin].contains(&role);
        assert_eq!(
            decided.0 != PayoutState::AwaitingApproval && decided.1 == PayoutState::Rejected,
            finance_role,
            "{role}: payouts decided only by finance: {decided:?}"
        );
        let plans = run_blocking(&app.pool, storage::rates::list_plans).await.unwrap();
        assert_eq!(
            plans.len() == 2,
            [Role::Operator, Role::Admin].contains(&role),
            "{role}: plans created only by managers"
        );
        if role != Role::Admin {
            let operators = app.operators().await;
            assert_eq!(operators.len(), 2, "{role}: nothing was created");
            assert!(
                operators.iter().all(|o| o.is_active() && (o.username != "target" || o.role == Role::Viewer)),
                "{role}: nothing changed"
            );
        }
    }
}

#[tokio::test]
async fn without_a_session_every_route_sends_to_sign_in() {
    let app = spawn_app().await;
    let targets = Targets::set_up(&app).await;
    every_registered_route_is_listed(&routes(&targets));
    let states_before = Targets::states(&app).await;
    let client = new_client();
    for (call, _, _) in routes(&targets) {
        let (label, response) = match call {
            Call::Get(path) => (path, client.get(app.url(path)).send().await.unwrap()),
            Call::Post(path, fields) => (path, client.post(app.url(path)).form(fields).send().await.unwrap()),
        };
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{label}");
        assert!(response.headers()["location"].to_str().unwrap().starts_with("/admin/login"), "{label}");
    }
    assert_eq!(Targets::states(&app).await, states_before, "nothing changed");
    assert_eq!(order_changes(&app, &targets).await, (0, true), "no refund, the callback still waits");
    assert!(!day_released(&app).await, "no day released");
    assert_eq!(app.login_with(&client, "target", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    app.create_operator("root", Role::Admin).await;
    let bob = app.sign_in_as("bob", Role::Admin).await;
    assert_eq!(app.get("/admin/operators").await.status(), StatusCode::OK);
    let root_client = new_client();
    app.login_with(&root_client, "root", PASSWORD).await;
    let page = root_client.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    let token = e2e::csrf_token(&page).unwrap();
    let demoted = root_client
        .post(app.url(&format!("/admin/operators/{bob}/role")))
        .form(&[("role", "viewer"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/admin/operators").await.status(),
        StatusCode::FORBIDDEN,
        "bob's existing session lost admin rights"
    );
}

/// Rows an action writes: audit entries, and the tables the console's forms change.
async fn written_rows(app: &TestApp) -> Vec<i64> {
    run_blocking(&app.pool, |conn| {
        let tables = [
            "audit_log",
            "operators",
            "merchants",
            "refunds",
            "payouts",
            "payout_runs",
            "rate_plans",
            "payout_calendar_days",
            "reconciliation_runs",
            "app_keys",
        ];
        tables
            .iter()
            .map(|table| {
                #[derive(diesel::QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    count: i64,
                }
                diesel::RunQueryDsl::get_result::<Count>(
                    diesel::sql_query(format!("SELECT count(*) AS count FROM {table}")),
                    conn,
                )
                .map(|row| row.count)
                .map_err(storage::StorageError::from)
            })
            .collect::<Result<Vec<i64>, storage::StorageError>>()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn every_form_refuses_a_missing_or_forged_csrf_token_and_changes_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("tester", Role::Admin).await;
    let targets = Targets::set_up(&app).await;
    let (states_before, rows_before) = (Targets::states(&app).await, written_rows(&app).await);
    let mut forms = 0;
    for (call, _, _) in routes(&targets) {
        let Call::Post(path, fields) = call else { continue };
        forms += 1;
        let missing = app.client.post(app.url(path)).form(fields).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::FORBIDDEN, "{path} without a token");
        let mut forged = fields.to_vec();
        forged.push(("csrf_token", "forged-token"));
        let forged = app.client.post(app.url(path)).form(&forged).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{path} with a forged token");
    }
    assert!(forms > 40, "every form of the console was tried ({forms})");
    assert_eq!(Targets::states(&app).await, states_before, "no merchant changed");
    assert_eq!(written_rows(&app).await, rows_before, "nothing was written");
}
