//! Ledger throughput (issue: ledger benchmarks), against the same PostgreSQL as everything else.
//!
//!   cargo run --release -p bench --bin ledger_bench -- [--clients N] [--duration-secs S] …
//!
//! 1. Bookings: N clients (default 2 × cores) each take placed, unpaid orders and pay them one at
//!    a time through `orders::recorder::PaymentRecorder` — the path the callback handlers take:
//!    concurrent payments recorded in batches, each batch one transaction (orders locked, states
//!    and events, ledger entries with their postings and balances, outbox rows, callback rows) —
//!    or, with `--direct`, through `record_payment` on connections of their own, one transaction
//!    per payment; over many merchants, for a fixed time after a warm-up, on a ledger primed with
//!    some history. Then `pgbench`'s built-in TPC-B-like script with the same number of clients on
//!    a scratch database of the same server, and the ratio of the two; in rounds, alternating.
//! 2. Settlement: 1M paid orders (bulk SQL, with their `order_paid` entries, postings and
//!    balances) across 1,000 merchants on one released business day; the product's settlement
//!    worker loop (`ledger::settlement::settle_due`, as the worker calls it, until done) against bare SQL
//!    on a copy of the same database: one `INSERT … SELECT` of the same settlement postings (the
//!    balance trigger moving the balances), then the settlement rows.
//!
//! Every database it uses is its own (`liquidator_bench_<pid>…`) and is dropped at the end. Needs
//! PostgreSQL (DATABASE_URL names the server, default the local one) and `pgbench`.
use domain::{
    Amount, MerchantId, OutTradeNo,
    calendar::{BusinessCalendar, china},
    orders::{NotifyUrl, OrderBody, OrderType},
};
use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use clap::Parser;
use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query, sql_types,
};
use ledger::settlement::{Policy, settle_due};
use orders::{
    lifecycle::{Payment, PaymentReport, record_payment},
    place::{NewOrder, place},
    recorder::{PaymentRecorder, Report, Settings as RecorderSettings},
};
use rand::{SeedableRng, seq::SliceRandom};
use storage::{apps::AppRow, audit::Actor};

#[derive(Parser, Debug)]
#[command(about = "Ledger benchmarks: paid-order bookings against pgbench TPC-B, settlement against bare SQL")]
struct Args {
    /// Concurrent booking clients (payment callbacks in flight), and pgbench's -c/-j (default 32).
    #[arg(long)]
    clients: Option<usize>,
    /// Merchants the bookings are spread over.
    #[arg(long, default_value_t = 64)]
    merchants: usize,
    /// Warm-up before each measured run (bookings and pgbench alike).
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Measured duration of the bookings run and of the pgbench run.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Rounds of bookings and pgbench, run in turn so both see the same machine.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Orders placed before the bookings runs; they fail if the clients run out (default: enough
    /// for 10,000 bookings/s).
    #[arg(long)]
    booking_orders: Option<i64>,
    /// pgbench -i scale factor (branches; ≥ clients keeps pgbench's own row contention low;
    /// default: twice the clients, at least 16).
    #[arg(long)]
    pgbench_scale: Option<u32>,
    /// The pgbench program.
    #[arg(long, default_value = "pgbench")]
    pgbench: String,
    /// Paid orders to settle.
    #[arg(long, default_value_t = 1_000_000)]
    settle_orders: i64,
    /// Merchants the settled orders belong to.
    #[arg(long, default_value_t = 1_000)]
    settle_merchants: usize,
    /// Payment recorder threads (each records whole batches; the product's default is 2).
    #[arg(long, default_value_t = 2)]
    recorder_threads: usize,
    /// Most payments one recorder transaction takes.
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// Clients call `record_payment` on connections of their own, one transaction per payment,
    /// instead of going through the payment recorder (the path before batching).
    #[arg(long)]
    direct: bool,
    /// Only the bookings part.
    #[arg(long, conflicts_with = "settlement_only")]
    bookings_only: bool,
    /// Only the settlement part.
    #[arg(long)]
    settlement_only: bool,
    /// Merchants a payout run looks at per transaction (the product's default is 500).
    #[arg(long, default_value_t = 500)]
    run_batch: i64,
    /// Payouts handed to the sandbox at once after the payout run (the workers' default is 4).
    #[arg(long, default_value_t = 4)]
    submit_concurrency: usize,
    /// Profiling aid: a setting for the sessions of the benchmark's own databases, as NAME=VALUE
    /// (`ALTER DATABASE … SET`), e.g. log_min_duration_statement=0, or
    /// session_preload_libraries=auto_explain with auto_explain.log_min_duration=5. Repeatable.
    #[arg(long = "db-setting", value_name = "NAME=VALUE")]
    db_settings: Vec<String>,
    /// Profiling aid: keep the benchmark's databases instead of dropping them.
    #[arg(long)]
    keep_databases: bool,
}

impl Args {
    fn scale(&self, clients: usize) -> u32 {
        self.pgbench_scale.unwrap_or_else(|| u32::try_from(clients * 2).unwrap_or(u32::MAX).max(16))
    }
}

/// Set once from `--keep-databases`.
static KEEP_DATABASES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// ---------------------------------------------------------------------------------------------
// Scratch databases

/// A database of the benchmark's own, dropped (with its connections) when this is dropped.
struct Scratch {
    name: String,
    url: String,
    maintenance_url: String,
}

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Scratch {
    fn new(name: &str, template: Option<&Scratch>) -> anyhow::Result<Scratch> {
        let (maintenance_url, _) = storage::database::split_database_url(&server_url())?;
        let url = match maintenance_url.split_once('?') {
            Some((head, query)) => format!("{}/{name}?{query}", head.trim_end_matches("/postgres")),
            None => format!("{}/{name}", maintenance_url.trim_end_matches("/postgres")),
        };
        let scratch = Scratch { name: name.to_string(), url, maintenance_url };
        let mut maintenance = scratch.maintenance()?;
        maintenance.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        let create = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {}", template.name),
            None => format!("CREATE DATABASE {name}"),
        };
        maintenance.batch_execute(&create).with_context(|| format!("{create} (is PostgreSQL running?)"))?;
        Ok(scratch)
    }

