//! The commission ledger against a real PostgreSQL: every booking's postings, replays, refunds
//! across the pending/available boundary, `-216`, settlement across days and cut-offs, and what
//! the database itself refuses.
mod random;
mod reconciliation;
mod support;

use chrono::{Duration, NaiveDate};
use diesel::{Connection, PgConnection, connection::SimpleConnection};
use domain::{Amount, EntryId, OrderId, PayoutId, calendar::BusinessCalendar, ledger::AccountKind::*};
use ledger::{
    Booked, LedgerError,
    bookings::{self, PaidOrder, Payout},
    settlement::{self, Policy},
};
use orders::{OrderError, lifecycle::PaymentReport, refund::Refunded};
use storage::{ledger as rows, testing::TestDatabase};
use support::*;

const RATES: [&str; 3] = ["0.00030", "0.00200", "0.00100"];
/// Paid orders whose merchant's day has no settlement.
const UNSETTLED_ORDERS: &str = "SELECT count(*) AS count FROM orders o
     WHERE o.paid_business_date IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM settlements s
                        WHERE s.merchant_id = o.merchant_id AND s.business_date = o.paid_business_date)";

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

fn postings(conn: &mut PgConnection, entry_id: EntryId) -> Vec<(String, i64)> {
    rows::postings_of(conn, entry_id)
        .expect("postings")
        .into_iter()
        .map(|(p, kind)| (kind, p.amount_fen.fen()))
        .collect()
}

#[test]
fn a_paid_order_books_its_split_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = shop(conn, "m1", Some(RATES));
    let order = paid(conn, &calendar, &shop, "P1", 10_000, at("2026-11-20 10:00"));
    assert_eq!(order.paid_business_date(), Some(date("2026-11-20")));

    let entry = rows::find_entry_by_key(conn, &format!("order:{}:paid", order.trade_no())).unwrap().expect("booked");
    assert_eq!(
        (entry.kind.as_str(), entry.order_id, entry.business_date),
        ("order_paid", Some(order.id()), date("2026-11-20"))
    );
    assert_eq!(
        postings(conn, entry.id),
        [
            ("upstream_receivable".to_string(), 10_000),
            ("merchant_pending".to_string(), -9_967),
            ("bank_commission_payable".to_string(), -3),
            ("pay_platform_fee_payable".to_string(), -20),
            ("liquidator_commission_revenue".to_string(), -10),
        ]
    );

    // The same cause again books nothing and answers with the first entry.
    let again = PaidOrder {
        order_id: order.id(),
        trade_no: order.trade_no(),
        merchant_id: shop.merchant_id,
        split: order.split(),
        business_date: date("2026-11-20"),
    };
    let Booked::Replay(replayed) = bookings::order_paid(conn, &again).unwrap() else { panic!("a replay") };
    assert_eq!(replayed.id, entry.id);
    pay(conn, &calendar, order.trade_no(), at("2026-11-20 10:01"));
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries"), 1, "a second callback books nothing");
    assert_eq!(balance(conn, shop.merchant_id, MerchantPending), 9_967);
    assert_eq!(balance(conn, shop.merchant_id, UpstreamReceivable), 10_000);
    assert_ledger_sound(conn);
}

#[test]
fn a_key_reused_for_another_cause_is_refused() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let shop = shop(conn, "m1", Some(RATES));
    let other = support::shop(conn, "m2", Some(RATES));
    let order = paid(conn, &BusinessCalendar::default(), &shop, "P1", 10_000, at("2026-11-20 10:00"));
    let forged = PaidOrder {
        order_id: order.id(),
        trade_no: order.trade_no(),
        merchant_id: other.merchant_id,
        split: order.split(),
        business_date: date("2026-11-20"),
    };
    assert!(matches!(bookings::order_paid(conn, &forged), Err(LedgerError::KeyReused(_))));
}

