//! The `liquidator` binary itself: subcommands run as an operator would run them.
use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    time::Duration,
};

use diesel::{RunQueryDsl, connection::SimpleConnection};
use storage::testing::TestDatabase;

fn liquidator(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_liquidator"));
    command.env("DATABASE_URL", database_url).env("RUST_LOG", "warn").env_remove("LIQUIDATOR_CONFIG");
    // A throwaway master key, so no key file is written into the source tree.
    command.env("LIQUIDATOR__PLATFORM__MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
    command
}

#[test]
fn operator_create_reads_the_password_from_stdin_and_is_audited() {
    let database = TestDatabase::new();
    let mut child = liquidator(database.url())
        .args(["operator", "create", "--username", "Ops.Lead", "--role", "finance"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a-long-enough-password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "created operator ops.lead (finance)");

    let mut conn = database.connection();
    let operator = storage::operators::find_by_username(&mut conn, "ops.lead").unwrap().unwrap();
    assert!(admin::password::verify(&"a-long-enough-password".to_string().into(), Some(&operator.password_hash)));
    let audit = storage::audit::list(&mut conn, &Default::default(), 10).unwrap();
    assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), ("cli", "operator.create"));
}

#[test]
fn operator_create_refuses_bad_input_and_changes_nothing() {
    let database = TestDatabase::new();
    let cases: [(&[&str], &[u8]); 3] = [
        (&["--username", "ok_name", "--role", "root"], b"a-long-enough-password\n"),
        (&["--username", "x", "--role", "admin"], b"a-long-enough-password\n"),
        (&["--username", "ok_name", "--role", "admin"], b"short\n"),
    ];
    for (args, stdin) in cases {
        let mut child = liquidator(database.url())
            .args(["operator", "create"])
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}: says why");
    }
    let count: i64 = storage::schema::operators::table.count().get_result(&mut database.connection()).unwrap();
    assert_eq!(count, 0);
}

use diesel::QueryDsl;

#[test]
fn migrate_applies_and_reverts() {
    let database = TestDatabase::empty();
    let output = liquidator(database.url()).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("applied "));
    let again = liquidator(database.url()).arg("migrate").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "applied 0 migration(s)");
    let reverted = liquidator(database.url()).args(["migrate", "--revert-all"]).output().unwrap();
    assert!(reverted.status.success());
    assert!(database.connection().batch_execute("SELECT 1 FROM operators").is_err());
}

#[test]
fn invalid_configuration_is_refused_with_exit_code_2() {
    let output =
        liquidator("postgres://unused/x").env("LIQUIDATOR__SERVER__BINDD", "x").arg("migrate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid configuration"));
}

#[test]
fn serve_refuses_a_payment_recorder_that_would_take_the_whole_pool_before_connecting() {
    // The database does not exist: the settings are refused before anything connects.
    let output = liquidator("postgres://127.0.0.1:1/unused")
        .env("LIQUIDATOR__DATABASE__POOL_SIZE", "4")
        .env("LIQUIDATOR__PAYMENTS__RECORDER_THREADS", "4")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("payments.recorder_threads must be at least 1 and below database.pool_size (4)"),
        "{stderr}"
    );
}

#[test]
fn keygen_writes_a_key_pair() {
    let folder = std::env::temp_dir().join(format!("liq-cli-keygen-{}", std::process::id()));
    let output =
        liquidator("postgres://unused/x").args(["keygen", "--name", "isv"]).arg("--out").arg(&folder).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let private_pem = std::fs::read_to_string(folder.join("isv_private_key.pem")).unwrap();
    assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        std::fs::read_to_string(folder.join("isv_public_key.pem")).unwrap().starts_with("-----BEGIN PUBLIC KEY-----")
    );
    std::fs::remove_dir_all(folder).unwrap();
}

fn write_application(folder: &std::path::Path, overrides: serde_json::Value) -> std::path::PathBuf {
    let mut application = serde_json::json!({
        "external_id": "legacy-1", "legal_name": "厦门示例科技有限公司", "short_name": "示例科技",
        "unified_social_credit_code": "91350100M000100Y43", "legal_representative": "张三", "contact_name": "李四",
        "contact_mobile": 13800138000u64, "contact_email": "ops@example.com", "business_category": "retail",
        "site_name": "https://shop.example.com", "icp_filing_number": "闽ICP备12345678号-1", "account_type": "personal",
        "account_holder": "张三", "account_number": "6222021234567890128", "bank_code": "ICBC",
        "bank_commission_rate": 0.0003, "pay_platform_rate": "0.00200", "liquidator_commission_rate": "0.00100"
    });
    for (key, value) in overrides.as_object().unwrap() {
        application[key] = value.clone();
    }
    std::fs::create_dir_all(folder).unwrap();
    let path = folder.join("application.json");
    std::fs::write(&path, application.to_string()).unwrap();
    path
}

