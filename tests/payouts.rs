//! Payouts run by the real server's workers: a scheduled run pays a merchant its available
//! balance through the sandbox channel, once, with the reservation and the outcome booked.
use std::time::Duration;

use chrono::Utc;
use domain::{
    Amount,
    calendar::BusinessCalendar,
    ledger::AccountKind,
    payouts::{PayoutKind, PayoutState, schedule::Frequency},
};
use e2e::receiver::{Receiver, answer};
use ledger::settlement::Policy;
use storage::{database::run_blocking, jobs::Job};

#[tokio::test]
async fn the_workers_run_a_slot_and_pay_a_merchant_its_available_balance_once() {
    // No default schedule, so the workers' first ticks make no run; the merchant gets its own
    // slot at midnight China time, which has always come by the time the test runs.
    let app = e2e::spawn_app_with(|settings| {
        settings.payouts.schedule = "manual".into();
        settings.payouts.weekends_are_payout_days = true;
    })
    .await;
    let merchant_id = run_blocking(&app.pool, |conn| {
        let calendar = BusinessCalendar::default();
        let shop = orders::testing::shop(conn, "payee", None);
        orders::testing::paid(conn, &calendar, &shop, "PAYOUT_SOURCE", 500_000, Utc::now() - chrono::Duration::days(5));
        ledger::settlement::settle_due(conn, &Policy { calendar, require_reconciliation: false }, Utc::now(), 100)?;
        storage::payouts::set_schedule(conn, &daily_at_midnight(shop.merchant_id))?;
        Ok::<_, ledger::LedgerError>(shop.merchant_id)
    })
    .await
    .expect("a merchant with money available");
    let available = balances(&app, merchant_id).await[&AccountKind::MerchantAvailable];
    assert!(available > 1_000);

    // The minute's tick, as the scheduler enqueues it (twice: two nodes' ticks of one slot).
    for _ in 0..2 {
        run_blocking(&app.pool, |conn| storage::jobs::enqueue(conn, payouts::jobs::ScheduleRuns.now()?))
            .await
            .expect("enqueued");
    }
    let payout = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    let all =
        run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 10)).await.expect("read");
    assert_eq!(all.len(), 1, "one payout for the slot, however many ticks: {all:#?}");
    assert_eq!(
        (payout.kind, payout.amount_fen.fen(), payout.fee_fen.fen()),
        (PayoutKind::Scheduled, available - 150, 150)
    );
    let after = balances(&app, merchant_id).await;
    assert_eq!(
        (after[&AccountKind::MerchantAvailable], after[&AccountKind::MerchantPayoutInTransit]),
        (0, 0),
        "all of it paid out"
    );
    assert_eq!(
        (after[&AccountKind::PayoutClearing], after[&AccountKind::ProviderReserve]),
        (0, -(available - 150)),
        "sent, and paid out of the provider's reserve"
    );
    let taken = run_blocking(&app.pool, move |conn| {
        storage::sandbox_payouts::count_since(conn, Utc::now() - chrono::Duration::hours(1))
    })
    .await
    .expect("counted");
    assert_eq!(taken, 1, "the channel was asked once");
}

fn daily_at_midnight(merchant_id: domain::MerchantId) -> storage::payouts::ScheduleRow {
    storage::payouts::ScheduleRow {
        merchant_id,
        frequency: Frequency::Daily,
        at_time: chrono::NaiveTime::MIN,
        weekday: None,
        month_day: None,
        minimum_fen: Amount::from_fen(100),
        retained_fen: Amount::ZERO,
        fee_fixed_fen: Amount::from_fen(150),
        fee_rate: rust_decimal::Decimal::ZERO,
        fee_minimum_fen: Amount::ZERO,
        updated_by: "finn".into(),
    }
}

async fn balances(app: &e2e::TestApp, merchant_id: domain::MerchantId) -> std::collections::BTreeMap<AccountKind, i64> {
    run_blocking(&app.pool, move |conn| ledger::reports::merchant_balances(conn, merchant_id))
        .await
        .expect("balances")
        .into_iter()
        .map(|(kind, balance)| (kind, balance.fen()))
        .collect()
}

