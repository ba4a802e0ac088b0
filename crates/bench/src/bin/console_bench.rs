//! The console and reports at scale (issue 15): a database of N paid orders over many business days
//! (bulk SQL, as `ledger_bench` does: 1,000 merchants, 90 days, a refund for one order in twenty,
//! every day but the last settled), the real server on it, an admin signed in loading every
//! console page and CSV export again and again, and two gateway methods; p50 and p95 per page.
//!
//! ```sh
//! cargo build --release -p bench --bin console_bench
//! ./target/release/console_bench --orders 1000000            # builds liquidator_console_1000000
//! ./target/release/console_bench --orders 10000000 --loads 20
//! ```
//! A database built once is reused by the next run with the same `--orders` (`--rebuild` builds it
//! again); it is kept for that, and dropped by `--drop`.
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use diesel::{Connection, PgConnection, RunQueryDsl, connection::SimpleConnection, sql_query, sql_types};
use fshows::signature::{SignType, Signer, string_to_sign};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use storage::audit::Actor;

#[derive(Parser)]
struct Args {
    /// Paid orders in the database.
    #[arg(long, default_value_t = 1_000_000)]
    orders: i64,
    #[arg(long, default_value_t = 1_000)]
    merchants: usize,
    #[arg(long, default_value_t = 90)]
    days: i64,
    /// Loads of each page (after one that is not counted).
    #[arg(long, default_value_t = 20)]
    loads: usize,
    /// Build the database again even if one of this size exists.
    #[arg(long)]
    rebuild: bool,
    /// Drop the database at the end.
    #[arg(long)]
    drop: bool,
    /// Load only the pages (and gateway methods) whose address (name) holds this text, to profile
    /// one of them.
    #[arg(long)]
    only: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server_url = storage::testing::server_url();
    let name = format!("liquidator_console_{}", args.orders);
    // DATABASE_URL names the server's maintenance database; the bench's is beside it.
    let server = server_url.rsplit_once('/').map_or(server_url.as_str(), |(server, _)| server);
    let url = format!("{server}/{name}");
    let built = storage::database::create_database_if_missing(&url)?;
    if built || args.rebuild {
        let started = Instant::now();
        if !built {
            recreate(&server_url, &name, &url)?;
        }
        seed(&url, &args)?;
        println!("seeded {name}: {} orders in {:.0} s", args.orders, started.elapsed().as_secs_f64());
    }
    let results = measure(&url, &args).await?;
    report(&args, &results);
    let failed: Vec<&str> =
        results.iter().filter(|result| result.status != 200).map(|result| result.page.as_str()).collect();
    anyhow::ensure!(failed.is_empty(), "pages that did not answer 200: {failed:?}");
    if args.drop {
        let mut conn = PgConnection::establish(&server_url)?;
        conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))?;
    }
    Ok(())
}

fn recreate(server_url: &str, name: &str, url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(server_url)?;
    conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))?;
    storage::database::create_database_if_missing(url)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The database.

