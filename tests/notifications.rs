//! Notifications to sub-merchants (SPEC §5, seed 001) through the real outbox: orders paid through
//! the real server, a local HTTP receiver that answers as scripted, and the clock passed to
//! `deliver_due` — so the two-hour schedule is checked without waiting for it.
//!
//! The server's own workers are off: only the notifiers these tests build send anything.
use domain::{NotificationId, onboarding::SignType};
use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use e2e::{
    TestApp,
    gateway_client::Client,
    receiver::{Receiver, answer},
    spawn_app_with,
};
use fshows::signature::{Signer, string_to_sign, verify};
use gateway::notify::{Notifier, PRIVATE_ADDRESS};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use storage::{
    database::run_blocking,
    notifications::{self, AttemptRow, NotificationRow},
};
use tokio::net::TcpListener;

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";

// ---------------------------------------------------------------------------------------------
// Setup helpers.

async fn spawn_quiet_app() -> TestApp {
    spawn_app_with(|settings| settings.workers.enabled = false).await
}

/// A notifier signing with a fresh key, and that key's public half.
fn notifier(pool: storage::Pool, allow_private_addresses: bool) -> (Notifier, RsaPublicKey) {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
    let public = RsaPublicKey::from(&key);
    (Notifier::new(pool, Arc::new(Signer::new(key).expect("signer")), allow_private_addresses), public)
}

/// Places an order notifying `notify_url` and marks it paid; returns its trade_no and its
/// notification's id.
async fn paid_order(
    app: &TestApp,
    client: &Client,
    sub_merchant_id: &str,
    out_trade_no: &str,
    notify_url: &str,
) -> (String, NotificationId) {
    let content = json!({
        "out_trade_no": out_trade_no,
        "sub_merchant_id": sub_merchant_id,
        "body": "这是京东支付订单",
        "total_fee": "100.00",
        "order_type": "0",
        "notify_url": notify_url,
    });
    let reply = app.call(client, UNIORDER, content).await;
    assert_eq!(reply["success"], true, "{reply}");
    let trade_no = reply["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
    let paid = trade_no.clone();
    let id = run_blocking(&app.pool, move |conn| -> Result<NotificationId, orders::OrderError> {
        e2e::record_payment(conn, &paid)?;
        let order = storage::orders::find_by_trade_no(conn, &paid)?.expect("the order");
        let outbox = notifications::for_order(conn, order.id)?;
        assert_eq!(outbox.len(), 1, "one notification for the payment");
        Ok(outbox[0].id)
    })
    .await
    .expect("order paid");
    (trade_no, id)
}

async fn notification(app: &TestApp, id: NotificationId) -> NotificationRow {
    run_blocking(&app.pool, move |conn| notifications::find(conn, id)).await.expect("read").expect("notification")
}

async fn attempts(app: &TestApp, id: NotificationId) -> Vec<AttemptRow> {
    run_blocking(&app.pool, move |conn| notifications::attempts(conn, id)).await.expect("attempts read")
}

/// The controllable clock's start: a whole second (PostgreSQL keeps microseconds) just ahead of
/// the database's, so the notification just written is due.
fn clock_start() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + 1, 0).expect("a time")
}

