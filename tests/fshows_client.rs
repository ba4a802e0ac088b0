//! The fshows client (`channel::fshows`) against a second instance of this platform: the real
//! server, its own database, whose gateway speaks the fshows protocol. The provider's app there
//! signs with SHA1withRSA as fshows requires; replies are believed only when that instance's
//! platform key signed them.
use std::time::Duration;

use channel::{
    fshows::{CallError, FshowsClient, FshowsSettings},
    health::BreakerSettings,
};
use domain::onboarding::SignType;
use fshows::signature::{Signer, VerifyingKeys};
use serde_json::json;

const BALANCE: &str = "fshows.liquidation.witness.balance.query";

fn client(url: String, app_id: &str, key: &rsa::RsaPrivateKey, upstream: rsa::RsaPublicKey) -> FshowsClient {
    FshowsClient::new(FshowsSettings {
        url,
        app_id: app_id.to_string(),
        signer: Signer::new(key.clone()).expect("a signer"),
        upstream_keys: VerifyingKeys::new(upstream, None),
        timeout: Duration::from_secs(2),
        breaker: BreakerSettings {
            failures_in_a_row: 2,
            open_for: Duration::from_secs(30),
            max_open: Duration::from_secs(60),
        },
    })
    .expect("a client")
}

#[tokio::test]
async fn the_client_calls_a_second_instance_and_believes_only_what_it_signed() {
    let upstream = e2e::spawn_app().await;
    let (sub_merchant_id, app) = upstream.merchant_client("provider-on-upstream", SignType::Rsa, None).await;
    let upstream_key = upstream.platform_key().await;
    let fshows = client(upstream.url("/gateway"), &app.app_id, &app.private_key, upstream_key.clone());

    let balance = fshows.call(BALANCE, &json!({ "sub_merchant_id": sub_merchant_id }), false).await.expect("answered");
    assert_eq!(balance["available_balance"], json!(0.0), "{balance}");
    let refused = fshows.call(BALANCE, &json!({ "sub_merchant_id": "20990101000000000001" }), false).await;
    assert!(matches!(&refused, Err(CallError::Refused { code, .. }) if code == "-203"), "{refused:?}");

    // The reply of an instance whose key we do not hold is not believed, whatever it says.
    let stranger = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("a key");
    let doubting = client(upstream.url("/gateway"), &app.app_id, &app.private_key, stranger.to_public_key());
    let unbelieved = doubting.call(BALANCE, &json!({ "sub_merchant_id": sub_merchant_id }), false).await;
    assert!(matches!(&unbelieved, Err(CallError::Unknown(why)) if why.contains("not signed")), "{unbelieved:?}");

    // A request signed with a key the upstream does not know is refused there (and signed: believed).
    let impostor = client(upstream.url("/gateway"), &app.app_id, &stranger, upstream_key.clone());
    let refused = impostor.call(BALANCE, &json!({ "sub_merchant_id": sub_merchant_id }), false).await;
    assert!(matches!(&refused, Err(CallError::Refused { .. })), "{refused:?}");

    let report = fshows.health().report();
    let balance_query = report.iter().find(|method| method.method == BALANCE).expect("counted");
    assert_eq!((balance_query.since_start.calls, balance_query.since_start.successes), (2, 1));
    assert_eq!(balance_query.since_start.declines, 1, "a refusal is the upstream's answer, not its failure");
}

#[tokio::test]
async fn an_upstream_that_does_not_answer_is_unknown_and_creates_are_held_back_after_failures_in_a_row() {
    let upstream = e2e::spawn_app().await;
    let (_, app) = upstream.merchant_client("provider", SignType::Rsa, None).await;
    let key = upstream.platform_key().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port();
    let fshows = client(format!("http://127.0.0.1:{closed}/gateway"), &app.app_id, &app.private_key, key);
    let create = "fshows.liquidation.submerchant.create";
    for _ in 0..2 {
        let answer = fshows.call(create, &json!({}), true).await;
        assert!(matches!(answer, Err(CallError::Unknown(_))), "{answer:?}");
    }
    assert_eq!(fshows.call(create, &json!({}), true).await, Err(CallError::HeldBack(create)), "the breaker is open");
    let query = fshows.call(BALANCE, &json!({}), false).await;
    assert!(matches!(query, Err(CallError::Unknown(_))), "queries still go out: {query:?}");
}
