//! A bounded soak with the server killed (issue 16): for `SOAK_SECONDS`, clients place orders, pay
//! them at the cashier, refund some and query them, the merchant's notify receiver fails some
//! deliveries, and the workers settle old payments and pay merchants out — while the real binary
//! is killed with SIGKILL at random moments (every `SOAK_KILL_EVERY_MS` on average) and started
//! again on the same port. A client whose request gets no answer sends the same request again
//! (same numbers), as a merchant's system does.
//!
//! Afterwards: every order a client saw acknowledged exists once; every paid order has exactly
//! one entry and one notification; no order is refunded beyond its payment and every
//! acknowledged refund exists once; every notification is delivered or still scheduled; every
//! payout reached the sandbox at most once; the trial balance is zero, every balance equals its
//! postings and every entry balances.
//!
//! The default test run soaks for 8 s; `scripts/soak` runs it longer and prints the figures kept
//! in RELIABILITY.md.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
use domain::{calendar::BusinessCalendar, onboarding::SignType};
use e2e::{
    TestApp,
    binary::{BinaryConfig, RunningBinary},
    gateway_client::Client,
    new_client,
    receiver::{Answer, Receiver, answer},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use storage::{jobs::Job, testing::TestDatabase};

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const REFUND: &str = "fshows.liquidation.pay.refund";
const QUERY: &str = "fshows.liquidation.alipay.trade.query";
const CLIENTS: usize = 3;
/// Merchants with settled money and a payout slot that has come, and with older payments still
/// to settle: the workers' share of the soak.
const PAYOUT_MERCHANTS: usize = 12;

fn number_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// What the clients saw acknowledged, and anything that was not a clean answer.
#[derive(Default)]
struct Seen {
    /// out_trade_no → trade_no
    orders: HashMap<String, String>,
    paid: Vec<String>,
    /// out_refund_no → (out_trade_no, fen)
    refunds: HashMap<String, (String, i64)>,
    queries: usize,
    /// Requests sent again after no answer (the server was down).
    resent: usize,
    anomalies: Vec<String>,
}

/// A gateway call's outcome: the reply, or "no answer" (send it again).
enum Called {
    Reply(Value),
    NoAnswer,
}

async fn call(app: &TestApp, client: &Client, method: &str, content: &Value) -> Result<Called, String> {
    let body = client.json_envelope(method, &content.to_string());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    let sent = http.post(app.url("/gateway")).header("Content-Type", "application/json").body(body).send().await;
    let response = match sent {
        Err(_) => return Ok(Called::NoAnswer),
        Ok(response) => response,
    };
    let status = response.status().as_u16();
    match (status, response.text().await) {
        (_, Err(_)) => Ok(Called::NoAnswer),
        (503, _) => Ok(Called::NoAnswer),
        (200, Ok(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(reply) if reply["error_code"] == "-200" => Ok(Called::NoAnswer),
            Ok(reply) => Ok(Called::Reply(reply)),
            Err(_) => Err(format!("{method}: not JSON: {text}")),
        },
        (status, Ok(text)) => Err(format!("{method}: HTTP {status}: {text}")),
    }
}

/// Sends the same request until it is answered (or the soak is over): `None` when it never was.
async fn until_answered(
    app: &TestApp,
    client: &Client,
    method: &str,
    content: Value,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
) -> Option<Value> {
    loop {
        match call(app, client, method, &content).await {
            Ok(Called::Reply(reply)) => return Some(reply),
            Ok(Called::NoAnswer) if !stop.load(Ordering::SeqCst) => {
                seen.lock().expect("seen").resent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Called::NoAnswer) => return None,
            Err(why) => {
                seen.lock().expect("seen").anomalies.push(why);
                return None;
            }
        }
    }
}

/// Pays at the sandbox cashier, again after no answer: whether it was acknowledged.
async fn pay(app: &TestApp, code: &str, stop: &AtomicBool, seen: &Mutex<Seen>) -> bool {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    loop {
        let sent = http.post(app.url("/cashier/pay")).form(&[("c", code), ("outcome", "pay")]).send().await;
        match sent.map(|response| response.status().as_u16()) {
            // 410: paid already, by an earlier try whose answer was lost.
            Ok(200 | 410) => return true,
            Ok(503) | Err(_) if !stop.load(Ordering::SeqCst) => {
                seen.lock().expect("seen").resent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(503) | Err(_) => return false,
            Ok(status) => {
                seen.lock().expect("seen").anomalies.push(format!("pay: HTTP {status}"));
                return false;
            }
        }
    }
}

/// One client's round: an order placed, paid, every third one partly refunded, then queried.
async fn round(
    app: &TestApp,
    client: &Client,
    sub_merchant_id: &str,
    number: String,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
) {
    let content = json!({
        "out_trade_no": number, "sub_merchant_id": sub_merchant_id, "body": "soak", "total_fee": "20.00",
        "order_type": "0", "notify_url": NOTIFY_URL.get().expect("the receiver")
    });
    let Some(reply) = until_answered(app, client, UNIORDER, content, stop, seen).await else { return };
    if reply["success"] != true {
        return seen.lock().expect("seen").anomalies.push(format!("uniorder refused: {reply}"));
    }
    let trade_no = reply["return_value"]["trade_no"].as_str().unwrap_or_default().to_string();
    let code = reply["return_value"]["qr_code"].as_str().and_then(|qr| qr.split("c=").nth(1)).unwrap_or_default();
    seen.lock().expect("seen").orders.insert(number.clone(), trade_no.clone());
    if !pay(app, code, stop, seen).await {
        return;
    }
    seen.lock().expect("seen").paid.push(trade_no.clone());
    if number.ends_with(['0', '3', '6', '9']) {
        let out_refund_no = format!("R{number}");
        let content = json!({ "out_trade_no": number, "out_refund_no": out_refund_no, "refund_fee": "7.50" });
        match until_answered(app, client, REFUND, content, stop, seen).await {
            Some(reply) if reply["success"] == true => {
                seen.lock().expect("seen").refunds.insert(out_refund_no, (number.clone(), 750));
            }
            Some(reply) => seen.lock().expect("seen").anomalies.push(format!("refund refused: {reply}")),
            None => {}
        }
    }
    if until_answered(app, client, QUERY, json!({ "trade_no": trade_no }), stop, seen).await.is_some() {
        seen.lock().expect("seen").queries += 1;
    }
}

static NOTIFY_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A receiver that fails about one delivery in three (500), the rest acknowledged.
async fn flaky_receiver() -> Receiver {
    let mut rng = StdRng::seed_from_u64(20261206);
    let script: Vec<Answer> =
        (0..5_000).map(|_| if rng.gen_ratio(1, 3) { answer(500, "busy") } else { answer(200, "success") }).collect();
    Receiver::start(script, Some(Duration::ZERO)).await
}

/// Merchants with money settled and available, a daily payout slot that has come, and older
/// payments of their own still to settle.
fn seed_payout_work(conn: &mut PgConnection) {
    let calendar = BusinessCalendar::default();
    let policy = ledger::settlement::Policy { calendar, require_reconciliation: false };
    let mut shops = Vec::new();
    for index in 0..PAYOUT_MERCHANTS {
        let mut raw = onboarding::testing::application(&format!("soak-payee-{index}"));
        raw.account_number = Some(orders::testing::card_ending(["2222", "4444", "7777", "3333"][index % 4]));
        let shop = orders::testing::shop_from(conn, &raw);
        orders::testing::paid(
            conn,
            &calendar,
            &shop,
            &format!("OLD{index}"),
            10_000,
            Utc::now() - chrono::Duration::days(6),
        );
        shops.push(shop);
    }
    ledger::settlement::settle_due(conn, &policy, Utc::now(), 100_000).expect("settled");
    for (index, shop) in shops.iter().enumerate() {
        orders::testing::paid(
            conn,
            &calendar,
            shop,
            &format!("LATER{index}"),
            5_000,
            Utc::now() - chrono::Duration::days(4),
        );
        orders::testing::daily_payout_slot(conn, shop.merchant_id);
    }
}

/// Nudges the workers' periodic jobs, so the soak need not wait for their minutes.
fn nudge_workers(conn: &mut PgConnection) {
    let jobs = [ledger::jobs::Settle.now(), payouts::jobs::ScheduleRuns.now(), payouts::jobs::QueryPayouts.now()];
    for job in jobs {
        // The database may be busy with a restarting server; the next nudge comes soon.
        let _ = storage::jobs::enqueue(conn, job.expect("a job"));
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).expect("a count").count
}

fn check(conn: &mut PgConnection, seen: &Seen) -> Vec<String> {
    let mut problems = Vec::new();
    for (number, trade_no) in &seen.orders {
        let found = count(
            conn,
            &format!(
                "SELECT count(*) AS count FROM orders WHERE out_trade_no = '{number}' AND trade_no = '{trade_no}'"
            ),
        );
        if found != 1 {
            problems.push(format!("acknowledged order {number}: {found} rows"));
        }
    }
    for trade_no in &seen.paid {
        let paid = count(
            conn,
            &format!(
                "SELECT count(*) AS count FROM orders WHERE trade_no = '{trade_no}' AND state <> 'waiting' AND state <> 'closed'"
            ),
        );
        if paid != 1 {
            problems.push(format!("acknowledged payment of {trade_no} is not paid"));
        }
    }
    for (out_refund_no, (number, fen)) in &seen.refunds {
        let found = count(
            conn,
            &format!(
                "SELECT count(*) AS count FROM refunds r JOIN orders o ON o.id = r.order_id
                  WHERE r.out_refund_no = '{out_refund_no}' AND o.out_trade_no = '{number}' AND r.refund_fee_fen = {fen}"
            ),
        );
        if found != 1 {
            problems.push(format!("acknowledged refund {out_refund_no}: {found} rows"));
        }
    }
    let invariants = [
        ("a paid order without exactly one payment entry",
         "SELECT count(*) AS count FROM orders o WHERE o.state NOT IN ('waiting', 'closed')
            AND (SELECT count(*) FROM ledger_entries e WHERE e.order_id = o.id AND e.kind = 'order_paid') <> 1"),
        ("a paid order without exactly one notification",
         "SELECT count(*) AS count FROM orders o WHERE o.state NOT IN ('waiting', 'closed') AND o.notify_url IS NOT NULL
            AND (SELECT count(*) FROM notifications n WHERE n.order_id = o.id AND n.kind = 'order_paid') <> 1"),
        ("an unpaid order with an entry",
         "SELECT count(*) AS count FROM orders o WHERE o.state = 'waiting'
            AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.order_id = o.id)"),
        ("an order refunded beyond its payment",
         "SELECT count(*) AS count FROM orders o
           WHERE o.refunded_fen > o.total_fee_fen
              OR (SELECT COALESCE(sum(r.refund_fee_fen), 0) FROM refunds r WHERE r.order_id = o.id AND r.state <> 'failed') > o.total_fee_fen"),
        ("a refund without exactly one entry",
         "SELECT count(*) AS count FROM refunds r
           WHERE (SELECT count(*) FROM ledger_entries e WHERE e.refund_id = r.id AND e.kind = 'refund') <> 1"),
        ("a notification neither delivered nor scheduled",
         "SELECT count(*) AS count FROM notifications WHERE state = 'failed'"),
        ("a payout handed to the sandbox more than once",
         "SELECT count(*) AS count FROM (SELECT out_trade_no FROM sandbox_payouts GROUP BY out_trade_no HAVING count(*) > 1) d"),
        ("a merchant paid out twice in one run",
         "SELECT count(*) AS count FROM (SELECT run_id, merchant_id FROM payouts WHERE run_id IS NOT NULL
            GROUP BY run_id, merchant_id HAVING count(*) > 1) d"),
    ];
    for (what, sql) in invariants {
        let found = count(conn, sql);
        if found != 0 {
            problems.push(format!("{what}: {found}"));
        }
    }
    let trial = ledger::reports::trial_balance(conn).expect("the trial balance");
    if !trial.is_balanced() {
        problems.push(format!(
            "the trial balance is off by {} fen or a balance differs from its postings",
            trial.difference_fen().fen()
        ));
    }
    let entries = storage::ledger_verification::check_entries(conn, 0, i64::MAX / 2).expect("entries checked");
    problems.extend(entries.mismatches);
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_soak_with_the_server_killed_loses_and_doubles_nothing() {
    let seconds = number_from_env("SOAK_SECONDS", 8);
    let kill_every_ms = number_from_env("SOAK_KILL_EVERY_MS", 1_500);
    let database = TestDatabase::new();
    let mut conn = database.connection();
    seed_payout_work(&mut conn);
    let receiver = flaky_receiver().await;
    NOTIFY_URL.get_or_init(|| receiver.url.clone());
    let config = BinaryConfig::new(database.url(), "redis://127.0.0.1:6379")
        .with("LEDGER__REQUIRE_RECONCILIATION", "false")
        .with("PAYOUTS__WEEKENDS_ARE_PAYOUT_DAYS", "true")
        .with("WORKERS__LEASE_SECONDS", "2")
        .with("GATEWAY__RATE_LIMIT_PER_SECOND", "100000")
        .with("GATEWAY__RATE_LIMIT_BURST", "100000");
    let server = Arc::new(Mutex::new(Some(RunningBinary::serve(&config).await)));
    let app = Arc::new(TestApp {
        address: config.address(),
        port: config.port,
        pool: storage::database::connect(database.url(), 4).expect("a pool"),
        database,
        client: new_client(),
        redis_prefix: format!("binary:{}:", config.port),
    });
    let (sub_merchant_id, client) = app.merchant_client("soak-shop", SignType::Rsa2, None).await;
    let (client, seen, stop) =
        (Arc::new(client), Arc::new(Mutex::new(Seen::default())), Arc::new(AtomicBool::new(false)));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|worker| {
            let (app, client, seen, stop) = (app.clone(), client.clone(), seen.clone(), stop.clone());
            let sub_merchant_id = sub_merchant_id.clone();
            tokio::spawn(async move {
                let mut count = 0;
                while !stop.load(Ordering::SeqCst) {
                    count += 1;
                    round(&app, &client, &sub_merchant_id, format!("S{worker}x{count}"), &stop, &seen).await;
                }
            })
        })
        .collect();
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (server, kills, stop, config) = (server.clone(), kills.clone(), stop.clone(), config.clone());
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(16);
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(rng.gen_range(kill_every_ms / 4..=kill_every_ms * 7 / 4)))
                    .await;
                if let Some(running) = server.lock().expect("server").take() {
                    running.kill();
                }
                kills.fetch_add(1, Ordering::SeqCst);
                let restarted = RunningBinary::serve(&config).await;
                *server.lock().expect("server") = Some(restarted);
            }
        })
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        nudge_workers(&mut conn);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::SeqCst);
    killer.await.expect("the killer");
    for client in clients {
        client.await.expect("a client");
    }
    // The last server left running: its workers finish what the kills interrupted.
    for _ in 0..10 {
        nudge_workers(&mut conn);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let seen = seen.lock().expect("seen");
    let mut problems = seen.anomalies.clone();
    problems.extend(check(&mut conn, &seen));
    let operations = seen.orders.len() + seen.paid.len() + seen.refunds.len() + seen.queries;
    let payouts = count(&mut conn, "SELECT count(*) AS count FROM payouts");
    let settled = count(&mut conn, "SELECT count(*) AS count FROM settlements");
    let delivered = count(&mut conn, "SELECT count(*) AS count FROM notifications WHERE state = 'delivered'");
    let scheduled = count(&mut conn, "SELECT count(*) AS count FROM notifications WHERE state = 'pending'");
    let attempts = count(&mut conn, "SELECT count(*) AS count FROM notification_attempts");
    println!(
        "soak: {seconds} s, {} kills, {operations} operations acknowledged ({} orders, {} paid, {} refunds, {} queries), \
         {} requests sent again, {settled} settlements, {payouts} payouts, notifications {delivered} delivered and \
         {scheduled} scheduled ({attempts} attempts), {} anomalies",
        kills.load(Ordering::SeqCst),
        seen.orders.len(),
        seen.paid.len(),
        seen.refunds.len(),
        seen.queries,
        seen.resent,
        problems.len()
    );
    let shown: Vec<String> = problems.iter().take(20).map(|problem| problem.chars().take(300).collect()).collect();
    assert!(problems.is_empty(), "{} problems, the first: {shown:#?}", problems.len());
    assert!(kills.load(Ordering::SeqCst) > 0 && !seen.paid.is_empty(), "the soak did its work under kills");
    drop(server.lock().expect("server").take());
}
