//! The connection pool, embedded migrations and database creation.
use std::{marker::PhantomData, time::Duration};

use diesel::{
    PgConnection, QueryResult, RunQueryDsl,
    connection::SimpleConnection,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    r2d2::{ConnectionManager, CustomizeConnection, PooledConnection},
    serialize::ToSql,
    sql_query,
    sql_types::{HasSqlType, Untyped},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type Pool = diesel::r2d2::Pool<ConnectionManager<PgConnection>>;
pub type Conn = PooledConnection<ConnectionManager<PgConnection>>;
pub type PoolError = diesel::r2d2::PoolError;

/// Errors of this crate. Database errors keep their cause for the log; callers map them to an
/// opaque message for clients.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available")]
    Pool(#[from] PoolError),
    #[error("could not connect to the database")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("a job's payload does not fit its kind: {0}")]
    Payload(String),
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    #[error("database task did not finish")]
    TaskFailed,
}

impl StorageError {
    /// True when the error is a unique-constraint violation (an idempotency or duplicate check).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// The database's clock as a nullable timestamp, so every node stamps rows with one clock.
pub fn db_now() -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql("now()")
}

/// Builds the pool. Connections are not tested on every checkout (that costs a round trip per
/// use); a connection that fails is marked broken by diesel and r2d2 replaces it, so a restarted
/// database costs at most one failed request per pooled connection.
pub fn connect(database_url: &str, max_size: u32) -> Result<Pool, StorageError> {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    Ok(diesel::r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .connection_customizer(Box::new(SessionSettings))
        .build(manager)?)
}

/// What every session of ours runs with. JIT off: the settlement worker's probe queries (one index
/// lookup per merchant) are estimated far above `jit_above_cost`, and compiling them took 150–250 ms
/// per run against 10 ms of execution; nothing here scans enough rows for JIT to pay.
pub const SESSION_SETTINGS: &str = "SET jit = off";

/// Runs `f` in a transaction (a savepoint inside a caller's): committed if `f` succeeds, rolled
/// back otherwise. `f` fails with the caller's own error type; a failure of the transaction itself
/// (begin, commit, rollback) reaches the caller as a [`StorageError`] in it, so no business error
/// type needs to know diesel's.
pub fn transaction<T, E: From<StorageError>>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    use diesel::Connection;
    conn.transaction::<T, Failure<E>, _>(|conn| f(conn).map_err(Failure::Caller)).map_err(Failure::into_caller)
}

/// Runs `f` in a transaction with `settings` local to it (`SET LOCAL …`). A new transaction is
/// opened with `BEGIN` and the settings sent together, one round trip instead of two; inside a
/// caller's transaction it is a savepoint, the settings then lasting until the caller's ends.
/// Committed if `f` succeeds, rolled back otherwise (as [`transaction`] is).
pub fn transaction_with_settings<T, E: From<StorageError>>(
    conn: &mut PgConnection,
    settings: &str,
    f: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let storage = |error: diesel::result::Error| E::from(StorageError::from(error));
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth().map_err(storage)?;
    if depth.is_some() {
        return transaction(conn, |conn| {
            conn.batch_execute(settings).map_err(storage)?;
            f(conn)
        });
    }
    AnsiTransactionManager::begin_transaction_sql(conn, &format!("BEGIN; {settings}")).map_err(storage)?;
    match f(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).map_err(storage)?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(storage(rollback)),
        },
    }
}

/// Whether a transaction is open on `conn` (a caller's, which a new one would join as a
/// savepoint). An unknown state counts as open: the safe answer for callers that would otherwise
/// open their own.
pub fn in_transaction(conn: &mut PgConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some())
}

/// Runs `read` in one read-only, repeatable-read snapshot, so a report's queries agree with each
/// other; inside a caller's transaction the reads simply join it.
pub fn snapshot<T, E: From<StorageError>>(
    conn: &mut PgConnection,
    read: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    if in_transaction(conn) {
        return read(conn);
    }
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run::<T, Failure<E>, _>(|conn| read(conn).map_err(Failure::Caller))
        .map_err(Failure::into_caller)
}

/// An error of a transaction's body, or of the transaction around it.
enum Failure<E> {
    Database(diesel::result::Error),
    Caller(E),
}

impl<E> From<diesel::result::Error> for Failure<E> {
    fn from(error: diesel::result::Error) -> Self {
        Failure::Database(error)
    }
}

impl<E: From<StorageError>> Failure<E> {
    fn into_caller(self) -> E {
        match self {
            Failure::Database(error) => E::from(StorageError::from(error)),
            Failure::Caller(error) => error,
        }
    }
}

/// Applies [`SESSION_SETTINGS`] to a connection made outside the pool (tools, benchmarks).
pub fn apply_session_settings(conn: &mut PgConnection) -> Result<(), StorageError> {
    Ok(conn.batch_execute(SESSION_SETTINGS)?)
}

