//! The order life cycle against a real PostgreSQL (a fresh database per test).
use chrono::{Duration, Utc};
use diesel::PgConnection;
use domain::{
    Amount, OrderId, OutTradeNo, Rate, Rates, SubMerchantId,
    calendar::BusinessCalendar,
    onboarding::{RawApplication, SignType, Transition},
    orders::{NotifyUrl, OrderBody, OrderState, OrderType, OutRefundNo},
};
use orders::{
    OrderError, lifecycle,
    lifecycle::Payment,
    place::{self, NewOrder, Placed},
    refund::{self, Refunded},
};
use storage::{apps::AppRow, audit::Actor, testing::TestDatabase};

fn actor() -> Actor {
    Actor { operator_id: None, name: "tester".into(), client_ip: None }
}

fn application(external_id: &str, rates: [&str; 3]) -> RawApplication {
    let mut raw = onboarding::testing::application(external_id);
    [raw.bank_commission_rate, raw.pay_platform_rate, raw.liquidator_commission_rate] =
        rates.map(|rate| Some(rate.to_string()));
    raw
}

/// An approved merchant with its app; optionally owned by an ISV app.
fn merchant(
    conn: &mut PgConnection,
    external_id: &str,
    rates: [&str; 3],
    owner: Option<&AppRow>,
) -> (SubMerchantId, AppRow) {
    let approval = onboarding::applications::import_approved(
        conn,
        &actor(),
        &application(external_id, rates),
        owner.map(|app| app.id),
    )
    .unwrap();
    (approval.sub_merchant_id, approval.app)
}

fn new_order(sub_merchant_id: &SubMerchantId, out_trade_no: &str, total: &str) -> NewOrder {
    NewOrder {
        sub_merchant_id: sub_merchant_id.clone(),
        out_trade_no: OutTradeNo::parse(out_trade_no).unwrap(),
        body: OrderBody::parse("京东公仔").unwrap(),
        total: Amount::parse_yuan(total).unwrap(),
        order_type: OrderType::Physical,
        notify_url: Some(NotifyUrl::parse("http://127.0.0.1:9/notify", true).unwrap()),
        content_fingerprint: format!("{out_trade_no}:{total}"),
    }
}

const RATES: [&str; 3] = ["0.00030", "0.00200", "0.00100"];

#[test]
fn placing_is_idempotent_and_conflicting_reuse_is_refused() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let Placed::New(first) =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "A1", "100.00"), Utc::now()).unwrap()
    else {
        panic!("new")
    };
    assert_eq!((first.state, first.trade_no().len()), (OrderState::Waiting, 28));
    assert_eq!(
        (
            first.split().bank_commission,
            first.split().pay_platform,
            first.split().liquidator_commission,
            first.split().net_receipt
        ),
        (Amount::from_fen(3), Amount::from_fen(20), Amount::from_fen(10), Amount::from_fen(9967))
    );
    let Placed::Replay(again) =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "A1", "100.00"), Utc::now()).unwrap()
    else {
        panic!("replay")
    };
    assert_eq!(again.trade_no(), first.trade_no());
    assert!(matches!(
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "A1", "99.00"), Utc::now()),
        Err(OrderError::DuplicateOutTradeNo)
    ));
}

#[test]
fn concurrent_duplicates_create_exactly_one_order() {
    let database = TestDatabase::new();
    let (sub_merchant_id, app) = merchant(&mut database.connection(), "m1", RATES, None);
    let workers: Vec<_> = (0..50)
        .map(|_| {
            let (url, app, id) = (database.url().to_string(), app.clone(), sub_merchant_id.clone());
            std::thread::spawn(move || {
                let mut conn = <PgConnection as diesel::Connection>::establish(&url).unwrap();
                place::place(&mut conn, &app, &new_order(&id, "SAME", "1.00"), Utc::now())
                    .map(|p| p.order().trade_no().to_string())
            })
        })
        .collect();
    let trade_nos: std::collections::HashSet<_> = workers.into_iter().map(|w| w.join().unwrap().unwrap()).collect();
    assert_eq!(trade_nos.len(), 1, "every caller got the one order");
    assert_eq!(storage::orders::list(&mut database.connection(), &Default::default(), 100).unwrap().len(), 1);
}

