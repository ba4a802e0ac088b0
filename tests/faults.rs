//! Faults under load, with the real binary (issue 16): PostgreSQL cut away (every connection
//! dropped, new ones refused, as in a restart) and Redis stopped, while clients place orders and
//! pay them at the cashier. What must hold: every request gets a clean answer (the order, or a
//! `-200` / 503 to retry) and never a 500 or a broken reply; nothing acknowledged is lost and
//! nothing is doubled; the server recovers by itself within 5 s of the service's return.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
use domain::onboarding::SignType;
use e2e::{
    TestApp,
    binary::{BinaryConfig, RunningBinary},
    gateway_client::Client,
    new_client,
    proxy::Proxy,
    redis::OwnRedis,
};
use serde_json::{Value, json};
use storage::testing::TestDatabase;

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const CLIENTS: usize = 4;

/// What the clients saw.
#[derive(Default)]
struct Tally {
    /// Acknowledged orders: out_trade_no → (trade_no, cashier code).
    placed: HashMap<String, (String, String)>,
    /// Orders whose payment the cashier acknowledged.
    paid: Vec<String>,
    /// Answers that say "try again": a `-200` reply or a 503.
    retry_later: usize,
    /// Anything else that is not a success: must stay empty.
    unclean: Vec<String>,
    /// When a request last succeeded.
    last_success: Option<Instant>,
    successes: usize,
}

/// The real binary against its own database (through `database_url`), with the app a test reads
/// that database by directly.
async fn started(database: TestDatabase, database_url: &str, redis_url: &str) -> (RunningBinary, Arc<TestApp>) {
    // The gateway's rate limit is not what these tests are about: on a fast machine four clients
    // can pass its 50 a second, and a -221 is not a fault's answer.
    let config = BinaryConfig::new(database_url, redis_url)
        .with("DATABASE__POOL_SIZE", "6")
        .with("GATEWAY__RATE_LIMIT_PER_SECOND", "100000")
        .with("GATEWAY__RATE_LIMIT_BURST", "100000");
    let binary = RunningBinary::serve(&config).await;
    let pool = storage::database::connect(database.url(), 4).expect("a pool");
    let app = TestApp {
        address: binary.address.clone(),
        port: binary.port,
        database,
        pool,
        client: new_client(),
        redis_prefix: format!("binary:{}:", binary.port),
    };
    (binary, Arc::new(app))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("a client")
}

/// One order placed and paid, as a merchant's system and a payer would.
async fn place_and_pay(app: &TestApp, client: &Client, sub_merchant_id: &str, number: String, tally: &Mutex<Tally>) {
    let content = json!({
        "out_trade_no": number, "sub_merchant_id": sub_merchant_id, "body": "fault", "total_fee": "12.34",
        "order_type": "0", "notify_url": "http://127.0.0.1:9/notify"
    });
    let body = client.json_envelope(UNIORDER, &content.to_string());
    let sent = http().post(app.url("/gateway")).header("Content-Type", "application/json").body(body).send().await;
    let placed = match sent {
        Err(error) => return note(tally, format!("uniorder: no answer: {error}")),
        Ok(response) if response.status() == 503 => return retry_later(tally),
        Ok(response) if response.status() != 200 => {
            return note(tally, format!("uniorder: HTTP {}", response.status()));
        }
        Ok(response) => match response.json::<Value>().await {
            Ok(reply) if reply["success"] == true => reply["return_value"].clone(),
            Ok(reply) if reply["error_code"] == "-200" => return retry_later(tally),
            Ok(reply) => return note(tally, format!("uniorder: {reply}")),
            Err(error) => return note(tally, format!("uniorder: not JSON: {error}")),
        },
    };
    let trade_no = placed["trade_no"].as_str().unwrap_or_default().to_string();
    let code = placed["qr_code"].as_str().and_then(|qr| qr.split("c=").nth(1)).unwrap_or_default().to_string();
    {
        let mut tally = tally.lock().expect("tally");
        tally.placed.insert(number, (trade_no.clone(), code.clone()));
        success(&mut tally);
    }
    match pay(app, &code).await {
        Ok(true) => {
            let mut tally = tally.lock().expect("tally");
            tally.paid.push(trade_no);
            success(&mut tally);
        }
        Ok(false) => retry_later(tally),
        Err(why) => note(tally, why),
    }
}

