//! The upstream's background job, run by the server's workers.
use channel::Registry;
use chrono::Utc;
use storage::{Pool, jobs::Job};

use crate::{UpstreamError, orders, registration};

/// Registers merchants at their upstream step by step, and places again the orders whose placing
/// went unanswered. The scheduler enqueues one a minute; safe on several nodes.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SyncUpstream;

impl Job for SyncUpstream {
    const KIND: &'static str = "upstream.sync";
}

impl SyncUpstream {
    pub async fn run(self, pool: &Pool, channels: &Registry) -> Result<(), UpstreamError> {
        let progress = registration::advance_due(pool, channels, Utc::now()).await?;
        if progress.started + progress.asked > 0 {
            tracing::info!(started = progress.started, asked = progress.asked, "upstream registrations");
        }
        orders::place_unanswered(pool, channels, Utc::now()).await?;
        Ok(())
    }
}