    /// A new database with every migration applied.
    fn migrated(name: &str, settings: &[String]) -> anyhow::Result<Scratch> {
        let scratch = Scratch::new(name, None)?;
        storage::run_migrations(&mut scratch.connect()?)?;
        for setting in settings {
            let (key, value) = setting.split_once('=').context("--db-setting takes NAME=VALUE")?;
            let value = value.replace('\'', "''");
            scratch.maintenance()?.batch_execute(&format!("ALTER DATABASE {name} SET {key} = '{value}'"))?;
        }
        Ok(scratch)
    }

    fn maintenance(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::establish(&self.maintenance_url)?)
    }

    /// A connection with the server's defaults (for the bare SQL and pgbench side).
    fn connect_plain(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::establish(&self.url)?)
    }

    /// A connection with the product's session settings (as the pool gives them).
    fn connect(&self) -> anyhow::Result<PgConnection> {
        let mut conn = PgConnection::establish(&self.url)?;
        storage::database::apply_session_settings(&mut conn)?;
        Ok(conn)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if KEEP_DATABASES.load(Ordering::Relaxed) {
            eprintln!("kept database {}", self.name);
            return;
        }
        let dropped = self.maintenance().and_then(|mut conn| {
            Ok(conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))?)
        });
        if let Err(error) = dropped {
            eprintln!("could not drop database {}: {error}", self.name);
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = sql_types::BigInt)]
    count: i64,
}

/// The one number a `SELECT … AS count` returns.
fn count(conn: &mut PgConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(sql_query(sql).get_result::<Count>(conn).with_context(|| sql.to_string())?.count)
}

/// What every ledger must satisfy (SPEC §7), checked over the whole database after a run: the
/// trial balance is zero, every balance equals the sum of its postings, every entry balances.
fn assert_ledger_sound(conn: &mut PgConnection) -> anyhow::Result<()> {
    let trial = count(
        conn,
        "SELECT COALESCE(sum(CASE WHEN debit_normal THEN balance_fen ELSE -balance_fen END), 0)::bigint AS count
           FROM ledger_accounts",
    )?;
    ensure!(trial == 0, "trial balance off by {trial} fen");
    let off = count(
        conn,
        "SELECT count(*) AS count FROM ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(amount_fen) AS fen FROM ledger_postings GROUP BY account_id) p
                  ON p.account_id = a.id
          WHERE a.balance_fen <> CASE WHEN a.debit_normal THEN 1 ELSE -1 END * COALESCE(p.fen, 0)",
    )?;
    ensure!(off == 0, "{off} balances differ from the sum of their postings");
    let unbalanced = count(
        conn,
        "SELECT count(*) AS count FROM (SELECT entry_id FROM ledger_postings GROUP BY entry_id
                                         HAVING sum(amount_fen) <> 0 OR count(*) < 2) x",
    )?;
    ensure!(unbalanced == 0, "{unbalanced} entries do not balance");
    Ok(())
}

