//! The upstream's background job, run by the server's workers.
use channel::Registry;
use chrono::Utc;
use storage::{Pool, jobs::Job};

use domain::calendar::BusinessCalendar;

use crate::{UpstreamError, orders, refunds, registration};

/// Registers merchants at their upstream step by step, places again the orders whose placing
/// went unanswered, and settles the refunds still pending there. The scheduler enqueues one a
/// minute; safe on several nodes.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SyncUpstream;

impl Job for SyncUpstream {
    const KIND: &'static str = "upstream.sync";
}

impl SyncUpstream {
    pub async fn run(self, pool: &Pool, channels: &Registry, calendar: BusinessCalendar) -> Result<(), UpstreamError> {
        let progress = registration::advance_due(pool, channels, Utc::now()).await?;
        if progress.started + progress.asked > 0 {
            tracing::info!(started = progress.started, asked = progress.asked, "upstream registrations");
        }
        orders::place_unanswered(pool, channels, Utc::now()).await?;
        refunds::settle_pending(pool, channels, calendar, Utc::now()).await?;
        Ok(())
    }
}