fn minutes(count: i64) -> TimeDelta {
    TimeDelta::minutes(count)
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_answers_are_retried_on_schedule_until_success() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let receiver = Receiver::start(
        vec![answer(200, "fail"), answer(500, "internal error"), answer(200, "SUCCESS ")],
        Some(Duration::ZERO),
    )
    .await;
    let (_, id) = paid_order(&app, &client, &sub_merchant_id, "N1", &receiver.url).await;
    let (notifier, _) = notifier(app.pool.clone(), true);
    let t0 = clock_start();

    let steps = [
        (TimeDelta::zero(), 1),
        (TimeDelta::seconds(59), 0),
        (minutes(1), 1),
        (minutes(1), 0),
        (minutes(3) - TimeDelta::seconds(1), 0),
        (minutes(3), 1),
        (minutes(10), 0),
        (minutes(120), 0),
        (TimeDelta::days(1), 0),
    ];
    for (offset, expected) in steps {
        let sent = notifier.deliver_due(t0 + offset).await.expect("delivery runs");
        assert_eq!(sent, expected, "sends at t0 + {offset}");
    }
    assert_eq!(receiver.count(), 3);

    let row = notification(&app, id).await;
    assert_eq!(row.state.as_str(), "delivered");
    assert_eq!(row.attempts, 3);
    assert_eq!(row.first_attempt_at, Some(t0));
    assert_eq!(row.delivered_at, Some(t0 + minutes(3)));
    assert_eq!(row.locked_until, None, "released after its last send");

    let history = attempts(&app, id).await;
    let times: Vec<DateTime<Utc>> = history.iter().map(|attempt| attempt.at).collect();
    assert_eq!(times, [t0, t0 + minutes(1), t0 + minutes(3)]);
    let statuses: Vec<Option<i32>> = history.iter().map(|attempt| attempt.http_status).collect();
    assert_eq!(statuses, [Some(200), Some(500), Some(200)]);
    let excerpts: Vec<Option<&str>> = history.iter().map(|attempt| attempt.body_excerpt.as_deref()).collect();
    assert_eq!(excerpts, [Some("fail"), Some("internal error"), Some("SUCCESS ")]);
    let delivered: Vec<bool> = history.iter().map(|attempt| attempt.delivered).collect();
    assert_eq!(delivered, [false, false, true]);
    assert!(history.iter().all(|attempt| attempt.error.is_none() && (0..10_000).contains(&attempt.latency_ms)));
}

#[tokio::test]
async fn five_sends_at_most_then_failed() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    // Never an acknowledgement: a wrong word, a redirect (not followed), "ok" with an error status,
    // an acknowledgement with more after it, a server error.
    let script = vec![answer(200, "no"), answer(302, "ok"), answer(404, "ok"), answer(200, "ok!"), answer(503, "")];
    let receiver = Receiver::start(script, Some(Duration::ZERO)).await;
    let (_, id) = paid_order(&app, &client, &sub_merchant_id, "N1", &receiver.url).await;
    let (notifier, _) = notifier(app.pool.clone(), true);
    let t0 = clock_start();

    let mut expected_times = Vec::new();
    for offset in [0, 1, 3, 10, 120].map(minutes) {
        if offset > TimeDelta::zero() {
            let early = notifier.deliver_due(t0 + offset - TimeDelta::seconds(1)).await.expect("delivery runs");
            assert_eq!(early, 0, "nothing due just before t0 + {offset}");
        }
        assert_eq!(notifier.deliver_due(t0 + offset).await.expect("delivery runs"), 1, "a send at t0 + {offset}");
        expected_times.push(t0 + offset);
    }
    for later in [minutes(121), TimeDelta::days(1), TimeDelta::days(30)] {
        assert_eq!(notifier.deliver_due(t0 + later).await.expect("delivery runs"), 0, "nothing at t0 + {later}");
    }
    assert_eq!(receiver.count(), 5, "five sends, redirects not followed");

    let row = notification(&app, id).await;
    assert_eq!((row.state.as_str(), row.attempts, row.delivered_at), ("failed", 5, None));
    let history = attempts(&app, id).await;
    assert_eq!(history.iter().map(|attempt| attempt.at).collect::<Vec<_>>(), expected_times);
    assert_eq!(
        history.iter().map(|attempt| attempt.http_status).collect::<Vec<_>>(),
        [Some(200), Some(302), Some(404), Some(200), Some(503)]
    );
    assert!(history.iter().all(|attempt| !attempt.delivered));
}