/// Approved merchants with the sample application's rates, `prefix0`, `prefix1`, …
fn merchants(
    conn: &mut PgConnection,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<onboarding::applications::Approval>> {
    (0..count)
        .map(|index| {
            let raw = onboarding::testing::application(&format!("{prefix}{index}"));
            Ok(onboarding::applications::import_approved(conn, &Actor::cli(), &raw, None)?)
        })
        .collect()
}

/// `count` approved merchants for the settlement and payout parts, made in bulk: one by
/// `import_approved` (with its app), the rest copied from it in SQL with their own ids, external
/// ids, sub-merchant ids and apps — 100,000 one at a time would take ten minutes.
fn bulk_merchants(conn: &mut PgConnection, prefix: &str, count: usize) -> anyhow::Result<()> {
    let Some(copies) = count.checked_sub(1) else { return Ok(()) };
    let template = merchants(conn, prefix, 1)?.remove(0).merchant.id();
    conn.transaction(|conn| -> anyhow::Result<()> {
        sql_query(
            "CREATE TEMP TABLE bench_copies ON COMMIT DROP AS
                 SELECT g, nextval('merchants_id_seq') AS id FROM generate_series(1, $1) g",
        )
        .bind::<sql_types::BigInt, _>(i64::try_from(copies)?)
        .execute(conn)?;
        sql_query(
            "INSERT INTO merchants
             SELECT (jsonb_populate_record(NULL::merchants, to_jsonb(t) || jsonb_build_object(
                        'id', c.id, 'external_id', $2 || c.g, 'sub_merchant_id', '9' || lpad(c.g::text, 19, '0')))).*
               FROM merchants t, bench_copies c WHERE t.id = $1 ORDER BY c.id",
        )
        .bind::<sql_types::BigInt, _>(template.get())
        .bind::<sql_types::Text, _>(prefix)
        .execute(conn)?;
        sql_query(
            "INSERT INTO apps
             SELECT (jsonb_populate_record(NULL::apps, to_jsonb(a) || jsonb_build_object(
                        'id', nextval('apps_id_seq'), 'app_id', '9' || lpad(c.g::text, 15, '0'),
                        'merchant_id', c.id))).*
               FROM apps a, bench_copies c WHERE a.merchant_id = $1 ORDER BY c.id",
        )
        .bind::<sql_types::BigInt, _>(template.get())
        .execute(conn)?;
        Ok(())
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

// ---------------------------------------------------------------------------------------------
// 1. Bookings

struct Bookings {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    measured: usize,
    cpu: CpuUse,
}

/// The machine's CPU ticks (`/proc/stat`, all cores) at an instant: what the processes used, and
/// what the hypervisor took (steal), which says whether a run was disturbed from outside.
#[derive(Clone, Copy, Default)]
struct MachineCpu {
    busy_ticks: u64,
    steal_ticks: u64,
    total_ticks: u64,
}

impl MachineCpu {
    fn now() -> MachineCpu {
        let Ok(text) = std::fs::read_to_string("/proc/stat") else { return MachineCpu::default() };
        let values: Vec<u64> =
            text.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
        let get = |index: usize| values.get(index).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        let busy_ticks = get(0) + get(1) + get(2) + get(5) + get(6);
        MachineCpu { busy_ticks, steal_ticks: get(7), total_ticks: busy_ticks + get(3) + get(4) + get(7) }
    }

    /// CPU used since `before`: milliseconds of CPU (all processes) per transaction, the share of
    /// the machine busy and the share stolen.
    fn per_transaction(self, before: MachineCpu, transactions: f64) -> CpuUse {
        let ticks_per_second = 100.0; // USER_HZ
        let busy = self.busy_ticks.saturating_sub(before.busy_ticks) as f64;
        let total = (self.total_ticks.saturating_sub(before.total_ticks) as f64).max(1.0);
        CpuUse {
            ms_per_transaction: busy / ticks_per_second * 1000.0 / transactions.max(1.0),
            busy_share: busy / total,
            steal_share: self.steal_ticks.saturating_sub(before.steal_ticks) as f64 / total,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct CpuUse {
    ms_per_transaction: f64,
    busy_share: f64,
    steal_share: f64,
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3} ms CPU each, machine {:.0}% busy, {:.0}% stolen",
            self.ms_per_transaction,
            self.busy_share * 100.0,
            self.steal_share * 100.0
        )
    }
}

/// Orders to pay, each with its merchant: (trade_no, merchant_id).
type Queue = Vec<(String, MerchantId)>;

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPED: u8 = 2;

/// One placed order per merchant through the real `place`, then `count` copies of them in bulk
/// (new numbers, same merchant, split and notify_url), each with its `created` event. Returns the
/// copies' trade numbers in a seeded random order, so clients meet merchants at random.
fn placed_orders(conn: &mut PgConnection, merchants: usize, count: i64) -> anyhow::Result<Vec<(String, MerchantId)>> {
    let shops = self::merchants(conn, "book", merchants)?;
    for (index, shop) in shops.iter().enumerate() {
        place_template(conn, &shop.app, shop, 1_000 + 37 * index as i64)?;
    }
    sql_query(
        "WITH template AS (
             SELECT (row_number() OVER (ORDER BY id) - 1) AS k, * FROM orders WHERE out_trade_no = 'TEMPLATE'),
         inserted AS (
             INSERT INTO orders (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type,
                 notify_url, bank_commission_rate, pay_platform_rate, liquidator_commission_rate,
                 bank_commission_fen, pay_platform_fen, liquidator_commission_fen, net_receipt_fen,
                 cashier_code, content_fingerprint, expires_at)
             SELECT '9' || lpad(g::text, 27, '0'), t.app_id, t.merchant_id, 'B' || g, t.body, t.total_fee_fen,
                    t.order_type, t.notify_url, t.bank_commission_rate, t.pay_platform_rate,
                    t.liquidator_commission_rate, t.bank_commission_fen, t.pay_platform_fen,
                    t.liquidator_commission_fen, t.net_receipt_fen, 'bench' || lpad(g::text, 15, '0'),
                    t.content_fingerprint || ':' || g, now() + interval '1 day'
               FROM generate_series(1, $1) g JOIN template t ON t.k = g % $2
              ORDER BY g
             RETURNING id, state)
         INSERT INTO order_events (order_id, to_state, cause) SELECT id, state, 'created' FROM inserted",
    )
    .bind::<sql_types::BigInt, _>(count)
    .bind::<sql_types::BigInt, _>(merchants as i64)
    .execute(conn)?;
    use storage::schema::orders::dsl;
    let mut trade_nos: Vec<(String, MerchantId)> = {
        use diesel::{ExpressionMethods, QueryDsl, TextExpressionMethods};
        dsl::orders
            .filter(dsl::out_trade_no.like("B%"))
            .filter(dsl::state.eq(domain::orders::OrderState::Waiting))
            .order(dsl::id)
            .select((dsl::trade_no, dsl::merchant_id))
            .load(conn)?
    };
    trade_nos.shuffle(&mut rand::rngs::StdRng::seed_from_u64(20261122));
    Ok(trade_nos)
}

fn place_template(
    conn: &mut PgConnection,
    app: &AppRow,
    shop: &onboarding::applications::Approval,
    total_fen: i64,
) -> anyhow::Result<()> {
    let new = NewOrder {
        sub_merchant_id: shop.sub_merchant_id.clone(),
        out_trade_no: OutTradeNo::parse("TEMPLATE").map_err(|error| anyhow!("{error:?}"))?,
        body: OrderBody::parse("京东公仔").map_err(|error| anyhow!("{error:?}"))?,
        total: Amount::from_fen(total_fen),
        order_type: OrderType::Physical,
        notify_url: Some(
            NotifyUrl::parse("https://shop.example.com/notify", false).map_err(|error| anyhow!("{error:?}"))?,
        ),
        content_fingerprint: format!("TEMPLATE:{total_fen}"),
    };
    place(conn, app, &new, Utc::now())?;
    Ok(())
}

/// Payments booked before timing, so the ledger is not empty when it is measured.
const PRIMING_BOOKINGS: usize = 2_000;

/// Pays the orders one after the other through the real path.
fn pay(conn: &mut PgConnection, trade_nos: &[(String, MerchantId)]) -> anyhow::Result<()> {
    let calendar = BusinessCalendar::default();
    for (trade_no, _) in trade_nos {
        let report = PaymentReport {
            channel: "sandbox",
            trade_no,
            payload: serde_json::json!({ "trade_no": trade_no }),
            at: Utc::now(),
        };
        ensure!(record_payment(conn, &calendar, report)? == Payment::Applied, "{trade_no} not applied");
    }
    Ok(())
}

/// How the clients' payments reach the database.
#[derive(Clone)]
enum Path {
    /// Through the product's payment recorder (batches), as the callback handlers do.
    Recorder(PaymentRecorder),
    /// `record_payment` on the client's own connection, one transaction per payment.
    Direct(String),
}

impl Path {
    fn pay(&self, conn: &mut Option<PgConnection>, trade_no: &str, merchant_id: MerchantId) -> anyhow::Result<Payment> {
        let payload = serde_json::json!({ "trade_no": trade_no, "trade_status": "SUCCESS" });
        match self {
            Path::Recorder(recorder) => {
                let report = Report {
                    merchant_id: Some(merchant_id),
                    channel: "sandbox".into(),
                    trade_no: trade_no.into(),
                    payload,
                    at: Utc::now(),
                };
                Ok(recorder.record(report)??)
            }
            Path::Direct(url) => {
                let conn = match conn {
                    Some(conn) => conn,
                    None => {
                        let mut fresh = PgConnection::establish(url)?;
                        storage::database::apply_session_settings(&mut fresh)?;
                        conn.insert(fresh)
                    }
                };
                let report = PaymentReport { channel: "sandbox", trade_no, payload, at: Utc::now() };
                Ok(record_payment(conn, &BusinessCalendar::default(), report)?)
            }
        }
    }
}

/// One thread per queue paying its orders one at a time until stopped; counts those that finish
/// during the measured window. Returns what is left of each queue.
fn run_bookings(
    path: &Path,
    queues: Vec<Queue>,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<(Bookings, usize, Vec<Queue>)> {
    let phase = Arc::new(AtomicU8::new(WARMING));
    let workers: Vec<_> = queues
        .into_iter()
        .map(|mut queue| {
            let (phase, path) = (phase.clone(), path.clone());
            std::thread::spawn(move || -> anyhow::Result<(Vec<Duration>, usize, Queue)> {
                let mut conn = None;
                let mut latencies = Vec::new();
                for (booked, (trade_no, merchant_id)) in queue.iter().enumerate() {
                    if phase.load(Ordering::Relaxed) == STOPPED {
                        let rest = queue.split_off(booked);
                        return Ok((latencies, booked, rest));
                    }
                    let started = Instant::now();
                    let outcome = path.pay(&mut conn, trade_no, *merchant_id)?;
                    let latency = started.elapsed();
                    ensure!(outcome == Payment::Applied, "{trade_no}: {outcome:?}");
                    if phase.load(Ordering::Relaxed) == MEASURING {
                        latencies.push(latency);
                    }
                }
                bail!("a client ran out of orders after {}: raise --booking-orders", queue.len())
            })
        })
        .collect();
    std::thread::sleep(warmup);
    phase.store(MEASURING, Ordering::Relaxed);
    let started = Instant::now();
    let cpu_before = MachineCpu::now();
    std::thread::sleep(duration);
    phase.store(STOPPED, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu_after = MachineCpu::now();
    let mut latencies = Vec::new();
    let mut booked = 0;
    let mut rest = Vec::new();
    for worker in workers {
        let (mine, done, left) = worker.join().map_err(|_| anyhow!("a client panicked"))??;
        latencies.extend(mine);
        booked += done;
        rest.push(left);
    }
    latencies.sort();
    let bookings = Bookings {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        measured: latencies.len(),
        cpu: cpu_after.per_transaction(cpu_before, latencies.len() as f64),
    };
    Ok((bookings, booked, rest))
}

/// pgbench's built-in TPC-B-like script on its own scratch database (`pgbench -i -s SCALE`).
struct Pgbench<'a> {
    args: &'a Args,
    database: Scratch,
    clients: usize,
}

impl Pgbench<'_> {
    fn init(args: &Args, clients: usize) -> anyhow::Result<Pgbench<'_>> {
        let database = Scratch::new(&format!("liquidator_bench_{}_pgbench", std::process::id()), None)?;
        let pgbench = Pgbench { args, database, clients };
        pgbench.run(&["-i".into(), "-q".into(), "-s".into(), args.scale(clients).to_string()])?;
        Ok(pgbench)
    }

    fn run(&self, arguments: &[String]) -> anyhow::Result<String> {
        let output = Command::new(&self.args.pgbench)
            .args(arguments)
            .arg(&self.database.url)
            .output()
            .with_context(|| format!("running {} (set --pgbench)", self.args.pgbench))?;
        ensure!(output.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// A warm-up run, then the measured one: its tps "without initial connection time", and the
    /// machine's CPU per transaction over it.
    fn tps(&self) -> anyhow::Result<(f64, CpuUse)> {
        let clients = self.clients.to_string();
        let timed = |secs: u64| {
            self.run(&[
                "-c".into(),
                clients.clone(),
                "-j".into(),
                clients.clone(),
                "-T".into(),
                secs.to_string(),
                "-M".into(),
                "prepared".into(),
            ])
        };
        self.database.connect()?.batch_execute("CHECKPOINT")?;
        if self.args.warmup_secs > 0 {
            timed(self.args.warmup_secs)?;
        }
        let cpu_before = MachineCpu::now();
        let output = timed(self.args.duration_secs)?;
        let cpu_after = MachineCpu::now();
        let tps: f64 = output
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix("tps = ")?;
                rest.contains("without initial connection time")
                    .then(|| rest.split_whitespace().next()?.parse().ok())?
            })
            .ok_or_else(|| anyhow!("no tps in pgbench's output:\n{output}"))?;
        Ok((tps, cpu_after.per_transaction(cpu_before, tps * self.args.duration_secs as f64)))
    }
}

/// One round: the bookings run, then pgbench right after it.
struct Round {
    bookings: Bookings,
    pgbench_tps: f64,
    pgbench_cpu: CpuUse,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.bookings.per_second / self.pgbench_tps
    }
}

/// `--rounds` rounds of bookings and pgbench in turn, so both see the same machine.
fn bookings(args: &Args, clients: usize) -> anyhow::Result<Vec<Round>> {
    let pid = std::process::id();
    let database = Scratch::migrated(&format!("liquidator_bench_{pid}"), &args.db_settings)?;
    let conn = &mut database.connect()?;
    let started = Instant::now();
    let needed = args.rounds as u64 * (args.warmup_secs + args.duration_secs) * 10_000;
    let orders = args.booking_orders.unwrap_or(needed.max(20_000) as i64);
    let mut trade_nos = placed_orders(conn, args.merchants, orders)?;
    // A ledger with some history, and statistics that know it (as autovacuum would have by then):
    // plans made for empty tables scan them whole, and sessions keep their plans.
    let primed: Vec<(String, MerchantId)> = trade_nos.drain(..PRIMING_BOOKINGS.min(trade_nos.len())).collect();
    pay(conn, &primed)?;
    conn.batch_execute("VACUUM ANALYZE")?;
    eprintln!(
        "bookings: {} orders of {} merchants placed in {:.1} s; {clients} clients, {} s warm-up, {} s measured",
        trade_nos.len(),
        args.merchants,
        started.elapsed().as_secs_f64(),
        args.warmup_secs,
        args.duration_secs
    );
    let mut queues: Vec<Queue> = vec![Vec::new(); clients];
    for (index, trade_no) in trade_nos.into_iter().enumerate() {
        queues[index % clients].push(trade_no);
    }
    let pgbench = Pgbench::init(args, clients)?;
    let path = if args.direct {
        Path::Direct(database.url.clone())
    } else {
        let pool = storage::connect(&database.url, args.recorder_threads as u32)?;
        let settings = RecorderSettings { threads: args.recorder_threads, max_batch: args.max_batch };
        Path::Recorder(PaymentRecorder::start(pool, BusinessCalendar::default(), settings))
    };
    // The product's rollup job runs beside the bookings, as the workers run it.
    let folder = Folder::start(&database.url)?;
    let mut rounds = Vec::new();
    let mut booked = primed.len();
    for round in 1..=args.rounds {
        conn.batch_execute("CHECKPOINT")?;
        let warmup = Duration::from_secs(args.warmup_secs);
        let (bookings, used, rest) = run_bookings(&path, queues, warmup, Duration::from_secs(args.duration_secs))?;
        queues = rest;
        booked += used;
        let (pgbench_tps, pgbench_cpu) = pgbench.tps()?;
        eprintln!(
            "round {round}: {:.0} bookings/s, pgbench {pgbench_tps:.0} tps, ratio {:.2}\n  bookings: {}\n  pgbench:  {pgbench_cpu}",
            bookings.per_second,
            bookings.per_second / pgbench_tps,
            bookings.cpu
        );
        rounds.push(Round { bookings, pgbench_tps, pgbench_cpu });
    }
    // Every payment booked exactly once, with its outbox row, and the ledger sound.
    let entries = count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'order_paid'")?;
    let outbox = count(conn, "SELECT count(*) AS count FROM notifications WHERE kind = 'order_paid'")?;
    let paid = count(conn, "SELECT count(*) AS count FROM orders WHERE state = 'paid'")?;
    ensure!(
        entries == booked as i64 && outbox == booked as i64 && paid == booked as i64,
        "{booked} payments, {entries} entries, {outbox} outbox rows, {paid} paid orders"
    );
    assert_ledger_sound(conn)?;
    let folded = folder.stop()?;
    ledger::rollups::fold(conn)?;
    let differences = ledger::rollups::differences(conn, 10)?;
    ensure!(differences.is_empty(), "the rollups differ from the ledger: {differences:?}");
    eprintln!(
        "bookings: {booked} payments in all, each with one entry and one outbox row; ledger sound; \
         {folded} entries folded into the rollups while booking, which agree with the ledger"
    );
    Ok(rounds)
}

/// The ledger's rollup job on a thread of its own: a fold about every second, as the workers do.
struct Folder {
    stop: Arc<AtomicU8>,
    thread: std::thread::JoinHandle<anyhow::Result<usize>>,
}

impl Folder {
    fn start(url: &str) -> anyhow::Result<Folder> {
        let mut conn = PgConnection::establish(url)?;
        storage::database::apply_session_settings(&mut conn)?;
        let stop = Arc::new(AtomicU8::new(0));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || -> anyhow::Result<usize> {
            let mut folded = 0;
            while stopped.load(Ordering::Relaxed) == 0 {
                folded += ledger::rollups::fold(&mut conn)?;
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(folded)
        });
        Ok(Folder { stop, thread })
    }

    /// Entries folded in all.
    fn stop(self) -> anyhow::Result<usize> {
        self.stop.store(1, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow::anyhow!("the folder panicked"))?
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Settlement

/// `orders` paid orders on `date` across every merchant of the database, with their `order_paid`
/// entries, postings and balances, written in bulk with triggers off (setup, not measured), the
/// day released; then checked like any ledger.
fn paid_orders(conn: &mut PgConnection, orders: i64, date: NaiveDate, paid_at: DateTime<Utc>) -> anyhow::Result<()> {
    conn.transaction(|conn| -> anyhow::Result<()> {
        conn.batch_execute(
            "SET LOCAL session_replication_role = replica;
             CREATE TEMP TABLE bench_merchants ON COMMIT DROP AS
                 SELECT (row_number() OVER (ORDER BY m.id) - 1) AS k, m.id AS merchant_id, a.id AS app_id
                   FROM merchants m JOIN apps a ON a.merchant_id = m.id AND a.kind = 'merchant';
             INSERT INTO ledger_accounts (merchant_id, kind, debit_normal)
                 SELECT b.merchant_id, k.kind, k.kind = 'upstream_receivable'
                   FROM bench_merchants b
                  CROSS JOIN unnest(ARRAY['upstream_receivable', 'merchant_pending', 'merchant_available',
                        'merchant_payout_in_transit', 'bank_commission_payable', 'pay_platform_fee_payable',
                        'liquidator_commission_revenue', 'payout_fee_revenue', 'payout_clearing']) AS k (kind)
                  ORDER BY b.merchant_id
                 ON CONFLICT DO NOTHING;",
        )?;
        let merchants = count(conn, "SELECT count(*) AS count FROM bench_merchants")?;
        sql_query(
            "INSERT INTO orders (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type,
                 bank_commission_rate, pay_platform_rate, liquidator_commission_rate, bank_commission_fen,
                 pay_platform_fen, liquidator_commission_fen, net_receipt_fen, state, cashier_code,
                 content_fingerprint, expires_at, paid_at, paid_business_date, created_at, updated_at)
             SELECT '8' || lpad(g::text, 27, '0'), b.app_id, b.merchant_id, 'S' || g, '京东公仔', f.total, 0,
                    0.00030, 0.00200, 0.00100, f.bank, f.pay, f.liq, f.total - f.bank - f.pay - f.liq, 'paid',
                    'settle' || lpad(g::text, 14, '0'), 'S:' || g, $1 + interval '2 hours', $1, $2,
                    $1 - interval '1 minute', $1
               FROM generate_series(1, $3) g
               JOIN bench_merchants b ON b.k = g % $4
              CROSS JOIN LATERAL (SELECT 100 + (g * 7919) % 99900 AS total) t
              CROSS JOIN LATERAL (SELECT t.total, round(t.total * 0.00030)::bigint AS bank,
                                         round(t.total * 0.00200)::bigint AS pay,
                                         round(t.total * 0.00100)::bigint AS liq) f
              ORDER BY g",
        )
        .bind::<sql_types::Timestamptz, _>(paid_at)
        .bind::<sql_types::Date, _>(date)
        .bind::<sql_types::BigInt, _>(orders)
        .bind::<sql_types::BigInt, _>(merchants)
        .execute(conn)?;
        sql_query(
            "INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, order_id, business_date, booked_at)
             SELECT 'order:' || trade_no || ':paid', 'order_paid', merchant_id, id, paid_business_date, paid_at
               FROM orders WHERE paid_business_date = $1 ORDER BY id",
        )
        .bind::<sql_types::Date, _>(date)
        .execute(conn)?;
        // In the order `post` writes them: by account kind.
        sql_query(format!(
            "INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
             SELECT e.id, a.id, v.amount_fen
               FROM ledger_entries e
               JOIN orders o ON o.id = e.order_id
              {order_split}
               JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind = v.kind
              WHERE e.kind = 'order_paid' AND e.business_date = $1 AND v.amount_fen <> 0
              ORDER BY e.id, v.n",
            order_split = bench::ORDER_SPLIT_POSTINGS
        ))
        .bind::<sql_types::Date, _>(date)
        .execute(conn)?;
        conn.batch_execute(
            "UPDATE ledger_accounts a
                SET balance_fen = CASE WHEN a.debit_normal THEN p.fen ELSE -p.fen END
               FROM (SELECT account_id, sum(amount_fen)::bigint AS fen FROM ledger_postings GROUP BY account_id) p
              WHERE p.account_id = a.id;",
        )?;
        storage::ledger::release_day(conn, date, "bench", "benchmark: released without reconciliation")?;
        Ok(())
    })?;
    conn.batch_execute("VACUUM ANALYZE")?;
    assert_ledger_sound(conn)
}

/// The same settlement in bare SQL: first the postings, one `INSERT … SELECT` (with the entries
/// it needs in the same statement; the balance trigger and the statement checks run as usual);
/// then the settlement rows. Times of both steps.
fn bare_sql_settlement(conn: &mut PgConnection, date: NaiveDate) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    conn.transaction(|conn| {
        sql_query(
            "WITH owed AS (
                 SELECT o.merchant_id, sum(o.net_receipt_fen - COALESCE(r.net_fen, 0))::bigint AS amount_fen
                   FROM orders o
                   LEFT JOIN (SELECT order_id, sum(net_receipt_fen) AS net_fen FROM refunds GROUP BY order_id) r
                          ON r.order_id = o.id
                  WHERE o.paid_business_date = $1
                  GROUP BY o.merchant_id),
             entries AS (
                 INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date)
                 SELECT 'settlement:' || merchant_id || ':' || $1, 'settlement', merchant_id, $1
                   FROM owed WHERE amount_fen > 0
                 RETURNING id, merchant_id)
             INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
             SELECT e.id, a.id, CASE a.kind WHEN 'merchant_pending' THEN w.amount_fen ELSE -w.amount_fen END
               FROM entries e
               JOIN owed w ON w.merchant_id = e.merchant_id
               JOIN ledger_accounts a ON a.merchant_id = e.merchant_id
                                     AND a.kind IN ('merchant_pending', 'merchant_available')
              ORDER BY e.id, a.id",
        )
        .bind::<sql_types::Date, _>(date)
        .execute(conn)
    })?;
    let postings = started.elapsed();
    let started = Instant::now();
    conn.transaction(|conn| {
        sql_query(
            "WITH owed AS (
                 SELECT o.merchant_id, sum(o.net_receipt_fen - COALESCE(r.net_fen, 0))::bigint AS amount_fen,
                        count(*)::integer AS order_count
                   FROM orders o
                   LEFT JOIN (SELECT order_id, sum(net_receipt_fen) AS net_fen FROM refunds GROUP BY order_id) r
                          ON r.order_id = o.id
                  WHERE o.paid_business_date = $1
                  GROUP BY o.merchant_id)
             INSERT INTO settlements (merchant_id, business_date, amount_fen, order_count, entry_id)
             SELECT w.merchant_id, $1, w.amount_fen, w.order_count, e.id
               FROM owed w
               LEFT JOIN ledger_entries e ON e.idempotency_key = 'settlement:' || w.merchant_id || ':' || $1",
        )
        .bind::<sql_types::Date, _>(date)
        .execute(conn)
    })?;
    Ok((postings, started.elapsed()))
}

