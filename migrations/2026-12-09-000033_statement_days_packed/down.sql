DROP VIEW ledger_statement_lines_packed;
DROP FUNCTION ledger_binary_field(BYTEA);
CREATE OR REPLACE VIEW ledger_statement_lines_from_ledger AS
    SELECT e.merchant_id, e.business_date, e.id AS entry_id, p.id AS posting_id, p.account_id, p.amount_fen,
           e.kind AS entry_kind, e.booked_at, e.memo, e.reverses_entry_id, e.order_id,
           CASE WHEN e.refund_id IS NULL AND e.reverses_entry_id IS NULL
                THEN (SELECT o.trade_no FROM orders o WHERE o.id = e.order_id) END AS trade_no,
           e.refund_id,
           CASE WHEN e.reverses_entry_id IS NULL
                THEN (SELECT r.refund_no FROM refunds r WHERE r.id = e.refund_id) END AS refund_no,
           e.payout_id
      FROM ledger_entries e
      JOIN ledger_postings p ON p.entry_id = e.id
      JOIN ledger_accounts a ON a.id = p.account_id
     WHERE a.kind IN ('merchant_pending', 'merchant_available', 'merchant_payout_in_transit');
DELETE FROM ledger_statement_days;
ALTER TABLE ledger_statement_days
    DROP COLUMN lines,
    ADD COLUMN entry_ids          BIGINT[]      NOT NULL,
    ADD COLUMN posting_ids        BIGINT[]      NOT NULL,
    ADD COLUMN account_ids        BIGINT[]      NOT NULL,
    ADD COLUMN amounts_fen        BIGINT[]      NOT NULL,
    ADD COLUMN entry_kinds        TEXT[]        NOT NULL,
    ADD COLUMN booked_ats         TIMESTAMPTZ[] NOT NULL,
    ADD COLUMN memos              TEXT[]        NOT NULL,
    ADD COLUMN reverses_entry_ids BIGINT[]      NOT NULL,
    ADD COLUMN order_ids          BIGINT[]      NOT NULL,
    ADD COLUMN trade_nos          TEXT[]        NOT NULL,
    ADD COLUMN refund_ids         BIGINT[]      NOT NULL,
    ADD COLUMN refund_nos         TEXT[]        NOT NULL,
    ADD COLUMN payout_ids         BIGINT[]      NOT NULL,
    ADD CONSTRAINT ledger_statement_days_lines_align CHECK (
        cardinality(posting_ids) = cardinality(entry_ids) AND cardinality(account_ids) = cardinality(entry_ids)
        AND cardinality(amounts_fen) = cardinality(entry_ids) AND cardinality(entry_kinds) = cardinality(entry_ids)
        AND cardinality(booked_ats) = cardinality(entry_ids) AND cardinality(memos) = cardinality(entry_ids)
        AND cardinality(reverses_entry_ids) = cardinality(entry_ids) AND cardinality(order_ids) = cardinality(entry_ids)
        AND cardinality(trade_nos) = cardinality(entry_ids) AND cardinality(refund_ids) = cardinality(entry_ids)
        AND cardinality(refund_nos) = cardinality(entry_ids) AND cardinality(payout_ids) = cardinality(entry_ids));
CREATE VIEW ledger_statement_lines_copied AS
    SELECT c.merchant_id, c.business_date, l.*
      FROM ledger_statement_days c
     CROSS JOIN LATERAL unnest(c.entry_ids, c.posting_ids, c.account_ids, c.amounts_fen, c.entry_kinds, c.booked_ats,
                               c.memos, c.reverses_entry_ids, c.order_ids, c.trade_nos, c.refund_ids, c.refund_nos,
                               c.payout_ids)
           AS l (entry_id, posting_id, account_id, amount_fen, entry_kind, booked_at, memo, reverses_entry_id, order_id,
                 trade_no, refund_id, refund_no, payout_id);
