//! End-to-end test support: the real server on a random port against its own fresh database
//! (zero-to-production's `spawn_app`), with typed helpers for the console.
use domain::{AppRowId, MerchantId, OperatorId};
use std::sync::OnceLock;

use reqwest::{Response, StatusCode, redirect::Policy};
use secrecy::SecretString;
use server::{Application, Settings, worker::Registry};
use storage::{
    audit::Actor,
    database::run_blocking,
    operators::{Role, Username},
    testing::TestDatabase,
};

pub use storage::testing;

pub mod binary;
pub mod gateway_client;
pub mod jdpay_fake;
pub mod proxy;
pub mod receiver;
pub mod redis;
pub mod upstream;

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    pub database: TestDatabase,
    pub pool: storage::Pool,
    /// Keeps cookies like a browser and does not follow redirects, so tests see them.
    pub client: reqwest::Client,
    /// The Redis key prefix of this app (tests share one Redis).
    pub redis_prefix: String,
}

/// A password that meets the rules; every test operator gets it.
pub const PASSWORD: &str = "correct-horse-battery-staple";

fn quiet_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into());
        server::telemetry::init(&server::config::LogSettings { filter, ..Default::default() });
    });
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application; `configure` adjusts settings first (e.g. a Redis that is down).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    quiet_logs();
    let database = TestDatabase::new();
    let redis_prefix = format!("test:{}:", database.name());
    let environment = vec![("DATABASE_URL".to_string(), database.url().to_string())];
    let mut settings = Settings::load(None, &environment).expect("test settings");
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.http_workers = Some(2);
    settings.database.pool_size = 6;
    settings.redis.key_prefix = redis_prefix.clone();
    settings.workers.poll_interval_ms = 50;
    settings.gateway.allow_private_notify_urls = true;
    // No scheduled payouts unless a test asks: a run at the default slot would pay out whatever
    // money a test had just made available.
    settings.payouts.schedule = "manual".into();
    settings.platform.master_key =
        Some(SecretString::from(onboarding::platform_key::MasterKey::generate().to_base64()));
    configure(&mut settings);
    let application = Application::build(settings, Registry::standard()).await.expect("application builds");
    let port = application.port();
    let pool = application.pool().clone();
    tokio::spawn(application.run());
    let client = reqwest::Client::builder().redirect(Policy::none()).cookie_store(true).build().expect("http client");
    TestApp { address: format!("http://127.0.0.1:{port}"), port, database, pool, client, redis_prefix }
}

/// A directory of its own under the system's temporary one (key files a test's server reads).
pub fn scratch_directory() -> std::path::PathBuf {
    let directory = std::env::temp_dir().join(format!("liquidator-test-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&directory).expect("a directory");
    directory
}

/// A free port on loopback, so a server's public address (and so the notify URLs it hands out)
/// is known before it starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port()
}

/// A fresh client with its own (empty) cookie jar.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).cookie_store(true).build().expect("http client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates an operator directly (as the CLI would) and returns its id.
    pub async fn create_operator(&self, username: &str, role: Role) -> OperatorId {
        let username = Username::parse(username).expect("valid test username");
        let password = admin::password::NewPassword::parse(SecretString::from(PASSWORD)).expect("valid test password");
        let hash = password.hash().expect("hash");
        run_blocking(&self.pool, move |conn| admin::operators::create(conn, &Actor::cli(), &username, role, &hash))
            .await
            .expect("operator created")
            .id
    }

    /// Every operator, straight from the database.
    pub async fn operators(&self) -> Vec<storage::operators::Operator> {
        run_blocking(&self.pool, storage::operators::list).await.expect("operators listed")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// Loads the sign-in page (which sets the sign-in CSRF cookie) and posts the form.
    pub async fn login_with(&self, client: &reqwest::Client, username: &str, password: &str) -> Response {
        let page = client.get(self.url("/admin/login")).send().await.expect("login page").text().await.expect("body");
        let token = csrf_token(&page).expect("sign-in form has a CSRF token");
        client
            .post(self.url("/admin/login"))
            .form(&[("username", username), ("password", password), ("csrf_token", token.as_str()), ("next", "/admin")])
            .send()
            .await
            .expect("login posted")
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.login_with(&self.client, username, password).await
    }

    /// Creates an operator with `role` and signs this app's client in as it.
    pub async fn sign_in_as(&self, username: &str, role: Role) -> OperatorId {
        let id = self.create_operator(username, role).await;
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username} succeeds");
        id
    }

    /// The CSRF token of the signed-in session, read from any console page.
    pub async fn session_csrf_token(&self) -> String {
        let (_, page) = self.get_text("/admin").await;
        csrf_token(&page).expect("signed-in page has a CSRF token")
    }

    /// Posts a console form with this session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.session_csrf_token().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", token.as_str()));
        self.client.post(self.url(path)).form(&form).send().await.expect("form posted")
    }
}

/// Extracts the first `csrf_token` hidden field's value from a page.
pub fn csrf_token(page: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_string())
}

