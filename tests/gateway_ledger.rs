//! The ledger through the gateway: `witness.balance.query`, refunds refused with `-216`, and
//! `finance.downloadbill` (SPEC §5, §7).
use chrono::{Duration, Utc};
use domain::{Amount, calendar::BusinessCalendar, onboarding::SignType};
use e2e::{TestApp, gateway_client::Client, spawn_app};
use serde_json::{Value, json};
use storage::database::run_blocking;

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const BALANCE: &str = "fshows.liquidation.witness.balance.query";
const REFUND: &str = "fshows.liquidation.pay.refund";
const QUERY: &str = "fshows.liquidation.alipay.trade.query";
const BILL: &str = "fshows.liquidation.finance.downloadbill";

fn error_code(reply: &Value) -> &str {
    reply["error_code"].as_str().unwrap_or("")
}

/// Places an order and has the sandbox channel report it paid at `paid_at`.
async fn paid_order(
    app: &TestApp,
    client: &Client,
    sub_merchant_id: &str,
    out_trade_no: &str,
    total_fee: &str,
    paid_at: chrono::DateTime<Utc>,
) -> Value {
    let content = json!({
        "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "京东公仔",
        "total_fee": total_fee, "order_type": "0"
    });
    let reply = app.call(client, UNIORDER, content).await;
    let placed = reply["return_value"].clone();
    let trade_no = placed["trade_no"].as_str().expect("trade_no").to_string();
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
    placed
}

fn fen(value: &Value) -> i64 {
    let text = value.to_string();
    Amount::parse_yuan(text.trim_matches('"')).expect("a price").fen()
}

