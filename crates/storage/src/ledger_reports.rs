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

/// The columns of a [`PostingCauseRow`]: a posting, its entry and what caused it.
const POSTING_CAUSE_COLUMNS: &str = "SELECT p.id AS posting_id, p.account_id, p.amount_fen,
                e.id AS entry_id, e.kind AS entry_kind, e.business_date, e.booked_at, e.memo, e.reverses_entry_id,
                e.order_id, o.trade_no, e.refund_id, r.refund_no, e.payout_id, s.business_date AS settlement_date";

/// The joins that find a posting's cause (`p` the posting, `e` its entry).
const POSTING_CAUSE_JOINS: &str = "LEFT JOIN orders o ON o.id = e.order_id
           LEFT JOIN refunds r ON r.id = e.refund_id
           LEFT JOIN settlements s
                  ON e.kind = 'settlement' AND s.merchant_id = e.merchant_id
                 AND s.business_date = e.business_date AND s.entry_id = e.id";

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

/// A merchant account's position around a period `[from, to)` of booking times: its balance now,
/// and the sums of its postings (signed, debit positive) booked from `from` on and from `to` on.
/// Opening and closing balances are the balance now less those later postings, so a statement of a
/// recent period reads only recent postings.
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
    pub since_to_fen: Amount,
}

pub fn account_positions(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    kinds: &[AccountKind],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AccountPositionRow>, StorageError> {
    Ok(diesel::sql_query(
        "WITH mine AS (SELECT id, kind, balance_fen FROM ledger_accounts WHERE merchant_id = $1 AND kind = ANY($2))
         SELECT m.id AS account_id, m.kind, m.balance_fen,
                COALESCE(t.since_from_fen, 0)::bigint AS since_from_fen,
                COALESCE(t.since_to_fen, 0)::bigint AS since_to_fen
           FROM mine m
           LEFT JOIN (SELECT p.account_id,
                             sum(p.amount_fen) AS since_from_fen,
                             sum(p.amount_fen) FILTER (WHERE e.booked_at >= $4) AS since_to_fen
                        FROM ledger_entries e
                        JOIN ledger_postings p ON p.entry_id = e.id
                       WHERE e.merchant_id = $1 AND e.booked_at >= $3 AND p.account_id IN (SELECT id FROM mine)
                       GROUP BY p.account_id) t ON t.account_id = m.id
          ORDER BY m.id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Array<Text>, _>(kinds)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)?)
}

/// What moved an account within a period: its debits and credits (both positive) and how many.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct MovementTotalRow {
    #[diesel(sql_type = BigInt)]
    pub account_id: AccountId,
    #[diesel(sql_type = BigInt)]
    pub debit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub credit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// The movements' totals per account, with the same conditions as [`movements`]: a separate sum,
/// so a statement can check that opening + movements = closing. `up_to_id` limits it to postings
/// up to that id (the balance before a page of movements).
pub fn movement_totals(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    up_to_id: Option<i64>,
) -> Result<Vec<MovementTotalRow>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT p.account_id,
                COALESCE(sum(p.amount_fen) FILTER (WHERE p.amount_fen > 0), 0)::bigint AS debit_fen,
                COALESCE(-sum(p.amount_fen) FILTER (WHERE p.amount_fen < 0), 0)::bigint AS credit_fen,
                count(*) AS count
           FROM ledger_entries e
           JOIN ledger_postings p ON p.entry_id = e.id
          WHERE e.merchant_id = $1 AND e.booked_at >= $3 AND e.booked_at < $4
            AND p.account_id = ANY($2) AND p.id <= $5
          GROUP BY p.account_id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Array<BigInt>, _>(account_ids)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<BigInt, _>(up_to_id.unwrap_or(i64::MAX))
    .load(conn)?)
}

