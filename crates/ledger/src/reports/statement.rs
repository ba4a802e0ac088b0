//! A merchant's statement for a period (SPEC §7): for each of the merchant's own accounts — pending,
//! available, in transit — the opening balance, every movement booked in the period, and the closing
//! balance.
//!
//! Opening and closing come from the stored balance less the postings booked since; the movements
//! are read and summed separately. [`Statement::balances_agree`] checks that the two meet, so a
//! statement that does not add up says so instead of being trusted.
use domain::{AccountId, Amount, MerchantId, calendar::BusinessCalendar, ledger::AccountKind};
use std::collections::BTreeMap;

use diesel::PgConnection;
use storage::ledger_reports::{self as rows, MovementTotalRow};

use super::{
    DateRange,
    accounts::{credit_side, debit_side, normal, overflow},
    entries::EntryInfo,
};
use crate::LedgerError;

/// The accounts a statement covers: the money the platform holds for the merchant.
pub const STATEMENT_KINDS: [AccountKind; 3] =
    [AccountKind::MerchantPending, AccountKind::MerchantAvailable, AccountKind::MerchantPayoutInTransit];

/// One account over the period. Balances are on the account's normal side (credit for these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementAccount {
    /// `None` when the merchant has never booked anything to it.
    pub account_id: Option<AccountId>,
    pub kind: AccountKind,
    pub opening_fen: Amount,
    pub debit_fen: Amount,
    pub credit_fen: Amount,
    pub movement_count: i64,
    pub closing_fen: Amount,
}

impl StatementAccount {
    /// The balance's change over the period: the movements on the normal side.
    pub fn change_fen(&self) -> Option<Amount> {
        let debit_minus_credit = self.debit_fen.checked_sub(self.credit_fen)?;
        self.kind.balance_delta(debit_minus_credit)
    }

    /// Opening plus the movements is the closing balance.
    pub fn agrees(&self) -> bool {
        self.change_fen().and_then(|change| self.opening_fen.checked_add(change)) == Some(self.closing_fen)
    }
}

/// A posting to one of the statement's accounts, with that account's balance right after it.
#[derive(Clone, Debug)]
pub struct Movement {
    pub posting_id: i64,
    pub account: AccountKind,
    /// Signed: a debit is positive.
    pub amount_fen: Amount,
    pub balance_after_fen: Amount,
    pub entry: EntryInfo,
}

impl Movement {
    pub fn debit_fen(&self) -> Amount {
        debit_side(self.amount_fen)
    }

    pub fn credit_fen(&self) -> Amount {
        credit_side(self.amount_fen)
    }
}

/// Which movements to read: those after posting `after_id`, at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct MovementPage {
    pub after_id: Option<i64>,
    pub limit: i64,
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub merchant_id: MerchantId,
    pub range: DateRange,
    pub accounts: Vec<StatementAccount>,
    /// The page of movements asked for, in the order they were written.
    pub movements: Vec<Movement>,
    /// The cursor of the next page, when the period has more movements.
    pub next_after_id: Option<i64>,
    /// Each account's balance before the first movement of this page.
    page_start_fen: BTreeMap<AccountKind, Amount>,
}

impl Statement {
    /// Every account's opening plus its movements is its closing balance; and on the last page,
    /// the running balances end exactly at the closing balances.
    pub fn balances_agree(&self) -> bool {
        self.accounts.iter().all(StatementAccount::agrees)
            && (self.next_after_id.is_some() || self.page_ends_at_closing())
    }

    fn page_ends_at_closing(&self) -> bool {
        self.accounts.iter().all(|account| {
            let last = self.movements.iter().rev().find(|movement| movement.account == account.kind);
            let end_fen = match last {
                Some(movement) => Some(movement.balance_after_fen),
                None => self.page_start_fen.get(&account.kind).copied(),
            };
            end_fen == Some(account.closing_fen)
        })
    }

    /// This page holds the period's last movement (an export reads pages until it does).
    pub fn is_complete(&self) -> bool {
        self.next_after_id.is_none()
    }
}