#[test]
fn only_the_merchants_own_app_or_its_isv_may_place_orders() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let isv = onboarding::credentials::create_isv_app(&mut conn, &actor(), "ISV", SignType::Rsa2).unwrap();
    let other_isv = onboarding::credentials::create_isv_app(&mut conn, &actor(), "Other ISV", SignType::Rsa2).unwrap();
    let (owned, _) = merchant(&mut conn, "m1", RATES, Some(&isv));
    let (_, other_app) = merchant(&mut conn, "m2", RATES, None);
    assert!(place::place(&mut conn, &isv, &new_order(&owned, "I1", "1.00"), Utc::now()).is_ok());
    assert!(matches!(
        place::place(&mut conn, &other_isv, &new_order(&owned, "I2", "1.00"), Utc::now()),
        Err(OrderError::NotYourMerchant)
    ));
    assert!(matches!(
        place::place(&mut conn, &other_app, &new_order(&owned, "I3", "1.00"), Utc::now()),
        Err(OrderError::NotYourMerchant)
    ));
    let unknown = SubMerchantId::parse("20170720205421027980").unwrap();
    assert!(matches!(
        place::place(&mut conn, &isv, &new_order(&unknown, "I4", "1.00"), Utc::now()),
        Err(OrderError::UnknownSubMerchant)
    ));
    let merchant_id = storage::merchants::find_by_sub_merchant_id(&mut conn, owned.as_ref()).unwrap().unwrap().id;
    onboarding::applications::transition(&mut conn, &actor(), merchant_id, Transition::Freeze, Some("risk review"))
        .unwrap();
    assert!(matches!(
        place::place(&mut conn, &isv, &new_order(&owned, "I5", "1.00"), Utc::now()),
        Err(OrderError::MerchantNotApproved)
    ));
}

#[test]
fn orders_keep_the_rates_they_were_placed_at() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let order = place::place(&mut conn, &app, &new_order(&sub_merchant_id, "S1", "1000.00"), Utc::now())
        .unwrap()
        .order()
        .clone();
    let merchant_id = order.merchant_id();
    let higher =
        Rates::new(Rate::parse("0.01000").unwrap(), Rate::parse("0.01000").unwrap(), Rate::parse("0.01000").unwrap())
            .unwrap();
    onboarding::rates::set_merchant_rates(
        &mut conn,
        &actor(),
        merchant_id,
        onboarding::rates::NewRates::Own(higher),
        Utc::now(),
    )
    .unwrap();
    let reloaded = orders::order::find(&mut conn, order.id()).unwrap().unwrap();
    assert_eq!(reloaded.split(), order.split());
    assert_eq!(reloaded.rates().unwrap().bank_commission().to_string(), "0.00030");
    let later =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "S2", "1000.00"), Utc::now() + Duration::seconds(1))
            .unwrap();
    assert_eq!(later.order().split().bank_commission, Amount::from_fen(1000), "new orders use the new rates");
}

#[test]
fn payments_apply_once_and_late_ones_are_kept_for_an_operator() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let order =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "P1", "0.01"), Utc::now()).unwrap().order().clone();
    assert_eq!(pay(&mut conn, order.trade_no()).unwrap(), Payment::Applied);
    assert_eq!(pay(&mut conn, order.trade_no()).unwrap(), Payment::Duplicate);
    let notifications = storage::notifications::for_order(&mut conn, order.id()).unwrap();
    assert_eq!(notifications.len(), 1, "notified once");
    assert_eq!(notifications[0].fields["total_fee"], "0.01");
    assert_eq!(notifications[0].fields["status"], "2");

    let closed =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "P2", "5.00"), Utc::now()).unwrap().order().clone();
    lifecycle::close(&mut conn, closed.id(), "app").unwrap();
    assert_eq!(pay(&mut conn, closed.trade_no()).unwrap(), Payment::LatePayment);
    let attention = storage::callbacks::needing_attention(&mut conn, 10).unwrap();
    assert_eq!((attention.len(), attention[0].outcome.as_str()), (1, "late_payment"));
    assert_eq!(
        orders::order::find(&mut conn, closed.id()).unwrap().unwrap().state,
        OrderState::Closed,
        "never silently reopened"
    );
    assert!(matches!(pay(&mut conn, "2017090622140509534568101496"), Err(OrderError::OrderNotFound)));
    assert_eq!(
        storage::callbacks::needing_attention(&mut conn, 10).unwrap().len(),
        1,
        "an unknown trade is rolled back with its error"
    );
}

