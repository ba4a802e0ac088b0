//! A merchant's statement for a period (SPEC §7): for each of the merchant's own accounts — pending,
//! available, in transit — the opening balance, every movement booked in the period, and the closing
//! balance.
//!
//! The period is whole business days: an entry belongs to the day it was booked for (a day's
//! settlement to that day, though it is booked after the day closes), as in the rollups. Opening
//! and closing come from the stored balance less what the rollups say was booked for the period's
//! days and later ones; the movements are the postings themselves, in day, entry and posting
//! order. [`Statement::balances_agree`] checks that the two meet (the running balance of the last
//! page ends at the closing balance), so a statement that does not add up says so instead of being
//! trusted.
use domain::{AccountId, Amount, MerchantId, ledger::AccountKind};
use std::collections::BTreeMap;

use diesel::PgConnection;
use storage::ledger_reports::{self as rows, AccountPositionRow, PostingCauseRow, StatementPlace};

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
    /// Each account's balance after the last movement of this page (or before the page, for an
    /// account it does not move).
    page_end_fen: BTreeMap<AccountKind, Amount>,
}

impl Statement {
    /// Every account's opening plus its movements is its closing balance; and on the last page,
    /// the running balances end exactly at the closing balances.
    pub fn balances_agree(&self) -> bool {
        self.accounts.iter().all(StatementAccount::agrees)
            && (self.next_after_id.is_some() || self.page_ends_at_closing())
    }

    fn page_ends_at_closing(&self) -> bool {
        self.accounts.iter().all(|account| self.page_end_fen.get(&account.kind) == Some(&account.closing_fen))
    }

    /// This page holds the period's last movement (an export reads pages until it does).
    pub fn is_complete(&self) -> bool {
        self.next_after_id.is_none()
    }
}

/// Where an export's statement goes as it is read: its accounts first, then each movement.
pub trait StatementSink {
    fn accounts(&mut self, accounts: &[StatementAccount]);
    fn movement(&mut self, movement: Movement);
}

/// The merchant's statement for `range`, its movements paged by `page`. Reads one snapshot in its
/// own read-only transaction: call it outside a transaction.
pub fn statement(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    range: DateRange,
    page: MovementPage,
) -> Result<Statement, LedgerError> {
    super::in_snapshot(conn, |conn| {
        let (accounts, account_ids) = statement_accounts(conn, merchant_id, range)?;
        // The page follows a movement of this statement, or starts it.
        let after = match page.after_id {
            Some(after_id) => match rows::statement_place(conn, merchant_id, &account_ids, after_id)? {
                Some(place) if (range.from()..=range.to()).contains(&place.business_date) => Some(place),
                _ => return Err(LedgerError::UnknownCursor),
            },
            None => None,
        };
        let mut found = rows::movements(
            conn,
            merchant_id,
            &account_ids,
            range.from(),
            range.to(),
            after,
            page.limit.saturating_add(1),
        )?;
        let has_more = found.len() as i64 > page.limit;
        found.truncate(usize::try_from(page.limit).unwrap_or(0));
        let page_start_fen = match after {
            Some(place) => page_start(conn, merchant_id, range, &accounts, &account_ids, place)?,
            None => opening_balances(&accounts),
        };
        let mut running = Running::new(&accounts, page_start_fen);
        let movements = found.into_iter().map(|row| running.movement(row)).collect::<Result<Vec<_>, _>>()?;
        let next_after_id = if has_more { movements.last().map(|movement| movement.posting_id) } else { None };
        Ok(Statement { merchant_id, range, accounts, movements, next_after_id, page_end_fen: running.balance_fen })
    })
}

/// The merchant's whole statement for `range`, handed to `sink` as it is read (accounts, then at
/// most `max_movements` movements), so an export writes each movement while the next arrives.
/// The result holds no movements; it is incomplete when the period has more. Reads one snapshot
/// in its own read-only transaction: call it outside a transaction.
pub fn export_statement(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    range: DateRange,
    max_movements: usize,
    sink: &mut impl StatementSink,
) -> Result<Statement, LedgerError> {
    super::in_snapshot(conn, |conn| {
        let (accounts, account_ids) = statement_accounts(conn, merchant_id, range)?;
        sink.accounts(&accounts);
        let mut running = Running::new(&accounts, opening_balances(&accounts));
        let (mut written, mut last_id, mut has_more) = (0, None, false);
        let period = (range.from(), range.to());
        rows::period_movements(conn, merchant_id, &account_ids, period, max_movements.saturating_add(1), |row| {
            if written == max_movements {
                has_more = true;
                return Ok::<_, LedgerError>(());
            }
            let movement = running.movement(row)?;
            written += 1;
            last_id = Some(movement.posting_id);
            sink.movement(movement);
            Ok(())
        })?;
        let next_after_id = if has_more { last_id } else { None };
        Ok(Statement {
            merchant_id,
            range,
            accounts,
            movements: Vec::new(),
            next_after_id,
            page_end_fen: running.balance_fen,
        })
    })
}

