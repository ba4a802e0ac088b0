//! Writing entries: the merchants' accounts locked in id order, the causes booked before answered
//! with their entries, the postings built from the locked balances and checked, then the entries
//! and their postings inserted in one statement. A batch that only adds to balances (paid orders)
//! skips the reads: it is checked against zero balances and inserted at once.
//!
//! Nothing is written before the checks pass, so a refusal changes nothing and needs no savepoint:
//! inside the caller's transaction a batch of paid orders costs one round trip, any other three.
use domain::{Amount, EntryId, MerchantId, OrderId, PayoutId, RefundId};
use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use diesel::PgConnection;
use domain::ledger::{AccountKind, BalancedPostings, Balances, BookingError, EntryKind};
use storage::ledger::{self as rows, EntryRow, NewEntry, NewEntryRow};

use crate::LedgerError;

/// What an entry books and why; `key` is derived from the cause, so the same cause always has the
/// same key.
#[derive(Clone, Debug)]
pub struct Cause {
    pub key: String,
    pub kind: EntryKind,
    pub merchant_id: MerchantId,
    pub order_id: Option<OrderId>,
    pub refund_id: Option<RefundId>,
    pub payout_id: Option<PayoutId>,
    pub reverses_entry_id: Option<EntryId>,
    pub business_date: NaiveDate,
    pub memo: Option<String>,
}

impl Cause {
    pub fn new(key: String, kind: EntryKind, merchant_id: MerchantId, business_date: NaiveDate) -> Cause {
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
            kind: self.kind,
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
    let booking = Booking { cause: cause.clone(), build: Box::new(build) };
    post_many(conn, vec![booking])?.pop().unwrap_or(Err(LedgerError::EntryNotFound))
}

/// Builds an entry's postings from its merchant's balances.
pub type Build<'a> = Box<dyn FnOnce(&Balances) -> Result<BalancedPostings, BookingError> + 'a>;

/// One booking of a batch: its cause, and how to build its postings from the merchant's balances
/// as the bookings before it in the batch left them.
pub struct Booking<'a> {
    pub cause: Cause,
    pub build: Build<'a>,
}

/// Books a batch: one result per booking, in order. A booking the rules refuse is answered with
/// its error and writes nothing; the rest go ahead.
///
/// A batch that only adds to balances (paid orders) is written in one statement, with no read
/// first ([`write_adding`]); any other batch has its merchants' accounts locked and read first
/// ([`write_checked`]).
pub fn post_many(
    conn: &mut PgConnection,
    bookings: Vec<Booking<'_>>,
) -> Result<Vec<Result<Booked, LedgerError>>, LedgerError> {
    let write = |conn: &mut PgConnection| {
        if bookings.iter().any(|booking| booking.cause.kind.needs_locked_balances()) {
            write_checked(conn, bookings)
        } else {
            write_adding(conn, bookings)
        }
    };
    if storage::database::in_transaction(conn) { write(conn) } else { storage::database::transaction(conn, write) }
}

/// What became of one booking before the write: answered already, or to be written.
enum Planned {
    Done(Result<Booked, LedgerError>),
    Write,
}

