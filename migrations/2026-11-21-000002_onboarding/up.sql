-- Sub-merchant onboarding: applications and their states, rate plans, versioned rates,
-- micro-deposit verification, apps with their public keys, and the platform's own key pair.

CREATE TABLE rate_plans (
    id         BIGSERIAL PRIMARY KEY,
    code       TEXT        NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{1,32}$'),
    name       TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The three rates of SPEC §3: in [0, 1), five decimals, summing to less than one.
CREATE DOMAIN rate AS NUMERIC(6, 5) CHECK (VALUE >= 0 AND VALUE < 1);

-- A plan's rates over time; the version in force at t is the latest with effective_from <= t.
CREATE TABLE rate_plan_versions (
    id                         BIGSERIAL PRIMARY KEY,
    rate_plan_id               BIGINT      NOT NULL REFERENCES rate_plans (id),
    bank_commission_rate       rate        NOT NULL,
    pay_platform_rate          rate        NOT NULL,
    liquidator_commission_rate rate        NOT NULL,
    effective_from             TIMESTAMPTZ NOT NULL,
    created_by                 TEXT        NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (bank_commission_rate + pay_platform_rate + liquidator_commission_rate < 1),
    UNIQUE (rate_plan_id, effective_from)
);

-- Apps call the gateway: a merchant's own app, or an ISV's app acting for the merchants it onboarded.
CREATE TABLE apps (
    id          BIGSERIAL PRIMARY KEY,
    app_id      TEXT        NOT NULL UNIQUE CHECK (app_id ~ '^[0-9]{16}$'),
    kind        TEXT        NOT NULL CHECK (kind IN ('merchant', 'isv')),
    merchant_id BIGINT,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    sign_type   TEXT        NOT NULL DEFAULT 'RSA2' CHECK (sign_type IN ('RSA2', 'RSA')),
    disabled_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'merchant') = (merchant_id IS NOT NULL))
);

