//! Delivery of the notification outbox to sub-merchants' `notify_url` (SPEC §5, seed 001).
//!
//! [`Notifier::deliver_due`] claims the notifications due at a given instant (`FOR UPDATE SKIP
//! LOCKED` and a lease, so several workers on several nodes never send one notification twice in
//! one slot), signs each one's form fields with the platform key and the receiving app's sign type,
//! POSTs them with no transaction open, and records the attempt together with the next send of the
//! seed-001 schedule ([`next_attempt`]). The instant is a parameter, never the wall clock, so the
//! two-hour schedule is tested in milliseconds.
//!
//! A send never follows a redirect, never reads more than a few kilobytes of the reply and, unless
//! configuration allows it, never connects to a private, loopback or link-local address — checked
//! on the very addresses it connects to, so a name that resolves differently the second time
//! (DNS rebinding) gains nothing.
use std::{
    collections::HashMap,
    error::Error as StdError,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::PgConnection;
use domain::{AppRowId, net::is_public_address};
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    header, redirect,
};
use serde_json::Value;
use storage::{
    Pool, StorageError,
    database::run_blocking,
    notifications::{self, Attempt, NotificationRow},
};
use tokio::{sync::Semaphore, task::JoinSet};

use fshows::signature::{SignType, Signer, string_to_sign};

/// Seed 001: five sends at most — at once, then 1, 3, 10 and 120 minutes after the first.
pub const MAX_SENDS: i32 = 5;
const RETRY_OFFSETS_MINUTES: [i64; 4] = [1, 3, 10, 120];
const _: () = assert!(RETRY_OFFSETS_MINUTES.len() + 1 == MAX_SENDS as usize);

/// SPEC §5: a receiver has 10 s to answer, connecting and the reply included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Notifications claimed by one call of [`Notifier::deliver_due`].
const BATCH_SIZE: i64 = 32;
/// How many sends [`Notifier::run`] keeps on the wire. A send is a socket and a task, waiting on
/// the receiver: many can be, so receivers that hang (each for at most [`SEND_TIMEOUT`]) leave
/// room for the others.
const CONCURRENT_SENDS: usize = 64;

/// How long a claim holds. Far longer than a send can take (10 s and its recording), so a
/// notification on the wire is never claimed again; a worker that dies mid-send loses its claims
/// when the lease runs out and the notifications are sent by another.
const CLAIM_LEASE: Duration = Duration::from_secs(120);

/// What is kept of a reply and of an error for the console.
const BODY_EXCERPT_CHARS: usize = 200;
const ERROR_CHARS: usize = 500;

/// The most of a reply that is read: `success` fits many times over, and a reply that does not
/// fit is no acknowledgement.
const MAX_REPLY_BYTES: usize = 4096;

/// The error stored when a send is refused because of where it would connect.
pub const PRIVATE_ADDRESS: &str = "private address";

/// When the next send is due, given the first attempt's time and the number of attempts made so
/// far (seed 001): the first at once, then 1, 3, 10 and 120 minutes after the first; `None` once
/// five have been made.
pub fn next_attempt(first_attempt_at: DateTime<Utc>, attempts_made: i32) -> Option<DateTime<Utc>> {
    if attempts_made <= 0 {
        return Some(first_attempt_at);
    }
    let index = usize::try_from(attempts_made - 1).ok()?;
    RETRY_OFFSETS_MINUTES.get(index).map(|minutes| first_attempt_at + TimeDelta::minutes(*minutes))
}

/// True if a reply body acknowledges a notification: `ok` or `success`, trimmed, in any case.
pub fn is_acknowledgement(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| {
        let text = text.trim();
        text.eq_ignore_ascii_case("ok") || text.eq_ignore_ascii_case("success")
    })
}