#[test]
fn closing_and_expiry_follow_the_state_machine() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let now = Utc::now();
    let old = place::place(&mut conn, &app, &new_order(&sub_merchant_id, "E1", "1.00"), now).unwrap().order().clone();
    let fresh = place::place(&mut conn, &app, &new_order(&sub_merchant_id, "E2", "1.00"), now + Duration::hours(1))
        .unwrap()
        .order()
        .clone();
    assert_eq!(
        lifecycle::expire_due(&mut conn, now + Duration::minutes(119), 100).unwrap(),
        0,
        "two hours are two hours"
    );
    assert_eq!(lifecycle::expire_due(&mut conn, now + Duration::minutes(121), 100).unwrap(), 1);
    assert_eq!(orders::order::find(&mut conn, old.id()).unwrap().unwrap().state, OrderState::Closed);
    assert_eq!(orders::order::find(&mut conn, fresh.id()).unwrap().unwrap().state, OrderState::Waiting);
    assert!(matches!(lifecycle::close(&mut conn, old.id(), "app"), Err(OrderError::IllegalTransition(_))));
    pay(&mut conn, fresh.trade_no()).unwrap();
    assert!(
        matches!(lifecycle::close(&mut conn, fresh.id(), "app"), Err(OrderError::IllegalTransition(_))),
        "a paid order cannot be closed"
    );
    let events: Vec<_> = storage::orders::events(&mut conn, old.id())
        .unwrap()
        .into_iter()
        .map(|e| (e.to_state.as_str().to_string(), e.cause.as_str().to_string()))
        .collect();
    assert_eq!(events, [("waiting".to_string(), "created".to_string()), ("closed".into(), "expired".into())]);
}

fn yuan(amount: Amount) -> String {
    amount.to_yuan_string()
}

/// The first refund vector of the shared examples, end to end through the database.
#[test]
fn refunds_give_back_their_split_and_are_idempotent() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../domain/tests/data/refund_vectors.json")).unwrap();
    let case = &vectors[0];
    let rates =
        ["bank_commission_rate", "pay_platform_rate", "liquidator_commission_rate"].map(|k| case[k].as_str().unwrap());
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", rates, None);
    let total = case["total_fee"].as_str().unwrap();
    let order =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "R1", total), Utc::now()).unwrap().order().clone();
    assert!(
        matches!(
            refund_of(&mut conn, order.id(), &OutRefundNo::parse("X").unwrap(), Amount::from_fen(1)),
            Err(OrderError::IllegalTransition(_))
        ),
        "unpaid orders cannot be refunded"
    );
    pay(&mut conn, order.trade_no()).unwrap();

    let steps = case["refunds"].as_array().unwrap();
    for (index, step) in steps.iter().enumerate() {
        let amount = Amount::parse_yuan(step["refund_fee"].as_str().unwrap()).unwrap();
        let number = OutRefundNo::parse(&format!("RF{index}")).unwrap();
        let Refunded::New { order: after, refund: row } = refund_of(&mut conn, order.id(), &number, amount).unwrap()
        else {
            panic!("new refund")
        };
        let got = [row.bank_commission_fen, row.pay_platform_fen, row.liquidator_commission_fen, row.net_receipt_fen]
            .map(yuan);
        let expected = ["bank_commission_fee", "pay_platform_fee", "liquidator_commission_fee", "net_receipt_amount"]
            .map(|k| step[k].as_str().unwrap().to_string());
        assert_eq!(got, expected, "refund {index}");
        let last = index + 1 == steps.len();
        assert_eq!(after.state, if last { OrderState::Refunded } else { OrderState::PartiallyRefunded });
        let Refunded::Replay { refund: replayed, .. } = refund_of(&mut conn, order.id(), &number, amount).unwrap()
        else {
            panic!("replay")
        };
        assert_eq!(replayed.refund_no, row.refund_no);
    }
    assert!(matches!(
        refund_of(&mut conn, order.id(), &OutRefundNo::parse("RF0").unwrap(), Amount::from_fen(1)),
        Err(OrderError::DuplicateOutRefundNo)
    ));
    assert!(matches!(
        refund_of(&mut conn, order.id(), &OutRefundNo::parse("MORE").unwrap(), Amount::from_fen(1)),
        Err(OrderError::RefundTooLarge)
    ));
    assert_eq!(
        storage::notifications::for_order(&mut conn, order.id()).unwrap().len(),
        1 + steps.len(),
        "paid + one per refund"
    );
}

