//! Writing one entry: the merchant's accounts locked in id order, the postings built from the
//! locked balances and checked, then the entry and its postings inserted in one statement unless
//! the idempotency key is taken (a replay).
//!
//! Nothing is written before the checks pass, so a refusal changes nothing and needs no savepoint:
//! inside the caller's transaction a booking costs two round trips (lock, insert), not five.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::{
    Connection, PgConnection,
    connection::{AnsiTransactionManager, TransactionManager},
};
use domain::ledger::{AccountKind, BalancedPostings, Balances, BookingError, EntryKind};
use storage::ledger::{self as rows, EntryRow, NewEntryRow};

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

/// Books `cause` with the postings `build` makes from the merchant's locked balances. Runs in the
/// caller's transaction, or in its own when there is none (the locks must last until commit).
pub fn post(
    conn: &mut PgConnection,
    cause: &Cause,
    build: impl FnOnce(&Balances) -> Result<BalancedPostings, BookingError>,
) -> Result<Booked, LedgerError> {
    if in_transaction(conn) { write(conn, cause, build) } else { conn.transaction(|conn| write(conn, cause, build)) }
}

fn in_transaction(conn: &mut PgConnection) -> bool {
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some())
}

fn write(
    conn: &mut PgConnection,
    cause: &Cause,
    build: impl FnOnce(&Balances) -> Result<BalancedPostings, BookingError>,
) -> Result<Booked, LedgerError> {
    let accounts = Accounts::lock(conn, cause.merchant_id)?;
    // The same rules the database enforces at commit, checked first for a clear error.
    let checked = build(&accounts.balances)
        .map_err(LedgerError::from)
        .and_then(|postings| accounts.balances.after(&postings).map(|_| postings).map_err(LedgerError::from));
    let postings = match checked {
        Ok(postings) => postings,
        // A cause booked before is answered with its entry, whatever the balances are now.
        Err(refused) => {
            return match rows::find_entry_by_key(conn, &cause.key)? {
                Some(entry) => replayed(entry, cause),
                None => Err(refused),
            };
        }
    };
    let lines = postings
        .lines()
        .iter()
        .map(|line| Ok((accounts.id_of(line.account)?, line.amount_fen)))
        .collect::<Result<Vec<_>, LedgerError>>()?;
    match rows::insert_entry_with_postings(conn, &cause.row(), &lines)? {
        Some(entry) => Ok(Booked::New(entry)),
        None => replay(conn, cause),
    }
}

fn replay(conn: &mut PgConnection, cause: &Cause) -> Result<Booked, LedgerError> {
    replayed(rows::find_entry_by_key(conn, &cause.key)?.ok_or(LedgerError::EntryNotFound)?, cause)
}

/// The entry an earlier booking of the same key made, if it was for the same cause.
fn replayed(entry: EntryRow, cause: &Cause) -> Result<Booked, LedgerError> {
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
