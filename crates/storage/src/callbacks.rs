//! Inbound channel callbacks, each kept with what became of it.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::orders::CallbackOutcome;
use serde_json::Value;

use crate::{
    StorageError,
    notifications::NewNotification,
    schema::channel_callbacks,
    text::{storable, storable_json},
};

pub fn record(
    conn: &mut PgConnection,
    channel: &str,
    trade_no: Option<&str>,
    payload: Value,
    outcome: CallbackOutcome,
    needs_attention: bool,
) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(channel_callbacks::table)
        .values((
            channel_callbacks::channel.eq(channel),
            channel_callbacks::trade_no.eq(trade_no.map(storable)),
            channel_callbacks::payload.eq(storable_json(&payload).as_ref()),
            channel_callbacks::outcome.eq(outcome),
            channel_callbacks::needs_attention.eq(needs_attention),
        ))
        .returning(channel_callbacks::id)
        .get_result(conn)?)
}

/// A callback as received, with what became of it.
pub struct NewCallback<'a> {
    pub channel: &'a str,
    pub trade_no: Option<&'a str>,
    pub payload: &'a Value,
    pub outcome: CallbackOutcome,
    pub needs_attention: bool,
}

/// Records callbacks and queues the notifications they caused, in one statement (prepared once
/// per connection, whatever the counts).
pub fn record_with_notifications(
    conn: &mut PgConnection,
    callbacks: &[NewCallback<'_>],
    notifications: &[NewNotification<'_>],
) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text};
    if callbacks.is_empty() && notifications.is_empty() {
        return Ok(());
    }
    crate::database::PreparedSql::new(
        "WITH notification AS (
             INSERT INTO notifications (kind, order_id, app_id, url, fields)
             SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::jsonb[]))
         INSERT INTO channel_callbacks (channel, trade_no, payload, outcome, needs_attention)
         SELECT * FROM unnest(?::text[], ?::text[], ?::jsonb[], ?::text[], ?::boolean[])",
    )
    .bind::<Array<Text>, _>(notifications.iter().map(|n| n.kind).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(notifications.iter().map(|n| n.order_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(notifications.iter().map(|n| n.app_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(notifications.iter().map(|n| n.url).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(notifications.iter().map(|n| &n.fields).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(callbacks.iter().map(|c| c.channel).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(callbacks.iter().map(|c| c.trade_no.map(storable)).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(callbacks.iter().map(|c| storable_json(c.payload)).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(callbacks.iter().map(|c| c.outcome).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(callbacks.iter().map(|c| c.needs_attention).collect::<Vec<_>>())
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = channel_callbacks)]
pub struct CallbackRow {
    pub id: i64,
    pub channel: String,
    pub trade_no: Option<String>,
    pub payload: Value,
    pub outcome: CallbackOutcome,
    pub needs_attention: bool,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// Callbacks waiting for an operator, newest first.
pub fn needing_attention(conn: &mut PgConnection, limit: i64) -> Result<Vec<CallbackRow>, StorageError> {
    Ok(channel_callbacks::table
        .filter(channel_callbacks::needs_attention.eq(true))
        .filter(channel_callbacks::resolved_at.is_null())
        .order(channel_callbacks::id.desc())
        .limit(limit)
        .select(CallbackRow::as_select())
        .load(conn)?)
}

pub fn for_trade_no(conn: &mut PgConnection, trade_no: &str) -> Result<Vec<CallbackRow>, StorageError> {
    Ok(channel_callbacks::table
        .filter(channel_callbacks::trade_no.eq(trade_no))
        .order(channel_callbacks::id.asc())
        .select(CallbackRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut PgConnection, id: i64) -> Result<Option<CallbackRow>, StorageError> {
    Ok(channel_callbacks::table.find(id).select(CallbackRow::as_select()).first(conn).optional()?)
}

/// The console's list of callbacks kept for an operator: those still waiting (`resolved` false)
/// or those already handled, newest first; `before_id` is the keyset cursor.
#[derive(Debug, Clone, Default)]
pub struct AttentionFilter {
    pub resolved: bool,
    pub before_id: Option<i64>,
}

pub fn list_for_attention(
    conn: &mut PgConnection,
    filter: &AttentionFilter,
    limit: i64,
) -> Result<Vec<CallbackRow>, StorageError> {
    let mut query = channel_callbacks::table
        .filter(channel_callbacks::needs_attention.eq(true))
        .select(CallbackRow::as_select())
        .into_boxed();
    query = if filter.resolved {
        query.filter(channel_callbacks::resolved_at.is_not_null())
    } else {
        query.filter(channel_callbacks::resolved_at.is_null())
    };
    if let Some(before) = filter.before_id {
        query = query.filter(channel_callbacks::id.lt(before));
    }
    Ok(query.order(channel_callbacks::id.desc()).limit(limit).load(conn)?)
}

/// How many callbacks wait for an operator (the dashboard's count).
pub fn count_needing_attention(conn: &mut PgConnection) -> Result<i64, StorageError> {
    Ok(channel_callbacks::table
        .filter(channel_callbacks::needs_attention.eq(true))
        .filter(channel_callbacks::resolved_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Records how an operator handled a callback. Guarded: only a callback that needs attention and is
/// not yet resolved is changed, so two operators cannot both resolve it; false otherwise.
pub fn resolve(
    conn: &mut PgConnection,
    id: i64,
    resolved_by: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let target = channel_callbacks::table
        .find(id)
        .filter(channel_callbacks::needs_attention.eq(true))
        .filter(channel_callbacks::resolved_at.is_null());
    Ok(diesel::update(target)
        .set((
            channel_callbacks::resolved_by.eq(resolved_by),
            channel_callbacks::resolution_note.eq(note),
            channel_callbacks::resolved_at.eq(now),
        ))
        .execute(conn)?
        == 1)
}
