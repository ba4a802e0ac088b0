//! The ledger's tables: accounts with their balances, append-only entries and postings, business
//! days and settlements. The rules (what to post) live in the `ledger` crate; the database itself
//! refuses an unbalanced entry or a negative merchant balance (migrations `000004_ledger` and
//! `000007_ledger_checks`).
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::ledger::{AccountKind, EntryKind};
use domain::{AccountId, Amount, AppRowId, EntryId, MerchantId, OrderId, PayoutId, RefundId};

use crate::{
    StorageError,
    schema::{business_days, ledger_accounts, ledger_entries, ledger_postings},
};

pub(crate) use crate::database::PreparedSql;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = ledger_accounts)]
pub struct AccountRow {
    pub id: AccountId,
    pub merchant_id: MerchantId,
    pub kind: AccountKind,
    pub debit_normal: bool,
    pub balance_fen: Amount,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct NewEntryRow<'a> {
    pub idempotency_key: &'a str,
    pub kind: EntryKind,
    pub merchant_id: MerchantId,
    pub order_id: Option<OrderId>,
    pub refund_id: Option<RefundId>,
    pub payout_id: Option<PayoutId>,
    pub reverses_entry_id: Option<EntryId>,
    pub business_date: NaiveDate,
    pub memo: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize)]
#[diesel(table_name = ledger_entries)]
pub struct EntryRow {
    pub id: EntryId,
    pub idempotency_key: String,
    pub kind: EntryKind,
    pub merchant_id: MerchantId,
    pub order_id: Option<OrderId>,
    pub refund_id: Option<RefundId>,
    pub payout_id: Option<PayoutId>,
    pub reverses_entry_id: Option<EntryId>,
    pub business_date: NaiveDate,
    pub memo: Option<String>,
    pub booked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = ledger_postings)]
pub struct PostingRow {
    pub id: i64,
    pub entry_id: EntryId,
    pub account_id: AccountId,
    pub amount_fen: Amount,
}

/// These merchants' accounts of these kinds, in id order; locked if `lock`, in that order, so two
/// bookings never deadlock (every path that locks accounts locks in id order).
pub fn accounts_of_kinds(
    conn: &mut PgConnection,
    merchant_ids: &[MerchantId],
    kinds: &[AccountKind],
    lock: bool,
) -> Result<Vec<AccountRow>, StorageError> {
    let query = ledger_accounts::table
        .filter(ledger_accounts::merchant_id.eq_any(merchant_ids))
        .filter(ledger_accounts::kind.eq_any(kinds))
        .order(ledger_accounts::id)
        .select(AccountRow::as_select());
    Ok(if lock { query.for_update().load(conn)? } else { query.load(conn)? })
}

/// Opens the merchant's accounts that do not exist yet (concurrent callers are harmless).
pub fn open_accounts(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<(), StorageError> {
    let rows: Vec<_> = AccountKind::ALL
        .into_iter()
        .map(|kind| {
            (
                ledger_accounts::merchant_id.eq(merchant_id),
                ledger_accounts::kind.eq(kind),
                ledger_accounts::debit_normal.eq(kind.is_debit_normal()),
            )
        })
        .collect();
    diesel::insert_into(ledger_accounts::table).values(&rows).on_conflict_do_nothing().execute(conn)?;
    Ok(())
}

/// An entry to write with its postings (the account's kind, of the entry's merchant; signed amount).
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub row: NewEntryRow<'a>,
    pub postings: Vec<(AccountKind, Amount)>,
}

