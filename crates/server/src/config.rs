//! Typed configuration: defaults < file (`--config`) < environment (`LIQUIDATOR__SECTION__KEY`),
//! with `DATABASE_URL` and `REDIS_URL` honoured on top. Unknown keys are errors, so a typo never
//! silently falls back to a default. Secrets are `SecretString`s: their `Debug` is redacted.
use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub console: ConsoleSettings,
    pub workers: WorkerSettings,
    pub log: LogSettings,
    pub platform: PlatformSettings,
    pub channel: ChannelSettings,
    pub gateway: GatewaySettings,
    pub ledger: LedgerSettings,
    pub payments: PaymentSettings,
    pub payouts: PayoutSettings,
    pub retention: RetentionSettings,
}

/// `[retention]`: how long append-only logs keep their rows (0: for ever). The ledger, orders,
/// payouts and the audit log are never removed.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// The gateway's request log. Default 90 days.
    pub gateway_requests_days: u32,
    /// Each send of a notification to a merchant's server. Default 90 days.
    pub notification_attempts_days: u32,
    /// Payment callbacks that need no one's attention (applied, duplicates, resolved). Default 180 days.
    pub settled_callbacks_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings { gateway_requests_days: 90, notification_attempts_days: 90, settled_callbacks_days: 180 }
    }
}

