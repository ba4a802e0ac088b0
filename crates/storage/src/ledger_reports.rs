//! Read-only queries behind the ledger's reports (SPEC §7): accounts with their balances, the
//! postings of one account with what caused them, a merchant's statement for a period, commission
//! earned by day and by merchant, and the state of recent business days.
//!
//! Nothing here writes. Callers that combine several of these queries into one report run them in
//! one repeatable-read transaction, so the figures come from one snapshot and add up.
//!
//! Every query walks an index: postings by `(account_id, id)`, entries by `(merchant_id, …)` and
//! `(business_date, kind)`, settlements by their unique `(merchant_id, business_date)`.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz},
};
use domain::ledger::{AccountKind, EntryKind};
use domain::{AccountId, Amount, EntryId, MerchantId, OrderId, PayoutId, RefundId};

use crate::{
    StorageError,
    ledger::{AccountRow, BusinessDayRow},
    schema::{business_days, ledger_accounts, merchants},
};

/// An account with the merchant it belongs to.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct AccountListRow {
    pub account: AccountRow,
    pub short_name: String,
    pub sub_merchant_id: Option<String>,
}

/// Filters of the accounts list; `after_id` is the keyset cursor (accounts in id order).
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only the accounts of these merchants (`None`: every merchant).
    pub merchant_ids: Option<Vec<MerchantId>>,
    pub kind: Option<AccountKind>,
    pub after_id: Option<i64>,
}

pub fn list_accounts(
    conn: &mut PgConnection,
    filter: &AccountFilter,
    limit: i64,
) -> Result<Vec<AccountListRow>, StorageError> {
    let mut query = ledger_accounts::table
        .inner_join(merchants::table)
        .select((AccountRow::as_select(), merchants::short_name, merchants::sub_merchant_id))
        .into_boxed();
    if let Some(merchant_ids) = &filter.merchant_ids {
        query = query.filter(ledger_accounts::merchant_id.eq_any(merchant_ids));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(ledger_accounts::kind.eq(kind));
    }
    if let Some(after_id) = filter.after_id {
        query = query.filter(ledger_accounts::id.gt(after_id));
    }
    Ok(query.order(ledger_accounts::id).limit(limit).load(conn)?)
}

pub fn find_account(conn: &mut PgConnection, account_id: AccountId) -> Result<Option<AccountListRow>, StorageError> {
    Ok(ledger_accounts::table
        .inner_join(merchants::table)
        .filter(ledger_accounts::id.eq(account_id))
        .select((AccountRow::as_select(), merchants::short_name, merchants::sub_merchant_id))
        .first(conn)
        .optional()?)
}

/// The entry behind a posting, with what caused it: the order (its `trade_no`), the refund (its
/// `refund_no`), the payout, or the settlement (its business date).
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct EntryCauseRow {
    #[diesel(sql_type = BigInt)]
    pub entry_id: EntryId,
    #[diesel(sql_type = Text)]
    pub entry_kind: EntryKind,
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    #[diesel(sql_type = Timestamptz)]
    pub booked_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub memo: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub reverses_entry_id: Option<EntryId>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub order_id: Option<OrderId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub trade_no: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub refund_id: Option<RefundId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub refund_no: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub payout_id: Option<PayoutId>,
    #[diesel(sql_type = Nullable<Date>)]
    pub settlement_date: Option<NaiveDate>,
}

/// One posting with its entry and cause.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct PostingCauseRow {
    #[diesel(sql_type = BigInt)]
    pub posting_id: i64,
    #[diesel(sql_type = BigInt)]
    pub account_id: AccountId,
    #[diesel(sql_type = BigInt)]
    pub amount_fen: Amount,
    #[diesel(embed)]
    pub cause: EntryCauseRow,
}

/// The columns of a [`PostingCauseRow`]: a posting, its entry and what caused it. A settlement
/// entry is booked for the day it settles (the settlement writes its row and its entry together),
/// so its own business day names the settlement.
const POSTING_CAUSE_COLUMNS: &str = "SELECT p.id AS posting_id, p.account_id, p.amount_fen,
                e.id AS entry_id, e.kind AS entry_kind, e.business_date, e.booked_at, e.memo, e.reverses_entry_id,
                e.order_id, o.trade_no, e.refund_id, r.refund_no, e.payout_id,
                CASE WHEN e.kind = 'settlement' THEN e.business_date END AS settlement_date";

