//! Reconciliation against a real database: the sandbox's bill of a day matches the day's bookings;
//! a bill with every kind of difference is listed for an operator; resolving the last difference
//! reconciles the day and lets its settlement go ahead.
use chrono::{Duration, Utc};
use domain::{Amount, calendar::BusinessCalendar, ledger::AccountKind};
use ledger::{
    reconciliation::{self, Import, ResolveError},
    settlement::{self, Policy},
};
use storage::{reconciliation as rows, testing::TestDatabase};

use crate::support::{self, count};

#[test]
fn a_bill_is_matched_differences_are_resolved_and_the_day_then_settles() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = support::shop(conn, "m1", Some(["0.00030", "0.00200", "0.00100"]));
    let now = Utc::now();
    let today = calendar.date_of(now);
    let orders: Vec<_> =
        (0..4).map(|n| support::paid(conn, &calendar, &shop, &format!("P{n}"), 10_000 + n * 100, now)).collect();
    support::refund(conn, orders[0].id(), "RF", 2_500, now).expect("refunded");
    // Paid upstream after we closed it: the channel has the money, we booked nothing.
    let late = support::place(conn, &shop, "LATE", Amount::from_fen(700));
    orders::lifecycle::close(conn, late.id(), "app").expect("closed");
    support::pay(conn, &calendar, late.trade_no(), now);

    let bill = sandbox_bill(conn, &calendar, today).expect("bill");
    assert_eq!(bill.len(), 6, "four payments, one refund, one late payment: {bill:#?}");
    let import = Import { channel: "sandbox", business_date: today, source: "worker", imported_by: "worker" };
    let run = reconciliation::import(conn, &import, &bill).expect("imported");
    assert_eq!((run.bill_line_count, run.our_line_count, run.matched_count, run.difference_count), (6, 5, 5, 1));
    let differences = rows::differences_of(conn, run.id).unwrap();
    assert_eq!((differences[0].kind.as_str(), differences[0].trade_no.as_str()), ("missing_ours", late.trade_no()));

    // A doctored bill: one amount, one status and one fee changed, one line dropped.
    let mut doctored = bill.clone();
    doctored.retain(|line| line.trade_no != late.trade_no());
    doctored[1].amount = Amount::from_fen(doctored[1].amount.fen() + 1);
    doctored[2].status = "CLOSED".into();
    doctored[3].pay_platform_fee = Amount::from_fen(doctored[3].pay_platform_fee.fen() + 1);
    doctored.pop();
    let run = reconciliation::import(conn, &import, &doctored).expect("imported");
    let kinds: Vec<String> =
        rows::differences_of(conn, run.id).unwrap().into_iter().map(|d| d.kind.as_str().to_string()).collect();
    assert_eq!(kinds, ["amount_mismatch", "status_mismatch", "fee_mismatch", "missing_upstream"]);

    // Settlement waits for the day: nothing settles until every difference is resolved.
    let policy = Policy { calendar, require_reconciliation: true };
    let tomorrow = now + Duration::days(1);
    assert!(settlement::settle_due(conn, &policy, tomorrow, 100).unwrap().is_empty());
    let open = rows::differences_of(conn, run.id).unwrap();
    for difference in &open {
        reconciliation::resolve(conn, difference.id, "olivia", "checked with the channel").expect("resolved");
    }
    assert!(matches!(reconciliation::resolve(conn, open[0].id, "olivia", "again"), Err(ResolveError::AlreadyResolved)));
    assert!(storage::ledger::business_day(conn, today).unwrap().is_some_and(|day| day.reconciled_at.is_some()));
    let settled = settlement::settle_due(conn, &policy, tomorrow, 100).unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM reconciliation_runs"), 2);

    // Reconciled, the upstream's settlement of the day is in the provider's reserve: the
    // receivable is gone, the upstream kept the bank commission and its fee, and the reserve holds
    // what the merchant is owed plus the provider's commission. Once, however often it is asked.
    let balances = ledger::reports::merchant_balances(conn, shop.merchant_id).unwrap();
    let of = |kind: AccountKind| balances[&kind].fen();
    assert_eq!(
        (
            of(AccountKind::UpstreamReceivable),
            of(AccountKind::BankCommissionPayable),
            of(AccountKind::PayPlatformFeePayable)
        ),
        (0, 0, 0)
    );
    let owed = of(AccountKind::MerchantPending) + of(AccountKind::MerchantAvailable);
    assert_eq!(of(AccountKind::ProviderReserve), owed + of(AccountKind::LiquidatorCommissionRevenue));
    assert!(of(AccountKind::ProviderReserve) > 0);
    assert_eq!(
        ledger::bookings::upstream_settled(conn, today, ledger::bill::channel_orders("sandbox")).unwrap(),
        0,
        "booked once"
    );
    assert_eq!(count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'upstream_settled'"), 1);
    support::assert_ledger_sound(conn);
}