#[derive(QueryableByName, PartialEq, Eq, Debug)]
struct Settled {
    #[diesel(sql_type = sql_types::BigInt)]
    merchant_id: MerchantId,
    #[diesel(sql_type = sql_types::BigInt)]
    available_fen: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    pending_fen: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    settlement_fen: i64,
}

/// Per merchant: balances and the settlement's amount, to compare the two databases.
fn settled(conn: &mut PgConnection) -> anyhow::Result<Vec<Settled>> {
    ensure!(
        count(
            conn,
            "SELECT count(*) AS count FROM orders o
              WHERE o.paid_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM settlements s
                                 WHERE s.merchant_id = o.merchant_id AND s.business_date = o.paid_business_date)"
        )? == 0
    );
    assert_ledger_sound(conn)?;
    Ok(sql_query(
        "SELECT a.merchant_id,
                sum(a.balance_fen) FILTER (WHERE a.kind = 'merchant_available')::bigint AS available_fen,
                sum(a.balance_fen) FILTER (WHERE a.kind = 'merchant_pending')::bigint AS pending_fen,
                COALESCE((SELECT sum(s.amount_fen) FROM settlements s WHERE s.merchant_id = a.merchant_id), 0)::bigint
                    AS settlement_fen
           FROM ledger_accounts a GROUP BY a.merchant_id ORDER BY a.merchant_id",
    )
    .load(conn)?)
}

