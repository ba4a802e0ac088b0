//! The payment recorder (batched payment callbacks) against a real PostgreSQL.
use std::{collections::BTreeMap, thread};

use chrono::{DateTime, Duration, Utc};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_types::BigInt};
use domain::{
    Amount, OutTradeNo,
    calendar::BusinessCalendar,
    orders::{NotifyUrl, OrderBody, OrderType},
};
use orders::{
    OrderError,
    lifecycle::{Payment, PaymentReport, record_payments},
    place::{self, NewOrder},
    recorder::{PaymentRecorder, Report, Settings, record_batch},
};
use serde_json::json;
use storage::{apps::AppRow, audit::Actor, testing::TestDatabase};

fn approved(conn: &mut PgConnection, external_id: &str) -> (domain::SubMerchantId, AppRow) {
    let actor = Actor { operator_id: None, name: "tester".into(), client_ip: None };
    let raw = onboarding::testing::application(external_id);
    let approval = onboarding::applications::import_approved(conn, &actor, &raw, None).expect("approved");
    (approval.sub_merchant_id, approval.app)
}

fn placed(conn: &mut PgConnection, merchant: &(domain::SubMerchantId, AppRow), out_trade_no: &str) -> String {
    let new = NewOrder {
        sub_merchant_id: merchant.0.clone(),
        out_trade_no: OutTradeNo::parse(out_trade_no).expect("out_trade_no"),
        body: OrderBody::parse("京东公仔").expect("body"),
        total: Amount::from_fen(1_000),
        order_type: OrderType::Physical,
        notify_url: Some(NotifyUrl::parse("http://127.0.0.1:9/notify", true).expect("url")),
        content_fingerprint: out_trade_no.into(),
    };
    place::place(conn, &merchant.1, &new, Utc::now()).expect("placed").order().trade_no().to_string()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).expect("count").count
}

fn report(trade_no: &str, at: DateTime<Utc>) -> Report {
    Report {
        merchant_id: None,
        channel: "sandbox".into(),
        trade_no: trade_no.into(),
        payload: json!({ "trade_no": trade_no }),
        at,
    }
}

#[test]
fn a_batch_answers_each_report_in_order() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let merchant = approved(conn, "m1");
    let (first, second) = (placed(conn, &merchant, "A"), placed(conn, &merchant, "B"));
    let now = Utc::now();
    let reports = vec![
        PaymentReport { channel: "sandbox", trade_no: &first, payload: json!({}), at: now },
        PaymentReport { channel: "sandbox", trade_no: "2017090622140509534568101496", payload: json!({}), at: now },
        PaymentReport { channel: "sandbox", trade_no: &second, payload: json!({}), at: now },
        PaymentReport { channel: "sandbox", trade_no: &first, payload: json!({}), at: now },
    ];
    let outcomes = record_payments(conn, &BusinessCalendar::default(), reports).expect("recorded");
    assert!(matches!(outcomes[0], Ok(Payment::Applied)));
    assert!(matches!(outcomes[1], Err(OrderError::OrderNotFound)));
    assert!(matches!(outcomes[2], Ok(Payment::Applied)));
    assert!(matches!(outcomes[3], Ok(Payment::Duplicate)), "the same payment twice in one batch");
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'"), 2);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM notifications"), 2);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM channel_callbacks"), 3);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM order_events WHERE to_state = 'paid'"), 2);
}

#[test]
fn concurrent_callbacks_are_batched_and_each_payment_books_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let merchants: Vec<_> = (0..4).map(|index| approved(conn, &format!("m{index}"))).collect();
    let trade_nos: Vec<String> =
        (0..200).map(|index| placed(conn, &merchants[index % merchants.len()], &format!("O{index}"))).collect();
    let pool = storage::connect(database.url(), 4).expect("pool");
    let recorder = PaymentRecorder::start(pool, BusinessCalendar::default(), Settings { threads: 2, max_batch: 16 });

    // 16 callers, each paying its share and then reporting one payment of another caller again.
    let outcomes: Vec<(String, Payment)> = thread::scope(|scope| {
        let callers: Vec<_> = (0..16)
            .map(|caller| {
                let (recorder, trade_nos) = (recorder.clone(), &trade_nos);
                scope.spawn(move || {
                    let mut mine: Vec<String> = trade_nos.iter().skip(caller).step_by(16).cloned().collect();
                    mine.push(trade_nos[(caller + 1) % 16].clone());
                    mine.into_iter()
                        .map(|trade_no| {
                            let outcome = recorder.record(report(&trade_no, Utc::now())).expect("running");
                            (trade_no, outcome.expect("recorded"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        callers.into_iter().flat_map(|caller| caller.join().expect("caller")).collect()
    });
    let mut applied: BTreeMap<&str, usize> = BTreeMap::new();
    for (trade_no, outcome) in &outcomes {
        if *outcome == Payment::Applied {
            *applied.entry(trade_no).or_default() += 1;
        }
    }
    assert_eq!(applied.len(), 200, "every payment applied");
    assert!(applied.values().all(|times| *times == 1), "and each exactly once");
    assert_eq!(outcomes.iter().filter(|(_, outcome)| *outcome == Payment::Duplicate).count(), 16);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'"), 200);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM notifications"), 200);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM orders WHERE state = 'paid'"), 200);
}

#[test]
fn a_refused_payment_does_not_fail_the_rest_of_its_batch() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let merchant = approved(conn, "m1");
    let yesterday = Utc::now() - Duration::days(1);
    let early = placed(conn, &merchant, "EARLY");
    orders::lifecycle::record_payment(
        conn,
        &calendar,
        PaymentReport { channel: "sandbox", trade_no: &early, payload: json!({}), at: yesterday },
    )
    .expect("paid");
    let policy = ledger::settlement::Policy { calendar, require_reconciliation: false };
    assert_eq!(ledger::settlement::settle_due(conn, &policy, Utc::now(), 10).expect("settled").len(), 1);

    // Three callbacks in one batch; one reports a time on the settled day. The database refuses
    // the whole transaction, changing nothing; the recorder then records each report on
    // its own, so only that one fails.
    let (late, fine_a, fine_b) =
        (placed(conn, &merchant, "LATE"), placed(conn, &merchant, "A"), placed(conn, &merchant, "B"));
    let batch = [report(&late, yesterday), report(&fine_a, Utc::now()), report(&fine_b, Utc::now())];
    let borrowed = batch
        .iter()
        .map(|r| PaymentReport { channel: &r.channel, trade_no: &r.trade_no, payload: r.payload.clone(), at: r.at })
        .collect();
    assert!(record_payments(conn, &calendar, borrowed).is_err(), "refused as a whole");
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'"), 1);
    let pool = storage::connect(database.url(), 2).expect("pool");
    let outcomes = record_batch(&pool, &calendar, &batch);
    assert!(format!("{:?}", outcomes[0]).contains("already settled"), "{:?}", outcomes[0]);
    assert!(matches!(outcomes[1], Ok(Payment::Applied)));
    assert!(matches!(outcomes[2], Ok(Payment::Applied)));
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'"), 3);
}
