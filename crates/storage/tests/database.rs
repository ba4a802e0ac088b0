//! Storage against a real PostgreSQL: every test gets its own database.
use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use diesel::{Connection, RunQueryDsl, connection::SimpleConnection};
use storage::{
    audit, database, jobs,
    jobs::NewJob,
    operators::{self, Role, Username},
    settings,
    testing::TestDatabase,
};

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::empty();
    let mut conn = db.connection();
    let applied = storage::run_migrations(&mut conn).unwrap();
    assert!(applied >= 1);
    assert_eq!(storage::run_migrations(&mut conn).unwrap(), 0, "a second run applies nothing");
    assert_eq!(database::revert_all_migrations(&mut conn).unwrap(), applied);
    let leftover: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(leftover, 0, "down.sql must remove every table");
    assert_eq!(storage::run_migrations(&mut conn).unwrap(), applied);
}

#[test]
fn creates_a_missing_database_once() {
    let db = TestDatabase::empty();
    let url = format!("{}_created", db.url());
    assert!(database::create_database_if_missing(&url).unwrap());
    assert!(!database::create_database_if_missing(&url).unwrap());
    let name = format!("{}_created", db.name());
    db.connection().batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
}

#[test]
fn audit_log_is_append_only() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    let entry = audit::NewEntry {
        action: "operator.create",
        target: "operator:1".into(),
        before: None,
        after: Some(serde_json::json!({"role": "admin"})),
    };
    audit::record(&mut conn, &audit::Actor::cli(), entry).unwrap();
    assert!(conn.batch_execute("UPDATE audit_log SET actor = 'someone else'").is_err());
    assert!(conn.batch_execute("DELETE FROM audit_log").is_err());
    let rows = audit::list(&mut conn, &audit::Filter::default(), 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, "cli");
}

#[test]
fn operator_usernames_are_unique_and_roles_checked() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    let name = Username::parse("alice").unwrap();
    let alice = operators::insert(&mut conn, &name, "hash", Role::Viewer).unwrap();
    assert!(operators::insert(&mut conn, &name, "hash", Role::Admin).unwrap_err().is_unique_violation());
    assert!(conn.batch_execute("UPDATE operators SET role = 'root'").is_err(), "role is checked by the database");
    assert!(operators::set_disabled(&mut conn, alice.id, true).unwrap());
    assert!(!operators::set_disabled(&mut conn, alice.id, true).unwrap(), "guarded: already disabled");
    assert!(!operators::find(&mut conn, alice.id).unwrap().unwrap().is_active());
}

#[test]
fn settings_are_generated_once() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    let first = settings::get_or_init(&mut conn, "k", || "one".into()).unwrap();
    let second = settings::get_or_init(&mut conn, "k", || "two".into()).unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

#[test]
fn jobs_are_claimed_once_retried_and_parked() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    let mut job = NewJob::now("test", serde_json::json!({"n": 1}));
    job.max_attempts = 2;
    job.unique_key = Some("slot-1".into());
    let id = jobs::enqueue(&mut conn, job).unwrap().unwrap();
    let mut duplicate = NewJob::now("test", serde_json::json!({}));
    duplicate.unique_key = Some("slot-1".into());
    assert_eq!(jobs::enqueue(&mut conn, duplicate).unwrap(), None, "unique key enqueues once");

    let claimed = jobs::claim(&mut conn, Duration::from_secs(60), 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, claimed[0].attempts), (id, 1));
    assert!(
        jobs::claim(&mut conn, Duration::from_secs(60), 10).unwrap().is_empty(),
        "leased jobs are not claimed again"
    );

    jobs::fail(&mut conn, &claimed[0], "boom", Utc::now()).unwrap();
    let again = jobs::claim(&mut conn, Duration::from_secs(60), 10).unwrap();
    assert_eq!(again[0].attempts, 2);
    jobs::fail(&mut conn, &again[0], "boom again", Utc::now()).unwrap();
    assert!(jobs::claim(&mut conn, Duration::from_secs(60), 10).unwrap().is_empty(), "out of attempts: parked");
    let depth = jobs::depth(&mut conn).unwrap();
    assert_eq!((depth.pending, depth.failed), (0, 1));
}

#[test]
fn expired_leases_are_claimed_again_and_completed_jobs_stay_done() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    jobs::enqueue(&mut conn, NewJob::now("test", serde_json::json!({}))).unwrap();
    let first = jobs::claim(&mut conn, Duration::from_millis(1), 1).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let second = jobs::claim(&mut conn, Duration::from_secs(60), 1).unwrap();
    assert_eq!(first[0].id, second[0].id, "a dead worker's job runs again");
    jobs::complete(&mut conn, second[0].id).unwrap();
    assert!(jobs::claim(&mut conn, Duration::from_millis(1), 1).unwrap().is_empty());
    assert_eq!(jobs::depth(&mut conn).unwrap().pending, 0);
}

#[test]
fn concurrent_workers_never_claim_the_same_job() {
    let db = TestDatabase::new();
    let mut conn = db.connection();
    for n in 0..200 {
        jobs::enqueue(&mut conn, NewJob::now("test", serde_json::json!({ "n": n }))).unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_string();
            std::thread::spawn(move || {
                let mut conn = diesel::PgConnection::establish(&url).unwrap();
                let mut mine = Vec::new();
                loop {
                    let batch = jobs::claim(&mut conn, Duration::from_secs(60), 7).unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|job| job.id));
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for worker in workers {
        for id in worker.join().unwrap() {
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 200);
}