impl RetentionSettings {
    /// Each log with its retention in days; logs kept for ever are left out.
    pub fn logs(&self) -> Vec<(storage::retention::Log, u32)> {
        use storage::retention::Log;
        [
            (Log::GatewayRequests, self.gateway_requests_days),
            (Log::NotificationAttempts, self.notification_attempts_days),
            (Log::SettledCallbacks, self.settled_callbacks_days),
        ]
        .into_iter()
        .filter(|(_, days)| *days > 0)
        .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSettings {
    /// Threads recording payment callbacks in batches (group commit); each holds a database
    /// connection while it records, and each merchant's payments go to one of them. Default 2
    /// (measured best on 2 cores; see BENCHMARKS.md).
    pub recorder_threads: usize,
    /// Callbacks recorded in one transaction at most. Default 64.
    pub recorder_max_batch: usize,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        let recorder = orders::recorder::Settings::default();
        PaymentSettings { recorder_threads: recorder.threads, recorder_max_batch: recorder.max_batch }
    }
}

/// The largest batch a recorder may take: its statements carry one array element per payment.
const MAX_RECORDER_BATCH: usize = 1000;

impl PaymentSettings {
    /// The recorder's settings, checked against the pool it draws its connections from.
    pub fn recorder(&self, pool_size: u32) -> anyhow::Result<orders::recorder::Settings> {
        let threads = self.recorder_threads;
        // The recorders must leave the pool a connection for everything else.
        if threads == 0 || threads >= usize::try_from(pool_size).unwrap_or(usize::MAX) {
            anyhow::bail!("payments.recorder_threads must be at least 1 and below database.pool_size ({pool_size})");
        }
        if !(1..=MAX_RECORDER_BATCH).contains(&self.recorder_max_batch) {
            anyhow::bail!("payments.recorder_max_batch must be between 1 and {MAX_RECORDER_BATCH}");
        }
        Ok(orders::recorder::Settings { threads, max_batch: self.recorder_max_batch })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerSettings {
    /// When a business day ends (日切), China time, `HH:MM` (or `HH:MM:SS`). Default `00:00`:
    /// calendar days.
    pub day_cutoff: String,
    /// Settle a day only once it is reconciled or an operator released it (seed 000). Default true.
    pub require_reconciliation: bool,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        LedgerSettings { day_cutoff: "00:00".into(), require_reconciliation: true }
    }
}

impl LedgerSettings {
    pub fn policy(&self) -> anyhow::Result<ledger::settlement::Policy> {
        let calendar = self.day_cutoff.parse().map_err(|error| anyhow::anyhow!("ledger.day_cutoff: {error}"))?;
        Ok(ledger::settlement::Policy { calendar, require_reconciliation: self.require_reconciliation })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutSettings {
    /// Whether Saturdays and Sundays are payout days (holidays and make-up days aside). Default false.
    pub weekends_are_payout_days: bool,
    /// For merchants without a schedule of their own: `daily` pays each on the cadence it declared
    /// when it applied (daily, weekly on its weekday, or manual), `manual` pays none of them on a
    /// schedule. Default `daily`.
    pub schedule: String,
    /// When the slot of a merchant without its own schedule (nor rate plan defaults) falls, China
    /// time, `HH:MM`. Default `10:00`.
    pub time: String,
    /// The smallest payout a run makes, in fen. Default 100 (1 yuan).
    pub minimum_fen: i64,
    /// Kept back in available at every payout, in fen. Default 0.
    pub retained_fen: i64,
    /// The fee per payout, in fen, when `fee_rate` is 0. Default 0.
    pub fee_fixed_fen: i64,
    /// The fee as a rate of the payout (e.g. `0.00100`), at least `fee_minimum_fen`. Default `0`.
    pub fee_rate: String,
    pub fee_minimum_fen: i64,
    /// Payouts above this many fen wait for a second operator's approval. Default 5 000 000 (50 000 yuan).
    pub approval_above_fen: i64,
    /// A payout without an outcome this long after its submission is flagged. Default 60.
    pub attention_after_minutes: u32,
    /// Seconds before asking the channel about a submitted payout again, by how often it was
    /// asked; the last repeats. Default 60, 120, 300, 600, 1800, 3600.
    pub query_intervals_seconds: Vec<i32>,
    /// Merchants a payout run looks at per transaction. Default 500.
    pub run_batch: i64,
}

impl Default for PayoutSettings {
    fn default() -> Self {
        PayoutSettings {
            weekends_are_payout_days: false,
            schedule: "daily".into(),
            time: "10:00".into(),
            minimum_fen: 100,
            retained_fen: 0,
            fee_fixed_fen: 0,
            fee_rate: "0".into(),
            fee_minimum_fen: 0,
            approval_above_fen: 5_000_000,
            attention_after_minutes: 60,
            query_intervals_seconds: vec![60, 120, 300, 600, 1_800, 3_600],
            run_batch: 500,
        }
    }
}

impl PayoutSettings {
    pub fn settings(&self) -> anyhow::Result<payouts::Settings> {
        use domain::{
            Amount, Rate,
            payouts::{
                fee::FeeRule,
                schedule::{Cadence, Schedule},
            },
        };
        let bad = |key: &str, why: String| anyhow::anyhow!("payouts.{key}: {why}");
        let at =
            chrono::NaiveTime::parse_from_str(&self.time, "%H:%M").map_err(|error| bad("time", error.to_string()))?;
        // A merchant's cadence is its own schedule's or the one it declared when it applied; the
        // platform says only whether those declared cadences are paid on schedule at all.
        let cadence = match self.schedule.as_str() {
            "daily" => Cadence::Daily,
            "manual" => Cadence::Manual,
            _ => {
                return Err(bad(
                    "schedule",
                    "daily (merchants are paid on the cadence they declared) or manual (only merchants with \
                     their own schedule are paid on schedule)"
                        .into(),
                ));
            }
        };
        let fen = |key: &str, fen: i64, least: i64| {
            if fen >= least { Ok(Amount::from_fen(fen)) } else { Err(bad(key, format!("must be at least {least}"))) }
        };
        let rate = Rate::parse(&self.fee_rate).map_err(|error| bad("fee_rate", error.to_string()))?;
        let fee = if rate == Rate::ZERO {
            FeeRule::Fixed(fen("fee_fixed_fen", self.fee_fixed_fen, 0)?)
        } else {
            FeeRule::Rate { rate, minimum: fen("fee_minimum_fen", self.fee_minimum_fen, 0)? }
        };
        if self.query_intervals_seconds.is_empty() || self.query_intervals_seconds.iter().any(|seconds| *seconds < 0) {
            return Err(bad("query_intervals_seconds", "must list at least one non-negative number".into()));
        }
        if self.run_batch < 1 {
            return Err(bad("run_batch", "must be at least 1".into()));
        }
        Ok(payouts::Settings {
            weekends_are_payout_days: self.weekends_are_payout_days,
            default_schedule: Schedule {
                cadence,
                at,
                minimum: fen("minimum_fen", self.minimum_fen, 1)?,
                retained: fen("retained_fen", self.retained_fen, 0)?,
                fee,
            },
            approval_above: fen("approval_above_fen", self.approval_above_fen, 0)?,
            attention_after: chrono::Duration::minutes(i64::from(self.attention_after_minutes)),
            query_intervals_seconds: self.query_intervals_seconds.clone(),
            run_batch: self.run_batch,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Accept `notify_url`s on private, loopback and link-local addresses. Default false (the
    /// demo turns it on, since its receivers run on this machine).
    pub allow_private_notify_urls: bool,
    /// Sustained gateway calls per second per app. Default 50.
    pub rate_limit_per_second: u32,
    /// Calls an app may make at once above the sustained rate. Default 100.
    pub rate_limit_burst: u32,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings { allow_private_notify_urls: false, rate_limit_per_second: 50, rate_limit_burst: 100 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSettings {
    /// Base64 of 32 bytes: encrypts the platform's private key in the database. Give every node
    /// the same value (e.g. `LIQUIDATOR__PLATFORM__MASTER_KEY` from a secret store).
    pub master_key: Option<SecretString>,
    /// Used when `master_key` is not set: read from this file, created (mode 0600) with a random
    /// key if missing — fine for one node and for the demo. Default `liquidator-master.key`.
    pub master_key_file: std::path::PathBuf,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings { master_key: None, master_key_file: "liquidator-master.key".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelSettings {
    /// How the built-in sandbox channel decides payout outcomes (by account-number ending).
    pub sandbox: channel::sandbox::SandboxRules,
    /// JD Pay direct payouts; the channel exists only when this section is given.
    pub jdpay: Option<JdPayConfig>,
    /// An upstream fshows gateway that takes payments and pays out; the channel exists only when
    /// this section is given.
    pub fshows: Option<FshowsConfig>,
    /// The channel new payouts go through: `sandbox` (default), `jdpay` or `fshows`. Payouts made
    /// before a change finish through the channel they were made for.
    pub payouts: String,
    /// The channel that takes the payments of merchants without one of their own: `sandbox`
    /// (default) or `fshows`. Orders placed before a change are paid where they were placed.
    pub pay_in: String,
    /// How often each node adds its counts of upstream calls to the deployment's (the dashboard's
    /// success rates), in seconds. Default 10.
    pub health_flush_seconds: u64,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings {
            sandbox: Default::default(),
            jdpay: None,
            fshows: None,
            payouts: "sandbox".into(),
            pay_in: "sandbox".into(),
            health_flush_seconds: 10,
        }
    }
}

/// `[channel.jdpay]`: the provider's JD Pay merchant account for payouts (代付).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JdPayConfig {
    /// JD's gateway without the path. Default `https://mapi.jdpay.com`.
    #[serde(default = "JdPayConfig::default_url")]
    pub url: String,
    /// The provider's member number at JD (会员号).
    pub customer_no: String,
    /// The shared key `sign_data` is made with (singKey).
    pub sign_key: SecretString,
    /// PEM files: the provider's RSA private key (PKCS#8) and its certificate, and JD's
    /// certificate (PEM or DER, e.g. `npp_11_API2.cer`).
    pub private_key_file: std::path::PathBuf,
    pub certificate_file: std::path::PathBuf,
    pub jd_certificate_file: std::path::PathBuf,
    /// Where JD posts payout outcomes. Default: `server.public_url` + `/channel/jdpay/payout-notify`.
    pub notify_url: Option<String>,
    /// Seconds a call may take before its outcome counts as unknown. Default 10.
    #[serde(default = "JdPayConfig::default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// System errors or timeouts in a row that open `defray_pay`'s breaker (no new payout is
    /// handed over while it is open; queries go on). Default 5.
    #[serde(default = "JdPayConfig::default_breaker_failures")]
    pub breaker_failures: u32,
    /// Seconds it stays open the first time (doubling up to 20 times that). Default 30.
    #[serde(default = "JdPayConfig::default_breaker_open_seconds")]
    pub breaker_open_seconds: u64,
}

impl JdPayConfig {
    fn default_url() -> String {
        "https://mapi.jdpay.com".into()
    }

    fn default_timeout_seconds() -> u64 {
        10
    }

    fn default_breaker_failures() -> u32 {
        5
    }

    fn default_breaker_open_seconds() -> u64 {
        30
    }

    /// The channel's settings, its key files read and checked.
    pub fn settings(&self, public_url: &str) -> anyhow::Result<channel::jdpay::JdPaySettings> {
        use anyhow::Context;
        use secrecy::ExposeSecret;
        let bad = |key: &str, why: String| anyhow::anyhow!("channel.jdpay.{key}: {why}");
        let read = |key: &str, path: &std::path::Path| {
            std::fs::read(path).with_context(|| format!("channel.jdpay.{key}: could not read {}", path.display()))
        };
        let private_key = String::from_utf8(read("private_key_file", &self.private_key_file)?)
            .map_err(|_| bad("private_key_file", "not a PEM file".into()))?;
        let own_identity = jdpay::Identity::from_pem(&private_key, &read("certificate_file", &self.certificate_file)?)
            .map_err(|error| bad("private_key_file", error.to_string()))?;
        let peer_certificate = jdpay::PeerCertificate::load(&read("jd_certificate_file", &self.jd_certificate_file)?)
            .map_err(|error| bad("jd_certificate_file", error.to_string()))?;
        let sign_key = jdpay::SignKey::new(self.sign_key.expose_secret())
            .map_err(|_| bad("sign_key", "must not be empty".into()))?;
        let notify_url = self
            .notify_url
            .clone()
            .unwrap_or_else(|| format!("{}/channel/jdpay/payout-notify", public_url.trim_end_matches('/')));
        Ok(channel::jdpay::JdPaySettings {
            base_url: self.url.clone(),
            customer_no: jdpay::fields::CustomerNo::parse(&self.customer_no)
                .map_err(|error| bad("customer_no", error.to_string()))?,
            notify_url: jdpay::fields::NotifyUrl::parse(&notify_url)
                .map_err(|error| bad("notify_url", error.to_string()))?,
            credentials: jdpay::Credentials { sign_key, own_identity, peer_certificate },
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            breaker: breaker(self.breaker_failures, self.breaker_open_seconds),
        })
    }
}

/// An upstream's breaker: open after `failures` in a row, for `open_seconds` the first time and
/// doubling up to 20 times that.
fn breaker(failures: u32, open_seconds: u64) -> channel::health::BreakerSettings {
    let open_for = std::time::Duration::from_secs(open_seconds.max(1));
    channel::health::BreakerSettings {
        failures_in_a_row: failures.max(1),
        open_for,
        max_open: open_for.saturating_mul(20),
    }
}

/// `[channel.fshows]`: the provider's app at an upstream fshows liquidation gateway.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FshowsConfig {
    /// The upstream's gateway endpoint (`…/gateway`).
    pub url: String,
    /// The provider's app id there.
    pub app_id: String,
    /// PEM files: the provider's RSA private key (PKCS#8 or PKCS#1), whose public key the upstream
    /// holds, and the upstream's public key, which signs its replies and notifies.
    pub private_key_file: std::path::PathBuf,
    pub upstream_public_key_file: std::path::PathBuf,
    /// Where the upstream notifies payments. Default: `server.public_url` + `/channel/fshows/notify`.
    pub notify_url: Option<String>,
    /// Seconds a call may take before its outcome counts as unknown. Default 10.
    #[serde(default = "JdPayConfig::default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// System errors or timeouts in a row that open a method's breaker (no new merchant, order or
    /// withdrawal is sent while it is open; queries go on). Default 5.
    #[serde(default = "JdPayConfig::default_breaker_failures")]
    pub breaker_failures: u32,
    /// Seconds it stays open the first time (doubling up to 20 times that). Default 30.
    #[serde(default = "JdPayConfig::default_breaker_open_seconds")]
    pub breaker_open_seconds: u64,
}

impl FshowsConfig {
    /// The channel, its key files read and checked.
    pub fn channel(&self, public_url: &str) -> anyhow::Result<channel::fshows::Fshows> {
        use rsa::{pkcs1::DecodeRsaPrivateKey, pkcs8::DecodePrivateKey, pkcs8::DecodePublicKey};
        let bad = |key: &str, why: String| anyhow::anyhow!("channel.fshows.{key}: {why}");
        let read = |key: &str, path: &std::path::Path| {
            std::fs::read_to_string(path)
                .map_err(|error| bad(key, format!("could not read {}: {error}", path.display())))
        };
        let private_pem = read("private_key_file", &self.private_key_file)?;
        let private_key = rsa::RsaPrivateKey::from_pkcs8_pem(&private_pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&private_pem))
            .map_err(|_| bad("private_key_file", "not an RSA private key in PEM".into()))?;
        let signer =
            fshows::signature::Signer::new(private_key).map_err(|error| bad("private_key_file", error.to_string()))?;
        let upstream_key =
            rsa::RsaPublicKey::from_public_key_pem(&read("upstream_public_key_file", &self.upstream_public_key_file)?)
                .map_err(|_| bad("upstream_public_key_file", "not an RSA public key in PEM".into()))?;
        let url = url::Url::parse(&self.url).map_err(|error| bad("url", error.to_string()))?;
        if self.app_id.trim().is_empty() {
            return Err(bad("app_id", "must not be empty".into()));
        }
        let notify_url = self
            .notify_url
            .clone()
            .unwrap_or_else(|| format!("{}/channel/fshows/notify", public_url.trim_end_matches('/')));
        let settings = channel::fshows::FshowsSettings {
            url: url.to_string(),
            app_id: self.app_id.clone(),
            signer,
            upstream_keys: fshows::signature::VerifyingKeys::new(upstream_key, None),
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            breaker: breaker(self.breaker_failures, self.breaker_open_seconds),
        };
        channel::fshows::Fshows::new(settings, notify_url).map_err(|error| anyhow::anyhow!("channel.fshows: {error}"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the HTTP server listens on. Default `127.0.0.1:8080`.
    pub bind: String,
    /// The address operators and clients use to reach this server (links, cashier URLs, cookie
    /// security). Default: `http://` + `bind`.
    pub public_url: Option<String>,
    /// HTTP worker threads. Default: one per core.
    pub http_workers: Option<usize>,
    /// Seconds in-flight requests get to finish on shutdown. Default 30.
    pub shutdown_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            http_workers: None,
            shutdown_timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Default `postgres://postgres@127.0.0.1:5432/liquidator`; `DATABASE_URL` overrides.
    pub url: SecretString,
    /// Connections in the pool. Default 16.
    pub pool_size: u32,
    /// Apply pending migrations when `serve` or `worker` starts. Default true.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/liquidator"),
            pool_size: 16,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Default `redis://127.0.0.1:6379`; `REDIS_URL` overrides. Redis is optional: without it the
    /// platform runs degraded (see `/readyz`).
    pub url: SecretString,
    /// Prepended to every key, so deployments can share a Redis. Default `liquidator:`.
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings { url: SecretString::from("redis://127.0.0.1:6379"), key_prefix: "liquidator:".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Signs session tokens. Default: generated once and kept in the database, shared by all nodes.
    pub session_secret: Option<SecretString>,
    /// Session lifetime in minutes. Default 30.
    pub session_ttl_minutes: u64,
    /// Failed sign-ins per username within the window before sign-in is refused. Default 5.
    pub login_max_failures_per_username: i64,
    /// Failed sign-ins per client address within the window. Default 20.
    pub login_max_failures_per_ip: i64,
    /// Throttling window in minutes. Default 15.
    pub login_window_minutes: u64,
    /// Mark cookies `Secure`. Default: true when `public_url` is https.
    pub secure_cookies: Option<bool>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            session_secret: None,
            session_ttl_minutes: 30,
            login_max_failures_per_username: 5,
            login_max_failures_per_ip: 20,
            login_window_minutes: 15,
            secure_cookies: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Run background workers inside `serve`. Default true.
    pub enabled: bool,
    /// Jobs run at once per node. Default 4.
    pub concurrency: usize,
    /// Milliseconds between queue polls when idle. Default 1000.
    pub poll_interval_ms: u64,
    /// Seconds a claimed job is leased before another worker may take it. Default 120.
    pub lease_seconds: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings { enabled: true, concurrency: 4, poll_interval_ms: 1000, lease_seconds: 120 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `pretty` or `json`. Default `pretty`.
    pub format: LogFormat,
    /// A tracing filter; `RUST_LOG` overrides. Default `info`.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Pretty, filter: "info".into() }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Settings {
    /// Loads the layers. `environment` is passed in (not read globally) so tests can be exact.
    pub fn load(file: Option<&Path>, environment: &[(String, String)]) -> Result<Settings, config::ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let prefixed: config::Map<String, String> =
            environment.iter().filter(|(key, _)| key.starts_with("LIQUIDATOR__")).cloned().collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LIQUIDATOR")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(prefixed)),
        );
        for (variable, key) in [("DATABASE_URL", "database.url"), ("REDIS_URL", "redis.url")] {
            if let Some((_, value)) = environment.iter().find(|(name, _)| name == variable) {
                builder = builder.set_override(key, value.clone())?;
            }
        }
        builder.build()?.try_deserialize()
    }

    /// The process environment, for [`Settings::load`].
    pub fn process_environment() -> Vec<(String, String)> {
        std::env::vars().collect()
    }

    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.bind))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn secure_cookies(&self) -> bool {
        self.console.secure_cookies.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = std::env::temp_dir().join(format!("liq-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("liquidator.toml");
        std::fs::write(&file, "[server]\nbind = \"0.0.0.0:9000\"\n[database]\npool_size = 4\n").unwrap();
        let settings = Settings::load(
            Some(&file),
            &env(&[("LIQUIDATOR__DATABASE__POOL_SIZE", "7"), ("DATABASE_URL", "postgres://x/y")]),
        )
        .unwrap();
        assert_eq!(settings.server.bind, "0.0.0.0:9000", "file beats default");
        assert_eq!(settings.database.pool_size, 7, "environment beats file");
        assert_eq!(settings.database.url.expose_secret(), "postgres://x/y");
        assert_eq!(settings.console.session_ttl_minutes, 30, "default kept");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_payment_recorder_is_checked_against_the_pool() {
        let settings = Settings::load(None, &env(&[("LIQUIDATOR__PAYMENTS__RECORDER_THREADS", "3")])).unwrap();
        let recorder = settings.payments.recorder(16).unwrap();
        assert_eq!((recorder.threads, recorder.max_batch), (3, 64));
        assert!(settings.payments.recorder(3).is_err(), "no connection left for anything else");
        for (key, value) in [("RECORDER_THREADS", "0"), ("RECORDER_MAX_BATCH", "0"), ("RECORDER_MAX_BATCH", "1001")] {
            let settings = Settings::load(None, &env(&[(&format!("LIQUIDATOR__PAYMENTS__{key}"), value)])).unwrap();
            assert!(settings.payments.recorder(16).is_err(), "{key}={value}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(Settings::load(None, &env(&[("LIQUIDATOR__DATABASE__POOLSIZE", "7")])).is_err());
        assert!(Settings::load(None, &env(&[("LIQUIDATOR__NOPE", "1")])).is_err());
        assert!(Settings::load(None, &env(&[("OTHER__DATABASE__POOLSIZE", "7")])).is_ok(), "other prefixes ignored");
    }

    #[test]
    fn secrets_are_not_printed() {
        let settings = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://user:hunter2@db/x"),
                ("LIQUIDATOR__CONSOLE__SESSION_SECRET", "s3cr3t-value"),
            ]),
        )
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("s3cr3t-value"), "{printed}");
    }
}
