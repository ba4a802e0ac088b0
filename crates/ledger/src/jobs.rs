//! The ledger's background jobs, run by the server's workers.
use chrono::Utc;
use storage::{Pool, database::run_blocking, jobs::Job};

use crate::{LedgerError, reconciliation, settlement};

/// Moves the paid orders of due business days from pending to available (T+N); the scheduler
/// enqueues one every five minutes. Safe on several nodes: each (merchant, day) settles once.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Settle;

impl Job for Settle {
    const KIND: &'static str = "ledger.settle";
}

/// (merchant, day) pairs a settlement run takes at a time (in transactions of
/// [`settlement::BATCH_MERCHANTS`]).
pub const SETTLE_BATCH: i64 = 1_000;

impl Settle {
    pub async fn run(self, pool: &Pool, policy: settlement::Policy) -> Result<(), LedgerError> {
        loop {
            let settled =
                run_blocking(pool, move |conn| settlement::settle_due(conn, &policy, Utc::now(), SETTLE_BATCH)).await?;
            for row in &settled {
                tracing::info!(merchant_id = %row.merchant_id, date = %row.business_date, amount_fen = row.amount_fen.fen(), "settled");
            }
            if settled.len() < SETTLE_BATCH as usize {
                return Ok(());
            }
        }
    }
}

/// Imports the sandbox channel's bill of each closed day not yet reconciled (the last 7 days);
/// the scheduler enqueues one hourly. Two nodes importing one day at once would make two runs;
/// the newer decides.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ImportBills;

impl Job for ImportBills {
    const KIND: &'static str = "reconciliation.import";
}

/// How many closed days back an import looks.
const IMPORT_DAYS: u32 = 7;

impl ImportBills {
    pub async fn run(self, pool: &Pool, calendar: domain::calendar::BusinessCalendar) -> Result<(), LedgerError> {
        let runs = run_blocking(pool, move |conn| {
            reconciliation::import_sandbox_days(conn, &calendar, Utc::now(), IMPORT_DAYS)
        })
        .await?;
        for run in &runs {
            tracing::info!(date = %run.business_date, matched = run.matched_count, differences = run.difference_count, "bill imported");
        }
        Ok(())
    }
}
