//! The ledger's background jobs, run by the server's workers.
use channel::Registry;
use chrono::Utc;
use domain::calendar::BusinessCalendar;
use storage::{Pool, database::run_blocking, jobs::Job};

use crate::{LedgerError, reconciliation, rollups, settlement};

/// Moves the paid orders of due business days from pending to available (T+N), then sums the
/// days that have become final into the rollups' day summaries and copies their merchants'
/// statement lines; the scheduler enqueues one every
/// five minutes. Safe on several nodes: each (merchant, day) settles once, each day is summed once.
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
                break;
            }
        }
        let calendar = policy.calendar;
        let summarized =
            run_blocking(pool, move |conn| rollups::summarize_final_days(conn, &calendar, Utc::now())).await?;
        if !summarized.is_empty() {
            tracing::info!(days = ?summarized, "business days summarized");
        }
        let copied =
            run_blocking(pool, move |conn| rollups::copy_settled_statement_days(conn, &calendar, Utc::now())).await?;
        if copied > 0 {
            tracing::info!(merchant_days = copied, "statement lines copied");
        }
        Ok(())
    }
}

/// Fetches each pay-in channel's bill of every closed day not yet reconciled (the last 7 days)
/// and imports it; the scheduler enqueues one hourly. The bill is fetched outside any
/// transaction; a day imported meanwhile (another node, an operator) is not imported again.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ImportBills;

impl Job for ImportBills {
    const KIND: &'static str = "reconciliation.import";
}

/// How many closed days back an import looks.
const IMPORT_DAYS: u32 = 7;

impl ImportBills {
    pub async fn run(self, pool: &Pool, calendar: BusinessCalendar, channels: &Registry) -> Result<(), LedgerError> {
        for channel in channels.pay_ins() {
            let name = channel.name();
            let days = run_blocking(pool, move |conn| {
                reconciliation::days_to_import(conn, &calendar, name, Utc::now(), IMPORT_DAYS)
            })
            .await?;
            for date in days {
                let lines = match channel.daily_bill(date).await {
                    Ok(lines) => lines,
                    Err(error) => {
                        // Not ready or not reachable: the next hourly run asks again.
                        tracing::warn!(channel = name, %date, %error, "bill not fetched");
                        continue;
                    }
                };
                let imported =
                    run_blocking(pool, move |conn| reconciliation::import_fetched(conn, name, date, &lines)).await?;
                if let Some(run) = imported {
                    tracing::info!(channel = name, %date, matched = run.matched_count, differences = run.difference_count, "bill imported");
                }
            }
        }
        Ok(())
    }
}
