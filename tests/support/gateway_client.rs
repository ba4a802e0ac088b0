//! A gateway client for tests: signs envelopes like an fshows SDK would, and verifies replies with
//! the platform key the server publishes.
use domain::onboarding::{RawApplication, SignType};
use fshows::signature::{Signer, string_to_sign};
use rsa::{RsaPrivateKey, RsaPublicKey, pkcs8::DecodePublicKey};
use serde_json::Value;
use storage::{audit::Actor, database::run_blocking};

use crate::TestApp;

/// An app with its private key, able to call the gateway.
pub struct Client {
    pub app_id: String,
    pub sign_type: SignType,
    pub signer: Signer,
    pub private_key: RsaPrivateKey,
}

/// A complete, valid application (real check characters, a Luhn-valid card).
pub fn application(external_id: &str) -> RawApplication {
    onboarding::testing::application(external_id)
}

fn new_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key generation")
}

fn public_pem(key: &RsaPrivateKey) -> String {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    RsaPublicKey::from(key).to_public_key_pem(LineEnding::LF).expect("pem")
}

impl TestApp {
    /// An approved sub-merchant (onboarded by `owner`, if given) with a keyed app; returns its
    /// `sub_merchant_id` and a client for its own app.
    pub async fn merchant_client(
        &self,
        external_id: &str,
        sign_type: SignType,
        owner: Option<&Client>,
    ) -> (String, Client) {
        let raw = application(external_id);
        let owner_app_id = owner.map(|client| client.app_id.clone());
        let key = new_key();
        let pem = public_pem(&key);
        let (sub_merchant_id, app_id) =
            run_blocking(&self.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
                let owner = match owner_app_id {
                    Some(app_id) => Some(onboarding::credentials::find_app(conn, &app_id)?.id),
                    None => None,
                };
                let approval = onboarding::applications::import_approved(conn, &Actor::cli(), &raw, owner)?;
                onboarding::credentials::set_sign_type(conn, &Actor::cli(), approval.app.id, sign_type)?;
                onboarding::credentials::add_key(conn, &Actor::cli(), approval.app.id, &pem)?;
                Ok((approval.sub_merchant_id.to_string(), approval.app.app_id))
            })
            .await
            .expect("merchant onboarded");
        (sub_merchant_id, Client::new(app_id, sign_type, key))
    }

    /// An ISV app with a key.
    pub async fn isv_client(&self, name: &str) -> Client {
        let key = new_key();
        let pem = public_pem(&key);
        let name = name.to_string();
        let app_id = run_blocking(&self.pool, move |conn| -> Result<_, onboarding::OnboardingError> {
            let app = onboarding::credentials::create_isv_app(conn, &Actor::cli(), &name, SignType::Rsa2)?;
            onboarding::credentials::add_key(conn, &Actor::cli(), app.id, &pem)?;
            Ok(app.app_id)
        })
        .await
        .expect("isv app");
        Client::new(app_id, SignType::Rsa2, key)
    }

    pub async fn platform_key(&self) -> RsaPublicKey {
        let (_, pem) = self.get_text("/gateway/platform-key").await;
        RsaPublicKey::from_public_key_pem(&pem).expect("platform key")
    }

    /// Posts a JSON envelope; returns the HTTP status and the reply body.
    pub async fn post_gateway(&self, body: String, content_type: &str) -> (u16, String) {
        let response = self
            .client
            .post(self.url("/gateway"))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("sent");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    /// Calls `method` with `content` as a signed JSON envelope, checks the reply's signature with
    /// the platform key, and returns the parsed reply.
    pub async fn call(&self, client: &Client, method: &str, content: Value) -> Value {
        serde_json::from_str(&self.call_text(client, method, content).await).expect("reply is JSON")
    }

    /// As [`TestApp::call`], returning the reply's exact text (amounts keep their two decimals).
    pub async fn call_text(&self, client: &Client, method: &str, content: Value) -> String {
        let body = client.json_envelope(method, &content.to_string());
        let (status, reply) = self.post_gateway(body, "application/json").await;
        assert_eq!(status, 200, "{reply}");
        let platform_key = self.platform_key().await;
        assert!(
            fshows::reply::verify_reply(client.sign_type, &[platform_key], &reply),
            "the reply is signed by the platform: {reply}"
        );
        reply
    }
}

impl Client {
    pub fn new(app_id: String, sign_type: SignType, private_key: RsaPrivateKey) -> Client {
        Client { app_id, sign_type, signer: Signer::new(private_key.clone()).expect("signer"), private_key }
    }

    pub fn sign(&self, fields: &[(&str, &str)]) -> String {
        let message = string_to_sign(fields.iter().copied().filter(|(key, _)| *key != "sign" && *key != "sign_type"));
        self.signer.sign(self.sign_type, message.as_bytes())
    }

    /// A JSON envelope with `content` as a string.
    pub fn json_envelope(&self, method: &str, content: &str) -> String {
        let fields = [("app_id", self.app_id.as_str()), ("method", method), ("version", "1.0"), ("content", content)];
        let sign = self.sign(&fields);
        serde_json::json!({ "app_id": self.app_id, "method": method, "version": "1.0", "content": content, "sign": sign }).to_string()
    }

    /// A form envelope, as fshows' PHP clients send.
    pub fn form_envelope(&self, method: &str, content: &str) -> String {
        let fields = [("app_id", self.app_id.as_str()), ("method", method), ("version", "1.0"), ("content", content)];
        let sign = self.sign(&fields);
        let mut all = fields.to_vec();
        all.push(("sign", &sign));
        serde_urlencoded::to_string(all).expect("form")
    }
}
