//! Builds the application from settings: pool, migrations, Redis, console state, HTTP server and
//! workers. Tests start the very same thing on port 0.
use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware, web};
use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use secrecy::ExposeSecret;
use storage::{Cache, Pool, StorageError, database::run_blocking, settings as platform_settings};
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use channel::sandbox::Sandbox;
use onboarding::platform_key::PlatformKey;

use crate::{
    config::Settings,
    metrics::{self, Metrics},
    platform,
    routes::{health, platform_key as key_route},
    worker::{self, Registry},
};

pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    pool: Pool,
    platform_public_key_pem: String,
    workers: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// Adds this node's counts of upstream calls to the deployment's.
    upstream_flush: (CancellationToken, tokio::task::JoinHandle<()>),
    ledger: ledger::settlement::Policy,
}

/// Connects to PostgreSQL and applies migrations when configured to.
pub async fn connect_database(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = storage::connect(settings.database.url.expose_secret(), settings.database.pool_size)
        .context("could not create the database pool")?;
    if settings.database.migrate_on_start {
        let applied = run_blocking(&pool, storage::run_migrations).await.context("migrations failed")?;
        if applied > 0 {
            tracing::info!(applied, "applied database migrations");
        }
    }
    Ok(pool)
}

/// The session signing secret: configured, or generated once and shared through the database.
async fn session_secret(settings: &Settings, pool: &Pool) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.console.session_secret {
        anyhow::ensure!(secret.expose_secret().len() >= 32, "console.session_secret must be at least 32 characters");
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    let stored = run_blocking(pool, |conn| {
        platform_settings::get_or_init(conn, "console.session_secret", || {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            STANDARD.encode(bytes)
        })
    })
    .await
    .map_err(|error: StorageError| anyhow::anyhow!(error))?;
    Ok(stored.into_bytes())
}

impl Application {
    /// Binds the listener and prepares the server; nothing is served until [`Application::run`].
    pub async fn build(settings: Settings, registry: Registry) -> anyhow::Result<Application> {
        // Settings that only need checking are checked before anything is connected or started.
        let ledger = settings.ledger.policy()?;
        let recorder = settings.payments.recorder(settings.database.pool_size)?;
        let pool = connect_database(&settings).await?;
        let cache = Cache::new(settings.redis.url.expose_secret(), &settings.redis.key_prefix);
        let platform_key = platform::signing_key(&pool, platform::master_key(&settings.platform)?).await?;
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("could not listen on {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let base_url = match &settings.server.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}:{port}", listener.local_addr()?.ip()),
        };
        let sandbox = platform::sandbox(&pool, settings.channel.sandbox.clone(), ledger.calendar).await?;
        // One instance of each channel for the server, the console and the workers alike.
        let channels = platform::channels(&settings, sandbox.clone())?;
        let console = admin::ConsoleState {
            pool: pool.clone(),
            cache: cache.clone(),
            sessions: admin::SessionKeys::new(
                &session_secret(&settings, &pool).await?,
                Duration::from_secs(settings.console.session_ttl_minutes.max(1) * 60),
            ),
            throttle: admin::ThrottleSettings {
                max_failures_per_username: settings.console.login_max_failures_per_username,
                max_failures_per_ip: settings.console.login_max_failures_per_ip,
                window: Duration::from_secs(settings.console.login_window_minutes.max(1) * 60),
            },
            secure_cookies: settings.secure_cookies(),
            platform_public_key_pem: platform_key.public_key_pem.as_str().into(),
            calendar: ledger.calendar,
            channels: channels.clone(),
            payouts: settings.payouts.settings()?,
        };
        let platform_public_key_pem = platform_key.public_key_pem.clone();
        let signer = fshows::signature::Signer::new(platform_key.private_key.clone())
            .map_err(|error| anyhow::anyhow!("platform key: {error}"))?;
        let payments = orders::recorder::PaymentRecorder::start(pool.clone(), ledger.calendar, recorder);
        let gateway = gateway::Gateway::new(
            pool.clone(),
            cache.clone(),
            signer,
            gateway::GatewaySettings {
                cashier_url: format!("{base_url}/cashier/code"),
                allow_private_notify_urls: settings.gateway.allow_private_notify_urls,
                rate_limit_per_second: settings.gateway.rate_limit_per_second,
                rate_limit_burst: settings.gateway.rate_limit_burst,
                calendar: ledger.calendar,
                payouts: settings.payouts.settings()?,
                payout_channel: channels.payouts().map(|channel| channel.name()),
            },
            channels.clone(),
            payments.clone(),
        );
        let shared = Shared {
            payments: web::Data::new(payments),
            sandbox: web::Data::new(sandbox.clone()),
            channels: web::Data::new(channels.clone()),
            calendar: web::Data::new(ledger.calendar),
            gateway: web::Data::new(gateway),
            pool: pool.clone(),
            cache: cache.clone(),
            console,
            metrics: Metrics::new(),
            platform_key: web::Data::new(platform_key),
        };
        let server = http_server(listener, &settings, shared)?;
        let upstream_flush = {
            let shutdown = CancellationToken::new();
            let every = Duration::from_secs(settings.channel.health_flush_seconds.max(1));
            let task = platform::flush_upstream_calls(pool.clone(), channels.clone(), every, shutdown.clone());
            (shutdown, tokio::spawn(task))
        };
        let workers = if settings.workers.enabled {
            let shutdown = CancellationToken::new();
            let context = platform::job_context(&settings, pool.clone(), cache, channels).await?;
            let handle = tokio::spawn(worker::run(context, registry, settings.workers, shutdown.clone()));
            Some((shutdown, handle))
        } else {
            None
        };
        Ok(Application { port, base_url, server, pool, platform_public_key_pem, workers, upstream_flush, ledger })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Business days and the settlement rules this server runs with.
    pub fn ledger_policy(&self) -> ledger::settlement::Policy {
        self.ledger
    }