/// Bookings that only add to balances, written without reading anything first. Each is built and
/// checked against zero balances: postings that leave every account of an empty ledger at or above
/// zero leave any non-negative balance non-negative, so the Rust check holds whatever the real
/// balances are. The insert skips an entry whose cause was booked before or whose merchant has no
/// accounts yet; those go through [`write_checked`], which answers replays and opens accounts.
fn write_adding(
    conn: &mut PgConnection,
    bookings: Vec<Booking<'_>>,
) -> Result<Vec<Result<Booked, LedgerError>>, LedgerError> {
    let mut plan = Vec::with_capacity(bookings.len());
    let mut writes = Vec::new();
    for Booking { cause, build } in bookings {
        match built_from_zero(&cause, build) {
            Ok(postings) => {
                plan.push(Planned::Write);
                writes.push((cause, postings));
            }
            Err(refused) => plan.push(Planned::Done(Err(refused))),
        }
    }
    let new_entries: Vec<NewEntry<'_>> =
        writes.iter().map(|(cause, postings)| NewEntry { row: cause.row(), postings: lines(postings) }).collect();
    let mut written = by_key(rows::insert_entries_with_postings(conn, &new_entries)?);
    let mut results = Vec::with_capacity(writes.len());
    let mut again = Vec::new();
    for (cause, postings) in writes {
        match written.remove(&cause.key) {
            Some(entry) => results.push(Some(Ok(Booked::New(entry)))),
            None => {
                results.push(None);
                again.push(Booking { cause, build: Box::new(move |_: &Balances| Ok(postings)) });
            }
        }
    }
    let mut again = write_checked(conn, again)?.into_iter();
    let mut results = results.into_iter();
    plan.into_iter()
        .map(|planned| match planned {
            Planned::Done(result) => Ok(result),
            Planned::Write => match results.next().flatten() {
                Some(result) => Ok(result),
                None => again.next().ok_or(LedgerError::EntryNotFound),
            },
        })
        .collect()
}

/// The cause's postings, checked against zero balances and against the accounts its kind may touch.
fn built_from_zero(cause: &Cause, build: Build<'_>) -> Result<BalancedPostings, LedgerError> {
    let zero = Balances::default();
    let postings = build(&zero)?;
    zero.after(&postings)?;
    let allowed = cause.kind.accounts();
    if let Some(line) = postings.lines().iter().find(|line| !allowed.contains(&line.account)) {
        return Err(LedgerError::MissingAccount(line.account.as_str()));
    }
    Ok(postings)
}

fn lines(postings: &BalancedPostings) -> Vec<(AccountKind, Amount)> {
    postings.lines().iter().map(|line| (line.account, line.amount_fen)).collect()
}

/// Books a batch in one pass: every merchant's accounts locked at once (id order) and read, the
/// causes booked before answered with their entries, the others built and checked in order against
/// running balances, then all entries and postings written in one statement.
fn write_checked(
    conn: &mut PgConnection,
    bookings: Vec<Booking<'_>>,
) -> Result<Vec<Result<Booked, LedgerError>>, LedgerError> {
    if bookings.is_empty() {
        return Ok(Vec::new());
    }
    let merchant_ids: BTreeSet<MerchantId> = bookings.iter().map(|booking| booking.cause.merchant_id).collect();
    let kinds: BTreeSet<AccountKind> =
        bookings.iter().flat_map(|booking| booking.cause.kind.accounts().iter().copied()).collect();
    let lock = bookings.iter().any(|booking| booking.cause.kind.needs_locked_balances());
    let mut ledger = Accounts::load(conn, &merchant_ids.into_iter().collect::<Vec<_>>(), &kinds, lock)?;
    // After the lock: a concurrent booking of the same cause has committed or not started. (A
    // batch of paid orders takes no lock here: each order is locked by its caller, so its cause
    // cannot be booked concurrently.)
    let keys: Vec<&str> = bookings.iter().map(|booking| booking.cause.key.as_str()).collect();
    let mut booked = by_key(rows::find_entries_by_keys(conn, &keys)?);
    let mut plan = Vec::with_capacity(bookings.len());
    let mut writes = Vec::new();
    for Booking { cause, build } in bookings {
        if let Some(entry) = booked.get(&cause.key) {
            plan.push(Planned::Done(replayed(entry.clone(), &cause)));
            continue;
        }
        match ledger.apply(&cause, build) {
            Ok(lines) => {
                plan.push(Planned::Write);
                writes.push((cause, lines));
            }
            Err(refused) => plan.push(Planned::Done(Err(refused))),
        }
    }
    let new_entries: Vec<NewEntry<'_>> =
        writes.iter().map(|(cause, lines)| NewEntry { row: cause.row(), postings: lines.clone() }).collect();
    for entry in rows::insert_entries_with_postings(conn, &new_entries)? {
        booked.insert(entry.idempotency_key.clone(), entry);
    }
    let mut written = writes.into_iter();
    Ok(plan
        .into_iter()
        .map(|planned| match planned {
            Planned::Done(result) => result,
            Planned::Write => {
                let (cause, _) = written.next().ok_or(LedgerError::EntryNotFound)?;
                // The accounts are open and the key was free, so only a key taken meanwhile by
                // another merchant's cause (a bug) is missing here.
                let entry = booked.remove(&cause.key).ok_or_else(|| LedgerError::KeyReused(cause.key.clone()))?;
                Ok(Booked::New(entry))
            }
        })
        .collect())
}