#[tokio::test]
async fn the_posted_form_is_signed_with_the_receiving_apps_sign_type() {
    let app = spawn_quiet_app().await;
    // An RSA (SHA1withRSA) app: its notifications are signed SHA1withRSA too.
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa, None).await;
    let receiver = Receiver::start(vec![answer(200, "ok")], Some(Duration::ZERO)).await;
    let (trade_no, id) = paid_order(&app, &client, &sub_merchant_id, "SIGNED_1", &receiver.url).await;
    let (notifier, public_key) = notifier(app.pool.clone(), true);
    assert_eq!(notifier.deliver_due(clock_start()).await.expect("delivery runs"), 1);
    assert_eq!(notification(&app, id).await.state.as_str(), "delivered");

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let form = &received[0];
    assert_eq!(form.content_type, "application/x-www-form-urlencoded; charset=utf-8");
    assert_eq!(form.field("sign_type"), Some("RSA"));
    let sign = form.field("sign").expect("a sign field");
    let message = string_to_sign(form.form.iter().map(|(key, value)| (key.as_str(), value.as_str())));
    assert!(verify(SignType::Rsa, std::slice::from_ref(&public_key), message.as_bytes(), sign), "verifies: {message}");
    assert!(!verify(SignType::Rsa2, &[public_key], message.as_bytes(), sign), "not a SHA256withRSA signature");

    assert_eq!(form.field("out_trade_no"), Some("SIGNED_1"));
    assert_eq!(form.field("trade_no"), Some(trade_no.as_str()));
    assert_eq!(form.field("status"), Some("2"));
    assert_eq!(form.field("total_fee"), Some("100.00"));
    for name in ["net_receipt_amount", "bank_commission_fee", "pay_platform_fee", "liquidator_commission_fee"] {
        let value = form.field(name).unwrap_or_else(|| panic!("{name} in {form:?}"));
        assert!(value.parse::<f64>().is_ok() && value.split_once('.').is_some_and(|(_, cents)| cents.len() == 2));
    }
    let pay_time = form.field("pay_time").expect("pay_time");
    assert!(chrono::NaiveDateTime::parse_from_str(pay_time, "%Y-%m-%d %H:%M:%S").is_ok(), "{pay_time}");
}

#[tokio::test]
async fn send_again_makes_a_failed_notification_due_once_more() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let mut script = vec![answer(200, "fail"); 5];
    script.push(answer(200, "success"));
    let receiver = Receiver::start(script, Some(Duration::ZERO)).await;
    let (_, id) = paid_order(&app, &client, &sub_merchant_id, "N1", &receiver.url).await;
    let (notifier, _) = notifier(app.pool.clone(), true);
    let t0 = clock_start();
    for offset in [0, 1, 3, 10, 120].map(minutes) {
        assert_eq!(notifier.deliver_due(t0 + offset).await.expect("delivery runs"), 1);
    }
    assert_eq!(notification(&app, id).await.state.as_str(), "failed");

    let pressed = t0 + TimeDelta::days(1);
    assert_eq!(notifier.deliver_due(pressed).await.expect("delivery runs"), 0, "failed stays failed");
    let found =
        run_blocking(&app.pool, move |conn| notifications::send_again(conn, id, pressed)).await.expect("resent");
    assert!(found);
    assert_eq!(notifier.deliver_due(pressed).await.expect("delivery runs"), 1, "due again");
    assert_eq!(receiver.count(), 6);

    let row = notification(&app, id).await;
    assert_eq!(row.state.as_str(), "delivered");
    assert_eq!(row.delivered_at, Some(pressed));
    assert_eq!(row.attempts, 5, "an extra send does not count toward the five");
    let history = attempts(&app, id).await;
    assert_eq!(history.len(), 6);
    assert!(history[5].delivered && history[5].at == pressed);
    assert_eq!(notifier.deliver_due(pressed + TimeDelta::days(1)).await.expect("delivery runs"), 0);
}

