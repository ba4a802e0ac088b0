//! `/healthz` (the process is up), `/readyz` (dependencies reachable), `/metrics`.
use domain::payouts::PayoutState;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;
use storage::{Cache, Pool, StorageError, database::run_blocking, jobs};

use crate::metrics::Metrics;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn database_up(pool: &Pool) -> bool {
    let check = run_blocking(pool, storage::database::ping);
    matches!(tokio::time::timeout(CHECK_TIMEOUT, check).await, Ok(Ok(())))
}

/// 200 while the database is reachable (Redis down is reported as `degraded`, still serving);
/// 503 when the database is not, so a load balancer stops sending traffic here.
pub async fn readyz(pool: web::Data<Pool>, cache: web::Data<Cache>, metrics: web::Data<Metrics>) -> HttpResponse {
    let (database, redis) = tokio::join!(database_up(&pool), cache.ping());
    metrics.database_up.set(i64::from(database));
    metrics.redis_up.set(i64::from(redis));
    let word = |up: bool| if up { "up" } else { "down" };
    let status = match (database, redis) {
        (true, true) => "ready",
        (true, false) => "degraded",
        (false, _) => "unavailable",
    };
    let body = json!({ "status": status, "database": word(database), "redis": word(redis) });
    if database { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

pub async fn metrics(
    pool: web::Data<Pool>,
    cache: web::Data<Cache>,
    metrics: web::Data<Metrics>,
    channels: web::Data<channel::Registry>,
) -> HttpResponse {
    metrics.set_upstreams(&channels.health());
    let depth = run_blocking(&pool, |conn| -> Result<_, StorageError> {
        Ok((jobs::depth(conn)?, storage::payouts::counts(conn)?, storage::ledger_verification::latest_finished(conn)?))
    });
    let (depth, redis) = tokio::join!(tokio::time::timeout(CHECK_TIMEOUT, depth), cache.ping());
    metrics.redis_up.set(i64::from(redis));
    match depth {
        Ok(Ok((depth, (payouts_by_state, needing_attention), verified))) => {
            metrics.ledger_mismatches.set(verified.as_ref().map_or(0, |verification| verification.mismatch_count));
            let ago = verified
                .and_then(|verification| verification.finished_at)
                .map_or(-1, |finished| (chrono::Utc::now() - finished).num_seconds().max(0));
            metrics.ledger_verified_seconds_ago.set(ago);
            metrics.database_up.set(1);
            metrics.jobs_pending.set(depth.pending);
            metrics.jobs_failed.set(depth.failed);
            let awaiting = payouts_by_state.iter().find(|(state, _)| *state == PayoutState::AwaitingApproval);
            metrics.payouts_awaiting_approval.set(awaiting.map_or(0, |(_, count)| *count));
            metrics.payouts_needing_attention.set(needing_attention);
        }
        _ => {
            metrics.database_up.set(0);
        }
    }
    HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(metrics.render())
}
