-- Foundation: console operators, the audit log, sign-in attempts, platform settings and the job queue.

-- Keeps updated_at honest without trusting every writer to remember it.
CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE operators (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('viewer', 'operator', 'finance', 'admin')),
    disabled_at   TIMESTAMPTZ,
    -- Sessions carry the epoch they were issued in; bumping it (sign-out, password reset)
    -- revokes every session of the operator even though the tokens are stateless.
    session_epoch INTEGER     NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT operators_username_format CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,31}$')
);
CREATE UNIQUE INDEX operators_username_key ON operators (username);
CREATE TRIGGER operators_updated_at BEFORE UPDATE ON operators
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only record of every state-changing action, console or CLI.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    operator_id BIGINT REFERENCES operators (id),
    actor       TEXT        NOT NULL,
    action      TEXT        NOT NULL,
    target      TEXT        NOT NULL,
    before      JSONB,
    after       JSONB,
    client_ip   TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_operator_idx ON audit_log (operator_id, at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- Sign-in attempts: the durable record behind login throttling when Redis is down.
CREATE TABLE login_attempts (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    username  TEXT        NOT NULL,
    client_ip TEXT        NOT NULL,
    succeeded BOOLEAN     NOT NULL
);
CREATE INDEX login_attempts_username_at_idx ON login_attempts (username, at DESC);
CREATE INDEX login_attempts_client_ip_at_idx ON login_attempts (client_ip, at DESC);

-- Platform-wide values generated once and shared by every node (e.g. the session signing secret).
CREATE TABLE platform_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The background job queue. Workers claim due rows with FOR UPDATE SKIP LOCKED and take a lease
-- (locked_until) so that no transaction stays open while a job talks to the outside world.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT        NOT NULL,
    payload      JSONB       NOT NULL DEFAULT '{}'::jsonb,
    -- Makes enqueueing idempotent, e.g. one job per schedule slot across every node.
    unique_key   TEXT,
    run_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until TIMESTAMPTZ,
    attempts     INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER     NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    last_error   TEXT,
    failed_at    TIMESTAMPTZ,
    -- Finished jobs stay a while so a unique_key (a schedule slot) cannot be enqueued twice.
    completed_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE failed_at IS NULL AND completed_at IS NULL;