/// Entries by their idempotency key.
fn by_key(entries: Vec<EntryRow>) -> HashMap<String, EntryRow> {
    entries.into_iter().map(|entry| (entry.idempotency_key.clone(), entry)).collect()
}

/// The entry an earlier booking of the same key made, if it was for the same cause.
fn replayed(entry: EntryRow, cause: &Cause) -> Result<Booked, LedgerError> {
    if entry.kind != cause.kind || entry.merchant_id != cause.merchant_id {
        return Err(LedgerError::KeyReused(cause.key.clone()));
    }
    Ok(Booked::Replay(entry))
}

/// The batch's merchants' accounts, locked, with their balances as the batch's bookings leave them.
struct Accounts {
    /// The accounts open (and locked, if the batch locks), by merchant and kind.
    open: BTreeSet<(MerchantId, AccountKind)>,
    balances: HashMap<MerchantId, Balances>,
}

impl Accounts {
    /// The merchants' accounts of `kinds` (what the batch's entries may touch), locked if `lock`;
    /// a merchant's accounts are opened first if it has none yet.
    fn load(
        conn: &mut PgConnection,
        merchant_ids: &[MerchantId],
        kinds: &BTreeSet<AccountKind>,
        lock: bool,
    ) -> Result<Accounts, LedgerError> {
        let kinds: Vec<AccountKind> = kinds.iter().copied().collect();
        let mut rows = rows::accounts_of_kinds(conn, merchant_ids, &kinds, lock)?;
        if rows.len() < merchant_ids.len() * kinds.len() {
            for merchant_id in merchant_ids {
                rows::open_accounts(conn, *merchant_id)?;
            }
            rows = rows::accounts_of_kinds(conn, merchant_ids, &kinds, lock)?;
        }
        let mut open = BTreeSet::new();
        let mut by_merchant: HashMap<MerchantId, Vec<(AccountKind, Amount)>> = HashMap::new();
        for row in rows {
            let kind = row.kind;
            open.insert((row.merchant_id, kind));
            by_merchant.entry(row.merchant_id).or_default().push((kind, row.balance_fen));
        }
        let balances = by_merchant.into_iter().map(|(merchant_id, rows)| (merchant_id, Balances::new(rows))).collect();
        Ok(Accounts { open, balances })
    }

    /// Builds the cause's postings from its merchant's running balances and checks them (the same
    /// rules the database enforces at the end of the statement, checked first for a clear error); on success the
    /// running balances move and the lines to write come back.
    fn apply(&mut self, cause: &Cause, build: Build<'_>) -> Result<Vec<(AccountKind, Amount)>, LedgerError> {
        let balances = self.balances.get(&cause.merchant_id).ok_or(LedgerError::MissingAccount("any"))?;
        let postings = build(balances)?;
        let after = balances.after(&postings)?;
        if let Some(line) = postings.lines().iter().find(|line| !self.open.contains(&(cause.merchant_id, line.account)))
        {
            return Err(LedgerError::MissingAccount(line.account.as_str()));
        }
        self.balances.insert(cause.merchant_id, after);
        Ok(lines(&postings))
    }
}
