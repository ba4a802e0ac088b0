-- Every exchange with the channel about a payout — its answer to the submission, each query's,
-- each callback — written in the transaction that records it, whether or not it changed anything.
CREATE TABLE payout_exchanges (
    id        BIGSERIAL   PRIMARY KEY,
    payout_id BIGINT      NOT NULL REFERENCES payouts (id),
    -- Who asked or told: `channel:<name>` (the submission), `query:<name>`, `callback:<name>`,
    -- `query:<operator>`.
    actor     TEXT        NOT NULL,
    answer    TEXT        NOT NULL CHECK (answer IN ('pending', 'succeeded', 'failed', 'returned', 'unknown',
                                                     'not_found')),
    -- The channel's reference, its reason, or why there was no answer.
    detail    TEXT        NOT NULL DEFAULT '',
    at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payout_exchanges_of ON payout_exchanges (payout_id, id);