struct SettlementResult {
    product: Duration,
    settlements: usize,
    bare_postings: Duration,
    bare_rest: Duration,
    /// A payout run over the settled merchants: how long, and how many payouts it made.
    payout_run: Duration,
    payouts: usize,
    submission: Submission,
}

/// Handing a run's payouts to the sandbox channel, as the workers' submit jobs do.
struct Submission {
    submitted: usize,
    elapsed: Duration,
}

/// Submits every created payout through `payouts::send::submit` to the sandbox (its records in
/// PostgreSQL, as the server runs it), `concurrency` at a time — the workers' default is 4 per
/// node — then checks each succeeded once and the sandbox holds each once.
fn submit_all(url: &str, calendar: BusinessCalendar, concurrency: usize) -> anyhow::Result<Submission> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool_size = u32::try_from(concurrency + 2)?;
        let pool = storage::connect(url, pool_size)?;
        let sandbox =
            channel::Registry::with_sandbox(server::platform::sandbox(&pool, Default::default(), calendar).await?);
        let ids = storage::database::run_blocking(&pool, |conn| {
            storage::payouts::list(
                conn,
                &storage::payouts::ListFilter {
                    state: Some(domain::payouts::PayoutState::Created),
                    ..Default::default()
                },
                i64::MAX,
            )
        })
        .await?;
        let queue: std::sync::Arc<std::sync::Mutex<Vec<domain::PayoutId>>> =
            std::sync::Arc::new(std::sync::Mutex::new(ids.iter().map(|(payout, _)| payout.id).collect()));
        let settings = std::sync::Arc::new(payout_settings());
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (pool, sandbox, queue, settings) = (pool.clone(), sandbox.clone(), queue.clone(), settings.clone());
            tasks.spawn(async move {
                loop {
                    let next = queue.lock().map_err(|_| anyhow::anyhow!("queue poisoned"))?.pop();
                    let Some(id) = next else { return Ok::<_, anyhow::Error>(()) };
                    payouts::send::submit(&pool, calendar, &settings, &sandbox, id).await?;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        let elapsed = started.elapsed();
        let (succeeded, kept) = storage::database::run_blocking(&pool, |conn| {
            let succeeded = count(conn, "SELECT count(*) AS count FROM payouts WHERE state = 'succeeded'")?;
            let kept = count(conn, "SELECT count(*) AS count FROM sandbox_payouts")?;
            Ok::<_, anyhow::Error>((succeeded, kept))
        })
        .await?;
        let submitted = ids.len();
        ensure!(succeeded as usize == submitted && kept as usize == submitted, "{succeeded} succeeded, {kept} kept");
        Ok(Submission { submitted, elapsed })
    })
}

