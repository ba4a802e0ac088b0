-- Checking the whole ledger (issue 15): every balance equals the sum of its postings, every entry
-- balances with two postings or more. A verification walks the accounts, then the entries, in
-- bounded chunks from its cursors, so it never holds one long statement over millions of rows and
-- a node that dies resumes it where it stopped. The trial balance page shows the latest.
CREATE TABLE ledger_verifications (
    id               BIGSERIAL PRIMARY KEY,
    requested_by     TEXT        NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    -- The last account and entry checked.
    account_cursor   BIGINT      NOT NULL DEFAULT 0,
    entry_cursor     BIGINT      NOT NULL DEFAULT 0,
    accounts_checked BIGINT      NOT NULL DEFAULT 0,
    entries_checked  BIGINT      NOT NULL DEFAULT 0,
    -- What disagreed (at most a hundred, with their count).
    mismatches       TEXT[]      NOT NULL DEFAULT '{}',
    mismatch_count   BIGINT      NOT NULL DEFAULT 0,
    -- The account kinds with a balance that is not the sum of its postings.
    mismatched_kinds TEXT[]      NOT NULL DEFAULT '{}',
    CHECK ((finished_at IS NULL) OR (finished_at >= started_at))
);
-- One verification at a time.
CREATE UNIQUE INDEX ledger_verifications_one_open ON ledger_verifications ((true)) WHERE finished_at IS NULL;
