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
}

impl<'a> From<&NewRequestLog<'a>> for StoredRequestLog<'a> {
    fn from(entry: &NewRequestLog<'a>) -> Self {
        StoredRequestLog {
            app_id: entry.app_id.map(storable),
            method: entry.method.map(storable),
            trade_no: entry.trade_no.map(storable),
            request: storable(entry.request),
            reply: storable(entry.reply),
            success: entry.success,
            error_code: entry.error_code.map(storable),
            latency_ms: entry.latency_ms,
            client_ip: entry.client_ip.map(storable),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = gateway_requests)]
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
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub app_id: Option<String>,
    pub method: Option<String>,
    pub trade_no: Option<String>,
    pub failures_only: bool,
    pub before_id: Option<i64>,
}

/// Newest first.
pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<RequestLogRow>, StorageError> {
    let mut query = gateway_requests::table.select(RequestLogRow::as_select()).into_boxed();
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
