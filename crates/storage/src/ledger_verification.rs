//! Verifications of the whole ledger, chunk by chunk: the accounts whose balance is not the sum
//! of their postings, and the entries that do not balance with two postings or more.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{StorageError, schema::ledger_verifications};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ledger_verifications)]
pub struct VerificationRow {
    pub id: i64,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub account_cursor: i64,
    pub entry_cursor: i64,
    pub accounts_checked: i64,
    pub entries_checked: i64,
    pub mismatches: Vec<String>,
    pub mismatch_count: i64,
    pub mismatched_kinds: Vec<String>,
}

/// The verification under way, or a new one started by `requested_by` if none is.
pub fn open_or_start(conn: &mut PgConnection, requested_by: &str) -> Result<VerificationRow, StorageError> {
    use ledger_verifications as v;
    diesel::insert_into(v::table).values(v::requested_by.eq(requested_by)).on_conflict_do_nothing().execute(conn)?;
    Ok(v::table.filter(v::finished_at.is_null()).select(VerificationRow::as_select()).first(conn)?)
}

/// The verification under way, locked for this transaction; `None` if there is none or another
/// node is working on it.
pub fn lock_open(conn: &mut PgConnection) -> Result<Option<VerificationRow>, StorageError> {
    use ledger_verifications as v;
    Ok(v::table
        .filter(v::finished_at.is_null())
        .select(VerificationRow::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()?)
}

/// The latest verifications, newest first.
pub fn latest(conn: &mut PgConnection, limit: i64) -> Result<Vec<VerificationRow>, StorageError> {
    use ledger_verifications as v;
    Ok(v::table.order(v::id.desc()).limit(limit).select(VerificationRow::as_select()).load(conn)?)
}

/// The latest finished verification.
pub fn latest_finished(conn: &mut PgConnection) -> Result<Option<VerificationRow>, StorageError> {
    use ledger_verifications as v;
    Ok(v::table
        .filter(v::finished_at.is_not_null())
        .order(v::id.desc())
        .select(VerificationRow::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Checked {
    /// The last id looked at (the chunk's end); `None` when there was nothing left.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub last_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub checked: i64,
    /// What disagreed in the chunk, described.
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub mismatches: Vec<String>,
    /// The account kinds among them (accounts only).
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub kinds: Vec<String>,
}

/// The next `limit` accounts after `after_id`: each balance against the sum of its postings (read
/// from the postings' account index alone).
pub fn check_accounts(conn: &mut PgConnection, after_id: i64, limit: i64) -> Result<Checked, StorageError> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(
        "WITH chunk AS (
             SELECT a.id, a.kind, a.merchant_id, a.balance_fen,
                    CASE WHEN a.debit_normal THEN 1 ELSE -1 END
                        * COALESCE((SELECT sum(p.amount_fen) FROM ledger_postings p WHERE p.account_id = a.id), 0)
                        AS posted_fen
               FROM ledger_accounts a
              WHERE a.id > $1
              ORDER BY a.id
              LIMIT $2)
         SELECT max(id) AS last_id, count(*) AS checked,
                COALESCE(array_agg(format('account %s (%s of merchant %s): balance %s fen, postings %s fen',
                                          id, kind, merchant_id, balance_fen, posted_fen))
                         FILTER (WHERE balance_fen <> posted_fen), '{}') AS mismatches,
                COALESCE(array_agg(DISTINCT kind) FILTER (WHERE balance_fen <> posted_fen), '{}') AS kinds
           FROM chunk",
    )
    .bind::<BigInt, _>(after_id)
    .bind::<BigInt, _>(limit)
    .get_result(conn)?)
}

/// The entries with ids in `(after_id, after_id + span]`, up to the newest: each must balance
/// with two postings or more. `last_id` is the span's end (or `None` past the newest entry).
pub fn check_entries(conn: &mut PgConnection, after_id: i64, span: i64) -> Result<Checked, StorageError> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(
        "WITH newest AS (SELECT max(id) AS id FROM ledger_entries),
              chunk AS (
                SELECT e.id, count(p.entry_id) AS postings, COALESCE(sum(p.amount_fen), 0) AS total_fen
                  FROM ledger_entries e
                  LEFT JOIN ledger_postings p ON p.entry_id = e.id
                 WHERE e.id > $1 AND e.id <= $1 + $2
                 GROUP BY e.id)
         SELECT CASE WHEN $1 >= (SELECT id FROM newest) OR (SELECT id FROM newest) IS NULL THEN NULL
                     ELSE LEAST($1 + $2, (SELECT id FROM newest)) END AS last_id,
                (SELECT count(*) FROM chunk) AS checked,
                COALESCE((SELECT array_agg(format('entry %s: %s posting(s) summing to %s fen', id, postings, total_fen))
                            FROM chunk WHERE postings < 2 OR total_fen <> 0), '{}') AS mismatches,
                '{}'::text[] AS kinds",
    )
    .bind::<BigInt, _>(after_id)
    .bind::<BigInt, _>(span)
    .get_result(conn)?)
}

/// Records a chunk's progress on the verification.
pub fn advance(
    conn: &mut PgConnection,
    id: i64,
    accounts: Option<(i64, i64)>,
    entries: Option<(i64, i64)>,
    checked: &Checked,
) -> Result<(), StorageError> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    diesel::sql_query(
        "UPDATE ledger_verifications
            SET account_cursor = COALESCE($2, account_cursor),
                accounts_checked = accounts_checked + COALESCE($3, 0),
                entry_cursor = COALESCE($4, entry_cursor),
                entries_checked = entries_checked + COALESCE($5, 0),
                mismatches = (mismatches || $6)[1:100],
                mismatch_count = mismatch_count + cardinality($6),
                mismatched_kinds = ARRAY(SELECT DISTINCT k FROM unnest(mismatched_kinds || $7) AS k ORDER BY k)
          WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Nullable<BigInt>, _>(accounts.map(|(cursor, _)| cursor))
    .bind::<Nullable<BigInt>, _>(accounts.map(|(_, checked)| checked))
    .bind::<Nullable<BigInt>, _>(entries.map(|(cursor, _)| cursor))
    .bind::<Nullable<BigInt>, _>(entries.map(|(_, checked)| checked))
    .bind::<Array<Text>, _>(&checked.mismatches)
    .bind::<Array<Text>, _>(&checked.kinds)
    .execute(conn)?;
    Ok(())
}

pub fn finish(conn: &mut PgConnection, id: i64) -> Result<(), StorageError> {
    use ledger_verifications as v;
    diesel::update(v::table.find(id).filter(v::finished_at.is_null()))
        .set(v::finished_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}
