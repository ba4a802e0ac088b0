-- A rate plan's payout defaults (issue 13: "defaults from its rate plan or the platform"): the time
-- of day, minimum, amount kept back and fee that its merchants without a schedule of their own are
-- paid with. Their cadence is the one each declared when it applied (merchants.payout_schedule).
CREATE TABLE rate_plan_payout_defaults (
    rate_plan_id    BIGINT        PRIMARY KEY REFERENCES rate_plans (id),
    -- China time of day the slot falls at.
    at_time         TIME          NOT NULL,
    minimum_fen     BIGINT        NOT NULL CHECK (minimum_fen > 0),
    retained_fen    BIGINT        NOT NULL DEFAULT 0 CHECK (retained_fen >= 0),
    fee_fixed_fen   BIGINT        NOT NULL DEFAULT 0 CHECK (fee_fixed_fen >= 0),
    fee_rate        NUMERIC(8, 5) NOT NULL DEFAULT 0 CHECK (fee_rate >= 0 AND fee_rate < 1),
    fee_minimum_fen BIGINT        NOT NULL DEFAULT 0 CHECK (fee_minimum_fen >= 0),
    updated_by      TEXT          NOT NULL,
    updated_at      TIMESTAMPTZ   NOT NULL DEFAULT now()
);