#[test]
fn refunds_take_pending_first_then_available_and_refuse_when_short() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = shop(conn, "m1", Some(RATES));
    let old = paid(conn, &calendar, &shop, "OLD", 10_000, at("2026-11-18 10:00"));
    rows::release_day(conn, date("2026-11-18"), "tester", "test").unwrap();
    let policy = Policy { calendar, require_reconciliation: true };
    settlement::settle_due(conn, &policy, at("2026-11-20 09:00"), 100).unwrap();
    let new = paid(conn, &calendar, &shop, "NEW", 1_000, at("2026-11-20 10:00"));
    assert_eq!(balance(conn, shop.merchant_id, MerchantAvailable), 9_967);
    assert_eq!(balance(conn, shop.merchant_id, MerchantPending), 997);

    // 50.00 of the old order: its net give-back, 49.83, takes all 9.97 pending, then 39.86 available.
    let Refunded::New { refund, .. } = support::refund(conn, old.id(), "RF1", 5_000, at("2026-11-20 11:00")).unwrap()
    else {
        panic!("a new refund")
    };
    let give_back = refund.net_receipt_fen.fen();
    assert_eq!(give_back, 4_983);
    let entry = rows::find_entry_by_key(conn, &format!("refund:{}", refund.refund_no)).unwrap().expect("booked");
    assert_eq!(entry.refund_id, Some(refund.id));
    assert_eq!(
        postings(conn, entry.id),
        [
            ("upstream_receivable".to_string(), -5_000),
            ("merchant_pending".to_string(), 997),
            ("merchant_available".to_string(), 4_983 - 997),
            ("bank_commission_payable".to_string(), refund.bank_commission_fen.fen()),
            ("pay_platform_fee_payable".to_string(), refund.pay_platform_fen.fen()),
            ("liquidator_commission_revenue".to_string(), refund.liquidator_commission_fen.fen()),
        ]
        .into_iter()
        .filter(|(_, fen)| *fen != 0)
        .collect::<Vec<_>>()
    );
    assert_eq!(balance(conn, shop.merchant_id, MerchantPending), 0);
    assert_eq!(balance(conn, shop.merchant_id, MerchantAvailable), 9_967 - (4_983 - 997));

    // Pay most of what is available out; the rest of the old order can no longer be refunded.
    let available = balance(conn, shop.merchant_id, MerchantAvailable);
    let payout = Payout {
        payout_id: support::payout_row(conn, shop.merchant_id, available - 100, 50),
        merchant_id: shop.merchant_id,
        amount: Amount::from_fen(available - 100),
        fee: Amount::from_fen(50),
        business_date: date("2026-11-20"),
    };
    bookings::payout_reserved(conn, &payout).unwrap();
    let before = count(conn, "SELECT count(*) AS count FROM ledger_entries");
    let refused = support::refund(conn, old.id(), "RF2", 5_000, at("2026-11-20 12:00"));
    assert!(matches!(refused, Err(OrderError::InsufficientBalance)), "{refused:?}");
    let unchanged = orders::order::find(conn, old.id()).unwrap().unwrap();
    assert_eq!((unchanged.state.as_str(), unchanged.refunded().fen()), ("partially_refunded", 5_000));
    assert_eq!(count(conn, "SELECT count(*) AS count FROM refunds"), 1, "no refund row");
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries"), before, "no entry");
    assert_eq!(count(conn, "SELECT count(*) AS count FROM notifications"), 0);

    // A small refund of the new order still fits in what is left.
    support::refund(conn, new.id(), "RF3", 40, at("2026-11-20 12:00")).unwrap();
    assert_ledger_sound(conn);
}

