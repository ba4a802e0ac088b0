//! The ledger's rollups per merchant and business day (`ledger_day_postings`,
//! `ledger_day_entries`), kept current by the database's statement triggers as postings are
//! written. Derived data: [`rebuild`] writes them again from the ledger, and [`differences`]
//! compares them with it.
use diesel::prelude::*;

use crate::StorageError;

/// The postings summed per merchant, business day, entry kind and account kind, as SQL.
const POSTINGS_FROM_LEDGER: &str = "
    SELECT e.merchant_id, e.business_date, e.kind AS entry_kind, a.kind AS account_kind,
           COALESCE(sum(p.amount_fen) FILTER (WHERE p.amount_fen > 0), 0)::bigint AS debit_fen,
           COALESCE(-sum(p.amount_fen) FILTER (WHERE p.amount_fen < 0), 0)::bigint AS credit_fen,
           count(*) AS postings
      FROM ledger_postings p
      JOIN ledger_entries e ON e.id = p.entry_id
      JOIN ledger_accounts a ON a.id = p.account_id
     GROUP BY e.merchant_id, e.business_date, e.kind, a.kind";

/// The entries counted per merchant, business day and kind, as SQL.
const ENTRIES_FROM_LEDGER: &str = "
    SELECT merchant_id, business_date, kind AS entry_kind, count(*) AS entries
      FROM ledger_entries
     GROUP BY merchant_id, business_date, kind";

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub posting_rows: usize,
    pub entry_rows: usize,
}

/// Writes the rollups again from the ledger, in one transaction that keeps new bookings waiting
/// meanwhile (a share lock on the ledger's tables), so nothing is counted twice or missed.
pub fn rebuild(conn: &mut PgConnection) -> Result<Rebuilt, StorageError> {
    crate::database::transaction(conn, |conn| {
        diesel::sql_query("LOCK TABLE ledger_entries, ledger_postings IN SHARE MODE").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_day_postings").execute(conn)?;
        diesel::sql_query("DELETE FROM ledger_day_entries").execute(conn)?;
        let posting_rows = diesel::sql_query(format!(
            "INSERT INTO ledger_day_postings
                    (merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings)
             {POSTINGS_FROM_LEDGER}"
        ))
        .execute(conn)?;
        let entry_rows = diesel::sql_query(format!(
            "INSERT INTO ledger_day_entries (merchant_id, business_date, entry_kind, entries) {ENTRIES_FROM_LEDGER}"
        ))
        .execute(conn)?;
        Ok(Rebuilt { posting_rows, entry_rows })
    })
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Difference {
    /// Which rollup, and the row's key and figures on the side that has it.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub row: String,
}

/// The rollup rows that differ from the ledger (missing, extra or with other figures), at most
/// `limit`; none when the rollups are right.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, StorageError> {
    Ok(diesel::sql_query(format!(
        "WITH ledger AS ({POSTINGS_FROM_LEDGER}),
              entries AS ({ENTRIES_FROM_LEDGER}),
              posting_rows AS (
                (SELECT 'postings, ledger: ' || row(l.*)::text AS row FROM (TABLE ledger EXCEPT
                     SELECT merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings
                       FROM ledger_day_postings) l)
                UNION ALL
                (SELECT 'postings, rollup: ' || row(r.*)::text FROM (
                     SELECT merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings
                       FROM ledger_day_postings EXCEPT TABLE ledger) r)),
              entry_rows AS (
                (SELECT 'entries, ledger: ' || row(l.*)::text AS row FROM (TABLE entries EXCEPT
                     SELECT merchant_id, business_date, entry_kind, entries FROM ledger_day_entries) l)
                UNION ALL
                (SELECT 'entries, rollup: ' || row(r.*)::text FROM (
                     SELECT merchant_id, business_date, entry_kind, entries FROM ledger_day_entries
                     EXCEPT TABLE entries) r))
         SELECT row FROM posting_rows UNION ALL SELECT row FROM entry_rows LIMIT $1"
    ))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?)
}