/// The joins that find a posting's cause (`p` the posting, `e` its entry). Each number is looked
/// up only for the entries that show it: a refund shows its refund number, not its order's trade
/// number, and a reversal neither (an export of a large merchant reads thousands of entries, and
/// each lookup is a walk down a large index). `OFFSET 0` keeps each lookup a subquery whose
/// conditions on the entry are checked before the index is read, not after.
const POSTING_CAUSE_JOINS: &str = "LEFT JOIN LATERAL (SELECT trade_no FROM orders
                                   WHERE id = e.order_id AND e.refund_id IS NULL
                                     AND e.reverses_entry_id IS NULL OFFSET 0) o ON true
           LEFT JOIN LATERAL (SELECT refund_no FROM refunds
                               WHERE id = e.refund_id AND e.reverses_entry_id IS NULL OFFSET 0) r ON true";

/// The postings of an account, newest first, older than `before_id` when given.
pub fn account_postings(
    conn: &mut PgConnection,
    account_id: AccountId,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<PostingCauseRow>, StorageError> {
    Ok(diesel::sql_query(format!(
        "{POSTING_CAUSE_COLUMNS}
           FROM ledger_postings p
           JOIN ledger_entries e ON e.id = p.entry_id
           {POSTING_CAUSE_JOINS}
          WHERE p.account_id = $1 AND p.id < $2
          ORDER BY p.id DESC
          LIMIT $3"
    ))
    .bind::<BigInt, _>(account_id)
    .bind::<BigInt, _>(before_id.unwrap_or(i64::MAX))
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

#[derive(Debug, Clone, Copy, QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    sum_fen: Amount,
}

/// The sum of the account's postings from `from_id` on (signed, debit positive): what the balance
/// has moved since just before that posting.
pub fn account_postings_since(
    conn: &mut PgConnection,
    account_id: AccountId,
    from_id: i64,
) -> Result<Amount, StorageError> {
    let sum: Sum = diesel::sql_query(
        "SELECT COALESCE(sum(amount_fen), 0)::bigint AS sum_fen
           FROM ledger_postings WHERE account_id = $1 AND id >= $2",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<BigInt, _>(from_id)
    .get_result(conn)?;
    Ok(sum.sum_fen)
}

/// A merchant account around a period of business days, from the rollups: its balance now, the
/// signed sums (debit positive) of what was booked for the period's days and every later day, and
/// for the later days alone; and the period's debits, credits (both positive) and postings.
/// Opening and closing balances are the balance now less the later days.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct AccountPositionRow {
    #[diesel(sql_type = BigInt)]
    pub account_id: AccountId,
    #[diesel(sql_type = Text)]
    pub kind: AccountKind,
    #[diesel(sql_type = BigInt)]
    pub balance_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub since_from_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub after_to_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub debit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub credit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub postings: i64,
}

/// The merchant's own accounts (pending, available, in transit: the rollups' statement figures)
/// that exist, around business days `[from, to]`.
pub fn account_positions(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AccountPositionRow>, StorageError> {
    Ok(diesel::sql_query(
        "WITH days AS (
                SELECT k.kind, d.business_date, k.debit_fen, k.credit_fen, k.postings
                  FROM ledger_merchant_days_now d
                 CROSS JOIN LATERAL (VALUES
                        ('merchant_pending', d.pending_debit_fen, d.pending_credit_fen, d.pending_postings),
                        ('merchant_available', d.available_debit_fen, d.available_credit_fen, d.available_postings),
                        ('merchant_payout_in_transit', d.in_transit_debit_fen, d.in_transit_credit_fen,
                         d.in_transit_postings)) AS k (kind, debit_fen, credit_fen, postings)
                 WHERE d.merchant_id = $1 AND d.business_date >= $2)
         SELECT a.id AS account_id, a.kind, a.balance_fen,
                COALESCE(sum(t.debit_fen - t.credit_fen), 0)::bigint AS since_from_fen,
                COALESCE(sum(t.debit_fen - t.credit_fen) FILTER (WHERE t.business_date > $3), 0)::bigint AS after_to_fen,
                COALESCE(sum(t.debit_fen) FILTER (WHERE t.business_date <= $3), 0)::bigint AS debit_fen,
                COALESCE(sum(t.credit_fen) FILTER (WHERE t.business_date <= $3), 0)::bigint AS credit_fen,
                COALESCE(sum(t.postings) FILTER (WHERE t.business_date <= $3), 0)::bigint AS postings
           FROM ledger_accounts a
           LEFT JOIN days t ON t.kind = a.kind
          WHERE a.merchant_id = $1
            AND a.kind IN ('merchant_pending', 'merchant_available', 'merchant_payout_in_transit')
          GROUP BY a.id, a.kind, a.balance_fen
          ORDER BY a.id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

/// A posting's place in a statement's order: its entry's business day, its entry and itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct StatementPlace {
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub entry_id: i64,
    #[diesel(sql_type = BigInt)]
    pub posting_id: i64,
}

/// Where posting `posting_id` stands in the merchant's statement, if it is a posting to one of
/// `account_ids` (the merchant's own accounts); found through the accounts' index.
pub fn statement_place(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    posting_id: i64,
) -> Result<Option<StatementPlace>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT e.business_date, e.id AS entry_id, p.id AS posting_id
           FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
          WHERE p.account_id = ANY($1) AND p.id = $2 AND e.merchant_id = $3",
    )
    .bind::<Array<BigInt>, _>(account_ids)
    .bind::<BigInt, _>(posting_id)
    .bind::<BigInt, _>(merchant_id)
    .get_result(conn)
    .optional()?)
}

/// Signed sums (debit positive) per account.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct AccountSumRow {
    #[diesel(sql_type = BigInt)]
    pub account_id: AccountId,
    #[diesel(sql_type = BigInt)]
    pub sum_fen: Amount,
}