#[test]
fn settlement_is_t_plus_n_at_the_cutoff_once_the_day_is_cleared() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar: BusinessCalendar = "23:00".parse().unwrap();
    let policy = Policy { calendar, require_reconciliation: true };
    let shop = shop(conn, "m1", Some(RATES));
    let before_cutoff = paid(conn, &calendar, &shop, "A", 10_000, at("2026-11-20 22:59"));
    let after_cutoff = paid(conn, &calendar, &shop, "B", 20_000, at("2026-11-20 23:30"));
    let next_day = paid(conn, &calendar, &shop, "C", 30_000, at("2026-11-21 12:00"));
    assert_eq!(before_cutoff.paid_business_date(), Some(date("2026-11-20")));
    assert_eq!(after_cutoff.paid_business_date(), Some(date("2026-11-21")));
    assert_eq!(next_day.paid_business_date(), Some(date("2026-11-21")));
    support::refund(conn, after_cutoff.id(), "RB", 5_000, at("2026-11-21 13:00")).unwrap();

    // T+1: the 20th settles once business day 21 begins (20th, 23:00) — but only once cleared.
    assert!(settlement::settle_due(conn, &policy, at("2026-11-21 12:00"), 100).unwrap().is_empty());
    rows::release_day(conn, date("2026-11-20"), "tester", "bank statement checked by hand").unwrap();
    assert!(settlement::settle_due(conn, &policy, at("2026-11-20 22:58"), 100).unwrap().is_empty(), "not yet T+1");
    let settled = settlement::settle_due(conn, &policy, at("2026-11-20 23:00"), 100).unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(
        (settled[0].business_date, settled[0].amount_fen.fen(), settled[0].order_count),
        (date("2026-11-20"), 9_967, 1)
    );
    assert_eq!(balance(conn, shop.merchant_id, MerchantAvailable), 9_967);

    // The 21st is not cleared: nothing moves, even days later. Released, it settles its orders net
    // of their refunds, once; running again (another node, a restart) settles nothing more.
    assert!(settlement::settle_due(conn, &policy, at("2026-11-25 09:00"), 100).unwrap().is_empty());
    rows::release_day(conn, date("2026-11-21"), "tester", "released").unwrap();
    let settled = settlement::settle_due(conn, &policy, at("2026-11-25 09:00"), 100).unwrap();
    let refund_net: i64 =
        storage::orders::refunds_of(conn, after_cutoff.id()).unwrap().iter().map(|r| r.net_receipt_fen.fen()).sum();
    assert_eq!(
        settled[0].amount_fen.fen(),
        after_cutoff.split().net_receipt.fen() - refund_net + next_day.split().net_receipt.fen()
    );
    assert!(settlement::settle_due(conn, &policy, at("2026-11-26 09:00"), 100).unwrap().is_empty());
    assert_eq!(settlement::settle(conn, shop.merchant_id, date("2026-11-21")).unwrap().map(|s| s.id), None);
    assert_eq!(balance(conn, shop.merchant_id, MerchantPending), 0);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM settlements"), 2);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'settlement'"), 2);
    assert_eq!(count(conn, UNSETTLED_ORDERS), 0);
    assert_ledger_sound(conn);
}

#[test]
fn t_plus_n_follows_the_merchants_own_n_and_can_skip_reconciliation() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let policy = Policy { calendar, require_reconciliation: false };
    let slow = shop(conn, "slow", Some(RATES));
    let fast = support::shop(conn, "fast", Some(RATES));
    conn.batch_execute(&format!("UPDATE merchants SET settlement_days = 3 WHERE id = {}", slow.merchant_id)).unwrap();
    paid(conn, &calendar, &slow, "S", 10_000, at("2026-11-20 10:00"));
    paid(conn, &calendar, &fast, "F", 10_000, at("2026-11-20 10:00"));
    let settled = settlement::settle_due(conn, &policy, at("2026-11-21 00:00"), 100).unwrap();
    assert_eq!(settled.iter().map(|s| s.merchant_id).collect::<Vec<_>>(), [fast.merchant_id]);
    assert!(settlement::settle_due(conn, &policy, at("2026-11-22 23:59"), 100).unwrap().is_empty());
    let settled = settlement::settle_due(conn, &policy, at("2026-11-23 00:00"), 100).unwrap();
    assert_eq!(settled.iter().map(|s| s.merchant_id).collect::<Vec<_>>(), [slow.merchant_id]);
}

