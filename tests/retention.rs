//! Append-only logs keep their rows for their retention only: the hourly housekeeping job removes
//! what is older, in batches, and nothing else.
use diesel::{RunQueryDsl, sql_query};
use e2e::upstream::run_job;
use storage::database::run_blocking;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

async fn count(app: &e2e::TestApp, sql: &'static str) -> i64 {
    run_blocking(&app.pool, move |conn| sql_query(sql).get_result::<Count>(conn).map_err(storage::StorageError::from))
        .await
        .expect("counted")
        .count
}

#[tokio::test]
async fn housekeeping_removes_log_rows_past_their_retention_and_keeps_the_rest() {
    let app = e2e::spawn_app_with(|settings| {
        settings.retention.gateway_requests_days = 30;
        settings.retention.settled_callbacks_days = 0;
    })
    .await;
    // 12,000 requests 40 days old (more than one batch), then 3 of today; settled callbacks that
    // old too, which are kept for ever here.
    run_blocking(&app.pool, |conn| {
        sql_query(
            "INSERT INTO gateway_requests (at, app_id, method, request, reply, success, latency_ms)
             SELECT now() - interval '40 days', 'old', 'm', '{}', '{}', true, 1 FROM generate_series(1, 12000);
             ",
        )
        .execute(conn)?;
        sql_query(
            "INSERT INTO gateway_requests (at, app_id, method, request, reply, success, latency_ms)
             SELECT now(), 'new', 'm', '{}', '{}', true, 1 FROM generate_series(1, 3)",
        )
        .execute(conn)?;
        sql_query(
            "INSERT INTO channel_callbacks (channel, payload, outcome, needs_attention, received_at)
             SELECT 'sandbox', '{}', 'applied', false, now() - interval '400 days' FROM generate_series(1, 4)",
        )
        .execute(conn)
        .map_err(storage::StorageError::from)
    })
    .await
    .expect("logs written");

    run_job(&app, server::worker::Housekeeping).await;
    assert_eq!(count(&app, "SELECT count(*) AS count FROM gateway_requests WHERE app_id = 'old'").await, 0);
    assert_eq!(count(&app, "SELECT count(*) AS count FROM gateway_requests WHERE app_id = 'new'").await, 3);
    assert_eq!(count(&app, "SELECT count(*) AS count FROM channel_callbacks").await, 4, "kept for ever (0 days)");
}
