//! The demo's orders: a handful in every state for the first merchant, and thirty days of paid
//! and refunded history (and a payment today) for every merchant, booked in the ledger, with the days before yesterday
//! released and settled — so balances, statements, bills and the dashboard's charts have
//! something to show. Re-running finds every order by its `out_trade_no` and changes nothing.
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use domain::{
    Amount, OutTradeNo, SubMerchantId,
    orders::{OrderBody, OrderType, OutRefundNo},
};
use ledger::settlement::Policy;
use orders::{
    Order,
    lifecycle::{self, PaymentReport},
    place::{self, NewOrder, Placed},
    refund::{self, RefundRequest},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use storage::apps::AppRow;

use super::seed::SubMerchant;

/// Days of history before today.
const HISTORY_DAYS: i64 = 30;

/// When the demo's history begins: the merchants' (back-dated) rates take effect then, so orders
/// of past days are placed at their own time.
pub fn history_start() -> DateTime<Utc> {
    Utc::now() - Duration::days(HISTORY_DAYS + 1)
}

pub fn seed(conn: &mut PgConnection, policy: &Policy, isv: &AppRow, merchants: &[SubMerchant]) -> anyhow::Result<()> {
    if let Some(first) = merchants.first() {
        seed_states(conn, policy, isv, &SubMerchantId::parse(&first.sub_merchant_id)?)?;
    }
    for (index, merchant) in merchants.iter().enumerate() {
        seed_history(conn, policy, isv, index, &SubMerchantId::parse(&merchant.sub_merchant_id)?)?;
    }
    settle_history(conn, policy)
}

/// Refunds of a demo order: `out_refund_no` and amount in yuan.
type Refunds = &'static [(&'static str, &'static str)];

/// One order in each state, paid today.
fn seed_states(
    conn: &mut PgConnection,
    policy: &Policy,
    isv: &AppRow,
    sub_merchant_id: &SubMerchantId,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let demo_orders: [(&str, &str, Refunds); 5] = [
        ("DEMO_WAITING", "12.00", &[]),
        ("DEMO_PAID", "88.80", &[]),
        ("DEMO_PART_REFUNDED", "199.00", &[("DEMO_RF1", "50.00")]),
        ("DEMO_REFUNDED", "16.13", &[("DEMO_RF2", "8.73"), ("DEMO_RF3", "4.25"), ("DEMO_RF4", "3.15")]),
        ("DEMO_CLOSED", "5.00", &[]),
    ];
    for (out_trade_no, total, refunds) in demo_orders {
        let Some(order) = place_new(conn, isv, sub_merchant_id, out_trade_no, Amount::parse_yuan(total)?, now)? else {
            continue;
        };
        match out_trade_no {
            "DEMO_WAITING" => {}
            "DEMO_CLOSED" => {
                lifecycle::close(conn, order.id(), "demo")?;
            }
            _ => pay(conn, policy, &order, now)?,
        }
        for (out_refund_no, amount) in refunds {
            refund_part(conn, policy, &order, out_refund_no, Amount::parse_yuan(amount)?, now)?;
        }
    }
    Ok(())
}

/// A few orders a day for thirty days, the same every run (the generator is seeded per merchant).
fn seed_history(
    conn: &mut PgConnection,
    policy: &Policy,
    isv: &AppRow,
    merchant_index: usize,
    sub_merchant_id: &SubMerchantId,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(20_261_122 + merchant_index as u64);
    let start_of_today = policy.calendar.closes_at(policy.calendar.date_of(Utc::now())) - Duration::days(1);
    for days_ago in (1..=HISTORY_DAYS).rev() {
        for number in 0..rng.gen_range(1..=4) {
            let paid_at = start_of_today - Duration::days(days_ago) + Duration::minutes(rng.gen_range(8 * 60..22 * 60));
            let total = Amount::from_fen(rng.gen_range(500..=300_000));
            let out_trade_no = format!("DEMO_M{merchant_index}_D{days_ago:02}_{number}");
            // Paid a few minutes after it was placed, on its own day.
            let placed_at = paid_at - Duration::minutes(rng.gen_range(1..=10));
            let refund = rng.gen_bool(0.15).then(|| Amount::from_fen(rng.gen_range(1..=total.fen())));
            // Placed and paid in one transaction: an order placed in the past has expired by now,
            // and the expiry worker must not close it before its payment is recorded.
            storage::database::transaction(conn, |conn| {
                let Some(order) = place_new(conn, isv, sub_merchant_id, &out_trade_no, total, placed_at)? else {
                    return Ok(());
                };
                pay(conn, policy, &order, paid_at)?;
                if let Some(amount) = refund {
                    let out_refund_no = format!("{out_trade_no}_R");
                    refund_part(conn, policy, &order, &out_refund_no, amount, paid_at + Duration::hours(1))?;
                }
                anyhow::Ok(())
            })?;
        }
    }
    // One payment today, so every merchant has money pending whatever happened to yesterday (the
    // workers may reconcile and settle it while the seed runs).
    let out_trade_no = format!("DEMO_M{merchant_index}_TODAY");
    if let Some(order) =
        place_new(conn, isv, sub_merchant_id, &out_trade_no, Amount::from_fen(rng.gen_range(500..=50_000)), Utc::now())?
    {
        pay(conn, policy, &order, Utc::now())?;
    }
    Ok(())
}

/// Releases the days before yesterday (the demo has no upstream bills to reconcile against) and
/// settles what is due, as the settlement worker would.
fn settle_history(conn: &mut PgConnection, policy: &Policy) -> anyhow::Result<()> {
    let today = policy.calendar.date_of(Utc::now());
    for days_ago in 2..=HISTORY_DAYS {
        let date = today - Duration::days(days_ago);
        storage::ledger::release_day(conn, date, "demo", "演示数据 demo data: released without a bill")?;
    }
    ledger::settlement::settle_due(conn, policy, Utc::now(), 10_000)?;
    Ok(())
}

pub(super) fn place_new(
    conn: &mut PgConnection,
    isv: &AppRow,
    sub_merchant_id: &SubMerchantId,
    out_trade_no: &str,
    total: Amount,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<Order>> {
    let new = NewOrder {
        sub_merchant_id: sub_merchant_id.clone(),
        out_trade_no: OutTradeNo::parse(out_trade_no)?,
        body: OrderBody::parse("演示商品 demo goods")?,
        total,
        order_type: OrderType::Physical,
        notify_url: None,
        content_fingerprint: format!("demo:{out_trade_no}:{}", total.fen()),
    };
    match place::place(conn, isv, &new, at)? {
        Placed::New(order) => Ok(Some(order)),
        Placed::Replay(_) => Ok(None),
    }
}

pub(super) fn pay(conn: &mut PgConnection, policy: &Policy, order: &Order, at: DateTime<Utc>) -> anyhow::Result<()> {
    let payload = serde_json::json!({ "source": "demo seed" });
    let report = PaymentReport { channel: "sandbox", trade_no: order.trade_no(), payload, at };
    lifecycle::record_payment(conn, &policy.calendar, report)?;
    Ok(())
}

fn refund_part(
    conn: &mut PgConnection,
    policy: &Policy,
    order: &Order,
    out_refund_no: &str,
    amount: Amount,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let out_refund_no = OutRefundNo::parse(out_refund_no)?;
    let request =
        RefundRequest { order_id: order.id(), out_refund_no: &out_refund_no, amount, requested_by: "demo", at };
    refund::refund(conn, &policy.calendar, &request)?;
    Ok(())
}
