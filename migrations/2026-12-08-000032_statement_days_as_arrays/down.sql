DROP VIEW ledger_statement_lines_copied;
DELETE FROM ledger_statement_days;
ALTER TABLE ledger_statement_days
    DROP CONSTRAINT ledger_statement_days_lines_align,
    DROP COLUMN entry_ids, DROP COLUMN posting_ids, DROP COLUMN account_ids, DROP COLUMN amounts_fen,
    DROP COLUMN entry_kinds, DROP COLUMN booked_ats, DROP COLUMN memos, DROP COLUMN reverses_entry_ids,
    DROP COLUMN order_ids, DROP COLUMN trade_nos, DROP COLUMN refund_ids, DROP COLUMN refund_nos, DROP COLUMN payout_ids;
CREATE TABLE ledger_statement_lines (
    merchant_id       BIGINT      NOT NULL,
    business_date     DATE        NOT NULL,
    entry_id          BIGINT      NOT NULL,
    posting_id        BIGINT      NOT NULL,
    account_id        BIGINT      NOT NULL,
    amount_fen        BIGINT      NOT NULL,
    entry_kind        TEXT        NOT NULL,
    booked_at         TIMESTAMPTZ NOT NULL,
    memo              TEXT,
    reverses_entry_id BIGINT,
    order_id          BIGINT,
    trade_no          TEXT,
    refund_id         BIGINT,
    refund_no         TEXT,
    payout_id         BIGINT,
    PRIMARY KEY (merchant_id, business_date, entry_id, posting_id),
    FOREIGN KEY (merchant_id, business_date) REFERENCES ledger_statement_days ON DELETE CASCADE
);