fn settlement(args: &Args) -> anyhow::Result<SettlementResult> {
    let pid = std::process::id();
    let calendar = BusinessCalendar::default();
    let now = Utc::now();
    let date = calendar.date_of(now).checked_sub_days(Days::new(3)).context("a date")?;
    let noon = china().from_local_datetime(&date.and_hms_opt(12, 0, 0).context("noon")?).single().context("noon")?;
    let product_db = Scratch::migrated(&format!("liquidator_bench_{pid}_settle"), &args.db_settings)?;
    {
        let conn = &mut product_db.connect()?;
        let started = Instant::now();
        bulk_merchants(conn, "settle", args.settle_merchants)?;
        paid_orders(conn, args.settle_orders, date, noon.with_timezone(&Utc))?;
        eprintln!(
            "settlement: {} paid orders of {} merchants on {date}, booked and released, in {:.1} s",
            args.settle_orders,
            args.settle_merchants,
            started.elapsed().as_secs_f64()
        );
    }
    let bare_db = Scratch::new(&format!("liquidator_bench_{pid}_settle_sql"), Some(&product_db))?;

    let bare = &mut bare_db.connect_plain()?;
    bare.batch_execute("CHECKPOINT")?;
    let (bare_postings, bare_rest) = bare_sql_settlement(bare, date)?;
    eprintln!(
        "settlement: bare SQL {:.2} s for the postings, {:.2} s for settlement rows and orders",
        bare_postings.as_secs_f64(),
        bare_rest.as_secs_f64()
    );

    let conn = &mut product_db.connect()?;
    conn.batch_execute("CHECKPOINT")?;
    // What the settlement worker does (server::worker::settle): batches until one comes back short.
    const BATCH: i64 = ledger::jobs::SETTLE_BATCH;
    let policy = Policy { calendar, require_reconciliation: true };
    let started = Instant::now();
    let mut settlements = 0;
    loop {
        let settled = settle_due(conn, &policy, now, BATCH)?;
        settlements += settled.len();
        if settled.len() < BATCH as usize {
            break;
        }
    }
    let product = started.elapsed();
    eprintln!("settlement: settle_due {:.2} s for {settlements} settlements", product.as_secs_f64());

    let (mine, theirs) = (settled(conn)?, settled(bare)?);
    ensure!(mine == theirs, "the bare SQL settled differently");
    ensure!(mine.iter().all(|m| m.pending_fen == 0 && m.available_fen == m.settlement_fen));
    let (payout_run, payouts) = payout_run(conn, &calendar, args.run_batch)?;
    eprintln!("payouts: a run made {payouts} payouts in {:.2} s", payout_run.as_secs_f64());
    let submission = submit_all(&product_db.url, calendar, args.submit_concurrency)?;
    eprintln!(
        "payouts: {} submitted to the sandbox and succeeded in {:.2} s ({} at a time)",
        submission.submitted,
        submission.elapsed.as_secs_f64(),
        args.submit_concurrency
    );
    assert_ledger_sound(conn)?;
    Ok(SettlementResult { product, settlements, bare_postings, bare_rest, payout_run, payouts, submission })
}

