//! What the ledger says (SPEC §7): the trial balance, a merchant's balances, accounts and their
//! postings, a merchant's statement for a period, commission earned by day and by merchant, and the
//! state of business days. Typed views over the queries of `storage::ledger_reports`; each report
//! reads one snapshot, so its figures add up with each other.
use std::collections::BTreeMap;

use diesel::PgConnection;
use domain::ledger::AccountKind;
use storage::ledger as rows;

use crate::LedgerError;

mod accounts;
mod commission;
mod days;
mod entries;
mod range;
mod statement;

pub use accounts::{AccountLedger, AccountPosting, AccountQuery, AccountSummary, account_ledger, accounts};
pub use commission::{Commission, CommissionLine, DayCommission, MerchantCommission, commission};
pub use days::{BusinessDay, DayState, business_days};
pub use entries::{EntryCause, EntryInfo};
pub use range::{DateRange, RangeError};
pub use statement::{Movement, MovementPage, STATEMENT_KINDS, Statement, StatementAccount, statement};

/// One account kind in the trial balance, over all merchants.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrialLine {
    pub kind: AccountKind,
    pub debit_fen: i64,
    pub credit_fen: i64,
    /// True when the kind's balances equal the sum of its postings.
    pub matches_postings: bool,
}

/// The trial balance: debit-normal balances on the debit side, the rest on the credit side.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrialBalance {
    pub lines: Vec<TrialLine>,
    pub debit_total_fen: i64,
    pub credit_total_fen: i64,
}

impl TrialBalance {
    /// Debits equal credits and every balance agrees with its postings.
    pub fn is_balanced(&self) -> bool {
        self.debit_total_fen == self.credit_total_fen && self.lines.iter().all(|line| line.matches_postings)
    }

    pub fn difference_fen(&self) -> i64 {
        self.debit_total_fen.saturating_sub(self.credit_total_fen)
    }
}

pub fn trial_balance(conn: &mut PgConnection) -> Result<TrialBalance, LedgerError> {
    let mut by_kind: BTreeMap<AccountKind, TrialLine> = AccountKind::ALL
        .into_iter()
        .map(|kind| (kind, TrialLine { kind, debit_fen: 0, credit_fen: 0, matches_postings: true }))
        .collect();
    for total in rows::kind_totals(conn)? {
        let kind = total.kind;
        let normal_postings_fen = if total.debit_normal { total.postings_fen } else { -total.postings_fen };
        let line =
            by_kind.entry(kind).or_insert(TrialLine { kind, debit_fen: 0, credit_fen: 0, matches_postings: true });
        // A negative balance (e.g. a revenue reversed below zero) shows on the other side.
        match (total.debit_normal, total.balance_fen >= 0) {
            (true, true) | (false, false) => line.debit_fen = total.balance_fen.saturating_abs(),
            (true, false) | (false, true) => line.credit_fen = total.balance_fen.saturating_abs(),
        }
        line.matches_postings = normal_postings_fen == total.balance_fen;
    }
    let lines: Vec<TrialLine> = by_kind.into_values().collect();
    let debit_total_fen = lines.iter().map(|line| line.debit_fen).fold(0_i64, i64::saturating_add);
    let credit_total_fen = lines.iter().map(|line| line.credit_fen).fold(0_i64, i64::saturating_add);
    Ok(TrialBalance { lines, debit_total_fen, credit_total_fen })
}

/// A merchant's balances by kind (zero for accounts not opened yet).
pub fn merchant_balances(conn: &mut PgConnection, merchant_id: i64) -> Result<BTreeMap<AccountKind, i64>, LedgerError> {
    let mut balances: BTreeMap<AccountKind, i64> = AccountKind::ALL.into_iter().map(|kind| (kind, 0)).collect();
    for account in rows::accounts_of(conn, merchant_id)? {
        balances.insert(account.kind, account.balance_fen);
    }
    Ok(balances)
}

/// Runs a report's reads in one read-only, repeatable-read snapshot, so its queries agree with each
/// other. Inside a caller's transaction the reads simply join it.
pub(crate) fn in_snapshot<T>(
    conn: &mut PgConnection,
    read: impl FnOnce(&mut PgConnection) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    storage::database::snapshot(conn, read)
}
