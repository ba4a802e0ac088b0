//! Background workers: claim due jobs from the PostgreSQL queue and run them, on every node.
//!
//! A claim is a short transaction (`FOR UPDATE SKIP LOCKED` + lease); the job then runs with no
//! transaction open, and its outcome is written in another short one. Failed jobs are retried
//! with exponential backoff until their attempts run out, then parked for an operator. The
//! scheduler enqueues periodic jobs under a unique key per slot, so N nodes enqueue each slot once.
use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DurationRound, Utc};
use ledger::{
    jobs::{ImportBills, Settle},
    verification::VerifyLedger,
};
use orders::jobs::ExpireOrders;
use payouts::{
    jobs::{QueryPayouts, ScheduleRuns, SendPayout},
    verification::VerificationSettled,
};
use serde_json::Value;
use storage::{
    Cache, Pool, StorageError,
    database::run_blocking,
    jobs::{self, ClaimedJob, Job},
    login_attempts,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use upstream::jobs::SyncUpstream;

use crate::config::WorkerSettings;

/// What a job handler gets: the shared resources, and the job's payload.
#[derive(Clone)]
pub struct JobContext {
    pub pool: Pool,
    pub cache: Cache,
    /// The deployment's channels (payouts go through `channels.payouts()`).
    pub channels: channel::Registry,
    /// Delivers the notification outbox to sub-merchants' servers.
    pub notifier: gateway::notify::Notifier,
    /// Business days and when settlement may run.
    pub ledger: ledger::settlement::Policy,
    /// Payout schedules' defaults, approvals, and how payouts are asked about.
    pub payouts: payouts::Settings,
    /// How long append-only logs keep their rows.
    pub retention: crate::config::RetentionSettings,
}

pub type JobResult = Result<(), anyhow::Error>;
type Handler = Arc<dyn Fn(JobContext, Value) -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync>;

/// Job kinds and their handlers. Each business crate defines its jobs (a payload type per kind)
/// and the function that runs one; this only says which context each gets.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    /// Runs jobs of kind `J` with `handler`, their payload read back as a `J` first.
    pub fn register<J, F, Fut>(&mut self, handler: F)
    where
        J: Job,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.handlers.insert(
            J::KIND,
            Arc::new(move |context, payload| {
                let handler = Arc::clone(&handler);
                Box::pin(async move { handler(context, J::from_payload(payload)?).await })
            }),
        );
    }

    /// Every job kind the platform knows.
    pub fn standard() -> Registry {
        let mut registry = Registry::default();
        registry.register(|context, _: Housekeeping| housekeeping(context));
        registry.register(|context: JobContext, job: VerificationSettled| async move {
            onboarding::verification::on_settled(&context.pool, job).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: ExpireOrders| async move {
            job.run(&context.pool).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: Settle| async move {
            job.run(&context.pool, context.ledger).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: ScheduleRuns| async move {
            let channel = payout_channel(&context)?;
            job.run(&context.pool, context.payouts.clone(), context.ledger.calendar, channel.name()).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: SendPayout| async move {
            job.run(&context.pool, &context.payouts, context.ledger.calendar, &context.channels).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: QueryPayouts| async move {
            job.run(&context.pool, &context.payouts, context.ledger.calendar, &context.channels).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: ImportBills| async move {
            job.run(&context.pool, context.ledger.calendar, &context.channels).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: VerifyLedger| async move {
            job.run(&context.pool).await?;
            Ok(())
        });
        registry.register(|context: JobContext, job: SyncUpstream| async move {
            job.run(&context.pool, &context.channels, context.ledger.calendar).await?;
            Ok(())
        });
        registry
    }
}

/// The channel new payouts go through; a deployment without one cannot make payout runs.
fn payout_channel(context: &JobContext) -> Result<Arc<dyn channel::PayOut>, anyhow::Error> {
    context.channels.payouts().ok_or_else(|| anyhow::anyhow!("no payout channel is configured"))
}

/// Forgets sign-in attempts older than 90 days and finished jobs older than 7 days, and removes
/// what the logs hold beyond their retention (`[retention]`, in batches); hourly.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Housekeeping;

impl Job for Housekeeping {
    const KIND: &'static str = "housekeeping";
}

async fn housekeeping(context: JobContext) -> JobResult {
    let (attempts, finished) = run_blocking(&context.pool, |conn| {
        let attempts = login_attempts::purge_older_than(conn, Utc::now() - chrono::Duration::days(90))?;
        let finished = jobs::purge_completed_before(conn, Utc::now() - chrono::Duration::days(7))?;
        // The dashboard reads a day of upstream calls; two are kept.
        storage::upstream_calls::purge_before(conn, Utc::now() - chrono::Duration::days(2))?;
        Ok::<_, StorageError>((attempts, finished))
    })
    .await?;
    tracing::info!(attempts, finished, "housekeeping done");
    for (log, days) in context.retention.logs() {
        let removed = purge(&context.pool, log, Utc::now() - chrono::Duration::days(i64::from(days))).await?;
        if removed > 0 {
            tracing::info!(log = log.as_str(), removed, days, "log rows past their retention removed");
        }
    }
    Ok(())
}

/// Rows removed per statement, and statements per run at most (the rest goes next hour).
const PURGE_BATCH: i64 = 5_000;
const PURGE_BATCHES: usize = 200;

/// Removes `log`'s rows older than `before`, a batch per statement, so no statement holds many
/// rows locked or runs long beside the gateway's writes.
pub async fn purge(
    pool: &Pool,
    log: storage::retention::Log,
    before: chrono::DateTime<Utc>,
) -> Result<usize, StorageError> {
    let mut removed = 0;
    for _ in 0..PURGE_BATCHES {
        let batch =
            run_blocking(pool, move |conn| storage::retention::purge_batch(conn, log, before, PURGE_BATCH)).await?;
        removed += batch;
        if batch < usize::try_from(PURGE_BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(removed)
}

/// Delay before retry `attempt` (1-based): 10 s, 20 s, 40 s … capped at one hour.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(12);
    Duration::from_secs(10u64.saturating_mul(1 << exponent)).min(Duration::from_secs(3600))
}

/// Enqueues each periodic job once per slot across all nodes: housekeeping hourly, order expiry
/// every minute, settlement every five minutes, reconciliation hourly, payout runs, payout
/// queries and the upstream's registrations and unanswered orders every minute, the ledger's
/// verification hourly.
fn schedule_periodic(conn: &mut diesel::PgConnection) -> Result<(), StorageError> {
    let now = Utc::now();
    let periodic = [
        (Housekeeping.now()?, chrono::Duration::hours(1), "%Y-%m-%dT%H"),
        (ExpireOrders.now()?, chrono::Duration::minutes(1), "%Y-%m-%dT%H:%M"),
        (Settle.now()?, chrono::Duration::minutes(5), "%Y-%m-%dT%H:%M"),
        (ImportBills.now()?, chrono::Duration::hours(1), "%Y-%m-%dT%H"),
        (ScheduleRuns.now()?, chrono::Duration::minutes(1), "%Y-%m-%dT%H:%M"),
        (QueryPayouts.now()?, chrono::Duration::minutes(1), "%Y-%m-%dT%H:%M"),
        (SyncUpstream.now()?, chrono::Duration::minutes(1), "%Y-%m-%dT%H:%M"),
        (VerifyLedger { requested_by: "scheduler".into() }.now()?, chrono::Duration::hours(1), "%Y-%m-%dT%H"),
    ];
    for (mut job, every, slot_format) in periodic {
        let slot = now.duration_trunc(every).unwrap_or(now);
        job.unique_key = Some(format!("{}:{}", job.kind, slot.format(slot_format)));
        jobs::enqueue(conn, job)?;
    }
    Ok(())
}

/// Runs workers until `shutdown` is cancelled, then lets running jobs finish.
pub async fn run(context: JobContext, registry: Registry, settings: WorkerSettings, shutdown: CancellationToken) {
    let registry = Arc::new(registry);
    let lease = Duration::from_secs(settings.lease_seconds.max(1));
    let idle = Duration::from_millis(settings.poll_interval_ms.max(10));
    let concurrency = settings.concurrency.max(1);
    let mut running = JoinSet::new();
    let notifier = context.notifier.clone();
    let notifications = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { notifier.run(idle, shutdown).await }
    });
    let folding = tokio::spawn(fold_rollups(context.pool.clone(), shutdown.clone()));
    tracing::info!(concurrency, "workers started");
    while !shutdown.is_cancelled() {
        while running.try_join_next().is_some() {}
        let free = concurrency.saturating_sub(running.len());
        let claimed = if free == 0 { Ok(Vec::new()) } else { claim(&context.pool, lease, free).await };
        let claimed = claimed.unwrap_or_else(|error| {
            tracing::warn!(error = ?error, "could not claim jobs");
            Vec::new()
        });
        let was_idle = claimed.is_empty();
        for job in claimed {
            let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
            running.spawn(execute(context.clone(), registry.clone(), job).instrument(span));
        }
        if was_idle {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(idle) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
    tracing::info!(running = running.len(), "workers stopping; waiting for running jobs");
    while running.join_next().await.is_some() {}
    let _ = notifications.await;
    let _ = folding.await;
}

/// How often the ledger's rollups take in what bookings noted. Readers are exact either way (they
/// add what is not folded); this keeps what they add to about a second of bookings.
const FOLD_EVERY: Duration = Duration::from_secs(1);

/// Folds the bookings' notes into the ledger's rollups about every second until shutdown; several
/// nodes fold side by side, each taking notes the others have not.
async fn fold_rollups(pool: Pool, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(error) = run_blocking(&pool, ledger::rollups::fold).await {
            tracing::warn!(%error, "could not fold the ledger's rollups");
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(FOLD_EVERY) => {}
        }
    }
}

async fn claim(pool: &Pool, lease: Duration, limit: usize) -> Result<Vec<ClaimedJob>, StorageError> {
    let limit = i64::try_from(limit).unwrap_or(1);
    run_blocking(pool, move |conn| {
        schedule_periodic(conn)?;
        jobs::claim(conn, lease, limit)
    })
    .await
}

async fn execute(context: JobContext, registry: Arc<Registry>, job: ClaimedJob) {
    let outcome = match registry.handlers.get(job.kind.as_str()) {
        Some(handler) => handler(context.clone(), job.payload.clone()).await,
        None => Err(anyhow::anyhow!("no handler for job kind {:?}", job.kind)),
    };
    let pool = context.pool.clone();
    let recorded = match outcome {
        Ok(()) => run_blocking(&pool, move |conn| jobs::complete(conn, job.id)).await,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "job failed");
            let retry_at = Utc::now() + backoff(job.attempts);
            run_blocking(&pool, move |conn| jobs::fail(conn, &job, &format!("{error:#}"), retry_at)).await
        }
    };
    if let Err(error) = recorded {
        // The lease expires and the job runs again: handlers are idempotent.
        tracing::error!(error = ?error, "could not record the job's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(100), Duration::from_secs(3600));
        assert_eq!(backoff(0), Duration::from_secs(10));
    }
}
