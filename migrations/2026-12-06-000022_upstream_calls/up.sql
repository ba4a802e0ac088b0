-- How the outside upstreams answered, per method and minute, summed over every node (each node
-- adds its own counts a few seconds after the calls): the dashboard's success rates of the last
-- hour and day survive restarts and cover the whole deployment. Kept two days (housekeeping).
CREATE TABLE upstream_calls (
    upstream         TEXT        NOT NULL,
    method           TEXT        NOT NULL,
    minute           TIMESTAMPTZ NOT NULL,
    calls            BIGINT      NOT NULL CHECK (calls >= 0),
    successes        BIGINT      NOT NULL CHECK (successes >= 0),
    declines         BIGINT      NOT NULL CHECK (declines >= 0),
    system_errors    BIGINT      NOT NULL CHECK (system_errors >= 0),
    timeouts         BIGINT      NOT NULL CHECK (timeouts >= 0),
    latency_ms_total BIGINT      NOT NULL CHECK (latency_ms_total >= 0),
    PRIMARY KEY (upstream, method, minute)
);
CREATE INDEX upstream_calls_minute ON upstream_calls (minute);
