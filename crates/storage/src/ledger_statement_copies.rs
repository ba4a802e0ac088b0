//! Copies of merchants' statement lines for their settled days (`ledger_statement_days`, a row per
//! merchant-day holding its lines packed in one value), which a statement's export reads instead of
//! each movement's posting, entry and order scattered among every merchant's bookings. A
//! merchant-day is copied once it is over and settled (or has nothing to settle); should anything
//! still be booked for it, the rollups' fold removes the copy (see [`crate::ledger_rollups::fold`])
//! and the day is read from the ledger until it is copied again. Derived data: the view
//! `ledger_statement_lines_packed` is what a copy holds, and [`differences`] compares them.
//!
//! A copy's lines follow one another, each its fields in the order of
//! `ledger_statement_lines_from_ledger`'s columns from `entry_id` on, each field as PostgreSQL's
//! binary row format has it: its length in bytes as a big-endian `i32` (-1 for NULL), then its
//! binary value (migration 000033). Sent as one value, a day costs PostgreSQL one send, where
//! thirteen arrays cost it one per element.
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Binary, Date},
};
use domain::{AccountId, Amount, EntryId, MerchantId, OrderId, PayoutId, RefundId, ledger::EntryKind};

use crate::{
    StorageError,
    ledger_reports::{EntryCauseRow, PostingCauseRow},
    ledger_rollups::Difference,
};

/// A merchant's day (`d`, a folded rollup row) with paid orders not settled yet, as SQL.
const UNSETTLED: &str = crate::ledger_rollups::UNSETTLED;

/// A merchant-day's copy from its lines in `ledger_statement_lines_packed` (`l`, joined to the day
/// and grouped by it): the lines in the statement's order; no bytes for a day without lines.
const PACKED_DAY: &str =
    "COALESCE(string_agg(l.line, '' ORDER BY l.entry_id, l.posting_id) FILTER (WHERE l.line IS NOT NULL), '')";

/// Copies the statement lines of the merchant-days before `before` that are settled (or had
/// nothing to settle) and not copied yet, the oldest business days first, at most `days` of them;
/// each day, all its merchants, in one transaction. Returns the merchant-days copied.
pub fn copy_settled_days(conn: &mut PgConnection, before: NaiveDate, days: i64) -> Result<usize, StorageError> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = Date)]
        business_date: NaiveDate,
    }
    let candidates: Vec<Day> = diesel::sql_query(format!(
        "SELECT DISTINCT d.business_date FROM ledger_merchant_days d
          WHERE d.business_date < $1 AND NOT ({UNSETTLED})
            AND NOT EXISTS (SELECT 1 FROM ledger_statement_days c
                             WHERE c.merchant_id = d.merchant_id AND c.business_date = d.business_date)
          ORDER BY 1 LIMIT $2"
    ))
    .bind::<Date, _>(before)
    .bind::<BigInt, _>(days)
    .load(conn)?;
    let mut copied = 0;
    for Day { business_date } in candidates {
        copied += crate::database::transaction(conn, |conn| -> Result<usize, StorageError> {
            // A fold into this day finishes first; the next waits until this commits (and then
            // removes the copy of a merchant-day it adds to).
            diesel::sql_query("SELECT pg_advisory_xact_lock(1502, $1 - DATE '2000-01-01')")
                .bind::<Date, _>(business_date)
                .execute(conn)?;
            // An empty day is copied too (no bytes): its copy still says there is nothing to read
            // from the ledger.
            let merchants = diesel::sql_query(format!(
                "INSERT INTO ledger_statement_days (merchant_id, business_date, lines)
                 SELECT d.merchant_id, d.business_date, {PACKED_DAY}
                   FROM ledger_merchant_days d
                   LEFT JOIN ledger_statement_lines_packed l
                     ON l.merchant_id = d.merchant_id AND l.business_date = d.business_date
                  WHERE d.business_date = $1 AND NOT ({UNSETTLED})
                    AND NOT EXISTS (SELECT 1 FROM ledger_statement_days c
                                     WHERE c.merchant_id = d.merchant_id AND c.business_date = d.business_date)
                  GROUP BY d.merchant_id, d.business_date"
            ))
            .bind::<Date, _>(business_date)
            .execute(conn)?;
            Ok(merchants)
        })?;
    }
    Ok(copied)
}