/// Inserts many entries and their postings in one statement, each posting on the account of its
/// kind of the entry's merchant. An entry is skipped with its postings when its idempotency key is
/// taken or one of its accounts is not open. Returns the entries written, in id order.
pub fn insert_entries_with_postings(
    conn: &mut PgConnection,
    entries: &[NewEntry<'_>],
) -> Result<Vec<EntryRow>, StorageError> {
    use diesel::sql_types::{Array, BigInt, Date, Nullable, Text};
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let rows = || entries.iter().map(|entry| &entry.row);
    let lines =
        || entries.iter().flat_map(|entry| entry.postings.iter().map(|line| (entry.row.idempotency_key, *line)));
    Ok(PreparedSql::new(
        "WITH e AS (
             SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[],
                                  ?::bigint[], ?::date[], ?::text[])
                      WITH ORDINALITY AS e (idempotency_key, kind, merchant_id, order_id, refund_id, payout_id,
                                            reverses_entry_id, business_date, memo, n)),
         line AS (
             SELECT l.key, a.id AS account_id, l.amount_fen, l.n
               FROM unnest(?::text[], ?::text[], ?::bigint[]) WITH ORDINALITY AS l (key, kind, amount_fen, n)
               JOIN e ON e.idempotency_key = l.key
               LEFT JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind = l.kind),
         entry AS (
             INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, order_id, refund_id, payout_id,
                                         reverses_entry_id, business_date, memo)
             SELECT idempotency_key, kind, merchant_id, order_id, refund_id, payout_id, reverses_entry_id,
                    business_date, memo
               FROM e
              WHERE NOT EXISTS (SELECT 1 FROM line WHERE line.key = e.idempotency_key AND line.account_id IS NULL)
              ORDER BY n
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING *),
         postings AS (
             INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
             SELECT entry.id, line.account_id, line.amount_fen
               FROM line JOIN entry ON entry.idempotency_key = line.key
              ORDER BY line.n)
         SELECT * FROM entry ORDER BY id",
    )
    .bind::<Array<Text>, _>(rows().map(|row| row.idempotency_key).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows().map(|row| row.kind).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows().map(|row| row.merchant_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(rows().map(|row| row.order_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(rows().map(|row| row.refund_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(rows().map(|row| row.payout_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(rows().map(|row| row.reverses_entry_id).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(rows().map(|row| row.business_date).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows().map(|row| row.memo).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(lines().map(|(key, _)| key).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(lines().map(|(_, (kind, _))| kind).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(lines().map(|(_, (_, amount_fen))| amount_fen).collect::<Vec<_>>())
    .load(conn)?)
}

/// The entries booked under these keys (those that exist).
pub fn find_entries_by_keys(conn: &mut PgConnection, keys: &[&str]) -> Result<Vec<EntryRow>, StorageError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::idempotency_key.eq_any(keys))
        .select(EntryRow::as_select())
        .load(conn)?)
}

pub fn find_entry_by_key(conn: &mut PgConnection, key: &str) -> Result<Option<EntryRow>, StorageError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::idempotency_key.eq(key))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_entry(conn: &mut PgConnection, id: EntryId) -> Result<Option<EntryRow>, StorageError> {
    Ok(ledger_entries::table.find(id).select(EntryRow::as_select()).first(conn).optional()?)
}

pub fn postings_of(conn: &mut PgConnection, entry_id: EntryId) -> Result<Vec<(PostingRow, String)>, StorageError> {
    Ok(ledger_postings::table
        .inner_join(ledger_accounts::table)
        .filter(ledger_postings::entry_id.eq(entry_id))
        .order(ledger_postings::id)
        .select((PostingRow::as_select(), ledger_accounts::kind))
        .load(conn)?)
}

/// A payout's entries (its reservation and every step it took), in the order they were booked.
pub fn entries_of_payout(conn: &mut PgConnection, payout_id: PayoutId) -> Result<Vec<EntryRow>, StorageError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::payout_id.eq(payout_id))
        .order(ledger_entries::id.asc())
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// The merchant's balances without locking (for reads and reports).
pub fn accounts_of(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<AccountRow>, StorageError> {
    Ok(ledger_accounts::table
        .filter(ledger_accounts::merchant_id.eq(merchant_id))
        .order(ledger_accounts::id)
        .select(AccountRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = business_days)]
pub struct BusinessDayRow {
    pub business_date: NaiveDate,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    pub release_note: Option<String>,
}

impl BusinessDayRow {
    /// Settlement of the day may go ahead: reconciled, or released by an operator.
    pub fn is_cleared(&self) -> bool {
        self.reconciled_at.is_some() || self.released_at.is_some()
    }
}

pub fn business_day(conn: &mut PgConnection, date: NaiveDate) -> Result<Option<BusinessDayRow>, StorageError> {
    Ok(business_days::table.find(date).select(BusinessDayRow::as_select()).first(conn).optional()?)
}

/// Releases a day for settlement without waiting for reconciliation. Returns false if it was
/// already released.
pub fn release_day(conn: &mut PgConnection, date: NaiveDate, by: &str, note: &str) -> Result<bool, StorageError> {
    diesel::insert_into(business_days::table)
        .values(business_days::business_date.eq(date))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let changed = diesel::update(business_days::table.find(date).filter(business_days::released_at.is_null()))
        .set((
            business_days::released_at.eq(diesel::dsl::now),
            business_days::released_by.eq(by),
            business_days::release_note.eq(note),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Marks a day reconciled (its bill matched, or every difference resolved).
pub fn mark_reconciled(conn: &mut PgConnection, date: NaiveDate) -> Result<(), StorageError> {
    diesel::insert_into(business_days::table)
        .values((business_days::business_date.eq(date), business_days::reconciled_at.eq(diesel::dsl::now)))
        .on_conflict(business_days::business_date)
        .do_update()
        .set(business_days::reconciled_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

pub fn recent_business_days(conn: &mut PgConnection, limit: i64) -> Result<Vec<BusinessDayRow>, StorageError> {
    Ok(business_days::table
        .order(business_days::business_date.desc())
        .limit(limit)
        .select(BusinessDayRow::as_select())
        .load(conn)?)
}

/// One line of the trial balance: an account kind summed over every merchant.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct KindTotal {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: AccountKind,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub debit_normal: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub balance_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub postings_fen: Amount,
}

/// Every kind's total balance, beside the sum of its postings (debit-normal sign), so the report
/// shows both the balances and that they agree with the postings.
pub fn kind_totals(conn: &mut PgConnection) -> Result<Vec<KindTotal>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT a.kind, a.debit_normal,
                COALESCE(sum(a.balance_fen), 0)::bigint AS balance_fen,
                COALESCE(sum(p.posted_fen), 0)::bigint AS postings_fen
           FROM ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(amount_fen) AS posted_fen FROM ledger_postings GROUP BY account_id) p
                  ON p.account_id = a.id
          GROUP BY a.kind, a.debit_normal
          ORDER BY min(a.id)",
    )
    .load(conn)?)
}

/// Every kind's total balance alone (its postings are not summed: the ledger's verification checks
/// them, chunk by chunk); `postings_fen` is the balance itself.
pub fn balance_totals(conn: &mut PgConnection) -> Result<Vec<KindTotal>, StorageError> {
    Ok(diesel::sql_query(
        "SELECT a.kind, a.debit_normal, COALESCE(sum(a.balance_fen), 0)::bigint AS balance_fen,
                COALESCE(sum(a.balance_fen), 0)::bigint AS postings_fen
           FROM ledger_accounts a
          GROUP BY a.kind, a.debit_normal
          ORDER BY min(a.id)",
    )
    .load(conn)?)
}

/// A payment or refund booked on a business day, with its split, for bills.
#[derive(Debug, Clone, QueryableByName)]
pub struct BillRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: EntryKind,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub trade_no: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub out_trade_no: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub refund_no: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub out_refund_no: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub sub_merchant_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub amount_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub net_receipt_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub bank_commission_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub pay_platform_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub liquidator_commission_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub booked_at: DateTime<Utc>,
}

/// Who a bill is for: the orders an app placed, and those of the merchants it may act for (its
/// own merchant, or the merchants an ISV onboarded). `None` for the platform's whole day.
#[derive(Debug, Clone, Copy)]
pub struct BillScope {
    pub app_id: AppRowId,
    pub merchant_id: Option<MerchantId>,
}

/// The orders one channel took: those placed at it (an upstream), and — for the built-in channel
/// (`local`) — those placed at none.
#[derive(Debug, Clone, Copy)]
pub struct ChannelOrders<'a> {
    pub channel: &'a str,
    pub local: bool,
}

/// The channel an order was paid through, as SQL over `o` (the order): the upstream it was placed
/// at, or `$local` for one placed at none.
macro_rules! channel_of_order {
    ($local:literal) => {
        concat!("COALESCE((SELECT u.channel FROM upstream_orders u WHERE u.order_id = o.id), ", $local, ")")
    };
}

/// Every payment and refund booked on `date`, in booking order; of one channel's orders only, when
/// `through` says which.
pub fn bill_rows(
    conn: &mut PgConnection,
    date: NaiveDate,
    scope: Option<BillScope>,
    through: Option<ChannelOrders<'_>>,
) -> Result<Vec<BillRow>, StorageError> {
    use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text};
    Ok(diesel::sql_query(concat!(
        "SELECT e.kind, o.trade_no, o.out_trade_no, r.refund_no, r.out_refund_no, m.sub_merchant_id,
                COALESCE(r.refund_fee_fen, o.total_fee_fen) AS amount_fen,
                COALESCE(r.net_receipt_fen, o.net_receipt_fen) AS net_receipt_fen,
                COALESCE(r.bank_commission_fen, o.bank_commission_fen) AS bank_commission_fen,
                COALESCE(r.pay_platform_fen, o.pay_platform_fen) AS pay_platform_fen,
                COALESCE(r.liquidator_commission_fen, o.liquidator_commission_fen) AS liquidator_commission_fen,
                e.booked_at
           FROM ledger_entries e
           JOIN orders o ON o.id = e.order_id
           JOIN merchants m ON m.id = e.merchant_id
           LEFT JOIN refunds r ON r.id = e.refund_id
          WHERE e.business_date = $1 AND e.kind IN ('order_paid', 'refund')
            AND (r.id IS NULL OR r.state <> 'failed')
            -- The app's merchants: its own and those it owns. An app places orders only for the
            -- merchants it may act for, which are these, so its orders are among their entries;
            -- asked this way, a merchant's bill reads its own entries of the day, not everyone's.
            AND e.merchant_id IN (SELECT id FROM merchants WHERE $2 OR owner_app_id = $3 OR id = $4)
            AND ($5::text IS NULL OR ",
        channel_of_order!("$6::text"),
        " = $5)
          ORDER BY e.id"
    ))
    .bind::<Date, _>(date)
    .bind::<Bool, _>(scope.is_none())
    // Unused when there is no scope ($2), so any value does.
    .bind::<BigInt, _>(scope.map_or(0, |s| s.app_id.get()))
    .bind::<Nullable<BigInt>, _>(scope.and_then(|s| s.merchant_id))
    .bind::<Nullable<Text>, _>(through.map(|t| t.channel))
    .bind::<Nullable<Text>, _>(through.filter(|t| t.local).map(|t| t.channel))
    .load(conn)?)
}

/// A business day's paid volume and commission earned, from the ledger.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DailyFigures {
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub business_date: NaiveDate,
    /// Orders paid that day.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub paid_orders: i64,
    /// Totals of the orders paid that day (refunds not deducted).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub volume_fen: Amount,
    /// The liquidator's commission, net of what refunds gave back.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub commission_fen: Amount,
}

/// Paid volume and commission per business day in `[from, to]`; days without entries are absent.
/// From the rollups: a row per final day, or per merchant and day for the others.
pub fn daily_figures(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyFigures>, StorageError> {
    use diesel::sql_types::Date;
    Ok(diesel::sql_query(format!(
        "SELECT business_date, paid_orders, paid_fen AS volume_fen,
                commission_credit_fen - commission_debit_fen AS commission_fen
           FROM {platform_days} days
          ORDER BY business_date",
        platform_days = crate::ledger_rollups::PLATFORM_DAYS
    ))
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

/// What a merchant's business day moved on the accounts the upstream settles, from its payments
/// and refunds: signed sums, debit positive.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DayMovementsRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub merchant_id: MerchantId,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub receivable_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub bank_commission_fen: Amount,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub pay_platform_fen: Amount,
}

/// Every merchant's movements of business day `date`, by merchant.
pub fn day_movements(
    conn: &mut PgConnection,
    date: NaiveDate,
    through: ChannelOrders<'_>,
) -> Result<Vec<DayMovementsRow>, StorageError> {
    use diesel::sql_types::{Date, Nullable, Text};
    Ok(diesel::sql_query(concat!(
        "SELECT e.merchant_id,
                COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'upstream_receivable'), 0)::bigint AS receivable_fen,
                COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'bank_commission_payable'), 0)::bigint
                    AS bank_commission_fen,
                COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'pay_platform_fee_payable'), 0)::bigint
                    AS pay_platform_fen
           FROM ledger_entries e
           JOIN orders o ON o.id = e.order_id
           JOIN ledger_postings p ON p.entry_id = e.id
           JOIN ledger_accounts a ON a.id = p.account_id
          WHERE e.business_date = $1 AND e.kind IN ('order_paid', 'refund')
            -- A refund the channel refused was given back (reversed): it moved nothing.
            AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.id = e.refund_id AND r.state = 'failed')
            AND ",
        channel_of_order!("$3::text"),
        " = $2
          GROUP BY e.merchant_id
          ORDER BY e.merchant_id"
    ))
    .bind::<Date, _>(date)
    .bind::<Text, _>(through.channel)
    .bind::<Nullable<Text>, _>(through.local.then_some(through.channel))
    .load(conn)?)
}

/// The channels whose orders have payments or refunds booked on `date` (`local` for orders
/// placed at no upstream): each has to reconcile its bill before the day is reconciled.
pub fn channels_of_day(conn: &mut PgConnection, date: NaiveDate, local: &str) -> Result<Vec<String>, StorageError> {
    use diesel::sql_types::{Date, Text};
    #[derive(QueryableByName)]
    struct Channel {
        #[diesel(sql_type = Text)]
        channel: String,
    }
    let rows: Vec<Channel> = diesel::sql_query(concat!(
        "SELECT DISTINCT ",
        channel_of_order!("$2"),
        " AS channel
           FROM ledger_entries e JOIN orders o ON o.id = e.order_id
          WHERE e.business_date = $1 AND e.kind IN ('order_paid', 'refund')"
    ))
    .bind::<Date, _>(date)
    .bind::<Text, _>(local)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.channel).collect())
}
