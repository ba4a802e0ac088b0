-- Reconciliation (对账, SPEC §7): a channel's daily bill matched against the day's bookings. Each
-- import is a run; its differences wait for an operator to resolve them with a note. A day whose
-- latest run has nothing unresolved is reconciled, which lets its settlement go ahead.
CREATE TABLE reconciliation_runs (
    id                BIGSERIAL PRIMARY KEY,
    channel           TEXT        NOT NULL,
    business_date     DATE        NOT NULL,
    source            TEXT        NOT NULL CHECK (source IN ('upload', 'worker')),
    imported_by       TEXT        NOT NULL,
    bill_line_count   INTEGER     NOT NULL CHECK (bill_line_count >= 0),
    our_line_count    INTEGER     NOT NULL CHECK (our_line_count >= 0),
    matched_count     INTEGER     NOT NULL CHECK (matched_count >= 0),
    difference_count  INTEGER     NOT NULL CHECK (difference_count >= 0),
    imported_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_runs_date_idx ON reconciliation_runs (business_date DESC, id DESC);

CREATE TABLE reconciliation_differences (
    id              BIGSERIAL PRIMARY KEY,
    run_id          BIGINT      NOT NULL REFERENCES reconciliation_runs (id),
    kind            TEXT        NOT NULL CHECK (kind IN (
        'missing_ours', 'missing_upstream', 'amount_mismatch', 'status_mismatch', 'fee_mismatch')),
    bill_type       TEXT        NOT NULL CHECK (bill_type IN ('PAY', 'REFUND')),
    trade_no        TEXT        NOT NULL,
    refund_no       TEXT,
    -- The two sides as they stood at import (our line and the bill's), for the operator.
    ours            JSONB,
    theirs          JSONB,
    resolved_by     TEXT,
    resolution_note TEXT,
    resolved_at     TIMESTAMPTZ,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (resolution_note IS NULL)),
    CHECK (ours IS NOT NULL OR theirs IS NOT NULL)
);
CREATE INDEX reconciliation_differences_run_idx ON reconciliation_differences (run_id, id);
CREATE INDEX reconciliation_differences_open_idx ON reconciliation_differences (run_id) WHERE resolved_at IS NULL;
