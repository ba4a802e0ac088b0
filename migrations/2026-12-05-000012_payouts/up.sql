-- Payouts (代付, SPEC §8): the payout calendar, each merchant's schedule, payout runs (one per
-- schedule slot), payout orders and their history.

-- Days that break the weekly rule: public holidays (法定节假日) are not payout days even on a
-- weekday, make-up working days (调休) are payout days even on a weekend.
CREATE TABLE payout_calendar_days (
    day        DATE        PRIMARY KEY,
    kind       TEXT        NOT NULL CHECK (kind IN ('holiday', 'working_day')),
    note       TEXT        NOT NULL DEFAULT '',
    updated_by TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A merchant's own schedule; a merchant without a row follows the platform's default.
CREATE TABLE payout_schedules (
    merchant_id        BIGINT      PRIMARY KEY REFERENCES merchants (id),
    frequency          TEXT        NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'manual')),
    -- China time of day the slot falls at.
    at_time            TIME        NOT NULL,
    -- ISO weekday, Monday = 1 (weekly only).
    weekday            SMALLINT    CHECK (weekday BETWEEN 1 AND 7),
    -- Day of the month; a month without it pays on its last day (monthly only).
    month_day          SMALLINT    CHECK (month_day BETWEEN 1 AND 31),
    minimum_fen        BIGINT      NOT NULL CHECK (minimum_fen > 0),
    retained_fen       BIGINT      NOT NULL DEFAULT 0 CHECK (retained_fen >= 0),
    fee_fixed_fen      BIGINT      NOT NULL DEFAULT 0 CHECK (fee_fixed_fen >= 0),
    fee_rate           NUMERIC(8, 5) NOT NULL DEFAULT 0 CHECK (fee_rate >= 0 AND fee_rate < 1),
    fee_minimum_fen    BIGINT      NOT NULL DEFAULT 0 CHECK (fee_minimum_fen >= 0),
    updated_by         TEXT        NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((frequency = 'weekly') = (weekday IS NOT NULL)),
    CHECK ((frequency = 'monthly') = (month_day IS NOT NULL))
);

-- Why a merchant's payouts stop: an operator's hold, or a pause after its bank returned a payout
-- (REFU), kept until an operator confirms or changes the account.
CREATE TABLE payout_stops (
    merchant_id BIGINT      NOT NULL REFERENCES merchants (id),
    kind        TEXT        NOT NULL CHECK (kind IN ('hold', 'returned_account')),
    reason      TEXT        NOT NULL CHECK (reason <> ''),
    set_by      TEXT        NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, kind)
);

-- One run per schedule slot (a payout day and a time of day, China time); manual runs have no slot.
CREATE TABLE payout_runs (
    id           BIGSERIAL   PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('scheduled', 'manual')),
    slot_date    DATE        NOT NULL,
    slot_time    TIME        NOT NULL,
    -- A manual run for one merchant; NULL for every eligible merchant.
    merchant_id  BIGINT      REFERENCES merchants (id),
    triggered_by TEXT        NOT NULL,
    -- Set once every eligible merchant has its payout or its reason for being skipped.
    completed_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payout_runs_one_per_slot ON payout_runs (slot_date, slot_time) WHERE kind = 'scheduled';
CREATE INDEX payout_runs_open ON payout_runs (id) WHERE completed_at IS NULL;

CREATE TABLE payout_run_skips (
    run_id      BIGINT NOT NULL REFERENCES payout_runs (id),
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    reason      TEXT   NOT NULL CHECK (reason IN ('frozen', 'closed', 'held', 'paused', 'below_minimum')),
    detail      TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, merchant_id)
);

CREATE TABLE payouts (
    id                  BIGSERIAL   PRIMARY KEY,
    out_trade_no        TEXT        NOT NULL UNIQUE,
    kind                TEXT        NOT NULL CHECK (kind IN ('scheduled', 'withdrawal', 'verification')),
    merchant_id         BIGINT      NOT NULL REFERENCES merchants (id),
    run_id              BIGINT      REFERENCES payout_runs (id),
    amount_fen          BIGINT      NOT NULL CHECK (amount_fen > 0),
    fee_fen             BIGINT      NOT NULL CHECK (fee_fen >= 0),
    state               TEXT        NOT NULL CHECK (state IN ('created', 'awaiting_approval', 'submitted',
                                                              'succeeded', 'failed', 'returned', 'rejected')),
    channel             TEXT        NOT NULL,
    -- The payee as it was when the money was reserved.
    account_type        TEXT        NOT NULL CHECK (account_type IN ('personal', 'corporate')),
    account_holder      TEXT        NOT NULL,
    account_number      TEXT        NOT NULL,
    bank_code           TEXT        NOT NULL,
    cnaps_code          TEXT,
    channel_reference   TEXT,
    failure_reason      TEXT,
    business_date       DATE        NOT NULL,
    triggered_by        TEXT        NOT NULL,
    -- While submitted: when to ask the channel next, and how often it has been asked.
    next_query_at       TIMESTAMPTZ,
    query_count         INTEGER     NOT NULL DEFAULT 0,
    needs_attention     BOOLEAN     NOT NULL DEFAULT false,
    submitted_at        TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (run_id, merchant_id),
    CHECK ((kind = 'scheduled') = (run_id IS NOT NULL)),
    CHECK ((state = 'submitted') = (next_query_at IS NOT NULL)),
    CHECK (state NOT IN ('failed', 'rejected', 'returned') OR failure_reason IS NOT NULL)
);
CREATE INDEX payouts_to_query ON payouts (next_query_at) WHERE state = 'submitted';
CREATE INDEX payouts_by_merchant ON payouts (merchant_id, id);
CREATE INDEX payouts_by_state ON payouts (state, id);

CREATE TABLE payout_events (
    id         BIGSERIAL   PRIMARY KEY,
    payout_id  BIGINT      NOT NULL REFERENCES payouts (id),
    from_state TEXT        CHECK (from_state IN ('created', 'awaiting_approval', 'submitted',
                                                 'succeeded', 'failed', 'returned', 'rejected')),
    to_state   TEXT        NOT NULL CHECK (to_state IN ('created', 'awaiting_approval', 'submitted',
                                                        'succeeded', 'failed', 'returned', 'rejected')),
    -- Who or what: an operator's name, `worker`, `channel:<name>`.
    actor      TEXT        NOT NULL,
    detail     TEXT,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payout_events_of ON payout_events (payout_id, id);