#[test]
fn a_payment_is_never_booked_on_a_settled_day() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let policy = Policy { calendar, require_reconciliation: false };
    let shop = shop(conn, "m1", Some(RATES));
    paid(conn, &calendar, &shop, "A", 10_000, at("2026-11-20 10:00"));
    assert_eq!(settlement::settle_due(conn, &policy, at("2026-11-21 09:00"), 100).unwrap().len(), 1);

    // A payment reported for the settled day (a callback racing the cut-off, or a late one) is
    // refused by the database, with nothing written; its callback is retried later.
    let late = support::place(conn, &shop, "B", Amount::from_fen(5_000));
    let report = PaymentReport {
        channel: "sandbox",
        trade_no: late.trade_no(),
        payload: serde_json::json!({}),
        at: at("2026-11-20 23:59"),
    };
    let refused = orders::lifecycle::record_payment(conn, &calendar, report).expect_err("refused");
    assert!(format!("{refused:?}").contains("already settled"), "{refused:?}");
    let unpaid = orders::order::find(conn, late.id()).unwrap().expect("exists");
    assert_eq!(unpaid.paid_at(), None);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'"), 1);
    // Retried once the callback carries the time it is received, it is booked on that day.
    support::pay(conn, &calendar, late.trade_no(), at("2026-11-21 09:05"));
    let paid_late = orders::order::find(conn, late.id()).unwrap().expect("exists");
    assert_eq!(paid_late.paid_business_date(), Some(date("2026-11-21")));
    assert_ledger_sound(conn);
}

#[test]
fn a_day_is_not_marked_settled_under_a_payment_in_flight() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let policy = Policy { calendar, require_reconciliation: false };
    let busy = shop(conn, "busy", Some(RATES));
    let quiet = support::shop(conn, "quiet", Some(RATES));
    paid(conn, &calendar, &busy, "A", 10_000, at("2026-11-20 10:00"));
    // The quiet merchant's late payment for the same day is being booked: its transaction is
    // open when the settlement runs, which settles the busy merchant and would mark the day.
    let late = support::place(conn, &quiet, "LATE", Amount::from_fen(5_000));
    let (booked, go_on) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let in_flight = {
        let (mut payer, trade_no) = (database.connection(), late.trade_no().to_string());
        std::thread::spawn(move || {
            payer.transaction(|payer| {
                let report = PaymentReport {
                    channel: "sandbox",
                    trade_no: &trade_no,
                    payload: serde_json::json!({}),
                    at: at("2026-11-20 23:00"),
                };
                let outcome = orders::lifecycle::record_payment(payer, &calendar, report);
                booked.0.send(format!("{outcome:?}")).expect("report");
                go_on.1.recv().expect("go on");
                outcome.map(|_| ()).map_err(|_| diesel::result::Error::RollbackTransaction)
            })
        })
    };
    assert_eq!(booked.1.recv().expect("booked"), "Ok(Applied)");
    let settling = {
        let mut settler = database.connection();
        std::thread::spawn(move || settlement::settle_due(&mut settler, &policy, at("2026-11-21 09:00"), 100))
    };
    // The settlement waits for the payment on the day it would mark...
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!settling.is_finished(), "marking the day waits for the payment in flight");
    go_on.0.send(()).expect("go on");
    in_flight.join().expect("payer").expect("committed");
    let settled = settling.join().expect("settler").expect("settled");
    assert_eq!(settled.iter().map(|s| s.merchant_id).collect::<Vec<_>>(), [busy.merchant_id]);
    // ...then sees it, leaves the day open, and settles the quiet merchant's day on its next run.
    assert_eq!(count(conn, "SELECT count(*) AS count FROM business_days WHERE settled_at IS NOT NULL"), 0);
    let settled = settlement::settle_due(conn, &policy, at("2026-11-21 09:05"), 100).unwrap();
    assert_eq!(settled.iter().map(|s| s.merchant_id).collect::<Vec<_>>(), [quiet.merchant_id]);
    assert_eq!(count(conn, UNSETTLED_ORDERS), 0);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM business_days WHERE settled_at IS NOT NULL"), 1);
    assert_ledger_sound(conn);
}