#[tokio::test]
async fn send_again_that_fails_again_schedules_nothing_more() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let receiver = Receiver::start(vec![answer(200, "fail")], Some(Duration::ZERO)).await;
    let (_, id) = paid_order(&app, &client, &sub_merchant_id, "N1", &receiver.url).await;
    let (notifier, _) = notifier(app.pool.clone(), true);
    let t0 = clock_start();
    for offset in [0, 1, 3, 10, 120].map(minutes) {
        assert_eq!(notifier.deliver_due(t0 + offset).await.expect("delivery runs"), 1);
    }
    let pressed = t0 + TimeDelta::days(1);
    run_blocking(&app.pool, move |conn| notifications::send_again(conn, id, pressed)).await.expect("resent");
    assert_eq!(notifier.deliver_due(pressed).await.expect("delivery runs"), 1);
    for later in [minutes(1), minutes(3), minutes(10), minutes(120), TimeDelta::days(1)] {
        assert_eq!(notifier.deliver_due(pressed + later).await.expect("delivery runs"), 0);
    }
    let row = notification(&app, id).await;
    assert_eq!((row.state.as_str(), row.attempts), ("failed", 5));
    assert_eq!(attempts(&app, id).await.len(), 6);
    assert_eq!(receiver.count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_notifiers_never_send_one_notification_twice_in_a_slot() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    // Slow enough that the notifiers' sends overlap.
    let receiver = Receiver::start(vec![answer(200, "fail")], Some(Duration::from_millis(100))).await;
    let mut ids = Vec::new();
    for index in 0..12 {
        ids.push(paid_order(&app, &client, &sub_merchant_id, &format!("C{index}"), &receiver.url).await.1);
    }
    // Two notifiers on the app's pool, one on a pool of its own: as on another node.
    let other_node = storage::connect(app.database.url(), 3).expect("a second pool");
    let (first, _) = notifier(app.pool.clone(), true);
    let (second, _) = notifier(app.pool.clone(), true);
    let (third, _) = notifier(other_node, true);
    let t0 = clock_start();

    for (slot, offset) in [minutes(0), minutes(0), minutes(1), minutes(1), minutes(3)].into_iter().enumerate() {
        let now = t0 + offset;
        let (a, b, c) = tokio::join!(first.deliver_due(now), second.deliver_due(now), third.deliver_due(now));
        let sent = a.expect("first runs") + b.expect("second runs") + c.expect("third runs");
        let expected = if slot == 1 || slot == 3 { 0 } else { 12 };
        assert_eq!(sent, expected, "sends at t0 + {offset}");
    }
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for received in receiver.received() {
        *per_order.entry(received.field("out_trade_no").expect("out_trade_no").to_string()).or_default() += 1;
    }
    assert_eq!(per_order.len(), 12);
    assert!(per_order.values().all(|count| *count == 3), "each sent once per slot: {per_order:?}");
    for id in ids {
        let history = attempts(&app, id).await;
        assert_eq!(
            history.iter().map(|attempt| attempt.at).collect::<Vec<_>>(),
            [t0, t0 + minutes(1), t0 + minutes(3)]
        );
        assert_eq!(notification(&app, id).await.attempts, 3);
    }
}

#[tokio::test]
async fn private_addresses_are_refused_without_connecting_unless_allowed() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let receiver = Receiver::start(vec![answer(200, "success")], Some(Duration::ZERO)).await;
    let port = receiver.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/notify").to_string();
    // A literal loopback address, and a name that resolves to one (the check on resolution).
    let (_, literal) = paid_order(&app, &client, &sub_merchant_id, "P1", &receiver.url).await;
    let by_name = format!("http://localhost:{port}/notify");
    let (_, named) = paid_order(&app, &client, &sub_merchant_id, "P2", &by_name).await;
    let (strict, _) = notifier(app.pool.clone(), false);
    let t0 = clock_start();

    assert_eq!(strict.deliver_due(t0).await.expect("delivery runs"), 2);
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 0, "never connected");
    for id in [literal, named] {
        let history = attempts(&app, id).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].error.as_deref(), Some(PRIVATE_ADDRESS));
        assert_eq!((history[0].http_status, history[0].delivered), (None, false));
        let row = notification(&app, id).await;
        assert_eq!((row.state.as_str(), row.next_attempt_at), ("pending", t0 + minutes(1)), "a failed attempt");
    }

    // The same notifications, where configuration allows loopback (the demo and these tests).
    let (lenient, _) = notifier(app.pool.clone(), true);
    assert_eq!(lenient.deliver_due(t0 + minutes(1)).await.expect("delivery runs"), 2);
    assert_eq!(receiver.count(), 2);
    assert_eq!(notification(&app, literal).await.state.as_str(), "delivered");
    assert_eq!(notification(&app, named).await.state.as_str(), "delivered");
}

