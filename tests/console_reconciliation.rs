//! Reconciliation in the console: a pasted bill is matched, its differences are listed and
//! resolved with a note (audited), and the day then counts as reconciled; bad input changes nothing.
use chrono::{Duration, Utc};
use domain::{Amount, calendar::BusinessCalendar, onboarding::SignType};
use e2e::{TestApp, spawn_app_with, unescape};
use reqwest::StatusCode;
use serde_json::json;
use storage::{database::run_blocking, operators::Role};

/// Without workers: the hourly reconciliation job would import yesterday's (then empty) sandbox bill
/// before these tests book payments back-dated into it.
async fn spawn_app() -> TestApp {
    spawn_app_with(|settings| settings.workers.enabled = false).await
}

/// Two orders of one merchant paid yesterday; returns yesterday's business date.
async fn yesterdays_orders(app: &TestApp) -> chrono::NaiveDate {
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let paid_at = Utc::now() - Duration::days(1);
    for (out_trade_no, total_fee) in [("Y1", "10.00"), ("Y2", "20.00")] {
        let content = json!({ "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "公仔",
            "total_fee": total_fee, "order_type": "0" });
        let reply = app.call(&client, "fshows.liquidation.jdpay.uniorder", content).await;
        let trade_no = reply["return_value"]["trade_no"].as_str().expect("placed").to_string();
        run_blocking(&app.pool, move |conn| {
            let report = orders::lifecycle::PaymentReport {
                channel: "sandbox",
                trade_no: &trade_no,
                payload: json!({}),
                at: paid_at,
            };
            orders::lifecycle::record_payment(conn, &BusinessCalendar::default(), report)
        })
        .await
        .expect("paid");
    }
    BusinessCalendar::default().date_of(paid_at)
}

/// Our own bill of the day, with the first line's amount off by a fen.
async fn doctored_bill(app: &TestApp, date: chrono::NaiveDate) -> String {
    let mut lines = run_blocking(&app.pool, move |conn| ledger::bill::lines(conn, date, None)).await.expect("bill");
    lines[0].amount = Amount::from_fen(lines[0].amount.fen() + 1);
    channel::bill::to_csv(&lines).expect("csv")
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().expect("location").to_string()
}

#[tokio::test]
async fn a_pasted_bill_is_matched_and_its_difference_resolved_reconciles_the_day() {
    let app = spawn_app().await;
    let date = yesterdays_orders(&app).await;
    let day = date.format("%Y-%m-%d").to_string();
    let bill = doctored_bill(&app, date).await;

    // A viewer sees the page but cannot import.
    app.sign_in_as("vera", Role::Viewer).await;
    let (status, page) = app.get_text("/admin/reconciliation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("/admin/reconciliation/import"));
    let refused = app.post_form("/admin/reconciliation/import", &[("business_date", &day), ("bill", &bill)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    app.sign_in_as("finn", Role::Finance).await;
    // Today by the business calendar (China time), which is not UTC's today after 16:00 UTC.
    let today = BusinessCalendar::default().date_of(Utc::now()).format("%Y-%m-%d").to_string();
    for (date, bill, message) in [
        ("2026-13-01", bill.as_str(), "有效的营业日"),
        (today.as_str(), bill.as_str(), "尚未日切"),
        (day.as_str(), "bill_type,trade_no\nPAY\n", "对账单无法解析"),
    ] {
        let response = app.post_form("/admin/reconciliation/import", &[("business_date", date), ("bill", bill)]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{date}");
        let page = unescape(&response.text().await.expect("page"));
        assert!(page.contains(message), "{message}");
        assert!(page.contains(bill.lines().next().unwrap_or_default()), "the pasted bill is kept");
    }

    let response = app.post_form("/admin/reconciliation/import", &[("business_date", &day), ("bill", &bill)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let run_page = location(&response);
    let (_, page) = app.get_text(&run_page).await;
    assert!(page.contains("id=\"matched\">1<") && page.contains("id=\"open\">1<"), "{page}");
    assert!(page.contains("金额不符") && page.contains("未对账"), "{page}");
    let difference = page.split("data-difference=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let resolve = format!("/admin/reconciliation/differences/{difference}/resolve");

    let blank = app.post_form(&resolve, &[("note", "  ")]).await;
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);
    assert!(blank.text().await.unwrap().contains("请填写处理说明"));
    let note = format!("channel fee correction, ticket 7 {}", e2e::HOSTILE_TEXT);
    let done = app.post_form(&resolve, &[("note", &note)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&location(&done)).await;
    assert!(page.contains("id=\"open\">0<") && page.contains("已对账"), "the day is reconciled");
    assert!(e2e::shows_escaped(&page, &note), "the note as typed, escaped");
    let again = app.post_form(&resolve, &[("note", "again")]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    let reconciled = run_blocking(&app.pool, move |conn| storage::ledger::business_day(conn, date)).await.unwrap();
    assert!(reconciled.is_some_and(|day| day.reconciled_at.is_some()));
    let actions: Vec<String> = run_blocking(&app.pool, |conn| storage::audit::list(conn, &Default::default(), 50))
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| action.starts_with("reconciliation."))
        .collect();
    assert_eq!(actions, ["reconciliation.resolve", "reconciliation.import"]);
    let (_, list) = app.get_text("/admin/reconciliation").await;
    assert!(list.contains(&day) && list.contains("data-run="));
    assert_eq!(app.get_text("/admin/reconciliation/runs/999999").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_empty_bill_reads_the_sandbox_channels_own_bill() {
    let app = spawn_app().await;
    let date = yesterdays_orders(&app).await;
    app.sign_in_as("finn", Role::Finance).await;
    let day = date.format("%Y-%m-%d").to_string();
    let response = app.post_form("/admin/reconciliation/import", &[("business_date", &day), ("bill", "")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&location(&response)).await;
    // The sandbox confirmed these payments today (its callbacks), not yesterday: both are missing
    // upstream for yesterday — exactly what reconciliation is there to show.
    assert_eq!(page.matches("data-difference=").count(), 2, "{page}");
    assert!(page.contains("渠道缺失"));
}