/// What the upstream's settlements brought into the merchant's reserve (signed, debit positive).
async fn reserve_from_upstream(app: &e2e::TestApp, merchant_id: domain::MerchantId) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Sum {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        fen: i64,
    }
    run_blocking(&app.pool, move |conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT COALESCE(sum(p.amount_fen), 0)::bigint AS fen
               FROM ledger_postings p
               JOIN ledger_entries e ON e.id = p.entry_id
               JOIN ledger_accounts a ON a.id = p.account_id
              WHERE e.merchant_id = $1 AND e.kind = 'upstream_settled' AND a.kind = 'provider_reserve'",
        )
        .bind::<diesel::sql_types::BigInt, _>(merchant_id.get())
        .get_result::<Sum>(conn)
        .map(|sum| sum.fen)
        .map_err(storage::StorageError::from)
    })
    .await
    .expect("reserve")
}

async fn wait_for(
    app: &e2e::TestApp,
    merchant_id: domain::MerchantId,
    state: PayoutState,
) -> storage::payouts::PayoutRow {
    let started = std::time::Instant::now();
    loop {
        let found = run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 10))
            .await
            .expect("read");

        if let Some(payout) = found.into_iter().find(|payout| payout.state == state) {
            return payout;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no {state} payout within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A merchant's money made available: an order paid five days ago, settled.
async fn make_available(app: &e2e::TestApp, sub_merchant_id: &str, total_fen: i64) -> domain::MerchantId {
    let sub_merchant_id = sub_merchant_id.to_string();
    run_blocking(&app.pool, move |conn| {
        let merchant = storage::merchants::find_by_sub_merchant_id(conn, &sub_merchant_id)?.expect("merchant");
        let app_row = storage::apps::find_by_merchant(conn, merchant.id)?.expect("its app");
        let shop = orders::testing::Shop {
            merchant_id: merchant.id,
            sub_merchant_id: domain::SubMerchantId::parse(&sub_merchant_id).expect("id"),
            app: app_row,
        };
        let calendar = BusinessCalendar::default();
        orders::testing::paid(
            conn,
            &calendar,
            &shop,
            "WITHDRAW_SOURCE",
            total_fen,
            Utc::now() - chrono::Duration::days(5),
        );
        ledger::settlement::settle_due(conn, &Policy { calendar, require_reconciliation: false }, Utc::now(), 100)?;
        Ok::<_, ledger::LedgerError>(merchant.id)
    })
    .await
    .expect("money available")
}

const WITHDRAW: &str = "fshows.liquidation.witness.withdraw";
const WITHDRAW_QUERY: &str = "fshows.liquidation.witness.withdraw.query";

#[tokio::test]
async fn a_merchant_withdraws_through_the_gateway_once_per_number() {
    let app = e2e::spawn_app_with(|settings| settings.payouts.fee_fixed_fen = 200).await;
    let (sub_merchant_id, client) = app.merchant_client("withdrawer", domain::onboarding::SignType::Rsa2, None).await;
    let merchant_id = make_available(&app, &sub_merchant_id, 1_000_000).await;
    let available = balances(&app, merchant_id).await[&AccountKind::MerchantAvailable];

    let content = |no: &str, amount: Option<&str>| {
        let mut content = serde_json::json!({ "sub_merchant_id": sub_merchant_id, "out_withdraw_no": no });
        if let Some(amount) = amount {
            content["amount"] = amount.into();
        }
        content
    };
    let first = app.call(&client, WITHDRAW, content("W1", Some("100.00"))).await;
    assert_eq!(first["success"], true, "{first}");
    let value = &first["return_value"];
    assert_eq!((value["amount"].as_f64(), value["fee"].as_f64()), (Some(100.0), Some(2.0)), "{value}");
    let again = app.call(&client, WITHDRAW, content("W1", Some("100.00"))).await;
    assert_eq!(again["return_value"]["withdraw_no"], value["withdraw_no"], "the same request, the same payout");
    let conflicting = app.call(&client, WITHDRAW, content("W1", Some("100.01"))).await;
    assert_eq!(conflicting["error_code"], "-206", "{conflicting}");
    let too_much = app.call(&client, WITHDRAW, content("W2", Some("1000000.00"))).await;
    assert_eq!(too_much["error_code"], "-216", "{too_much}");
    let bad = app.call(&client, WITHDRAW, content("W-3", None)).await;
    assert_eq!(bad["error_code"], "-101", "{bad}");

    // The workers hand it to the sandbox; the query shows it paid.
    let paid = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    assert_eq!(paid.amount_fen.fen(), 10_000);
    let query = app.call(&client, WITHDRAW_QUERY, content("W1", None)).await;
    assert_eq!(query["return_value"]["status"], "succeeded", "{query}");
    let unknown = app.call(&client, WITHDRAW_QUERY, content("NOPE", None)).await;
    assert_eq!(unknown["error_code"], "-207", "{unknown}");

    // Held by an operator: refused with the reason, nothing reserved.
    run_blocking(&app.pool, move |conn| {
        payouts::stops::hold(conn, &storage::audit::Actor::cli(), merchant_id, "KYC review")
    })
    .await
    .expect("held");
    let held = app.call(&client, WITHDRAW, content("W4", None)).await;
    assert_eq!(held["error_code"], "-220", "{held}");
    assert!(held["error_message"].as_str().unwrap_or_default().contains("KYC review"), "{held}");
    run_blocking(&app.pool, move |conn| payouts::stops::release(conn, &storage::audit::Actor::cli(), merchant_id))
        .await
        .expect("released");

    // Without an amount: everything available less the fee.
    let rest = app.call(&client, WITHDRAW, content("W5", None)).await;
    assert_eq!(rest["success"], true, "{rest}");
    let expected = (available - 10_000 - 200 - 200) as f64 / 100.0;
    assert_eq!(rest["return_value"]["amount"].as_f64(), Some(expected), "{rest}");
}

/// A merchant with 10,000.00 available, paid out by a manual run that finance operator olivia
/// makes: its sub-merchant id, its id and the run's page.
async fn large_manual_run(app: &e2e::TestApp) -> (String, domain::MerchantId, String) {
    let (sub_merchant_id, _) = app.merchant_client("big-payee", domain::onboarding::SignType::Rsa2, None).await;
    let merchant_id = make_available(app, &sub_merchant_id, 1_000_000).await;
    app.sign_in_as("olivia", storage::operators::Role::Finance).await;
    let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", &sub_merchant_id)]).await;
    assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);
    let run_page = run.headers()["location"].to_str().expect("a location").to_string();
    (sub_merchant_id, merchant_id, run_page)
}