/// Removes the copies of the merchant-days of these entries (something was booked for them
/// after they were copied). Inside the fold's transaction, which holds their days' locks.
pub(crate) fn remove_days_of(conn: &mut PgConnection, entry_ids: &[i64]) -> Result<usize, StorageError> {
    Ok(diesel::sql_query(
        "DELETE FROM ledger_statement_days
          WHERE (merchant_id, business_date) IN (SELECT merchant_id, business_date FROM ledger_entries
                                                  WHERE id = ANY ($1))",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(entry_ids)
    .execute(conn)?)
}

/// Removes every copy (a rebuild; the job copies the days again).
pub(crate) fn remove_all(conn: &mut PgConnection) -> Result<usize, StorageError> {
    Ok(diesel::sql_query("DELETE FROM ledger_statement_days").execute(conn)?)
}

/// The copied merchant-days whose lines differ from what the ledger says of them, at most
/// `limit`; none when the copies are right.
pub fn differences(conn: &mut PgConnection, limit: i64) -> Result<Vec<Difference>, StorageError> {
    Ok(diesel::sql_query(format!(
        "SELECT 'statement copy of merchant ' || c.merchant_id || ' on ' || c.business_date || ': '
                || octet_length(c.lines) || ' bytes, derived ' || octet_length({PACKED_DAY}) AS row
           FROM ledger_statement_days c
           LEFT JOIN ledger_statement_lines_packed l
             ON l.merchant_id = c.merchant_id AND l.business_date = c.business_date
          GROUP BY c.merchant_id, c.business_date
         HAVING c.lines <> {PACKED_DAY}
          LIMIT $1"
    ))
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// A merchant-day's copy as read: its lines packed as the module's documentation says.
#[derive(QueryableByName)]
pub(crate) struct CopiedDay {
    #[diesel(sql_type = Date)]
    business_date: NaiveDate,
    #[diesel(sql_type = Binary)]
    lines: Vec<u8>,
}

/// The merchant's copied days within `[from, to]`, but for `skipped_days`, oldest first, row by row
/// as PostgreSQL sends them (each day's lines are handed on while the next day arrives).
pub(crate) fn copied_days<'conn, 'query: 'conn>(
    conn: &'conn mut PgConnection,
    merchant_id: MerchantId,
    (from, to): (NaiveDate, NaiveDate),
    skipped_days: &'query [NaiveDate],
) -> Result<impl Iterator<Item = QueryResult<CopiedDay>> + use<'conn, 'query>, StorageError> {
    use diesel::pg::PgRowByRowLoadingMode;
    Ok(diesel::sql_query(
        "SELECT business_date, lines FROM ledger_statement_days
          WHERE merchant_id = $1 AND business_date BETWEEN $2 AND $3 AND business_date <> ALL ($4)
          ORDER BY business_date",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Array<Date>, _>(skipped_days)
    .load_iter::<'conn, 'query, CopiedDay, PgRowByRowLoadingMode>(conn)?)
}

impl CopiedDay {
    /// Its lines in the statement's order, each unpacked as it is taken; an error (and then
    /// nothing more) where the bytes are not lines.
    pub(crate) fn lines(&self) -> impl Iterator<Item = Result<PostingCauseRow, StorageError>> + '_ {
        let mut fields = BinaryFields { rest: &self.lines };
        std::iter::from_fn(move || {
            if fields.rest.is_empty() {
                return None;
            }
            let line = unpack_line(&mut fields, self.business_date).map_err(|problem| {
                fields.rest = &[];
                let message = format!("the statement copy of {} is not lines: {problem}", self.business_date);
                StorageError::from(diesel::result::Error::DeserializationError(message.into()))
            });
            Some(line)
        })
    }
}

/// One line's fields, in the copy's order.
fn unpack_line(fields: &mut BinaryFields<'_>, business_date: NaiveDate) -> Result<PostingCauseRow, String> {
    let entry_id = EntryId::new(fields.required(int8)?);
    let posting_id = fields.required(int8)?;
    let account_id = AccountId::new(fields.required(int8)?);
    let amount_fen = Amount::from_fen(fields.required(int8)?);
    let kind = fields.required(text)?;
    let entry_kind = EntryKind::parse(kind).ok_or_else(|| format!("{kind:?} is not an entry kind"))?;
    Ok(PostingCauseRow {
        posting_id,
        account_id,
        amount_fen,
        cause: EntryCauseRow {
            entry_id,
            entry_kind,
            business_date,
            booked_at: fields.required(timestamptz)?,
            memo: fields.nullable(text)?.map(str::to_owned),
            reverses_entry_id: fields.nullable(int8)?.map(EntryId::new),
            order_id: fields.nullable(int8)?.map(OrderId::new),
            trade_no: fields.nullable(text)?.map(str::to_owned),
            refund_id: fields.nullable(int8)?.map(RefundId::new),
            refund_no: fields.nullable(text)?.map(str::to_owned),
            payout_id: fields.nullable(int8)?.map(PayoutId::new),
            // As `POSTING_CAUSE_COLUMNS` names it: a settlement entry's own day.
            settlement_date: (entry_kind == EntryKind::Settlement).then_some(business_date),
        },
    })
}

/// Fields one after another as PostgreSQL's binary row format has them, taken from the front.
struct BinaryFields<'a> {
    rest: &'a [u8],
}

impl<'a> BinaryFields<'a> {
    /// The next field's value; `None` for NULL.
    fn next_value(&mut self) -> Result<Option<&'a [u8]>, String> {
        let (length, rest) = self.rest.split_first_chunk::<4>().ok_or("a field's length is cut short")?;
        let length = i32::from_be_bytes(*length);
        if length == -1 {
            self.rest = rest;
            return Ok(None);
        }
        let value = usize::try_from(length)
            .ok()
            .and_then(|length| rest.get(..length))
            .ok_or_else(|| format!("a field of {length} bytes where {} are left", rest.len()))?;
        self.rest = &rest[value.len()..];
        Ok(Some(value))
    }

    fn nullable<T>(&mut self, decode: fn(&'a [u8]) -> Result<T, String>) -> Result<Option<T>, String> {
        self.next_value()?.map(decode).transpose()
    }

    fn required<T>(&mut self, decode: fn(&'a [u8]) -> Result<T, String>) -> Result<T, String> {
        self.nullable(decode)?.ok_or_else(|| "NULL where a value is required".to_string())
    }
}

/// A `bigint` (`int8send`: eight bytes, big-endian).
fn int8(value: &[u8]) -> Result<i64, String> {
    let bytes = <[u8; 8]>::try_from(value).map_err(|_| format!("a bigint of {} bytes", value.len()))?;
    Ok(i64::from_be_bytes(bytes))
}

/// A `text` (`textsend`: its UTF-8 bytes, the database's encoding).
fn text(value: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(value).map_err(|error| format!("text that is not UTF-8: {error}"))
}

/// A `timestamptz` (`timestamptz_send`: microseconds since 2000-01-01 00:00 UTC as a bigint).
fn timestamptz(value: &[u8]) -> Result<DateTime<Utc>, String> {
    const POSTGRES_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
    let micros = int8(value)?;
    micros
        .checked_add(POSTGRES_EPOCH_UNIX_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("a time {micros} µs from 2000 is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as the binary row format has it.
    fn field(value: Option<&[u8]>) -> Vec<u8> {
        match value {
            None => (-1i32).to_be_bytes().to_vec(),
            Some(value) => [&(value.len() as i32).to_be_bytes()[..], value].concat(),
        }
    }

    /// A refund's line: entry 7, posting 8, account 9, -150 fen, booked at 2000-01-01 00:00:01 UTC.
    fn refund_line() -> Vec<u8> {
        let fields: [Option<&[u8]>; 13] = [
            Some(&7i64.to_be_bytes()),
            Some(&8i64.to_be_bytes()),
            Some(&9i64.to_be_bytes()),
            Some(&(-150i64).to_be_bytes()),
            Some(b"refund"),
            Some(&1_000_000i64.to_be_bytes()),
            Some("退款".as_bytes()),
            None,
            Some(&11i64.to_be_bytes()),
            None,
            Some(&12i64.to_be_bytes()),
            Some(b"R1"),
            None,
        ];
        fields.into_iter().flat_map(field).collect()
    }

    fn day(lines: Vec<u8>) -> CopiedDay {
        CopiedDay { business_date: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"), lines }
    }

    #[test]
    fn lines_are_unpacked_field_by_field() {
        let copied = day([refund_line(), refund_line()].concat());
        let lines: Vec<PostingCauseRow> = copied.lines().collect::<Result<_, _>>().expect("lines");
        assert_eq!(lines.len(), 2);
        let line = &lines[1];
        assert_eq!((line.posting_id, line.account_id.get(), line.amount_fen.fen()), (8, 9, -150));
        let cause = &line.cause;
        assert_eq!((cause.entry_id.get(), cause.entry_kind), (7, EntryKind::Refund));
        assert_eq!(cause.booked_at.to_rfc3339(), "2000-01-01T00:00:01+00:00");
        assert_eq!(cause.memo.as_deref(), Some("退款"));
        assert_eq!((cause.reverses_entry_id, cause.order_id.map(|id| id.get())), (None, Some(11)));
        assert_eq!((cause.trade_no.as_deref(), cause.refund_no.as_deref()), (None, Some("R1")));
        assert_eq!((cause.refund_id.map(|id| id.get()), cause.payout_id), (Some(12), None));
        assert_eq!(cause.settlement_date, None);
        assert_eq!(day(Vec::new()).lines().count(), 0, "an empty day");
    }

    /// Bytes that are not lines end the day with one error, never a panic or a made-up line.
    #[test]
    fn bytes_that_are_not_lines_are_an_error() {
        let line = refund_line();
        let mut wrong_kind = line.clone();
        wrong_kind[4 * 4 + 8 * 4 + 4] = b'R';
        let mut null_entry = line.clone();
        null_entry[..12].copy_from_slice(&[0xff; 12]);
        let mut short_bigint = line.clone();
        short_bigint[3] = 7;
        let mut long_field = line.clone();
        long_field[..4].copy_from_slice(&i32::MAX.to_be_bytes());
        let mut negative_length = line.clone();
        negative_length[..4].copy_from_slice(&(-2i32).to_be_bytes());
        let not_utf8 =
            [&line[..4 * 4 + 8 * 4], &field(Some(&[0xff, 0xfe]))[..], &line[4 * 4 + 8 * 4 + 4 + 6..]].concat();
        let mut far_time = line.clone();
        far_time[4 * 5 + 8 * 4 + 6..4 * 5 + 8 * 4 + 6 + 8].copy_from_slice(&i64::MAX.to_be_bytes());
        let cases = [
            ("cut short", line[..line.len() - 1].to_vec()),
            ("a length cut short", vec![0, 0]),
            ("an unknown kind", wrong_kind),
            ("NULL entry", null_entry),
            ("a bigint of 7 bytes", short_bigint),
            ("a field longer than the rest", long_field),
            ("a negative length", negative_length),
            ("text not UTF-8", not_utf8),
            ("a time out of range", far_time),
        ];
        for (what, bytes) in cases {
            let copied = day([refund_line(), bytes].concat());
            let read: Vec<_> = copied.lines().collect();
            assert_eq!(read.len(), 2, "{what}: the good line, then one error");
            assert!(read[0].is_ok(), "{what}");
            assert!(read[1].is_err(), "{what}: {:?}", read[1].as_ref().map(|line| line.posting_id));
        }
    }
}
