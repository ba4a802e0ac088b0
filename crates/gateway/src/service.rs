//! The gateway pipeline: envelope → app → signature → rate limit → method → signed reply, with
//! every request and reply stored (redacted) for support.
//!
//! A body that is not an envelope gets an HTTP 4xx with an unsigned explanation. Everything after
//! that is HTTP 200 with a signed `success: false` reply, as the protocol does.
use std::{sync::Arc, time::Instant};

use chrono::Utc;
use diesel::PgConnection;
use rsa::{RsaPublicKey, pkcs8::DecodePublicKey};
use storage::{Cache, Pool, apps::AppRow, database::run_blocking, gateway_log};

use fshows::{
    envelope::{BodyKind, Envelope, EnvelopeError},
    reply,
    signature::{SignType, Signer, verify},
};

use upstream::orders::{Closing, Placement};

use crate::{
    GatewaySettings,
    content::Content,
    error::GatewayError,
    methods::{self, Call},
    redact,
};

/// Apps with their parsed active keys, kept for [`CREDENTIALS_TTL`]: a call from a known app is
/// verified without touching the database, and each key is parsed once per refresh, never per
/// request. Disabling an app or revoking a key therefore takes effect on every node within the TTL.
struct Credentials {
    apps: moka::sync::Cache<String, CachedApp>,
}

#[derive(Clone)]
struct CachedApp {
    app: AppRow,
    keys: Vec<Arc<RsaPublicKey>>,
}

const CREDENTIALS_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Merchant snapshots are checked by the statement that uses them, so this only bounds how long an
/// unused one is kept (see [`orders::place::Placer`]).
const MERCHANTS_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Bounds memory if many apps call at once (the least used go first); unknown app ids are never
/// cached.
const CREDENTIALS_LIMIT: u64 = 10_000;

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            apps: moka::sync::Cache::builder().max_capacity(CREDENTIALS_LIMIT).time_to_live(CREDENTIALS_TTL).build(),
        }
    }
}

impl Credentials {
    fn cached(&self, app_id: &str) -> Option<CachedApp> {
        self.apps.get(app_id)
    }

    /// The app and its active keys, from the cache or the database; `None` if there is no such app.
    fn lookup(&self, pool: &Pool, app_id: &str) -> Result<Option<CachedApp>, GatewayError> {
        if let Some(cached) = self.cached(app_id) {
            return Ok(Some(cached));
        }
        let mut conn = pool.get().map_err(storage::StorageError::from)?;
        let Some(app) = storage::apps::find_by_app_id(&mut conn, app_id)? else { return Ok(None) };
        let keys = storage::apps::active_keys(&mut conn, app.id)?
            .iter()
            .filter_map(|row| RsaPublicKey::from_public_key_pem(&row.public_key_pem).ok().map(Arc::new))
            .collect();
        let cached = CachedApp { app, keys };
        self.apps.insert(app_id.to_string(), cached.clone());
        Ok(Some(cached))
    }
}

#[derive(Clone)]
pub struct Gateway {
    pool: Pool,
    cache: Cache,
    signer: Arc<Signer>,
    settings: Arc<GatewaySettings>,
    credentials: Arc<Credentials>,
    placer: Arc<orders::place::Placer>,
    log: LogWriter,
    /// Where orders of merchants routed to an upstream are placed and asked about.
    channels: channel::Registry,
    /// Books a payment an upstream reports when asked.
    payments: orders::recorder::PaymentRecorder,
}

/// What to send back: an HTTP status and a JSON body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// A request refused before its method ran, with what is known about its app.
struct Refusal {
    envelope: Envelope,
    app: Option<AppRow>,
    error: GatewayError,
}

/// A signed reply body, with what the request log needs to know about it.
struct Reply {
    body: String,
    error_code: Option<&'static str>,
    trade_no: Option<String>,
}

/// A request whose app and signature checked out.
struct Verified {
    app: AppRow,
    envelope: Envelope,
}

impl Gateway {
    /// Must be called inside the Tokio runtime: it starts the request-log writer.
    pub fn new(
        pool: Pool,
        cache: Cache,
        signer: Signer,
        settings: GatewaySettings,
        channels: channel::Registry,
        payments: orders::recorder::PaymentRecorder,
    ) -> Gateway {
        let log = LogWriter::start(pool.clone());
        Gateway {
            pool,
            cache,
            signer: Arc::new(signer),
            settings: Arc::new(settings),
            credentials: Arc::default(),
            placer: Arc::new(orders::place::Placer::new(MERCHANTS_TTL)),
            log,
            channels,
            payments,
        }
    }