/// The signed sums of the merchant's postings to `account_ids` booked for `place`'s business day
/// up to and including that posting, in the statement's order.
pub fn day_up_to(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    place: StatementPlace,
) -> Result<Vec<AccountSumRow>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT p.account_id, sum(p.amount_fen)::bigint AS sum_fen
           FROM ledger_entries e
           JOIN ledger_postings p ON p.entry_id = e.id
          WHERE e.merchant_id = $1 AND e.business_date = $2 AND e.id <= $3 AND p.account_id = ANY($4)
            AND (e.id < $3 OR p.id <= $5)
          GROUP BY p.account_id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Date, _>(place.business_date)
    .bind::<BigInt, _>(place.entry_id)
    .bind::<Array<BigInt>, _>(account_ids)
    .bind::<BigInt, _>(place.posting_id)
    .load(conn)?)
}

/// The postings of the merchant's `account_ids` booked for business days `[from, to]`, in the
/// statement's order (day, entry, posting), after `after` when given, at most `limit`. The
/// merchant's entries are read in that order along their (merchant, day, id) index a chunk at a
/// time, and their postings to the accounts looked up, so a page reads its own rows and not the
/// period's (an entry may have none on these accounts: then the next chunk is read). A whole
/// period is [`period_movements`].
pub fn movements(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    from: NaiveDate,
    to: NaiveDate,
    after: Option<StatementPlace>,
    limit: i64,
) -> Result<Vec<PostingCauseRow>, StorageError> {
    #[derive(QueryableByName)]
    struct EntryKey {
        #[diesel(sql_type = Date)]
        business_date: NaiveDate,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let wanted = usize::try_from(limit).unwrap_or(0);
    let mut place = after.unwrap_or(StatementPlace { business_date: from, entry_id: 0, posting_id: 0 });
    let chunk = limit.max(1);
    let mut found: Vec<PostingCauseRow> = Vec::new();
    while found.len() < wanted {
        // This chunk's entries: the place's own (its later postings) and the ones after it.
        let entries: Vec<EntryKey> = diesel::sql_query(
            "SELECT business_date, id FROM ledger_entries
              WHERE merchant_id = $1 AND (business_date, id) >= ($2, $3) AND business_date <= $4
              ORDER BY business_date, id
              LIMIT $5",
        )
        .bind::<BigInt, _>(merchant_id)
        .bind::<Date, _>(place.business_date.max(from))
        .bind::<BigInt, _>(place.entry_id)
        .bind::<Date, _>(to)
        .bind::<BigInt, _>(chunk)
        .load(conn)?;
        let Some(last) = entries.last() else { break };
        let next = StatementPlace { business_date: last.business_date, entry_id: last.id, posting_id: i64::MAX };
        let entry_ids: Vec<i64> = entries.iter().map(|entry| entry.id).collect();
        let rows: Vec<PostingCauseRow> = diesel::sql_query(format!(
            "{POSTING_CAUSE_COLUMNS}
               FROM ledger_entries e
               -- Each entry's own postings, looked up by entry (a lateral with OFFSET is not
               -- flattened into a scan of every posting of the accounts).
               CROSS JOIN LATERAL (SELECT * FROM ledger_postings p
                                    WHERE p.entry_id = e.id AND p.account_id = ANY($2) OFFSET 0) p
               {POSTING_CAUSE_JOINS}
              WHERE e.id = ANY($1) AND (e.id <> $3 OR p.id > $4)
              ORDER BY e.business_date, e.id, p.id"
        ))
        .bind::<Array<BigInt>, _>(&entry_ids)
        .bind::<Array<BigInt>, _>(account_ids)
        .bind::<BigInt, _>(place.entry_id)
        .bind::<BigInt, _>(place.posting_id)
        .load(conn)?;
        found.extend(rows);
        if (entries.len() as i64) < chunk {
            break;
        }
        place = next;
    }
    found.truncate(wanted);
    Ok(found)
}

