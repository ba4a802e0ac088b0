//! Sign-in, sessions, throttling and CSRF, through the real server.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use e2e::{PASSWORD, csrf_token, new_client, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use secrecy::SecretString;
use storage::operators::Role;

#[tokio::test]
async fn an_operator_signs_in_and_sees_the_dashboard() {
    let app = spawn_app().await;
    app.create_operator("alice", Role::Viewer).await;
    let response = app.login("alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin");
    let session_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("liq_session="))
        .expect("the session cookie is set")
        .to_string();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Strict"), "{session_cookie}");
    let (status, page) = app.get_text("/admin").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<strong id="current-user">alice</strong>"#));
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_are_refused_alike() {
    let app = spawn_app().await;
    app.create_operator("alice", Role::Admin).await;
    let wrong = app.login("alice", "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_page = wrong.text().await.unwrap();
    let unknown = app.login("nobody", "not-the-password").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_page.contains("用户名或密码错误"));
    assert!(unknown.text().await.unwrap().contains("用户名或密码错误"));
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER, "still signed out");
}

#[tokio::test]
async fn a_disabled_operator_cannot_sign_in() {
    let app = spawn_app().await;
    let admin_id = app.sign_in_as("root", Role::Admin).await;
    let bob = app.create_operator("bob", Role::Operator).await;
    assert_ne!(admin_id, bob);
    assert_eq!(app.post_form(&format!("/admin/operators/{bob}/disable"), &[]).await.status(), StatusCode::SEE_OTHER);
    let response = app.login_with(&new_client(), "bob", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn failures_then_lockout(app: &e2e::TestApp) {
    app.create_operator("alice", Role::Admin).await;
    for _ in 0..5 {
        assert_eq!(app.login("alice", "wrong-password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login("alice", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits out the window");
    assert!(locked.text().await.unwrap().contains("登录失败次数过多"));
}

#[tokio::test]
async fn repeated_failures_lock_the_username() {
    let app = spawn_app().await;
    failures_then_lockout(&app).await;
}

#[tokio::test]
async fn throttling_falls_back_to_the_database_when_redis_is_down() {
    let app = spawn_app_with(|settings| settings.redis.url = SecretString::from("redis://127.0.0.1:1")).await;
    failures_then_lockout(&app).await;
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let app = spawn_app().await;
    app.create_operator("alice", Role::Admin).await;
    for _ in 0..4 {
        app.login("alice", "wrong-password!").await;
    }
    assert_eq!(app.login("alice", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    for _ in 0..4 {
        app.login_with(&new_client(), "alice", "wrong-password!").await;
    }
    assert_eq!(app.login_with(&new_client(), "alice", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

fn session_secret(app: &e2e::TestApp) -> Vec<u8> {
    use diesel::prelude::*;
    use storage::schema::platform_settings::dsl::*;
    let mut conn = app.database.connection();
    platform_settings.find("console.session_secret").select(value).first::<String>(&mut conn).unwrap().into_bytes()
}

async fn request_with_token(app: &e2e::TestApp, token: &str) -> StatusCode {
    new_client().get(app.url("/admin")).header("Cookie", format!("liq_session={token}")).send().await.unwrap().status()
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_sent_to_sign_in() {
    let app = spawn_app().await;
    let id = app.create_operator("alice", Role::Admin).await;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |iat: u64, exp: u64| serde_json::json!({ "sub": id.to_string(), "iat": iat, "exp": exp, "csrf": "x", "epoch": 0 });

    let no_cookie = new_client().get(app.url("/admin/operators")).send().await.unwrap();
    assert_eq!(no_cookie.status(), StatusCode::SEE_OTHER);
    assert_eq!(no_cookie.headers()["location"], "/admin/login?next=%2Fadmin%2Foperators");

    let secret = session_secret(&app);
    let valid = encode(&Header::default(), &claims(now, now + 600), &EncodingKey::from_secret(&secret)).unwrap();
    assert_eq!(request_with_token(&app, &valid).await, StatusCode::OK, "a correctly signed token works");

    let forged = encode(
        &Header::default(),
        &claims(now, now + 600),
        &EncodingKey::from_secret(b"guessed-secret-guessed-secret-!!"),
    )
    .unwrap();
    assert_eq!(request_with_token(&app, &forged).await, StatusCode::SEE_OTHER);

    let expired =
        encode(&Header::default(), &claims(now - 7200, now - 3600), &EncodingKey::from_secret(&secret)).unwrap();
    assert_eq!(request_with_token(&app, &expired).await, StatusCode::SEE_OTHER);

    let stale_epoch = encode(
        &Header::default(),
        &serde_json::json!({ "sub": id.to_string(), "iat": now, "exp": now + 600, "csrf": "x", "epoch": 7 }),
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    assert_eq!(request_with_token(&app, &stale_epoch).await, StatusCode::SEE_OTHER);

    assert_eq!(request_with_token(&app, "not.a.jwt").await, StatusCode::SEE_OTHER);

    // The same claims unsigned (`alg: none`), and signed with the right secret under another
    // algorithm: only HS256 is believed.
    let segment = |value: serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let unsigned =
        format!("{}.{}.", segment(serde_json::json!({ "alg": "none", "typ": "JWT" })), segment(claims(now, now + 600)));
    assert_eq!(request_with_token(&app, &unsigned).await, StatusCode::SEE_OTHER, "alg none");
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let other =
            encode(&Header::new(algorithm), &claims(now, now + 600), &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(request_with_token(&app, &other).await, StatusCode::SEE_OTHER, "{algorithm:?}");
    }
    // A valid token whose claims are changed (another operator, a later expiry) keeps the old
    // signature: refused.
    let other_id = app.create_operator("bob", Role::Viewer).await;
    let (header, _) = valid.split_once('.').unwrap();
    let signature = valid.rsplit_once('.').unwrap().1;
    for changed in [
        serde_json::json!({ "sub": other_id.to_string(), "iat": now, "exp": now + 600, "csrf": "x", "epoch": 0 }),
        claims(now, now + 86_400 * 365),
    ] {
        let tampered = format!("{header}.{}.{signature}", segment(changed));
        assert_eq!(request_with_token(&app, &tampered).await, StatusCode::SEE_OTHER, "tampered");
    }
    // The cookie with the signature cut off, or with nothing but dots.
    assert_eq!(request_with_token(&app, valid.rsplit_once('.').unwrap().0).await, StatusCode::SEE_OTHER);
    assert_eq!(request_with_token(&app, "..").await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_revokes_the_token_everywhere() {
    let app = spawn_app().await;
    app.sign_in_as("alice", Role::Admin).await;
    let (_, page) = app.get_text("/admin").await;
    let token = csrf_token(&page).unwrap();
    // Another device holding the same session.
    let stolen = app.client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::OK);
    let response =
        app.client.post(app.url("/admin/logout")).form(&[("csrf_token", token.as_str())]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER);
    // Signing in again works and gives a fresh session.
    assert_eq!(app.login("alice", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("alice", Role::Admin).await;
    let create = [("username", "mallory"), ("password", "a-long-enough-password"), ("role", "admin")];

    let missing = app.client.post(app.url("/admin/operators")).form(&create).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let mut wrong = create.to_vec();
    wrong.push(("csrf_token", "forged-token"));
    let wrong = app.client.post(app.url("/admin/operators")).form(&wrong).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let (_, page) = app.get_text("/admin/operators").await;
    assert!(!page.contains("mallory"), "no operator was created");
    assert_eq!(
        app.post_form("/admin/operators", &create).await.status(),
        StatusCode::SEE_OTHER,
        "with the token it works"
    );
    let (_, page) = app.get_text("/admin/operators").await;
    assert!(page.contains("mallory"));
}

#[tokio::test]
async fn the_sign_in_form_needs_its_csrf_cookie() {
    let app = spawn_app().await;
    app.create_operator("alice", Role::Admin).await;
    let response = new_client()
        .post(app.url("/admin/login"))
        .form(&[("username", "alice"), ("password", PASSWORD), ("csrf_token", "made-up")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn malformed_sign_in_bodies_get_a_clear_400() {
    let app = spawn_app().await;
    let response = new_client()
        .post(app.url("/admin/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("username=%ZZ&&&password")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("the form could not be read"));
}

#[tokio::test]
async fn only_console_paths_are_followed_after_sign_in() {
    let app = spawn_app().await;
    app.create_operator("alice", Role::Admin).await;
    let client = new_client();
    let page =
        client.get(app.url("/admin/login?next=https://evil.example/")).send().await.unwrap().text().await.unwrap();
    let token = csrf_token(&page).unwrap();
    let response = client
        .post(app.url("/admin/login"))
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/admin");
}
