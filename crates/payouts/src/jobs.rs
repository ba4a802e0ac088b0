//! The payouts' background jobs, run by the server's workers.
use channel::Registry;
use chrono::Utc;
use domain::{PayoutId, calendar::BusinessCalendar};
use storage::{Pool, database::run_blocking, jobs::Job};

use crate::{PayoutError, Settings, calendar, runs, send};

/// Makes the runs of the slots that have come and works through every open run; the scheduler
/// enqueues one a minute. Safe on several nodes: a slot's run is made once, a run is worked
/// through by one node at a time, and a merchant is paid once per run.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ScheduleRuns;

impl Job for ScheduleRuns {
    const KIND: &'static str = "payouts.schedule";
}

impl ScheduleRuns {
    pub async fn run(
        self,
        pool: &Pool,
        settings: Settings,
        business_calendar: BusinessCalendar,
        channel: &'static str,
    ) -> Result<(), PayoutError> {
        let worked = run_blocking(pool, move |conn| {
            let payout_calendar = calendar::load(conn, &settings)?;
            for run in runs::create_due_runs(conn, &settings, &payout_calendar, Utc::now())? {
                tracing::info!(run_id = %run.id, date = %run.slot_date, time = %run.slot_time, "payout run made");
            }
            runs::work_through_open(conn, &settings, &payout_calendar, &business_calendar, channel)
        })
        .await?;
        for (run_id, progress) in worked {
            tracing::info!(%run_id, payouts = progress.payouts, skipped = progress.skipped, complete = progress.complete, "payout run worked through");
        }
        Ok(())
    }
}

/// Hands one payout to the channel; enqueued with the payout (or its approval).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SendPayout {
    pub payout_id: PayoutId,
}

impl Job for SendPayout {
    const KIND: &'static str = "payouts.send";
}

impl SendPayout {
    pub async fn run(
        self,
        pool: &Pool,
        settings: &Settings,
        business_calendar: BusinessCalendar,
        channels: &Registry,
    ) -> Result<(), PayoutError> {
        if let Some(recorded) = send::submit(pool, business_calendar, settings, channels, self.payout_id).await? {
            tracing::info!(payout_id = %self.payout_id, ?recorded, "payout submitted");
        }
        Ok(())
    }
}

/// Asks the channel about payouts whose outcome is not known yet; the scheduler enqueues one a
/// minute.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct QueryPayouts;

impl Job for QueryPayouts {
    const KIND: &'static str = "payouts.query";
}

impl QueryPayouts {
    pub async fn run(
        self,
        pool: &Pool,
        settings: &Settings,
        business_calendar: BusinessCalendar,
        channels: &Registry,
    ) -> Result<(), PayoutError> {
        send::query_due(pool, business_calendar, settings, channels).await?;
        Ok(())
    }
}