#[test]
fn concurrent_settlement_books_each_day_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let policy = Policy { calendar, require_reconciliation: false };
    for index in 0..4 {
        let shop = support::shop(conn, &format!("m{index}"), Some(RATES));
        for day in 0..3 {
            let when = at("2026-11-15 10:00") + Duration::days(day);
            paid(conn, &calendar, &shop, &format!("O{day}"), 1_000 + day * 7, when);
        }
    }
    let url = database.url().to_string();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).expect("connect");
                settlement::settle_due(&mut conn, &policy, at("2026-11-20 09:00"), 100).expect("settles").len()
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|handle| handle.join().expect("thread")).sum();
    assert_eq!(total, 12, "4 merchants × 3 days, each settled by exactly one node");
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'settlement'"), 12);
    assert_ledger_sound(conn);
}

#[test]
fn payouts_reserve_succeed_fail_and_return() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = shop(conn, "m1", Some(["0", "0", "0"]));
    paid(conn, &calendar, &shop, "P", 100_000, at("2026-11-18 10:00"));
    settlement::settle(conn, shop.merchant_id, date("2026-11-18")).unwrap();
    let payout = |payout_id: PayoutId, amount_fen| Payout {
        payout_id,
        merchant_id: shop.merchant_id,
        amount: Amount::from_fen(amount_fen),
        fee: Amount::from_fen(200),
        business_date: date("2026-11-20"),
    };

    let first = payout(support::payout_row(conn, shop.merchant_id, 30_000, 200), 30_000);
    bookings::payout_reserved(conn, &first).unwrap();
    assert_eq!(
        (balance(conn, shop.merchant_id, MerchantAvailable), balance(conn, shop.merchant_id, MerchantPayoutInTransit)),
        (100_000 - 30_200, 30_000)
    );
    assert!(matches!(bookings::payout_reserved(conn, &first).unwrap(), Booked::Replay(_)));
    bookings::payout_succeeded(conn, &first).unwrap();
    assert_eq!(balance(conn, shop.merchant_id, PayoutClearing), 30_000);
    bookings::payout_returned(conn, &first).unwrap();
    assert_eq!(balance(conn, shop.merchant_id, MerchantAvailable), 100_000 - 200);

    let second = payout(support::payout_row(conn, shop.merchant_id, 50_000, 200), 50_000);
    bookings::payout_reserved(conn, &second).unwrap();
    bookings::payout_failed(conn, &second).unwrap();
    assert_eq!(balance(conn, shop.merchant_id, MerchantAvailable), 100_000 - 200);
    assert_eq!(balance(conn, shop.merchant_id, PayoutFeeRevenue), 200, "a failed payout's fee is given back");

    let too_much = payout(support::payout_row(conn, shop.merchant_id, 100_000, 200), 100_000);
    assert!(matches!(bookings::payout_reserved(conn, &too_much), Err(LedgerError::Balance(_))));
    let key = format!("payout:{}:reserved", too_much.payout_id);
    assert!(rows::find_entry_by_key(conn, &key).unwrap().is_none(), "a refusal leaves no entry");
    assert_ledger_sound(conn);
}