/// The movements of a whole period (an export), at most `limit`, handed to `each` in the
/// statement's order as they arrive, so that the caller writes one day while PostgreSQL sends the
/// next. Two reads: the copies of the period's settled days, a row per day, day by day;
/// and for the other days (not copied yet, or booked for since and not folded yet) the merchant's
/// entries of each day along its (merchant, day, id) index and each entry's postings to the
/// accounts, read first (a day or two) and handed over in their place among the copies. Read as
/// one query sorted in PostgreSQL and then written, the sort alone was 13 of the 40 ms of SQL for
/// a merchant's 20,000 lines at 10M orders.
pub fn period_movements<E: From<StorageError>>(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    (from, to): (NaiveDate, NaiveDate),
    limit: usize,
    mut each: impl FnMut(PostingCauseRow) -> Result<(), E>,
) -> Result<(), E> {
    let unfolded_days = unfolded_days(conn, merchant_id)?;
    let mut open_days =
        open_day_lines(conn, merchant_id, account_ids, (from, to), &unfolded_days, limit)?.into_iter().peekable();
    // Hands a row on, unless `limit` rows have been handed already.
    let mut handed = 0;
    let mut hand = |row: PostingCauseRow| -> Result<bool, E> {
        if handed == limit {
            return Ok(false);
        }
        each(row)?;
        handed += 1;
        Ok(true)
    };
    let copied_days = crate::ledger_statement_copies::copied_days(conn, merchant_id, (from, to), &unfolded_days)?;
    'days: for day in copied_days {
        let day = day.map_err(StorageError::from)?;
        for line in day.lines() {
            let line = line?;
            let place = line.place();
            while let Some(open) = open_days.next_if(|open| open.place() < place) {
                if !hand(open)? {
                    break 'days;
                }
            }
            if !hand(line)? {
                break 'days;
            }
        }
    }
    for open in open_days {
        if !hand(open)? {
            break;
        }
    }
    Ok(())
}

/// The merchant's days booked for since their lines were copied: their copies are out of date
/// until the fold removes them.
fn unfolded_days(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<NaiveDate>, StorageError> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = Date)]
        business_date: NaiveDate,
    }
    let days: Vec<Day> = diesel::sql_query(
        "SELECT DISTINCT e.business_date FROM ledger_unfolded_entries u
           JOIN ledger_entries e ON e.id = u.entry_id
          WHERE e.merchant_id = $1",
    )
    .bind::<BigInt, _>(merchant_id)
    .load(conn)?;
    Ok(days.into_iter().map(|day| day.business_date).collect())
}