#[derive(Debug)]
struct SessionSettings;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(SESSION_SETTINGS).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Applies every pending migration. Safe to call from several nodes at once: an advisory lock
/// serialises them.
pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, StorageError> {
    // Any constant works; it only has to be the same on every node.
    const MIGRATION_LOCK: i64 = 0x6c69_7175_6964;
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(conn)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.len())
        .map_err(|error| StorageError::Migration(error.to_string()));
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn)?;
    applied
}

/// Reverts every applied migration (used by tests and by operators rolling back a release).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<usize, StorageError> {
    conn.revert_all_migrations(MIGRATIONS)
        .map(|versions| versions.len())
        .map_err(|error| StorageError::Migration(error.to_string()))
}

/// Splits `postgres://…/name?opts` into the server part (pointing at the `postgres` maintenance
/// database) and the database name.
pub fn split_database_url(database_url: &str) -> Result<(String, String), StorageError> {
    let (without_query, query) = match database_url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (database_url, None),
    };
    let (server, name) = without_query
        .rsplit_once('/')
        .filter(|(server, name)| server.contains("://") && !server.ends_with('/') && !name.is_empty())
        .ok_or_else(|| StorageError::InvalidUrl("expected postgres://host/database".into()))?;
    let mut maintenance = format!("{server}/postgres");
    if let Some(query) = query {
        maintenance.push('?');
        maintenance.push_str(query);
    }
    Ok((maintenance, name.to_string()))
}

/// Creates the database named in the url if it does not exist yet. Returns true if it was created.
pub fn create_database_if_missing(database_url: &str) -> Result<bool, StorageError> {
    use diesel::Connection;
    let (maintenance_url, name) = split_database_url(database_url)?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(StorageError::InvalidUrl(format!("unsupported database name {name:?}")));
    }
    let mut conn = PgConnection::establish(&maintenance_url)?;
    let exists: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "(SELECT count(*) FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result(&mut conn)?;
    if exists > 0 {
        return Ok(false);
    }
    match conn.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
        Ok(()) => Ok(true),
        // Another process created it between our check and our CREATE.
        Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("already exists") => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Runs a blocking database closure on the pool from async code. Used by every async caller so no
/// runtime thread blocks on PostgreSQL, and a started transaction always runs to its end even if
/// the HTTP client goes away.
pub async fn run_blocking<T, E, F>(pool: &Pool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    let pool = pool.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(StorageError::from)?;
        work(&mut conn)
    })
    .await;
    // A panic inside the closure is a bug; it is logged and reported as an error, never re-raised
    // into the request that happened to trigger it.
    joined.unwrap_or_else(|join_error| {
        tracing::error!(error = %join_error, "database task panicked or was cancelled");
        Err(StorageError::TaskFailed.into())
    })
}

/// Hand-written SQL that diesel keeps prepared on the connection, like its own query builder's
/// statements: `sql_query` is parsed and planned again on every call, which cost the payment path
/// a sixth of its database time. Parameters are written `?` and bound once each, in order (so the
/// SQL must not use `?` otherwise, e.g. as a jsonb operator).
pub struct PreparedSql<'a> {
    sql: &'static str,
    binds: Vec<Box<dyn PushBind + 'a>>,
}

trait PushBind {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Bind<ST, T>(T, PhantomData<ST>);

impl<ST, T> PushBind for Bind<ST, T>
where
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.0)
    }
}

impl<'a> PreparedSql<'a> {
    pub fn new(sql: &'static str) -> PreparedSql<'a> {
        PreparedSql { sql, binds: Vec::new() }
    }

    /// Binds the next `?`.
    pub fn bind<ST: 'a, T: ToSql<ST, Pg> + 'a>(mut self, value: T) -> PreparedSql<'a>
    where
        Pg: HasSqlType<ST>,
    {
        self.binds.push(Box::new(Bind(value, PhantomData::<ST>)));
        self
    }
}

impl QueryFragment<Pg> for PreparedSql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let placeholders = self.sql.matches('?').count();
        if placeholders != self.binds.len() {
            let message = format!("{} parameters bound for {placeholders} placeholders", self.binds.len());
            return Err(diesel::result::Error::QueryBuilderError(message.into()));
        }
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        for (bind, part) in self.binds.iter().zip(parts) {
            bind.push(&mut out)?;
            out.push_sql(part);
        }
        Ok(())
    }
}

impl QueryId for PreparedSql<'_> {
    type QueryId = ();
    // Cached by its SQL text (and bind types), not by a type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for PreparedSql<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for PreparedSql<'_> {}

/// A round trip that proves the connection works (`/readyz`).
pub fn ping(conn: &mut PgConnection) -> Result<(), StorageError> {
    sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (server, name) = split_database_url("postgres://u@127.0.0.1:5432/liq?sslmode=disable").unwrap();
        assert_eq!(server, "postgres://u@127.0.0.1:5432/postgres?sslmode=disable");
        assert_eq!(name, "liq");
        assert!(split_database_url("postgres://host").is_err());
        assert!(split_database_url("not a url").is_err());
    }
}
