//! The background job queue, in PostgreSQL.
//!
//! Enqueue inside the transaction of the state change that causes the job (an outbox), so a job
//! exists exactly when its cause committed. Workers [`claim`] due jobs with `FOR UPDATE SKIP
//! LOCKED` and take a lease in one short transaction, run them with no transaction open, then
//! [`complete`] or [`fail`] them. A worker that dies leaves a lease that simply expires, and the job
//! runs again: handlers must be idempotent.
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Interval, Jsonb, Text},
};
use serde_json::Value;

use crate::{StorageError, schema::jobs};

/// Longest error text kept per job; the full chain goes to the log.
const MAX_ERROR_LENGTH: usize = 2_000;

/// A kind of background job: its payload is the type itself, stored as JSON under [`Job::KIND`].
/// Business crates define their jobs and the functions that run them; the server only registers
/// each kind with its handler (crates.io's `BackgroundJob` shape).
pub trait Job: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {
    /// The stored name of the kind; never changes once jobs of it exist.
    const KIND: &'static str;

    /// A job to run now, once.
    fn now(&self) -> Result<NewJob, StorageError> {
        let payload = serde_json::to_value(self).map_err(|error| StorageError::Payload(error.to_string()))?;
        Ok(NewJob::now(Self::KIND, payload))
    }

    /// Reads a claimed job's payload back.
    fn from_payload(payload: Value) -> Result<Self, StorageError> {
        serde_json::from_value(payload).map_err(|error| StorageError::Payload(error.to_string()))
    }
}

pub struct NewJob {
    pub kind: &'static str,
    pub payload: Value,
    /// At most one job ever exists per key (e.g. `purge_login_attempts:2026-11-21`).
    pub unique_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn now(kind: &'static str, payload: Value) -> NewJob {
        NewJob { kind, payload, unique_key: None, run_at: Utc::now(), max_attempts: 5 }
    }
}

/// Returns the new job's id, or `None` when a job with the same unique key already exists.
pub fn enqueue(conn: &mut PgConnection, job: NewJob) -> Result<Option<i64>, StorageError> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(job.kind),
            jobs::payload.eq(job.payload),
            jobs::unique_key.eq(job.unique_key),
            jobs::run_at.eq(job.run_at),
            jobs::max_attempts.eq(job.max_attempts),
        ))
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result(conn)
        .optional()?)
}

/// Enqueues many jobs in one statement (those whose unique key is taken are skipped).
pub fn enqueue_many(conn: &mut PgConnection, new: Vec<NewJob>) -> Result<usize, StorageError> {
    if new.is_empty() {
        return Ok(0);
    }
    let values: Vec<_> = new
        .into_iter()
        .map(|job| {
            (
                jobs::kind.eq(job.kind),
                jobs::payload.eq(job.payload),
                jobs::unique_key.eq(job.unique_key),
                jobs::run_at.eq(job.run_at),
                jobs::max_attempts.eq(job.max_attempts),
            )
        })
        .collect();
    Ok(diesel::insert_into(jobs::table).values(&values).on_conflict_do_nothing().execute(conn)?)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedJob {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
    /// Including this attempt.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// Claims up to `limit` due jobs and leases them for `lease`. Several workers on several nodes
/// never claim the same job while its lease runs.
pub fn claim(conn: &mut PgConnection, lease: Duration, limit: i64) -> Result<Vec<ClaimedJob>, StorageError> {
    let lease =
        diesel::pg::data_types::PgInterval::from_microseconds(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
    Ok(diesel::sql_query(
        "UPDATE jobs SET locked_until = now() + $1, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM jobs
             WHERE failed_at IS NULL AND completed_at IS NULL AND run_at <= now()
               AND (locked_until IS NULL OR locked_until < now())
             ORDER BY run_at, id
             LIMIT $2
             FOR UPDATE SKIP LOCKED)
         RETURNING id, kind, payload, attempts, max_attempts",
    )
    .bind::<Interval, _>(lease)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

pub fn complete(conn: &mut PgConnection, id: i64) -> Result<(), StorageError> {
    diesel::update(jobs::table.find(id))
        .set((jobs::completed_at.eq(crate::database::db_now()), jobs::locked_until.eq(None::<DateTime<Utc>>)))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at` while attempts remain, otherwise parked as
/// failed for an operator to look at.
pub fn fail(
    conn: &mut PgConnection,
    job: &ClaimedJob,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let error: String = error.chars().take(MAX_ERROR_LENGTH).collect();
    let target = jobs::table.find(job.id);
    if job.attempts >= job.max_attempts {
        diesel::update(target)
            .set((
                jobs::last_error.eq(error),
                jobs::failed_at.eq(crate::database::db_now()),
                jobs::locked_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((jobs::last_error.eq(error), jobs::run_at.eq(retry_at), jobs::locked_until.eq(None::<DateTime<Utc>>)))
            .execute(conn)?;
    }
    Ok(())
}

/// Queue depth for `/metrics`: jobs waiting (due or scheduled) and jobs parked as failed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    pub pending: i64,
    pub failed: i64,
}

pub fn depth(conn: &mut PgConnection) -> Result<Depth, StorageError> {
    let pending =
        jobs::table.filter(jobs::failed_at.is_null()).filter(jobs::completed_at.is_null()).count().get_result(conn)?;
    let failed = jobs::table.filter(jobs::failed_at.is_not_null()).count().get_result(conn)?;
    Ok(Depth { pending, failed })
}

/// Housekeeping: forgets completed jobs older than `before`.
pub fn purge_completed_before(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(jobs::table.filter(jobs::completed_at.lt(before))).execute(conn)?)
}
