//! A client of an upstream fshows liquidation gateway (SPEC §6, `fshows`): the calls this platform
//! makes as an fshows integrator, with the wire crate its own gateway uses. A request is a form
//! POST of `app_id`, `method`, `version=1.0`, `content` (a JSON string) and `sign`, SHA1withRSA
//! with the provider's key as fshows requires (`sign_type=RSA`); a reply is believed only when the
//! upstream's key signed it.
//!
//! What an answer means is the caller's to say, method by method; here it is one of three things:
//! the `return_value` of a success, the upstream's refusal (its `error_code` and message: a
//! business answer, which for a create may still mean "already made": `-206`), or nothing that can
//! be believed (a timeout, a broken connection, an unsigned or unreadable reply) — unknown, never a
//! refusal. Every call is timed and counted in the client's [`Health`]; calls that make something
//! (`creates`) are held back while their breaker is open and sent once; queries never are held back,
//! and one that gets no answer is asked again (backon, bounded).
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use fshows::signature::{SignType, Signer, VerifyingKeys, string_to_sign};
use serde_json::Value;

use crate::health::{BreakerSettings, CallEnd, Health};

/// Where and as whom the platform calls the upstream.
pub struct FshowsSettings {
    /// The upstream's gateway endpoint (`…/gateway`).
    pub url: String,
    /// The provider's app id at the upstream.
    pub app_id: String,
    /// The provider's private key, registered with the upstream.
    pub signer: Signer,
    /// The upstream's public key(s): replies and notifies are verified with them.
    pub upstream_keys: VerifyingKeys,
    pub timeout: Duration,
    pub breaker: BreakerSettings,
}

/// The upstream's word on a call that got no `return_value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The upstream answered, signed, and refused: its code and message.
    #[error("the upstream refused: {code} {message}")]
    Refused { code: String, message: String },
    /// Nothing that can be believed came back: the outcome is unknown.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The method's breaker is open: nothing was sent.
    #[error("{0} is held back: its breaker is open")]
    HeldBack(&'static str),
}

impl CallError {
    /// `-206`: the request's number was used before (a create that may already exist: query it).
    pub fn is_duplicate(&self) -> bool {
        matches!(self, CallError::Refused { code, .. } if code == "-206")
    }

    /// `-209`: the day's bill is not ready yet.
    pub fn is_bill_not_ready(&self) -> bool {
        matches!(self, CallError::Refused { code, .. } if code == "-209")
    }
}

pub struct FshowsClient {
    settings: FshowsSettings,
    http: reqwest::Client,
    health: Health,
}

const VERSION: &str = "1.0";

/// The longest reply read: a day's bill (`finance.downloadbill`) is the largest an upstream sends.
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

impl FshowsClient {
    pub fn new(settings: FshowsSettings) -> Result<FshowsClient, reqwest::Error> {
        let http = crate::http::client(settings.timeout)?;
        let health = Health::new("fshows", settings.breaker);
        Ok(FshowsClient { settings, http, health })
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The upstream's keys, which sign its replies and notifies.
    pub fn upstream_keys(&self) -> &VerifyingKeys {
        &self.settings.upstream_keys
    }

    /// Calls `method` with `content`; `creates` for a call that makes something upstream (held
    /// back while its breaker is open, and sent once). A query that gets no answer is asked up to
    /// twice more, with a growing pause: asking again is safe. Returns the `return_value`.
    pub async fn call(&self, method: &'static str, content: &Value, creates: bool) -> Result<Value, CallError> {
        if creates {
            if !self.health.permits(method) {
                return Err(CallError::HeldBack(method));
            }
            return self.call_once(method, content).await;
        }
        let patience = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(2);
        (|| self.call_once(method, content))
            .retry(patience)
            .sleep(tokio::time::sleep)
            .when(|error| matches!(error, CallError::Unknown(_)))
            .await
    }

    /// One call, timed and counted.
    async fn call_once(&self, method: &'static str, content: &Value) -> Result<Value, CallError> {
        let started = Instant::now();
        let result = self.exchange(method, content).await;
        let end = match &result {
            Ok(_) => CallEnd::Success,
            Err(CallError::Refused { code, .. }) if is_business_refusal(code) => CallEnd::Decline,
            Err(CallError::Unknown(why)) if why.contains("no answer in time") => CallEnd::Timeout,
            Err(_) => CallEnd::SystemError,
        };
        self.health.record(method, end, started.elapsed());
        result
    }

    async fn exchange(&self, method: &str, content: &Value) -> Result<Value, CallError> {
        let content = content.to_string();
        let app_id = self.settings.app_id.as_str();
        let message =
            string_to_sign([("app_id", app_id), ("method", method), ("version", VERSION), ("content", &content)]);
        let sign = self.settings.signer.sign(SignType::Rsa, message.as_bytes());
        let form = [
            ("app_id", app_id),
            ("method", method),
            ("version", VERSION),
            ("content", content.as_str()),
            ("sign_type", SignType::Rsa.as_str()),
            ("sign", sign.as_str()),
        ];
        let response = match self.http.post(&self.settings.url).form(&form).send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return Err(CallError::Unknown(format!("{method}: no answer in time"))),
            Err(error) => return Err(CallError::Unknown(format!("{method}: {error}"))),
        };
        let status = response.status();
        let body = crate::http::body(response, MAX_REPLY_BYTES)
            .await
            .map_err(|why| CallError::Unknown(format!("{method}: {why}")))?;
        let body = String::from_utf8(body)
            .map_err(|_| CallError::Unknown(format!("{method}: HTTP {status}, a reply that is not UTF-8")))?;
        read_reply(method, status.as_u16(), &body, &self.settings.upstream_keys)
    }
}

/// The upstream's `-1xx` (the request) and `-2xx` (the business) refusals are answers about the
/// request, not failures of the upstream; `-3xx` and anything else are its own errors.
fn is_business_refusal(code: &str) -> bool {
    code.starts_with("-1") || code.starts_with("-2")
}

/// A reply body, believed only when the upstream's key signed it.
fn read_reply(method: &str, status: u16, body: &str, keys: &VerifyingKeys) -> Result<Value, CallError> {
    if !fshows::reply::verify_reply(SignType::Rsa, keys.as_slice(), body) {
        let shown: String = body.chars().take(120).collect();
        return Err(CallError::Unknown(format!(
            "{method}: HTTP {status}, a reply not signed by the upstream: {shown}"
        )));
    }
    let Ok(Value::Object(mut reply)) = serde_json::from_str::<Value>(body) else {
        return Err(CallError::Unknown(format!("{method}: HTTP {status}, not a JSON object")));
    };
    match reply.get("success") {
        Some(Value::Bool(true)) => Ok(reply.remove("return_value").unwrap_or(Value::Null)),
        Some(Value::Bool(false)) => {
            let text = |value: Option<Value>| match value {
                Some(Value::String(text)) => text,
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Err(CallError::Refused {
                code: text(reply.remove("error_code")),
                message: text(reply.remove("error_message")),
            })
        }
        _ => Err(CallError::Unknown(format!("{method}: a reply without success"))),
    }
}