#[tokio::test]
async fn refused_connections_and_timeouts_are_failed_attempts_with_their_error() {
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    // A port nobody listens on any more.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closed_url = format!("http://127.0.0.1:{}/notify", closed.local_addr().expect("address").port());
    drop(closed);
    let (_, refused) = paid_order(&app, &client, &sub_merchant_id, "R1", &closed_url).await;
    // A server that takes the request and never answers.
    let hung = Receiver::start(vec![answer(200, "success")], None).await;
    let (_, timed_out) = paid_order(&app, &client, &sub_merchant_id, "R2", &hung.url).await;
    let (notifier, _) = notifier(app.pool.clone(), true);

    assert_eq!(notifier.deliver_due(clock_start()).await.expect("delivery runs"), 2);
    let history = attempts(&app, refused).await;
    assert_eq!((history[0].http_status, history[0].body_excerpt.as_deref()), (None, None));
    let error = history[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("connection failed"), "{error}");

    let history = attempts(&app, timed_out).await;
    assert_eq!(hung.count(), 1, "the request reached the server");
    assert_eq!(history[0].http_status, None);
    assert_eq!(history[0].error.as_deref(), Some("timeout after 10 s"));
    assert!((10_000..15_000).contains(&history[0].latency_ms), "{}", history[0].latency_ms);
    assert_eq!(notification(&app, timed_out).await.state.as_str(), "pending");
}

/// Waits up to `limit` for `done`; how long it took.
async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Receivers that never answer, trickle their answer, or send a body without end or of 16 MiB
/// hold one send each, never the queue: a notifier running as the workers run it delivers to a
/// receiver that answers at once, while each misbehaving one gets a failed attempt with its
/// reason (after 4 KiB of its body at most) and is tried again later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_receivers_hold_one_send_each_and_never_the_queue() {
    use e2e::receiver::Misbehaviour::{self, *};
    let app = spawn_quiet_app().await;
    let (sub_merchant_id, client) = app.merchant_client("m1", SignType::Rsa2, None).await;
    let (notifier, _) = notifier(app.pool.clone(), true);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { notifier.run(Duration::from_millis(20), shutdown).await }
    });

    // Two dozen that hold their send for 10 s, and eight that would take 16 MiB each.
    let kinds = [[Hangs; 12], [Trickles; 12]].concat().into_iter().chain([Endless, Huge].repeat(4));
    let mut misbehaving: Vec<(Misbehaviour, Receiver, NotificationId)> = Vec::new();
    for (index, how) in kinds.enumerate() {
        let receiver = Receiver::misbehaving(how).await;
        let (_, id) = paid_order(&app, &client, &sub_merchant_id, &format!("BAD{index}"), &receiver.url).await;
        misbehaving.push((how, receiver, id));
    }
    // All at once: each holds one send, not a turn in a queue.
    within(Duration::from_secs(5), async || misbehaving.iter().all(|(_, receiver, _)| receiver.count() == 1)).await;

    // Every misbehaving receiver holds its request now; orders paid next are told at once.
    let good = Receiver::start(vec![answer(200, "success")], Some(Duration::ZERO)).await;
    let mut told = Vec::new();
    for index in 0..10 {
        told.push(paid_order(&app, &client, &sub_merchant_id, &format!("GOOD{index}"), &good.url).await.1);
    }
    let took = within(Duration::from_secs(3), async || {
        let mut delivered = 0;
        for id in &told {
            delivered += usize::from(notification(&app, *id).await.state.as_str() == "delivered");
        }
        delivered == told.len()
    })
    .await;
    assert!(misbehaving.iter().filter(|(how, ..)| matches!(how, Hangs | Trickles)).all(|(_, r, _)| r.count() == 1));

    // Each misbehaving receiver: one failed attempt, with its reason; pending for the next send.
    within(Duration::from_secs(15), async || {
        let mut recorded = 0;
        for (_, _, id) in &misbehaving {
            recorded += usize::from(!attempts(&app, *id).await.is_empty());
        }
        recorded == misbehaving.len()
    })
    .await;
    for (how, _, id) in &misbehaving {
        let history = attempts(&app, *id).await;
        let error = history[0].error.clone().unwrap_or_default();
        let expected = match how {
            Hangs | Trickles => "timeout after 10 s",
            Endless | Huge => "reply longer than 4096 bytes",
        };
        assert_eq!((history.len(), history[0].delivered, error.as_str()), (1, false, expected), "{how:?}");
        assert_eq!(notification(&app, *id).await.state.as_str(), "pending", "{how:?}");
    }
    shutdown.cancel();
    running.await.expect("the notifier stops");
    eprintln!("ten notifications delivered in {took:?} beside {} misbehaving receivers", misbehaving.len());
}