    pub async fn handle(&self, content_type: &str, body: &[u8], client_ip: Option<String>) -> Response {
        let started = Instant::now();
        let envelope = match BodyKind::from_content_type(content_type).and_then(|kind| Envelope::parse(kind, body)) {
            Ok(envelope) => envelope,
            Err(error) => return not_an_envelope(&error),
        };
        // A known app is verified right here: one public-key operation, about as long as parsing
        // the request. Only an app that is not cached goes to a blocking thread, for the database.
        let verified = match self.credentials.cached(envelope.app_id()) {
            Some(cached) => self.verify_with(envelope, cached),
            None => {
                let gateway = self.clone();
                match tokio::task::spawn_blocking(move || gateway.verify(envelope)).await {
                    Ok(verified) => verified,
                    Err(_) => return self.server_error(&GatewayError::ServerError),
                }
            }
        };
        let verified = match verified {
            Ok(verified) => verified,
            Err(refusal) => {
                let Refusal { envelope, app, error } = *refusal;
                let reply = self.reply(app.as_ref(), &Err(error));
                return self.finish(envelope, reply, started, client_ip).await;
            }
        };
        if !self.within_rate_limit(&verified.app).await {
            let reply = self.reply(Some(&verified.app), &Err(GatewayError::TooManyRequests));
            return self.finish(verified.envelope, reply, started, client_ip).await;
        }
        // The method on a blocking thread (it waits for PostgreSQL). Its reply is signed back here:
        // the HTTP workers are one per core, so signatures queue for the cores in arrival order
        // instead of a pool of blocking threads all sharing them (which delays every reply).
        let gateway = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let outcome = match gateway.pool.get() {
                Ok(mut conn) => gateway.call(&mut conn, &verified),
                Err(error) => Err(storage::StorageError::from(error).into()),
            };
            (verified, outcome)
        })
        .await;
        match joined {
            Ok((Verified { app, envelope }, outcome)) => {
                let outcome = match outcome {
                    Ok(answer) => self.answer(answer).await,
                    Err(error) => Err(error),
                };
                let reply = self.reply(Some(&app), &outcome);
                self.finish(envelope, reply, started, client_ip).await
            }
            // A panic in a method: a bug, logged; the envelope went with the task.
            Err(_) => self.server_error(&GatewayError::ServerError),
        }
    }

    /// Finds the app (in the database if it is not cached) and checks the signature.
    /// A refusal hands the envelope back, so it is logged and signed like any reply.
    fn verify(&self, envelope: Envelope) -> Result<Verified, Box<Refusal>> {
        match self.credentials.lookup(&self.pool, envelope.app_id()) {
            Ok(Some(cached)) => self.verify_with(envelope, cached),
            Ok(None) => Err(Box::new(Refusal { envelope, app: None, error: GatewayError::InvalidApp })),
            Err(error) => Err(Box::new(Refusal { envelope, app: None, error })),
        }
    }

    /// Checks the signature with the app's active keys and its sign type.
    fn verify_with(&self, envelope: Envelope, cached: CachedApp) -> Result<Verified, Box<Refusal>> {
        let CachedApp { app, keys, .. } = cached;
        if app.disabled_at.is_some() {
            return Err(Box::new(Refusal { envelope, app: None, error: GatewayError::InvalidApp }));
        }
        let sign_type = app.sign_type;
        // The sign_type field is not signed, so it can only agree with the app's, never choose.
        if envelope.sign_type().is_some_and(|claimed| claimed != sign_type.as_str()) {
            return Err(Box::new(Refusal { envelope, app: Some(app), error: GatewayError::BadSignature }));
        }
        let message = envelope.string_to_sign().as_bytes();
        if !keys.iter().any(|key| verify(sign_type, std::slice::from_ref(key.as_ref()), message, envelope.sign())) {
            return Err(Box::new(Refusal { envelope, app: Some(app), error: GatewayError::BadSignature }));
        }
        Ok(Verified { app, envelope })
    }

    /// Redis down: allow (the database constraints still hold) and let `/readyz` say so.
    async fn within_rate_limit(&self, app: &AppRow) -> bool {
        let key = format!("ratelimit:{}", app.app_id);
        self.cache
            .take_token(&key, self.settings.rate_limit_burst, self.settings.rate_limit_per_second)
            .await
            .unwrap_or(true)
    }

    /// A method's answer as its reply: an order of a merchant routed to an upstream is placed, or
    /// asked about, there first (no connection is held while the upstream is asked).
    async fn answer(&self, answer: methods::Answer) -> Result<methods::ReturnValue, GatewayError> {
        match answer {
            methods::Answer::Reply(value) => Ok(value),
            methods::Answer::Place(order) => {
                let placement = upstream::orders::place(&self.pool, &self.channels, &order).await;
                let qr_code = match placement.map_err(upstream_error)? {
                    Placement::Here => format!("{}?c={}", self.settings.cashier_url, order.cashier_code()),
                    Placement::Placed { qr_code } => qr_code,
                    Placement::Unknown(why) => {
                        return Err(GatewayError::Upstream(format!(
                            "no certain answer ({why}); the order is kept: query it, or send the same request again"
                        )));
                    }
                    Placement::Refused(why) => return Err(GatewayError::Upstream(why)),
                    Placement::NotRegistered => {
                        return Err(GatewayError::InvalidOperation(
                            "the sub-merchant is not yet registered at the channel that takes its payments".into(),
                        ));
                    }
                };
                methods::uniorder_reply(&order, qr_code)
            }
            methods::Answer::Close(order, by) => {
                match upstream::orders::close(&self.pool, &self.channels, &self.payments, &order, &by).await {
                    Ok(Closing::Closed(closed)) => Ok(methods::close_reply(&closed)),
                    Ok(Closing::PaidThere) => Err(GatewayError::InvalidOperation(
                        "the order was paid at the upstream; it is booked and cannot be closed".into(),
                    )),
                    Ok(Closing::Unknown(why)) => Err(GatewayError::Upstream(format!(
                        "the upstream did not answer for certain ({why}); the order is still open: try again"
                    ))),
                    Err(error) => Err(upstream_error(error)),
                }
            }
            methods::Answer::Refund(order, refund) => {
                let calendar = self.settings.calendar;
                let settled = upstream::refunds::refund_there(&self.pool, &self.channels, calendar, refund.id)
                    .await
                    .map_err(upstream_error)?;
                Ok(methods::refund_reply(&order, &settled.unwrap_or(refund)))
            }
            methods::Answer::Query(order) => {
                upstream::orders::settle_by_query(&self.pool, &self.channels, &self.payments, &order)
                    .await
                    .map_err(upstream_error)?;
                let order_id = order.id();
                run_blocking(&self.pool, move |conn| {
                    let order = orders::order::find(conn, order_id)?.ok_or(GatewayError::OrderNotFound)?;
                    methods::query_reply(conn, &order)
                })
                .await
            }
        }
    }

    fn call(&self, conn: &mut PgConnection, verified: &Verified) -> Result<methods::Answer, GatewayError> {
        let method = methods::find(verified.envelope.method()).ok_or_else(|| {
            GatewayError::invalid("method", format!("unknown method {:?}", verified.envelope.method()))
        })?;
        let content = Content::parse(verified.envelope.content())?;
        method(&mut Call {
            conn,
            app: &verified.app,
            content: &content,
            now: Utc::now(),
            settings: &self.settings,
            placer: &self.placer,
            upstreams: !self.channels.upstream_names().is_empty(),
        })
    }

    /// The signed reply body, with the app's sign type (RSA2 when the app is unknown).
    fn reply(&self, app: Option<&AppRow>, outcome: &Result<methods::ReturnValue, GatewayError>) -> Reply {
        let sign_type = app.map(|app| app.sign_type).unwrap_or_default();
        match outcome {
            Ok(value) => Reply {
                body: reply::success(&self.signer, sign_type, value),
                error_code: None,
                trade_no: trade_no_of(value),
            },
            Err(error) => Reply {
                body: reply::failure(&self.signer, sign_type, error.code(), &error.to_string()),
                error_code: Some(error.code()),
                trade_no: None,
            },
        }
    }

    /// Logs the request and its reply, and sends the reply.
    async fn finish(&self, envelope: Envelope, reply: Reply, started: Instant, client_ip: Option<String>) -> Response {
        let Reply { body, error_code, trade_no } = reply;
        let log = LogEntry {
            app_id: envelope.app_id().to_string(),
            method: envelope.method().to_string(),
            trade_no,
            request: redact::content(envelope.content()),
            reply: redact::content(&body),
            error_code: error_code.map(str::to_string),
            latency_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
            client_ip,
        };
        self.log.write(log).await;
        Response { status: 200, body }
    }

    fn server_error(&self, error: &GatewayError) -> Response {
        tracing::error!(%error, "gateway failure");
        let error = GatewayError::ServerError;
        Response {
            status: 200,
            body: reply::failure(&self.signer, SignType::default(), error.code(), &error.to_string()),
        }
    }
}