/// The movements of the period's days whose lines are not copied (or are out of date), read
/// from the ledger, in the statement's order, at most `limit`. The laterals (with OFFSET 0) keep
/// both lookups by index: joined plainly, the planner read every posting of the accounts over
/// all time and dropped the settled days last (450 ms for a merchant's 20,000 lines at 10M
/// orders; 22 ms so).
fn open_day_lines(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    (from, to): (NaiveDate, NaiveDate),
    unfolded_days: &[NaiveDate],
    limit: usize,
) -> Result<Vec<PostingCauseRow>, StorageError> {
    Ok(diesel::sql_query(format!(
        "{POSTING_CAUSE_COLUMNS}
           FROM (SELECT day::date AS day FROM generate_series($3::date, $4::date, interval '1 day') day
                  WHERE NOT EXISTS (SELECT 1 FROM ledger_statement_days c
                                     WHERE c.merchant_id = $1 AND c.business_date = day::date)
                     OR day::date = ANY($5)) open_days
           CROSS JOIN LATERAL (SELECT * FROM ledger_entries e
                                WHERE e.merchant_id = $1 AND e.business_date = open_days.day OFFSET 0) e
           CROSS JOIN LATERAL (SELECT * FROM ledger_postings p
                                WHERE p.entry_id = e.id AND p.account_id = ANY($2) OFFSET 0) p
           {POSTING_CAUSE_JOINS}
          ORDER BY e.business_date, e.id, p.id
          LIMIT $6"
    ))
    .bind::<BigInt, _>(merchant_id)
    .bind::<Array<BigInt>, _>(account_ids)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Array<Date>, _>(unfolded_days)
    .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
    .load(conn)?)
}

impl PostingCauseRow {
    /// Where this posting stands in a statement.
    pub fn place(&self) -> StatementPlace {
        StatementPlace {
            business_date: self.cause.business_date,
            entry_id: self.cause.entry_id.get(),
            posting_id: self.posting_id,
        }
    }
}

/// The liquidator's commission debited and credited on a business day, both positive.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct DayCommissionRow {
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub debit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub credit_fen: Amount,
}

