//! `liquidator`: the platform's one binary.
use clap::Parser;
use server::{
    Application, Settings,
    cli::{AppCommand, Cli, Command, LedgerCommand, MerchantCommand, OperatorCommand},
    commands, demo, keygen, startup, telemetry,
    worker::{self, Registry},
};
use storage::database::run_blocking;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), &Settings::process_environment()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("liquidator: invalid configuration: {error}");
            std::process::exit(2);
        }
    };
    telemetry::init(&settings.log);
    if let Err(error) = run(cli.command.unwrap_or(Command::Serve), settings).await {
        tracing::error!(error = format!("{error:#}"), "liquidator failed");
        eprintln!("liquidator: {error:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => Application::build(settings, Registry::standard()).await?.run().await,
        Command::Worker => run_workers(settings).await,
        Command::Migrate { revert_all } => migrate(settings, revert_all).await,
        Command::Demo(args) => demo::run(settings, args).await,
        Command::Keygen { out, name, bits } => {
            let files = tokio::task::spawn_blocking(move || keygen::write_key_pair(&out, &name, bits)).await??;
            println!("private key: {}", files.private_key_path.display());
            println!("public key:  {}", files.public_key_path.display());
            println!("public key (one line): {}", files.public_key_base64);
            Ok(())
        }
        Command::Operator(OperatorCommand::Create { username, role }) => {
            commands::create_operator(settings, &username, &role).await
        }
        Command::Merchant(MerchantCommand::Create { file, approve, owner_app, json }) => {
            commands::create_merchant(settings, &file, approve, owner_app, json).await
        }
        Command::Ledger(LedgerCommand::RebuildRollups) => commands::rebuild_rollups(settings).await,
        Command::App(AppCommand::Create { isv: _, name, merchant, public_key, sign_type, json }) => {
            let arguments = commands::AppArguments { isv_name: name, merchant, public_key, sign_type, json };
            commands::create_app(settings, arguments).await
        }
    }
}

async fn run_workers(settings: Settings) -> anyhow::Result<()> {
    let pool = startup::connect_database(&settings).await?;
    let cache =
        storage::Cache::new(secrecy::ExposeSecret::expose_secret(&settings.redis.url), &settings.redis.key_prefix);
    let sandbox =
        server::platform::sandbox(&pool, settings.channel.sandbox.clone(), settings.ledger.policy()?.calendar).await?;
    let channels = server::platform::channels(&settings, sandbox)?;
    let every = std::time::Duration::from_secs(settings.channel.health_flush_seconds.max(1));
    let shutdown = CancellationToken::new();
    let flush = server::platform::flush_upstream_calls(pool.clone(), channels.clone(), every, shutdown.clone());
    let flush = tokio::spawn(flush);
    let context = server::platform::job_context(&settings, pool, cache, channels).await?;
    let workers = tokio::spawn(worker::run(context, Registry::standard(), settings.workers, shutdown.clone()));
    shutdown_signal().await;
    shutdown.cancel();
    workers.await?;
    flush.await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return drop(interrupt.await),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    drop(interrupt.await);
}

async fn migrate(mut settings: Settings, revert_all: bool) -> anyhow::Result<()> {
    settings.database.migrate_on_start = false;
    let pool = startup::connect_database(&settings).await?;
    let count = run_blocking(&pool, move |conn| {
        if revert_all { storage::database::revert_all_migrations(conn) } else { storage::run_migrations(conn) }
    })
    .await?;
    println!("{} {count} migration(s)", if revert_all { "reverted" } else { "applied" });
    Ok(())
}