#[test]
fn a_duplicate_inside_a_callers_transaction_leaves_it_usable() {
    use diesel::Connection;
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    conn.transaction(|conn| {
        let first = place::place(conn, &app, &new_order(&sub_merchant_id, "T1", "1.00"), Utc::now()).unwrap();
        let Placed::Replay(again) =
            place::place(conn, &app, &new_order(&sub_merchant_id, "T1", "1.00"), Utc::now()).unwrap()
        else {
            panic!("replay")
        };
        assert_eq!(again.trade_no(), first.order().trade_no());
        assert!(matches!(
            place::place(conn, &app, &new_order(&sub_merchant_id, "T1", "2.00"), Utc::now()),
            Err(OrderError::DuplicateOutTradeNo)
        ));
        // Still usable after the refusal: the next statement in the same transaction works.
        place::place(conn, &app, &new_order(&sub_merchant_id, "T2", "1.00"), Utc::now()).unwrap();
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    assert_eq!(storage::orders::list(&mut conn, &Default::default(), 10).unwrap().len(), 2);
    for order in storage::orders::list(&mut conn, &Default::default(), 10).unwrap() {
        assert_eq!(storage::orders::events(&mut conn, order.id).unwrap().len(), 1, "each order has its created event");
    }
}

fn pay(conn: &mut PgConnection, trade_no: &str) -> Result<Payment, OrderError> {
    let report = lifecycle::PaymentReport {
        channel: "sandbox",
        trade_no,
        payload: serde_json::json!({ "trade_no": trade_no }),
        at: Utc::now(),
    };
    lifecycle::record_payment(conn, &BusinessCalendar::default(), report)
}

fn refund_of(
    conn: &mut PgConnection,
    order_id: OrderId,
    out_refund_no: &OutRefundNo,
    amount: Amount,
) -> Result<Refunded, OrderError> {
    let request = refund::RefundRequest { order_id, out_refund_no, amount, requested_by: "app", at: Utc::now() };
    refund::refund(conn, &BusinessCalendar::default(), &request)
}

/// The gateway keeps merchants in memory; a change made anywhere must still be seen by the very
/// next order: new rates (own or a plan's), a freeze, and an unfreeze.
#[test]
fn a_cached_merchant_is_never_used_stale() {
    use domain::onboarding::RatePlanCode;
    use onboarding::rates::NewRates;
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let placer = place::Placer::new(std::time::Duration::from_secs(3600));
    let place = |conn: &mut PgConnection, out_trade_no: &str, seconds: i64| {
        place::place_with(
            conn,
            &placer,
            &app,
            &new_order(&sub_merchant_id, out_trade_no, "1000.00"),
            Utc::now() + Duration::seconds(seconds),
        )
    };
    let bank_fee = |placed: Result<Placed, OrderError>| placed.unwrap().order().split().bank_commission;
    assert_eq!(bank_fee(place(&mut conn, "C1", 0)), Amount::from_fen(30));
    let merchant_id =
        storage::merchants::find_by_sub_merchant_id(&mut conn, sub_merchant_id.as_ref()).unwrap().unwrap().id;
    let rates = |bank: &str| {
        Rates::new(Rate::parse(bank).unwrap(), Rate::parse("0").unwrap(), Rate::parse("0").unwrap()).unwrap()
    };

    // Own rates, effective now: the next order has them.
    onboarding::rates::set_merchant_rates(
        &mut conn,
        &actor(),
        merchant_id,
        NewRates::Own(rates("0.01000")),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(bank_fee(place(&mut conn, "C2", 1)), Amount::from_fen(1000));

    // A plan, then a new version of the plan.
    let code = RatePlanCode::parse("cached").unwrap();
    onboarding::rates::create_plan(&mut conn, &actor(), &code, "Cached", &rates("0.02000"), Utc::now()).unwrap();
    onboarding::rates::set_merchant_rates(&mut conn, &actor(), merchant_id, NewRates::Plan(&code), Utc::now()).unwrap();
    assert_eq!(bank_fee(place(&mut conn, "C3", 2)), Amount::from_fen(2000));
    onboarding::rates::add_plan_version(
        &mut conn,
        &actor(),
        &code,
        &rates("0.03000"),
        Utc::now() + Duration::seconds(3),
    )
    .unwrap();
    assert_eq!(bank_fee(place(&mut conn, "C4", 2)), Amount::from_fen(2000), "not yet in force");
    assert_eq!(bank_fee(place(&mut conn, "C5", 4)), Amount::from_fen(3000), "in force from its instant on");

    // Frozen: refused at once, and a retry of an earlier order still gets its answer.
    onboarding::applications::transition(&mut conn, &actor(), merchant_id, Transition::Freeze, Some("risk review"))
        .unwrap();
    assert!(matches!(place(&mut conn, "C6", 5), Err(OrderError::MerchantNotApproved)));
    assert!(matches!(place(&mut conn, "C5", 5), Ok(Placed::Replay(_))));
    onboarding::applications::transition(&mut conn, &actor(), merchant_id, Transition::Unfreeze, None).unwrap();
    assert_eq!(bank_fee(place(&mut conn, "C6", 5)), Amount::from_fen(3000));
}

/// Orders placed through one placer from many threads at once are inserted in groups: every
/// distinct order is placed once, duplicates get the one order, conflicting reuse is refused,
/// and a merchant frozen meanwhile is refused — whatever group each request landed in.
#[test]
fn grouped_inserts_place_each_order_once_and_check_each_one() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let (frozen_id, frozen_app) = merchant(&mut conn, "m2", RATES, None);
    let placer = std::sync::Arc::new(place::Placer::new(std::time::Duration::from_secs(3600)));
    // The frozen merchant is cached while still approved, so its orders reach the insert.
    place::place_with(&mut conn, &placer, &frozen_app, &new_order(&frozen_id, "WARM", "1.00"), Utc::now()).unwrap();
    let merchant_id = storage::merchants::find_by_sub_merchant_id(&mut conn, frozen_id.as_ref()).unwrap().unwrap().id;
    onboarding::applications::transition(&mut conn, &actor(), merchant_id, Transition::Freeze, Some("risk review"))
        .unwrap();
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let url = database.url().to_string();
            let (placer, app, id) = (placer.clone(), app.clone(), sub_merchant_id.clone());
            let (frozen_app, frozen_id) = (frozen_app.clone(), frozen_id.clone());
            std::thread::spawn(move || {
                let mut conn = <PgConnection as diesel::Connection>::establish(&url).unwrap();
                let mut results = Vec::new();
                for n in 0..20 {
                    let (app, order) = match n % 4 {
                        0 => (&app, new_order(&id, "SAME", "1.00")),
                        1 => (&app, new_order(&id, &format!("W{worker}N{n}"), "2.00")),
                        2 if worker == 0 && n == 2 => (&app, new_order(&id, "SAME", "9.00")),
                        2 => (&app, new_order(&id, &format!("W{worker}M{n}"), "3.00")),
                        _ => (&frozen_app, new_order(&frozen_id, &format!("F{worker}N{n}"), "1.00")),
                    };
                    let placed = place::place_with(&mut conn, &placer, app, &order, Utc::now());
                    results.push((order.out_trade_no.to_string(), order.total, placed));
                }
                results
            })
        })
        .collect();
    let mut same = std::collections::HashSet::new();
    let mut placed = 0;
    for (out_trade_no, total, result) in workers.into_iter().flat_map(|worker| worker.join().unwrap()) {
        match (out_trade_no.as_str(), result) {
            ("SAME", Ok(order)) => {
                assert_eq!(order.order().total(), total);
                same.insert(order.order().trade_no().to_string());
            }
            ("SAME", Err(OrderError::DuplicateOutTradeNo)) => assert_ne!(total, Amount::parse_yuan("1.00").unwrap()),
            (frozen, Err(OrderError::MerchantNotApproved)) if frozen.starts_with('F') => {}
            (other, Ok(Placed::New(order))) if !other.starts_with('F') => {
                assert_eq!((order.out_trade_no(), order.total()), (other, total));
                placed += 1;
            }
            (other, result) => {
                panic!("{other}: unexpected {:?}", result.map(|placed| placed.order().trade_no().to_string()))
            }
        }
    }
    assert_eq!(same.len(), 1, "every caller of SAME got the one order");
    assert_eq!(placed, 16 * 10 - 1);
    let stored = storage::orders::list(&mut conn, &Default::default(), 1000).unwrap();
    assert_eq!(stored.len(), 1 + 1 + placed, "WARM, SAME and the distinct ones");
}