/// Sends due notifications; cheap to clone (the pool, the key and the HTTP client are shared).
#[derive(Clone)]
pub struct Notifier {
    pool: Pool,
    signer: Arc<Signer>,
    client: reqwest::Client,
    allow_private_addresses: bool,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("allow_private_addresses", &self.allow_private_addresses)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    pub fn new(pool: Pool, signer: Arc<Signer>, allow_private_addresses: bool) -> Notifier {
        let mut builder = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(redirect::Policy::none())
            // A proxy would connect on our behalf to addresses this module never gets to check.
            .no_proxy()
            .user_agent(concat!("liquidator-notify/", env!("CARGO_PKG_VERSION")));
        if !allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicAddressesOnly));
        }
        // Every setting above is fixed and valid, and rustls with built-in roots has nothing to
        // load that could be missing: a failure here is a bug, not a condition to handle.
        let client = builder.build().expect("the notification HTTP client builds");
        Notifier { pool, signer, client, allow_private_addresses }
    }

    /// Claims the notifications due at `now` (at most [`BATCH_SIZE`]), sends them all at once (no
    /// transaction open while a send is on the wire) and records every attempt and the next send.
    /// Returns how many were attempted. Safe to run on several workers and nodes at once. The
    /// workers use [`Notifier::run`]; this is one round of it, for a given clock.
    ///
    /// A failure to record one attempt does not stop the others; the first such error is returned
    /// once all have finished (the notification's lease runs out and it is sent again).
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let claimed = run_blocking(&self.pool, move |conn| claim(conn, now, BATCH_SIZE)).await?;
        let attempted = claimed.len();
        let mut sends = JoinSet::new();
        for (row, sign_type) in claimed {
            let notifier = self.clone();
            sends.spawn(async move { notifier.deliver(row, sign_type, now).await });
        }
        let mut first_error = None;
        while let Some(joined) = sends.join_next().await {
            if let Some(error) = log_send(joined) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(attempted), Err)
    }

    /// Sends due notifications until `shutdown`, at most [`CONCURRENT_SENDS`] at once, claiming the
    /// next due one as soon as a send finishes: a receiver that answers slowly, or never, holds
    /// one send for at most [`SEND_TIMEOUT`], never the queue behind it. Safe on several workers
    /// and nodes at once, like [`Notifier::deliver_due`].
    pub async fn run(&self, idle: Duration, shutdown: tokio_util::sync::CancellationToken) {
        let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
        let mut sends = JoinSet::new();
        while !shutdown.is_cancelled() {
            while let Some(joined) = sends.try_join_next() {
                log_send(joined);
            }
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Ok(Vec::new())
            } else {
                let now = Utc::now();
                run_blocking(&self.pool, move |conn| claim(conn, now, free as i64)).await
            };
            let claimed = claimed.unwrap_or_else(|error| {
                tracing::warn!(error = ?error, "could not claim notifications");
                Vec::new()
            });
            let waiting = claimed.is_empty();
            for (row, sign_type) in claimed {
                // Never closed, and as many were claimed as were free: a permit comes at once.
                let permit = permits.clone().acquire_owned().await.ok();
                let notifier = self.clone();
                sends.spawn(async move {
                    let _permit = permit;
                    notifier.deliver(row, sign_type, Utc::now()).await
                });
            }
            if waiting {
                // Nothing due (or every send busy): until one finishes, or a moment has passed.
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(idle) => {}
                    Some(joined) = sends.join_next(), if !sends.is_empty() => {
                        log_send(joined);
                    }
                }
            }
        }
        while let Some(joined) = sends.join_next().await {
            log_send(joined);
        }
    }

    async fn deliver(&self, row: NotificationRow, sign_type: SignType, now: DateTime<Utc>) -> Result<(), StorageError> {
        let form = signed_form(&self.signer, sign_type, &row.fields);
        let outcome = self.send(&row.url, &form).await;
        tracing::info!(
            notification_id = %row.id,
            attempt = row.attempts + 1,
            delivered = outcome.delivered,
            http_status = outcome.http_status,
            error = outcome.error.as_deref(),
            latency_ms = outcome.latency_ms,
            "notification sent"
        );
        let id = row.id;
        // "Send again" on a notification that was delivered or used its five sends is one send
        // more, outside the schedule; on one still pending it simply brings the next send forward.
        let beyond_schedule = row.attempts >= MAX_SENDS || row.delivered_at.is_some();
        let first_attempt_at = row.first_attempt_at.unwrap_or(now);
        let attempts_made = row.attempts.saturating_add(1);
        run_blocking(&self.pool, move |conn| {
            let attempt = outcome.as_attempt();
            if beyond_schedule {
                notifications::record_extra_attempt(conn, id, now, attempt)
            } else {
                let next = if outcome.delivered { None } else { next_attempt(first_attempt_at, attempts_made) };
                notifications::record_attempt(conn, id, now, first_attempt_at, attempt, next)
            }
        })
        .await
    }

    /// One POST, timed; whatever happens is an [`Outcome`], never an error.
    async fn send(&self, url: &str, form: &[(String, String)]) -> Outcome {
        let started = Instant::now();
        let result = self.exchange(url, form).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        match result {
            Ok(reply) => Outcome {
                http_status: Some(i32::from(reply.status)),
                delivered: reply.acknowledges(),
                body_excerpt: Some(excerpt(&reply.body)),
                error: reply.error,
                latency_ms,
            },
            Err(error) => {
                Outcome { http_status: None, body_excerpt: None, error: Some(error), delivered: false, latency_ms }
            }
        }
    }

    async fn exchange(&self, url: &str, form: &[(String, String)]) -> Result<Reply, String> {
        let url = Url::parse(url).map_err(|_| "invalid url".to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("not an http or https url".into());
        }
        // Literal addresses never reach the resolver, so they are checked here; names are checked
        // by the resolver on the addresses actually used.
        if !self.allow_private_addresses && literal_address(&url).is_some_and(|address| !is_public_address(address)) {
            return Err(PRIVATE_ADDRESS.into());
        }
        let body = serde_urlencoded::to_string(form).map_err(|error| error.to_string())?;
        let response = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status().as_u16();
        let (body, complete, error) = read_reply(response).await;
        Ok(Reply { status, body, complete, error })
    }
}

