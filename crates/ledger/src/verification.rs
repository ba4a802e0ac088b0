//! Verifying the whole ledger (issue 15): every balance equals the sum of its postings, every
//! entry balances with two postings or more — in bounded chunks, each its own short transaction,
//! so the check runs beside the bookings at any size, and resumes where it stopped. The scheduler
//! starts one hourly and an admin can start one from the console; the trial balance page, the
//! dashboard and `/metrics` show the latest.
use diesel::PgConnection;
use storage::{
    Pool,
    database::run_blocking,
    jobs::Job,
    ledger_verification::{self as rows, VerificationRow},
};

use crate::LedgerError;

pub use storage::ledger_verification::VerificationRow as Verification;

/// Accounts checked per chunk.
const ACCOUNTS_PER_CHUNK: i64 = 2_000;
/// Entry ids per chunk.
const ENTRIES_PER_CHUNK: i64 = 50_000;
/// An account cursor past every account: the accounts are done.
const ACCOUNTS_DONE: i64 = i64::MAX;

/// Starts a verification by `requested_by`, unless one is under way (which is returned instead).
pub fn start(conn: &mut PgConnection, requested_by: &str) -> Result<VerificationRow, LedgerError> {
    Ok(rows::open_or_start(conn, requested_by)?)
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A chunk checked; more to do.
    Worked,
    /// The verification is done.
    Finished(Box<VerificationRow>),
    /// Nothing under way (or another node is on it).
    Idle,
}

/// Checks the next chunk of the verification under way, in one transaction: accounts first, then
/// entries; finishes it once both are done.
pub fn step(conn: &mut PgConnection) -> Result<Step, LedgerError> {
    storage::database::transaction(conn, |conn| {
        let Some(verification) = rows::lock_open(conn)? else { return Ok(Step::Idle) };
        if verification.account_cursor != ACCOUNTS_DONE {
            let checked = rows::check_accounts(conn, verification.account_cursor, ACCOUNTS_PER_CHUNK)?;
            let cursor = checked.last_id.unwrap_or(ACCOUNTS_DONE);
            rows::advance(conn, verification.id, Some((cursor, checked.checked)), None, &checked)?;
            return Ok(Step::Worked);
        }
        let checked = rows::check_entries(conn, verification.entry_cursor, ENTRIES_PER_CHUNK)?;
        match checked.last_id {
            Some(cursor) => {
                rows::advance(conn, verification.id, None, Some((cursor, checked.checked)), &checked)?;
                Ok(Step::Worked)
            }
            None => {
                rows::finish(conn, verification.id)?;
                let finished = rows::latest_finished(conn)?.ok_or(LedgerError::EntryNotFound)?;
                if finished.mismatch_count > 0 {
                    tracing::error!(mismatches = finished.mismatch_count, first = ?finished.mismatches.first(), "the ledger's verification found mismatches");
                }
                Ok(Step::Finished(Box::new(finished)))
            }
        }
    })
}

/// An operator asks for a verification now: its job is queued (it joins one under way), with the
/// audit row, in one transaction.
pub fn request(conn: &mut PgConnection, actor: &storage::audit::Actor) -> Result<(), LedgerError> {
    storage::database::transaction(conn, |conn| {
        let job = VerifyLedger { requested_by: actor.name.clone() }.now()?;
        storage::jobs::enqueue(conn, job)?;
        let entry =
            storage::audit::NewEntry { action: "ledger.verify", target: "ledger".into(), before: None, after: None };
        storage::audit::record(conn, actor, entry)?;
        Ok(())
    })
}

/// The latest finished verification, if any.
pub fn latest_finished(conn: &mut PgConnection) -> Result<Option<VerificationRow>, LedgerError> {
    Ok(rows::latest_finished(conn)?)
}

/// The latest verifications, newest first.
pub fn latest(conn: &mut PgConnection, limit: i64) -> Result<Vec<VerificationRow>, LedgerError> {
    Ok(rows::latest(conn, limit)?)
}

/// Verifies the ledger: starts a verification (or joins the one under way) and works through it
/// chunk by chunk. Run by the workers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VerifyLedger {
    pub requested_by: String,
}

impl Job for VerifyLedger {
    const KIND: &'static str = "ledger.verify";
}

impl VerifyLedger {
    pub async fn run(self, pool: &Pool) -> Result<(), LedgerError> {
        let requested_by = self.requested_by;
        run_blocking(pool, move |conn| start(conn, &requested_by)).await?;
        loop {
            match run_blocking(pool, step).await? {
                Step::Worked => {}
                Step::Finished(verification) => {
                    tracing::info!(
                        id = verification.id,
                        accounts = verification.accounts_checked,
                        entries = verification.entries_checked,
                        mismatches = verification.mismatch_count,
                        "ledger verified"
                    );
                    return Ok(());
                }
                Step::Idle => return Ok(()),
            }
        }
    }
}
