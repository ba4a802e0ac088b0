//! End-to-end browser test of the admin console: a real headless Chromium, driven through
//! ChromeDriver, signs in as an admin against the real server and database, lands on the
//! dashboard (in Chinese, the default), switches to English and leaves a screenshot in
//! `tests/artifacts/dashboard.png`. It proves the console works in a browser, not just over HTTP:
//! redirects, cookies, the CSRF-protected sign-in form and the language switch.
use domain::MerchantId;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator, wd::Capabilities};
use serde_json::json;
use storage::operators::Role;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
const INSTALL_HINT: &str =
    "install the Debian packages `chromium` and `chromium-driver` (apt-get install chromium chromium-driver)";
/// No network but loopback here: keep Chromium from reaching out (or waiting to).
const CHROMIUM_ARGS: &str = "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --window-size=1280,800";
const PATIENCE: Duration = Duration::from_secs(10);

/// A running ChromeDriver (in its own process group, with the Chromium it starts) and Chromium's
/// profile folder; all go away when this is dropped, even if the test fails mid-way.
struct ChromeDriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl ChromeDriver {
    fn start() -> Result<Self> {
        if !Path::new(CHROMIUM).exists() {
            panic!("{CHROMIUM} is missing: {INSTALL_HINT}");
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = match Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
        {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                panic!("`{CHROMEDRIVER}` not found: {INSTALL_HINT}")
            }
            Err(error) => return Err(error).context("starting chromedriver"),
        };
        let profile = std::env::temp_dir().join(format!("liquidator-chromium-{}-{port}", std::process::id()));
        let mut driver = ChromeDriver { child, port, profile };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = driver.child.try_wait()? {
                bail!("chromedriver exited early with {status}");
            }
            if started.elapsed() > PATIENCE {
                bail!("chromedriver did not listen on port {port} within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(driver)
    }

    async fn connect(&self) -> Result<Client> {
        std::fs::create_dir_all(&self.profile)?;
        let mut args: Vec<String> = CHROMIUM_ARGS.split_whitespace().map(String::from).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let mut capabilities = Capabilities::new();
        let options = json!({ "binary": CHROMIUM, "args": args });
        capabilities.insert("goog:chromeOptions".into(), options);
        // ChromeDriver listens on loopback over plain HTTP: no TLS stack is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("opening a Chromium session through chromedriver")?;
        Ok(client)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: a session left open would leave an orphaned Chromium behind.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn fill(browser: &Client, name: &str, text: &str) -> Result<()> {
    let input = browser.find(Locator::Css(&format!("input[name={name}]"))).await?;
    Ok(input.send_keys(text).await?)
}

async fn click(browser: &Client, locator: Locator<'_>) -> Result<()> {
    Ok(browser.find(locator).await?.click().await?)
}

/// Polls until the element's text equals `expected` (a page may still be loading).
async fn wait_for_text(browser: &Client, css: &str, expected: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let text = match browser.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text == expected {
            return Ok(());
        }
        if started.elapsed() > PATIENCE {
            bail!("`{css}` reads {text:?}, expected {expected:?} (page {})", browser.current_url().await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_admin_signs_in_and_sees_the_dashboard() -> Result<()> {
    let app = e2e::spawn_app().await;
    app.create_operator("alice", Role::Admin).await;
    let driver = ChromeDriver::start()?;
    let browser = driver.connect().await?;

    browser.goto(&format!("{}/admin", app.address)).await?;
    let login = browser.current_url().await?;
    assert_eq!(
        login.as_str(),
        format!("{}/admin/login?next=%2Fadmin", app.address),
        "signed out, /admin leads to sign-in"
    );

    fill(&browser, "username", "alice").await?;
    fill(&browser, "password", e2e::PASSWORD).await?;
    click(&browser, Locator::Css("button[type=submit]")).await?;
    let dashboard = login.join("/admin")?; // the `url::Url` of `{address}/admin`
    if browser.wait().at_most(PATIENCE).for_url(dashboard).await.is_err() {
        let now = browser.current_url().await?;
        bail!("after signing in, the browser should land on /admin, not {now}");
    }
    wait_for_text(&browser, "#current-user", "alice").await?;
    wait_for_text(&browser, "h1", "概览").await?;

    click(&browser, Locator::LinkText("English")).await?;
    wait_for_text(&browser, "h1", "Dashboard").await?;

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    std::fs::write(artifacts.join("dashboard.png"), browser.screenshot().await?)?;

    browser.close().await?;
    Ok(())
}

/// Polls until an element matching `css` is on the page (it may appear after a reload).
async fn wait_for(browser: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    let started = Instant::now();
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            return Ok(element);
        }
        if started.elapsed() > PATIENCE {
            bail!("`{css}` did not appear (page {})", browser.current_url().await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SELECTS: [&str; 5] = ["business_category", "account_type", "rate_plan", "payout_schedule", "payout_weekday"];

/// An operator fills in the application form, submits it, starts the micro-deposit verification,
/// types the amount the merchant received and approves it; the merchant's page is left in
/// `tests/artifacts/merchant.png`.
#[tokio::test]
async fn an_operator_walks_an_application_to_approval() -> Result<()> {
    let app = e2e::spawn_app().await;
    app.create_operator("olivia", Role::Operator).await;
    let driver = ChromeDriver::start()?;
    let browser = driver.connect().await?;

    browser.goto(&format!("{}/admin/login", app.address)).await?;
    fill(&browser, "username", "olivia").await?;
    fill(&browser, "password", e2e::PASSWORD).await?;
    click(&browser, Locator::Css("button[type=submit]")).await?;
    wait_for_text(&browser, "#current-user", "olivia").await?;

    click(&browser, Locator::LinkText("商户")).await?;
    wait_for_text(&browser, "h1", "商户").await?;
    click(&browser, Locator::Css("#new-application")).await?;
    wait_for_text(&browser, "h1", "新建申请").await?;
    // Saved empty, the form comes back with every problem marked.
    click(&browser, Locator::Css("#save-application")).await?;
    wait_for(&browser, "#form-errors").await?;
    wait_for_text(&browser, "#error-legal_name", "is required").await?;
    for (name, value) in e2e::application_form() {
        if SELECTS.contains(&name) {
            browser.find(Locator::Css(&format!("select[name={name}]"))).await?.select_by_value(value).await?;
        } else if !value.is_empty() {
            fill(&browser, name, value).await?;
        }
    }
    click(&browser, Locator::Css("#save-application")).await?;
    wait_for_text(&browser, "#merchant-state", "已提交").await?;
    let url = browser.current_url().await?;
    let id: MerchantId =
        url.path().trim_start_matches("/admin/merchants/").parse().context("merchant id in the url")?;

    click(&browser, Locator::Css("#do-start_verification")).await?;
    wait_for_text(&browser, "#merchant-state", "账户验证中").await?;
    // The page reloads itself until the server's worker has sent the micro-deposit.
    let answer = wait_for(&browser, "#answer-form input[name=amount]").await?;
    let deposit = app.wait_for_micro_deposit(id).await;
    answer.send_keys(&deposit.amount_fen.to_string()).await?;
    click(&browser, Locator::Css("#answer-form button[type=submit]")).await?;
    wait_for_text(&browser, "#merchant-state", "审核中").await?;

    click(&browser, Locator::Css("#do-approve")).await?;
    wait_for_text(&browser, "#merchant-state", "已通过").await?;
    let merchant = app.merchant(id).await;
    let sub_merchant_id = merchant.row.sub_merchant_id.context("a sub-merchant id")?;
    let details = browser.find(Locator::Css("#details")).await?.text().await?;
    assert!(details.contains(&sub_merchant_id), "the page shows {sub_merchant_id}");
    assert!(!details.contains("6222021234567890128"), "the account number is masked");
    let app_id = browser.find(Locator::Css("#app-id")).await?.text().await?;
    assert_eq!(app_id.len(), 16, "an app id is shown");

    // Tall enough for the whole page in one screenshot.
    browser.set_window_size(1280, 2300).await?;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    std::fs::write(artifacts.join("merchant.png"), browser.screenshot().await?)?;

    browser.close().await?;
    Ok(())
}

/// An operator finds a paid order in the orders list, opens it and refunds part of it with the
/// form; the order's page is left in `tests/artifacts/order.png`.
#[tokio::test]
async fn an_operator_refunds_an_order_from_its_page() -> Result<()> {
    let app = e2e::spawn_app().await;
    app.create_operator("olivia", Role::Operator).await;
    let (sub_merchant_id, client) = app.merchant_client("m-browser", domain::onboarding::SignType::Rsa2, None).await;
    let content = json!({ "out_trade_no": "BROWSER_1", "sub_merchant_id": sub_merchant_id, "body": "京东公仔",
        "total_fee": "16.13", "order_type": "0", "notify_url": "http://127.0.0.1:9/notify" });
    let reply = app.call(&client, "fshows.liquidation.jdpay.uniorder", content).await;
    let trade_no = reply["return_value"]["trade_no"].as_str().context("trade_no")?.to_string();
    e2e::record_payment(&mut app.database.connection(), &trade_no)?;
    let driver = ChromeDriver::start()?;
    let browser = driver.connect().await?;

    browser.goto(&format!("{}/admin/login", app.address)).await?;
    fill(&browser, "username", "olivia").await?;
    fill(&browser, "password", e2e::PASSWORD).await?;
    click(&browser, Locator::Css("button[type=submit]")).await?;
    wait_for_text(&browser, "#current-user", "olivia").await?;

    click(&browser, Locator::LinkText("订单")).await?;
    wait_for(&browser, "#orders").await?;
    fill(&browser, "number", "BROWSER_1").await?;
    click(&browser, Locator::Css("#order-filters button[type=submit]")).await?;
    // Wait for the filtered list, so the click below is not on the page being left.
    let started = Instant::now();
    while !browser.current_url().await?.as_str().contains("number=BROWSER_1") {
        if started.elapsed() > PATIENCE {
            bail!("the search did not lead to the filtered list: {}", browser.current_url().await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(&browser, Locator::Css("#orders a[href^='/admin/orders/']")).await?;
    wait_for_text(&browser, "#order-state", "已支付").await?;
    let heading = browser.find(Locator::Css("h1")).await?.text().await?;
    assert!(heading.contains(&trade_no), "the order's page: {heading}");

    let amount = wait_for(&browser, "#refund-form input[name=amount]").await?;
    amount.send_keys("8.73").await?;
    click(&browser, Locator::Css("#refund-submit")).await?;
    wait_for_text(&browser, "#order-state", "部分退款").await?;
    wait_for(&browser, "#notice").await?;
    let refunded = browser.find(Locator::Css("#refunded")).await?.text().await?;
    assert_eq!(refunded, "8.73");
    let refunds = browser.find(Locator::Css("#refunds")).await?.text().await?;
    assert!(refunds.contains("operator:olivia"), "{refunds}");

    browser.set_window_size(1280, 2400).await?;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    std::fs::write(artifacts.join("order.png"), browser.screenshot().await?)?;

    browser.close().await?;
    Ok(())
}