/// A rejection's reason, typed by finance, is kept as typed: shown escaped on the payout's page,
/// and in the payouts CSV in a cell no spreadsheet would run as a formula.
#[tokio::test]
async fn a_rejection_reason_is_kept_as_typed_and_never_runs_as_a_formula() {
    let app = e2e::spawn_app_with(|settings| settings.payouts.approval_above_fen = 100_000).await;
    let (_, merchant_id, _) = large_manual_run(&app).await;
    let payout = run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 1))
        .await
        .expect("read")
        .remove(0);
    assert_eq!(payout.state, PayoutState::AwaitingApproval);
    // A second operator decides, as for an approval.
    app.sign_in_as("grace", storage::operators::Role::Finance).await;
    let reason = e2e::HOSTILE_TEXT;
    let rejected = app.post_form(&format!("/admin/payouts/{}/reject", payout.id), &[("reason", reason)]).await;
    assert_eq!(rejected.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&format!("/admin/payouts/{}", payout.id)).await;
    assert!(e2e::shows_escaped(&page, reason), "the reason as typed, escaped");
    let text = app.get("/admin/payouts?format=csv").await.text().await.unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"http://e.x\"\""), "the reason, defused: {text}");
    assert!(!text.contains(",=HYPERLINK") && !text.contains(",\"=HYPERLINK"), "{text}");
}

