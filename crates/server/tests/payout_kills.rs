//! No payout lost, none paid twice, with the worker process (the real binary) killed with SIGKILL
//! at random moments while it runs payouts: merchants with every kind of sandbox outcome, a payout
//! run made by the worker itself, kills while it reserves, submits, records and queries; then a
//! last worker left to finish. Afterwards every merchant's money is either paid once or back in
//! available, the sandbox received each payout once, and the ledger balances.
//!
//! The default test run uses `PAYOUT_KILL_MERCHANTS` (default 60) and `PAYOUT_KILL_KILLS`
//! (default 6); `scripts/payout-kills` runs it at 1,000 merchants and 20 kills.
use std::{
    collections::BTreeMap,
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::Utc;
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_types::BigInt};
use domain::{MerchantId, calendar::BusinessCalendar, ledger::AccountKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use storage::{jobs::Job, testing::TestDatabase};

fn number_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// The sandbox's outcome by card suffix: failure, pending, return, timeout then success, timeout
/// then failure, success after a delay; `2222` draws from the seeded mix of `write_config`.
const SUFFIXES: [&str; 9] = ["2222", "2222", "2222", "4444", "5555", "6666", "7777", "8888", "3333"];

/// Merchants with money available, each with its own daily slot at midnight (China time), which
/// has always come: the worker's first tick makes the run.
fn seed(conn: &mut PgConnection, merchants: usize) -> BTreeMap<MerchantId, i64> {
    let calendar = BusinessCalendar::default();
    let paid_at = Utc::now() - chrono::Duration::days(5);
    let mut shops = Vec::with_capacity(merchants);
    for index in 0..merchants {
        let mut raw = onboarding::testing::application(&format!("k{index}"));
        raw.account_number = Some(orders::testing::card_ending(SUFFIXES[index % SUFFIXES.len()]));
        let shop = orders::testing::shop_from(conn, &raw);
        orders::testing::paid(conn, &calendar, &shop, &format!("K{index}"), 10_000 + index as i64, paid_at);
        shops.push(shop.merchant_id);
    }
    let policy = ledger::settlement::Policy { calendar, require_reconciliation: false };
    ledger::settlement::settle_due(conn, &policy, Utc::now(), 100_000).expect("settled");
    shops
        .into_iter()
        .map(|merchant_id| {
            orders::testing::daily_payout_slot(conn, merchant_id);
            (merchant_id, balance(conn, merchant_id, AccountKind::MerchantAvailable))
        })
        .collect()
}

fn balance(conn: &mut PgConnection, merchant_id: MerchantId, kind: AccountKind) -> i64 {
    ledger::reports::merchant_balances(conn, merchant_id).expect("balances")[&kind].fen()
}

fn worker(database_url: &str, config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_liquidator"))
        .arg("worker")
        .arg("--config")
        .arg(config)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .env_remove("LIQUIDATOR_CONFIG")
        .env("LIQUIDATOR__PLATFORM__MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the worker starts")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).expect(sql).count
}

fn write_config() -> std::path::PathBuf {
    let config =
        std::env::temp_dir().join(format!("payout-kills-{}-{}.toml", std::process::id(), rand::random::<u32>()));
    let mut file = std::fs::File::create(&config).expect("config");
    writeln!(
        file,
        "[workers]\npoll_interval_ms = 20\nlease_seconds = 2\nconcurrency = 4\n\n\
         [payouts]\nschedule = \"manual\"\nweekends_are_payout_days = true\nquery_intervals_seconds = [1]\nrun_batch = 25\n\n\
         [channel.sandbox]\ndelay_seconds = 1\nseed = 20261206\n\
         mix = {{ fail = 10, returned = 10, unknown = 10, unknown_fail = 10, delay = 10 }}\n"
    )
    .expect("config written");
    config
}