/// Merchants through onboarding (one at a time: a thousand take seconds), then each business
/// day's orders, refunds and settlements in bulk with triggers off (setup, not measured), the
/// balances and rollups written from the postings, and the ledger checked.
fn seed(url: &str, args: &Args) -> anyhow::Result<()> {
    let conn = &mut PgConnection::establish(url)?;
    storage::database::run_migrations(conn)?;
    for index in 0..args.merchants {
        let raw = onboarding::testing::application(&format!("bench{index}"));
        onboarding::applications::import_approved(conn, &Actor::cli(), &raw, None)?;
    }
    conn.batch_execute(ACCOUNTS)?;
    let per_day = (args.orders / args.days).max(1);
    let today = chrono::Utc::now().with_timezone(&domain::calendar::china()).date_naive();
    for day in 0..args.days {
        let date = today - chrono::Duration::days(args.days - 1 - day);
        let first = day * per_day + 1;
        let last = if day == args.days - 1 { args.orders } else { first + per_day - 1 };
        conn.transaction(|conn| -> anyhow::Result<()> {
            conn.batch_execute("SET LOCAL session_replication_role = replica")?;
            let payment_postings = PAYMENT_POSTINGS.replace("{order_split}", bench::ORDER_SPLIT_POSTINGS);
            let statements = [ORDERS, REFUNDS, PAYMENT_ENTRIES, &payment_postings, REFUND_ENTRIES, REFUND_POSTINGS];
            for statement in statements {
                sql_query(statement)
                    .bind::<sql_types::BigInt, _>(first)
                    .bind::<sql_types::BigInt, _>(last)
                    .bind::<sql_types::Date, _>(date)
                    .execute(conn)
                    .with_context(|| format!("{date}: {}", &statement[..60]))?;
            }
            if day < args.days - 1 {
                sql_query(SETTLEMENTS).bind::<sql_types::Date, _>(date).execute(conn)?;
                sql_query(RELEASE).bind::<sql_types::Date, _>(date).execute(conn)?;
            }
            Ok(())
        })?;
        if day % 10 == 9 {
            println!("  day {}/{}", day + 1, args.days);
        }
    }
    conn.batch_execute(
        "SET session_replication_role = replica;
         UPDATE ledger_accounts a
            SET balance_fen = CASE WHEN a.debit_normal THEN p.fen ELSE -p.fen END
           FROM (SELECT account_id, sum(amount_fen)::bigint AS fen FROM ledger_postings GROUP BY account_id) p
          WHERE p.account_id = a.id;
         SET session_replication_role = DEFAULT;",
    )?;
    ledger::rollups::rebuild(conn)?;
    conn.batch_execute("VACUUM ANALYZE")?;
    let trial = ledger::reports::trial_balance(conn)?;
    anyhow::ensure!(trial.is_balanced(), "the seeded ledger is not sound: {trial:?}");
    Ok(())
}

/// Every merchant's accounts (onboarding opens them as bookings need them).
const ACCOUNTS: &str = "
    INSERT INTO ledger_accounts (merchant_id, kind, debit_normal)
    SELECT m.id, k.kind, k.kind = 'upstream_receivable'
      FROM merchants m
     CROSS JOIN unnest(ARRAY['upstream_receivable', 'merchant_pending', 'merchant_available',
           'bank_commission_payable', 'pay_platform_fee_payable', 'liquidator_commission_revenue']) AS k (kind)
    ON CONFLICT DO NOTHING";

/// Orders `$1..=$2`, paid on business day `$3` across the merchants; one in twenty refunded in part.
const ORDERS: &str = "
    INSERT INTO orders (trade_no, app_id, merchant_id, out_trade_no, body, total_fee_fen, order_type,
        bank_commission_rate, pay_platform_rate, liquidator_commission_rate, bank_commission_fen,
        pay_platform_fen, liquidator_commission_fen, net_receipt_fen, state, refunded_fen, cashier_code,
        content_fingerprint, expires_at, paid_at, paid_business_date, created_at, updated_at)
    SELECT '7' || lpad(g::text, 27, '0'), a.id, a.merchant_id, 'C' || g, '京东公仔', f.total, 0,
           0.00030, 0.00200, 0.00100, f.bank, f.pay, f.liq, f.total - f.bank - f.pay - f.liq,
           CASE WHEN g % 20 = 0 THEN 'partially_refunded' ELSE 'paid' END,
           CASE WHEN g % 20 = 0 THEN f.total * 3 / 10 ELSE 0 END,
           'c' || lpad(g::text, 19, '0'), 'C:' || g, t.at + interval '2 hours', t.at, $3, t.at - interval '1 minute', t.at
      FROM generate_series($1, $2) g
      JOIN (SELECT row_number() OVER (ORDER BY merchant_id) - 1 AS k, id, merchant_id
              FROM apps WHERE kind = 'merchant') a ON a.k = g % (SELECT count(*) FROM apps WHERE kind = 'merchant')
     CROSS JOIN LATERAL (SELECT ($3::date + time '10:00' - interval '8 hours' + (g % 36000) * interval '1 second')::timestamptz
                                AS at) t
     CROSS JOIN LATERAL (SELECT 100 + (g * 7919) % 99900 AS total) o
     CROSS JOIN LATERAL (SELECT o.total, round(o.total * 0.00030)::bigint AS bank,
                                round(o.total * 0.00200)::bigint AS pay, round(o.total * 0.00100)::bigint AS liq) f";

