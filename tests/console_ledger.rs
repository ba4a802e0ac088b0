//! The console's ledger pages through the real server and database: orders placed through the
//! gateway and paid, refunds from the console, then the trial balance, the accounts and their
//! postings, a merchant's statement, commission by day and by merchant, their CSV downloads, the
//! release of a business day (finance only, audited), and a 400 for every bad parameter.
use chrono::{TimeDelta, Utc};
use domain::{
    Amount, MerchantId, OrderId, OutTradeNo,
    ledger::AccountKind,
    onboarding::SignType,
    orders::{OrderBody, OrderType},
};
use e2e::{PASSWORD, TestApp, gateway_client::Client, new_client, spawn_app};
use reqwest::{Response, StatusCode};
use rsa::RsaPrivateKey;
use serde_json::json;
use storage::{
    audit,
    database::run_blocking,
    ledger::AccountRow,
    operators::Role,
    orders::{OrderRow, RefundRow},
};

const UNIORDER: &str = "fshows.liquidation.jdpay.uniorder";
const FIXTURE_RATES: [&str; 3] = ["0.00030", "0.00200", "0.00100"];
/// Case 0 of the refund vectors: its second refund gives back -0.01 of commission (SPEC §3).
const VECTOR_RATES: [&str; 3] = ["0.00784", "0.00611", "0.00044"];

// ---------------------------------------------------------------------------------------------
// Helpers.

struct Shop {
    sub_merchant_id: String,
    merchant_id: MerchantId,
    client: Client,
    app: storage::apps::AppRow,
}

/// An approved merchant with its own rates and short name, and a gateway client for its app.
async fn shop(app: &TestApp, external_id: &str, short_name: &str, rates: [&str; 3]) -> Shop {
    let mut raw = e2e::gateway_client::application(external_id);
    raw.short_name = Some(short_name.to_string());
    raw.rate_plan = None;
    [raw.bank_commission_rate, raw.pay_platform_rate, raw.liquidator_commission_rate] =
        rates.map(|rate| Some(rate.to_string()));
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
    let pem = {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        rsa::RsaPublicKey::from(&key).to_public_key_pem(LineEnding::LF).expect("pem")
    };
    let approval = run_blocking(&app.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
        let actor = audit::Actor::cli();
        let approval = onboarding::applications::import_approved(conn, &actor, &raw, None)?;
        onboarding::credentials::add_key(conn, &actor, approval.app.id, &pem)?;
        Ok(approval)
    })
    .await
    .expect("merchant onboarded");
    Shop {
        sub_merchant_id: approval.sub_merchant_id.to_string(),
        merchant_id: approval.merchant.id(),
        client: Client::new(approval.app.app_id.clone(), SignType::Rsa2, key),
        app: approval.app,
    }
}

/// Placed through the gateway and paid as the channel's callback would; returns the order.
async fn paid_order(app: &TestApp, shop: &Shop, out_trade_no: &str, total_fee: &str) -> OrderRow {
    let content = json!({ "out_trade_no": out_trade_no, "sub_merchant_id": shop.sub_merchant_id,
        "body": "京东公仔", "total_fee": total_fee, "order_type": "0" });
    let reply = app.call(&shop.client, UNIORDER, content).await;
    assert_eq!(reply["success"], true, "{reply}");
    let trade_no = reply["return_value"]["trade_no"].as_str().expect("trade_no").to_string();
    run_blocking(&app.pool, move |conn| -> Result<_, orders::OrderError> {
        e2e::record_payment(conn, &trade_no)?;
        Ok(storage::orders::find_by_trade_no(conn, &trade_no)?.expect("the order"))
    })
    .await
    .expect("paid")
}