/// Logs what a send left behind: its attempt not recorded (the lease runs out and it is sent
/// again; the error is handed back), or a panic.
fn log_send(joined: Result<Result<(), StorageError>, tokio::task::JoinError>) -> Option<StorageError> {
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::error!(error = ?error, "a notification attempt could not be recorded");
            Some(error)
        }
        Err(join_error) => {
            tracing::error!(error = %join_error, "a notification send panicked");
            None
        }
    }
}

/// Claims at most `limit` due notifications, each with its app's sign type.
fn claim(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(NotificationRow, SignType)>, StorageError> {
    let rows = notifications::claim_due(conn, now, CLAIM_LEASE, limit)?;
    let mut sign_types: HashMap<AppRowId, SignType> = HashMap::new();
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let sign_type = match sign_types.get(&row.app_id) {
            Some(sign_type) => *sign_type,
            None => {
                let sign_type = app_sign_type(conn, row.app_id)?;
                sign_types.insert(row.app_id, sign_type);
                sign_type
            }
        };
        claimed.push((row, sign_type));
    }
    Ok(claimed)
}

/// The app's sign type; the default (RSA2) for an app that is gone, which the database's own
/// references make impossible — the notification is still worth sending.
fn app_sign_type(conn: &mut PgConnection, app_id: AppRowId) -> Result<SignType, StorageError> {
    Ok(match storage::apps::find(conn, app_id)? {
        Some(app) => app.sign_type,
        None => {
            tracing::warn!(%app_id, "the notified app does not exist; signing RSA2");
            SignType::default()
        }
    })
}

/// The notification's fields in key order, then `sign` over them (the string to sign of SPEC §5)
/// and `sign_type`. The outbox stores every value as text; anything else is sent as its JSON text
/// and a null is left out.
fn signed_form(signer: &Signer, sign_type: SignType, fields: &Value) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = fields
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| !matches!(key.as_str(), "sign" | "sign_type"))
        .filter_map(|(key, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Some((key.clone(), text))
        })
        .collect();
    form.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let message = string_to_sign(form.iter().map(|(key, value)| (key.as_str(), value.as_str())));
    let sign = signer.sign(sign_type, message.as_bytes());
    form.push(("sign".into(), sign));
    form.push(("sign_type".into(), sign_type.as_str().into()));
    form
}

/// What one attempt came to, as stored.
struct Outcome {
    http_status: Option<i32>,
    body_excerpt: Option<String>,
    error: Option<String>,
    latency_ms: i32,
    delivered: bool,
}

impl Outcome {
    fn as_attempt(&self) -> Attempt<'_> {
        Attempt {
            http_status: self.http_status,
            body_excerpt: self.body_excerpt.as_deref(),
            error: self.error.as_deref(),
            latency_ms: self.latency_ms,
            delivered: self.delivered,
        }
    }
}

/// A reply that came back: its status and the start of its body. `complete` is false when the body
/// was longer than [`MAX_REPLY_BYTES`] or broke off (`error`).
struct Reply {
    status: u16,
    body: Vec<u8>,
    complete: bool,
    error: Option<String>,
}

impl Reply {
    fn acknowledges(&self) -> bool {
        (200..300).contains(&self.status) && self.complete && is_acknowledgement(&self.body)
    }
}

async fn read_reply(mut response: reqwest::Response) -> (Vec<u8>, bool, Option<String>) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_REPLY_BYTES - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    // Not read further: a receiver's endless or huge body costs us 4 KiB.
                    return (body, false, Some(format!("reply longer than {MAX_REPLY_BYTES} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body, true, None),
            Err(error) => return (body, false, Some(describe(&error))),
        }
    }
}

/// The first [`BODY_EXCERPT_CHARS`] characters of a reply as valid UTF-8 text PostgreSQL accepts
/// (invalid bytes replaced, NUL characters dropped).
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().filter(|c| *c != '\0').take(BODY_EXCERPT_CHARS).collect()
}

