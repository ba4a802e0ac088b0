//! Two instances of the platform: an upstream (the real server, its own database, the sandbox
//! channel), and a platform whose `fshows` channel is the provider's app on that upstream.
use std::time::{Duration, Instant};

use diesel::{RunQueryDsl, sql_query, sql_types::BigInt};
use domain::{MerchantId, onboarding::SignType, upstream::RegistrationState};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use storage::{audit::Actor, database::run_blocking, jobs::Job};

use crate::{TestApp, gateway_client::Client};

pub struct TwoInstances {
    /// The upstream: an fshows gateway with the sandbox behind it.
    pub upstream: TestApp,
    /// The provider's app on the upstream, which the platform signs its calls with.
    pub provider: Client,
    /// The platform, whose merchants' payments go through the upstream.
    pub platform: TestApp,
}

/// A free-standing [`server::config::FshowsConfig`] for the provider's app on `upstream`, its key
/// files written to a scratch directory; `url` is where the platform calls it.
pub async fn fshows_config(upstream: &TestApp, provider: &Client, url: String) -> server::config::FshowsConfig {
    let directory = crate::scratch_directory();
    let private_key_file = directory.join("provider.pem");
    let upstream_public_key_file = directory.join("upstream.pub.pem");
    let private = provider.private_key.to_pkcs8_pem(LineEnding::LF).expect("a PEM");
    std::fs::write(&private_key_file, private.as_bytes()).expect("written");
    let public = upstream.platform_key().await.to_public_key_pem(LineEnding::LF).expect("a PEM");
    std::fs::write(&upstream_public_key_file, public).expect("written");
    server::config::FshowsConfig {
        url,
        app_id: provider.app_id.clone(),
        private_key_file,
        upstream_public_key_file,
        notify_url: None,
        timeout_seconds: 5,
        breaker_failures: 5,
        breaker_open_seconds: 5,
    }
}

impl TwoInstances {
    /// The upstream, and a platform taking every merchant's payments through it (`channel.pay_in
    /// = "fshows"`); `configure` adjusts the platform's settings further.
    pub async fn start(
        configure: impl FnOnce(&mut server::config::Settings, &mut server::config::FshowsConfig),
    ) -> TwoInstances {
        TwoInstances::start_with(|_| {}, configure).await
    }

    /// [`TwoInstances::start`], with the upstream's settings adjusted by `configure_upstream`.
    pub async fn start_with(
        configure_upstream: impl FnOnce(&mut server::config::Settings),
        configure: impl FnOnce(&mut server::config::Settings, &mut server::config::FshowsConfig),
    ) -> TwoInstances {
        let upstream = crate::spawn_app_with(configure_upstream).await;
        let provider = upstream.isv_client_signing("provider", SignType::Rsa).await;
        let mut config = fshows_config(&upstream, &provider, upstream.url("/gateway")).await;
        let port = crate::free_port();
        let platform = crate::spawn_app_with(move |settings| {
            settings.server.bind = format!("127.0.0.1:{port}");
            settings.channel.pay_in = "fshows".into();
            configure(settings, &mut config);
            settings.channel.fshows = Some(config);
        })
        .await;
        TwoInstances { upstream, provider, platform }
    }

    /// Runs the platform's upstream job (registrations, unanswered orders) until `merchant_id`'s
    /// registration is in `state`, making every step due at once; panics after 10 s.
    pub async fn sync_until(&self, merchant_id: MerchantId, state: RegistrationState) {
        let started = Instant::now();
        loop {
            registrations_due(&self.platform).await;
            run_job(&self.platform, upstream::jobs::SyncUpstream).await;
            let registration =
                run_blocking(&self.platform.pool, move |conn| storage::upstream::find_registration(conn, merchant_id))
                    .await
                    .expect("read");
            if registration.as_ref().is_some_and(|row| row.state == state) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "registration stuck at {registration:?}");
        }
    }

    /// The upstream's merchant applied for by the platform's `merchant_id`, verified and approved
    /// there as its operator would; returns its id there.
    pub async fn approve_upstream(&self, platform_sub_merchant_id: &str) -> MerchantId {
        let external_id = platform_sub_merchant_id.to_string();
        let owner = self.provider.app_id.clone();
        let id = run_blocking(&self.upstream.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            let owner = onboarding::credentials::find_app(conn, &owner)?.id;
            let row = storage::merchants::find_by_external_id(conn, Some(owner), &external_id)?
                .expect("the platform applied upstream");
            onboarding::verification::start(conn, &Actor::cli(), row.id, crate::sandbox_route())?;
            Ok(row.id)
        })
        .await
        .expect("verification started upstream");
        let amount = self.upstream.wait_for_micro_deposit(id).await.amount_fen;
        run_blocking(&self.upstream.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            onboarding::verification::answer(conn, &Actor::cli(), id, amount)?;
            onboarding::applications::approve(conn, &Actor::cli(), id)?;
            Ok(())
        })
        .await
        .expect("approved upstream");
        id
    }
}

