//! Payouts run by the real server's workers: a scheduled run pays a merchant its available
//! balance through the sandbox channel, once, with the reservation and the outcome booked.
use std::time::Duration;

use chrono::Utc;
use domain::{
    Amount,
    calendar::BusinessCalendar,
    ledger::AccountKind,
    payouts::{PayoutKind, PayoutState, schedule::Frequency},
};
use ledger::settlement::Policy;
use storage::{database::run_blocking, jobs::Job};

#[tokio::test]
async fn the_workers_run_a_slot_and_pay_a_merchant_its_available_balance_once() {
    // No default schedule, so the workers' first ticks make no run; the merchant gets its own
    // slot at midnight China time, which has always come by the time the test runs.
    let app = e2e::spawn_app_with(|settings| {
        settings.payouts.schedule = "manual".into();
        settings.payouts.weekends_are_payout_days = true;
    })
    .await;
    let merchant_id = run_blocking(&app.pool, |conn| {
        let calendar = BusinessCalendar::default();
        let shop = orders::testing::shop(conn, "payee", None);
        orders::testing::paid(conn, &calendar, &shop, "PAYOUT_SOURCE", 500_000, Utc::now() - chrono::Duration::days(5));
        ledger::settlement::settle_due(conn, &Policy { calendar, require_reconciliation: false }, Utc::now(), 100)?;
        storage::payouts::set_schedule(conn, &daily_at_midnight(shop.merchant_id))?;
        Ok::<_, ledger::LedgerError>(shop.merchant_id)
    })
    .await
    .expect("a merchant with money available");
    let available = balances(&app, merchant_id).await[&AccountKind::MerchantAvailable];
    assert!(available > 1_000);

    // The minute's tick, as the scheduler enqueues it (twice: two nodes' ticks of one slot).
    for _ in 0..2 {
        run_blocking(&app.pool, |conn| storage::jobs::enqueue(conn, payouts::jobs::ScheduleRuns.now()?))
            .await
            .expect("enqueued");
    }
    let payout = wait_for(&app, merchant_id, PayoutState::Succeeded).await;
    assert_eq!(
        (payout.kind, payout.amount_fen.fen(), payout.fee_fen.fen()),
        (PayoutKind::Scheduled, available - 150, 150)
    );
    let after = balances(&app, merchant_id).await;
    assert_eq!(
        (after[&AccountKind::MerchantAvailable], after[&AccountKind::MerchantPayoutInTransit]),
        (0, 0),
        "all of it paid out"
    );
    assert_eq!(after[&AccountKind::PayoutClearing], available - 150);
    let taken = run_blocking(&app.pool, move |conn| {
        storage::sandbox_payouts::count_since(conn, Utc::now() - chrono::Duration::hours(1))
    })
    .await
    .expect("counted");
    assert_eq!(taken, 1, "the channel was asked once");
}

fn daily_at_midnight(merchant_id: domain::MerchantId) -> storage::payouts::ScheduleRow {
    storage::payouts::ScheduleRow {
        merchant_id,
        frequency: Frequency::Daily,
        at_time: chrono::NaiveTime::MIN,
        weekday: None,
        month_day: None,
        minimum_fen: Amount::from_fen(100),
        retained_fen: Amount::ZERO,
        fee_fixed_fen: Amount::from_fen(150),
        fee_rate: rust_decimal::Decimal::ZERO,
        fee_minimum_fen: Amount::ZERO,
        updated_by: "finn".into(),
    }
}

async fn balances(app: &e2e::TestApp, merchant_id: domain::MerchantId) -> std::collections::BTreeMap<AccountKind, i64> {
    run_blocking(&app.pool, move |conn| ledger::reports::merchant_balances(conn, merchant_id))
        .await
        .expect("balances")
        .into_iter()
        .map(|(kind, balance)| (kind, balance.fen()))
        .collect()
}

async fn wait_for(
    app: &e2e::TestApp,
    merchant_id: domain::MerchantId,
    state: PayoutState,
) -> storage::payouts::PayoutRow {
    let started = std::time::Instant::now();
    loop {
        let found = run_blocking(&app.pool, move |conn| storage::payouts::of_merchant(conn, merchant_id, 10))
            .await
            .expect("read");
        assert!(found.len() <= 1, "one payout per merchant per slot: {found:#?}");
        if let Some(payout) = found.into_iter().find(|payout| payout.state == state) {
            return payout;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no {state} payout within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