#[tokio::test]
async fn in_the_console_a_second_finance_operator_approves_what_the_first_paid_out() {
    let app = e2e::spawn_app_with(|settings| settings.payouts.approval_above_fen = 100_000).await;
    let (sub_merchant_id, merchant_id, run_page) = large_manual_run(&app).await;
    let (_, page) = app.get_text(&run_page).await;
    assert!(page.contains("payout-awaiting_approval"), "{page}");
    let payout = run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 1))
        .await
        .expect("read")
        .remove(0);
    assert_eq!(payout.state, PayoutState::AwaitingApproval);
    let (_, dashboard) = app.get_text("/admin").await;
    let tile = dashboard.split(r#"id="payouts-awaiting""#).nth(1).expect("the tile");
    assert!(tile.split("</a>").next().unwrap_or_default().contains(">1</span>"), "the dashboard counts it");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("liquidator_payouts_awaiting_approval 1"), "{metrics}");

    // The operator who triggered it may not approve it: refused, with the reason, nothing changed.
    let own = app.post_form(&format!("/admin/payouts/{}/approve", payout.id), &[]).await;
    assert_eq!(own.status(), reqwest::StatusCode::CONFLICT);
    assert!(own.text().await.unwrap().contains("triggered"), "the refusal says why");

    app.sign_in_as("grace", storage::operators::Role::Finance).await;
    let approved = app.post_form(&format!("/admin/payouts/{}/approve", payout.id), &[]).await;
    assert_eq!(approved.status(), reqwest::StatusCode::SEE_OTHER);
    let paid = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    assert_eq!(paid.id, payout.id);
    let (_, page) = app.get_text(&format!("/admin/payouts/{}", payout.id)).await;
    assert!(page.contains(r#"data-state="succeeded""#) && page.contains("grace"), "the history names the approver");
    assert_eq!(
        page.matches("<tr data-entry=").count(),
        3,
        "its reservation, its success and its money out of the reserve in the ledger"
    );
    let csv = app.get("/admin/payouts?state=succeeded&format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "a header and the one payout: {text}");
    assert!(text.contains(&paid.out_trade_no) && text.contains(",succeeded,"), "{text}");

    // Filtered by merchant, run and business day, on the page, its pager and its CSV.
    let run_id = paid.run_id.expect("a run's payout");
    let day = paid.business_date;
    let filtered = format!("/admin/payouts?merchant={sub_merchant_id}&run={run_id}&date={day}");
    let (status, page) = app.get_text(&filtered).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(page.matches("<tr data-payout=").count(), 1, "{page}");
    let csv_link = page.split(r#"id="csv-link""#).next().and_then(|head| head.rsplit("<a href=").next()).unwrap_or("");
    let csv_link = csv_link.replace("&#38;", "&").replace("&amp;", "&");
    assert!(csv_link.contains(&format!("run={run_id}&date={day}&format=csv")), "{csv_link}");
    let other_day = day.pred_opt().expect("a day");
    let (_, page) = app.get_text(&format!("/admin/payouts?merchant={sub_merchant_id}&date={other_day}")).await;
    assert_eq!(page.matches("<tr data-payout=").count(), 0);
    for bad in
        ["/admin/payouts?run=x", "/admin/payouts?date=2026-13-01", "/admin/payouts?merchant=00000000000000000000"]
    {
        assert_eq!(app.get(bad).await.status(), reqwest::StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn finance_sets_a_merchants_schedule_and_holds_its_payouts_from_its_page() {
    let app = e2e::spawn_app().await;
    let (merchant_id, _) = app.approved_merchant("scheduled").await;
    app.sign_in_as("finn", storage::operators::Role::Finance).await;
    let page = format!("/admin/merchants/{merchant_id}");
    let form = |frequency: &'static str, weekday: &'static str| {
        vec![
            ("frequency", frequency),
            ("time", "15:30"),
            ("weekday", weekday),
            ("month_day", ""),
            ("minimum", "10.00"),
            ("retained", "100.00"),
            ("fee_fixed", "0"),
            ("fee_rate", "0.00100"),
            ("fee_minimum", "2.00"),
        ]
    };
    let refused = app.post_form(&format!("{page}/payout-schedule"), &form("weekly", "9")).await;
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("weekday"), "the refusal names the field");
    let saved = app.post_form(&format!("{page}/payout-schedule"), &form("weekly", "5")).await;
    assert_eq!(saved.status(), reqwest::StatusCode::SEE_OTHER);
    let stored = run_blocking(&app.pool, move |conn| payouts::schedules::own(conn, merchant_id)).await.expect("read");
    let schedule = stored.expect("its own schedule");
    assert_eq!(schedule.cadence, domain::payouts::schedule::Cadence::Weekly(chrono::Weekday::Fri));
    assert_eq!((schedule.minimum.fen(), schedule.retained.fen()), (1_000, 10_000));
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains("15:30") && shown.contains("0.00100"), "the page shows the schedule");

    let reason = format!("KYC review {}", e2e::HOSTILE_TEXT);
    let held = app.post_form(&format!("{page}/payout-hold"), &[("reason", &reason)]).await;
    assert_eq!(held.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains(r#"data-stop="hold""#) && e2e::shows_escaped(&shown, &reason), "the page says why");
    let confirm = app.post_form(&format!("{page}/payout-confirm-account"), &[]).await;
    assert_eq!(confirm.status(), reqwest::StatusCode::CONFLICT, "no returned payout to confirm");
    let actions: Vec<String> = run_blocking(&app.pool, |conn| storage::audit::list(conn, &Default::default(), 10))
        .await
        .expect("audit")
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| action.starts_with("payout."))
        .collect();
    assert_eq!(actions, ["payout.hold", "payout.schedule"]);
}

/// The text of the element with this id (up to its closing tag).
fn element_text<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[start..];
    let open_end = rest.find('>').expect("a tag") + 1;
    &rest[open_end..rest[open_end..].find("</").map_or(rest.len(), |end| open_end + end)]
}

#[tokio::test]
async fn a_rate_plans_payout_defaults_are_set_in_the_console_and_followed_by_its_merchants() {
    let app = e2e::spawn_app().await;
    let (merchant_id, _) = app.approved_merchant("on-plan").await;
    app.sign_in_as("ada", storage::operators::Role::Admin).await;
    let page = format!("/admin/merchants/{merchant_id}");
    let rates = [
        ("bank_commission_rate", "0.00030"),
        ("pay_platform_rate", "0.00200"),
        ("liquidator_commission_rate", "0.00100"),
    ];
    let mut plan = vec![("code", "gold"), ("name", "Gold")];
    plan.extend(rates);
    assert_eq!(app.post_form("/admin/rate-plans", &plan).await.status(), reqwest::StatusCode::SEE_OTHER);
    let moved = app.post_form(&format!("{page}/rates"), &[("rate_plan", "gold")]).await;
    assert_eq!(moved.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&page).await;
    let platform_source = element_text(&shown, "payout-schedule-source").to_string();
    assert!(element_text(&shown, "payout-schedule").contains("10:00"), "the platform's time");

    let defaults = |time: &'static str| {
        vec![
            ("time", time),
            ("minimum", "5.00"),
            ("retained", "0.00"),
            ("fee_fixed", "1.00"),
            ("fee_rate", "0"),
            ("fee_minimum", "0.00"),
        ]
    };
    let refused = app.post_form("/admin/rate-plans/gold/payout-defaults", &defaults("25:99")).await;
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains(": time"), "the refusal names the field");
    let missing = app.post_form("/admin/rate-plans/none/payout-defaults", &defaults("16:00")).await;
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    let saved = app.post_form("/admin/rate-plans/gold/payout-defaults", &defaults("16:00")).await;
    assert_eq!(saved.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, plans) = app.get_text("/admin/rate-plans").await;
    assert!(element_text(&plans, "payout-defaults-gold").contains("16:00"), "the plan page shows its defaults");

    let (_, shown) = app.get_text(&page).await;
    assert!(element_text(&shown, "payout-schedule").contains("16:00"), "the merchant follows its plan");
    assert_ne!(element_text(&shown, "payout-schedule-source"), platform_source, "and says so");
    let times = run_blocking(&app.pool, storage::payouts::schedule_times).await.expect("times");
    assert!(times.contains(&chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap()), "the scheduler makes its slot");

    let removed = app.post_form("/admin/rate-plans/gold/payout-defaults/remove", &[]).await;
    assert_eq!(removed.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&page).await;
    assert_eq!(element_text(&shown, "payout-schedule-source"), platform_source, "back to the platform's");
}

#[tokio::test]
async fn finance_keeps_the_payout_calendar_and_imports_it_as_csv() {
    let app = e2e::spawn_app().await;
    app.sign_in_as("finn", storage::operators::Role::Finance).await;
    let bad =
        app.post_form("/admin/payouts/calendar/import", &[("csv", "2030-10-01,holiday\n2030-10-32,holiday")]).await;
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("line 2"), "the refusal names the line");
    let csv = "# 国庆\n2030-10-01,holiday,国庆节\n2030-10-02,休\n2030-10-12,班,调休";
    let imported = app.post_form("/admin/payouts/calendar/import", &[("csv", csv)]).await;
    assert_eq!(imported.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, page) = app.get_text("/admin/payouts/calendar").await;
    assert!(page.contains(r#"data-day="2030-10-01" data-kind="holiday""#) && page.contains("国庆节"), "{page}");
    assert!(page.contains(r#"data-day="2030-10-12" data-kind="working_day""#));
    let removed = app.post_form("/admin/payouts/calendar/2030-10-02/remove", &[]).await;
    assert_eq!(removed.status(), reqwest::StatusCode::SEE_OTHER);
    let again = app.post_form("/admin/payouts/calendar/2030-10-02/remove", &[]).await;
    assert_eq!(again.status(), reqwest::StatusCode::CONFLICT, "nothing to remove");
    // The ledger's business days show the payout calendar beside them.
    let (_, ledger_days) = app.get_text("/admin/ledger/days?to=2030-10-05").await;
    assert!(ledger_days.contains(r#"<tr data-date="2030-10-01""#), "{ledger_days}");
    let row = ledger_days.split(r#"<tr data-date="2030-10-01""#).nth(1).unwrap_or_default();
    assert!(row.split("</tr>").next().unwrap_or_default().contains(r#"data-payout-day="false""#), "a holiday");
    let days = run_blocking(&app.pool, storage::payouts::calendar_days).await.expect("read");
    assert_eq!(days.len(), 2);
    let actions: Vec<String> = run_blocking(&app.pool, |conn| storage::audit::list(conn, &Default::default(), 10))
        .await
        .expect("audit")
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| action.starts_with("payout."))
        .collect();
    assert_eq!(actions, ["payout.calendar.remove", "payout.calendar"], "the refused import left no trace");
    // A day's note is kept as typed and shown escaped.
    let note = format!("国庆 {}", e2e::HOSTILE_TEXT);
    let day = [("day", "2030-10-03"), ("kind", "holiday"), ("note", note.as_str())];
    assert_eq!(app.post_form("/admin/payouts/calendar", &day).await.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, page) = app.get_text("/admin/payouts/calendar").await;
    assert!(e2e::shows_escaped(&page, &note), "the note as typed, escaped");
}

/// A merchant's server on loopback that answers `success` to every notification and keeps the
/// forms it received.
/// A receiver that acknowledges every notification, as a merchant's server does.
async fn receiver() -> Receiver {
    Receiver::start(vec![answer(200, "success")], Some(Duration::ZERO)).await
}

#[tokio::test]
async fn a_withdrawals_result_is_told_to_its_notify_url_signed() {
    let app = e2e::spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("told", domain::onboarding::SignType::Rsa2, None).await;
    let merchant_id = make_available(&app, &sub_merchant_id, 500_000).await;
    let received = receiver().await;
    let url = received.url.clone();
    let content = serde_json::json!({
        "sub_merchant_id": sub_merchant_id, "out_withdraw_no": "TOLD1", "amount": "10.00", "notify_url": url,
    });
    let reply = app.call(&client, WITHDRAW, content).await;
    assert_eq!(reply["success"], true, "{reply}");
    wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    let told = received.first_within(Duration::from_secs(20)).await;
    let (form, field) = (&told.form, |name: &str| told.field(name).map(str::to_string));
    assert_eq!(field("status").as_deref(), Some("succeeded"), "{form:?}");
    assert_eq!(field("out_withdraw_no").as_deref(), Some("TOLD1"));
    assert_eq!(field("amount").as_deref(), Some("10.00"));
    assert!(field("sign").is_some_and(|sign| !sign.is_empty()), "signed like every notification");
}

#[tokio::test]
async fn a_payout_callback_is_applied_once_and_a_forged_one_changes_nothing() {
    use channel::{PayOut, PayoutStatus};
    let app = e2e::spawn_app().await;
    // A payee whose card keeps the sandbox's answer pending: the callback brings the outcome.
    let merchant_id = run_blocking(&app.pool, |conn| {
        let mut raw = onboarding::testing::application("pending-payee");
        raw.account_number = Some(orders::testing::card_ending("5555"));
        let shop = orders::testing::shop_from(conn, &raw);
        let calendar = BusinessCalendar::default();
        orders::testing::paid(conn, &calendar, &shop, "CB_SOURCE", 300_000, Utc::now() - chrono::Duration::days(5));
        ledger::settlement::settle_due(conn, &Policy { calendar, require_reconciliation: false }, Utc::now(), 100)?;
        let settings = server::Settings::default().payouts.settings().expect("settings");
        let payout_calendar = domain::payouts::calendar::PayoutCalendar::new(true, []);
        payouts::runs::manual_run(
            conn,
            &settings,
            &payout_calendar,
            &calendar,
            Some(shop.merchant_id),
            "setup",
            "sandbox",
        )
        .map_err(|error| ledger::LedgerError::Storage(storage::StorageError::Payload(error.to_string())))?;
        Ok::<_, ledger::LedgerError>(shop.merchant_id)
    })
    .await
    .expect("a payout pending at the sandbox");
    let payout = wait_for(&app, merchant_id, PayoutState::Submitted).await;
    let sandbox = server::platform::sandbox(&app.pool, Default::default(), Default::default()).await.expect("sandbox");
    assert!(matches!(
        sandbox.query_payout(&payouts::send::request(&payout, None).expect("a request")).await,
        Ok(PayoutStatus::Pending { .. })
    ));

    let post = |fields: Vec<(String, String)>| {
        let request = app.client.post(app.url("/channel/sandbox/payout-notify")).form(&fields).send();
        async move {
            let response = request.await.expect("sent");
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        }
    };
    let paid = PayoutStatus::Succeeded { channel_reference: "SBXCB".into() };
    let mut forged = sandbox.payout_callback(&payout.out_trade_no, &paid);
    forged[1].1 = "failed".into();
    assert_eq!(post(forged).await.0, 400, "a forged callback is refused");
    assert_eq!(post(sandbox.payout_callback("PO999M999", &paid)).await.0, 404, "not a payout of ours");
    assert_eq!(wait_for(&app, merchant_id, PayoutState::Submitted).await.id, payout.id, "nothing changed");

    let fields = sandbox.payout_callback(&payout.out_trade_no, &paid);
    assert_eq!(post(fields.clone()).await, (200, "ok".to_string()));
    assert_eq!(post(fields).await, (200, "ok".to_string()), "a replay is answered and changes nothing");
    let done = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    assert_eq!(done.id, payout.id);
    let after = balances(&app, merchant_id).await;
    assert_eq!(after[&AccountKind::PayoutClearing], 0, "sent and funded");
    // The worker's hourly bill import may reconcile the order's day meanwhile (it is five days
    // old), bringing the upstream's settlement into the reserve: the payout left it once beside that.
    let settled_in = reserve_from_upstream(&app, merchant_id).await;
    assert_eq!(after[&AccountKind::ProviderReserve], settled_in - payout.amount_fen.fen(), "out of the reserve once");

    // Every exchange is kept and shown: the submission's answer, then both callbacks.
    let id = payout.id;
    let kept = run_blocking(&app.pool, move |conn| storage::payouts::exchanges_of(conn, id)).await.expect("read");
    let seen: Vec<_> = kept.iter().map(|exchange| (exchange.actor.as_str(), exchange.answer.as_str())).collect();
    assert_eq!(
        seen,
        [("channel:sandbox", "pending"), ("callback:sandbox", "succeeded"), ("callback:sandbox", "succeeded")]
    );
    app.sign_in_as("finn", storage::operators::Role::Finance).await;
    let (_, page) = app.get_text(&format!("/admin/payouts/{id}")).await;
    let table = page.split(r#"<table id="exchanges">"#).nth(1).expect("the exchanges");
    assert_eq!(table.matches(r#"data-answer="succeeded""#).count(), 2, "{table}");
    assert!(table.contains("SBXCB"), "{table}");
}

#[tokio::test]
async fn a_micro_deposit_is_a_verification_payout_the_platform_pays() {
    let app = e2e::spawn_app().await;
    let merchant_id = app.verifying_merchant("verified-by-payout").await;
    let deposit = app.wait_for_micro_deposit(merchant_id).await;
    let payout = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    assert_eq!(deposit.payout_id, Some(payout.id), "the deposit points at the payout that sent it");
    assert_eq!(
        (payout.kind, payout.amount_fen, payout.fee_fen, payout.out_trade_no.as_str()),
        (PayoutKind::Verification, deposit.amount_fen, Amount::ZERO, deposit.out_trade_no.as_str())
    );
    // The platform paid it: its expense, never the merchant's (empty) available balance.
    let after = balances(&app, merchant_id).await;
    let amount = deposit.amount_fen.fen();
    assert_eq!(after[&AccountKind::VerificationExpense], amount);
    assert_eq!(after[&AccountKind::ProviderReserve], -amount, "out of the provider's reserve");
    assert_eq!((after[&AccountKind::MerchantAvailable], after[&AccountKind::MerchantPayoutInTransit]), (0, 0));
    let taken = run_blocking(&app.pool, move |conn| {
        storage::sandbox_payouts::count_since(conn, Utc::now() - chrono::Duration::hours(1))
    })
    .await
    .expect("counted");
    assert_eq!(taken, 1, "the channel was asked once");

    // Its amount proves the account: finance sees the payout, not what it paid; an admin does.
    let yuan = deposit.amount_fen.to_yuan_string();
    let detail = format!("/admin/payouts/{}", payout.id);
    app.sign_in_as("fiona", storage::operators::Role::Finance).await;
    for path in [detail.as_str(), "/admin/payouts", "/admin/payouts?format=csv"] {
        let (_, page) = app.get_text(path).await;
        assert!(page.contains("仅管理员可见") && !page.contains(&yuan), "{path}: {page}");
    }
    app.sign_in_as("ada", storage::operators::Role::Admin).await;
    let (_, page) = app.get_text(&detail).await;
    assert!(
        page.contains(&yuan) && page.matches("<tr data-entry=").count() == 3,
        "sent, and out of the reserve: {page}"
    );
}

#[tokio::test]
async fn a_scheduled_payouts_result_is_told_to_the_merchants_payout_notify_url() {
    let app = e2e::spawn_app().await;
    let (sub_merchant_id, _) = app.merchant_client("told-on-schedule", domain::onboarding::SignType::Rsa2, None).await;
    let merchant_id = make_available(&app, &sub_merchant_id, 500_000).await;
    let received = receiver().await;
    let url = received.url.clone();
    app.sign_in_as("finn", storage::operators::Role::Finance).await;
    let path = format!("/admin/merchants/{merchant_id}/payout-notify-url");
    assert_eq!(app.post_form(&path, &[("url", "not a url")]).await.status(), reqwest::StatusCode::BAD_REQUEST);
    let nobody = app.post_form("/admin/merchants/999999/payout-notify-url", &[("url", &url)]).await;
    assert_eq!(nobody.status(), reqwest::StatusCode::NOT_FOUND);
    assert_eq!(app.post_form(&path, &[("url", &url)]).await.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&format!("/admin/merchants/{merchant_id}")).await;
    assert!(page.contains(&format!(r#"<code id="payout-notify-url">{url}</code>"#)), "{page}");

    let run = app.post_form("/admin/payouts/runs", &[("sub_merchant_id", &sub_merchant_id)]).await;
    assert_eq!(run.status(), reqwest::StatusCode::SEE_OTHER);
    let paid = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    let told = received.first_within(Duration::from_secs(20)).await;
    let (form, field) = (&told.form, |name: &str| told.field(name).map(str::to_string));
    assert_eq!(field("kind").as_deref(), Some("scheduled"), "{form:?}");
    assert_eq!(field("status").as_deref(), Some("succeeded"));
    assert_eq!(field("withdraw_no").as_deref(), Some(paid.out_trade_no.as_str()));
    assert_eq!(field("out_withdraw_no").as_deref(), Some(""));
    assert!(field("sign").is_some_and(|sign| !sign.is_empty()), "signed like every notification");

    // Cleared, with the change audited.
    assert_eq!(app.post_form(&path, &[("url", "")]).await.status(), reqwest::StatusCode::SEE_OTHER);
    let audited = run_blocking(&app.pool, move |conn| {
        storage::audit::last_actor(conn, "merchant.payout_notify_url", &format!("merchant:{merchant_id}"))
    })
    .await
    .expect("audit read");
    let audited = audited.expect("audited");
    assert_eq!(
        (audited.actor.as_str(), &audited.after),
        ("finn", &Some(serde_json::json!({ "payout_notify_url": null })))
    );
    assert_eq!(audited.before, Some(serde_json::json!({ "payout_notify_url": url })));
}
