//! The platform's key material at start-up: the master key, and the signing key pair it protects.
use std::{io::Write, path::Path};

use anyhow::Context;
use onboarding::platform_key::{self, MasterKey, PlatformKey};
use secrecy::ExposeSecret;
use storage::{Pool, database::run_blocking};

use crate::config::PlatformSettings;

/// The configured master key, or the key file's (created with a random key when missing).
pub fn master_key(settings: &PlatformSettings) -> anyhow::Result<MasterKey> {
    if let Some(key) = &settings.master_key {
        return MasterKey::from_base64(key.expose_secret())
            .map_err(|error| anyhow::anyhow!("platform.master_key: {error}"));
    }
    let path = &settings.master_key_file;
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
        return MasterKey::from_base64(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()));
    }
    let key = MasterKey::generate();
    write_private(path, key.to_base64().as_bytes())?;
    tracing::warn!(path = %path.display(), "generated a new master key file; back it up, and give every node the same key");
    Ok(key)
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

/// Loads (or, on the very first start, generates) the platform key pair.
pub async fn signing_key(pool: &Pool, master: MasterKey) -> anyhow::Result<PlatformKey> {
    run_blocking(pool, move |conn| platform_key::load_or_create(conn, &master))
        .await
        .map_err(|error| anyhow::anyhow!("platform key: {error}"))
}

/// The sandbox channel, with its callback-signing secret generated once and shared by every node.
/// Its days are the platform's business days (`calendar`).
pub async fn sandbox(
    pool: &Pool,
    rules: channel::sandbox::SandboxRules,
    calendar: domain::calendar::BusinessCalendar,
) -> anyhow::Result<std::sync::Arc<channel::sandbox::Sandbox>> {
    use base64::Engine;
    rules.check()?;
    let secret = run_blocking(pool, |conn| {
        storage::settings::get_or_init(conn, "sandbox.callback_secret", || {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
    })
    .await
    .map_err(|error| anyhow::anyhow!("sandbox secret: {error}"))?;
    let records = std::sync::Arc::new(crate::sandbox_store::StoredRecords { pool: pool.clone(), calendar });
    Ok(std::sync::Arc::new(channel::sandbox::Sandbox::with_records(rules, secret.as_bytes(), records)))
}

/// The deployment's channels, one instance of each shared by everything in this process: the
/// sandbox always, JD Pay and an upstream fshows gateway when configured; new payouts go through
/// `channel.payouts`, and payments of merchants without a channel of their own through
/// `channel.pay_in`.
pub fn channels(
    settings: &crate::Settings,
    sandbox: std::sync::Arc<channel::sandbox::Sandbox>,
) -> anyhow::Result<channel::Registry> {
    let mut registry = channel::Registry::with_sandbox(sandbox);
    if let Some(jdpay) = &settings.channel.jdpay {
        let jdpay = channel::jdpay::JdPay::new(jdpay.settings(&settings.public_url())?)
            .map_err(|error| anyhow::anyhow!("channel.jdpay: {error}"))?;
        registry.add_pay_out(std::sync::Arc::new(jdpay));
    }
    if let Some(fshows) = &settings.channel.fshows {
        registry.add_upstream(std::sync::Arc::new(fshows.channel(&settings.public_url())?));
    }
    let name = &settings.channel.payouts;
    if !registry.pay_out_through(name) {
        anyhow::bail!("channel.payouts: no payout channel named {name:?} is configured");
    }
    let name = &settings.channel.pay_in;
    if !registry.pay_in_through(name) {
        anyhow::bail!("channel.pay_in: no channel taking payments named {name:?} is configured");
    }
    Ok(registry)
}

/// What background workers need, built the same way by `serve` and by `worker`; `channels` is the
/// registry the process already built (`serve` shares its HTTP server's).
pub async fn job_context(
    settings: &crate::Settings,
    pool: Pool,
    cache: storage::Cache,
    channels: channel::Registry,
) -> anyhow::Result<crate::worker::JobContext> {
    let key = signing_key(&pool, master_key(&settings.platform)?).await?;
    let signer =
        fshows::signature::Signer::new(key.private_key).map_err(|error| anyhow::anyhow!("platform key: {error}"))?;
    let notifier = gateway::notify::Notifier::new(
        pool.clone(),
        std::sync::Arc::new(signer),
        settings.gateway.allow_private_notify_urls,
    );
    let ledger = settings.ledger.policy()?;
    let payouts = settings.payouts.settings()?;
    Ok(crate::worker::JobContext { pool, cache, channels, notifier, ledger, payouts, retention: settings.retention })
}

/// Adds this node's counts of upstream calls to the deployment's every `every`, until `shutdown`
/// (and once more then). Counts that could not be written are kept for the next time.
pub async fn flush_upstream_calls(
    pool: Pool,
    channels: channel::Registry,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            () = shutdown.cancelled() => true,
        };
        for health in channels.healths() {
            let taken = health.take_unflushed();
            if taken.is_empty() {
                continue;
            }
            let rows: Vec<storage::upstream_calls::MinuteCalls> =
                taken.iter().map(|minute| minute_calls(health.upstream(), minute)).collect();
            let written = run_blocking(&pool, move |conn| storage::upstream_calls::add(conn, &rows)).await;
            if let Err(error) = written {
                tracing::warn!(%error, upstream = health.upstream(), "upstream call counts not written; kept for later");
                health.restore(taken);
            }
        }
        if stopping {
            return;
        }
    }
}

fn minute_calls(upstream: &str, minute: &channel::health::MinuteCounts) -> storage::upstream_calls::MinuteCalls {
    let whole = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
    let counts = &minute.counts;
    storage::upstream_calls::MinuteCalls {
        upstream: upstream.to_string(),
        method: minute.method.to_string(),
        minute: chrono::DateTime::from_timestamp(i64::try_from(minute.minute).unwrap_or(0) * 60, 0).unwrap_or_default(),
        calls: whole(counts.calls),
        successes: whole(counts.successes),
        declines: whole(counts.declines),
        system_errors: whole(counts.system_errors),
        timeouts: whole(counts.timeouts),
        latency_ms_total: whole(counts.latency_ms_total),
    }
}