#[test]
fn a_reversal_undoes_an_entry_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let shop = shop(conn, "m1", Some(RATES));
    let order = paid(conn, &BusinessCalendar::default(), &shop, "P", 10_000, at("2026-11-20 10:00"));
    let entry = rows::find_entry_by_key(conn, &format!("order:{}:paid", order.trade_no())).unwrap().unwrap();
    let reversal = bookings::reverse(conn, entry.id, "booked in error", date("2026-11-20")).unwrap();
    assert_eq!(reversal.entry().reverses_entry_id, Some(entry.id));
    assert!(matches!(bookings::reverse(conn, entry.id, "again", date("2026-11-20")).unwrap(), Booked::Replay(_)));
    assert!(balances(conn, shop.merchant_id).values().all(|fen| *fen == 0));
    assert_ledger_sound(conn);
}

/// Runs `sql` in its own transaction and returns the database's refusal, if any.
fn refusal(conn: &mut PgConnection, sql: &str) -> Option<String> {
    conn.transaction(|conn| conn.batch_execute(sql)).err().map(|error| error.to_string())
}

#[test]
fn the_database_refuses_what_would_break_the_ledger() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let shop = shop(conn, "m1", Some(RATES));
    let other = support::shop(conn, "m2", Some(RATES));
    paid(conn, &BusinessCalendar::default(), &shop, "P", 10_000, at("2026-11-20 10:00"));
    rows::open_accounts(conn, other.merchant_id).unwrap();
    let m = shop.merchant_id;
    let account = |kind: &str| format!("(SELECT id FROM ledger_accounts WHERE merchant_id = {m} AND kind = '{kind}')");
    let entry = |key: &str| {
        format!(
            "INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date) VALUES ('{key}', 'reversal', {m}, '2026-11-20');"
        )
    };
    // An entry and its postings, written in one statement (as the ledger writes them).
    let posted = |key: &str, lines: &[(&str, i64)]| {
        let values: Vec<String> = lines.iter().map(|(account, fen)| format!("({account}, {fen})")).collect();
        format!(
            "WITH entry AS (INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date) \
             VALUES ('{key}', 'reversal', {m}, '2026-11-20') RETURNING id) \
             INSERT INTO ledger_postings (entry_id, account_id, amount_fen) \
             SELECT entry.id, v.account_id, v.amount_fen FROM entry, (VALUES {}) AS v (account_id, amount_fen);",
            values.join(", ")
        )
    };
    // Postings for an entry that exists, in a statement of their own.
    let postings = |key: &str, lines: &[(&str, i64)]| {
        let values: Vec<String> = lines
            .iter()
            .map(|(account, fen)| {
                format!("((SELECT id FROM ledger_entries WHERE idempotency_key = '{key}'), {account}, {fen})")
            })
            .collect();
        format!("INSERT INTO ledger_postings (entry_id, account_id, amount_fen) VALUES {};", values.join(", "))
    };
    let receivable = account("upstream_receivable");
    let pending = account("merchant_pending");
    let available = account("merchant_available");

    let unbalanced = posted("x1", &[(&receivable, 5), (&pending, -4)]);
    assert!(refusal(conn, &unbalanced).expect("refused").contains("does not balance"));
    assert!(refusal(conn, &entry("x2")).expect("refused").contains("at least two"));
    let one_sided = posted("x3", &[(&receivable, 5)]);
    assert!(refusal(conn, &one_sided).expect("refused").contains("at least two"));
    let negative = posted("x4", &[(&available, 1), (&receivable, -1)]);
    assert!(refusal(conn, &negative).expect("refused").contains("check constraint"), "available never negative");
    let other_pending = format!(
        "(SELECT id FROM ledger_accounts WHERE merchant_id = {} AND kind = 'merchant_pending')",
        other.merchant_id
    );
    let foreign = posted("x5", &[(&receivable, 1), (&other_pending, -1)]);
    assert!(refusal(conn, &foreign).expect("refused").contains("another merchant"));
    // An entry is written in one statement: nothing can be added to it afterwards, balanced or not,
    // in its own transaction or a later one; an entry inserted alone is refused at once, and
    // `SET CONSTRAINTS` changes nothing about that.
    let split_in_two = format!(
        "{}{}",
        posted("x6", &[(&receivable, 5), (&pending, -5)]),
        postings("x6", &[(&receivable, 1), (&pending, -1)])
    );
    assert!(refusal(conn, &split_in_two).expect("refused").contains("written in one statement"));
    let paid_entry = format!("(SELECT id FROM ledger_entries WHERE kind = 'order_paid' AND merchant_id = {m})");
    let added_later = format!(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_fen) VALUES ({paid_entry}, {receivable}, 7), ({paid_entry}, {pending}, -7);"
    );
    assert!(refusal(conn, &added_later).expect("refused").contains("written in one statement"));
    let immediate =
        format!("SET CONSTRAINTS ALL IMMEDIATE;{}{}", entry("x7"), postings("x7", &[(&receivable, 5), (&pending, -5)]));
    assert!(refusal(conn, &immediate).expect("refused").contains("at least two"));
    let no_entry =
        "INSERT INTO ledger_postings (entry_id, account_id, amount_fen) VALUES (999999, 1, 5), (999999, 2, -5)";
    assert!(refusal(conn, no_entry).expect("refused").contains("does not exist"));
    let no_account = posted("x8", &[(&receivable, 5), ("999999", -5)]);
    assert!(refusal(conn, &no_account).expect("refused").contains("does not exist"));
    assert!(
        refusal(conn, "UPDATE ledger_accounts SET balance_fen = balance_fen + 1")
            .expect("refused")
            .contains("only by posting")
    );
    assert!(refusal(conn, "UPDATE ledger_accounts SET kind = 'merchant_available'").is_some());
    assert!(refusal(conn, "DELETE FROM ledger_accounts").expect("refused").contains("never deleted"));
    assert!(refusal(conn, "UPDATE ledger_postings SET amount_fen = amount_fen * 2").is_some());
    assert!(refusal(conn, "DELETE FROM ledger_entries").is_some());
    assert!(refusal(conn, "TRUNCATE ledger_postings CASCADE").is_some());
    assert!(refusal(conn, "TRUNCATE ledger_accounts CASCADE").is_some());
    let third = support::shop(conn, "m3", Some(RATES));
    let opened_with_money = format!(
        "INSERT INTO ledger_accounts (merchant_id, kind, debit_normal, balance_fen) VALUES ({}, 'merchant_available', false, 500)",
        third.merchant_id
    );
    assert!(refusal(conn, &opened_with_money).expect("refused").contains("opens at zero"));

    // A hand-written entry that balances is accepted, and the trigger moves the balances.
    let pending_before = balance(conn, m, MerchantPending);
    let fine = posted("ok", &[(&pending, 100), (&available, -100)]);
    assert_eq!(refusal(conn, &fine), None);
    assert_eq!(balance(conn, m, MerchantPending), pending_before - 100);
    assert_eq!(balance(conn, m, MerchantAvailable), 100);
    assert_ledger_sound(conn);
}