fn json_line(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one line of JSON")
}

#[test]
fn merchant_create_migrates_an_approved_merchant_and_app_create_sets_up_its_key() {
    let database = TestDatabase::new();
    let folder = std::env::temp_dir().join(format!("liq-cli-merchant-{}", std::process::id()));
    let file = write_application(&folder, serde_json::json!({}));
    let created = json_line(
        &liquidator(database.url())
            .args(["merchant", "create", "--approve", "--json"])
            .arg("--file")
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(created["state"], "approved");
    let sub_merchant_id = created["sub_merchant_id"].as_str().unwrap().to_string();
    assert_eq!(sub_merchant_id.len(), 20);

    let keys = liquidator(database.url()).args(["keygen", "--name", "m"]).arg("--out").arg(&folder).output().unwrap();
    assert!(keys.status.success());
    let app = json_line(
        &liquidator(database.url())
            .args(["app", "create", "--merchant", &sub_merchant_id, "--sign-type", "RSA", "--json"])
            .arg("--public-key")
            .arg(folder.join("m_public_key.pem"))
            .output()
            .unwrap(),
    );
    assert_eq!((app["app_id"].as_str(), app["sign_type"].as_str()), (created["app_id"].as_str(), Some("RSA")));
    assert_eq!(app["key_fingerprint"].as_str().unwrap().len(), 64);

    let isv = json_line(
        &liquidator(database.url())
            .args(["app", "create", "--isv", "--name", "Partner ISV", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!((isv["kind"].as_str(), isv["sign_type"].as_str()), (Some("isv"), Some("RSA2")));
    // The ISV onboards a merchant of its own (not approved: it waits for review).
    let second = write_application(&folder, serde_json::json!({ "external_id": "isv-own-1" }));
    let owned = json_line(
        &liquidator(database.url())
            .args(["merchant", "create", "--json", "--owner-app", isv["app_id"].as_str().unwrap()])
            .arg("--file")
            .arg(&second)
            .output()
            .unwrap(),
    );
    assert_eq!(owned["state"], "submitted");
    let audit = storage::audit::list(&mut database.connection(), &Default::default(), 50).unwrap();
    assert!(audit.iter().all(|entry| entry.actor == "cli"), "the CLI is audited as `cli`");
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn merchant_create_refuses_an_invalid_file_naming_the_fields() {
    let database = TestDatabase::new();
    let folder = std::env::temp_dir().join(format!("liq-cli-bad-merchant-{}", std::process::id()));
    let file =
        write_application(&folder, serde_json::json!({ "contact_mobile": "123", "business_category": "gambling" }));
    let output =
        liquidator(database.url()).args(["merchant", "create", "--approve"]).arg("--file").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("contact_mobile") && stderr.contains("business_category"), "{stderr}");
    let unknown = write_application(&folder, serde_json::json!({ "surprise": "field" }));
    let output = liquidator(database.url()).args(["merchant", "create"]).arg("--file").arg(&unknown).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("surprise"));
    assert!(storage::merchants::list(&mut database.connection(), &Default::default(), 10).unwrap().is_empty());
    std::fs::remove_dir_all(folder).unwrap();
}

fn healthz_ok(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    stream.read_to_string(&mut reply).is_ok() && reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200")
}

/// Kills the demo even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn demo_creates_its_database_seeds_an_admin_and_prints_one_json_line() {
    // A database that does not exist yet: the demo must create it.
    let server = TestDatabase::empty();
    let demo_url = format!("{}_demo", server.url());
    let data_dir = std::env::temp_dir().join(format!("liq-demo-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = liquidator(&demo_url)
        .args(["demo", "--json", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut demo = Running(child);
    let stdout = demo.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line).await.expect("demo became ready").unwrap().unwrap();
    let summary: serde_json::Value = serde_json::from_str(&line).expect("one line of JSON");
    let base_url = summary["base_url"].as_str().unwrap();
    assert_eq!(base_url, format!("http://127.0.0.1:{port}"));
    assert_eq!(summary["admin"]["username"], "admin");
    let password = summary["admin"]["password"].as_str().unwrap();

    // The server is ready when the line appears, and the credentials work.
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(client.get(format!("{base_url}/healthz")).send().await.unwrap().status(), 200);
    let page = client.get(format!("{base_url}/admin/login")).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let token = &page[start..start + page[start..].find('"').unwrap()];
    let signed_in = client
        .post(format!("{base_url}/admin/login"))
        .form(&[("username", "admin"), ("password", password), ("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(client.get(format!("{base_url}/admin")).send().await.unwrap().status(), 200);
    assert!(data_dir.join("demo.json").exists());

    // Onboarding's part of the line: an ISV app and three sub-merchants with keys and rates.
    let isv_key = std::fs::read_to_string(summary["isv_app"]["private_key_pem_path"].as_str().unwrap()).unwrap();
    assert!(isv_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(summary["isv_app"]["app_id"].as_str().unwrap().len(), 16);
    let merchants = summary["sub_merchants"].as_array().unwrap();
    assert_eq!(merchants.len(), 3);
    let sign_types: Vec<_> = merchants.iter().map(|m| m["sign_type"].as_str().unwrap()).collect();
    assert_eq!(sign_types, ["RSA2", "RSA", "RSA2"]);
    for merchant in merchants {
        assert_eq!(merchant["sub_merchant_id"].as_str().unwrap().len(), 20);
        assert!(std::path::Path::new(merchant["private_key_pem_path"].as_str().unwrap()).is_absolute());
        assert_eq!(merchant["rates"]["bank_commission_rate"].as_str().unwrap().len(), 7, "five decimals");
    }
    // Orders in every state, for the console and for trying the query methods.
    let mut demo_database = <diesel::PgConnection as diesel::Connection>::establish(&demo_url).unwrap();
    let listed = storage::orders::list(&mut demo_database, &Default::default(), 1_000).unwrap();
    let states: std::collections::BTreeSet<String> = listed.iter().map(|o| o.state.as_str().to_string()).collect();
    assert_eq!(
        states.iter().map(String::as_str).collect::<Vec<_>>(),
        ["closed", "paid", "partially_refunded", "refunded", "waiting"]
    );
    // Orders of past days were placed on their own day, minutes before they were paid.
    for order in listed.iter().filter(|o| o.paid_at.is_some()) {
        let waited = order.paid_at.unwrap() - order.created_at;
        assert!(waited >= chrono::Duration::zero() && waited < chrono::Duration::hours(1), "{order:?}");
    }
    let month_ago = chrono::Utc::now() - chrono::Duration::days(25);
    assert!(listed.iter().any(|o| o.created_at < month_ago), "the history's orders carry their own placing time");
    // A payout run with payouts in every state: paid, returned (its merchant paused), pending at
    // the channel (flagged for an operator), waiting for approval — the workers finish it in seconds.
    let wanted = ["awaiting_approval", "returned", "submitted", "succeeded"];
    let started = std::time::Instant::now();
    loop {
        let payouts = storage::payouts::list(&mut demo_database, &Default::default(), 100).unwrap();
        let states: std::collections::BTreeSet<&str> = payouts.iter().map(|(p, _)| p.state.as_str()).collect();
        if states == wanted.into_iter().collect() {
            assert!(payouts.iter().any(|(p, _)| p.needs_attention), "the pending one needs attention");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the demo's payouts: {states:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The ledger's part: thirty days booked, the older days settled, so every merchant has both
    // pending and available money, and the books balance.
    let trial = ledger::reports::trial_balance(&mut demo_database).unwrap();
    assert!(trial.is_balanced() && trial.debit_total_fen.is_positive(), "{trial:?}");
    for merchant in merchants {
        let id = merchant["sub_merchant_id"].as_str().unwrap();
        let row = storage::merchants::find_by_sub_merchant_id(&mut demo_database, id).unwrap().unwrap();
        let balances = ledger::reports::merchant_balances(&mut demo_database, row.id).unwrap();
        let pending = balances[&domain::ledger::AccountKind::MerchantPending];
        let available = balances[&domain::ledger::AccountKind::MerchantAvailable];
        assert!(pending.is_positive() && available.is_positive(), "{id}: pending {pending}, available {available}");
    }
    drop(demo_database);
    let served = client.get(format!("{base_url}/gateway/platform-key")).send().await.unwrap().text().await.unwrap();
    let written = std::fs::read_to_string(summary["platform_public_key_pem_path"].as_str().unwrap()).unwrap();
    assert_eq!(served, written);

    drop(demo);
    let name = demo_url.rsplit('/').next().unwrap();
    server.connection().batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    std::fs::remove_dir_all(data_dir).unwrap();
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let database = TestDatabase::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = liquidator(database.url())
        .arg("serve")
        .env("LIQUIDATOR__SERVER__BIND", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    // Serving means answering /healthz, not merely a bound port (start-up binds it early).
    let serving = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        healthz_ok(port)
    });
    assert!(serving, "serve answers /healthz");
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        server.0.try_wait().unwrap()
    });
    assert_eq!(stopped.and_then(|status| status.code()), Some(0), "exits cleanly within 10 s");
}