/// The statement's three accounts around the period, and the ids of those that exist.
fn statement_accounts(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    range: DateRange,
) -> Result<(Vec<StatementAccount>, Vec<AccountId>), LedgerError> {
    let positions = rows::account_positions(conn, merchant_id, range.from(), range.to())?;
    let account_ids: Vec<AccountId> = positions.iter().map(|position| position.account_id).collect();
    let mut accounts = Vec::with_capacity(STATEMENT_KINDS.len());
    for kind in STATEMENT_KINDS {
        accounts.push(match positions.iter().find(|position| position.kind == kind) {
            Some(position) => line(position)?,
            None => StatementAccount {
                account_id: None,
                kind,
                opening_fen: Amount::ZERO,
                debit_fen: Amount::ZERO,
                credit_fen: Amount::ZERO,
                movement_count: 0,
                closing_fen: Amount::ZERO,
            },
        });
    }
    Ok((accounts, account_ids))
}

fn opening_balances(accounts: &[StatementAccount]) -> BTreeMap<AccountKind, Amount> {
    accounts.iter().map(|account| (account.kind, account.opening_fen)).collect()
}

/// Turns a statement's postings, in its order, into movements with each account's balance
/// after them.
struct Running {
    kind_of: BTreeMap<AccountId, AccountKind>,
    balance_fen: BTreeMap<AccountKind, Amount>,
}

impl Running {
    fn new(accounts: &[StatementAccount], start_fen: BTreeMap<AccountKind, Amount>) -> Running {
        let kind_of = accounts.iter().filter_map(|account| Some((account.account_id?, account.kind))).collect();
        Running { kind_of, balance_fen: start_fen }
    }

    fn movement(&mut self, row: PostingCauseRow) -> Result<Movement, LedgerError> {
        // The movements are read for these accounts only, so each has its kind.
        let kind = self.kind_of.get(&row.account_id).copied().ok_or(LedgerError::MissingAccount("statement"))?;
        let balance = self.balance_fen.entry(kind).or_insert(Amount::ZERO);
        *balance = balance.checked_add(normal(kind, row.amount_fen)?).ok_or_else(overflow)?;
        Ok(Movement {
            posting_id: row.posting_id,
            account: kind,
            amount_fen: row.amount_fen,
            balance_after_fen: *balance,
            entry: EntryInfo::try_from(row.cause)?,
        })
    }
}

/// One account's line: opening and closing are its balance less what was booked for the period's
/// days and later ones, and for later days alone.
fn line(position: &AccountPositionRow) -> Result<StatementAccount, LedgerError> {
    let kind = position.kind;
    Ok(StatementAccount {
        account_id: Some(position.account_id),
        kind,
        opening_fen: less(kind, position.balance_fen, position.since_from_fen)?,
        debit_fen: position.debit_fen,
        credit_fen: position.credit_fen,
        movement_count: position.postings,
        closing_fen: less(kind, position.balance_fen, position.after_to_fen)?,
    })
}

/// Each account's balance before the page that follows `place`: its opening, plus the period's
/// days before the place's day (from the rollups), plus that day up to the place.
fn page_start(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    range: DateRange,
    accounts: &[StatementAccount],
    account_ids: &[AccountId],
    place: StatementPlace,
) -> Result<BTreeMap<AccountKind, Amount>, LedgerError> {
    let day = place.business_date;
    let on_day = rows::day_up_to(conn, merchant_id, account_ids, place)?;
    let days_before = match day.pred_opt() {
        Some(before) if before >= range.from() => rows::account_positions(conn, merchant_id, range.from(), before)?,
        _ => Vec::new(),
    };
    accounts
        .iter()
        .map(|account| {
            let mut start_fen = account.opening_fen;
            if let Some(earlier) = days_before.iter().find(|row| Some(row.account_id) == account.account_id) {
                let debit_minus_credit = earlier.debit_fen.checked_sub(earlier.credit_fen).ok_or_else(overflow)?;
                start_fen = start_fen.checked_add(normal(account.kind, debit_minus_credit)?).ok_or_else(overflow)?;
            }
            if let Some(that_day) = on_day.iter().find(|row| Some(row.account_id) == account.account_id) {
                start_fen = start_fen.checked_add(normal(account.kind, that_day.sum_fen)?).ok_or_else(overflow)?;
            }
            Ok((account.kind, start_fen))
        })
        .collect()
}

/// A balance less the signed postings booked since (debit positive), on the normal side.
fn less(kind: AccountKind, balance_fen: Amount, since_fen: Amount) -> Result<Amount, LedgerError> {
    balance_fen.checked_sub(normal(kind, since_fen)?).ok_or_else(overflow)
}
