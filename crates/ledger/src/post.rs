//! Writing one entry: idempotency key first, then the merchant's accounts locked in id order, the
//! postings built from the locked balances, checked, and inserted.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use domain::ledger::{AccountKind, BalancedPostings, Balances, BookingError, EntryKind};
use storage::ledger::{self as rows, EntryRow, NewEntryRow, NewPostingRow};

use crate::LedgerError;

/// What an entry books and why; `key` is derived from the cause, so the same cause always has the
/// same key.
#[derive(Clone, Debug)]
pub struct Cause {
    pub key: String,
    pub kind: EntryKind,
    pub merchant_id: i64,
    pub order_id: Option<i64>,
    pub refund_id: Option<i64>,
    pub payout_id: Option<i64>,
    pub reverses_entry_id: Option<i64>,
    pub business_date: NaiveDate,
    pub memo: Option<String>,
}

impl Cause {
    pub fn new(key: String, kind: EntryKind, merchant_id: i64, business_date: NaiveDate) -> Cause {
        Cause {
            key,
            kind,
            merchant_id,
            order_id: None,
            refund_id: None,
            payout_id: None,
            reverses_entry_id: None,
            business_date,
            memo: None,
        }
    }

    fn row(&self) -> NewEntryRow<'_> {
        NewEntryRow {
            idempotency_key: &self.key,
            kind: self.kind.as_str(),
            merchant_id: self.merchant_id,
            order_id: self.order_id,
            refund_id: self.refund_id,
            payout_id: self.payout_id,
            reverses_entry_id: self.reverses_entry_id,
            business_date: self.business_date,
            memo: self.memo.as_deref(),
        }
    }
}

/// A booked entry: new, or the one an earlier booking of the same cause made.
#[derive(Clone, Debug)]
pub enum Booked {
    New(EntryRow),
    Replay(EntryRow),
}

impl Booked {
    pub fn entry(&self) -> &EntryRow {
        match self {
            Booked::New(entry) | Booked::Replay(entry) => entry,
        }
    }
}

/// Books `cause` with the postings `build` makes from the merchant's locked balances. Runs in its
/// own transaction, or as a savepoint of the caller's.
pub fn post(
    conn: &mut PgConnection,
    cause: &Cause,
    build: impl FnOnce(&Balances) -> Result<BalancedPostings, BookingError>,
) -> Result<Booked, LedgerError> {
    conn.transaction(|conn| {
        let Some(entry) = rows::insert_entry(conn, &cause.row())? else {
            return replay(conn, cause);
        };
        let accounts = Accounts::lock(conn, cause.merchant_id)?;
        let postings = build(&accounts.balances)?;
        // The same rules the database enforces at commit, checked first for a clear error.
        accounts.balances.after(&postings)?;
        let lines = postings
            .lines()
            .iter()
            .map(|line| {
                let account_id = accounts.id_of(line.account)?;
                Ok(NewPostingRow { entry_id: entry.id, account_id, amount_fen: line.amount_fen })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        rows::insert_postings(conn, &lines)?;
        Ok(Booked::New(entry))
    })
}

fn replay(conn: &mut PgConnection, cause: &Cause) -> Result<Booked, LedgerError> {
    let entry = rows::find_entry_by_key(conn, &cause.key)?.ok_or(LedgerError::EntryNotFound)?;
    if entry.kind != cause.kind.as_str() || entry.merchant_id != cause.merchant_id {
        return Err(LedgerError::KeyReused(cause.key.clone()));
    }
    Ok(Booked::Replay(entry))
}

/// A merchant's accounts, locked, by kind.
struct Accounts {
    ids: BTreeMap<AccountKind, i64>,
    balances: Balances,
}

impl Accounts {
    fn lock(conn: &mut PgConnection, merchant_id: i64) -> Result<Accounts, LedgerError> {
        let rows = rows::lock_accounts(conn, merchant_id)?;
        let mut ids = BTreeMap::new();
        let mut balances = Vec::with_capacity(rows.len());
        for row in rows {
            // The database's CHECK admits only the known kinds.
            let Ok(kind) = row.kind.parse::<AccountKind>() else { continue };
            ids.insert(kind, row.id);
            balances.push((kind, row.balance_fen));
        }
        Ok(Accounts { ids, balances: Balances::new(balances) })
    }

    fn id_of(&self, kind: AccountKind) -> Result<i64, LedgerError> {
        self.ids.get(&kind).copied().ok_or(LedgerError::MissingAccount(kind.as_str()))
    }
}