/// The commission per business day within `[from, to]`, from the rollups (a row per final day).
pub fn commission_by_day(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayCommissionRow>, StorageError> {
    Ok(diesel::sql_query(format!(
        "SELECT business_date, commission_debit_fen AS debit_fen, commission_credit_fen AS credit_fen
           FROM {platform_days} days
          WHERE commission_debit_fen <> 0 OR commission_credit_fen <> 0
          ORDER BY business_date",
        platform_days = crate::ledger_rollups::PLATFORM_DAYS
    ))
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct MerchantCommissionRow {
    #[diesel(sql_type = BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = Text)]
    pub short_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub sub_merchant_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub debit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub credit_fen: Amount,
}

/// The commission within business days `[from, to]` per merchant, from the rollups; the
/// merchants with the largest net credit first, at most `limit`. The range's whole weeks are read
/// from the week rows and only its ragged ends from the day rows (grouping every merchant's every
/// day was most of this query's time); the entries not folded yet are added over the whole range.
pub fn commission_by_merchant(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<MerchantCommissionRow>, StorageError> {
    let (weeks_from, weeks_until) = whole_weeks(from, to);
    Ok(diesel::sql_query(
        "SELECT t.merchant_id, m.short_name, m.sub_merchant_id, t.debit_fen, t.credit_fen
           FROM (SELECT merchant_id, sum(commission_debit_fen)::bigint AS debit_fen,
                        sum(commission_credit_fen)::bigint AS credit_fen
                   FROM (SELECT merchant_id, commission_debit_fen, commission_credit_fen FROM ledger_merchant_weeks
                          WHERE week_start >= $3 AND week_start < $4
                         UNION ALL
                         SELECT merchant_id, commission_debit_fen, commission_credit_fen FROM ledger_merchant_days
                          WHERE (business_date >= $1 AND business_date < $3)
                             OR (business_date >= $4 AND business_date <= $2)
                         UNION ALL
                         SELECT merchant_id, commission_debit_fen, commission_credit_fen
                           FROM ledger_merchant_days_of(ARRAY(SELECT entry_id FROM ledger_unfolded_entries))
                          WHERE business_date BETWEEN $1 AND $2) parts
                  GROUP BY merchant_id
                 HAVING sum(commission_debit_fen) <> 0 OR sum(commission_credit_fen) <> 0) t
           JOIN merchants m ON m.id = t.merchant_id
          ORDER BY t.credit_fen - t.debit_fen DESC, t.merchant_id
          LIMIT $5",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Date, _>(weeks_from)
    .bind::<Date, _>(weeks_until)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// The whole weeks (Monday to Sunday) within `[from, to]`, as `[first Monday, the Monday after
/// the last whole week)`; empty, starting at `from`, when there are none. The days before and
/// after them are the range's ragged ends.
fn whole_weeks(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    use chrono::Datelike;
    let days_to_monday = (7 - from.weekday().num_days_from_monday()) % 7;
    let first_monday = from.checked_add_days(chrono::Days::new(u64::from(days_to_monday)));
    let after_last_sunday = to
        .succ_opt()
        .and_then(|day| day.checked_sub_days(chrono::Days::new(u64::from(day.weekday().num_days_from_monday()))));
    match (first_monday, after_last_sunday) {
        (Some(start), Some(end)) if start < end => (start, end),
        _ => (from, from),
    }
}

/// What happened on a business day: entries booked for it by kind, and paid orders still waiting
/// for settlement.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct DayActivityRow {
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub paid_orders: i64,
    #[diesel(sql_type = BigInt)]
    pub refunds: i64,
    #[diesel(sql_type = BigInt)]
    pub settlements: i64,
    #[diesel(sql_type = BigInt)]
    pub unsettled_orders: i64,
}

/// Activity of every business day within `[from, to]` that had any, from the rollups. A paid
/// order has one order_paid entry, on its payment's business day, so a merchant's day without a
/// settlement has all its paid orders waiting.
pub fn day_activity(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayActivityRow>, StorageError> {
    Ok(diesel::sql_query(format!(
        "SELECT days.business_date, days.paid_orders, days.refunds, days.settlements,
                -- A final (summarized) day has none waiting; the others are looked up.
                COALESCE((SELECT sum(d.paid_orders) FROM ledger_merchant_days_now d
                           WHERE d.business_date = days.business_date AND {unsettled}
                             AND NOT EXISTS (SELECT 1 FROM ledger_platform_days s
                                              WHERE s.business_date = days.business_date)), 0)::bigint
                    AS unsettled_orders
           FROM {platform_days} days
          WHERE days.paid_orders + days.refunds + days.settlements > 0
          ORDER BY 1",
        unsettled = crate::ledger_rollups::UNSETTLED,
        platform_days = crate::ledger_rollups::PLATFORM_DAYS
    ))
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

/// The recorded business days within `[from, to]` (reconciled or released ones have a row).
pub fn business_days_between(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BusinessDayRow>, StorageError> {
    Ok(business_days::table
        .filter(business_days::business_date.between(from, to))
        .order(business_days::business_date.desc())
        .select(BusinessDayRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn whole_weeks_leave_the_ragged_ends_to_the_days() {
        // 2026-12-07 is a Monday: 90 days back to Tuesday 2026-09-08 are 12 whole weeks, six days
        // before them and one after.
        assert_eq!(whole_weeks(day("2026-09-08"), day("2026-12-07")), (day("2026-09-14"), day("2026-12-07")));
        // A range of whole weeks is all weeks.
        assert_eq!(whole_weeks(day("2026-11-30"), day("2026-12-13")), (day("2026-11-30"), day("2026-12-14")));
        // Monday to Saturday holds no whole week; nor does Tuesday to the next Monday.
        assert_eq!(whole_weeks(day("2026-11-30"), day("2026-12-05")), (day("2026-11-30"), day("2026-11-30")));
        assert_eq!(whole_weeks(day("2026-12-01"), day("2026-12-07")), (day("2026-12-01"), day("2026-12-01")));
        // The last day there is.
        assert_eq!(whole_weeks(NaiveDate::MAX, NaiveDate::MAX), (NaiveDate::MAX, NaiveDate::MAX));
    }
}