const REFUNDS: &str = "
    INSERT INTO refunds (refund_no, order_id, out_refund_no, refund_fee_fen, bank_commission_fen, pay_platform_fen,
                         liquidator_commission_fen, net_receipt_fen, state, requested_by, created_at)
    SELECT '6' || substr(o.trade_no, 2), o.id, 'R' || o.out_trade_no, r.fee, r.bank, r.pay, r.liq,
           r.fee - r.bank - r.pay - r.liq, 'succeeded', 'bench', o.paid_at + interval '1 hour'
      FROM orders o
     CROSS JOIN LATERAL (SELECT o.refunded_fen AS fee, round(o.refunded_fen * 0.00030)::bigint AS bank,
                                round(o.refunded_fen * 0.00200)::bigint AS pay,
                                round(o.refunded_fen * 0.00100)::bigint AS liq) r
     WHERE o.trade_no BETWEEN '7' || lpad($1::text, 27, '0') AND '7' || lpad($2::text, 27, '0')
       AND o.paid_business_date = $3 AND o.refunded_fen > 0";

const PAYMENT_ENTRIES: &str = "
    INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, order_id, business_date, booked_at)
    SELECT 'order:' || trade_no || ':paid', 'order_paid', merchant_id, id, paid_business_date, paid_at
      FROM orders
     WHERE trade_no BETWEEN '7' || lpad($1::text, 27, '0') AND '7' || lpad($2::text, 27, '0')
       AND paid_business_date = $3
     ORDER BY id";

/// `{order_split}` stands for [`bench::ORDER_SPLIT_POSTINGS`].
const PAYMENT_POSTINGS: &str = "
    INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
    SELECT e.id, a.id, v.amount_fen
      FROM ledger_entries e
      JOIN orders o ON o.id = e.order_id
     {order_split}
      JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind = v.kind
     WHERE e.kind = 'order_paid' AND e.business_date = $3 AND v.amount_fen <> 0
       AND o.trade_no BETWEEN '7' || lpad($1::text, 27, '0') AND '7' || lpad($2::text, 27, '0')
     ORDER BY e.id, v.n";

const REFUND_ENTRIES: &str = "
    INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, order_id, refund_id, business_date, booked_at)
    SELECT 'refund:' || r.refund_no, 'refund', o.merchant_id, o.id, r.id, $3, r.created_at
      FROM refunds r JOIN orders o ON o.id = r.order_id
     WHERE o.paid_business_date = $3
       AND o.trade_no BETWEEN '7' || lpad($1::text, 27, '0') AND '7' || lpad($2::text, 27, '0')
     ORDER BY r.id";

const REFUND_POSTINGS: &str = "
    INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
    SELECT e.id, a.id, v.amount_fen
      FROM ledger_entries e
      JOIN refunds r ON r.id = e.refund_id
     CROSS JOIN LATERAL (VALUES (1, 'upstream_receivable', -r.refund_fee_fen),
                                (2, 'merchant_pending', r.net_receipt_fen),
                                (3, 'bank_commission_payable', r.bank_commission_fen),
                                (4, 'pay_platform_fee_payable', r.pay_platform_fen),
                                (5, 'liquidator_commission_revenue', r.liquidator_commission_fen)) AS v (n, kind, amount_fen)
      JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind = v.kind
     WHERE e.kind = 'refund' AND e.business_date = $3 AND v.amount_fen <> 0
       AND e.order_id IN (SELECT id FROM orders
                           WHERE trade_no BETWEEN '7' || lpad($1::text, 27, '0') AND '7' || lpad($2::text, 27, '0'))
     ORDER BY e.id, v.n";

/// Each merchant's day settled: what its pending balance got that day moves to available.
const SETTLEMENTS: &str = "
    WITH owed AS (
        SELECT e.merchant_id, sum(-p.amount_fen) FILTER (WHERE a.kind = 'merchant_pending')::bigint AS amount_fen,
               count(*) FILTER (WHERE e.kind = 'order_paid' AND a.kind = 'merchant_pending') AS orders
          FROM ledger_entries e
          JOIN ledger_postings p ON p.entry_id = e.id
          JOIN ledger_accounts a ON a.id = p.account_id
         WHERE e.business_date = $1 AND e.kind IN ('order_paid', 'refund')
         GROUP BY e.merchant_id),
    entries AS (
        INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date)
        SELECT 'settlement:' || merchant_id || ':' || $1, 'settlement', merchant_id, $1 FROM owed WHERE amount_fen > 0
        RETURNING id, merchant_id),
    postings AS (
        INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
        SELECT e.id, a.id, CASE a.kind WHEN 'merchant_pending' THEN w.amount_fen ELSE -w.amount_fen END
          FROM entries e
          JOIN owed w ON w.merchant_id = e.merchant_id
          JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind IN ('merchant_pending', 'merchant_available'))
    INSERT INTO settlements (merchant_id, business_date, amount_fen, order_count, entry_id)
    SELECT e.merchant_id, $1, w.amount_fen, w.orders, e.id FROM entries e JOIN owed w ON w.merchant_id = e.merchant_id";