/// Gives the merchant money available on `app`: an order of `total_fen` placed by `app_id` (an
/// app that may act for it), paid `days_ago` (a day not settled yet), and everything due settled.
pub async fn available_money(
    app: &TestApp,
    merchant_id: MerchantId,
    app_id: &str,
    (out_trade_no, total_fen, days_ago): (&str, i64, i64),
) {
    let (app_id, out_trade_no) = (app_id.to_string(), out_trade_no.to_string());
    run_blocking(&app.pool, move |conn| {
        let app_row = storage::apps::find_by_app_id(conn, &app_id)?.expect("the app");
        let merchant = storage::merchants::find(conn, merchant_id)?.expect("the merchant");
        let sub_merchant_id =
            domain::SubMerchantId::parse(merchant.sub_merchant_id.as_deref().expect("approved")).expect("an id");
        let shop = orders::testing::Shop { merchant_id, sub_merchant_id, app: app_row };
        let calendar = domain::calendar::BusinessCalendar::default();
        let paid_at = chrono::Utc::now() - chrono::Duration::days(days_ago);
        orders::testing::paid(conn, &calendar, &shop, &out_trade_no, total_fen, paid_at);
        let policy = ledger::settlement::Policy { calendar, require_reconciliation: false };
        ledger::settlement::settle_due(conn, &policy, chrono::Utc::now(), 100)
            .map_err(|error| storage::StorageError::Payload(error.to_string()))?;
        Ok::<_, storage::StorageError>(())
    })
    .await
    .expect("money made available");
}

/// Enqueues `job` on `app` and waits (up to 10 s) for its workers to finish it.
pub async fn run_job(app: &TestApp, job: impl Job) {
    let new = job.now().expect("a job");
    let id = run_blocking(&app.pool, move |conn| storage::jobs::enqueue(conn, new))
        .await
        .expect("enqueued")
        .expect("a new job");
    let started = Instant::now();
    loop {
        let done = run_blocking(&app.pool, move |conn| {
            #[derive(diesel::QueryableByName)]
            struct Done {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                done: bool,
            }
            sql_query("SELECT (completed_at IS NOT NULL OR failed_at IS NOT NULL) AS done FROM jobs WHERE id = $1")
                .bind::<BigInt, _>(id)
                .get_result::<Done>(conn)
                .map(|row| row.done)
                .map_err(storage::StorageError::from)
        })
        .await
        .expect("job read");
        if done {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "job {id} did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Makes every registration due now, as if its wait had passed.
pub async fn registrations_due(app: &TestApp) {
    run_blocking(&app.pool, |conn| {
        sql_query("UPDATE upstream_merchants SET next_attempt_at = now()")
            .execute(conn)
            .map_err(storage::StorageError::from)
    })
    .await
    .expect("updated");
}

impl TestApp {
    /// An ISV app with a key, signing with `sign_type`.
    pub async fn isv_client_signing(&self, name: &str, sign_type: SignType) -> Client {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("a key");
        let pem = rsa::RsaPublicKey::from(&key).to_public_key_pem(LineEnding::LF).expect("pem");
        let name = name.to_string();
        let app_id = run_blocking(&self.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            let app = onboarding::credentials::create_isv_app(conn, &Actor::cli(), &name, sign_type)?;
            onboarding::credentials::add_key(conn, &Actor::cli(), app.id, &pem)?;
            Ok(app.app_id)
        })
        .await
        .expect("isv app");
        Client::new(app_id, sign_type, key)
    }
}

/// A loopback proxy in front of an upstream's gateway that can swallow answers: it forwards each
/// request, and while `swallowing` it holds the upstream's answer back past the caller's timeout —
/// the upstream did what it was asked, the caller never hears.
pub struct Proxy {
    pub url: String,
    state: std::sync::Arc<ProxyState>,
}

struct ProxyState {
    target: std::sync::Mutex<String>,
    swallowing: std::sync::atomic::AtomicBool,
}

impl Proxy {
    pub async fn start() -> Proxy {
        use actix_web::{App, HttpServer, web};
        let state = std::sync::Arc::new(ProxyState {
            target: std::sync::Mutex::new(String::new()),
            swallowing: std::sync::atomic::AtomicBool::new(false),
        });
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || App::new().app_data(shared.clone()).default_service(web::to(forward)))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("binds");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Proxy { url: format!("http://127.0.0.1:{port}/gateway"), state }
    }

    pub fn forward_to(&self, target: String) {
        *self.state.target.lock().expect("not poisoned") = target;
    }

    pub fn swallow(&self, swallowing: bool) {
        self.state.swallowing.store(swallowing, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn forward(
    request: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    state: actix_web::web::Data<ProxyState>,
) -> actix_web::HttpResponse {
    let target = state.target.lock().expect("not poisoned").clone();
    let content_type = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded")
        .to_string();
    let answer =
        reqwest::Client::new().post(target).header("Content-Type", content_type).body(body.to_vec()).send().await;
    let text = match answer {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return actix_web::HttpResponse::BadGateway().finish(),
    };
    if state.swallowing.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    actix_web::HttpResponse::Ok().content_type("application/json; charset=utf-8").body(text)
}