/// A signed-in client of its own (so several roles can act in one test).
async fn signed_in(app: &TestApp, username: &str, role: Role) -> reqwest::Client {
    app.create_operator(username, role).await;
    let client = new_client();
    assert_eq!(app.login_with(&client, username, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    client
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.expect("sent");
    (response.status(), response.text().await.expect("body"))
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let (_, page) = get(app, client, "/admin").await;
    let token = e2e::csrf_token(&page).expect("a CSRF token");
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    client.post(app.url(path)).form(&form).send().await.expect("posted")
}

async fn refund(app: &TestApp, operator: &reqwest::Client, order: &OrderRow, number: &str, amount: &str) {
    let path = format!("/admin/orders/{}/refund", order.id);
    let response = post(app, operator, &path, &[("out_refund_no", number), ("amount", amount)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "refund {number}");
}

async fn refunds(app: &TestApp, order_id: OrderId) -> Vec<RefundRow> {
    run_blocking(&app.pool, move |conn| storage::orders::refunds_of(conn, order_id)).await.expect("refunds")
}

async fn accounts(app: &TestApp, merchant_id: MerchantId) -> Vec<AccountRow> {
    run_blocking(&app.pool, move |conn| storage::ledger::accounts_of(conn, merchant_id)).await.expect("accounts")
}

fn account(accounts: &[AccountRow], kind: &str) -> AccountRow {
    accounts.iter().find(|account| account.kind.as_str() == kind).cloned().expect("the account")
}

fn yuan(fen: i64) -> String {
    Amount::from_fen(fen).to_string()
}

/// The China date `days` from today, as a date input sends it.
fn china_date(days: i64) -> String {
    (Utc::now() + TimeDelta::hours(8) + TimeDelta::days(days)).format("%Y-%m-%d").to_string()
}

/// The `<tr …>` of a table whose opening tag contains `marker`, up to its `</tr>`.
fn row<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page.find(marker).unwrap_or_else(|| panic!("no row {marker}"));
    let rest = &page[start..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

/// The text of the first element in `html` whose tag contains `marker`.
fn cell(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}"));
    let after = &html[start..];
    let text = &after[after.find('>').expect("a tag") + 1..];
    text[..text.find('<').unwrap_or(text.len())].trim().to_string()
}

/// A CSV body as rows of fields (RFC 4180: quoted fields, doubled quotes, CRLF), without the BOM.
fn parse_csv(body: &str) -> Vec<Vec<String>> {
    let body = body.strip_prefix('\u{feff}').expect("a UTF-8 byte-order mark");
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, body.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(row.is_empty() && field.is_empty(), "the file ends with a line end");
    rows
}

/// Downloads a CSV, checks its headers, and returns its header and rows as name → value maps.
async fn csv(app: &TestApp, client: &reqwest::Client, path: &str, file: &str) -> Vec<Vec<(String, String)>> {
    let response = client.get(app.url(path)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = response.headers()["content-disposition"].to_str().expect("ascii").to_string();
    assert!(disposition.starts_with(&format!("attachment; filename=\"{file}")), "{disposition}");
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    let mut rows = parse_csv(&response.text().await.expect("body"));
    let header = rows.remove(0);
    for line in &rows {
        assert_eq!(line.len(), header.len(), "{path}: every row has every column");
    }
    rows.into_iter().map(|line| header.iter().cloned().zip(line).collect()).collect()
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    row.iter().find(|(header, _)| header == name).map(|(_, value)| value.as_str()).expect("the column")
}

/// What the ledger must show for one account kind: credits less debits of the splits involved.
struct Expected {
    receivable_fen: i64,
    pending_fen: i64,
    bank_fen: i64,
    platform_fen: i64,
    commission_fen: i64,
}

impl Expected {
    fn of(orders: &[&OrderRow], refunds: &[RefundRow]) -> Expected {
        let paid = |part: fn(&OrderRow) -> i64| orders.iter().map(|order| part(order)).sum::<i64>();
        let back = |part: fn(&RefundRow) -> i64| refunds.iter().map(part).sum::<i64>();
        Expected {
            receivable_fen: paid(|o| o.total_fee_fen.fen()) - back(|r| r.refund_fee_fen.fen()),
            pending_fen: paid(|o| o.net_receipt_fen.fen()) - back(|r| r.net_receipt_fen.fen()),
            bank_fen: paid(|o| o.bank_commission_fen.fen()) - back(|r| r.bank_commission_fen.fen()),
            platform_fen: paid(|o| o.pay_platform_fen.fen()) - back(|r| r.pay_platform_fen.fen()),
            commission_fen: paid(|o| o.liquidator_commission_fen.fen()) - back(|r| r.liquidator_commission_fen.fen()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reports.

/// Two merchants, four paid orders, three refunds (one giving back -0.01 of commission).
struct Scene {
    app: TestApp,
    viewer: reqwest::Client,
    first: Shop,
    second: Shop,
    large: OrderRow,
    small: OrderRow,
    vector: OrderRow,
    other: OrderRow,
}

async fn scene() -> Scene {
    let app = spawn_app().await;
    let first = shop(&app, "m-ledger-1", "账务商店", FIXTURE_RATES).await;
    let second = shop(&app, "m-ledger-2", "向量商店", VECTOR_RATES).await;
    let large = paid_order(&app, &first, "LEDGER_LARGE", "100.00").await;
    let small = paid_order(&app, &first, "LEDGER_SMALL", "20.00").await;
    let vector = paid_order(&app, &second, "LEDGER_VECTOR", "16.13").await;
    let other = paid_order(&app, &second, "LEDGER_OTHER", "3.00").await;
    let operator = signed_in(&app, "olivia", Role::Operator).await;
    refund(&app, &operator, &large, "LEDGER_R1", "50.00").await;
    refund(&app, &operator, &vector, "LEDGER_V1", "8.73").await;
    refund(&app, &operator, &vector, "LEDGER_V2", "4.25").await;
    let viewer = signed_in(&app, "victor", Role::Viewer).await;
    Scene { app, viewer, first, second, large, small, vector, other }
}

#[tokio::test]
async fn the_trial_balance_balances_with_the_orders_figures_and_downloads_as_csv() {
    let Scene { app, viewer, large, small, vector, other, .. } = scene().await;
    let mut all_refunds = refunds(&app, large.id).await;
    all_refunds.extend(refunds(&app, vector.id).await);
    assert_eq!(all_refunds.len(), 3);
    assert!(all_refunds.iter().any(|r| r.liquidator_commission_fen.fen() < 0), "a refund adds a fen of commission");
    let expected = Expected::of(&[&large, &small, &vector, &other], &all_refunds);

    let (status, page) = get(&app, &viewer, "/admin/ledger").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="balance-state" data-balanced="true""#) && page.contains("借贷平衡"), "{page}");
    let total = yuan(expected.receivable_fen);
    assert_eq!(cell(&page, r#"id="debit-total""#), total);
    // No day reconciled and nothing paid out: the reserve is empty, and the sandbox says nothing.
    assert_eq!(cell(&page, r#"id="reserve-books""#), yuan(0));
    assert!(row(&page, r#"data-channel="sandbox""#).contains("该通道不提供余额查询"), "{page}");
    assert_eq!(cell(&page, r#"id="credit-total""#), total);
    let lines = [
        ("upstream_receivable", "debit", expected.receivable_fen),
        ("merchant_pending", "credit", expected.pending_fen),
        ("bank_commission_payable", "credit", expected.bank_fen),
        ("pay_platform_fee_payable", "credit", expected.platform_fen),
        ("liquidator_commission_revenue", "credit", expected.commission_fen),
        ("merchant_available", "credit", 0),
        ("payout_clearing", "credit", 0),
    ];
    for (kind, side, fen) in lines {
        let line = row(&page, &format!("data-kind=\"{kind}\""));
        assert_eq!(cell(line, &format!("data-side=\"{side}\"")), yuan(fen), "{kind}");
        assert!(line.contains("一致"), "{kind} matches its postings");
    }
    assert_eq!(
        expected.pending_fen + expected.bank_fen + expected.platform_fen + expected.commission_fen,
        expected.receivable_fen
    );

    // The CSV: the same figures.
    let rows = csv(&app, &viewer, "/admin/ledger?format=csv", "trial-balance-").await;
    assert_eq!(rows.len(), AccountKind::ALL.len() + 1, "every kind and the total");
    for (kind, side, fen) in lines {
        let line = rows.iter().find(|line| field(line, "account") == kind).expect("the kind");
        assert_eq!(field(line, &format!("{side}_yuan")), yuan(fen), "{kind}");
        assert_eq!(field(line, "matches_postings"), "yes");
    }
    let totals = rows.last().expect("the total");
    assert_eq!(
        (field(totals, "account"), field(totals, "debit_yuan"), field(totals, "credit_yuan")),
        ("total", total.as_str(), total.as_str())
    );

    // The navigation leads here from every page, once, and marks it on the ledger's pages.
    let (_, dashboard) = get(&app, &viewer, "/admin").await;
    assert_eq!(dashboard.matches(r#"href="/admin/ledger""#).count(), 1);
    assert!(page.contains(r#"<a href="/admin/ledger" class="active" aria-current="page">账务</a>"#), "{page}");
    assert_eq!(page.matches(">账务</a>").count(), 1);

    // In English, on request.
    viewer.get(app.url("/admin/lang/en")).send().await.expect("switched");
    let (_, english) = get(&app, &viewer, "/admin/ledger").await;
    assert!(english.contains("Balanced") && english.contains("Trial balance") && english.contains(">Ledger</a>"));
}

#[tokio::test]
async fn accounts_list_filter_and_show_their_postings_with_causes_and_running_balances() {
    let Scene { app, viewer, first, second, large, small, .. } = scene().await;
    let first_accounts = accounts(&app, first.merchant_id).await;
    assert_eq!(first_accounts.len(), AccountKind::ALL.len(), "every kind is opened for the merchant");

    // Filters: by sub-merchant ID, by name, by kind, both, and a name that matches nobody.
    let count = |page: &str| page.matches("data-account=").count();
    let by_id = get(&app, &viewer, &format!("/admin/ledger/accounts?merchant={}", first.sub_merchant_id)).await.1;
    assert_eq!(count(&by_id), AccountKind::ALL.len());
    assert!(by_id.contains("账务商店") && !by_id.contains("向量商店"));
    let by_name = get(&app, &viewer, "/admin/ledger/accounts?merchant=向量").await.1;
    assert_eq!(count(&by_name), AccountKind::ALL.len());
    assert!(by_name.contains(&second.sub_merchant_id));
    let pending = get(&app, &viewer, "/admin/ledger/accounts?kind=merchant_pending").await.1;
    assert_eq!(count(&pending), 2);
    let first_pending = account(&first_accounts, "merchant_pending");
    let line = row(&pending, &format!("data-account=\"{}\"", first_pending.id));
    assert_eq!(cell(line, "class=\"num amount\""), yuan(first_pending.balance_fen.fen()));
    let both = format!("/admin/ledger/accounts?merchant={}&kind=merchant_pending", second.sub_merchant_id);
    assert_eq!(count(&get(&app, &viewer, &both).await.1), 1);
    let (status, nobody) = get(&app, &viewer, "/admin/ledger/accounts?merchant=nobody-here").await;
    assert_eq!(status, StatusCode::OK);
    assert!(nobody.contains(r#"id="alert""#) && count(&nobody) == 0);
    let listed = csv(&app, &viewer, "/admin/ledger/accounts?kind=merchant_pending&format=csv", "ledger-accounts").await;
    assert_eq!(listed.len(), 2);
    let listed_first = listed.iter().find(|line| field(line, "account_id") == first_pending.id.to_string()).unwrap();
    assert_eq!(field(listed_first, "balance_yuan"), yuan(first_pending.balance_fen.fen()));
    assert_eq!(field(listed_first, "sub_merchant_id"), first.sub_merchant_id);

    // The first merchant's pending account: its refund, then its two payments, newest first.
    let (status, page) = get(&app, &viewer, &format!("/admin/ledger/accounts/{}", first_pending.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cell(&page, r#"id="balance""#), yuan(first_pending.balance_fen.fen()));
    let postings: Vec<&str> = page.split("<tr data-posting=").skip(1).collect();
    assert_eq!(postings.len(), 3);
    let refund_row = refunds(&app, large.id).await.remove(0);
    assert!(postings[0].contains("退款") && postings[0].contains(&refund_row.refund_no));
    assert!(postings[0].contains(&format!("href=\"/admin/orders/{}\"", large.id)));
    assert_eq!(cell(postings[0], r#"data-side="debit""#), yuan(refund_row.net_receipt_fen.fen()));
    assert_eq!(cell(postings[0], r#"data-side="balance""#), yuan(first_pending.balance_fen.fen()));
    assert!(postings[1].contains(&small.trade_no) && postings[1].contains(&format!("/admin/orders/{}", small.id)));
    assert_eq!(cell(postings[1], r#"data-side="credit""#), yuan(small.net_receipt_fen.fen()));
    assert_eq!(
        cell(postings[1], r#"data-side="balance""#),
        yuan(large.net_receipt_fen.fen() + small.net_receipt_fen.fen())
    );
    assert!(postings[2].contains(&large.trade_no));
    assert_eq!(cell(postings[2], r#"data-side="balance""#), yuan(large.net_receipt_fen.fen()));
    assert!(page.contains(&format!("/admin/ledger/statement?merchant={}", first.sub_merchant_id)));

    let rows =
        csv(&app, &viewer, &format!("/admin/ledger/accounts/{}?format=csv", first_pending.id), "ledger-account-").await;
    assert_eq!(rows.len(), 3);
    assert_eq!(field(&rows[0], "booking"), "refund");
    assert_eq!(field(&rows[0], "debit_yuan"), yuan(refund_row.net_receipt_fen.fen()));
    assert_eq!(field(&rows[0], "credit_yuan"), "0.00");
    assert_eq!(field(&rows[2], "cause"), format!("订单 {}", large.trade_no));
    assert_eq!(field(&rows[2], "balance_after_yuan"), yuan(large.net_receipt_fen.fen()));

    // The merchant's page shows its balances and leads to its statement.
    let (_, merchant_page) = get(&app, &viewer, &format!("/admin/merchants/{}", first.merchant_id)).await;
    assert_eq!(cell(&merchant_page, r#"id="balance-pending""#), yuan(first_pending.balance_fen.fen()));
    assert_eq!(cell(&merchant_page, r#"id="balance-available""#), "0.00");
    assert_eq!(cell(&merchant_page, r#"id="balance-in-transit""#), "0.00");
    assert!(merchant_page.contains(&format!("/admin/ledger/statement?merchant={}", first.sub_merchant_id)));
}

#[tokio::test]
async fn a_statement_opens_moves_and_closes_and_its_csv_says_the_same() {
    let Scene { app, viewer, first, second, large, small, .. } = scene().await;
    let pending_fen = account(&accounts(&app, first.merchant_id).await, "merchant_pending").balance_fen.fen();
    let today = china_date(0);
    let path = format!("/admin/ledger/statement?merchant={}&from={today}&to={today}", first.sub_merchant_id);
    let (status, page) = get(&app, &viewer, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="statement-check" data-agrees="true""#), "{page}");
    let pending = row(&page, r#"<tr data-kind="merchant_pending""#);
    assert_eq!(cell(pending, r#"data-figure="opening""#), "0.00");
    assert_eq!(
        cell(pending, r#"data-figure="credit""#),
        yuan(large.net_receipt_fen.fen() + small.net_receipt_fen.fen())
    );
    assert_eq!(cell(pending, r#"data-figure="count""#), "3");
    assert_eq!(cell(pending, r#"data-figure="closing""#), yuan(pending_fen));
    assert_eq!(cell(&page, r#"id="closing-total""#), yuan(pending_fen));
    let movements: Vec<&str> = page.split("<tr data-posting=").skip(1).collect();
    assert_eq!(movements.len(), 3, "two payments and a refund");
    assert!(movements[0].contains(&large.trade_no), "oldest first");
    assert_eq!(cell(movements[2], r#"data-side="balance""#), yuan(pending_fen), "the last balance is the closing one");

    // A period before the payments: nothing; after them: opening = closing = today's balance.
    let yesterday = china_date(-1);
    let before = format!("/admin/ledger/statement?merchant={}&from={yesterday}&to={yesterday}", first.sub_merchant_id);
    let (_, before) = get(&app, &viewer, &before).await;
    assert!(before.contains(r#"data-agrees="true""#) && before.contains("本期无发生额"));
    assert_eq!(cell(row(&before, r#"<tr data-kind="merchant_pending""#), r#"data-figure="closing""#), "0.00");
    let tomorrow = china_date(1);
    let after = format!("/admin/ledger/statement?merchant=账务商店&from={tomorrow}&to={tomorrow}");
    let (status, after) = get(&app, &viewer, &after).await;
    assert_eq!(status, StatusCode::OK, "a unique name finds the merchant");
    let after_pending = row(&after, r#"<tr data-kind="merchant_pending""#);
    assert_eq!(cell(after_pending, r#"data-figure="opening""#), yuan(pending_fen));
    assert_eq!(cell(after_pending, r#"data-figure="closing""#), yuan(pending_fen));

    // A name several merchants share offers them; the second merchant's own statement adds up.
    let (status, several) = get(&app, &viewer, "/admin/ledger/statement?merchant=商店").await;
    assert_eq!(status, StatusCode::OK);
    assert!(several.contains(&first.sub_merchant_id) && several.contains(&second.sub_merchant_id));
    assert!(several.contains(r#"id="merchant-candidates""#));
    let (_, second_page) =
        get(&app, &viewer, &format!("/admin/ledger/statement?merchant={}", second.sub_merchant_id)).await;
    assert!(second_page.contains(r#"data-agrees="true""#), "the default period is this month");

    // The CSV: opening rows, every movement, closing rows and the check.
    let rows = csv(
        &app,
        &viewer,
        &format!("{path}&format=csv"),
        &format!("statement-{}-{today}-{today}", first.sub_merchant_id),
    )
    .await;
    let kinds: Vec<&str> = rows.iter().map(|line| field(line, "row")).collect();
    assert_eq!(
        kinds,
        ["opening", "opening", "opening", "movement", "movement", "movement", "closing", "closing", "closing", "check"]
    );
    let closing =
        rows.iter().find(|line| field(line, "row") == "closing" && field(line, "account") == "merchant_pending");
    let closing = closing.expect("the pending account's closing row");
    assert_eq!(field(closing, "balance_yuan"), yuan(pending_fen));
    assert_eq!(field(closing, "credit_yuan"), yuan(large.net_receipt_fen.fen() + small.net_receipt_fen.fen()));
    assert_eq!(field(&rows[5], "balance_yuan"), yuan(pending_fen));
    assert_eq!(field(&rows[9], "memo"), "期初余额 + 本期发生 = 期末余额,已核对");
}

#[tokio::test]
async fn commission_by_day_and_by_merchant_matches_the_orders_liquidator_fees() {
    let Scene { app, viewer, first, second, large, small, vector, other } = scene().await;
    let first_refunds = refunds(&app, large.id).await;
    let second_refunds = refunds(&app, vector.id).await;
    let earned = |orders: &[&OrderRow], refunds: &[RefundRow]| Expected::of(orders, refunds).commission_fen;
    let first_fen = earned(&[&large, &small], &first_refunds);
    let second_fen = earned(&[&vector, &other], &second_refunds);
    // Credits: the payments' commission and the refund that added a fen; debits: the give-backs.
    let all_refunds: Vec<&RefundRow> = first_refunds.iter().chain(&second_refunds).collect();
    let given_back_fen: i64 = all_refunds.iter().map(|r| r.liquidator_commission_fen.fen().max(0)).sum();
    let orders_fen: i64 = [&large, &small, &vector, &other].iter().map(|o| o.liquidator_commission_fen.fen()).sum();
    let credited_fen =
        orders_fen + all_refunds.iter().map(|r| (-r.liquidator_commission_fen.fen()).max(0)).sum::<i64>();
    assert_eq!(credited_fen - given_back_fen, first_fen + second_fen);

    let today = china_date(0);
    let path = format!("/admin/ledger/commission?from={}&to={today}", china_date(-3));
    let (status, page) = get(&app, &viewer, &path).await;
    assert_eq!(status, StatusCode::OK);
    let day = row(&page, &format!("<tr data-date=\"{today}\""));
    assert_eq!(cell(day, r#"data-figure="earned""#), yuan(credited_fen));
    assert_eq!(cell(day, r#"data-figure="given-back""#), yuan(given_back_fen));
    assert_eq!(cell(day, r#"data-figure="net""#), yuan(first_fen + second_fen));
    assert_eq!(page.matches("<tr data-date=").count(), 1, "only days with commission");
    assert_eq!(cell(row(&page, r#"id="day-total""#), r#"data-figure="net""#), yuan(first_fen + second_fen));
    let merchant_net =
        |id: MerchantId| cell(row(&page, &format!("<tr data-merchant=\"{id}\"")), r#"data-figure="net""#);
    assert_eq!(merchant_net(first.merchant_id), yuan(first_fen));
    assert_eq!(merchant_net(second.merchant_id), yuan(second_fen));
    assert!(!page.contains(r#"id="alert""#), "merchants add up to the days");

    let days = csv(&app, &viewer, &format!("{path}&format=csv"), "commission-by-day-").await;
    assert_eq!(days.len(), 2, "today and the total");
    assert_eq!(field(&days[0], "business_date"), today);
    assert_eq!(
        (field(&days[0], "earned_yuan"), field(&days[0], "given_back_yuan"), field(&days[0], "net_yuan")),
        (yuan(credited_fen).as_str(), yuan(given_back_fen).as_str(), yuan(first_fen + second_fen).as_str())
    );
    let merchants = csv(&app, &viewer, &format!("{path}&format=csv&by=merchant"), "commission-by-merchant-").await;
    assert_eq!(merchants.len(), 3, "two merchants and the total");
    for (shop, fen) in [(&first, first_fen), (&second, second_fen)] {
        let line = merchants.iter().find(|line| field(line, "sub_merchant_id") == shop.sub_merchant_id).unwrap();
        assert_eq!(field(line, "net_yuan"), yuan(fen));
    }
    assert_eq!(field(&merchants[2], "net_yuan"), yuan(first_fen + second_fen));

    // A period without business: empty tables, zero totals.
    let (_, empty) = get(&app, &viewer, "/admin/ledger/commission?from=2025-01-01&to=2025-01-31").await;
    assert!(
        !empty.contains("<tr data-date=") && cell(row(&empty, r#"id="day-total""#), r#"data-figure="net""#) == "0.00"
    );
}

#[tokio::test]
async fn long_statements_and_accounts_page_with_running_balances_that_continue() {
    let app = spawn_app().await;
    let shop = shop(&app, "m-ledger-long", "长清单商店", FIXTURE_RATES).await;
    const ORDERS: usize = 205;
    let (merchant_app, sub_merchant_id) = (shop.app.clone(), shop.sub_merchant_id.clone());
    run_blocking(&app.pool, move |conn| -> Result<(), orders::OrderError> {
        for index in 0..ORDERS {
            let new = orders::place::NewOrder {
                sub_merchant_id: domain::SubMerchantId::parse(&sub_merchant_id).expect("id"),
                out_trade_no: OutTradeNo::parse(&format!("LONG_{index}")).expect("number"),
                body: OrderBody::parse("京东公仔").expect("body"),
                total: Amount::from_fen(100 + index as i64),
                order_type: OrderType::Physical,
                notify_url: None,
                content_fingerprint: format!("long:{index}"),
            };
            let placed = orders::place::place(conn, &merchant_app, &new, Utc::now())?;
            e2e::record_payment(conn, placed.order().trade_no())?;
        }
        Ok(())
    })
    .await
    .expect("orders paid");
    let viewer = signed_in(&app, "victor", Role::Viewer).await;
    let pending = account(&accounts(&app, shop.merchant_id).await, "merchant_pending");
    let balances = |page: &str| -> Vec<String> {
        page.split("<tr data-posting=").skip(1).map(|line| cell(line, r#"data-side="balance""#)).collect()
    };
    let next = |page: &str| -> Option<String> {
        let start = page.find(r#"id="next-page""#)?;
        let link = &page[page[..start].rfind("href=\"").expect("a link") + 6..];
        Some(e2e::unescape(&link[..link.find('"').expect("quote")]))
    };

    // The statement: 200 movements, then the last 5, the running balance carrying over.
    let today = china_date(0);
    let first_path = format!(
        "/admin/ledger/statement?merchant={sub_merchant_id}&from={today}&to={today}",
        sub_merchant_id = shop.sub_merchant_id
    );
    let (_, first_page) = get(&app, &viewer, &first_path).await;
    let first_balances = balances(&first_page);
    assert_eq!(first_balances.len(), 200);
    let second_path = next(&first_page).expect("a next page");
    let (status, second_page) = get(&app, &viewer, &second_path).await;
    assert_eq!(status, StatusCode::OK);
    let second_balances = balances(&second_page);
    assert_eq!(second_balances.len(), ORDERS - 200);
    assert_eq!(
        second_balances.last(),
        Some(&yuan(pending.balance_fen.fen())),
        "the last page ends at the closing balance"
    );
    assert!(second_page.contains(r#"data-agrees="true""#) && first_page.contains(r#"data-agrees="true""#));
    assert!(next(&second_page).is_none());
    let statement = csv(&app, &viewer, &format!("{first_path}&format=csv"), "statement-").await;
    assert_eq!(statement.iter().filter(|line| field(line, "row") == "movement").count(), ORDERS);

    // The account: 100 per page, newest first; each page starts where the last one stopped.
    let mut path = format!("/admin/ledger/accounts/{}", pending.id);
    let mut all = Vec::new();
    while let (StatusCode::OK, page) = get(&app, &viewer, &path).await {
        all.extend(balances(&page));
        match next(&page) {
            Some(link) => path = link,
            None => break,
        }
    }
    assert_eq!(all.len(), ORDERS);
    assert_eq!(all.first(), Some(&yuan(pending.balance_fen.fen())));
    let net_of_first = {
        let app_id = shop.app.id;
        run_blocking(&app.pool, move |conn| storage::orders::find_by_out_trade_no(conn, app_id, "LONG_0"))
    }
    .await
    .expect("read")
    .expect("the first order")
    .net_receipt_fen
    .fen();
    assert_eq!(all.last(), Some(&yuan(net_of_first)));
    let mut expected: Vec<String> = statement
        .iter()
        .filter(|line| field(line, "row") == "movement")
        .map(|line| field(line, "balance_yuan").to_string())
        .collect();
    expected.reverse();
    assert_eq!(all, expected, "the account's running balances are the statement's, newest first");
}

// ---------------------------------------------------------------------------------------------
// Business days.

async fn day_row(app: &TestApp, date: chrono::NaiveDate) -> Option<storage::ledger::BusinessDayRow> {
    run_blocking(&app.pool, move |conn| storage::ledger::business_day(conn, date)).await.expect("read")
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

#[tokio::test]
async fn finance_releases_an_open_day_with_a_note_audited_and_others_cannot() {
    let app = spawn_app().await;
    // The workers reconcile the last seven days against the sandbox's bill as the server starts;
    // ten days back is out of their reach, so the day stays open until someone releases it.
    let open_day = china_date(-10);
    let release = format!("/admin/ledger/days/{open_day}/release");
    let note = [("note", "bill late; checked by phone with the channel")];

    // Viewers and operators read the page but may not release.
    for (name, role) in [("victor", Role::Viewer), ("olivia", Role::Operator)] {
        let client = signed_in(&app, name, role).await;
        let (status, page) = get(&app, &client, "/admin/ledger/days").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("release-form"), "{name} gets no form");
        assert_eq!(post(&app, &client, &release, &note).await.status(), StatusCode::FORBIDDEN, "{name}");
    }
    assert!(day_row(&app, date(&open_day)).await.is_none(), "nothing was recorded");

    let finance = signed_in(&app, "fiona", Role::Finance).await;
    let (_, page) = get(&app, &finance, "/admin/ledger/days").await;
    assert!(row(&page, &format!("data-date=\"{open_day}\"")).contains("data-state=\"open\""));
    assert!(row(&page, &format!("data-date=\"{open_day}\"")).contains("release-form"));
    assert!(row(&page, &format!("data-date=\"{}\"", china_date(0))).contains("data-state=\"running\""));
    assert!(!row(&page, &format!("data-date=\"{}\"", china_date(0))).contains("release-form"), "today is not over");

    // Refusals: no note, no CSRF token; nothing released.
    let response = post(&app, &finance, &release, &[("note", "  ")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("请填写放行说明"));
    let forged = finance.post(app.url(&release)).form(&note).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(day_row(&app, date(&open_day)).await.is_none());

    // The release: back to the page with a notice, the day released by fiona with the note.
    let response = post(&app, &finance, &release, &note).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/ledger/days?") && location.ends_with("notice=released"), "{location}");
    let (_, page) = get(&app, &finance, &location).await;
    assert!(page.contains(r#"id="notice""#));
    let released = row(&page, &format!("data-date=\"{open_day}\""));
    assert!(released.contains("data-state=\"released\"") && released.contains("fiona"));
    assert!(released.contains(note[0].1) && !released.contains("release-form"));
    let day = day_row(&app, date(&open_day)).await.expect("the day is recorded");
    assert_eq!((day.released_by.as_deref(), day.release_note.as_deref()), (Some("fiona"), Some(note[0].1)));
    let filter = audit::Filter { action: Some("business_day.release".into()), ..audit::Filter::default() };
    let entries = run_blocking(&app.pool, move |conn| audit::list(conn, &filter, 10)).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].actor.as_str(), entries[0].target.clone()), ("fiona", format!("business_day:{open_day}")));
    assert_eq!(entries[0].after.as_ref().unwrap()["note"], note[0].1);

    // Once is enough; today is not over; a reconciled day needs no release; junk dates are 400s.
    let again = post(&app, &finance, &release, &note).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("该营业日已放行"));
    let today = post(&app, &finance, &format!("/admin/ledger/days/{}/release", china_date(0)), &note).await;
    assert_eq!(today.status(), StatusCode::BAD_REQUEST);
    assert!(today.text().await.unwrap().contains("尚未结束"));
    let reconciled = date(&china_date(-12));
    run_blocking(&app.pool, move |conn| storage::ledger::mark_reconciled(conn, reconciled)).await.unwrap();
    let response = post(&app, &finance, &format!("/admin/ledger/days/{reconciled}/release"), &note).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(day_row(&app, reconciled).await.expect("recorded").released_at.is_none());
    for junk in ["not-a-date", "2026-02-30", "1900-01-01", "20261121"] {
        let response = post(&app, &finance, &format!("/admin/ledger/days/{junk}/release"), &note).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{junk}");
    }
    let entries = run_blocking(&app.pool, |conn| {
        audit::list(conn, &audit::Filter { action: Some("business_day.release".into()), ..Default::default() }, 10)
    })
    .await
    .unwrap();
    assert_eq!(entries.len(), 1, "only the one release was audited");

    // Older days page back; a reconciled day shows as such.
    let (_, page) = get(&app, &finance, "/admin/ledger/days").await;
    assert!(row(&page, &format!("data-date=\"{reconciled}\"")).contains("data-state=\"reconciled\""));
    assert!(page.contains(r#"id="older-days""#) && !page.contains(r#"id="newer-days""#));
    let (status, older) = get(&app, &finance, &format!("/admin/ledger/days?to={}", china_date(-14))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(older.contains(&format!("data-date=\"{}\"", china_date(-27))) && older.contains(r#"id="newer-days""#));
}

// ---------------------------------------------------------------------------------------------
// Bad parameters.

#[tokio::test]
async fn every_bad_parameter_gets_a_clear_400_page() {
    let app = spawn_app().await;
    // A name a spreadsheet would run as a formula, with quotes and a comma to escape.
    let formula = r#"=HYPERLINK("x","参数")"#;
    let shop = shop(&app, "m-ledger-bad", formula, FIXTURE_RATES).await;
    paid_order(&app, &shop, "LEDGER_BAD", "1.00").await;
    let viewer = signed_in(&app, "victor", Role::Viewer).await;
    let merchant = &shop.sub_merchant_id;
    let bad = [
        "/admin/ledger?format=xml".to_string(),
        "/admin/ledger/accounts?kind=bogus".into(),
        "/admin/ledger/accounts?after=abc".into(),
        "/admin/ledger/accounts?format=pdf".into(),
        "/admin/ledger/accounts/abc".into(),
        "/admin/ledger/accounts/-1".into(),
        "/admin/ledger/accounts/0".into(),
        "/admin/ledger/accounts/99999999999999999999".into(),
        "/admin/ledger/accounts/1?before=x".into(),
        format!("/admin/ledger/statement?merchant={merchant}&from=2026-13-01"),
        format!("/admin/ledger/statement?merchant={merchant}&from=open_day"),
        format!("/admin/ledger/statement?merchant={merchant}&from=2026-11-02&to=2026-11-01"),
        format!("/admin/ledger/statement?merchant={merchant}&from=2024-01-01&to=2025-01-01"),
        format!("/admin/ledger/statement?merchant={merchant}&from=1999-12-31&to=2000-01-01"),
        format!("/admin/ledger/statement?merchant={merchant}&after=x"),
        // A cursor that is not one of this statement's movements.
        format!("/admin/ledger/statement?merchant={merchant}&after=999999999"),
        "/admin/ledger/statement?merchant=nobody-at-all".into(),
        "/admin/ledger/statement?format=csv".into(),
        "/admin/ledger/commission?from=2026-11-01&to=junk".into(),
        "/admin/ledger/commission?from=2026-11-30&to=2026-11-01".into(),
        "/admin/ledger/commission?from=2020-01-01&to=2026-01-01".into(),
        "/admin/ledger/commission?by=week&format=csv".into(),
        "/admin/ledger/days?to=garbage".into(),
        "/admin/ledger/days?to=0001-01-01".into(),
    ];
    for path in &bad {
        let (status, page) = get(&app, &viewer, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains("<html") && page.contains("role=\"alert\""), "{path}: a page saying what is wrong");
    }
    let (status, page) = get(&app, &viewer, "/admin/ledger/statement?merchant=x&from=2026-11-02&to=2026-11-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("开始日期晚于结束日期"), "the reason is given");
    assert_eq!(get(&app, &viewer, "/admin/ledger/accounts/999999").await.0, StatusCode::NOT_FOUND);

    // In the CSV the name stays text: quoted, quotes doubled, a leading ' against formulas.
    let rows = csv(&app, &viewer, "/admin/ledger/accounts?format=csv", "ledger-accounts").await;
    assert_eq!(rows.len(), AccountKind::ALL.len());
    assert!(rows.iter().all(|line| field(line, "merchant") == format!("'{formula}")));
    let (_, page) = get(&app, &viewer, "/admin/ledger/accounts").await;
    assert!(!page.contains(formula), "the page escapes it too");

    // The longest period allowed, and the defaults.
    let longest = format!("/admin/ledger/statement?merchant={merchant}&from=2024-01-01&to=2024-12-31");
    assert_eq!(get(&app, &viewer, &longest).await.0, StatusCode::OK);
    for path in ["/admin/ledger/statement", "/admin/ledger/commission", "/admin/ledger/days", "/admin/ledger/accounts"]
    {
        assert_eq!(get(&app, &viewer, path).await.0, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn finance_sets_a_merchants_settlement_period_and_bad_values_change_nothing() {
    let app = spawn_app().await;
    let shop = shop(&app, "t-plus-n", "结算店", FIXTURE_RATES).await;
    let page = format!("/admin/merchants/{}", shop.merchant_id);
    let path = format!("{page}/settlement-days");
    let operator = signed_in(&app, "olivia", Role::Operator).await;
    let (_, html) = get(&app, &operator, &page).await;
    assert!(html.contains("id=\"settlement-days\">T+1<") && !html.contains("settlement-days-form"));
    assert_eq!(post(&app, &operator, &path, &[("settlement_days", "3")]).await.status(), StatusCode::FORBIDDEN);

    let finance = signed_in(&app, "finn", Role::Finance).await;
    for bad in ["0", "31", "", "2.5", "three", "-1"] {
        let response = post(&app, &finance, &path, &[("settlement_days", bad)]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let response = post(&app, &finance, &path, &[("settlement_days", "3")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&app, &finance, &format!("{page}?notice=settlement_days")).await;
    assert!(html.contains("id=\"settlement-days\">T+3<") && html.contains("结算周期已保存"));
    let entries = run_blocking(&app.pool, |conn| storage::audit::list(conn, &storage::audit::Filter::default(), 20))
        .await
        .expect("audit");
    let entry = entries.iter().find(|e| e.action == "merchant.settlement_days").expect("audited once");
    assert_eq!(entry.after, Some(json!({ "settlement_days": 3 })));
    assert_eq!(entry.before, Some(json!({ "settlement_days": 1 })));
    assert_eq!(
        post(&app, &finance, "/admin/merchants/999999/settlement-days", &[("settlement_days", "2")]).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// Waits (up to 10 s) for a verification to finish after `before` of them.
async fn verified(app: &TestApp, before: usize) -> storage::ledger_verification::VerificationRow {
    let started = std::time::Instant::now();
    loop {
        let latest =
            run_blocking(&app.pool, |conn| storage::ledger_verification::latest(conn, 10)).await.expect("read");
        let finished: Vec<_> = latest.into_iter().filter(|row| row.finished_at.is_some()).collect();
        if finished.len() > before {
            return finished.into_iter().next().expect("the newest");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no verification finished");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_admin_verifies_the_ledger_and_a_mismatch_shows_on_the_trial_balance_the_dashboard_and_metrics() {
    let app = spawn_app().await;
    let shop = shop(&app, "verify-1", "核验店", FIXTURE_RATES).await;
    paid_order(&app, &shop, "VER1", "10.00").await;
    let admin = signed_in(&app, "ada", Role::Admin).await;
    let (_, page) = get(&app, &admin, "/admin/ledger").await;
    let hourly = run_blocking(&app.pool, |conn| storage::ledger_verification::latest(conn, 10)).await.expect("read");
    let before = hourly.iter().filter(|row| row.finished_at.is_some()).count();
    assert!(page.contains(r#"id="verify-form""#), "admins may verify now");

    let queued = post(&app, &admin, "/admin/ledger/verify", &[]).await;
    assert_eq!(queued.status(), StatusCode::SEE_OTHER);
    let clean = verified(&app, before).await;
    assert_eq!(clean.mismatch_count, 0, "{:?}", clean.mismatches);
    assert!(clean.entries_checked >= 1 && clean.accounts_checked >= 5, "{clean:?}");
    let (_, page) = get(&app, &admin, "/admin/ledger").await;
    assert!(page.contains(r#"data-mismatches="0""#) && page.contains(r#"data-balanced="true""#), "{page}");
    let filter = audit::Filter { action: Some("ledger.verify".into()), ..Default::default() };
    let audited = run_blocking(&app.pool, move |conn| audit::list(conn, &filter, 5)).await.expect("audit");
    assert_eq!(audited.len(), 1, "audited");

    // A balance changed behind the ledger's back (its triggers off: a superuser's doing).
    run_blocking(&app.pool, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(
            "SET session_replication_role = replica;
             UPDATE ledger_accounts SET balance_fen = balance_fen + 7
              WHERE id = (SELECT min(id) FROM ledger_accounts WHERE kind = 'merchant_pending');
             SET session_replication_role = DEFAULT;",
        )
        .map_err(storage::StorageError::from)
    })
    .await
    .expect("tampered");
    post(&app, &admin, "/admin/ledger/verify", &[]).await;
    let found = verified(&app, before + 1).await;
    assert_eq!(found.mismatch_count, 1, "{:?}", found.mismatches);
    let (_, page) = get(&app, &admin, "/admin/ledger").await;
    assert!(page.contains(r#"id="verification-mismatches""#) && page.contains(r#"data-balanced="false""#), "{page}");
    let row = page.split(r#"data-kind="merchant_pending""#).nth(1).expect("the row");
    assert!(row.split("</tr>").next().unwrap_or_default().contains("class=\"bad\""), "the kind is marked");
    let (_, dashboard) = get(&app, &admin, "/admin").await;
    assert!(dashboard.contains(r#"id="ledger-alert""#), "the dashboard warns");
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("liquidator_ledger_mismatches 1"), "{metrics}");
}

// ---------------------------------------------------------------------------------------------
// Hostile text.

/// A merchant's name that a spreadsheet would run, and text that means something to SQL.
const FORMULA: &str = "=HYPERLINK(\"http://e.x\",\"点\")";
const SQL: &str = "x'); DROP TABLE merchants; --";

/// A cell a spreadsheet would run as a formula: text starting with `=`, `+`, `@`, a tab or a
/// carriage return, or a `-` that is not a number.
fn runs_as_formula(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => cell.parse::<f64>().is_err(),
        _ => false,
    }
}

/// Text that means something to SQL or to a spreadsheet, typed into the free-text fields that
/// reach pages and CSV downloads (a merchant's names, a release note): kept as typed, and no cell
/// of any CSV download would run as a formula.
#[tokio::test]
async fn text_meaning_sql_or_a_formula_is_kept_as_typed_and_no_csv_cell_runs_as_a_formula() {
    let app = spawn_app().await;
    let hostile = shop(&app, "m-hostile", FORMULA, FIXTURE_RATES).await;
    let order = paid_order(&app, &hostile, "HOSTILE_1", "10.00").await;
    let operator = signed_in(&app, "olivia", Role::Operator).await;
    refund(&app, &operator, &order, "HOSTILE_R1", "1.00").await;
    // Another merchant, on its way through verification: its micro-deposit is a payout, listed
    // with its name.
    let mut raw = e2e::application("m-hostile-2");
    (raw.short_name, raw.legal_name) = (Some(format!("{FORMULA}二")), Some(format!("{SQL}有限公司")));
    // Every other free-text field of an application, shown on the merchant's page.
    (raw.legal_representative, raw.contact_name) = (Some(format!("{FORMULA}三")), Some(format!("{SQL}四")));
    (raw.site_name, raw.branch_name) = (Some(format!("{FORMULA}站")), Some(format!("{SQL}支行")));
    let second = run_blocking(&app.pool, move |conn| {
        let merchant = onboarding::applications::create(conn, &audit::Actor::cli(), &raw, None, true)?;
        onboarding::verification::start(conn, &audit::Actor::cli(), merchant.id(), e2e::sandbox_route())?;
        Ok::<_, onboarding::OnboardingError>(merchant.id())
    })
    .await
    .expect("verification started");
    app.wait_for_micro_deposit(second).await;
    let finance = signed_in(&app, "fiona", Role::Finance).await;
    let open_day = china_date(-10);
    let released = post(&app, &finance, &format!("/admin/ledger/days/{open_day}/release"), &[("note", SQL)]).await;
    assert_eq!(released.status(), StatusCode::SEE_OTHER);

    // Kept as typed: the SQL was a value, never a statement.
    assert_eq!(app.merchant(hostile.merchant_id).await.row.short_name, FORMULA);
    let kept = app.merchant(second).await.row;
    assert_eq!(kept.legal_name, format!("{SQL}有限公司"));
    let typed = [
        (kept.legal_representative, format!("{FORMULA}三")),
        (kept.contact_name, format!("{SQL}四")),
        (kept.site_name, format!("{FORMULA}站")),
        (kept.branch_name.unwrap_or_default(), format!("{SQL}支行")),
    ];
    let (_, merchant_page) = get(&app, &finance, &format!("/admin/merchants/{second}")).await;
    for (stored, entered) in typed {
        assert_eq!(stored, entered, "kept as typed");
        assert!(e2e::shows_escaped(&merchant_page, &entered), "{entered} shown, escaped");
    }
    let day = day_row(&app, date(&open_day)).await.expect("released");
    assert_eq!(day.release_note.as_deref(), Some(SQL));
    let (_, page) = get(&app, &finance, "/admin/ledger/days").await;
    assert!(e2e::unescape(&page).contains(SQL) && !page.contains(SQL), "shown, escaped");

    let viewer = signed_in(&app, "victor", Role::Viewer).await;
    let today = china_date(0);
    let statement = format!("/admin/ledger/statement?merchant={}&from={today}&to={today}", hostile.sub_merchant_id);
    let pending = account(&accounts(&app, hostile.merchant_id).await, "merchant_pending").id;
    let downloads = [
        ("/admin/ledger?format=csv".to_string(), "trial-balance-"),
        ("/admin/ledger/accounts?format=csv".to_string(), "ledger-accounts"),
        (format!("/admin/ledger/accounts/{pending}?format=csv"), "ledger-account-"),
        (format!("{statement}&format=csv"), "statement-"),
        (format!("/admin/ledger/commission?from={today}&to={today}&format=csv"), "commission-by-day-"),
        (format!("/admin/ledger/commission?from={today}&to={today}&format=csv&by=merchant"), "commission-by-merchant-"),
        ("/admin/payouts?format=csv".to_string(), "payouts"),
    ];
    let mut names_seen = 0;
    for (path, file) in downloads {
        for row in csv(&app, &viewer, &path, file).await {
            for (column, value) in &row {
                assert!(!runs_as_formula(value), "{path}: {column} = {value:?}");
                names_seen += usize::from(value.starts_with('\'') && value[1..].starts_with(FORMULA));
            }
        }
    }
    // The commission by merchant and the payouts list name the merchants, defused.
    assert!(names_seen >= 2, "the names were in the downloads: {names_seen}");
}

// ---------------------------------------------------------------------------------------------
// Rollups.

fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).get_result::<Count>(&mut app.database.connection()).expect("counted").count
}

/// Bookings only note their entries; the server's workers fold the notes into the merchant-day
/// rows within seconds, and the console shows the same figures before the fold and after it.
#[tokio::test]
async fn the_servers_workers_fold_what_bookings_noted_and_the_figures_stay_the_same() {
    let app = spawn_app().await;
    let first = shop(&app, "m-fold", "折叠商店", FIXTURE_RATES).await;
    let orders =
        [paid_order(&app, &first, "FOLD_1", "100.00").await, paid_order(&app, &first, "FOLD_2", "20.00").await];
    let viewer = signed_in(&app, "victor", Role::Viewer).await;
    let today = china_date(0);
    let path = format!("/admin/ledger/commission?from={today}&to={today}");
    let net_shown = async || {
        let (status, page) = get(&app, &viewer, &path).await;
        assert_eq!(status, StatusCode::OK);
        cell(row(&page, &format!("<tr data-date=\"{today}\"")), r#"data-figure="net""#)
    };
    let expected = yuan(orders.iter().map(|order| order.liquidator_commission_fen.fen()).sum());
    assert_eq!(net_shown().await, expected, "right away, folded or not");

    let started = std::time::Instant::now();
    let merchant = first.merchant_id;
    let folded_row = format!(
        "SELECT count(*) AS count FROM ledger_merchant_days WHERE merchant_id = {merchant} AND paid_orders = 2"
    );
    while count(&app, "SELECT count(*) AS count FROM ledger_unfolded_entries") > 0 || count(&app, &folded_row) != 1 {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the workers fold within 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(net_shown().await, expected, "after the fold");
    assert_eq!(ledger::rollups::differences(&mut app.database.connection(), 10).expect("compared"), []);
}
