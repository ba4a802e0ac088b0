//! The notification outbox (seed 001 schedule) and its delivery attempts. Rows are written in the
//! transaction of the state change they announce; senders claim due rows with `SKIP LOCKED` and a
//! lease, deliver with no transaction open, then record the attempt.
use domain::{AppRowId, NotificationId, OrderId};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Interval},
};
use domain::orders::{NotificationKind, NotificationState};
use serde_json::Value;

use crate::{
    StorageError,
    schema::{notification_attempts, notifications},
};

pub struct NewNotification<'a> {
    pub kind: NotificationKind,
    pub order_id: Option<OrderId>,
    pub app_id: AppRowId,
    pub url: &'a str,
    pub fields: Value,
}

pub fn enqueue(conn: &mut PgConnection, notification: NewNotification<'_>) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(notifications::table)
        .values((
            notifications::kind.eq(notification.kind),
            notifications::order_id.eq(notification.order_id),
            notifications::app_id.eq(notification.app_id),
            notifications::url.eq(notification.url),
            notifications::fields.eq(notification.fields),
        ))
        .returning(notifications::id)
        .get_result(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, serde::Serialize)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub order_id: Option<OrderId>,
    pub app_id: AppRowId,
    pub url: String,
    pub fields: Value,
    pub state: NotificationState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` notifications due at `now` and leases them.
pub fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<NotificationRow>, StorageError> {
    let lease =
        diesel::pg::data_types::PgInterval::from_microseconds(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
    Ok(diesel::sql_query(
        "UPDATE notifications SET locked_until = $1 + $2
         WHERE id IN (
             SELECT id FROM notifications
             WHERE state = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
             ORDER BY next_attempt_at, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<Interval, _>(lease)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

pub struct Attempt<'a> {
    pub http_status: Option<i32>,
    pub body_excerpt: Option<&'a str>,
    pub error: Option<&'a str>,
    pub latency_ms: i32,
    pub delivered: bool,
}

/// Records an attempt and moves the notification on: delivered, rescheduled at `next_attempt_at`,
/// or failed for good when `next_attempt_at` is `None`. `first_attempt_at` anchors the schedule.
pub fn record_attempt(
    conn: &mut PgConnection,
    id: NotificationId,
    at: DateTime<Utc>,
    first_attempt_at: DateTime<Utc>,
    attempt: Attempt<'_>,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        insert_attempt(conn, id, at, &attempt)?;
        let state = match (attempt.delivered, next_attempt_at) {
            (true, _) => NotificationState::Delivered,
            (false, Some(_)) => NotificationState::Pending,
            (false, None) => NotificationState::Failed,
        };
        let row = notifications::table.find(id);
        diesel::update(row)
            .set((
                notifications::state.eq(state),
                notifications::attempts.eq(notifications::attempts + 1),
                notifications::first_attempt_at.eq(Some(first_attempt_at)),
                notifications::next_attempt_at.eq(next_attempt_at.unwrap_or(at)),
                notifications::locked_until.eq(None::<DateTime<Utc>>),
                notifications::delivered_at.eq(attempt.delivered.then_some(at)),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Every send, scheduled or extra, is kept in the history.
fn insert_attempt(
    conn: &mut PgConnection,
    id: NotificationId,
    at: DateTime<Utc>,
    attempt: &Attempt<'_>,
) -> Result<(), StorageError> {
    diesel::insert_into(notification_attempts::table)
        .values((
            notification_attempts::notification_id.eq(id),
            notification_attempts::at.eq(at),
            notification_attempts::http_status.eq(attempt.http_status),
            notification_attempts::body_excerpt.eq(attempt.body_excerpt),
            notification_attempts::error.eq(attempt.error),
            notification_attempts::latency_ms.eq(attempt.latency_ms),
            notification_attempts::delivered.eq(attempt.delivered),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a send beyond the schedule: "send again" on a notification that was already delivered
/// or had used its five sends. It is kept in the history like any attempt but neither counts toward
/// the five nor schedules another: the notification ends delivered if this send (or an earlier one)
/// was acknowledged, failed otherwise.
pub fn record_extra_attempt(
    conn: &mut PgConnection,
    id: NotificationId,
    at: DateTime<Utc>,
    attempt: Attempt<'_>,
) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        insert_attempt(conn, id, at, &attempt)?;
        let row = notifications::table.find(id);
        let released = (notifications::next_attempt_at.eq(at), notifications::locked_until.eq(None::<DateTime<Utc>>));
        if attempt.delivered {
            diesel::update(row)
                .set((
                    notifications::state.eq(NotificationState::Delivered),
                    notifications::delivered_at.eq(Some(at)),
                    released,
                ))
                .execute(conn)?;
        } else {
            let state = diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN delivered_at IS NULL THEN 'failed' ELSE 'delivered' END",
            );
            diesel::update(row).set((notifications::state.eq(state), released)).execute(conn)?;
        }
        Ok(())
    })
}

/// "Send again" from the console: one more attempt now, whatever the schedule said.
pub fn send_again(conn: &mut PgConnection, id: NotificationId, now: DateTime<Utc>) -> Result<bool, StorageError> {
    Ok(diesel::update(notifications::table.find(id))
        .set((
            notifications::state.eq(NotificationState::Pending),
            notifications::next_attempt_at.eq(now),
            notifications::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)?
        == 1)
}

pub fn find(conn: &mut PgConnection, id: NotificationId) -> Result<Option<NotificationRow>, StorageError> {
    Ok(notifications::table.find(id).select(NotificationRow::as_select()).first(conn).optional()?)
}

/// The notification, locked until the transaction ends: a sender's claim (`SKIP LOCKED`) passes it
/// by meanwhile, so whether it is leased cannot change under the caller.
pub fn find_for_update(conn: &mut PgConnection, id: NotificationId) -> Result<Option<NotificationRow>, StorageError> {
    Ok(notifications::table.find(id).select(NotificationRow::as_select()).for_update().first(conn).optional()?)
}

pub fn for_order(conn: &mut PgConnection, order_id: OrderId) -> Result<Vec<NotificationRow>, StorageError> {
    Ok(notifications::table
        .filter(notifications::order_id.eq(order_id))
        .order(notifications::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = notification_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub notification_id: NotificationId,
    pub at: DateTime<Utc>,
    pub http_status: Option<i32>,
    pub body_excerpt: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub delivered: bool,
}

pub fn attempts(conn: &mut PgConnection, notification_id: NotificationId) -> Result<Vec<AttemptRow>, StorageError> {
    Ok(notification_attempts::table
        .filter(notification_attempts::notification_id.eq(notification_id))
        .order(notification_attempts::id.asc())
        .select(AttemptRow::as_select())
        .load(conn)?)
}

pub fn pending_count(conn: &mut PgConnection) -> Result<i64, StorageError> {
    Ok(notifications::table.filter(notifications::state.eq(NotificationState::Pending)).count().get_result(conn)?)
}
