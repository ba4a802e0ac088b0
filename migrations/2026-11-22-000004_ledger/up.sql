-- The commission ledger (SPEC §7): double-entry, append-only, balances kept beside the postings.
--
-- Every account belongs to one sub-merchant, the platform's accounts included: the platform's
-- `bank_commission_payable` is the sum of its per-merchant rows. So a booking never touches another
-- merchant's rows (no hot rows shared by every payment, and the tables shard by merchant), and the
-- reports add the rows up.

-- T+N: a merchant's paid orders become available N business days after the day they were paid.
ALTER TABLE merchants ADD COLUMN settlement_days SMALLINT NOT NULL DEFAULT 1 CHECK (settlement_days BETWEEN 1 AND 30);

CREATE TABLE ledger_accounts (
    id           BIGSERIAL PRIMARY KEY,
    merchant_id  BIGINT  NOT NULL REFERENCES merchants (id),
    kind         TEXT    NOT NULL CHECK (kind IN (
        'upstream_receivable', 'merchant_pending', 'merchant_available', 'merchant_payout_in_transit',
        'bank_commission_payable', 'pay_platform_fee_payable', 'liquidator_commission_revenue',
        'payout_fee_revenue', 'payout_clearing')),
    -- Assets grow with debits, everything else with credits; balance_fen is on the normal side.
    debit_normal BOOLEAN NOT NULL,
    balance_fen  BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (merchant_id, kind),
    CHECK (debit_normal = (kind = 'upstream_receivable')),
    -- What the platform holds for a merchant is never negative (SPEC §7: available never is).
    CHECK (kind NOT IN ('merchant_pending', 'merchant_available', 'merchant_payout_in_transit') OR balance_fen >= 0)
);

-- A day of business at the configured cut-off. Settlement of a day waits for its reconciliation,
-- unless an operator releases it (seed 000: settle on the platform's reconciled records).
CREATE TABLE business_days (
    business_date DATE PRIMARY KEY,
    reconciled_at TIMESTAMPTZ,
    released_at   TIMESTAMPTZ,
    released_by   TEXT,
    release_note  TEXT,
    CHECK ((released_at IS NULL) = (released_by IS NULL))
);

CREATE TABLE ledger_entries (
    id                BIGSERIAL PRIMARY KEY,
    -- Derived from the cause (`order:{trade_no}:paid`, `refund:{refund_no}`, …): a cause books once.
    idempotency_key   TEXT        NOT NULL UNIQUE,
    kind              TEXT        NOT NULL CHECK (kind IN (
        'order_paid', 'refund', 'settlement', 'payout_reserved', 'payout_succeeded', 'payout_failed',
        'payout_returned', 'reversal')),
    merchant_id       BIGINT      NOT NULL REFERENCES merchants (id),
    order_id          BIGINT REFERENCES orders (id),
    refund_id         BIGINT REFERENCES refunds (id),
    -- Payout orders arrive with the payout issue; the id is kept so their entries link to them.
    payout_id         BIGINT,
    reverses_entry_id BIGINT REFERENCES ledger_entries (id),
    business_date     DATE        NOT NULL,
    memo              TEXT,
    booked_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_merchant_idx ON ledger_entries (merchant_id, id);
CREATE INDEX ledger_entries_date_idx ON ledger_entries (business_date, kind);
CREATE INDEX ledger_entries_order_idx ON ledger_entries (order_id) WHERE order_id IS NOT NULL;
-- A merchant's statement reads its entries of a period.
CREATE INDEX ledger_entries_merchant_booked_idx ON ledger_entries (merchant_id, booked_at);

-- Debits are positive, credits negative: an entry balances when its postings sum to zero.
CREATE TABLE ledger_postings (
    id         BIGSERIAL PRIMARY KEY,
    entry_id   BIGINT NOT NULL REFERENCES ledger_entries (id),
    account_id BIGINT NOT NULL REFERENCES ledger_accounts (id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0)
);
CREATE INDEX ledger_postings_entry_idx ON ledger_postings (entry_id);
-- INCLUDE lets an account's running balance be summed from the index alone.
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_id, id) INCLUDE (amount_fen);

-- One settlement per merchant per business day; the orders it made available point at it.
CREATE TABLE settlements (
    id            BIGSERIAL PRIMARY KEY,
    merchant_id   BIGINT      NOT NULL REFERENCES merchants (id),
    business_date DATE        NOT NULL,
    amount_fen    BIGINT      NOT NULL CHECK (amount_fen >= 0),
    order_count   INTEGER     NOT NULL CHECK (order_count >= 0),
    entry_id      BIGINT REFERENCES ledger_entries (id),
    settled_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, business_date),
    CHECK ((amount_fen = 0) = (entry_id IS NULL))
);

