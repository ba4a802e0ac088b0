//! Sign-in attempts, kept durably so throttling works when Redis is down and support can see them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{StorageError, schema::login_attempts};

pub fn record(conn: &mut PgConnection, username: &str, client_ip: &str, succeeded: bool) -> Result<(), StorageError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::username.eq(crate::text::storable(username)),
            login_attempts::client_ip.eq(crate::text::storable(client_ip)),
            login_attempts::succeeded.eq(succeeded),
        ))
        .execute(conn)?;
    Ok(())
}

/// Failed attempts for this username since `since` that came after its last success.
pub fn recent_failures(conn: &mut PgConnection, username: &str, since: DateTime<Utc>) -> Result<i64, StorageError> {
    // Looked up as it was recorded: whatever was typed, made storable.
    let username = crate::text::storable(username);
    let last_success: Option<DateTime<Utc>> = login_attempts::table
        .filter(login_attempts::username.eq(&username))
        .filter(login_attempts::succeeded.eq(true))
        .filter(login_attempts::at.ge(since))
        .select(diesel::dsl::max(login_attempts::at))
        .first(conn)?;
    let since = last_success.map_or(since, |at| at.max(since));
    Ok(login_attempts::table
        .filter(login_attempts::username.eq(&username))
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Housekeeping: drops attempts older than `before`.
pub fn purge_older_than(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(login_attempts::table.filter(login_attempts::at.lt(before))).execute(conn)?)
}

/// Failed attempts from this client address since `since` (any username).
pub fn recent_failures_from(
    conn: &mut PgConnection,
    client_ip: &str,
    since: DateTime<Utc>,
) -> Result<i64, StorageError> {
    Ok(login_attempts::table
        .filter(login_attempts::client_ip.eq(crate::text::storable(client_ip)))
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::at.gt(since))
        .count()
        .get_result(conn)?)
}
