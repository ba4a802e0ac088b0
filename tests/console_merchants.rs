//! The sub-merchant pages of the console against the real server and database: the application
//! form, the review walk from draft to approval (with the micro-deposit sent by the server's own
//! workers), masking and the audited reveal, keys, and rates.
use domain::MerchantId;
use std::ops::Not;

use chrono::{Duration, FixedOffset, Utc};
use e2e::{PASSWORD, TestApp, application_form, rsa_key_pair_pem, spawn_app, unescape};
use reqwest::{Response, StatusCode};
use storage::{audit, database::run_blocking, operators::Role};

const ACCOUNT_NUMBER: &str = "6222021234567890128";
const CREDIT_CODE: &str = "91350100M000100Y43";
const MOBILE: &str = "13800138000";

fn location(response: &Response) -> String {
    response.headers().get("location").expect("a redirect").to_str().unwrap().to_string()
}

/// The merchant id a "created" redirect leads to.
fn created_id(response: &Response) -> MerchantId {
    let target = location(response);
    assert!(target.starts_with("/admin/merchants/") && target.ends_with("?notice=created"), "{target}");
    target["/admin/merchants/".len()..target.find('?').unwrap()].parse().unwrap()
}

/// The page's text with askama's escaping undone.
async fn page(app: &TestApp, path: &str) -> String {
    let (status, body) = app.get_text(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    unescape(&body)
}

async fn body(response: Response) -> String {
    unescape(&response.text().await.unwrap())
}

/// Posts the form on a merchant's page and expects the redirect back to it with `notice`.
async fn act(app: &TestApp, id: MerchantId, action: &str, fields: &[(&str, &str)], notice: &str) {
    let response = app.post_form(&format!("/admin/merchants/{id}/{action}"), fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}: {}", body(response).await);
    assert_eq!(location(&response), format!("/admin/merchants/{id}?notice={notice}"), "{action}");
}

async fn merchant_count(app: &TestApp) -> usize {
    run_blocking(&app.pool, |conn| storage::merchants::list(conn, &Default::default(), 100)).await.unwrap().len()
}

/// A time in the form's format (China time), `days` from now.
fn china_time_in(days: i64) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    (Utc::now() + Duration::days(days)).with_timezone(&offset).format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn an_application_is_created_through_the_form_and_listed() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let form = page(&app, "/admin/merchants/new").await;
    for field in ["legal_name", "unified_social_credit_code", "account_number", "payout_cutoff", "submit_now"] {
        assert!(form.contains(&format!("name=\"{field}\"")), "the form has {field}");
    }
    assert!(form.contains("value=\"gambling\"").not(), "prohibited categories are not offered");

    let mut fields = application_form();
    fields.push(("submit_now", "on"));
    let created = app.post_form("/admin/merchants", &fields).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let id = created_id(&created);
    assert_eq!(app.merchant(id).await.state.as_str(), "submitted", "submitted at once");

    let list = page(&app, "/admin/merchants").await;
    assert!(list.contains("示例科技") && list.contains("厦门示例科技有限公司"), "listed");
    assert!(list.contains(&format!("href=\"/admin/merchants/{id}\"")));
    let searched = page(&app, &format!("/admin/merchants?q={CREDIT_CODE}")).await;
    assert!(searched.contains("示例科技"), "found by credit code");
    assert!(page(&app, "/admin/merchants?q=nobody").await.contains("示例科技").not(), "search filters");
    assert!(page(&app, "/admin/merchants?state=approved").await.contains("厦门示例").not(), "state tab filters");
    assert!(page(&app, "/admin/merchants?state=submitted").await.contains("厦门示例"));
    assert_eq!(app.get("/admin/merchants?state=nonsense").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_invalid_application_comes_back_with_each_problem_and_stores_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let fields: Vec<(&str, &str)> = application_form()
        .into_iter()
        .map(|(name, value)| match name {
            "unified_social_credit_code" => (name, "91350100M000100Y44"),
            "contact_mobile" => (name, "12345"),
            "business_category" => (name, "gambling"),
            "legal_representative" => (name, ""),
            _ => (name, value),
        })
        .collect();
    let refused = app.post_form("/admin/merchants", &fields).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = body(refused).await;
    for (field, message) in [
        ("unified_social_credit_code", "wrong check character (expected 3)"),
        ("contact_mobile", "mobile"),
        ("business_category", "prohibited: gambling"),
        ("legal_representative", "is required"),
    ] {
        let marker = format!("id=\"error-{field}\">");
        let start = html.find(&marker).unwrap_or_else(|| panic!("no message next to {field}")) + marker.len();
        assert!(html[start..].split('<').next().unwrap().contains(message), "{field}: {}", &html[start..start + 120]);
    }
    assert!(html.contains("value=\"厦门示例科技有限公司\""), "what was entered is kept");
    assert!(html.contains("value=\"91350100M000100Y44\""), "including the wrong value");
    assert_eq!(html.matches("class=\"field-error\"").count(), 4, "only the bad fields are marked");
    assert_eq!(merchant_count(&app).await, 0, "nothing stored");

    // A refusal that names a field: the external id is taken.
    app.create_merchant("isv-001", false).await;
    let duplicate = app.post_form("/admin/merchants", &application_form()).await;
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    assert!(body(duplicate).await.contains("id=\"error-external_id\">external_id is already used"));
    assert_eq!(merchant_count(&app).await, 1);
}

#[tokio::test]
async fn an_application_walks_from_draft_to_approval() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let created = app.post_form("/admin/merchants", &application_form()).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let id = created_id(&created);
    assert_eq!(app.merchant(id).await.state.as_str(), "draft");

    let draft = page(&app, &format!("/admin/merchants/{id}")).await;
    assert!(draft.contains("id=\"do-submit\"") && draft.contains("id=\"do-approve\"").not(), "only legal actions");
    act(&app, id, "transition", &[("transition", "submit")], "updated").await;
    act(&app, id, "verification", &[], "verification_started").await;
    assert_eq!(app.merchant(id).await.state.as_str(), "verifying_account");

    let deposit = app.wait_for_micro_deposit(id).await;
    assert_eq!(deposit.state.as_str(), "sent");
    let shown = page(&app, &format!("/admin/merchants/{id}")).await;
    assert!(shown.contains("id=\"answer-form\""), "the amount can be entered once it is sent");

    let right = deposit.amount_fen.to_string();
    let wrong = domain::Amount::from_fen(if deposit.amount_fen.fen() == 1 { 2 } else { 1 }).to_string();
    act(&app, id, "verification/answer", &[("amount", wrong.as_str())], "wrong_answer&remaining=2").await;
    let after_wrong = page(&app, &format!("/admin/merchants/{id}?notice=wrong_answer&remaining=2")).await;
    assert!(after_wrong.contains("金额不正确。剩余尝试次数: 2"), "remaining tries shown");
    let unreadable = app.post_form(&format!("/admin/merchants/{id}/verification/answer"), &[("amount", "abc")]).await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    assert!(body(unreadable).await.contains("amount is not a decimal number"));

    act(&app, id, "verification/answer", &[("amount", right.as_str())], "verified").await;
    assert_eq!(app.merchant(id).await.state.as_str(), "in_review");

    act(&app, id, "approve", &[], "approved").await;
    let merchant = app.merchant(id).await;
    assert_eq!(merchant.row.state.as_str(), "approved");
    let sub_merchant_id = merchant.row.sub_merchant_id.unwrap();
    let app_id = run_blocking(&app.pool, move |conn| storage::apps::find_by_merchant(conn, id)).await.unwrap().unwrap();
    let approved = page(&app, &format!("/admin/merchants/{id}?notice=approved")).await;
    assert!(approved.contains(&sub_merchant_id), "the sub-merchant id is shown");
    assert!(approved.contains(&format!("id=\"app-id\">{}", app_id.app_id)), "the app id is shown");
    for step in ["提交审核", "发起打款验证", "账户验证通过", "审核通过"] {
        assert!(approved.contains(step), "history shows {step}");
    }
    assert!(approved.contains("id=\"do-freeze\"") && approved.contains("id=\"do-close\"").not(), "close is admin only");

    // Freeze needs a reason; unfreeze does not.
    let no_reason = app.post_form(&format!("/admin/merchants/{id}/transition"), &[("transition", "freeze")]).await;
    assert_eq!(no_reason.status(), StatusCode::BAD_REQUEST);
    act(&app, id, "transition", &[("transition", "freeze"), ("reason", "risk review")], "updated").await;
    act(&app, id, "transition", &[("transition", "unfreeze")], "updated").await;
    assert_eq!(app.merchant(id).await.state.as_str(), "approved");
    let closing =
        app.post_form(&format!("/admin/merchants/{id}/transition"), &[("transition", "close"), ("reason", "x")]).await;
    assert_eq!(closing.status(), StatusCode::FORBIDDEN, "an operator cannot close");
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_records_it() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let id = app.merchant_in_review("isv-001").await;
    let refused = app.post_form(&format!("/admin/merchants/{id}/transition"), &[("transition", "reject")]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = body(refused).await;
    assert!(html.contains("id=\"alert\">a reason is required"), "the refusal is shown on the page");
    assert_eq!(app.merchant(id).await.state.as_str(), "in_review", "nothing changed");
    let blank = app
        .post_form(&format!("/admin/merchants/{id}/transition"), &[("transition", "reject"), ("reason", "  ")])
        .await;
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST, "a blank reason is no reason");

    let reason = format!("营业执照已过期 {}", e2e::HOSTILE_TEXT);
    act(&app, id, "transition", &[("transition", "reject"), ("reason", &reason)], "updated").await;
    assert_eq!(app.merchant(id).await.state.as_str(), "rejected");
    let rejected = page(&app, &format!("/admin/merchants/{id}")).await;
    let (_, raw) = app.get_text(&format!("/admin/merchants/{id}")).await;
    assert!(e2e::shows_escaped(&raw, &reason), "the reason is in the history, escaped");
    assert!(rejected.contains("id=\"do-approve\"").not(), "a rejected application cannot be approved");
    let again = app.post_form(&format!("/admin/merchants/{id}/approve"), &[]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(body(again).await.contains("cannot approve an application that is rejected"));
}

#[tokio::test]
async fn sensitive_fields_are_masked_and_only_an_admin_reveals_them_on_the_record() {
    let app = spawn_app().await;
    for (name, role) in [("vera", Role::Viewer), ("olivia", Role::Operator), ("fiona", Role::Finance)] {
        app.create_operator(name, role).await;
    }
    app.sign_in_as("ada", Role::Admin).await;
    let (id, _) = app.approved_merchant("isv-001").await;
    let path = format!("/admin/merchants/{id}");

    for name in ["vera", "olivia", "fiona", "ada"] {
        app.login(name, PASSWORD).await;
        let html = page(&app, &path).await;
        for secret in [ACCOUNT_NUMBER, CREDIT_CODE, MOBILE] {
            assert!(!html.contains(secret), "{name} does not see {secret} in full");
        }
        for masked in ["6222***********0128", "9135**********0Y43", "138****8000"] {
            assert!(html.contains(masked), "{name} sees {masked}");
        }
        assert!(!page(&app, "/admin/merchants").await.contains(CREDIT_CODE), "nor in the list");
        assert_eq!(html.contains("id=\"reveal\""), name == "ada", "{name}: only admins are offered the reveal");
        let manages = html.contains(&format!("action=\"/admin/merchants/{id}/transition\""));
        assert_eq!(manages, matches!(name, "olivia" | "ada"), "{name}: review actions only for those who may");
    }

    app.login("olivia", PASSWORD).await;
    assert_eq!(app.post_form(&format!("{path}/reveal"), &[]).await.status(), StatusCode::FORBIDDEN);
    let reveals = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let filter = audit::Filter { action: Some("merchant.reveal".into()), ..Default::default() };
            run_blocking(&pool, move |conn| audit::list(conn, &filter, 10)).await.unwrap()
        }
    };
    assert!(reveals(&app).await.is_empty(), "a refused reveal writes nothing");

    app.login("ada", PASSWORD).await;
    let revealed = app.post_form(&format!("{path}/reveal"), &[]).await;
    assert_eq!(revealed.status(), StatusCode::OK);
    assert_eq!(revealed.headers()["cache-control"], "no-store");
    let html = body(revealed).await;
    for secret in [ACCOUNT_NUMBER, CREDIT_CODE, MOBILE] {
        assert!(html.contains(secret), "the admin sees {secret}");
    }
    let entries = reveals(&app).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].actor.as_str(), entries[0].target.clone()), ("ada", format!("merchant:{id}")));
    assert!(!page(&app, &path).await.contains(ACCOUNT_NUMBER), "shown once: the next view is masked again");
}

