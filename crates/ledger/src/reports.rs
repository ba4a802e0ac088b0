//! What the ledger says (SPEC §7): the trial balance, a merchant's balances, accounts and their
//! postings, a merchant's statement for a period, commission earned by day and by merchant, and the
//! state of business days. Typed views over the queries of `storage::ledger_reports`; each report
//! reads one snapshot, so its figures add up with each other.
use domain::{Amount, MerchantId, ledger::AccountKind};
use std::collections::BTreeMap;

use diesel::PgConnection;
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
pub use statement::{
    Movement, MovementPage, STATEMENT_KINDS, Statement, StatementAccount, StatementSink, export_statement, statement,
};

/// One account kind in the trial balance, over all merchants.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrialLine {
    pub kind: AccountKind,
    pub debit_fen: Amount,
    pub credit_fen: Amount,
    /// True when the kind's balances equal the sum of its postings.
    pub matches_postings: bool,
}

impl TrialLine {
    fn empty(kind: AccountKind) -> TrialLine {
        TrialLine { kind, debit_fen: Amount::ZERO, credit_fen: Amount::ZERO, matches_postings: true }
    }
}

/// The trial balance: debit-normal balances on the debit side, the rest on the credit side.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrialBalance {
    pub lines: Vec<TrialLine>,
    pub debit_total_fen: Amount,
    pub credit_total_fen: Amount,
}

impl TrialBalance {
    /// Debits equal credits and every balance agrees with its postings.
    pub fn is_balanced(&self) -> bool {
        self.debit_total_fen == self.credit_total_fen && self.lines.iter().all(|line| line.matches_postings)
    }

    /// Debits less credits. Both totals are sums of non-negative amounts, so the difference
    /// always fits.
    pub fn difference_fen(&self) -> Amount {
        self.debit_total_fen.checked_sub(self.credit_total_fen).unwrap_or(Amount::ZERO)
    }
}

/// The trial balance checked against every posting: each kind's balances beside the sum of its
/// postings, read now (the whole ledger: for checks and tests; the console reads
/// [`trial_balance_as_verified`]).
pub fn trial_balance(conn: &mut PgConnection) -> Result<TrialBalance, LedgerError> {
    trial_balance_of(rows::kind_totals(conn)?)
}

/// The trial balance from the balances alone, with whether each kind's balances equal their
/// postings as the latest verification found it (all do until one finds otherwise), and that
/// verification: a view reads one row per account, never every posting.
pub fn trial_balance_as_verified(
    conn: &mut PgConnection,
) -> Result<(TrialBalance, Option<crate::verification::Verification>), LedgerError> {
    in_snapshot(conn, |conn| {
        let mut balance = trial_balance_of(rows::balance_totals(conn)?)?;
        let verified = crate::verification::latest_finished(conn)?;
        if let Some(verification) = &verified {
            for line in &mut balance.lines {
                line.matches_postings = !verification.mismatched_kinds.iter().any(|kind| kind == line.kind.as_str());
            }
        }
        Ok((balance, verified))
    })
}

fn trial_balance_of(totals: Vec<rows::KindTotal>) -> Result<TrialBalance, LedgerError> {
    let mut by_kind: BTreeMap<AccountKind, TrialLine> =
        AccountKind::ALL.into_iter().map(|kind| (kind, TrialLine::empty(kind))).collect();
    for total in totals {
        let kind = total.kind;
        let normal_postings_fen =
            if total.debit_normal { Some(total.postings_fen) } else { total.postings_fen.checked_neg() };
        let line = by_kind.entry(kind).or_insert(TrialLine::empty(kind));
        // A negative balance (e.g. a revenue reversed below zero) shows on the other side.
        let shown_fen = total.balance_fen.checked_abs().ok_or_else(accounts::overflow)?;
        match (total.debit_normal, !total.balance_fen.is_negative()) {
            (true, true) | (false, false) => line.debit_fen = shown_fen,
            (true, false) | (false, true) => line.credit_fen = shown_fen,
        }
        line.matches_postings = normal_postings_fen == Some(total.balance_fen);
    }
    let lines: Vec<TrialLine> = by_kind.into_values().collect();
    let debit_total_fen =
        Amount::checked_sum(lines.iter().map(|line| line.debit_fen)).ok_or_else(accounts::overflow)?;
    let credit_total_fen =
        Amount::checked_sum(lines.iter().map(|line| line.credit_fen)).ok_or_else(accounts::overflow)?;
    Ok(TrialBalance { lines, debit_total_fen, credit_total_fen })
}

/// A merchant's balances by kind (zero for accounts not opened yet).
pub fn merchant_balances(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<BTreeMap<AccountKind, Amount>, LedgerError> {
    let mut balances: BTreeMap<AccountKind, Amount> =
        AccountKind::ALL.into_iter().map(|kind| (kind, Amount::ZERO)).collect();
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