    pub fn platform_public_key_pem(&self) -> &str {
        &self.platform_public_key_pem
    }

    /// Serves until SIGINT/SIGTERM (actix stops accepting, lets requests finish), then stops the
    /// workers and waits for their running jobs.
    pub async fn run(self) -> anyhow::Result<()> {
        let served = self.server.await;
        if let Some((shutdown, handle)) = self.workers {
            shutdown.cancel();
            let _ = handle.await;
        }
        let (shutdown, handle) = self.upstream_flush;
        shutdown.cancel();
        let _ = handle.await;
        tracing::info!("stopped");
        Ok(served?)
    }
}

/// What request handlers may need, built once at start-up.
struct Shared {
    payments: web::Data<orders::recorder::PaymentRecorder>,
    sandbox: web::Data<Arc<Sandbox>>,
    channels: web::Data<channel::Registry>,
    calendar: web::Data<domain::calendar::BusinessCalendar>,
    gateway: web::Data<gateway::Gateway>,
    pool: Pool,
    cache: Cache,
    console: admin::ConsoleState,
    metrics: Arc<Metrics>,
    platform_key: web::Data<PlatformKey>,
}

fn http_server(listener: TcpListener, settings: &Settings, shared: Shared) -> anyhow::Result<Server> {
    let pool = web::Data::new(shared.pool);
    let cache = web::Data::new(shared.cache);
    let console = web::Data::new(shared.console);
    let metrics = web::Data::from(shared.metrics);
    let platform_key = shared.platform_key;
    let gateway = shared.gateway;
    let sandbox = shared.sandbox;
    let channels = shared.channels;
    let calendar = shared.calendar;
    let payments = shared.payments;
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(metrics::record))
            .wrap(middleware::from_fn(request_id_header))
            .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
            .app_data(pool.clone())
            .app_data(cache.clone())
            .app_data(console.clone())
            .app_data(metrics.clone())
            .app_data(platform_key.clone())
            .app_data(gateway.clone())
            .app_data(sandbox.clone())
            .app_data(channels.clone())
            .app_data(calendar.clone())
            .app_data(payments.clone())
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(health::metrics))
            .route("/gateway/platform-key", web::get().to(key_route::download))
            .route(
                "/",
                web::get()
                    .to(|| async { actix_web::HttpResponse::Found().insert_header(("Location", "/admin")).finish() }),
            )
            .configure(admin::routes)
            .configure(gateway::http::routes)
    })
    .shutdown_timeout(settings.server.shutdown_timeout_seconds)
    .listen(listener)?;
    if let Some(workers) = settings.server.http_workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.run())
}

/// Returns the request id (the one in every log line of the request) as `X-Request-Id`, so an
/// operator can quote it to support.
async fn request_id_header(
    request: actix_web::dev::ServiceRequest,
    next: middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let request_id = request.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
    let mut response = next.call(request).await?;
    if let Some(value) = request_id.and_then(|id| actix_web::http::header::HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(actix_web::http::header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