/// Undoes the HTML escaping askama applies (numeric and named entities), for assertions on text.
pub fn unescape(html: &str) -> String {
    [
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&#60;", "<"),
        ("&#62;", ">"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(html.to_string(), |text, (entity, plain)| text.replace(entity, plain))
}

/// Text that means something to a spreadsheet and to SQL, for the free-text fields an operator
/// types (notes, reasons): it must be kept as typed and shown escaped.
pub const HOSTILE_TEXT: &str = "=HYPERLINK(\"http://e.x\",\"点\") <b>x'); DROP TABLE merchants; --";

/// Whether `page` shows `text` escaped: the text is there once the page is unescaped, and never
/// raw (its quotes and angle brackets are entities).
pub fn shows_escaped(page: &str, text: &str) -> bool {
    unescape(page).contains(text) && !page.contains(text)
}

/// A complete, valid application as console form fields: the values of the onboarding crate's
/// fixture (a credit code with a real check character, a Luhn-valid bank card, own rates).
pub fn application_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("external_id", "isv-001"),
        ("legal_name", "厦门示例科技有限公司"),
        ("short_name", "示例科技"),
        ("unified_social_credit_code", "91350100M000100Y43"),
        ("legal_representative", "张三"),
        ("contact_name", "李四"),
        ("contact_mobile", "13800138000"),
        ("contact_email", "ops@example.com"),
        ("business_category", "retail"),
        ("site_name", "https://shop.example.com"),
        ("icp_filing_number", "闽ICP备12345678号-1"),
        ("account_type", "personal"),
        ("account_holder", "张三"),
        ("account_number", "6222021234567890128"),
        ("bank_code", "ICBC"),
        ("branch_name", ""),
        ("cnaps_code", ""),
        ("rate_plan", ""),
        ("bank_commission_rate", "0.00030"),
        ("pay_platform_rate", "0.00200"),
        ("liquidator_commission_rate", "0.00100"),
        ("payout_schedule", "daily"),
        ("payout_weekday", ""),
        ("payout_cutoff", ""),
    ]
}

/// The same application for calls straight into the onboarding crate, with its own external id.
pub fn application(external_id: &str) -> domain::onboarding::RawApplication {
    let fields: serde_json::Map<String, serde_json::Value> = application_form()
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name.to_string(), serde_json::Value::String(value.to_string())))
        .collect();
    let mut raw: domain::onboarding::RawApplication =
        serde_json::from_value(serde_json::Value::Object(fields)).expect("the fixture is a raw application");
    raw.external_id = Some(external_id.to_string());
    raw
}

/// An RSA public key of `bits` as PKCS#8 PEM, and its private key as PKCS#8 PEM.
pub fn rsa_key_pair_pem(bits: usize) -> (String, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).expect("key generated");
    let public = rsa::RsaPublicKey::from(&private).to_public_key_pem(LineEnding::LF).expect("public PEM");
    let private = private.to_pkcs8_pem(LineEnding::LF).expect("private PEM").to_string();
    (public, private)
}

/// The merchant states tests start from, reached through the onboarding crate (as the CLI does).
impl TestApp {
    /// Creates an application (submitted or a draft) and returns its id.
    pub async fn create_merchant(&self, external_id: &str, submit: bool) -> MerchantId {
        let raw = application(external_id);
        run_blocking(&self.pool, move |conn| onboarding::applications::create(conn, &Actor::cli(), &raw, None, submit))
            .await
            .expect("application created")
            .id()
    }

    /// Waits (up to 5 s) until the server's workers have paid the merchant's latest micro-deposit.
    pub async fn wait_for_micro_deposit(&self, merchant_id: MerchantId) -> storage::micro_deposits::MicroDepositRow {
        let started = std::time::Instant::now();
        loop {
            let deposits =
                run_blocking(&self.pool, move |conn| storage::micro_deposits::for_merchant(conn, merchant_id))
                    .await
                    .expect("micro-deposits read");
            if let Some(deposit) = deposits.into_iter().next().filter(|deposit| deposit.state.as_str() != "pending") {
                return deposit;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "the micro-deposit was not sent within 5 s");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A merchant whose micro-deposit has been sent and awaits the amount.
    pub async fn verifying_merchant(&self, external_id: &str) -> MerchantId {
        let id = self.create_merchant(external_id, true).await;
        run_blocking(&self.pool, move |conn| onboarding::verification::start(conn, &Actor::cli(), id, sandbox_route()))
            .await
            .expect("verification started");
        assert_eq!(self.wait_for_micro_deposit(id).await.state.as_str(), "sent");
        id
    }

    /// A merchant in review: its account verified with the right amount.
    pub async fn merchant_in_review(&self, external_id: &str) -> MerchantId {
        let id = self.verifying_merchant(external_id).await;
        let amount = self.wait_for_micro_deposit(id).await.amount_fen;
        let answer =
            run_blocking(&self.pool, move |conn| onboarding::verification::answer(conn, &Actor::cli(), id, amount))
                .await
                .expect("answered");
        assert_eq!(answer, onboarding::verification::Answer::Verified);
        id
    }

    /// An approved merchant with its app; returns (merchant id, app row id).
    pub async fn approved_merchant(&self, external_id: &str) -> (MerchantId, AppRowId) {
        let id = self.merchant_in_review(external_id).await;
        let approval = run_blocking(&self.pool, move |conn| onboarding::applications::approve(conn, &Actor::cli(), id))
            .await
            .expect("approved");
        (id, approval.app.id)
    }

    /// The merchant as stored.
    pub async fn merchant(&self, id: MerchantId) -> onboarding::applications::Merchant {
        run_blocking(&self.pool, move |conn| onboarding::applications::find(conn, id)).await.expect("merchant found")
    }
}

/// Marks an order paid as the sandbox channel's callback would, now, on calendar days.
pub fn record_payment(
    conn: &mut diesel::PgConnection,
    trade_no: &str,
) -> Result<orders::lifecycle::Payment, orders::OrderError> {
    let report = orders::lifecycle::PaymentReport {
        channel: "sandbox",
        trade_no,
        payload: serde_json::json!({ "source": "test" }),
        at: chrono::Utc::now(),
    };
    orders::lifecycle::record_payment(conn, &domain::calendar::BusinessCalendar::default(), report)
}

/// Micro-deposits through the server's payout channel, booked on its business days.
pub fn sandbox_route() -> payouts::verification::Route {
    payouts::verification::Route { channel: "sandbox", calendar: domain::calendar::BusinessCalendar::default() }
}