const RELEASE: &str = "
    INSERT INTO business_days (business_date, reconciled_at, settled_at) VALUES ($1, now(), now())
    ON CONFLICT (business_date) DO NOTHING";

// ---------------------------------------------------------------------------------------------
// The measurement.

struct PageTimes {
    page: String,
    p50: Duration,
    p95: Duration,
    status: u16,
    /// Lines in the answer when it is a CSV: an export's time grows with what it holds.
    csv_lines: Option<usize>,
}

/// Starts the real server on the database, signs an admin in, and loads every page `loads` times.
async fn measure(url: &str, args: &Args) -> anyhow::Result<Vec<PageTimes>> {
    // The settlement job sums the final days as they become final and copies their statement
    // lines; the workers are off here, so it is done first, as the job would have. A database
    // built by an older bench is migrated first, so what is copied is in the current form.
    let mut conn = PgConnection::establish(url)?;
    storage::database::run_migrations(&mut conn)?;
    let calendar = domain::calendar::BusinessCalendar::default();
    let mut summarized = 0;
    loop {
        let days = ledger::rollups::summarize_final_days(&mut conn, &calendar, chrono::Utc::now())?;
        if days.is_empty() {
            break;
        }
        summarized += days.len();
    }
    let started = Instant::now();
    let mut copied = 0;
    loop {
        let merchant_days = ledger::rollups::copy_settled_statement_days(&mut conn, &calendar, chrono::Utc::now())?;
        if merchant_days == 0 {
            break;
        }
        copied += merchant_days;
    }
    conn.batch_execute(
        "VACUUM ANALYZE ledger_merchant_days, ledger_merchant_weeks, ledger_platform_days, order_days,
                        ledger_statement_days",
    )?;
    println!(
        "final days summed now: {summarized}; statement lines of {copied} merchant-days copied now in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut settings = server::Settings::load(None, &[("DATABASE_URL".to_string(), url.to_string())])?;
    settings.server.bind = "127.0.0.1:0".into();
    settings.log.filter = "error".into();
    settings.workers.enabled = false;
    settings.redis.key_prefix = format!("console-bench:{}:", args.orders);
    settings.gateway.rate_limit_per_second = 1_000_000;
    settings.gateway.rate_limit_burst = 1_000_000;
    settings.platform.master_key = Some(master_key(url)?.into());
    server::telemetry::init(&settings.log);
    let application = server::Application::build(settings, server::worker::Registry::standard()).await?;
    let base = application.base_url().to_string();
    let pool = application.pool().clone();
    tokio::spawn(application.run());

    let (client, ids) = sign_in(&pool, &base).await?;
    let mut pages: Vec<String> = [
        "/admin",
        "/admin/ledger",
        "/admin/ledger?format=csv",
        "/admin/ledger/commission",
        "/admin/ledger/commission?format=csv",
        "/admin/ledger/days",
        "/admin/ledger/accounts",
        "/admin/orders",
        "/admin/merchants",
        "/admin/payouts",
        "/admin/payouts/runs",
        "/admin/callbacks",
        "/admin/reconciliation",
        "/admin/gateway-log",
        "/admin/audit",
        "/admin/settings",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    pages.push(format!("/admin/orders/{}", ids.order_id));
    pages.push(format!("/admin/merchants/{}", ids.merchant_id));
    let today = chrono::Utc::now().with_timezone(&domain::calendar::china()).date_naive();
    let period = format!("from={}&to={today}", today - chrono::Duration::days(args.days - 1));
    let statement = format!("/admin/ledger/statement?merchant={}&{period}", ids.sub_merchant_id);
    pages.push(statement.clone());
    pages.push(next_page(&client, &base, &statement).await?);
    pages.push(format!("/admin/ledger/statement?merchant={}&{period}&format=csv", ids.sub_merchant_id));
    // Above 1M orders, the same export over the days that hold as many lines as 90 days hold at
    // 1M: an export's time follows the lines it writes, and this one shows whether it also
    // grows with the ledger behind them.
    let same_lines_days = (args.days * 1_000_000 / args.orders.max(1)).clamp(1, args.days);
    if same_lines_days < args.days {
        let same_lines = format!("from={}&to={today}", today - chrono::Duration::days(same_lines_days - 1));
        pages.push(format!("/admin/ledger/statement?merchant={}&{same_lines}&format=csv", ids.sub_merchant_id));
    }
    pages.push(format!("/admin/ledger/commission?{period}"));
    pages.push(format!("/admin/ledger/accounts/{}", ids.account_id));

    if let Some(only) = &args.only {
        pages.retain(|page| page.contains(only.as_str()));
    }
    let mut results = Vec::new();
    for page in &pages {
        let mut times = Vec::with_capacity(args.loads);
        let mut status = 0;
        let mut csv_lines = None;
        for load in 0..=args.loads {
            let started = Instant::now();
            let response = client.get(format!("{base}{page}")).send().await?;
            status = response.status().as_u16();
            let body = response.bytes().await?;
            if load > 0 {
                times.push(started.elapsed());
            }
            if page.ends_with("format=csv") {
                csv_lines = Some(body.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()).count());
            }
        }
        results.push(PageTimes { csv_lines, ..times_of(page.clone(), times, status) });
    }
    results.extend(gateway_methods(&pool, &base, args, &ids).await?);
    Ok(results)
}

/// The statement's second page: the link its first page offers.
async fn next_page(client: &reqwest::Client, base: &str, first: &str) -> anyhow::Result<String> {
    let html = client.get(format!("{base}{first}")).send().await?.text().await?;
    let query = html
        .split(r#"<a href="/admin/ledger/statement?"#)
        .filter_map(|rest| rest.split_once('"'))
        .find(|(_, after)| after.starts_with(r#" id="next-page""#))
        .map(|(query, _)| query.replace("&amp;", "&").replace("&#38;", "&"))
        .context("a next page on the statement's first page")?;
    Ok(format!("/admin/ledger/statement?{query}"))
}

fn times_of(page: String, mut times: Vec<Duration>, status: u16) -> PageTimes {
    times.sort();
    let at = |fraction: f64| times[((times.len() as f64 - 1.0) * fraction).round() as usize];
    PageTimes { page, p50: at(0.5), p95: at(0.95), status, csv_lines: None }
}

/// The master key the bench's databases share, kept beside them so a reused database's platform
/// key can still be opened.
fn master_key(url: &str) -> anyhow::Result<String> {
    let path = std::env::temp_dir().join("liquidator-console-bench.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key);
    }
    let _ = url;
    let key = onboarding::platform_key::MasterKey::generate().to_base64();
    std::fs::write(&path, &key)?;
    Ok(key)
}

struct Ids {
    order_id: i64,
    merchant_id: i64,
    account_id: i64,
    sub_merchant_id: String,
}

/// An admin operator (made if missing) signed in; ids of an order, merchant and account to show.
async fn sign_in(pool: &storage::Pool, base: &str) -> anyhow::Result<(reqwest::Client, Ids)> {
    const PASSWORD: &str = "correct-horse-battery-staple";
    let password = admin::password::NewPassword::parse(PASSWORD.to_string().into())?;
    let hash = tokio::task::spawn_blocking(move || password.hash()).await??;
    let ids = storage::database::run_blocking(pool, move |conn| -> anyhow::Result<Ids> {
        let username = storage::operators::Username::parse("bench")?;
        if storage::operators::find_by_username(conn, username.as_str())?.is_none() {
            admin::operators::create(conn, &Actor::cli(), &username, storage::operators::Role::Admin, &hash)?;
        }
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = sql_types::BigInt)]
            order_id: i64,
            #[diesel(sql_type = sql_types::BigInt)]
            merchant_id: i64,
            #[diesel(sql_type = sql_types::BigInt)]
            account_id: i64,
            #[diesel(sql_type = sql_types::Text)]
            sub_merchant_id: String,
        }
        let row: Row = sql_query(
            "SELECT o.id AS order_id, o.merchant_id, a.id AS account_id, m.sub_merchant_id
               FROM orders o JOIN merchants m ON m.id = o.merchant_id
               JOIN ledger_accounts a ON a.merchant_id = m.id AND a.kind = 'merchant_available'
              ORDER BY o.id DESC LIMIT 1",
        )
        .get_result(conn)?;
        Ok(Ids {
            order_id: row.order_id,
            merchant_id: row.merchant_id,
            account_id: row.account_id,
            sub_merchant_id: row.sub_merchant_id,
        })
    })
    .await?;
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let login = client.get(format!("{base}/admin/login")).send().await?.text().await?;
    let token = login
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("a CSRF token on the sign-in page")?
        .to_string();
    let signed_in = client
        .post(format!("{base}/admin/login"))
        .form(&[("username", "bench"), ("password", PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await?;
    anyhow::ensure!(signed_in.status().is_redirection(), "sign-in failed: {}", signed_in.status());
    Ok((client, ids))
}

/// `finance.downloadbill` of a busy day and `witness.balance.query`, signed by the merchant's app.
async fn gateway_methods(pool: &storage::Pool, base: &str, args: &Args, ids: &Ids) -> anyhow::Result<Vec<PageTimes>> {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    let pem = rsa::pkcs8::EncodePublicKey::to_public_key_pem(&RsaPublicKey::from(&key), rsa::pkcs8::LineEnding::LF)?;
    let merchant_id = domain::MerchantId::new(ids.merchant_id);
    let app_id = storage::database::run_blocking(pool, move |conn| -> anyhow::Result<String> {
        let app = storage::apps::find_by_merchant(conn, merchant_id)?.context("the merchant's app")?;
        // A reused database has the keys of earlier runs: this run's is the only one.
        for key in storage::apps::active_keys(conn, app.id)? {
            onboarding::credentials::revoke_key(conn, &Actor::cli(), app.id, key.id)?;
        }
        onboarding::credentials::add_key(conn, &Actor::cli(), app.id, &pem)?;
        Ok(app.app_id)
    })
    .await?;
    let signer = Signer::new(key)?;
    let yesterday = (chrono::Utc::now().with_timezone(&domain::calendar::china()).date_naive()
        - chrono::Duration::days(1))
    .format("%Y%m%d")
    .to_string();
    let calls = [
        ("fshows.liquidation.finance.downloadbill", json!({ "bill_date": yesterday })),
        ("fshows.liquidation.witness.balance.query", json!({ "sub_merchant_id": ids.sub_merchant_id })),
    ];
    let http = reqwest::Client::new();
    let wanted = |method: &str| args.only.as_deref().is_none_or(|only| method.contains(only));
    let mut results = Vec::new();
    for (method, content) in calls.into_iter().filter(|(method, _)| wanted(method)) {
        let mut times = Vec::with_capacity(args.loads);
        let mut status = 0;
        for load in 0..=args.loads {
            let content = content.to_string();
            let message = string_to_sign([
                ("app_id", app_id.as_str()),
                ("method", method),
                ("version", "1.0"),
                ("content", content.as_str()),
            ]);
            let sign = signer.sign(SignType::Rsa2, message.as_bytes());
            let form = [
                ("app_id", app_id.as_str()),
                ("method", method),
                ("version", "1.0"),
                ("content", content.as_str()),
                ("sign", sign.as_str()),
            ];
            let started = Instant::now();
            let reply: Value = http.post(format!("{base}/gateway")).form(&form).send().await?.json().await?;
            if load > 0 {
                times.push(started.elapsed());
            }
            status = if reply["success"] == json!(true) { 200 } else { 500 };
        }
        results.push(times_of(method.to_string(), times, status));
    }
    Ok(results)
}

fn report(args: &Args, results: &[PageTimes]) {
    println!("| page | p50 ms | p95 ms | status | CSV lines |");
    println!("|---|---|---|---|---|");
    for result in results {
        let lines = result.csv_lines.map(|lines| lines.to_string()).unwrap_or_default();
        println!("| `{}` | {:.1} | {:.1} | {} | {lines} |", result.page, ms(result.p50), ms(result.p95), result.status);
    }
    let worst = results.iter().map(|result| ms(result.p95)).fold(0.0, f64::max);
    println!(
        "{}",
        json!({
            "bench": "console", "orders": args.orders, "merchants": args.merchants, "days": args.days,
            "loads": args.loads, "worst_p95_ms": worst,
            "pages": results.iter().map(|r| json!({ "page": r.page, "p50_ms": ms(r.p50), "p95_ms": ms(r.p95), "status": r.status, "csv_lines": r.csv_lines })).collect::<Vec<_>>(),
        })
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