/// A manual payout run over every merchant (each now has its settlement available), as an
/// operator starts one: each payout written with its reservation and submit job, in batches of
/// the product's default size. The channel is not called here (that is the workers' part).
fn payout_run(conn: &mut PgConnection, calendar: &BusinessCalendar, batch: i64) -> anyhow::Result<(Duration, usize)> {
    conn.batch_execute("CHECKPOINT")?;
    let settings = payouts::Settings { run_batch: batch, ..payout_settings() };
    let payout_calendar = domain::payouts::calendar::PayoutCalendar::new(true, []);
    let started = Instant::now();
    let (run, _) = payouts::runs::manual_run(conn, &settings, &payout_calendar, calendar, None, "bench", "sandbox")?;
    let elapsed = started.elapsed();
    let made = storage::payouts::of_run(conn, run.id)?.len();
    assert_ledger_sound(conn)?;
    Ok((elapsed, made))
}

/// Payouts of everything available less a 1 yuan fee, none waiting for approval.
fn payout_settings() -> payouts::Settings {
    payouts::Settings {
        weekends_are_payout_days: true,
        default_schedule: domain::payouts::schedule::Schedule {
            cadence: domain::payouts::schedule::Cadence::Daily,
            at: chrono::NaiveTime::MIN,
            minimum: domain::Amount::from_fen(1),
            retained: domain::Amount::ZERO,
            fee: domain::payouts::fee::FeeRule::Fixed(domain::Amount::from_fen(100)),
        },
        approval_above: domain::Amount::from_fen(i64::MAX),
        attention_after: chrono::Duration::hours(1),
        query_intervals_seconds: vec![60],
        run_batch: 500,
    }
}

