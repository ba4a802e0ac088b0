//! The orders' background jobs, run by the server's workers.
use chrono::Utc;
use storage::{Pool, database::run_blocking, jobs::Job};

use crate::{OrderError, lifecycle};

/// Closes unpaid orders past their two hours; the scheduler enqueues one a minute.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ExpireOrders;

impl Job for ExpireOrders {
    const KIND: &'static str = "orders.expire";
}

/// Orders closed per transaction.
const EXPIRE_BATCH: i64 = 500;

impl ExpireOrders {
    /// Closes every order due now, a batch per transaction; returns how many.
    pub async fn run(self, pool: &Pool) -> Result<usize, OrderError> {
        let mut total = 0;
        loop {
            let closed = run_blocking(pool, |conn| lifecycle::expire_due(conn, Utc::now(), EXPIRE_BATCH)).await?;
            total += closed;
            if closed > 0 {
                tracing::info!(closed, "expired unpaid orders");
            }
            if closed < EXPIRE_BATCH as usize {
                return Ok(total);
            }
        }
    }
}
