//! The gateway's request log: every request and reply, already redacted by the caller.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use std::borrow::Cow;

use crate::{StorageError, schema::gateway_requests, text::storable};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = gateway_requests)]
pub struct NewRequestLog<'a> {
    pub app_id: Option<&'a str>,
    pub method: Option<&'a str>,
    pub trade_no: Option<&'a str>,
    pub request: &'a str,
    pub reply: &'a str,
    pub success: bool,
    pub error_code: Option<&'a str>,
    pub latency_ms: i32,
    pub client_ip: Option<&'a str>,
}

/// Inserts the entries in one statement; a value PostgreSQL cannot hold is made storable first
/// (see [`crate::text`]), so what a caller sent never keeps its row, or the batch, out of the log.
pub fn insert_many(conn: &mut PgConnection, entries: &[NewRequestLog<'_>]) -> Result<(), StorageError> {
    let stored: Vec<StoredRequestLog<'_>> = entries.iter().map(StoredRequestLog::from).collect();
    diesel::insert_into(gateway_requests::table).values(&stored).execute(conn)?;
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = gateway_requests)]
struct StoredRequestLog<'a> {
    app_id: Option<Cow<'a, str>>,
    method: Option<Cow<'a, str>>,
    trade_no: Option<Cow<'a, str>>,
    request: Cow<'a, str>,
    reply: Cow<'a, str>,
    success: bool,
    error_code: Option<Cow<'a, str>>,
    latency_ms: i32,
    client_ip: Option<Cow<'a, str>>,
    request_chars: i32,
    reply_chars: i32,
}

impl<'a> From<&NewRequestLog<'a>> for StoredRequestLog<'a> {
    fn from(entry: &NewRequestLog<'a>) -> Self {
        let (request, reply) = (storable(entry.request), storable(entry.reply));
        StoredRequestLog {
            app_id: entry.app_id.map(storable),
            method: entry.method.map(storable),
            trade_no: entry.trade_no.map(storable),
            request_chars: chars(&request),
            reply_chars: chars(&reply),
            request,
            reply,
            success: entry.success,
            error_code: entry.error_code.map(storable),
            latency_ms: entry.latency_ms,
            client_ip: entry.client_ip.map(storable),
        }
    }
}

/// A text's length in characters, as PostgreSQL's `char_length` counts them.
fn chars(text: &str) -> i32 {
    i32::try_from(text.chars().count()).unwrap_or(i32::MAX)
}

/// How much of a request or of a reply a list of exchanges holds: a downloadbill reply carries the
/// merchant's whole bill, and fifty of them would make the list as large as the bills. The
/// exchange's own page holds it whole.
pub const EXCERPT_CHARS: i32 = 2000;

/// A logged exchange. From [`list`], `request` and `reply` are their first [`EXCERPT_CHARS`]
/// characters; from [`find`], whole. `request_chars` and `reply_chars` are always the whole
/// lengths.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct RequestLogRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub app_id: Option<String>,
    pub method: Option<String>,
    pub trade_no: Option<String>,
    pub request: String,
    pub reply: String,
    pub success: bool,
    pub error_code: Option<String>,
    pub latency_ms: i32,
    pub client_ip: Option<String>,
    pub request_chars: i32,
    pub reply_chars: i32,
}

impl RequestLogRow {
    /// Whether `request` or `reply` is cut short.
    pub fn is_excerpt(&self) -> bool {
        self.request.chars().count() < self.request_chars as usize
            || self.reply.chars().count() < self.reply_chars as usize
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub app_id: Option<String>,
    pub method: Option<String>,
    pub trade_no: Option<String>,
    pub failures_only: bool,
    pub before_id: Option<i64>,
}

type Texts = diesel::expression::SqlLiteral<diesel::sql_types::Text>;
type Length = diesel::expression::SqlLiteral<diesel::sql_types::Integer>;

/// The columns of a [`RequestLogRow`], request and reply given by `texts`.
#[allow(clippy::type_complexity)]
fn columns(
    texts: [&str; 2],
) -> (
    gateway_requests::id,
    gateway_requests::at,
    gateway_requests::app_id,
    gateway_requests::method,
    gateway_requests::trade_no,
    Texts,
    Texts,
    gateway_requests::success,
    gateway_requests::error_code,
    gateway_requests::latency_ms,
    gateway_requests::client_ip,
    Length,
    Length,
) {
    use diesel::dsl::sql;
    use gateway_requests::*;
    let [request_text, reply_text] = texts;
    (
        id,
        at,
        app_id,
        method,
        trade_no,
        sql(request_text),
        sql(reply_text),
        success,
        error_code,
        latency_ms,
        client_ip,
        // Rows logged before the lengths were kept are counted as they are read.
        sql("coalesce(request_chars, char_length(request))"),
        sql("coalesce(reply_chars, char_length(reply))"),
    )
}

/// Newest first, request and reply cut to [`EXCERPT_CHARS`].
pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<RequestLogRow>, StorageError> {
    // substr, not left: it decompresses only the excerpt's bytes of a long reply, left the whole.
    let excerpts = [format!("substr(request, 1, {EXCERPT_CHARS})"), format!("substr(reply, 1, {EXCERPT_CHARS})")];
    let mut query = gateway_requests::table.select(columns([&excerpts[0], &excerpts[1]])).into_boxed();
    if let Some(app_id) = &filter.app_id {
        query = query.filter(gateway_requests::app_id.eq(app_id));
    }
    if let Some(method) = &filter.method {
        query = query.filter(gateway_requests::method.eq(method));
    }
    if let Some(trade_no) = &filter.trade_no {
        query = query.filter(gateway_requests::trade_no.eq(trade_no));
    }
    if filter.failures_only {
        query = query.filter(gateway_requests::success.eq(false));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(gateway_requests::id.lt(before));
    }
    Ok(query.order(gateway_requests::id.desc()).limit(limit).load(conn)?)
}

/// One exchange, whole.
pub fn find(conn: &mut PgConnection, id: i64) -> Result<Option<RequestLogRow>, StorageError> {
    Ok(gateway_requests::table
        .filter(gateway_requests::id.eq(id))
        .select(columns(["request", "reply"]))
        .first(conn)
        .optional()?)
}
