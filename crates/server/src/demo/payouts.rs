//! The demo's payouts: four merchants whose cards steer the sandbox (an ordinary account, one
//! whose bank sends the money back, one that stays pending, and one large enough to wait for
//! approval), each with money available and its own daily slot at midnight, and that slot's run
//! made at once. The workers then hand the payouts over: within seconds one has succeeded, one is
//! returned with its merchant paused, one waits at the channel (flagged for an operator), one
//! waits for a second operator. Made once: a re-run finds the payees and changes nothing.
use chrono::{Duration, NaiveTime, Utc};
use diesel::PgConnection;
use domain::{
    Amount, SubMerchantId,
    payouts::{PayoutState, calendar::PayoutCalendar, schedule::Frequency},
};
use ledger::settlement::Policy;
use onboarding::applications;
use storage::{apps::AppRow, audit::Actor, payouts::ScheduleRow};

use super::{
    orders::{pay, place_new},
    seed::{PLAN, backdate_rates, demo_application},
};

/// Payee: external id, short name, card number (its last four digits steer the sandbox), total
/// paid in fen.
const PAYEES: [(&str, &str, &str, i64); 4] = [
    ("demo-payout-ok", "演示代付·成功", "6222020000040002222", 128_800),
    ("demo-payout-refu", "演示代付·退票", "6222020000010006666", 66_600),
    ("demo-payout-pending", "演示代付·待查", "6222020000040005555", 55_500),
    ("demo-payout-big", "演示代付·大额", "6222020000040002222", 8_000_000),
];

/// The payees, each with an order paid three days ago (before the demo's history is settled, so
/// their money becomes available with the rest). Nothing if they exist already.
pub fn payees(conn: &mut PgConnection, policy: &Policy, isv: &AppRow) -> anyhow::Result<()> {
    if storage::merchants::find_by_external_id(conn, Some(isv.id), PAYEES[0].0)?.is_some() {
        return Ok(());
    }
    let actor = Actor { operator_id: None, name: "demo".into(), client_ip: None };
    let paid_at = Utc::now() - Duration::days(3);
    for (index, (external_id, short_name, card, total_fen)) in PAYEES.into_iter().enumerate() {
        let legal_name = format!("演示代付商户{index}有限公司");
        let mut raw = demo_application(external_id, &legal_name, short_name, CREDIT_CODES[index], "retail");
        raw.account_number = Some(card.to_string());
        raw.rate_plan = Some(PLAN.to_string());
        let approval = applications::import_approved(conn, &actor, &raw, Some(isv.id))?;
        backdate_rates(conn, approval.merchant.id())?;
        let sub_merchant_id = SubMerchantId::parse(approval.sub_merchant_id.as_ref())?;
        let order_no = format!("DEMO_PAYOUT_{index}");
        if let Some(order) = place_new(conn, isv, &sub_merchant_id, &order_no, Amount::from_fen(total_fen), paid_at)? {
            pay(conn, policy, &order, paid_at + Duration::minutes(3))?;
        }
        storage::payouts::set_schedule(conn, &midnight(approval.merchant.id()))?;
    }
    Ok(())
}

/// Today's midnight slot's run, made and worked through now (the workers hand its payouts over);
/// the payout that will stay pending is flagged for an operator.
pub fn run(conn: &mut PgConnection, policy: &Policy, settings: &payouts::Settings, isv: &AppRow) -> anyhow::Result<()> {
    let calendar = PayoutCalendar::new(true, []);
    let settings = payouts::Settings { weekends_are_payout_days: true, ..settings.clone() };
    payouts::runs::create_due_runs(conn, &settings, &calendar, Utc::now())?;
    payouts::runs::work_through_open(conn, &settings, &calendar, &policy.calendar, channel::sandbox::NAME)?;
    flag_the_pending_one(conn, isv)
}

/// Valid unified social credit codes for the payees (GB 32100 check characters).
const CREDIT_CODES: [&str; 4] =
    ["91350200MA2Y0DEM1R", "91310115MA1H0DEM27", "91440300MA5G0DEM36", "91350100M000100Y43"];

fn midnight(merchant_id: domain::MerchantId) -> ScheduleRow {
    ScheduleRow {
        merchant_id,
        frequency: Frequency::Daily,
        at_time: NaiveTime::MIN,
        weekday: None,
        month_day: None,
        minimum_fen: Amount::from_fen(100),
        retained_fen: Amount::ZERO,
        fee_fixed_fen: Amount::from_fen(200),
        fee_rate: domain::Rate::ZERO.as_decimal(),
        fee_minimum_fen: Amount::ZERO,
        updated_by: "demo".into(),
    }
}

/// The payout that stays pending at the channel is shown as needing attention at once (a real
/// one is flagged after `payouts.attention_after_minutes` without an outcome).
fn flag_the_pending_one(conn: &mut PgConnection, isv: &AppRow) -> anyhow::Result<()> {
    if let Some(merchant) = storage::merchants::find_by_external_id(conn, Some(isv.id), PAYEES[2].0)? {
        for payout in storage::payouts::of_merchant(conn, merchant.id, 10)? {
            if matches!(payout.state, PayoutState::Created | PayoutState::Submitted) {
                storage::payouts::flag_attention(conn, payout.id)?;
            }
        }
    }
    Ok(())
}