#[tokio::test]
async fn the_micro_deposit_amount_is_shown_to_admins_only() {
    let app = spawn_app().await;
    app.create_operator("olivia", Role::Operator).await;
    app.sign_in_as("ada", Role::Admin).await;
    let id = app.verifying_merchant("isv-001").await;
    let deposit = app.wait_for_micro_deposit(id).await;
    let amount = format!("<span class=\"amount\">{}</span>", deposit.amount_fen);
    let path = format!("/admin/merchants/{id}");
    assert!(page(&app, &path).await.contains(&amount), "the admin sees the amount");
    app.login("olivia", PASSWORD).await;
    let html = page(&app, &path).await;
    assert!(html.contains("id=\"micro-deposits\""), "the operator sees the attempt");
    assert!(!html.contains("class=\"amount\""), "but not its amount");
    assert!(html.contains("id=\"answer-form\""), "and may enter what the merchant reports");
}

#[tokio::test]
async fn keys_are_checked_and_rotated() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let (id, app_row) = app.approved_merchant("isv-001").await;
    let add = |pem: String| {
        let app = &app;
        async move { app.post_form(&format!("/admin/merchants/{id}/keys"), &[("public_key", pem.as_str())]).await }
    };
    let (first, private) = rsa_key_pair_pem(2048);
    let response = add(first.clone()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/merchants/{id}?notice=key_added"));

    for (pem, reason) in [
        (rsa_key_pair_pem(1024).0, "the key is 1024 bits; at least 2048 are required"),
        ("garbage".to_string(), "not a PEM public key"),
        (private, "this is a private key"),
    ] {
        let refused = add(pem).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(body(refused).await.contains(reason), "refused with {reason:?}");
    }

    let second = rsa_key_pair_pem(2048).0;
    assert_eq!(add(second).await.status(), StatusCode::SEE_OTHER);
    let third = rsa_key_pair_pem(2048).0;
    let refused = add(third.clone()).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = body(refused).await;
    assert!(html.contains("at most two active keys; revoke one first"));
    assert!(html.contains(third.trim()), "the refused key is kept in the form");

    let keys = run_blocking(&app.pool, move |conn| storage::apps::keys(conn, app_row)).await.unwrap();
    let oldest = keys.iter().min_by_key(|key| key.id).unwrap();
    assert!(page(&app, &format!("/admin/merchants/{id}")).await.contains(&oldest.fingerprint));
    act(&app, id, &format!("keys/{}/revoke", oldest.id), &[], "key_revoked").await;
    assert_eq!(add(third).await.status(), StatusCode::SEE_OTHER, "a freed slot takes the new key");
    let active = run_blocking(&app.pool, move |conn| storage::apps::active_keys(conn, app_row)).await.unwrap();
    assert_eq!(active.len(), 2);
    assert!(page(&app, &format!("/admin/merchants/{id}")).await.contains("已吊销"), "the revoked key stays listed");

    act(&app, id, "sign-type", &[("sign_type", "RSA")], "sign_type").await;
    let stored = run_blocking(&app.pool, move |conn| storage::apps::find(conn, app_row)).await.unwrap().unwrap();
    assert_eq!(stored.sign_type.as_str(), "RSA");
    let bad = app.post_form(&format!("/admin/merchants/{id}/sign-type"), &[("sign_type", "MD5")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_plans_are_versioned_and_merchants_change_rates() {
    let app = spawn_app().await;
    app.sign_in_as("olivia", Role::Operator).await;
    let rates = [("bank_commission_rate", "0.00030"), ("pay_platform_rate", "0.00200")];
    // The plan's name is free text: kept as typed and shown escaped.
    let name = e2e::HOSTILE_TEXT.to_string();
    let mut plan = vec![("code", "standard"), ("name", name.as_str()), ("liquidator_commission_rate", "0.00100")];
    plan.extend(rates);
    let created = app.post_form("/admin/rate-plans", &plan).await;
    assert_eq!(
        (created.status(), location(&created)),
        (StatusCode::SEE_OTHER, "/admin/rate-plans?notice=created".into())
    );
    let duplicate = app.post_form("/admin/rate-plans", &plan).await;
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    assert!(body(duplicate).await.contains("a rate plan with this code already exists"));

    let next_month = china_time_in(30);
    let mut version = vec![("liquidator_commission_rate", "0.00300"), ("effective_from", next_month.as_str())];
    version.extend(rates);
    let added = app.post_form("/admin/rate-plans/standard/versions", &version).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (_, raw) = app.get_text("/admin/rate-plans").await;
    assert!(e2e::shows_escaped(&raw, &name), "the plan's name as typed, escaped");
    let html = page(&app, "/admin/rate-plans").await;
    let section = &html[html.find("id=\"plan-standard\"").unwrap()..];
    assert!(section.contains("0.00100") && section.contains("0.00300"), "both versions with five decimals");
    assert!(section.contains("生效中") && section.contains("待生效"), "which one is in force now");

    let mut invalid = vec![("liquidator_commission_rate", "0.000001")];
    invalid.extend(rates);
    let refused = app.post_form("/admin/rate-plans/standard/versions", &invalid).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(body(refused).await.contains("liquidator_commission_rate: rate has more than five decimal places"));
    let past = [("bank_commission_rate", "0"), ("pay_platform_rate", "0"), ("liquidator_commission_rate", "0")];
    let mut in_the_past = past.to_vec();
    let last_year = china_time_in(-365);
    in_the_past.push(("effective_from", last_year.as_str()));
    let refused = app.post_form("/admin/rate-plans/standard/versions", &in_the_past).await;
    assert!(body(refused).await.contains("not in the past"));

    // A merchant on its own rates moves to the plan now, and to new own rates next month.
    let id = app.create_merchant("isv-001", false).await;
    let path = format!("/admin/merchants/{id}");
    assert!(page(&app, &path).await.contains("0.00030"), "its own rates are in force");
    act(&app, id, "rates", &[("rate_plan", "standard")], "rates").await;
    let html = page(&app, &path).await;
    let in_force = &html[html.find("id=\"rates-in-force\"").unwrap()..html.find("id=\"rate-history\"").unwrap()];
    assert!(in_force.contains("<td>standard</td>") && in_force.contains("0.00100"), "the plan is in force");

    let mut own =
        vec![("rate_plan", ""), ("liquidator_commission_rate", "0.00150"), ("effective_from", next_month.as_str())];
    own.extend(rates);
    act(&app, id, "rates", &own, "rates").await;
    let html = page(&app, &path).await;
    let history = &html[html.find("id=\"rate-history\"").unwrap()..];
    assert!(history.contains("0.00150") && history.contains("待生效") && history.contains("已失效"));

    let both =
        app.post_form(&format!("{path}/rates"), &[("rate_plan", "standard"), ("bank_commission_rate", "0.1")]).await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST, "a plan or own rates, not both");
    let too_much = app
        .post_form(
            &format!("{path}/rates"),
            &[("bank_commission_rate", "0.5"), ("pay_platform_rate", "0.5"), ("liquidator_commission_rate", "0")],
        )
        .await;
    assert_eq!(too_much.status(), StatusCode::BAD_REQUEST);
    assert!(body(too_much).await.contains("together are not below one"));
}

#[tokio::test]
async fn the_settings_page_offers_the_platform_key() {
    let app = spawn_app().await;
    app.sign_in_as("vera", Role::Viewer).await;
    let html = page(&app, "/admin/settings").await;
    assert!(html.contains("-----BEGIN PUBLIC KEY-----"));
    assert!(
        html.contains("href=\"/gateway/platform-key\"")
            && html.contains("href=\"/gateway/platform-key?format=base64\"")
    );
    let downloaded = app.get("/gateway/platform-key").await.text().await.unwrap();
    assert!(html.contains(downloaded.trim()), "the page shows the key the gateway serves");
}
