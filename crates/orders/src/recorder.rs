//! Payment callbacks recorded in batches (group commit): callers hand a report over and wait for
//! its outcome; a few recorder threads each take whatever reports are waiting, up to a batch, and
//! record them in one transaction ([`record_payments`]). Under light load a batch is one report
//! (no added wait); under load a commit, a lock statement and the ledger's statement checks are
//! shared by the whole batch.
//!
//! Each merchant's payments go to one thread (merchant id modulo the threads): two batches never
//! wait for each other's balance rows, which a booking holds until it commits.
//!
//! A batch that fails as a whole (the database refusing one payment, a lost
//! connection) is retried report by report, so one bad callback never fails the others.
use domain::{MerchantId, calendar::BusinessCalendar};
use std::{
    sync::{
        Arc,
        mpsc::{self, Receiver, SyncSender},
    },
    thread,
};

use chrono::{DateTime, Utc};
use serde_json::Value;
use storage::Pool;

use crate::{
    OrderError,
    lifecycle::{Payment, PaymentReport, record_payments},
};

/// A callback to record, owned so it can cross to a recorder thread.
#[derive(Debug, Clone)]
pub struct Report {
    /// The order's merchant, when the caller knows it: picks the recorder thread.
    pub merchant_id: Option<MerchantId>,
    pub channel: String,
    pub trade_no: String,
    pub payload: Value,
    pub at: DateTime<Utc>,
}

impl Report {
    fn borrowed(&self) -> PaymentReport<'_> {
        PaymentReport { channel: &self.channel, trade_no: &self.trade_no, payload: self.payload.clone(), at: self.at }
    }
}

type Outcome = Result<Payment, OrderError>;

struct Job {
    report: Report,
    reply: mpsc::SyncSender<Outcome>,
}

/// Settings of the recorder threads.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Threads recording batches side by side (each holds one database connection while it works).
    pub threads: usize,
    /// Reports recorded in one transaction at most.
    pub max_batch: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { threads: 2, max_batch: 64 }
    }
}

/// The handle callers record through; cheap to clone. The threads stop when every handle is gone.
#[derive(Clone)]
pub struct PaymentRecorder {
    /// One queue per recorder thread.
    queues: Arc<[SyncSender<Job>]>,
}

#[derive(Debug, thiserror::Error)]
#[error("the payment recorder has stopped")]
pub struct RecorderStopped;

impl PaymentRecorder {
    pub fn start(pool: Pool, calendar: BusinessCalendar, settings: Settings) -> PaymentRecorder {
        let max_batch = settings.max_batch.max(1);
        let queues: Vec<SyncSender<Job>> = (0..settings.threads.max(1))
            .map(|index| {
                let (jobs, queue) = mpsc::sync_channel(max_batch * 4);
                let pool = pool.clone();
                let spawned = thread::Builder::new()
                    .name(format!("payments-{index}"))
                    .spawn(move || run(&pool, &calendar, &queue, max_batch));
                if let Err(error) = spawned {
                    tracing::error!(%error, "could not start a payment recorder thread");
                }
                jobs
            })
            .collect();
        PaymentRecorder { queues: queues.into() }
    }

    /// Records one callback and waits for its outcome (blocking: call it off the async runtime).
    pub fn record(&self, report: Report) -> Result<Outcome, RecorderStopped> {
        let (reply, outcome) = mpsc::sync_channel(1);
        let queue = &self.queues[self.queue_of(&report)];
        queue.send(Job { report, reply }).map_err(|_| RecorderStopped)?;
        outcome.recv().map_err(|_| RecorderStopped)
    }

    /// The merchant's thread; by trade number when the merchant is not known.
    fn queue_of(&self, report: &Report) -> usize {
        let key = match report.merchant_id {
            Some(merchant_id) => merchant_id.get().unsigned_abs(),
            None => {
                report.trade_no.bytes().fold(0_u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte)))
            }
        };
        usize::try_from(key % self.queues.len() as u64).unwrap_or(0)
    }
}

fn run(pool: &Pool, calendar: &BusinessCalendar, queue: &Receiver<Job>, max_batch: usize) {
    while let Some(batch) = next_batch(queue, max_batch) {
        let (reports, replies): (Vec<Report>, Vec<_>) = batch.into_iter().map(|job| (job.report, job.reply)).unzip();
        for (reply, outcome) in replies.into_iter().zip(record_batch(pool, calendar, &reports)) {
            // The caller may have given up waiting; its outcome is recorded all the same.
            let _ = reply.send(outcome);
        }
    }
}

/// Waits for one job, then takes whatever else is already waiting, up to `max_batch`. `None` once
/// every handle is gone.
fn next_batch(queue: &Receiver<Job>, max_batch: usize) -> Option<Vec<Job>> {
    let first = queue.recv().ok()?;
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Records one batch in one transaction; if the transaction fails as a whole, each report again
/// on its own. One outcome per report, in order.
pub fn record_batch(pool: &Pool, calendar: &BusinessCalendar, batch: &[Report]) -> Vec<Outcome> {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(error) => {
            tracing::error!(%error, size = batch.len(), "no database connection to record payments");
            return batch.iter().map(|_| Err(OrderError::Storage(storage::StorageError::TaskFailed))).collect();
        }
    };
    let reports = batch.iter().map(Report::borrowed).collect();
    match record_payments(&mut conn, calendar, reports) {
        Ok(outcomes) => outcomes,
        Err(error) if batch.len() > 1 => {
            tracing::warn!(%error, size = batch.len(), "payment batch failed; recording its reports one by one");
            batch
                .iter()
                .map(|report| {
                    record_payments(&mut conn, calendar, vec![report.borrowed()])
                        .and_then(|mut outcomes| outcomes.pop().ok_or(OrderError::OrderNotFound))
                        .and_then(|outcome| outcome)
                })
                .collect()
        }
        Err(error) => vec![Err(error)],
    }
}
