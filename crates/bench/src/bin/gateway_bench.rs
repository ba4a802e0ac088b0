//! Gateway throughput and latency: uniorder over HTTP with pre-signed requests, against the raw
//! rate of one RSA verify + one sign (the work every call must do) on the same cores.
//!
//!   cargo run --release -p bench --bin gateway_bench -- [REQUESTS] [CONCURRENCY] [ROUNDS]
//!
//! Each round is one peak run, compared with the RSA bound measured just before and just after it.
//!
//! Needs PostgreSQL (DATABASE_URL, default the local server) and uses Redis if it is there.
//! Starts the real server in-process on 127.0.0.1, so server and load share the machine's cores.
//! The load generator runs on its own runtime (threads named `loadgen`), so the CPU it takes can
//! be told apart from the server's.
//!
//! Besides wall-clock rates it reports CPU time per call, read from `/proc`: this process's
//! server threads, the load generator's threads, the PostgreSQL backends of the bench's database
//! (plus the WAL writer, background writer and checkpointer they share with anyone else), and
//! Redis. Those do not depend on what else runs on the machine, which wall-clock rates do.
//!
//! With `PERF_CTL_FIFO` set (the control fifo of `perf record --control fifo:… -D -1`), profiling
//! is switched on for the peak run only.
use std::{
    collections::HashMap,
    io::Write,
    sync::Arc,
    time::{Duration, Instant},
};

use domain::onboarding::{RawApplication, SignType};
use fshows::signature::{Signer, string_to_sign, verify};
use rsa::{RsaPrivateKey, RsaPublicKey};
use storage::{audit::Actor, testing::TestDatabase};

fn bench_application() -> RawApplication {
    onboarding::testing::application("bench")
}

