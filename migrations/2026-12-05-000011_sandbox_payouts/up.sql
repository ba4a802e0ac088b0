-- The sandbox channel's own record of the payouts it was asked for (it stands in for an outside
-- system's records): one row per out_trade_no, the first answer kept.
CREATE TABLE sandbox_payouts (
    out_trade_no      TEXT        PRIMARY KEY,
    amount_fen        BIGINT      NOT NULL CHECK (amount_fen > 0),
    status            TEXT        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'returned')),
    channel_reference TEXT,
    reason            TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status IN ('pending', 'succeeded')) = (channel_reference IS NOT NULL)),
    CHECK ((status IN ('failed', 'returned')) = (reason IS NOT NULL))
);