/// An error as stored: what failed and its causes, without the URL (stored with the notification).
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<crate::address::ResolveError>()
            .is_some_and(|error| matches!(error, crate::address::ResolveError::NotPublic))
        {
            return PRIVATE_ADDRESS.into();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return format!("timeout after {} s", SEND_TIMEOUT.as_secs());
    }
    let what = if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the reply failed"
    } else {
        "sending failed"
    };
    let mut text = what.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text.chars().filter(|c| *c != '\0').take(ERROR_CHARS).collect()
}

/// The URL's host when it is an IP address (`[…]` stripped from IPv6).
fn literal_address(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Resolves names as the system does, then refuses the whole answer if any address in it is not
/// public: the HTTP client connects only to addresses that passed this check.
struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = crate::address::resolve_public(&host)
                .await
                .map_err(|error| Box::new(error) as Box<dyn StdError + Send + Sync>)?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use rsa::RsaPrivateKey;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_schedule_is_seed_001s() {
        let first = at("2026-11-21T10:00:00Z");
        assert_eq!(next_attempt(first, 0), Some(first));
        assert_eq!(next_attempt(first, 1), Some(at("2026-11-21T10:01:00Z")));
        assert_eq!(next_attempt(first, 2), Some(at("2026-11-21T10:03:00Z")));
        assert_eq!(next_attempt(first, 3), Some(at("2026-11-21T10:10:00Z")));
        assert_eq!(next_attempt(first, 4), Some(at("2026-11-21T12:00:00Z")));
        assert_eq!(next_attempt(first, 5), None);
        assert_eq!(next_attempt(first, 6), None);
        assert_eq!(next_attempt(first, i32::MAX), None);
        assert_eq!(next_attempt(first, -1), Some(first));
    }

    #[test]
    fn only_ok_or_success_acknowledge() {
        for body in ["ok", "OK", "success", "SUCCESS ", "\r\n  Success\n", "\tOk"] {
            assert!(is_acknowledgement(body.as_bytes()), "{body:?}");
        }
        for body in ["", "fail", "okay", "success!", "\"success\"", "ok ok", "成功", "{\"code\":\"success\"}"] {
            assert!(!is_acknowledgement(body.as_bytes()), "{body:?}");
        }
        assert!(!is_acknowledgement(b"ok\xff"));
    }

    #[test]
    fn a_reply_acknowledges_only_with_2xx_and_a_whole_body() {
        let reply = |status, body: &str, complete| Reply { status, body: body.into(), complete, error: None };
        assert!(reply(200, "success", true).acknowledges());
        assert!(reply(204, "ok", true).acknowledges());
        assert!(!reply(302, "ok", true).acknowledges());
        assert!(!reply(500, "success", true).acknowledges());
        assert!(!reply(200, "ok", false).acknowledges());
    }

    #[test]
    fn excerpts_are_short_valid_text() {
        let long = "界".repeat(300);
        let kept = excerpt(long.as_bytes());
        assert_eq!(kept.chars().count(), 200);
        // Cut in the middle of a character, with a NUL: still text PostgreSQL stores.
        let kept = excerpt(&[b'o', 0, b'k', 0xe7, 0x95]);
        assert_eq!(kept, "ok\u{fffd}");
    }

    #[test]
    fn literal_addresses_are_recognised() {
        let host = |url: &str| literal_address(&Url::parse(url).unwrap());
        assert_eq!(host("http://127.0.0.1:8080/n"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(host("http://[::1]/n"), Some("::1".parse().unwrap()));
        assert_eq!(host("http://2130706433/n"), Some("127.0.0.1".parse().unwrap()), "WHATWG numeric host");
        assert_eq!(host("http://[::ffff:10.0.0.1]/n").map(is_public_address), Some(false));
        assert_eq!(host("https://merchant.example.com/n"), None);
    }

    #[test]
    fn the_form_is_signed_over_its_fields_with_the_apps_sign_type() {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let signer = Signer::new(key).unwrap();
        let fields = serde_json::json!({
            "trade_no": "1", "out_trade_no": "A1", "total_fee": "1.00", "pay_time": "", "absent": null,
        });
        for sign_type in SignType::ALL {
            let form = signed_form(&signer, sign_type, &fields);
            let keys: Vec<&str> = form.iter().map(|(key, _)| key.as_str()).collect();
            assert_eq!(keys, ["out_trade_no", "pay_time", "total_fee", "trade_no", "sign", "sign_type"]);
            assert_eq!(form[5].1, sign_type.as_str());
            let message = "out_trade_no=A1&total_fee=1.00&trade_no=1";
            let public = [signer.public_key().clone()];
            assert!(fshows::signature::verify(sign_type, &public, message.as_bytes(), &form[4].1));
            let other = if sign_type == SignType::Rsa2 { SignType::Rsa } else { SignType::Rsa2 };
            assert!(!fshows::signature::verify(other, &public, message.as_bytes(), &form[4].1));
        }
    }
}
