//! `liquidator demo`: a running platform with demo data, from nothing but a PostgreSQL server.
//!
//! Creates the database if missing, migrates, seeds (idempotently: running it again refreshes the
//! seed rather than duplicating it), serves, and — once the server answers — prints how to use it.
//! Later features add their own seed steps and their own keys to [`DemoSummary`].
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use secrecy::ExposeSecret;
use serde::Serialize;
use storage::database::create_database_if_missing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Application, Settings, cli::DemoArgs, worker::Registry};

mod orders;
mod payouts;
mod seed;
mod try_it;

pub use seed::ADMIN_USERNAME;

/// The one JSON line of `demo --json` (SPEC §12). Keys are only ever added, never renamed.
#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub base_url: String,
    pub admin: Credentials,
    pub isv_app: seed::AppKeys,
    pub platform_public_key_pem_path: PathBuf,
    pub sub_merchants: Vec<seed::SubMerchant>,
}

#[derive(Debug, Serialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

pub async fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    settings.server.bind = args.bind.clone();
    let database_url = settings.database.url.expose_secret().to_string();
    let created = tokio::task::spawn_blocking(move || create_database_if_missing(&database_url)).await??;
    if created {
        tracing::info!("created the demo database");
    }
    settings.database.migrate_on_start = true;
    // The demo's notification receivers run on this machine.
    settings.gateway.allow_private_notify_urls = true;
    let data_dir = prepare_data_dir(&args.data_dir)?;
    if settings.platform.master_key.is_none() {
        // The demo keeps its master key with its other files.
        settings.platform.master_key_file = data_dir.join("master.key");
    }

    // The demo's merchants keep 100 yuan at every scheduled payout, so each shows money both
    // paid out and still available.
    settings.payouts.retained_fen = settings.payouts.retained_fen.max(10_000);
    let payout_settings = settings.payouts.settings()?;
    let application = Application::build(settings, Registry::standard()).await?;
    let seeded = seed::seed(&application, &data_dir, payout_settings).await?;
    let platform_public_key_pem_path = data_dir.join("platform_public_key.pem");
    std::fs::write(&platform_public_key_pem_path, application.platform_public_key_pem())?;
    let summary = DemoSummary {
        base_url: application.base_url().to_string(),
        admin: Credentials { username: ADMIN_USERNAME.into(), password: seeded.admin_password },
        isv_app: seeded.isv_app,
        platform_public_key_pem_path,
        sub_merchants: seeded.sub_merchants,
    };
    write_private_json(&data_dir.join("demo.json"), &summary)?;

    let port = application.port();
    let server = tokio::spawn(application.run());
    wait_until_serving(port).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_welcome(&summary, &data_dir);
    }
    server.await?
}

fn prepare_data_dir(folder: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(folder).with_context(|| format!("could not create {}", folder.display()))?;
    Ok(std::path::absolute(folder)?)
}

/// Ready means the server answers `/healthz` over HTTP, not merely that the port is bound.
async fn wait_until_serving(port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if healthz_ok(port).await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server did not become ready")
}

async fn healthz_ok(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").await.is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut reply)).await;
    matches!(read, Ok(Ok(_))) && reply.starts_with(b"HTTP/1.0 200") || reply.starts_with(b"HTTP/1.1 200")
}

fn write_private_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    Ok(())
}

fn print_welcome(summary: &DemoSummary, data_dir: &Path) {
    println!("Liquidator demo is running.");
    println!("  Console:   {}/admin", summary.base_url);
    println!("  Sign in:   {} / {}", summary.admin.username, summary.admin.password);
    println!("  Health:    {}/readyz   Metrics: {}/metrics", summary.base_url, summary.base_url);
    println!("  Demo data: {}", data_dir.display());
    if let Some(merchant) = summary.sub_merchants.first() {
        let out_trade_no = format!("TRY{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
        match try_it::curl_call(&summary.base_url, merchant, &out_trade_no) {
            Ok(call) => {
                println!("Place an order (signed with {}'s key; its qr_code opens the cashier):", merchant.app_id);
                println!("  {call}");
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "could not sign the example call"),
        }
    }
    println!("Stop with Ctrl-C.");
}