/// The postings of the merchant's `account_ids` booked within `[from, to)`, in the order they were
/// written, after posting `after_id` when given.
pub fn movements(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    account_ids: &[AccountId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<PostingCauseRow>, StorageError> {
    Ok(diesel::sql_query(format!(
        "{POSTING_CAUSE_COLUMNS}
           FROM ledger_entries e
           JOIN ledger_postings p ON p.entry_id = e.id
           {POSTING_CAUSE_JOINS}
          WHERE e.merchant_id = $1 AND e.booked_at >= $3 AND e.booked_at < $4
            AND p.account_id = ANY($2) AND p.id > $5
          ORDER BY p.id
          LIMIT $6"
    ))
    .bind::<BigInt, _>(merchant_id)
    .bind::<Array<BigInt>, _>(account_ids)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<BigInt, _>(after_id.unwrap_or(0))
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Commission (or any account kind) debited and credited within business days, both positive.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct DayKindTotalRow {
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub debit_fen: Amount,
    #[diesel(sql_type = BigInt)]
    pub credit_fen: Amount,
}

/// The postings to accounts of `kind`, summed per business day within `[from, to]`.
pub fn kind_totals_by_day(
    conn: &mut PgConnection,
    kind: AccountKind,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayKindTotalRow>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT business_date, sum(debit_fen)::bigint AS debit_fen, sum(credit_fen)::bigint AS credit_fen
           FROM ledger_day_postings
          WHERE business_date BETWEEN $2 AND $3 AND account_kind = $1
          GROUP BY business_date
          ORDER BY business_date",
    )
    .bind::<Text, _>(kind)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct MerchantKindTotalRow {
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

/// The postings to accounts of `kind` within business days `[from, to]`, summed per merchant;
/// the merchants with the largest net credit first, at most `limit`.
pub fn kind_totals_by_merchant(
    conn: &mut PgConnection,
    kind: AccountKind,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<MerchantKindTotalRow>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT t.merchant_id, m.short_name, m.sub_merchant_id, t.debit_fen, t.credit_fen
           FROM (SELECT merchant_id, sum(debit_fen)::bigint AS debit_fen, sum(credit_fen)::bigint AS credit_fen
                   FROM ledger_day_postings
                  WHERE business_date BETWEEN $2 AND $3 AND account_kind = $1
                  GROUP BY merchant_id) t
           JOIN merchants m ON m.id = t.merchant_id
          ORDER BY t.credit_fen - t.debit_fen DESC, t.merchant_id
          LIMIT $4",
    )
    .bind::<Text, _>(kind)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
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

/// Activity of every business day within `[from, to]` that had any.
pub fn day_activity(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayActivityRow>, StorageError> {
    Ok(diesel::sql_query(
        "WITH booked AS (
                SELECT business_date,
                       COALESCE(sum(entries) FILTER (WHERE entry_kind = 'order_paid'), 0)::bigint AS paid_orders,
                       COALESCE(sum(entries) FILTER (WHERE entry_kind = 'refund'), 0)::bigint AS refunds,
                       COALESCE(sum(entries) FILTER (WHERE entry_kind = 'settlement'), 0)::bigint AS settlements
                  FROM ledger_day_entries
                 WHERE business_date BETWEEN $1 AND $2 AND entry_kind IN ('order_paid', 'refund', 'settlement')
                 GROUP BY business_date),
              -- Each paid order has one order_paid entry, on its payment's business day.
              waiting AS (
                SELECT d.business_date, sum(d.entries)::bigint AS unsettled_orders
                  FROM ledger_day_entries d
                 WHERE d.entry_kind = 'order_paid' AND d.business_date BETWEEN $1 AND $2
                   AND NOT EXISTS (SELECT 1 FROM settlements s
                                    WHERE s.merchant_id = d.merchant_id AND s.business_date = d.business_date)
                 GROUP BY d.business_date)
         SELECT COALESCE(b.business_date, w.business_date) AS business_date,
                COALESCE(b.paid_orders, 0) AS paid_orders,
                COALESCE(b.refunds, 0) AS refunds,
                COALESCE(b.settlements, 0) AS settlements,
                COALESCE(w.unsettled_orders, 0) AS unsettled_orders
           FROM booked b
           FULL JOIN waiting w ON w.business_date = b.business_date
          ORDER BY 1",
    )
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
