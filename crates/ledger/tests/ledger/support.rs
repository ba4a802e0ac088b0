//! A merchant with paid orders, against a real PostgreSQL (a fresh database per test).
#![allow(dead_code)]
use domain::{Amount, MerchantId, OrderId, calendar::BusinessCalendar, ledger::AccountKind, orders::OutRefundNo};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::{PgConnection, RunQueryDsl, sql_types::BigInt};
use orders::{
    OrderError,
    refund::{self, RefundRequest, Refunded},
};

pub use orders::testing::{Shop, at, paid, pay, place, shop};

/// A payout order of `amount` (and `fee`) for the merchant, in the state `created`, for bookings
/// to name: an entry's payout must exist. Nothing is reserved.
pub fn payout_row(conn: &mut PgConnection, merchant_id: MerchantId, amount_fen: i64, fee_fen: i64) -> domain::PayoutId {
    let number = format!("T{merchant_id}N{}", count(conn, "SELECT count(*) AS count FROM payouts"));
    let new = storage::payouts::NewPayout {
        out_trade_no: &number,
        kind: domain::payouts::PayoutKind::Withdrawal,
        merchant_id,
        run_id: None,
        amount_fen: Amount::from_fen(amount_fen),
        fee_fen: Amount::from_fen(fee_fen),
        state: domain::payouts::PayoutState::Created,
        channel: "sandbox",
        account_type: domain::onboarding::AccountType::Personal,
        account_holder: "张三",
        account_number: "6222021234567890128",
        bank_code: "ICBC",
        cnaps_code: None,
        business_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date"),
        triggered_by: "test",
        out_withdraw_no: Some(&number),
        notify_url: None,
    };
    storage::payouts::insert(conn, &new, "test").expect("a payout row").id
}

pub fn refund(
    conn: &mut PgConnection,
    order_id: OrderId,
    out_refund_no: &str,
    amount_fen: i64,
    when: DateTime<Utc>,
) -> Result<Refunded, OrderError> {
    let number = OutRefundNo::parse(out_refund_no).expect("out_refund_no");
    let request = RefundRequest {
        order_id,
        out_refund_no: &number,
        amount: Amount::from_fen(amount_fen),
        requested_by: "app",
        at: when,
    };
    refund::refund(conn, &BusinessCalendar::default(), &request)
}

pub fn balances(conn: &mut PgConnection, merchant_id: MerchantId) -> BTreeMap<AccountKind, i64> {
    let balances = ledger::reports::merchant_balances(conn, merchant_id).expect("balances");
    balances.into_iter().map(|(kind, balance)| (kind, balance.fen())).collect()
}

pub fn balance(conn: &mut PgConnection, merchant_id: MerchantId, kind: AccountKind) -> i64 {
    balances(conn, merchant_id)[&kind]
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Rows of a query that counts (`SELECT count(*) AS count …`).
#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every rollup row as text, in a fixed order.
pub fn rollup_rows(conn: &mut PgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT line FROM (SELECT 'l ' || row(t.*)::text AS line FROM ledger_merchant_days t
                            UNION ALL SELECT 'w ' || row(t.*)::text FROM ledger_merchant_weeks t
                            UNION ALL SELECT 'o ' || row(t.*)::text FROM order_days t) rows
          ORDER BY line",
    )
    .load::<Line>(conn)
    .expect("rollups")
    .into_iter()
    .map(|row| row.line)
    .collect()
}

pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).expect("count").count
}

/// Every invariant of SPEC §7 over the whole ledger: the trial balance is zero, every balance is
/// the sum of its postings, every entry balances with two or more postings, no merchant balance
/// is negative.
pub fn assert_ledger_sound(conn: &mut PgConnection) {
    let trial = ledger::reports::trial_balance(conn).expect("trial balance");
    assert!(trial.is_balanced(), "trial balance: {trial:?}");
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM ledger_accounts a
              WHERE a.balance_fen <> COALESCE((SELECT CASE WHEN a.debit_normal THEN sum(p.amount_fen) ELSE -sum(p.amount_fen) END
                                                FROM ledger_postings p WHERE p.account_id = a.id), 0)"
        ),
        0,
        "every balance equals the sum of its postings"
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM ledger_entries e
              WHERE (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = e.id) < 2
                 OR (SELECT sum(amount_fen) FROM ledger_postings p WHERE p.entry_id = e.id) <> 0"
        ),
        0,
        "every entry balances"
    );
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_postings WHERE amount_fen = 0"), 0);
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM ledger_accounts WHERE NOT debit_normal AND kind LIKE 'merchant_%' AND balance_fen < 0"
        ),
        0
    );
}