fn upstream_error(error: upstream::UpstreamError) -> GatewayError {
    match error {
        upstream::UpstreamError::Storage(error) => error.into(),
        upstream::UpstreamError::Order(error) => error.into(),
        other => {
            tracing::error!(error = %other, "an upstream order could not be handled");
            GatewayError::ServerError
        }
    }
}

fn trade_no_of(value: &methods::ReturnValue) -> Option<String> {
    value.iter().find(|(key, _)| *key == "trade_no").and_then(|(_, value)| match value {
        reply::ReplyValue::Text(text) => Some(text.clone()),
        _ => None,
    })
}

struct LogEntry {
    app_id: String,
    method: String,
    trade_no: Option<String>,
    request: String,
    reply: String,
    error_code: Option<String>,
    latency_ms: i32,
    client_ip: Option<String>,
}

impl LogEntry {
    fn row(&self) -> gateway_log::NewRequestLog<'_> {
        gateway_log::NewRequestLog {
            app_id: Some(&self.app_id),
            method: Some(&self.method),
            trade_no: self.trade_no.as_deref(),
            request: &self.request,
            reply: &self.reply,
            success: self.error_code.is_none(),
            error_code: self.error_code.as_deref(),
            latency_ms: self.latency_ms,
            client_ip: self.client_ip.as_deref(),
        }
    }
}

