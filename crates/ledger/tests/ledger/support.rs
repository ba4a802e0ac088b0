//! A merchant with paid orders, against a real PostgreSQL (a fresh database per test).
#![allow(dead_code)]
use domain::{
    Amount, MerchantId, OrderId, OutTradeNo,
    calendar::{BusinessCalendar, china},
    ledger::AccountKind,
    orders::{OrderBody, OrderType, OutRefundNo},
};
use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use diesel::{PgConnection, RunQueryDsl, sql_types::BigInt};
use orders::{
    Order, OrderError,
    lifecycle::{self, PaymentReport},
    place::{self, NewOrder},
    refund::{self, RefundRequest, Refunded},
};
use storage::{apps::AppRow, audit::Actor};

pub struct Shop {
    pub merchant_id: MerchantId,
    pub sub_merchant_id: domain::SubMerchantId,
    pub app: AppRow,
}

/// An approved merchant (with the sample application's rates unless given).
pub fn shop(conn: &mut PgConnection, external_id: &str, rates: Option<[&str; 3]>) -> Shop {
    let mut raw = onboarding::testing::application(external_id);
    if let Some(rates) = rates {
        [raw.bank_commission_rate, raw.pay_platform_rate, raw.liquidator_commission_rate] =
            rates.map(|rate| Some(rate.to_string()));
    }
    let actor = Actor { operator_id: None, name: "tester".into(), client_ip: None };
    let approval = onboarding::applications::import_approved(conn, &actor, &raw, None).expect("approved");
    Shop { merchant_id: approval.merchant.id(), sub_merchant_id: approval.sub_merchant_id, app: approval.app }
}

/// China time, for readable test instants.
pub fn at(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time");
    china().from_local_datetime(&naive).single().expect("one instant").with_timezone(&Utc)
}

/// Placed now (the merchant's rates are in force from its approval on); only the payment's time
/// matters to the ledger.
pub fn place(conn: &mut PgConnection, shop: &Shop, out_trade_no: &str, total: Amount) -> Order {
    let new = NewOrder {
        sub_merchant_id: shop.sub_merchant_id.clone(),
        out_trade_no: OutTradeNo::parse(out_trade_no).expect("out_trade_no"),
        body: OrderBody::parse("京东公仔").expect("body"),
        total,
        order_type: OrderType::Physical,
        notify_url: None,
        content_fingerprint: format!("{out_trade_no}:{}", total.fen()),
    };
    place::place(conn, &shop.app, &new, Utc::now()).expect("placed").order().clone()
}

pub fn pay(conn: &mut PgConnection, calendar: &BusinessCalendar, trade_no: &str, when: DateTime<Utc>) {
    let report = PaymentReport { channel: "sandbox", trade_no, payload: serde_json::json!({}), at: when };
    lifecycle::record_payment(conn, calendar, report).expect("paid");
}

/// Placed and paid at `when`.
pub fn paid(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    shop: &Shop,
    out_trade_no: &str,
    total_fen: i64,
    when: DateTime<Utc>,
) -> Order {
    let order = place(conn, shop, out_trade_no, Amount::from_fen(total_fen));
    pay(conn, calendar, order.trade_no(), when);
    orders::order::find(conn, order.id()).expect("read").expect("exists")
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