#[test]
fn negative_give_backs_are_booked_the_other_way() {
    // The refund vector with a negative give-back (SPEC §3), through the ledger.
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../domain/tests/data/refund_vectors.json")).expect("vectors");
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let mut saw_negative = false;
    for (index, case) in vectors.as_array().expect("cases").iter().enumerate() {
        let rates = ["bank_commission_rate", "pay_platform_rate", "liquidator_commission_rate"]
            .map(|key| case[key].as_str().expect("rate"));
        let shop = support::shop(conn, &format!("v{index}"), Some(rates));
        let total = Amount::parse_yuan(case["total_fee"].as_str().expect("total")).expect("total");
        let order = paid(conn, &calendar, &shop, "V", total.fen(), at("2026-11-20 10:00"));
        for (step, refund) in case["refunds"].as_array().expect("refunds").iter().enumerate() {
            let amount = Amount::parse_yuan(refund["refund_fee"].as_str().expect("fee")).expect("fee");
            let Refunded::New { refund, .. } =
                support::refund(conn, order.id(), &format!("R{step}"), amount.fen(), at("2026-11-20 11:00"))
                    .expect("refunds")
            else {
                panic!("new")
            };
            let entry =
                rows::find_entry_by_key(conn, &format!("refund:{}", refund.refund_no)).unwrap().expect("booked");
            let lines = postings(conn, entry.id);
            let on = |kind: &str| lines.iter().find(|(k, _)| k == kind).map_or(0, |(_, fen)| *fen);
            assert_eq!(on("liquidator_commission_revenue"), refund.liquidator_commission_fen.fen());
            assert_eq!(on("upstream_receivable"), -amount.fen());
            saw_negative |= [
                refund.bank_commission_fen.fen(),
                refund.pay_platform_fen.fen(),
                refund.liquidator_commission_fen.fen(),
                refund.net_receipt_fen.fen(),
            ]
            .iter()
            .any(|fen| *fen < 0);
        }
        let after = balances(conn, shop.merchant_id);
        if order_refunded_in_full(conn, order.id()) {
            assert!(
                [
                    MerchantPending,
                    MerchantAvailable,
                    BankCommissionPayable,
                    PayPlatformFeePayable,
                    LiquidatorCommissionRevenue,
                    UpstreamReceivable
                ]
                .iter()
                .all(|kind| after[kind] == 0),
                "case {index}: a fully refunded order leaves nothing behind: {after:?}"
            );
        }
    }
    assert!(saw_negative, "the vectors include a negative give-back");
    assert_ledger_sound(conn);
}

