//! Gateway throughput and latency: uniorder over HTTP with pre-signed requests, against the raw
//! rate of one RSA verify + one sign (the work every call must do) on the same cores.
//!
//!   cargo run --release -p bench --bin gateway_bench -- [REQUESTS] [CONCURRENCY]
//!
//! Needs PostgreSQL (DATABASE_URL, default the local server) and uses Redis if it is there.
//! Starts the real server in-process on 127.0.0.1, so server and load share the machine's cores.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use domain::onboarding::{RawApplication, SignType};
use gateway::signature::{Signer, string_to_sign, verify};
use rsa::{RsaPrivateKey, RsaPublicKey};
use storage::{audit::Actor, testing::TestDatabase};

fn bench_application() -> RawApplication {
    onboarding::testing::application("bench")
}

/// One verify + one sign per operation, on `threads` threads for `duration`: the RSA bound.
fn rsa_bound(threads: usize, duration: Duration) -> f64 {
    let client_key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
    let platform =
        Arc::new(Signer::new(RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key")).expect("signer"));
    let public = RsaPublicKey::from(&client_key);
    let message =
        "app_id=2026112200000001&content={\"out_trade_no\":\"X\"}&method=fshows.liquidation.jdpay.uniorder&version=1.0";
    let signature = Signer::new(client_key).expect("signer").sign(SignType::Rsa2, message.as_bytes());
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
    total as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

struct Run {
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends every body with `concurrency` in flight; optionally paced to `rate` calls per second.
async fn drive(url: &str, bodies: Vec<String>, concurrency: usize, rate: Option<f64>) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter().enumerate()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, queue, url) = (client.clone(), queue.clone(), url.to_string());
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
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

fn bodies(client: &Signer, app_id: &str, sub_merchant_id: &str, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let content = serde_json::json!({ "out_trade_no": format!("{prefix}{n}"), "sub_merchant_id": sub_merchant_id, "body": "bench", "total_fee": "1.00", "order_type": "0" }).to_string();
            let method = "fshows.liquidation.jdpay.uniorder";
            let sign = client.sign(SignType::Rsa2, string_to_sign([("app_id", app_id), ("content", content.as_str()), ("method", method), ("version", "1.0")]).as_bytes());
            serde_json::json!({ "app_id": app_id, "method": method, "version": "1.0", "content": content, "sign": sign }).to_string()
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    let bound = tokio::task::spawn_blocking(move || rsa_bound(cores, Duration::from_secs(5))).await?;
    println!("RSA bound (1 verify + 1 sign, RSA2 2048, {cores} threads): {bound:.0} ops/s");

    let database = TestDatabase::new();
    let environment = vec![("DATABASE_URL".to_string(), database.url().to_string())];
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

    drive(&url, bodies(&signer, &app_id, &sub_merchant_id, "WARM", 200), concurrency, None).await?;
    let peak = drive(&url, bodies(&signer, &app_id, &sub_merchant_id, "PEAK", requests), concurrency, None).await?;
    println!(
        "uniorder at peak ({requests} calls, {concurrency} in flight): {:.0} calls/s, p50 {:.1} ms, p99 {:.1} ms",
        peak.calls_per_second,
        ms(peak.p50),
        ms(peak.p99)
    );
    println!("ratio to the RSA bound: {:.0}%", 100.0 * peak.calls_per_second / bound);
    let half = peak.calls_per_second / 2.0;
    let paced_count = (half * 10.0) as usize;
    let paced =
        drive(&url, bodies(&signer, &app_id, &sub_merchant_id, "HALF", paced_count), concurrency, Some(half)).await?;
    println!(
        "uniorder at half the peak ({half:.0} calls/s for 10 s): p50 {:.1} ms, p99 {:.1} ms",
        ms(paced.p50),
        ms(paced.p99)
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
