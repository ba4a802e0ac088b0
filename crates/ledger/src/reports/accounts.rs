//! Accounts with their balances, and one account's postings with a running balance.
use diesel::PgConnection;
use domain::{AccountId, Amount, MerchantId, ledger::AccountKind};
use storage::ledger_reports::{self as rows, AccountListRow};

use super::entries::EntryInfo;
use crate::LedgerError;

/// An account, its merchant, and its balance on its normal side.
#[derive(Clone, Debug)]
pub struct AccountSummary {
    pub id: AccountId,
    pub merchant_id: MerchantId,
    pub short_name: String,
    pub sub_merchant_id: Option<String>,
    pub kind: AccountKind,
    pub balance_fen: Amount,
}

impl TryFrom<AccountListRow> for AccountSummary {
    type Error = LedgerError;

    fn try_from(row: AccountListRow) -> Result<Self, Self::Error> {
        Ok(AccountSummary {
            id: row.account.id,
            merchant_id: row.account.merchant_id,
            kind: row.account.kind,
            balance_fen: row.account.balance_fen,
            short_name: row.short_name,
            sub_merchant_id: row.sub_merchant_id,
        })
    }
}

/// Which accounts to list, in id order after `after_id`.
#[derive(Clone, Debug, Default)]
pub struct AccountQuery {
    /// Only these merchants' accounts (`None`: every merchant's).
    pub merchant_ids: Option<Vec<MerchantId>>,
    pub kind: Option<AccountKind>,
    pub after_id: Option<i64>,
}

pub fn accounts(conn: &mut PgConnection, query: &AccountQuery, limit: i64) -> Result<Vec<AccountSummary>, LedgerError> {
    let filter =
        rows::AccountFilter { merchant_ids: query.merchant_ids.clone(), kind: query.kind, after_id: query.after_id };
    rows::list_accounts(conn, &filter, limit)?.into_iter().map(AccountSummary::try_from).collect()
}

/// A posting of the account with the balance right after it.
#[derive(Clone, Debug)]
pub struct AccountPosting {
    pub posting_id: i64,
    /// Signed: a debit is positive.
    pub amount_fen: Amount,
    pub balance_after_fen: Amount,
    pub entry: EntryInfo,
}

impl AccountPosting {
    pub fn debit_fen(&self) -> Amount {
        debit_side(self.amount_fen)
    }

    pub fn credit_fen(&self) -> Amount {
        credit_side(self.amount_fen)
    }
}

/// A page of an account's postings, newest first.
#[derive(Clone, Debug)]
pub struct AccountLedger {
    pub account: AccountSummary,
    pub postings: Vec<AccountPosting>,
    /// The cursor of the next (older) page, when there is one.
    pub next_before_id: Option<i64>,
}

/// The account and up to `limit` of its postings older than `before_id`; `None` if there is no
/// such account. One snapshot, so the running balance starts from the balance the page belongs to.
pub fn account_ledger(
    conn: &mut PgConnection,
    account_id: AccountId,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Option<AccountLedger>, LedgerError> {
    super::in_snapshot(conn, |conn| {
        let Some(row) = rows::find_account(conn, account_id)? else { return Ok(None) };
        let account = AccountSummary::try_from(row)?;
        let mut found = rows::account_postings(conn, account_id, before_id, limit.saturating_add(1))?;
        let has_more = found.len() as i64 > limit;
        found.truncate(usize::try_from(limit).unwrap_or(0));
        // The balance after the newest posting of the page: today's less everything newer.
        let newer_fen = match before_id {
            Some(before_id) => rows::account_postings_since(conn, account_id, before_id)?,
            None => Amount::ZERO,
        };
        let mut balance_fen = account.balance_fen.checked_sub(normal(account.kind, newer_fen)?).ok_or_else(overflow)?;
        let mut postings = Vec::with_capacity(found.len());
        for row in found {
            let posting = AccountPosting {
                posting_id: row.posting_id,
                amount_fen: row.amount_fen,
                balance_after_fen: balance_fen,
                entry: EntryInfo::try_from(row.cause)?,
            };
            balance_fen = balance_fen.checked_sub(normal(account.kind, row.amount_fen)?).ok_or_else(overflow)?;
            postings.push(posting);
        }
        let next_before_id = if has_more { postings.last().map(|posting| posting.posting_id) } else { None };
        Ok(Some(AccountLedger { account, postings, next_before_id }))
    })
}

/// A signed posting amount as a change of the account's balance on its normal side.
pub(crate) fn normal(kind: AccountKind, amount_fen: Amount) -> Result<Amount, LedgerError> {
    kind.balance_delta(amount_fen).ok_or_else(overflow)
}

/// A signed posting's debit side: the amount of a debit, zero for a credit.
pub(crate) fn debit_side(amount_fen: Amount) -> Amount {
    amount_fen.max(Amount::ZERO)
}

/// A signed posting's credit side: the amount of a credit, zero for a debit. A credit of
/// `i64::MIN` fen cannot be negated and shows as the largest amount.
pub(crate) fn credit_side(amount_fen: Amount) -> Amount {
    amount_fen.checked_neg().unwrap_or(Amount::from_fen(i64::MAX)).max(Amount::ZERO)
}

pub(crate) fn overflow() -> LedgerError {
    LedgerError::Entry(domain::ledger::EntryError::Overflow)
}