fn order_refunded_in_full(conn: &mut PgConnection, order_id: OrderId) -> bool {
    let order = orders::order::find(conn, order_id).expect("read").expect("exists");
    order.refunded().fen() == order.total().fen()
}

/// Runs a verification to its end, chunk by chunk.
fn verify(conn: &mut PgConnection) -> ledger::verification::Verification {
    ledger::verification::start(conn, "test").expect("started");
    loop {
        match ledger::verification::step(conn).expect("a step") {
            ledger::verification::Step::Worked => {}
            ledger::verification::Step::Finished(verification) => return *verification,
            ledger::verification::Step::Idle => panic!("the verification vanished"),
        }
    }
}

#[test]
fn a_verification_walks_the_ledger_in_chunks_and_finds_a_balance_changed_behind_its_back() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = shop(conn, "v1", Some(RATES));
    for n in 0..5 {
        paid(conn, &calendar, &shop, &format!("V{n}"), 1_000 + n, at("2026-11-20 10:00"));
    }
    let accounts = support::count(conn, "SELECT count(*) AS count FROM ledger_accounts");
    let clean = verify(conn);
    assert_eq!((clean.mismatch_count, clean.entries_checked, clean.accounts_checked), (0, 5, accounts));
    assert!(clean.finished_at.is_some());

    // A balance changed with the ledger's triggers off (only a superuser can): found, once.
    conn.batch_execute(
        "SET session_replication_role = replica;
         UPDATE ledger_accounts SET balance_fen = balance_fen + 1
          WHERE id = (SELECT min(id) FROM ledger_accounts WHERE kind = 'merchant_pending');
         SET session_replication_role = DEFAULT;",
    )
    .expect("tampered");
    let tampered = verify(conn);
    assert_eq!(tampered.mismatch_count, 1, "{:?}", tampered.mismatches);
    assert!(tampered.mismatches[0].contains("merchant_pending"), "{:?}", tampered.mismatches);
    let latest = ledger::verification::latest(conn, 5).expect("latest");
    assert_eq!(latest.len(), 2, "one row per verification");
}