-- An application and, once approved, the sub-merchant it became.
CREATE TABLE merchants (
    id                         BIGSERIAL PRIMARY KEY,
    state                      TEXT        NOT NULL DEFAULT 'draft' CHECK (state IN
        ('draft', 'submitted', 'verifying_account', 'in_review', 'approved', 'rejected', 'frozen', 'closed')),
    sub_merchant_id            TEXT UNIQUE CHECK (sub_merchant_id ~ '^[0-9]{20}$'),
    -- The ISV app that onboarded this merchant (NULL: onboarded by the provider's operators).
    owner_app_id               BIGINT REFERENCES apps (id),
    external_id                TEXT CHECK (external_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    legal_name                 TEXT        NOT NULL,
    short_name                 TEXT        NOT NULL,
    unified_social_credit_code TEXT        NOT NULL CHECK (unified_social_credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    legal_representative       TEXT        NOT NULL,
    contact_name               TEXT        NOT NULL,
    contact_mobile             TEXT        NOT NULL CHECK (contact_mobile ~ '^1[3-9][0-9]{9}$'),
    contact_email              TEXT        NOT NULL,
    business_category          TEXT        NOT NULL,
    site_name                  TEXT        NOT NULL,
    icp_filing_number          TEXT        NOT NULL,
    account_type               TEXT        NOT NULL CHECK (account_type IN ('corporate', 'personal')),
    account_holder             TEXT        NOT NULL,
    account_number             TEXT        NOT NULL CHECK (account_number ~ '^[0-9]{8,32}$'),
    bank_code                  TEXT        NOT NULL,
    branch_name                TEXT,
    cnaps_code                 TEXT CHECK (cnaps_code ~ '^[0-9]{12}$'),
    payout_schedule            TEXT        NOT NULL CHECK (payout_schedule IN ('daily', 'weekly', 'manual')),
    payout_weekday             TEXT,
    payout_cutoff              TEXT,
    approved_at                TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Seed 002: branch details are required for payouts to corporate accounts.
    CHECK (account_type = 'personal' OR (branch_name IS NOT NULL AND cnaps_code IS NOT NULL)),
    CHECK ((state IN ('approved', 'frozen')) <= (sub_merchant_id IS NOT NULL))
);
-- external_id is the ISV's own id: unique among the merchants of one owner.
CREATE UNIQUE INDEX merchants_owner_external_id_key
    ON merchants (coalesce(owner_app_id, 0), external_id) WHERE external_id IS NOT NULL;
CREATE INDEX merchants_state_idx ON merchants (state, id DESC);
CREATE TRIGGER merchants_updated_at BEFORE UPDATE ON merchants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE apps ADD CONSTRAINT apps_merchant_fk FOREIGN KEY (merchant_id) REFERENCES merchants (id);
CREATE UNIQUE INDEX apps_one_per_merchant ON apps (merchant_id) WHERE merchant_id IS NOT NULL;

-- Every state change: who, when, from, to, why. Append-only.
CREATE TABLE merchant_state_history (
    id          BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT      NOT NULL REFERENCES merchants (id),
    from_state  TEXT,
    to_state    TEXT        NOT NULL,
    transition  TEXT        NOT NULL,
    actor       TEXT        NOT NULL,
    reason      TEXT,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX merchant_state_history_merchant_idx ON merchant_state_history (merchant_id, id);
CREATE TRIGGER merchant_state_history_no_update BEFORE UPDATE OR DELETE ON merchant_state_history
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- A merchant's rates over time: a plan, or its own three rates.
CREATE TABLE merchant_rates (
    id                         BIGSERIAL PRIMARY KEY,
    merchant_id                BIGINT      NOT NULL REFERENCES merchants (id),
    rate_plan_id               BIGINT REFERENCES rate_plans (id),
    bank_commission_rate       rate,
    pay_platform_rate          rate,
    liquidator_commission_rate rate,
    effective_from             TIMESTAMPTZ NOT NULL,
    created_by                 TEXT        NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (
        (rate_plan_id IS NOT NULL AND bank_commission_rate IS NULL AND pay_platform_rate IS NULL
            AND liquidator_commission_rate IS NULL)
        OR (rate_plan_id IS NULL AND bank_commission_rate IS NOT NULL AND pay_platform_rate IS NOT NULL
            AND liquidator_commission_rate IS NOT NULL
            AND bank_commission_rate + pay_platform_rate + liquidator_commission_rate < 1)),
    UNIQUE (merchant_id, effective_from)
);

-- Bank-account verification by micro-deposit (seed 002): a random 0.01–0.99 yuan payout that the
-- merchant must name; three wrong answers fail it.
CREATE TABLE micro_deposits (
    id             BIGSERIAL PRIMARY KEY,
    merchant_id    BIGINT      NOT NULL REFERENCES merchants (id),
    amount_fen     BIGINT      NOT NULL CHECK (amount_fen BETWEEN 1 AND 99),
    out_trade_no   TEXT        NOT NULL UNIQUE,
    state          TEXT        NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'send_failed', 'verified', 'exhausted', 'cancelled')),
    wrong_answers  INTEGER     NOT NULL DEFAULT 0 CHECK (wrong_answers BETWEEN 0 AND 3),
    channel_reference TEXT,
    failure_reason TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at        TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ
);
-- At most one verification in progress per merchant.
CREATE UNIQUE INDEX micro_deposits_one_open ON micro_deposits (merchant_id) WHERE state IN ('pending', 'sent');

-- Public keys an app signs with. Two may be active at once, so a client can rotate without downtime.
CREATE TABLE app_keys (
    id             BIGSERIAL PRIMARY KEY,
    app_id         BIGINT      NOT NULL REFERENCES apps (id),
    public_key_pem TEXT        NOT NULL,
    fingerprint    TEXT        NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    bits           INTEGER     NOT NULL CHECK (bits >= 2048),
    revoked_at     TIMESTAMPTZ,
    created_by     TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (app_id, fingerprint)
);

-- The platform's own signing key pair; the private key is encrypted (AES-256-GCM) under the master key.
CREATE TABLE platform_keys (
    id                    BIGSERIAL PRIMARY KEY,
    public_key_pem        TEXT        NOT NULL,
    encrypted_private_key BYTEA       NOT NULL,
    nonce                 BYTEA       NOT NULL,
    fingerprint           TEXT        NOT NULL UNIQUE,
    active                BOOLEAN     NOT NULL DEFAULT true,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX platform_keys_one_active ON platform_keys (active) WHERE active;
