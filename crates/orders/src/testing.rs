//! For other crates' tests (feature `testing`): an approved merchant, and orders placed and paid
//! through the real life cycle, so a test's ledger holds what production would.
use chrono::{DateTime, TimeZone, Utc};
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, OutTradeNo, SubMerchantId,
    calendar::{BusinessCalendar, china},
    orders::{OrderBody, OrderType},
};
use storage::{apps::AppRow, audit::Actor};

use crate::{
    Order,
    lifecycle::{self, PaymentReport},
    place::{self, NewOrder},
};

pub struct Shop {
    pub merchant_id: MerchantId,
    pub sub_merchant_id: SubMerchantId,
    pub app: AppRow,
}

/// An approved merchant (with the sample application's rates unless given).
///
/// # Panics
/// If the merchant cannot be approved: a test's setup failing.
pub fn shop(conn: &mut PgConnection, external_id: &str, rates: Option<[&str; 3]>) -> Shop {
    let mut raw = onboarding::testing::application(external_id);
    if let Some(rates) = rates {
        [raw.bank_commission_rate, raw.pay_platform_rate, raw.liquidator_commission_rate] =
            rates.map(|rate| Some(rate.to_string()));
    }
    shop_from(conn, &raw)
}

/// The merchant of an application, approved.
///
/// # Panics
/// If it cannot be approved.
pub fn shop_from(conn: &mut PgConnection, raw: &domain::onboarding::RawApplication) -> Shop {
    let actor = Actor { operator_id: None, name: "tester".into(), client_ip: None };
    let approval = onboarding::applications::import_approved(conn, &actor, raw, None).expect("approved");
    Shop { merchant_id: approval.merchant.id(), sub_merchant_id: approval.sub_merchant_id, app: approval.app }
}

/// China time, for readable test instants ("2026-11-20 10:00").
///
/// # Panics
/// On a malformed time.
pub fn at(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time");
    china().from_local_datetime(&naive).single().expect("one instant").with_timezone(&Utc)
}

/// Placed now (the merchant's rates are in force from its approval on); only the payment's time
/// matters to the ledger.
///
/// # Panics
/// If the order cannot be placed.
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

/// # Panics
/// If the payment cannot be recorded.
pub fn pay(conn: &mut PgConnection, calendar: &BusinessCalendar, trade_no: &str, when: DateTime<Utc>) {
    let report = PaymentReport { channel: "sandbox", trade_no, payload: serde_json::json!({}), at: when };
    lifecycle::record_payment(conn, calendar, report).expect("paid");
}

/// Placed and paid at `when`.
///
/// # Panics
/// If either fails.
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
    crate::order::find(conn, order.id()).expect("read").expect("exists")
}

/// A Luhn-valid personal card number ending with `suffix` (the sandbox's payout rules read the
/// last digits).
///
/// # Panics
/// If `suffix` is not four digits.
pub fn card_ending(suffix: &str) -> String {
    (0..10)
        .map(|digit| format!("62220200000{digit}000{suffix}"))
        .find(|number| {
            domain::onboarding::BankAccountNumber::parse(number, domain::onboarding::AccountType::Personal).is_ok()
        })
        .expect("one of ten check positions makes it valid")
}

/// A daily payout slot at midnight (China time) for the merchant, which has always come: a
/// worker's first tick makes its run. At least 1 yuan, a fee of 1 yuan.
pub fn daily_payout_slot(conn: &mut PgConnection, merchant_id: MerchantId) {
    let schedule = storage::payouts::ScheduleRow {
        merchant_id,
        frequency: domain::payouts::schedule::Frequency::Daily,
        at_time: chrono::NaiveTime::MIN,
        weekday: None,
        month_day: None,
        minimum_fen: Amount::from_fen(100),
        retained_fen: Amount::ZERO,
        fee_fixed_fen: Amount::from_fen(100),
        fee_rate: rust_decimal::Decimal::ZERO,
        fee_minimum_fen: Amount::ZERO,
        updated_by: "test".into(),
    };
    storage::payouts::set_schedule(conn, &schedule).expect("a payout schedule");
}
