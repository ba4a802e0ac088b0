//! The operators page and the audit log: changes are made, audited, and refused when unsafe.
use e2e::{PASSWORD, new_client, spawn_app};
use reqwest::StatusCode;
use storage::operators::Role;

#[tokio::test]
async fn an_admin_creates_promotes_disables_and_enables_an_operator_and_all_is_audited() {
    let app = spawn_app().await;
    app.sign_in_as("root", Role::Admin).await;
    let created = app
        .post_form(
            "/admin/operators",
            &[("username", "Carol"), ("password", "a-long-enough-password"), ("role", "operator")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let operators = app.operators().await;
    let carol = operators.iter().find(|o| o.username == "carol").expect("usernames are stored lower-case");
    assert_eq!(carol.role, Role::Operator);

    let id = carol.id;
    assert_eq!(
        app.post_form(&format!("/admin/operators/{id}/role"), &[("role", "finance")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.post_form(&format!("/admin/operators/{id}/disable"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.post_form(&format!("/admin/operators/{id}/enable"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.login_with(&new_client(), "carol", "a-long-enough-password").await.status(), StatusCode::SEE_OTHER);

    let (status, audit) = app.get_text("/admin/audit?target=carol").await;
    assert_eq!(status, StatusCode::OK);
    for action in ["operator.create", "operator.change_role", "operator.disable", "operator.enable", "session.sign_in"]
    {
        assert!(audit.contains(action), "{action} is in the audit log");
    }
    let audit = e2e::unescape(&audit);
    assert!(
        audit.contains(r#"{"role":"operator"}"#) && audit.contains(r#"{"role":"finance"}"#),
        "before and after are shown"
    );
    let (_, filtered) = app.get_text("/admin/audit?action=operator.disable").await;
    assert!(filtered.contains("operator.disable") && !filtered.contains("operator.enable"));
}

#[tokio::test]
async fn invalid_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let root = app.sign_in_as("root", Role::Admin).await;
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("/admin/operators", &[("username", "x"), ("password", "a-long-enough-password"), ("role", "viewer")]),
        ("/admin/operators", &[("username", "eve"), ("password", "short"), ("role", "viewer")]),
        ("/admin/operators", &[("username", "eve"), ("password", "a-long-enough-password"), ("role", "superuser")]),
        ("/admin/operators", &[("username", "eve")]),
        ("/admin/operators", &[("username", "root"), ("password", "a-long-enough-password"), ("role", "viewer")]),
        ("/admin/operators/999999/role", &[("role", "admin")]),
        ("/admin/operators/not-a-number/role", &[("role", "admin")]),
    ];
    for (path, fields) in cases {
        let response = app.post_form(path, fields).await;
        assert!(response.status().is_client_error(), "{path} {fields:?} → {}", response.status());
    }
    let operators = app.operators().await;
    assert_eq!(operators.len(), 1);
    assert_eq!(operators[0].id, root);
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_disabled_and_nobody_disables_themselves() {
    let app = spawn_app().await;
    let root = app.sign_in_as("root", Role::Admin).await;
    let demote = app.post_form(&format!("/admin/operators/{root}/role"), &[("role", "viewer")]).await;
    assert_eq!(demote.status(), StatusCode::BAD_REQUEST);
    assert!(demote.text().await.unwrap().contains("no active admin"));
    let disable = app.post_form(&format!("/admin/operators/{root}/disable"), &[]).await;
    assert_eq!(disable.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/admin/operators").await.status(), StatusCode::OK, "still an admin");

    let other = app.create_operator("second", Role::Admin).await;
    assert_eq!(app.post_form(&format!("/admin/operators/{other}/disable"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.login_with(&new_client(), "second", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_audit_log_pages_with_a_keyset_cursor() {
    let app = spawn_app().await;
    app.sign_in_as("root", Role::Admin).await;
    for n in 0..60 {
        app.create_operator(&format!("user{n:02}"), Role::Viewer).await;
    }
    let (_, first) = app.get_text("/admin/audit?action=operator.create").await;
    assert!(first.contains("operator:user59") && !first.contains("operator:user09<"), "newest first, 50 per page");
    let marker = "href=\"/admin/audit?";
    let start = first.find(marker).expect("a next-page link") + marker.len();
    let query = e2e::unescape(&first[start..first[start..].find('"').unwrap() + start]);
    let (_, second) = app.get_text(&format!("/admin/audit?{query}")).await;
    assert!(second.contains("operator:user09<") && !second.contains("operator:user59<"));
}