/// Pays at the sandbox cashier: `Ok(true)` paid, `Ok(false)` "try again later".
async fn pay(app: &TestApp, code: &str) -> Result<bool, String> {
    let sent = http().post(app.url("/cashier/pay")).form(&[("c", code), ("outcome", "pay")]).send().await;
    match sent {
        Err(error) => Err(format!("pay: no answer: {error}")),
        Ok(response) if response.status() == 200 => Ok(true),
        Ok(response) if response.status() == 503 => Ok(false),
        // Paid already (an answer lost when the connection was cut after the commit).
        Ok(response) if response.status() == 410 => Ok(true),
        Ok(response) => {
            let status = response.status();
            Err(format!(
                "pay: HTTP {status}: {}",
                response.text().await.unwrap_or_default().chars().take(300).collect::<String>()
            ))
        }
    }
}

/// Every answer was the result or a clean "try again". The message is short and starts with
/// the answers (CI shows only the head of a failure).
fn assert_clean(tally: &Tally) {
    let first: Vec<String> = tally.unclean.iter().take(3).map(|why| why.chars().take(200).collect()).collect();
    assert!(tally.unclean.is_empty(), "{} unclean answers, the first: {first:?}", tally.unclean.len());
}

fn success(tally: &mut Tally) {
    tally.last_success = Some(Instant::now());
    tally.successes += 1;
}

fn retry_later(tally: &Mutex<Tally>) {
    tally.lock().expect("tally").retry_later += 1;
}

fn note(tally: &Mutex<Tally>, why: String) {
    tally.lock().expect("tally").unclean.push(why);
}

/// CLIENTS clients placing and paying orders until `stop` is set.
fn load(
    app: &Arc<TestApp>,
    client: &Arc<Client>,
    sub_merchant_id: &str,
    tally: &Arc<Mutex<Tally>>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CLIENTS)
        .map(|worker| {
            let (app, client, tally, stop) = (app.clone(), client.clone(), tally.clone(), stop.clone());
            let sub_merchant_id = sub_merchant_id.to_string();
            tokio::spawn(async move {
                let mut count = 0;
                while !stop.load(Ordering::SeqCst) {
                    count += 1;
                    place_and_pay(&app, &client, &sub_merchant_id, format!("F{worker}x{count}"), &tally).await;
                }
            })
        })
        .collect()
}

/// Waits until a request succeeds after `since`; how long that took.
async fn recovered_after(tally: &Mutex<Tally>, since: Instant, within: Duration) -> Duration {
    while since.elapsed() < within {
        if tally.lock().expect("tally").last_success.is_some_and(|at| at > since) {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no request succeeded within {within:?} of the service's return");
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut diesel::PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).expect("a count").count
}

/// Every acknowledged order exists once; every paid order has exactly one entry and one
/// notification; the ledger adds up.
fn check_nothing_lost_or_doubled(app: &TestApp, tally: &Tally) {
    let mut conn = app.database.connection();
    for number in tally.placed.keys() {
        let found = count(&mut conn, &format!("SELECT count(*) AS count FROM orders WHERE out_trade_no = '{number}'"));
        assert_eq!(found, 1, "acknowledged order {number}");
    }
    for trade_no in &tally.paid {
        let state = count(
            &mut conn,
            &format!("SELECT count(*) AS count FROM orders WHERE trade_no = '{trade_no}' AND state = 'paid'"),
        );
        assert_eq!(state, 1, "acknowledged payment of {trade_no}");
    }
    let doubled = [
        "SELECT count(*) AS count FROM orders o WHERE o.state <> 'waiting' AND o.state <> 'closed'
            AND (SELECT count(*) FROM ledger_entries e WHERE e.order_id = o.id AND e.kind = 'order_paid') <> 1",
        "SELECT count(*) AS count FROM orders o WHERE o.state <> 'waiting' AND o.state <> 'closed'
            AND (SELECT count(*) FROM notifications n WHERE n.order_id = o.id AND n.kind = 'order_paid') <> 1",
        "SELECT count(*) AS count FROM orders o WHERE o.state = 'waiting'
            AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.order_id = o.id)",
    ];
    for sql in doubled {
        assert_eq!(count(&mut conn, sql), 0, "{sql}");
    }
    let trial = ledger::reports::trial_balance(&mut conn).expect("the trial balance");
    assert!(trial.is_balanced(), "debits equal credits and every balance equals its postings");
    let entries = storage::ledger_verification::check_entries(&mut conn, 0, i64::MAX / 2).expect("entries checked");
    assert!(entries.mismatches.is_empty(), "every entry balances: {:?}", entries.mismatches);
}

