-- The gateway: orders with their rate and split snapshot, refunds, the notification outbox, inbound
-- channel callbacks and the request log.

CREATE TABLE orders (
    id                         BIGSERIAL PRIMARY KEY,
    trade_no                   TEXT        NOT NULL UNIQUE CHECK (trade_no ~ '^[0-9]{28}$'),
    -- The calling app: out_trade_no is unique among its orders (seed 003).
    app_id                     BIGINT      NOT NULL REFERENCES apps (id),
    merchant_id                BIGINT      NOT NULL REFERENCES merchants (id),
    out_trade_no               TEXT        NOT NULL CHECK (out_trade_no ~ '^[A-Za-z0-9_]{1,64}$'),
    body                       TEXT        NOT NULL CHECK (length(body) BETWEEN 1 AND 128),
    total_fee_fen              BIGINT      NOT NULL CHECK (total_fee_fen BETWEEN 1 AND 10000000000),
    order_type                 SMALLINT    NOT NULL CHECK (order_type IN (0, 1)),
    notify_url                 TEXT CHECK (length(notify_url) <= 256),
    -- Snapshot at creation: later rate changes never touch an existing order (SPEC §3).
    bank_commission_rate       rate        NOT NULL,
    pay_platform_rate          rate        NOT NULL,
    liquidator_commission_rate rate        NOT NULL,
    bank_commission_fen        BIGINT      NOT NULL CHECK (bank_commission_fen >= 0),
    pay_platform_fen           BIGINT      NOT NULL CHECK (pay_platform_fen >= 0),
    liquidator_commission_fen  BIGINT      NOT NULL CHECK (liquidator_commission_fen >= 0),
    net_receipt_fen            BIGINT      NOT NULL CHECK (net_receipt_fen >= 0),
    state                      TEXT        NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'paid', 'partially_refunded', 'refunded', 'closed')),
    refunded_fen               BIGINT      NOT NULL DEFAULT 0,
    cashier_code               TEXT        NOT NULL UNIQUE CHECK (cashier_code ~ '^[a-z0-9]{14,32}$'),
    -- Hash of the request content, to tell an idempotent retry from a conflicting reuse (-206).
    content_fingerprint        TEXT        NOT NULL,
    expires_at                 TIMESTAMPTZ NOT NULL,
    paid_at                    TIMESTAMPTZ,
    closed_at                  TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (app_id, out_trade_no),
    CHECK (bank_commission_fen + pay_platform_fen + liquidator_commission_fen + net_receipt_fen = total_fee_fen),
    CHECK (refunded_fen BETWEEN 0 AND total_fee_fen),
    -- Each state agrees with the money: nothing refunded before payment, all of it when refunded.
    CHECK (state NOT IN ('waiting', 'closed') OR refunded_fen = 0),
    CHECK (state <> 'partially_refunded' OR (refunded_fen > 0 AND refunded_fen < total_fee_fen)),
    CHECK (state <> 'refunded' OR refunded_fen = total_fee_fen),
    CHECK (state IN ('waiting', 'closed') OR paid_at IS NOT NULL)
);
CREATE INDEX orders_merchant_idx ON orders (merchant_id, id DESC);
CREATE INDEX orders_state_idx ON orders (state, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
-- The expiry worker scans only unpaid orders.
CREATE INDEX orders_expiry_idx ON orders (expires_at) WHERE state = 'waiting';
CREATE TRIGGER orders_updated_at BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every state change of an order: who or what caused it, from, to, why. Append-only.
CREATE TABLE order_events (
    id         BIGSERIAL PRIMARY KEY,
    order_id   BIGINT      NOT NULL REFERENCES orders (id),
    from_state TEXT,
    to_state   TEXT        NOT NULL,
    cause      TEXT        NOT NULL,
    detail     TEXT,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);
CREATE TRIGGER order_events_no_update BEFORE UPDATE OR DELETE ON order_events
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- A refund gives back its own split (SPEC §3): one part may be negative by a fen or two.
CREATE TABLE refunds (
    id                        BIGSERIAL PRIMARY KEY,
    refund_no                 TEXT        NOT NULL UNIQUE CHECK (refund_no ~ '^[0-9]{28}$'),
    order_id                  BIGINT      NOT NULL REFERENCES orders (id),
    out_refund_no             TEXT        NOT NULL CHECK (out_refund_no ~ '^[A-Za-z0-9_]{1,64}$'),
    refund_fee_fen            BIGINT      NOT NULL CHECK (refund_fee_fen > 0),
    bank_commission_fen       BIGINT      NOT NULL,
    pay_platform_fen          BIGINT      NOT NULL,
    liquidator_commission_fen BIGINT      NOT NULL,
    net_receipt_fen           BIGINT      NOT NULL,
    state                     TEXT        NOT NULL DEFAULT 'succeeded' CHECK (state IN ('pending', 'succeeded', 'failed')),
    requested_by              TEXT        NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (order_id, out_refund_no),
    CHECK (bank_commission_fen + pay_platform_fen + liquidator_commission_fen + net_receipt_fen = refund_fee_fen)
);

-- The notification outbox: written in the same transaction as the state change it announces.
CREATE TABLE notifications (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT        NOT NULL CHECK (kind IN ('order_paid', 'refund', 'payout')),
    order_id         BIGINT REFERENCES orders (id),
    app_id           BIGINT      NOT NULL REFERENCES apps (id),
    url              TEXT        NOT NULL,
    -- The form fields to POST, signed at send time with the platform key.
    fields           JSONB       NOT NULL,
    state            TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER     NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    first_attempt_at TIMESTAMPTZ,
    locked_until     TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_order_idx ON notifications (order_id);

-- Every delivery attempt, kept for the console.
CREATE TABLE notification_attempts (
    id              BIGSERIAL PRIMARY KEY,
    notification_id BIGINT      NOT NULL REFERENCES notifications (id),
    at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    http_status     INTEGER,
    body_excerpt    TEXT,
    error           TEXT,
    latency_ms      INTEGER     NOT NULL,
    delivered       BOOLEAN     NOT NULL
);
CREATE INDEX notification_attempts_notification_idx ON notification_attempts (notification_id, id);

-- Callbacks from upstream channels. One that cannot be applied (e.g. "paid" for a closed order) is
-- kept with needs_attention for an operator — never dropped.
CREATE TABLE channel_callbacks (
    id              BIGSERIAL PRIMARY KEY,
    channel         TEXT        NOT NULL,
    trade_no        TEXT,
    payload         JSONB       NOT NULL,
    outcome         TEXT        NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'late_payment', 'rejected')),
    needs_attention BOOLEAN     NOT NULL DEFAULT false,
    resolved_by     TEXT,
    resolution_note TEXT,
    resolved_at     TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX channel_callbacks_attention_idx ON channel_callbacks (received_at DESC) WHERE needs_attention;

-- Every gateway request and reply, redacted, for support.
CREATE TABLE gateway_requests (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    app_id      TEXT,
    method      TEXT,
    trade_no    TEXT,
    request     TEXT        NOT NULL,
    reply       TEXT        NOT NULL,
    success     BOOLEAN     NOT NULL,
    error_code  TEXT,
    latency_ms  INTEGER     NOT NULL,
    client_ip   TEXT
);
CREATE INDEX gateway_requests_at_idx ON gateway_requests (id DESC);
CREATE INDEX gateway_requests_app_idx ON gateway_requests (app_id, id DESC);
CREATE INDEX gateway_requests_trade_no_idx ON gateway_requests (trade_no) WHERE trade_no IS NOT NULL;