/// One verify + one sign per operation, on `threads` threads for `duration`: the RSA bound.
/// Returns operations per second and CPU milliseconds per operation.
fn rsa_bound(threads: usize, duration: Duration) -> (f64, f64) {
    let client_key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
    let platform =
        Arc::new(Signer::new(RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key")).expect("signer"));
    let public = RsaPublicKey::from(&client_key);
    let message =
        "app_id=2026112200000001&content={\"out_trade_no\":\"X\"}&method=fshows.liquidation.jdpay.uniorder&version=1.0";
    let signature = Signer::new(client_key).expect("signer").sign(SignType::Rsa2, message.as_bytes());
    let cpu_before = cpu::process_ticks(cpu::SELF);
    let machine_before = cpu::machine_ticks();
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (platform, public, signature) = (platform.clone(), public.clone(), signature.clone());
            std::thread::spawn(move || {
                let mut operations = 0u64;
                while started.elapsed() < duration {
                    assert!(verify(SignType::Rsa2, std::slice::from_ref(&public), message.as_bytes(), &signature));
                    std::hint::black_box(platform.sign(SignType::Rsa2, message.as_bytes()));
                    operations += 1;
                }
                operations
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|worker| worker.join().expect("worker")).sum();
    let elapsed = started.elapsed();
    let cpu_ticks = cpu::process_ticks(cpu::SELF).saturating_sub(cpu_before);
    let machine = cpu::machine_ticks();
    let (busy, all) = (machine.0.saturating_sub(machine_before.0), machine.1.saturating_sub(machine_before.1));
    println!(
        "  (while measuring the bound: machine {:.0}% busy, of which other processes {:.0}%)",
        100.0 * busy as f64 / all.max(1) as f64,
        100.0 * busy.saturating_sub(cpu_ticks) as f64 / all.max(1) as f64
    );
    (total as f64 / elapsed.as_secs_f64(), cpu::ticks_to_ms(cpu_ticks) / total.max(1) as f64)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

struct Run {
    calls: usize,
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends every body with `concurrency` in flight; optionally paced to `rate` calls per second.
async fn drive(url: String, bodies: Vec<String>, concurrency: usize, rate: Option<f64>) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter().enumerate()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, queue, url) = (client.clone(), queue.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some((index, body)) = queue.lock().await.next() else {
                        return Ok::<_, anyhow::Error>(latencies);
                    };
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64(index as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let sent = Instant::now();
                    let reply = client
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send()
                        .await?
                        .text()
                        .await?;
                    latencies.push(sent.elapsed());
                    anyhow::ensure!(reply.contains("\"success\":true"), "unexpected reply: {reply}");
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(Run {
        calls: latencies.len(),
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

/// Signs `count` uniorder envelopes on every core (setup only: no timing runs meanwhile).
fn bodies(client: &Signer, app_id: &str, sub_merchant_id: &str, prefix: &str, count: usize) -> Vec<String> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = count.div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(count);
                scope.spawn(move || {
                    (start..end)
                        .map(|n| body(client, app_id, sub_merchant_id, &format!("{prefix}{n}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|part| part.join().expect("signing thread")).collect()
    })
}

fn body(client: &Signer, app_id: &str, sub_merchant_id: &str, out_trade_no: &str) -> String {
    let content = serde_json::json!({ "out_trade_no": out_trade_no, "sub_merchant_id": sub_merchant_id, "body": "bench", "total_fee": "1.00", "order_type": "0" }).to_string();
    let method = "fshows.liquidation.jdpay.uniorder";
    let sign = client.sign(
        SignType::Rsa2,
        string_to_sign([("app_id", app_id), ("content", content.as_str()), ("method", method), ("version", "1.0")])
            .as_bytes(),
    );
    serde_json::json!({ "app_id": app_id, "method": method, "version": "1.0", "content": content, "sign": sign })
        .to_string()
}

/// Tells a waiting `perf record --control fifo:… -D -1` to start or stop sampling.
fn perf_control(command: &str) {
    let fifo =
        std::env::var_os("PERF_CTL_FIFO").and_then(|path| std::fs::OpenOptions::new().write(true).open(path).ok());
    if let Some(mut fifo) = fifo {
        let _ = writeln!(fifo, "{command}");
    }
}

fn main() -> anyhow::Result<()> {
    // The load generator gets its own runtime and thread names, so its CPU is counted apart.
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(cpu::LOAD_THREAD_NAME)
        .enable_all()
        .build()?;
    let server = tokio::runtime::Builder::new_multi_thread().thread_name("server").enable_all().build()?;
    let result = server.block_on(run(load.handle().clone()));
    load.shutdown_background();
    server.shutdown_background();
    result
}

async fn run(load: tokio::runtime::Handle) -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3).max(1);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    let mut bounds = vec![measure_bound(cores).await?];

    let database = TestDatabase::new();
    // `LIQUIDATOR__…` settings pass through (e.g. LIQUIDATOR__SERVER__HTTP_WORKERS=4), the
    // database is the bench's own.
    let mut environment: Vec<(String, String)> =
        std::env::vars().filter(|(name, _)| name.starts_with("LIQUIDATOR__")).collect();
    environment.push(("DATABASE_URL".to_string(), database.url().to_string()));
    let mut settings = server::Settings::load(None, &environment)?;
    settings.server.bind = "127.0.0.1:0".into();
    settings.log.filter = "error".into();
    settings.redis.key_prefix = format!("bench:{}:", database.name());
    settings.gateway.rate_limit_per_second = 1_000_000;
    settings.gateway.rate_limit_burst = 1_000_000;
    settings.platform.master_key = Some(onboarding::platform_key::MasterKey::generate().to_base64().into());
    server::telemetry::init(&settings.log);
    let application = server::Application::build(settings, server::worker::Registry::standard()).await?;
    let url = format!("{}/gateway", application.base_url());
    let pool = application.pool().clone();
    tokio::spawn(application.run());

    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    let public_pem =
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(&RsaPublicKey::from(&key), rsa::pkcs8::LineEnding::LF)?;
    let (app_id, sub_merchant_id) =
        storage::database::run_blocking(&pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            let approval = onboarding::applications::import_approved(conn, &Actor::cli(), &bench_application(), None)?;
            onboarding::credentials::add_key(conn, &Actor::cli(), approval.app.id, &public_pem)?;
            Ok((approval.app.app_id, approval.sub_merchant_id.to_string()))
        })
        .await?;
    let signer = Signer::new(key)?;

    // Every request is signed here, before any timing starts.
    let warm = bodies(&signer, &app_id, &sub_merchant_id, "WARM", 200);
    let mut peak_bodies: Vec<_> = (0..rounds)
        .map(|round| bodies(&signer, &app_id, &sub_merchant_id, &format!("PEAK{round}R"), requests))
        .collect();
    load.spawn(drive(url.clone(), warm, concurrency, None)).await??;

    // The machine's speed drifts (other tenants of the host), so each peak run is compared with the
    // bound measured just before and just after it, never with one from minutes away.
    let mut ratios = Vec::new();
    let mut peaks = Vec::new();
    for round in 1..=rounds {
        let round_bodies = std::mem::take(&mut peak_bodies[round - 1]);
        perf_control("enable");
        let before = cpu::Snapshot::take(database.name());
        let peak = load.spawn(drive(url.clone(), round_bodies, concurrency, None)).await??;
        let after = cpu::Snapshot::take(database.name());
        perf_control("disable");
        if std::env::var_os("PERF_CTL_FIFO").is_some() {
            eprintln!("PostgreSQL backends of the bench's database: {}", after.postgres_pids());
        }
        bounds.push(measure_bound(cores).await?);
        let (bound, bound_cpu_ms) = mean_bound(&bounds[round - 1..=round]);
        let ratio = peak.calls_per_second / bound;
        println!(
            "round {round}: uniorder at peak ({requests} calls, {concurrency} in flight): {:.0} calls/s, p50 {:.1} ms, p99 {:.1} ms; \
             ratio to the RSA bound around it ({bound:.0} ops/s): {:.0}%",
            peak.calls_per_second,
            ms(peak.p50),
            ms(peak.p99),
            100.0 * ratio
        );
        after.since(&before).report(peak.calls, bound_cpu_ms);
        ratios.push(ratio);
        peaks.push(peak.calls_per_second);
    }
    let median_ratio = median(&mut ratios);
    let median_peak = median(&mut peaks);
    println!(
        "median over {rounds} rounds: {median_peak:.0} calls/s, ratio to the RSA bound {:.0}%",
        100.0 * median_ratio
    );

    let half = median_peak / 2.0;
    let paced_count = (half * 10.0) as usize;
    let paced_bodies = bodies(&signer, &app_id, &sub_merchant_id, "HALF", paced_count);
    let before = cpu::Snapshot::take(database.name());
    let paced = load.spawn(drive(url.clone(), paced_bodies, concurrency, Some(half))).await??;
    let used = cpu::Snapshot::take(database.name()).since(&before);
    println!(
        "uniorder at half the peak ({half:.0} calls/s for 10 s): p50 {:.1} ms, p99 {:.1} ms",
        ms(paced.p50),
        ms(paced.p99)
    );
    used.report_load(paced.calls);
    Ok(())
}

/// The RSA bound on every core for 5 s, printed: operations per second and CPU ms per operation.
async fn measure_bound(cores: usize) -> anyhow::Result<(f64, f64)> {
    let (bound, cpu_ms) = tokio::task::spawn_blocking(move || rsa_bound(cores, Duration::from_secs(5))).await?;
    println!("RSA bound (1 verify + 1 sign, RSA2 2048, {cores} threads): {bound:.0} ops/s, {cpu_ms:.2} ms CPU per op");
    Ok((bound, cpu_ms))
}

fn mean_bound(bounds: &[(f64, f64)]) -> (f64, f64) {
    let count = bounds.len().max(1) as f64;
    (bounds.iter().map(|b| b.0).sum::<f64>() / count, bounds.iter().map(|b| b.1).sum::<f64>() / count)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// CPU time from `/proc` (Linux; elsewhere every figure reads zero).
mod cpu {
    use super::HashMap;

    pub const LOAD_THREAD_NAME: &str = "loadgen";
    pub const SELF: &str = "self";

    /// Linux reports process times in USER_HZ, which is 100 on every architecture it runs on.
    const TICKS_PER_SECOND: f64 = 100.0;

    pub fn ticks_to_ms(ticks: u64) -> f64 {
        ticks as f64 * 1000.0 / TICKS_PER_SECOND
    }

    /// The comm and utime + stime of `/proc/<pid>/stat` or `/proc/self/task/<tid>/stat`.
    fn stat(path: &str) -> Option<(String, u64)> {
        let text = std::fs::read_to_string(path).ok()?;
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
        // After the comm: state is field 3, utime field 14, stime field 15.
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some((comm, utime + stime))
    }

    /// This whole process, exited threads included.
    pub fn process_ticks(pid: &str) -> u64 {
        stat(&format!("/proc/{pid}/stat")).map_or(0, |(_, ticks)| ticks)
    }

    fn load_generator_ticks() -> u64 {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
        tasks
            .flatten()
            .filter_map(|task| stat(&format!("{}/stat", task.path().display())))
            .filter(|(comm, _)| comm.starts_with(LOAD_THREAD_NAME))
            .map(|(_, ticks)| ticks)
            .sum()
    }

    /// Machine-wide busy and total ticks from the first line of `/proc/stat`.
    pub fn machine_ticks() -> (u64, u64) {
        let Ok(text) = std::fs::read_to_string("/proc/stat") else { return (0, 0) };
        let values: Vec<u64> =
            text.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
        let get = |index: usize| values.get(index).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
        (busy, busy + get(3) + get(4))
    }

    #[derive(Default, Clone)]
    pub struct Snapshot {
        process: u64,
        load_generator: u64,
        /// Per process, so backends that come and go are counted by their own difference.
        postgres_ours: HashMap<u32, u64>,
        postgres_shared: HashMap<u32, u64>,
        redis: HashMap<u32, u64>,
        machine_busy: u64,
        machine_total: u64,
    }

    impl Snapshot {
        pub fn take(database: &str) -> Snapshot {
            let (machine_busy, machine_total) = machine_ticks();
            let mut snapshot = Snapshot {
                process: process_ticks(SELF),
                load_generator: load_generator_ticks(),
                machine_busy,
                machine_total,
                ..Snapshot::default()
            };
            let Ok(entries) = std::fs::read_dir("/proc") else { return snapshot };
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
                    continue;
                };
                let Some((comm, ticks)) = stat(&format!("/proc/{pid}/stat")) else { continue };
                if comm == "redis-server" {
                    snapshot.redis.insert(pid, ticks);
                } else if comm == "postgres" {
                    let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let title = String::from_utf8_lossy(&title);
                    if title.contains(database) {
                        snapshot.postgres_ours.insert(pid, ticks);
                    } else if ["walwriter", "checkpointer", "background writer"].iter().any(|p| title.contains(p)) {
                        snapshot.postgres_shared.insert(pid, ticks);
                    }
                }
            }
            snapshot
        }

        /// For `perf report --pid`.
        pub fn postgres_pids(&self) -> String {
            self.postgres_ours.keys().map(u32::to_string).collect::<Vec<_>>().join(",")
        }

        /// What was used between `before` and this snapshot.
        pub fn since(&self, before: &Snapshot) -> Used {
            let delta = |now: &HashMap<u32, u64>, then: &HashMap<u32, u64>| -> u64 {
                now.iter().map(|(pid, ticks)| ticks.saturating_sub(then.get(pid).copied().unwrap_or(0))).sum()
            };
            let load_generator = self.load_generator.saturating_sub(before.load_generator);
            Used {
                server: self.process.saturating_sub(before.process).saturating_sub(load_generator),
                load_generator,
                postgres_ours: delta(&self.postgres_ours, &before.postgres_ours),
                postgres_shared: delta(&self.postgres_shared, &before.postgres_shared),
                redis: delta(&self.redis, &before.redis),
                machine_busy: self.machine_busy.saturating_sub(before.machine_busy),
                machine_total: self.machine_total.saturating_sub(before.machine_total),
            }
        }
    }

    pub struct Used {
        server: u64,
        load_generator: u64,
        postgres_ours: u64,
        postgres_shared: u64,
        redis: u64,
        machine_busy: u64,
        machine_total: u64,
    }

    impl Used {
        /// How busy the machine was, and how much of that was not this benchmark.
        pub fn report_load(&self, calls: usize) {
            let ours = self.server + self.postgres_ours + self.postgres_shared + self.redis + self.load_generator;
            println!(
                "  machine {:.0}% busy, of which other processes {:.0}% ({:.2} ms per call)",
                100.0 * self.machine_busy as f64 / self.machine_total.max(1) as f64,
                100.0 * self.machine_busy.saturating_sub(ours) as f64 / self.machine_total.max(1) as f64,
                ticks_to_ms(self.machine_busy.saturating_sub(ours)) / calls.max(1) as f64,
            );
        }

        pub fn report(&self, calls: usize, rsa_cpu_ms: f64) {
            let per_call = |ticks: u64| ticks_to_ms(ticks) / calls.max(1) as f64;
            let service = self.server + self.postgres_ours + self.postgres_shared + self.redis;
            let ours = service + self.load_generator;
            let others = self.machine_busy.saturating_sub(ours);
            println!(
                "CPU per call at peak: server {:.2} ms, PostgreSQL {:.2} ms (+{:.2} ms WAL writer/bgwriter/checkpointer), \
                 Redis {:.2} ms, load generator {:.2} ms; other processes {:.2} ms, machine {:.0}% busy",
                per_call(self.server),
                per_call(self.postgres_ours),
                per_call(self.postgres_shared),
                per_call(self.redis),
                per_call(self.load_generator),
                per_call(others),
                100.0 * self.machine_busy as f64 / self.machine_total.max(1) as f64,
            );
            println!(
                "RSA share of the service's CPU (RSA {rsa_cpu_ms:.2} ms per op / server + PostgreSQL + Redis {:.2} ms per call): {:.0}%; \
                 with the load generator counted ({:.2} ms): {:.0}%",
                per_call(service),
                100.0 * rsa_cpu_ms / per_call(service).max(f64::EPSILON),
                per_call(ours),
                100.0 * rsa_cpu_ms / per_call(ours).max(f64::EPSILON),
            );
        }
    }
}
