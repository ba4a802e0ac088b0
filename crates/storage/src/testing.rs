//! Per-test databases, cloned from a migrated template (the crates.io pattern).
//!
//! The template is built once per schema version (a hash of the migrations) and shared by every
//! test process; each test gets `CREATE DATABASE … TEMPLATE …`, which takes milliseconds, and the
//! database is dropped when the [`TestDatabase`] is.
use diesel::{Connection, PgConnection, RunQueryDsl, connection::SimpleConnection, sql_query};

use crate::database::{run_migrations, split_database_url};

/// The server the tests use; any database name in it is replaced.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(database: &str) -> String {
    let (maintenance, _) = split_database_url(&server_url()).expect("DATABASE_URL names a database");
    match maintenance.split_once('?') {
        Some((head, query)) => format!("{}/{database}?{query}", head.trim_end_matches("/postgres")),
        None => format!("{}/{database}", maintenance.trim_end_matches("/postgres")),
    }
}

fn maintenance_connection() -> PgConnection {
    PgConnection::establish(&url_for("postgres")).expect("tests need PostgreSQL (see README)")
}

fn template_name() -> String {
    format!("liquidator_template_{}", env!("MIGRATIONS_HASH"))
}

/// Builds the template once; an advisory lock keeps concurrent test processes from racing.
fn ensure_template() -> String {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = template_name();
            let mut conn = maintenance_connection();
            sql_query("SELECT pg_advisory_lock(7355608)").execute(&mut conn).expect("advisory lock");
            let ready: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "(SELECT count(*) FROM pg_database WHERE datname = '{name}' AND datistemplate)"
            )))
            .get_result(&mut conn)
            .expect("query pg_database");
            if ready == 0 {
                // A half-built template from a crashed run is not a template yet: rebuild it.
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .expect("drop half-built template");
                conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("create template database");
                let mut template = PgConnection::establish(&url_for(&name)).expect("connect to template");
                run_migrations(&mut template).expect("migrate template");
                drop(template);
                conn.batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE true")).expect("mark template");
            }
            sql_query("SELECT pg_advisory_unlock(7355608)").execute(&mut conn).expect("advisory unlock");
            name
        })
        .clone()
}

/// A fresh, migrated database for one test, dropped at the end of the test.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        let template = ensure_template();
        let name = format!("liquidator_test_{}", uuid::Uuid::new_v4().simple());
        maintenance_connection()
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .expect("clone template database");
        TestDatabase { url: url_for(&name), name }
    }

    /// An empty database with no migrations applied (for migration tests).
    pub fn empty() -> TestDatabase {
        let name = format!("liquidator_test_{}", uuid::Uuid::new_v4().simple());
        maintenance_connection().batch_execute(&format!("CREATE DATABASE {name}")).expect("create empty database");
        TestDatabase { url: url_for(&name), name }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn connection(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        TestDatabase::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let result =
            maintenance_connection().batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        if let Err(error) = result {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}
