-- The channel that takes a merchant's payments (SPEC §6: each merchant is served by one channel,
-- the platform default unless set). NULL: the platform's `channel.pay_in`.
ALTER TABLE merchants ADD COLUMN pay_in_channel TEXT CHECK (pay_in_channel ~ '^[a-z0-9_]{1,32}$');

-- A merchant registered at an upstream that takes its payments there (an fshows gateway):
-- created, approved there, its account bound and its rates set, then ready for orders. Driven by
-- a periodic job; `next_attempt_at` spaces the calls out (seed 000: gentle polling).
CREATE TABLE upstream_merchants (
    merchant_id BIGINT PRIMARY KEY REFERENCES merchants (id),
    channel TEXT NOT NULL CHECK (channel ~ '^[a-z0-9_]{1,32}$'),
    state TEXT NOT NULL CHECK (state IN ('creating', 'awaiting_approval', 'binding', 'rating', 'ready', 'refused')),
    -- The upstream's id of the merchant, once it has approved it.
    upstream_sub_merchant_id TEXT,
    -- The last thing the upstream said (or why it could not be asked).
    detail TEXT NOT NULL DEFAULT '',
    attempts INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((state IN ('binding', 'rating', 'ready')) = (upstream_sub_merchant_id IS NOT NULL)
        OR state = 'refused')
);
CREATE INDEX upstream_merchants_due ON upstream_merchants (next_attempt_at)
    WHERE state NOT IN ('ready', 'refused');

-- An order placed at an upstream: our order is written first (its trade_no is the upstream's
-- out_trade_no), then the upstream is asked; until it answers the order is `placing` and is
-- queried, never placed again under another number.
CREATE TABLE upstream_orders (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    channel TEXT NOT NULL CHECK (channel ~ '^[a-z0-9_]{1,32}$'),
    state TEXT NOT NULL CHECK (state IN ('placing', 'placed', 'refused')),
    upstream_trade_no TEXT,
    qr_code TEXT,
    detail TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((state = 'placed') = (upstream_trade_no IS NOT NULL AND qr_code IS NOT NULL))
);
CREATE INDEX upstream_orders_placing ON upstream_orders (order_id) WHERE state = 'placing';

-- A refund of an order placed at an upstream is `pending` until the upstream refunds it; one it
-- refuses is given back (`refund_failed`). The upstream's number for it, once it has one.
ALTER TABLE refunds ADD COLUMN channel_refund_no TEXT;
ALTER TABLE order_events DROP CONSTRAINT order_events_cause_check,
    ADD CONSTRAINT order_events_cause_check
        CHECK (cause IN ('created', 'channel_callback', 'closed', 'expired', 'refund', 'refund_failed'));
CREATE INDEX refunds_pending ON refunds (created_at) WHERE state = 'pending';