#[test]
fn the_database_keeps_an_orders_fixed_columns_valid_on_every_write() {
    use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, sql_types::Timestamptz};
    #[derive(diesel::QueryableByName)]
    struct Stamp {
        #[diesel(sql_type = Timestamptz)]
        updated_at: chrono::DateTime<Utc>,
    }
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let (sub_merchant_id, app) = merchant(&mut conn, "m1", RATES, None);
    let order =
        place::place(&mut conn, &app, &new_order(&sub_merchant_id, "F1", "1.00"), Utc::now()).unwrap().order().clone();
    assert_eq!(pay(&mut conn, order.trade_no()).unwrap(), Payment::Applied);
    let id = order.id();
    // The columns a state change never writes are checked by their domains whenever written.
    for bad in [
        format!("UPDATE orders SET trade_no = '12345' WHERE id = {id}"),
        format!("UPDATE orders SET out_trade_no = 'has space' WHERE id = {id}"),
        format!("UPDATE orders SET cashier_code = 'UPPER' WHERE id = {id}"),
        format!("UPDATE orders SET body = '' WHERE id = {id}"),
        format!("UPDATE orders SET order_type = 2 WHERE id = {id}"),
        format!(
            "UPDATE orders SET net_receipt_fen = -1, bank_commission_fen = bank_commission_fen + 1 WHERE id = {id}"
        ),
        format!("UPDATE orders SET notify_url = repeat('x', 257) WHERE id = {id}"),
        format!("UPDATE orders SET total_fee_fen = 0 WHERE id = {id}"),
    ] {
        let refused = conn.transaction(|conn| conn.batch_execute(&bad)).expect_err(&bad);
        assert!(refused.to_string().contains("violates check constraint"), "{bad}: {refused}");
    }
    // `updated_at` is stamped unless the statement sets it.
    let stamp = |conn: &mut PgConnection| {
        diesel::sql_query(format!("SELECT updated_at FROM orders WHERE id = {id}")).get_result::<Stamp>(conn).unwrap()
    };
    let before = stamp(&mut conn).updated_at;
    conn.batch_execute(&format!("UPDATE orders SET body = 'renamed' WHERE id = {id}")).unwrap();
    assert!(stamp(&mut conn).updated_at > before, "stamped by the trigger");
    conn.batch_execute(&format!("UPDATE orders SET updated_at = '2026-01-01T00:00:00Z' WHERE id = {id}")).unwrap();
    assert_eq!(stamp(&mut conn).updated_at.to_rfc3339(), "2026-01-01T00:00:00+00:00", "set by the statement");
}