/// The merchant's statement for `range`, its movements paged by `page`. Reads one snapshot in its
/// own read-only transaction: call it outside a transaction.
pub fn statement(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    merchant_id: MerchantId,
    range: DateRange,
    page: MovementPage,
) -> Result<Statement, LedgerError> {
    let (from, to) = range.booked_between(calendar);
    super::in_snapshot(conn, |conn| {
        let positions = rows::account_positions(conn, merchant_id, &STATEMENT_KINDS, from, to)?;
        let account_ids: Vec<AccountId> = positions.iter().map(|position| position.account_id).collect();
        let kind_of = positions
            .iter()
            .map(|position| Ok((position.account_id, position.kind)))
            .collect::<Result<BTreeMap<AccountId, AccountKind>, LedgerError>>()?;
        let totals = rows::movement_totals(conn, merchant_id, &account_ids, from, to, None)?;
        let mut accounts = Vec::with_capacity(STATEMENT_KINDS.len());
        for kind in STATEMENT_KINDS {
            let position = positions.iter().find(|position| position.kind == kind);
            accounts.push(match position {
                Some(position) => {
                    let closing_fen = less(kind, position.balance_fen, position.since_to_fen)?;
                    let opening_fen = less(kind, position.balance_fen, position.since_from_fen)?;
                    let total = totals.iter().find(|total| total.account_id == position.account_id);
                    line(Some(position.account_id), kind, opening_fen, total, closing_fen)
                }
                None => line(None, kind, Amount::ZERO, None, Amount::ZERO),
            });
        }
        let mut found =
            rows::movements(conn, merchant_id, &account_ids, from, to, page.after_id, page.limit.saturating_add(1))?;
        let has_more = found.len() as i64 > page.limit;
        found.truncate(usize::try_from(page.limit).unwrap_or(0));
        let before_page = match page.after_id {
            Some(after_id) => rows::movement_totals(conn, merchant_id, &account_ids, from, to, Some(after_id))?,
            None => Vec::new(),
        };
        let page_start_fen = page_start(&accounts, &before_page)?;
        let mut running_fen = page_start_fen.clone();
        let mut movements = Vec::with_capacity(found.len());
        for row in found {
            // The movements are read for these accounts only, so each has its kind.
            let kind = kind_of.get(&row.account_id).copied().ok_or(LedgerError::MissingAccount("statement"))?;
            let balance = running_fen.entry(kind).or_insert(Amount::ZERO);
            *balance = balance.checked_add(normal(kind, row.amount_fen)?).ok_or_else(overflow)?;
            movements.push(Movement {
                posting_id: row.posting_id,
                account: kind,
                amount_fen: row.amount_fen,
                balance_after_fen: *balance,
                entry: EntryInfo::try_from(row.cause)?,
            });
        }
        let next_after_id = if has_more { movements.last().map(|movement| movement.posting_id) } else { None };
        Ok(Statement { merchant_id, range, accounts, movements, next_after_id, page_start_fen })
    })
}

/// A balance less the signed postings booked since (debit positive), on the normal side.
fn less(kind: AccountKind, balance_fen: Amount, since_fen: Amount) -> Result<Amount, LedgerError> {
    balance_fen.checked_sub(normal(kind, since_fen)?).ok_or_else(overflow)
}

fn line(
    account_id: Option<AccountId>,
    kind: AccountKind,
    opening_fen: Amount,
    total: Option<&MovementTotalRow>,
    closing_fen: Amount,
) -> StatementAccount {
    StatementAccount {
        account_id,
        kind,
        opening_fen,
        debit_fen: total.map_or(Amount::ZERO, |total| total.debit_fen),
        credit_fen: total.map_or(Amount::ZERO, |total| total.credit_fen),
        movement_count: total.map_or(0, |total| total.count),
        closing_fen,
    }
}

/// Each account's balance before a page: its opening plus the period's movements up to the cursor.
fn page_start(
    accounts: &[StatementAccount],
    before_page: &[MovementTotalRow],
) -> Result<BTreeMap<AccountKind, Amount>, LedgerError> {
    accounts
        .iter()
        .map(|account| {
            let earlier = before_page.iter().find(|total| Some(total.account_id) == account.account_id);
            let debit_minus_credit =
                earlier.map_or(Some(Amount::ZERO), |total| total.debit_fen.checked_sub(total.credit_fen));
            let change_fen = normal(account.kind, debit_minus_credit.ok_or_else(overflow)?)?;
            Ok((account.kind, account.opening_fen.checked_add(change_fen).ok_or_else(overflow)?))
        })
        .collect()
}
