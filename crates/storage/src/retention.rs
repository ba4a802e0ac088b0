//! Removing what append-only logs hold beyond their retention, oldest first, in bounded batches:
//! the request log, notification attempts and settled payment callbacks. The ledger, orders,
//! payouts and the audit log are never removed.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::StorageError;

/// A log with a retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// `gateway_requests`: every gateway request and its reply.
    GatewayRequests,
    /// `notification_attempts`: each send of a notification to a merchant's server.
    NotificationAttempts,
    /// `channel_callbacks` that need no one's attention (applied, duplicates, or resolved).
    SettledCallbacks,
}

impl Log {
    pub const ALL: [Log; 3] = [Log::GatewayRequests, Log::NotificationAttempts, Log::SettledCallbacks];

    pub fn as_str(self) -> &'static str {
        match self {
            Log::GatewayRequests => "gateway_requests",
            Log::NotificationAttempts => "notification_attempts",
            Log::SettledCallbacks => "channel_callbacks",
        }
    }

    /// Deletes up to `batch` of the oldest rows written before `before`. Ids grow with time, so
    /// the oldest rows are read by primary key; a log whose oldest row is recent is not scanned.
    fn purge_sql(self) -> &'static str {
        match self {
            Log::GatewayRequests => {
                "WITH old AS (SELECT id FROM gateway_requests
                               WHERE (SELECT at FROM gateway_requests ORDER BY id LIMIT 1) < $1 AND at < $1
                               ORDER BY id LIMIT $2)
                 DELETE FROM gateway_requests g USING old WHERE g.id = old.id"
            }
            Log::NotificationAttempts => {
                "WITH old AS (SELECT id FROM notification_attempts
                               WHERE (SELECT at FROM notification_attempts ORDER BY id LIMIT 1) < $1 AND at < $1
                               ORDER BY id LIMIT $2)
                 DELETE FROM notification_attempts a USING old WHERE a.id = old.id"
            }
            Log::SettledCallbacks => {
                "WITH old AS (SELECT id FROM channel_callbacks
                               WHERE (SELECT received_at FROM channel_callbacks ORDER BY id LIMIT 1) < $1
                                 AND received_at < $1 AND (NOT needs_attention OR resolved_at IS NOT NULL)
                               ORDER BY id LIMIT $2)
                 DELETE FROM channel_callbacks c USING old WHERE c.id = old.id"
            }
        }
    }
}

/// Deletes one batch of `log`'s rows older than `before`; returns how many went.
pub fn purge_batch(
    conn: &mut PgConnection,
    log: Log,
    before: DateTime<Utc>,
    batch: i64,
) -> Result<usize, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    Ok(diesel::sql_query(log.purge_sql()).bind::<Timestamptz, _>(before).bind::<BigInt, _>(batch).execute(conn)?)
}
