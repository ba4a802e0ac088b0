//! How the outside upstreams answered, per method and minute, summed over every node.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{StorageError, schema::upstream_calls};

/// One node's calls of one method in one minute, to add to the deployment's.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = upstream_calls)]
pub struct MinuteCalls {
    pub upstream: String,
    pub method: String,
    pub minute: DateTime<Utc>,
    pub calls: i64,
    pub successes: i64,
    pub declines: i64,
    pub system_errors: i64,
    pub timeouts: i64,
    pub latency_ms_total: i64,
}

/// Adds the counts to what the minutes hold already.
pub fn add(conn: &mut PgConnection, minutes: &[MinuteCalls]) -> Result<(), StorageError> {
    use diesel::upsert::excluded;
    use upstream_calls as c;
    if minutes.is_empty() {
        return Ok(());
    }
    diesel::insert_into(c::table)
        .values(minutes)
        .on_conflict((c::upstream, c::method, c::minute))
        .do_update()
        .set((
            c::calls.eq(c::calls + excluded(c::calls)),
            c::successes.eq(c::successes + excluded(c::successes)),
            c::declines.eq(c::declines + excluded(c::declines)),
            c::system_errors.eq(c::system_errors + excluded(c::system_errors)),
            c::timeouts.eq(c::timeouts + excluded(c::timeouts)),
            c::latency_ms_total.eq(c::latency_ms_total + excluded(c::latency_ms_total)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every method's calls since `since`, summed over the deployment.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MethodTotals {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub upstream: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub method: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub calls: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub successes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub declines: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub system_errors: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub timeouts: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub latency_ms_total: i64,
}

pub fn totals_since(conn: &mut PgConnection, since: DateTime<Utc>) -> Result<Vec<MethodTotals>, StorageError> {
    use diesel::sql_types::Timestamptz;
    Ok(diesel::sql_query(
        "SELECT upstream, method, sum(calls)::bigint AS calls, sum(successes)::bigint AS successes,
                sum(declines)::bigint AS declines, sum(system_errors)::bigint AS system_errors,
                sum(timeouts)::bigint AS timeouts, sum(latency_ms_total)::bigint AS latency_ms_total
           FROM upstream_calls
          WHERE minute >= $1
          GROUP BY upstream, method
          ORDER BY upstream, method",
    )
    .bind::<Timestamptz, _>(since)
    .load(conn)?)
}

/// Forgets minutes before `before`; returns how many.
pub fn purge_before(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<usize, StorageError> {
    Ok(diesel::delete(upstream_calls::table.filter(upstream_calls::minute.lt(before))).execute(conn)?)
}
