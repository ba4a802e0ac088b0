-- A copied merchant-day's lines as one value (issue 15). As thirteen arrays (000032), sending a
-- 90-day export of a large merchant at 10M orders (20,000 lines) cost PostgreSQL one send-function
-- call per array element, half of its time on the export. Now each line's fields follow one
-- another as PostgreSQL's binary row format has them: a field's length in bytes (-1 for NULL,
-- as a 4-byte big-endian integer) and then its binary value (`int8send`, `textsend`,
-- `timestamptz_send`), in the order of `ledger_statement_lines_from_ledger`'s columns from
-- `entry_id` on; the lines in the statement's order. An empty day holds no bytes. Derived data:
-- the copies made so far are dropped, and the settlement job copies the days again.
DROP VIEW ledger_statement_lines_copied;
DELETE FROM ledger_statement_days;
ALTER TABLE ledger_statement_days
    DROP CONSTRAINT ledger_statement_days_lines_align,
    DROP COLUMN entry_ids, DROP COLUMN posting_ids, DROP COLUMN account_ids, DROP COLUMN amounts_fen,
    DROP COLUMN entry_kinds, DROP COLUMN booked_ats, DROP COLUMN memos, DROP COLUMN reverses_entry_ids,
    DROP COLUMN order_ids, DROP COLUMN trade_nos, DROP COLUMN refund_ids, DROP COLUMN refund_nos, DROP COLUMN payout_ids,
    ADD COLUMN lines BYTEA NOT NULL;

-- The lines' numbers by joins, not scalar subqueries: packing refers to a text field three times
-- (is it NULL, its length, its bytes), and a view's subquery column is evaluated at each
-- reference; a day's copy took ten times as long. The same rows.
CREATE OR REPLACE VIEW ledger_statement_lines_from_ledger AS
    SELECT e.merchant_id, e.business_date, e.id AS entry_id, p.id AS posting_id, p.account_id, p.amount_fen,
           e.kind AS entry_kind, e.booked_at, e.memo, e.reverses_entry_id, e.order_id,
           o.trade_no::text AS trade_no, e.refund_id, r.refund_no::text AS refund_no, e.payout_id
      FROM ledger_entries e
      JOIN ledger_postings p ON p.entry_id = e.id
      JOIN ledger_accounts a ON a.id = p.account_id
      -- A payment shows its order's trade number, a refund its refund number, a reversal neither.
      LEFT JOIN orders o ON o.id = e.order_id AND e.refund_id IS NULL AND e.reverses_entry_id IS NULL
      LEFT JOIN refunds r ON r.id = e.refund_id AND e.reverses_entry_id IS NULL
     WHERE a.kind IN ('merchant_pending', 'merchant_available', 'merchant_payout_in_transit');

-- A field as the binary row format has it: its length and value, or -1 for NULL.
CREATE FUNCTION ledger_binary_field(value BYTEA) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN value IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(value)) || value END;

-- Each line of `ledger_statement_lines_from_ledger` packed as a copy holds it: a day's copy is its
-- lines' in the statement's order (`entry_id`, `posting_id`), one after another.
CREATE VIEW ledger_statement_lines_packed AS
    SELECT merchant_id, business_date, entry_id, posting_id,
           ledger_binary_field(int8send(entry_id)) || ledger_binary_field(int8send(posting_id))
           || ledger_binary_field(int8send(account_id)) || ledger_binary_field(int8send(amount_fen))
           || ledger_binary_field(textsend(entry_kind)) || ledger_binary_field(timestamptz_send(booked_at))
           || ledger_binary_field(textsend(memo)) || ledger_binary_field(int8send(reverses_entry_id))
           || ledger_binary_field(int8send(order_id)) || ledger_binary_field(textsend(trade_no))
           || ledger_binary_field(int8send(refund_id)) || ledger_binary_field(textsend(refund_no))
           || ledger_binary_field(int8send(payout_id)) AS line
      FROM ledger_statement_lines_from_ledger;
