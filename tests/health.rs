//! `/healthz`, `/readyz` and `/metrics`, with Redis up and with Redis unreachable.
use e2e::{spawn_app, spawn_app_with};
use secrecy::SecretString;

/// A port where nothing listens, so Redis is "down" for this app.
fn unreachable_redis(settings: &mut server::Settings) {
    settings.redis.url = SecretString::from("redis://127.0.0.1:1");
}

#[tokio::test]
async fn healthz_and_readyz_with_every_dependency_up() {
    let app = spawn_app().await;
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"), "every response names its request");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ready", "database": "up", "redis": "up"}));
}

#[tokio::test]
async fn without_redis_the_server_starts_serves_and_reports_degradation() {
    let app = spawn_app_with(unreachable_redis).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200, "still ready to serve: the database is the system of record");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "degraded", "database": "up", "redis": "down"}));

    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("liquidator_redis_up 0"), "{metrics}");
    assert!(metrics.contains("liquidator_database_up 1"), "{metrics}");

    let (status, page) = app.get_text("/admin/login").await;
    assert_eq!(status, 200, "the console still works");
    assert!(page.contains("csrf_token"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/admin/operators/12345/nothing").await;
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"liquidator_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("liquidator_redis_up 1"));
    assert!(metrics.contains("liquidator_jobs_pending"));
    assert!(!metrics.contains("12345"), "raw paths never become labels");
}

async fn readiness(app: &e2e::TestApp) -> String {
    let body: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    body["status"].as_str().unwrap().to_string()
}

async fn wait_for_readiness(app: &e2e::TestApp, wanted: &str) -> bool {
    for _ in 0..100 {
        if readiness(app).await == wanted {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_server_reconnects_to_redis_by_itself() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app =
        spawn_app_with(|settings| settings.redis.url = SecretString::from(format!("redis://127.0.0.1:{port}"))).await;
    assert_eq!(readiness(&app).await, "degraded");

    let redis = e2e::redis::OwnRedis::start(port).await;
    assert!(wait_for_readiness(&app, "ready").await, "Redis came up: the server uses it without a restart");

    drop(redis);
    assert!(wait_for_readiness(&app, "degraded").await, "Redis went away: reported, still serving");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn the_platform_key_is_served_as_pem_and_as_one_line() {
    let app = spawn_app().await;
    let (status, pem) = app.get_text("/gateway/platform-key").await;
    assert_eq!(status, 200);
    let key =
        <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(&pem).expect("a PEM RSA public key");
    assert_eq!(rsa::traits::PublicKeyParts::n(&key).bits(), 2048);
    let (_, one_line) = app.get_text("/gateway/platform-key?format=base64").await;
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    assert_eq!(one_line, body);
    assert_eq!(app.get("/gateway/platform-key?format=der").await.status(), 400);
}