#[test]
fn a_bill_that_matches_reconciles_the_day_at_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = support::shop(conn, "m1", None);
    let now = Utc::now();
    support::paid(conn, &calendar, &shop, "P", 12_345, now);
    let today = calendar.date_of(now);
    let bill = sandbox_bill(conn, &calendar, today).expect("bill");
    let import = Import { channel: "sandbox", business_date: today, source: "upload", imported_by: "finn" };
    let run = reconciliation::import(conn, &import, &bill).expect("imported");
    assert_eq!((run.matched_count, run.difference_count), (1, 0));
    assert!(storage::ledger::business_day(conn, today).unwrap().is_some_and(|day| day.reconciled_at.is_some()));
    // The bill survives the CSV round trip unchanged (what an upload carries).
    let text = channel::bill::to_csv(&bill).expect("csv");
    assert_eq!(channel::bill::from_csv(&text).expect("parses"), bill);
}

/// The sandbox's bill of a day as the server's store of its records reads it: the payments it
/// confirmed (the callbacks it sent) and the refunds of the day.
fn sandbox_bill(
    conn: &mut diesel::PgConnection,
    calendar: &BusinessCalendar,
    date: chrono::NaiveDate,
) -> Result<Vec<channel::bill::BillLine>, storage::StorageError> {
    let (from, to) = calendar.span_of(date);
    Ok(rows::sandbox_records(conn, from, to)?.into_iter().map(ledger::bill::line).collect())
}

#[test]
fn the_worker_finds_each_closed_day_to_import_once_and_skips_released_days() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let calendar = BusinessCalendar::default();
    let shop = support::shop(conn, "m1", None);
    let now = Utc::now();
    support::paid(conn, &calendar, &shop, "P", 5_000, now);
    let today = calendar.date_of(now);
    let released = today - Duration::days(2);
    storage::ledger::release_day(conn, released, "finn", "paper statement").unwrap();

    let days = reconciliation::days_to_import(conn, &calendar, "sandbox", now, 3).unwrap();
    assert_eq!(days, [today - Duration::days(3), today - Duration::days(1)], "closed days only, released skipped");
    for day in days {
        let bill = sandbox_bill(conn, &calendar, day).unwrap();
        assert!(reconciliation::import_fetched(conn, "sandbox", day, &bill).unwrap().is_some());
    }
    let tomorrow = now + Duration::days(1);
    let days = reconciliation::days_to_import(conn, &calendar, "sandbox", tomorrow, 3).unwrap();
    assert_eq!(days, [today]);
    let bill = sandbox_bill(conn, &calendar, today).unwrap();
    let run = reconciliation::import_fetched(conn, "sandbox", today, &bill).unwrap().expect("imported");
    assert_eq!((run.business_date, run.matched_count), (today, 1));
    assert!(
        reconciliation::days_to_import(conn, &calendar, "sandbox", tomorrow, 3).unwrap().is_empty(),
        "once per day"
    );
    assert!(reconciliation::import_fetched(conn, "sandbox", today, &bill).unwrap().is_none(), "never twice");
}