// ---------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    KEEP_DATABASES.store(args.keep_databases, Ordering::Relaxed);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let clients = args.clients.unwrap_or(32);
    let mut json = serde_json::json!({ "bench": "ledger", "cores": cores });
    let mut table = Vec::new();

    if !args.settlement_only {
        let rounds = bookings(&args, clients)?;
        for (index, round) in rounds.iter().enumerate() {
            let number = index + 1;
            table.push(format!(
                "| {number}: bookings ({clients} clients, {} merchants) | {:.0} /s | p50 {:.2} ms, p99 {:.2} ms, {} in {} s; {} |",
                args.merchants,
                round.bookings.per_second,
                ms(round.bookings.p50),
                ms(round.bookings.p99),
                round.bookings.measured,
                args.duration_secs,
                round.bookings.cpu
            ));
            table.push(format!(
                "| {number}: pgbench TPC-B (-c {clients} -j {clients} -M prepared, scale {}) | {:.0} tps | {} |",
                args.scale(clients),
                round.pgbench_tps,
                round.pgbench_cpu
            ));
            table.push(format!("| {number}: ratio bookings / pgbench (target ≥ 1.00) | {:.2} | |", round.ratio()));
        }
        let mean = |value: &dyn Fn(&Round) -> f64| rounds.iter().map(value).sum::<f64>() / rounds.len().max(1) as f64;
        let ratio = mean(&|round| round.ratio());
        table.push(format!("| mean ratio over {} rounds | {ratio:.2} | |", rounds.len()));
        json["clients"] = clients.into();
        json["merchants"] = args.merchants.into();
        json["duration_secs"] = args.duration_secs.into();
        json["bookings_per_s"] = mean(&|round| round.bookings.per_second).round().into();
        json["booking_p50_ms"] = ((mean(&|round| ms(round.bookings.p50)) * 100.0).round() / 100.0).into();
        json["booking_p99_ms"] = ((mean(&|round| ms(round.bookings.p99)) * 100.0).round() / 100.0).into();
        json["pgbench_scale"] = args.scale(clients).into();
        json["path"] = if args.direct { "direct" } else { "recorder" }.into();
        json["recorder_threads"] = args.recorder_threads.into();
        json["pgbench_tps"] = mean(&|round| round.pgbench_tps).round().into();
        json["bookings_ratio"] = ((ratio * 1000.0).round() / 1000.0).into();
        json["rounds_columns"] =
            serde_json::json!(["bookings_per_s", "pgbench_tps", "ratio", "booking_cpu_ms", "pgbench_cpu_ms"]);
        json["rounds"] = rounds
            .iter()
            .map(|round| {
                serde_json::json!([
                    round.bookings.per_second.round(),
                    round.pgbench_tps.round(),
                    (round.ratio() * 1000.0).round() / 1000.0,
                    (round.bookings.cpu.ms_per_transaction * 1000.0).round() / 1000.0,
                    (round.pgbench_cpu.ms_per_transaction * 1000.0).round() / 1000.0
                ])
            })
            .collect::<Vec<_>>()
            .into();
    }
    if !args.bookings_only {
        let result = settlement(&args)?;
        let product = result.product.as_secs_f64();
        let postings = result.bare_postings.as_secs_f64();
        let full = postings + result.bare_rest.as_secs_f64();
        table.push(format!(
            "| settlement, settle_due ({} orders, {} merchants) | {product:.2} s | {} settlements |",
            args.settle_orders, args.settle_merchants, result.settlements
        ));
        table.push(format!("| bare SQL: the settlement postings (INSERT … SELECT) | {postings:.2} s | |"));
        table.push(format!("| bare SQL: postings + settlement rows | {full:.2} s | |"));
        table.push(format!("| ratio settle_due / bare postings (target ≤ 2.00) | {:.2} | |", product / postings));
        table.push(format!("| ratio settle_due / bare full settlement | {:.2} | |", product / full));
        let payout_seconds = result.payout_run.as_secs_f64();
        let per_second = result.payouts as f64 / payout_seconds.max(f64::EPSILON);
        table.push(format!(
            "| payout run ({} merchants, reserved in batches of 500) | {per_second:.0} payouts/s | {} payouts in {payout_seconds:.2} s |",
            args.settle_merchants, result.payouts
        ));
        let submit_seconds = result.submission.elapsed.as_secs_f64();
        let submitted_per_second = result.submission.submitted as f64 / submit_seconds.max(f64::EPSILON);
        table.push(format!(
            "| payouts submitted to the sandbox ({} at a time) | {submitted_per_second:.0} payouts/s | {} payouts in {submit_seconds:.2} s |",
            args.submit_concurrency, result.submission.submitted
        ));
        json["submitted_per_s"] = submitted_per_second.round().into();
        json["payouts"] = result.payouts.into();
        json["payout_run_s"] = ((payout_seconds * 1000.0).round() / 1000.0).into();
        json["payouts_per_s"] = per_second.round().into();
        json["settle_orders"] = args.settle_orders.into();
        json["settle_merchants"] = args.settle_merchants.into();
        json["settle_s"] = ((product * 1000.0).round() / 1000.0).into();
        json["bare_postings_s"] = ((postings * 1000.0).round() / 1000.0).into();
        json["bare_full_s"] = ((full * 1000.0).round() / 1000.0).into();
        json["settle_ratio_postings"] = ((product / postings * 100.0).round() / 100.0).into();
        json["settle_ratio_full"] = ((product / full * 100.0).round() / 100.0).into();
    }
    println!("| measurement | result | detail |");
    println!("|---|---|---|");
    for line in table {
        println!("{line}");
    }
    println!("{json}");
    Ok(())
}