/// Writes the request log off the request path, in batches: a bounded channel feeds one task that
/// inserts up to [`LOG_BATCH`] rows per statement, gathered for up to [`LOG_LINGER`]. Replies wait only if the log falls
/// [`LOG_BACKLOG`] rows behind; a batch the database refuses is written again row by row, off the
/// reply's path.
#[derive(Clone)]
struct LogWriter {
    sender: tokio::sync::mpsc::Sender<LogEntry>,
}

const LOG_BATCH: usize = 200;
const LOG_BACKLOG: usize = 10_000;
/// How long a batch waits for more rows after its first: under load a batch is one insert (and one
/// commit) for many requests instead of one each.
const LOG_LINGER: std::time::Duration = std::time::Duration::from_millis(50);

impl LogWriter {
    fn start(pool: Pool) -> LogWriter {
        let (sender, receiver) = tokio::sync::mpsc::channel(LOG_BACKLOG);
        tokio::spawn(write_batches(pool, receiver));
        LogWriter { sender }
    }

    async fn write(&self, entry: LogEntry) {
        if self.sender.send(entry).await.is_err() {
            tracing::error!("the gateway request log writer has stopped");
        }
    }
}

async fn write_batches(pool: Pool, mut receiver: tokio::sync::mpsc::Receiver<LogEntry>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LOG_LINGER;
        while batch.len() < LOG_BATCH {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(entry)) => batch.push(entry),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(error) = run_blocking(&pool, move |conn| store(conn, &batch)).await {
            tracing::error!(error = ?error, "could not store gateway request log entries");
        }
    }
}

/// One insert for the batch; if the database refuses it, each row on its own, so a row it cannot
/// take costs only that row and never its neighbours (other callers' support record).
fn store(conn: &mut PgConnection, batch: &[LogEntry]) -> Result<(), storage::StorageError> {
    let rows: Vec<_> = batch.iter().map(LogEntry::row).collect();
    if gateway_log::insert_many(conn, &rows).is_ok() {
        return Ok(());
    }
    let mut refused = 0;
    for row in &rows {
        if let Err(error) = gateway_log::insert_many(conn, std::slice::from_ref(row)) {
            refused += 1;
            tracing::error!(error = ?error, app_id = row.app_id, method = row.method, "a request log row was refused");
        }
    }
    if refused > 0 {
        tracing::error!(refused, of = rows.len(), "gateway request log rows lost");
    }
    Ok(())
}

/// HTTP 4xx for bodies that are not an envelope at all; nothing is stored or signed.
fn not_an_envelope(error: &EnvelopeError) -> Response {
    let status = match error {
        EnvelopeError::TooLarge => 413,
        EnvelopeError::UnsupportedContentType => 415,
        _ => 400,
    };
    let body =
        serde_json::json!({ "success": false, "error_code": "-101", "error_message": format!("无效参数 >> {error}") });
    Response { status, body: body.to_string() }
}
