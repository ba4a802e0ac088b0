//! PostgreSQL, the system of record, and Redis, the cache that may be lost.
//!
//! This crate owns the diesel schema, the connection pool, the embedded migrations, the job queue
//! and the queries other crates call. It never speaks HTTP and holds no business rules: callers open
//! a transaction with [`Pool::get`] + `conn.transaction(..)` and call the query functions inside it.
pub mod apps;
pub mod audit;
pub mod cache;
pub mod callbacks;
pub mod database;
pub mod gateway_log;
pub mod jobs;
pub mod ledger;
pub mod ledger_reports;
pub mod ledger_rollups;
pub mod ledger_statement_copies;
pub mod ledger_verification;
pub mod login_attempts;
pub mod merchants;
pub mod micro_deposits;
pub mod notifications;
pub mod operators;
pub mod orders;
pub mod page;
pub mod payouts;
pub mod platform_keys;
pub mod rates;
pub mod reconciliation;
pub mod retention;
pub mod sandbox_payouts;
pub mod schema;
pub mod settings;
pub mod settlements;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod upstream;
pub mod upstream_calls;

pub use cache::Cache;
pub use database::{Conn, Pool, PoolError, StorageError, connect, run_migrations};