-- The business day an order's payment belongs to, and the settlement that made it available.
ALTER TABLE orders ADD COLUMN paid_business_date DATE;
ALTER TABLE orders ADD COLUMN settlement_id BIGINT REFERENCES settlements (id);
ALTER TABLE orders ADD CONSTRAINT orders_paid_business_date CHECK ((paid_at IS NULL) = (paid_business_date IS NULL));
CREATE INDEX orders_unsettled_idx ON orders (paid_business_date, merchant_id)
    WHERE paid_business_date IS NOT NULL AND settlement_id IS NULL;

-- Entries and postings are never changed: corrections are reversing entries.
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE FUNCTION ledger_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % cannot be truncated', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();

-- Balances move only with postings: this trigger applies each statement's postings to the
-- balances (so a balance always equals the sum of its postings, whoever inserts them), and the
-- CHECKs above refuse a merchant balance going negative.
--
-- This function and ledger_check_entry below run `SET enable_seqscan = off`: a session keeps a
-- function's plans, and plans made while the ledger was small (a new ledger; no statistics at all
-- for a transition table) scan whole tables, hash-joining every account for each booking and
-- scanning every posting at each commit, and go on doing so as the tables grow. With the setting
-- they look rows up by index at any size.
CREATE FUNCTION ledger_apply_postings() RETURNS trigger AS $$
BEGIN
    UPDATE ledger_accounts AS a
       SET balance_fen = a.balance_fen + CASE WHEN a.debit_normal THEN d.delta_fen ELSE -d.delta_fen END
      FROM (SELECT account_id, sum(amount_fen) AS delta_fen FROM new_postings GROUP BY account_id) AS d
     WHERE a.id = d.account_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;
CREATE TRIGGER ledger_postings_apply AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_postings();

-- A balance is written only by the trigger above (nested, so depth > 1), never by hand.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger accounts are never deleted';
    END IF;
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'a ledger balance changes only by posting an entry';
    END IF;
    IF NEW.merchant_id <> OLD.merchant_id OR NEW.kind <> OLD.kind OR NEW.debit_normal <> OLD.debit_normal THEN
        RAISE EXCEPTION 'a ledger account never changes what it is';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
-- A new account starts at zero: a balance comes only from postings.
CREATE FUNCTION ledger_accounts_open_at_zero() RETURNS trigger AS $$
BEGIN
    IF NEW.balance_fen <> 0 THEN
        RAISE EXCEPTION 'a ledger account opens at zero';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_accounts_open_at_zero BEFORE INSERT ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_open_at_zero();

-- At commit, every entry a transaction wrote has at least two postings that sum to zero, all on
-- accounts of the entry's merchant. Deferred, so an entry and its postings go in as separate
-- statements; checked on both tables, so neither an entry without postings nor a stray posting
-- added later gets through.
CREATE FUNCTION ledger_check_entry(checked_entry_id BIGINT) RETURNS void AS $$
DECLARE
    posting_count INTEGER;
    total_fen     NUMERIC;
    foreign_count INTEGER;
BEGIN
    SELECT count(*), coalesce(sum(p.amount_fen), 0), count(*) FILTER (WHERE a.merchant_id <> e.merchant_id)
      INTO posting_count, total_fen, foreign_count
      FROM ledger_entries e
      JOIN ledger_postings p ON p.entry_id = e.id
      JOIN ledger_accounts a ON a.id = p.account_id
     WHERE e.id = checked_entry_id;
    IF posting_count < 2 THEN
        RAISE EXCEPTION 'ledger entry % has % posting(s); an entry needs at least two', checked_entry_id, posting_count
            USING ERRCODE = 'check_violation';
    END IF;
    IF total_fen <> 0 THEN
        RAISE EXCEPTION 'ledger entry % does not balance: debits minus credits = % fen', checked_entry_id, total_fen
            USING ERRCODE = 'check_violation';
    END IF;
    IF foreign_count > 0 THEN
        RAISE EXCEPTION 'ledger entry % posts to another merchant''s account', checked_entry_id
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE FUNCTION ledger_entries_balanced() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_balanced();

CREATE FUNCTION ledger_postings_balanced() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.entry_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- Catches a posting added to an entry of an earlier transaction, which the entry's own trigger
-- (fired once, at that earlier commit) would not see.
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION ledger_postings_balanced();