#[tokio::test]
async fn balances_come_from_the_ledger_and_only_for_merchants_the_app_acts_for() {
    let app = spawn_app().await;
    let isv = app.isv_client("isv").await;
    let (sub_merchant_id, own) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let (_, stranger) = app.merchant_client("m2", SignType::Rsa, None).await;
    let empty = app.call(&own, BALANCE, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert_eq!(
        (fen(&empty["return_value"]["pending_balance"]), fen(&empty["return_value"]["available_balance"])),
        (0, 0)
    );
    let placed = paid_order(&app, &isv, &sub_merchant_id, "B1", "100.00", Utc::now()).await;
    let text = app.call_text(&isv, BALANCE, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert!(text.contains(r#""in_transit_balance":0.00"#), "{text}");
    let reply: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(fen(&reply["return_value"]["pending_balance"]), fen(&placed["net_receipt_amount"]));

    assert_eq!(error_code(&app.call(&stranger, BALANCE, json!({ "sub_merchant_id": sub_merchant_id })).await), "-102");
    let unknown = app.call(&own, BALANCE, json!({ "sub_merchant_id": "20990101000000000001" })).await;
    assert_eq!(error_code(&unknown), "-203");
    assert_eq!(error_code(&app.call(&own, BALANCE, json!({ "sub_merchant_id": "x" })).await), "-101");
    assert_eq!(error_code(&app.call(&own, BALANCE, json!({})).await), "-101");
}

#[tokio::test]
async fn a_refund_the_balances_cannot_cover_is_refused_with_216_and_changes_nothing() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let two_days_ago = Utc::now() - Duration::days(2);
    let placed = paid_order(&app, &client, &sub_merchant_id, "R1", "100.00", two_days_ago).await;
    let date = BusinessCalendar::default().date_of(two_days_ago);
    // Settle the order and pay most of its money out, as a payout would.
    let id = sub_merchant_id.clone();
    run_blocking(&app.pool, move |conn| -> Result<(), ledger::LedgerError> {
        let merchant = storage::merchants::find_by_sub_merchant_id(conn, &id)?.expect("merchant");
        let settled = ledger::settlement::settle(conn, merchant.id, date)?.expect("settled");
        // Waiting for approval, so it stays in transit while the test looks.
        let settings = payouts::Settings {
            approval_above: Amount::ZERO,
            ..server::Settings::default().payouts.settings().expect("settings")
        };
        let out_withdraw_no = domain::payouts::OutWithdrawNo::parse("MOST").expect("a number");
        let request = payouts::withdraw::WithdrawRequest {
            merchant_id: settled.merchant_id,
            out_withdraw_no: &out_withdraw_no,
            amount: Some(Amount::from_fen(settled.amount_fen.fen() - 100)),
            notify_url: None,
            requested_by: "test",
        };
        payouts::withdraw::withdraw(conn, &settings, &BusinessCalendar::default(), "sandbox", &request)
            .map_err(|error| ledger::LedgerError::Storage(storage::StorageError::Payload(error.to_string())))?;
        Ok(())
    })
    .await
    .expect("settled and paid out");

    let refund = json!({ "out_trade_no": "R1", "out_refund_no": "RF1", "refund_fee": "100.00" });
    let refused = app.call(&client, REFUND, refund).await;
    assert_eq!(error_code(&refused), "-216", "{refused}");
    let order = app.call(&client, QUERY, json!({ "out_trade_no": "R1" })).await;
    assert_eq!(order["return_value"]["status"], 2, "still paid: {order}");
    let small =
        app.call(&client, REFUND, json!({ "out_trade_no": "R1", "out_refund_no": "RF2", "refund_fee": "0.50" })).await;
    assert_eq!(small["success"], true, "a refund that fits in what is left goes through: {small}");
    let balance = app.call(&client, BALANCE, json!({ "sub_merchant_id": sub_merchant_id })).await;
    assert_eq!(
        fen(&balance["return_value"]["available_balance"]),
        100 - fen(&small["return_value"]["net_receipt_amount"])
    );
    assert_eq!(fen(&balance["return_value"]["in_transit_balance"]), fen(&placed["net_receipt_amount"]) - 100);
}

#[tokio::test]
async fn the_bill_of_a_closed_day_lists_its_payments_and_refunds_with_their_split() {
    let app = spawn_app().await;
    let isv = app.isv_client("isv").await;
    let (first, _) = app.merchant_client("m1", SignType::Rsa2, Some(&isv)).await;
    let (second, second_client) = app.merchant_client("m2", SignType::Rsa2, Some(&isv)).await;
    let yesterday = Utc::now() - Duration::days(1);
    let a = paid_order(&app, &isv, &first, "D1", "100.00", yesterday).await;
    let b = paid_order(&app, &isv, &second, "D2", "12.34", yesterday).await;
    paid_order(&app, &isv, &first, "D3", "5.00", Utc::now()).await;
    let refund =
        app.call(&isv, REFUND, json!({ "out_trade_no": "D3", "out_refund_no": "X", "refund_fee": "1.00" })).await;
    assert_eq!(refund["success"], true);

    let day = BusinessCalendar::default().date_of(yesterday).format("%Y%m%d").to_string();
    let bill = app.call(&isv, BILL, json!({ "bill_date": day })).await;
    let value = &bill["return_value"];
    assert_eq!((value["pay_count"].as_i64(), value["refund_count"].as_i64()), (Some(2), Some(0)), "{bill}");
    assert_eq!(fen(&value["pay_amount"]), 11_234);
    let lines = channel::bill::from_csv(value["bill_content"].as_str().expect("csv")).expect("parses");
    let trade_nos: Vec<&str> = lines.iter().map(|line| line.trade_no.as_str()).collect();
    assert_eq!(trade_nos, [a["trade_no"].as_str().unwrap(), b["trade_no"].as_str().unwrap()]);
    assert_eq!(lines[1].sub_merchant_id, second);
    assert_eq!(lines[0].net_receipt_amount.fen(), fen(&a["net_receipt_amount"]));
    assert_eq!(lines[0].liquidator_commission_fee.fen(), fen(&a["liquidator_commission_fee"]));

    // A merchant's own app sees only its own orders.
    let own = app.call(&second_client, BILL, json!({ "bill_date": day })).await;
    assert_eq!(own["return_value"]["pay_count"], 1);

    // Today has not closed yet; bad dates are invalid parameters.
    let today_date = BusinessCalendar::default().date_of(Utc::now()).format("%Y%m%d").to_string();
    assert_eq!(error_code(&app.call(&isv, BILL, json!({ "bill_date": today_date })).await), "-209");
    for bad in ["2026-11-20", "20261340", "2026112", "", "yesterday"] {
        assert_eq!(error_code(&app.call(&isv, BILL, json!({ "bill_date": bad })).await), "-101", "{bad}");
    }
}

#[tokio::test]
async fn the_settlement_worker_makes_released_days_available_and_copies_their_statement_lines() {
    let app = spawn_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let paid_at = Utc::now() - Duration::days(2);
    let placed = paid_order(&app, &client, &sub_merchant_id, "S1", "88.88", paid_at).await;
    let date = BusinessCalendar::default().date_of(paid_at);
    run_blocking(&app.pool, move |conn| -> Result<(), storage::StorageError> {
        storage::ledger::release_day(conn, date, "tester", "checked by hand")?;
        let job = storage::jobs::Job::now(&ledger::jobs::Settle)?;
        storage::jobs::enqueue(conn, job)?;
        Ok(())
    })
    .await
    .expect("released and queued");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let balance = app.call(&client, BALANCE, json!({ "sub_merchant_id": sub_merchant_id })).await;
        if fen(&balance["return_value"]["available_balance"]) == fen(&placed["net_receipt_amount"]) {
            assert_eq!(fen(&balance["return_value"]["pending_balance"]), 0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not settled: {balance}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Once its settlement is folded, a later pass of the job copies the settled day's statement
    // lines, and the statement's export reads the same from the copy as from the ledger.
    app.sign_in_as("victor", storage::operators::Role::Viewer).await;
    let export = format!("/admin/ledger/statement?merchant={sub_merchant_id}&from={date}&to={date}&format=csv");
    let (status, from_ledger) = app.get_text(&export).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(from_ledger.contains(placed["trade_no"].as_str().expect("a trade number")), "{from_ledger}");
    let rows = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            run_blocking(&pool, move |conn| {
                use diesel::RunQueryDsl;
                Ok::<_, storage::StorageError>(diesel::sql_query(sql).execute(conn)?)
            })
            .await
            .expect("counted")
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rows("SELECT 1 FROM ledger_statement_days").await == 0 {
        if rows("SELECT 1 FROM ledger_unfolded_entries").await == 0 {
            run_blocking(&app.pool, |conn| {
                storage::jobs::enqueue(conn, storage::jobs::Job::now(&ledger::jobs::Settle)?)
            })
            .await
            .expect("queued");
        }
        assert!(std::time::Instant::now() < deadline, "the settled day was not copied");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(app.get_text(&export).await.1, from_ledger, "the same export from the copy");
}