/// Pays every acknowledged order whose payment got "try again later", as the payer (or the
/// channel, retrying its callback) would.
async fn retry_payments(app: &TestApp, tally: &Arc<Mutex<Tally>>) {
    let unpaid: Vec<(String, String)> = {
        let tally = tally.lock().expect("tally");
        tally.placed.values().filter(|(trade_no, _)| !tally.paid.contains(trade_no)).cloned().collect()
    };
    for (trade_no, code) in unpaid {
        let started = Instant::now();
        loop {
            match pay(app, &code).await {
                Ok(true) => break,
                Ok(false) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("paying {trade_no} again after recovery: {other:?}"),
            }
        }
        tally.lock().expect("tally").paid.push(trade_no);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cut_away_under_load_loses_and_doubles_nothing_and_the_server_recovers() {
    let database = TestDatabase::new();
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let through_proxy = database.url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(through_proxy, database.url(), "the test database is on 127.0.0.1:5432");
    let (binary, app) = started(database, &through_proxy, "redis://127.0.0.1:6379").await;
    let (sub_merchant_id, client) = app.merchant_client("fault-pg", SignType::Rsa2, None).await;
    let (client, tally, stop) =
        (Arc::new(client), Arc::new(Mutex::new(Tally::default())), Arc::new(AtomicBool::new(false)));
    let clients = load(&app, &client, &sub_merchant_id, &tally, &stop);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before_return = tally.lock().expect("tally").successes;
    proxy.restore();
    let back = Instant::now();
    let recovery = recovered_after(&tally, back, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("a client");
    }
    retry_payments(&app, &tally).await;

    let tally = tally.lock().expect("tally");
    assert_clean(&tally);
    assert!(tally.retry_later > 0, "the cut was felt");
    assert!(tally.successes > before_return, "work went on after the return");
    check_nothing_lost_or_doubled(&app, &tally);
    eprintln!(
        "postgres cut: {} orders acknowledged, {} paid, {} 'try again' answers, recovered {:?} after the return",
        tally.placed.len(),
        tally.paid.len(),
        tally.retry_later,
        recovery
    );
    drop(binary);
}

async fn readiness(app: &TestApp) -> String {
    match http().get(app.url("/readyz")).send().await {
        Ok(response) => response
            .json::<Value>()
            .await
            .map_or_else(|_| "unreadable".into(), |body| body["status"].as_str().unwrap_or("").to_string()),
        Err(_) => "no answer".into(),
    }
}

async fn wait_for_readiness(app: &TestApp, wanted: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if readiness(app).await == wanted {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz did not say {wanted} within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_under_load_changes_no_answer_and_is_used_again_when_it_returns() {
    let port = e2e::free_port();
    let redis = OwnRedis::start(port).await;
    let database = TestDatabase::new();
    let database_url = database.url().to_string();
    let (binary, app) = started(database, &database_url, &redis.url()).await;
    wait_for_readiness(&app, "ready", Duration::from_secs(5)).await;
    let (sub_merchant_id, client) = app.merchant_client("fault-redis", SignType::Rsa2, None).await;
    let (client, tally, stop) =
        (Arc::new(client), Arc::new(Mutex::new(Tally::default())), Arc::new(AtomicBool::new(false)));
    let clients = load(&app, &client, &sub_merchant_id, &tally, &stop);

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(redis.key_count() > 0, "the server keeps its rate limits in Redis");
    drop(redis);
    wait_for_readiness(&app, "degraded", Duration::from_secs(5)).await;
    // Sign-in throttling falls back to the database: a wrong password is an ordinary refusal.
    let refused = app.login_with(&new_client(), "nobody", "wrong-password-entirely").await;
    assert_eq!(refused.status(), 401, "an ordinary refusal, not an error");
    let during = tally.lock().expect("tally").successes;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(tally.lock().expect("tally").successes > during, "orders are placed and paid without Redis");

    let redis = OwnRedis::start(port).await;
    let back = wait_for_readiness(&app, "ready", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("a client");
    }
    assert!(redis.key_count() > 0, "the server uses the returned Redis again");
    let tally = tally.lock().expect("tally");
    assert_clean(&tally);
    assert_eq!(tally.retry_later, 0, "nothing needed Redis to answer");
    check_nothing_lost_or_doubled(&app, &tally);
    eprintln!(
        "redis stopped: {} orders acknowledged, {} paid, ready again {back:?} after Redis returned",
        tally.placed.len(),
        tally.paid.len()
    );
    drop(binary);
}
