-- A merchant's statement lines of its settled days, kept together (issue 15). A statement's
-- export read each movement's posting, entry and order or refund from tables that grow with every
-- merchant's history, scattered among everyone's bookings: 22 µs a line at 10M orders, 440 ms for
-- a large merchant's 90 days. Once a merchant's day is settled and over, a job copies its lines
-- here in one statement, so they lie side by side in the statement's order and an export reads
-- them a page at a time. Derived data: a line is what the ledger says of the posting; should
-- anything still be booked for a copied day, the rollups' fold removes that day's copy (the day
-- is read from the ledger again) until the job copies it again.
CREATE TABLE ledger_statement_days (
    merchant_id   BIGINT      NOT NULL REFERENCES merchants (id),
    business_date DATE        NOT NULL,
    copied_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, business_date)
);

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

-- A merchant's statement lines as the ledger has them (postings to its pending, available and
-- in-transit accounts), with the number each shows: a payment its order's trade number, a refund
-- its refund number, a reversal neither. What the job copies, and what a copy is checked against.
CREATE VIEW ledger_statement_lines_from_ledger AS
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