/// Waits until every run is complete and every payout is handed over and answered (a pending one
/// stays submitted), nudging the scheduler's minute ticks so the test need not wait for the clock.
fn wait_until_settled(conn: &mut PgConnection, started: Instant) {
    let settled = |conn: &mut PgConnection| {
        count(conn, "SELECT count(*) AS count FROM payout_runs WHERE completed_at IS NULL") == 0
            && count(conn, "SELECT count(*) AS count FROM payouts WHERE state = 'created'") == 0
            && count(
                conn,
                // Submitted and not (yet) at the sandbox, or decided there and not here.
                "SELECT count(*) AS count FROM payouts p LEFT JOIN sandbox_payouts s USING (out_trade_no)
                  WHERE p.state = 'submitted' AND (s.status IS NULL OR s.status <> 'pending')",
            ) == 0
            && count(conn, "SELECT count(*) AS count FROM payout_runs") > 0
    };
    while !settled(conn) {
        assert!(started.elapsed() < Duration::from_secs(600), "the payouts did not settle within 10 minutes");
        for job in [payouts::jobs::ScheduleRuns.now(), payouts::jobs::QueryPayouts.now()] {
            storage::jobs::enqueue(conn, job.expect("a job")).expect("enqueued");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every merchant paid once or given its money back; the sandbox received each payout once; our
/// record agrees with the channel's; every payout's bookings match its steps; the ledger balances.
/// Returns how many merchants were paid.
fn assert_paid_once(conn: &mut PgConnection, before: &BTreeMap<MerchantId, i64>) -> usize {
    assert_eq!(count(conn, "SELECT count(*) AS count FROM payout_runs"), 1, "one run for the slot");
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM (SELECT merchant_id FROM payouts GROUP BY merchant_id HAVING count(*) > 1) d"
        ),
        0,
        "at most one payout per merchant"
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM sandbox_payouts s
              WHERE NOT EXISTS (SELECT 1 FROM payouts p WHERE p.out_trade_no = s.out_trade_no)"
        ),
        0
    );
    assert_eq!(
        count(conn, "SELECT count(*) AS count FROM payouts"),
        count(conn, "SELECT count(*) AS count FROM sandbox_payouts"),
        "every payout was handed over, each once"
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM payouts p JOIN sandbox_payouts s USING (out_trade_no)
              WHERE NOT (p.state = s.status OR (p.state = 'submitted' AND s.status = 'pending'))"
        ),
        0,
        "our record agrees with the channel's"
    );
    let mut paid = 0;
    for (merchant_id, available) in before {
        let after = ledger::reports::merchant_balances(conn, *merchant_id).expect("balances");
        // What left the provider's reserve for it (a debit-normal balance gone below zero).
        let paid_out = -after[&AccountKind::ProviderReserve].fen();
        let held = [
            AccountKind::MerchantAvailable,
            AccountKind::MerchantPayoutInTransit,
            AccountKind::PayoutClearing,
            AccountKind::PayoutFeeRevenue,
        ]
        .iter()
        .map(|kind| after[kind].fen())
        .sum::<i64>()
            + paid_out;
        assert_eq!(held, *available, "merchant {merchant_id}: nothing lost, nothing paid twice");
        assert_eq!(
            after[&AccountKind::PayoutClearing].fen(),
            0,
            "merchant {merchant_id}: whatever was sent, was funded"
        );
        paid += usize::from(paid_out > 0);
    }
    if paid < before.len() / 3 {
        let states: Vec<String> = diesel::sql_query(
            "SELECT state || ': ' || count(*) AS line FROM payouts GROUP BY state
             UNION ALL SELECT 'skipped ' || reason || ': ' || count(*) FROM payout_run_skips GROUP BY reason",
        )
        .load::<Line>(conn)
        .expect("states")
        .into_iter()
        .map(|row| row.line)
        .collect();
        panic!("most payouts went through: {paid} of {}; payouts by state and skips: {states:?}", before.len());
    }
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM payouts p
              WHERE (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_reserved') <> 1
                 OR (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_succeeded')
                    <> CASE WHEN p.state IN ('succeeded', 'returned') THEN 1 ELSE 0 END
                 OR (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_funded')
                    <> CASE WHEN p.state IN ('succeeded', 'returned') THEN 1 ELSE 0 END
                 OR (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_refunded')
                    <> CASE WHEN p.state = 'returned' THEN 1 ELSE 0 END
                 OR (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_failed')
                    <> CASE WHEN p.state IN ('failed', 'rejected') THEN 1 ELSE 0 END
                 OR (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = p.id AND e.kind = 'payout_returned')
                    <> CASE WHEN p.state = 'returned' THEN 1 ELSE 0 END"
        ),
        0,
        "each payout's entries match its steps"
    );
    let trial = ledger::reports::trial_balance(conn).expect("trial balance");
    assert!(trial.is_balanced(), "{trial:?}");
    paid
}

#[test]
fn payouts_survive_the_worker_killed_at_random_moments() {
    let merchants = number_from_env("PAYOUT_KILL_MERCHANTS", 60);
    let kills = number_from_env("PAYOUT_KILL_KILLS", 6);
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let before = seed(conn, merchants);
    let config = write_config();
    let mut rng = StdRng::seed_from_u64(20_261_205);
    let started = Instant::now();
    for _ in 0..kills {
        let mut child = worker(database.url(), &config);
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..1_500)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    // A last worker finishes what the killed ones left.
    let mut last = worker(database.url(), &config);
    wait_until_settled(conn, started);
    last.kill().expect("stopped");
    last.wait().expect("reaped");
    std::fs::remove_file(&config).ok();
    let paid = assert_paid_once(conn, &before);
    eprintln!(
        "payout kills: {merchants} merchants, {kills} kills, {} payouts, {paid} paid, {:.1} s",
        count(conn, "SELECT count(*) AS count FROM payouts"),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn three_workers_on_one_database_make_one_run_and_pay_each_merchant_once() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let before = seed(conn, 45);
    let config = write_config();
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..3).map(|_| worker(database.url(), &config)).collect();
    wait_until_settled(conn, started);
    for worker in &mut workers {
        worker.kill().expect("stopped");
        worker.wait().expect("reaped");
    }
    std::fs::remove_file(&config).ok();
    assert_paid_once(conn, &before);
}
