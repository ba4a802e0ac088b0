-- Cheaper paid-order bookings (issue 5's benchmark), with nothing less checked. Measured with a
-- profile of PostgreSQL under `ledger_bench`: re-checking the orders' fixed columns on every state
-- change, a trigger call per row for `updated_at`, and a commit-time trigger per ledger entry.

-- 1. The orders' fixed columns are checked by domains instead of table CHECKs. PostgreSQL runs
--    every table CHECK on every UPDATE, whatever it changes, and first rebuilds each from its
--    stored form once per statement: a payment re-ran four regular expressions and seven other
--    checks on columns it never touches. A domain's CHECK runs when a value is written to the
--    column (every INSERT, and an UPDATE that sets it), so these columns are still never wrong.
CREATE DOMAIN order_trade_no AS TEXT CHECK (VALUE ~ '^[0-9]{28}$');
CREATE DOMAIN order_out_trade_no AS TEXT CHECK (VALUE ~ '^[A-Za-z0-9_]{1,64}$');
CREATE DOMAIN order_body AS TEXT CHECK (length(VALUE) BETWEEN 1 AND 128);
CREATE DOMAIN order_total_fen AS BIGINT CHECK (VALUE BETWEEN 1 AND 10000000000);
CREATE DOMAIN order_type_code AS SMALLINT CHECK (VALUE IN (0, 1));
CREATE DOMAIN order_notify_url AS TEXT CHECK (length(VALUE) <= 256);
CREATE DOMAIN order_cashier_code AS TEXT CHECK (VALUE ~ '^[a-z0-9]{14,32}$');
CREATE DOMAIN nonnegative_fen AS BIGINT CHECK (VALUE >= 0);

ALTER TABLE orders
    DROP CONSTRAINT orders_trade_no_check,
    DROP CONSTRAINT orders_out_trade_no_check,
    DROP CONSTRAINT orders_body_check,
    DROP CONSTRAINT orders_total_fee_fen_check,
    DROP CONSTRAINT orders_order_type_check,
    DROP CONSTRAINT orders_notify_url_check,
    DROP CONSTRAINT orders_cashier_code_check,
    DROP CONSTRAINT orders_bank_commission_fen_check,
    DROP CONSTRAINT orders_pay_platform_fen_check,
    DROP CONSTRAINT orders_liquidator_commission_fen_check,
    DROP CONSTRAINT orders_net_receipt_fen_check,
    ALTER COLUMN trade_no TYPE order_trade_no,
    ALTER COLUMN out_trade_no TYPE order_out_trade_no,
    ALTER COLUMN body TYPE order_body,
    ALTER COLUMN total_fee_fen TYPE order_total_fen,
    ALTER COLUMN order_type TYPE order_type_code,
    ALTER COLUMN notify_url TYPE order_notify_url,
    ALTER COLUMN cashier_code TYPE order_cashier_code,
    ALTER COLUMN bank_commission_fen TYPE nonnegative_fen,
    ALTER COLUMN pay_platform_fen TYPE nonnegative_fen,
    ALTER COLUMN liquidator_commission_fen TYPE nonnegative_fen,
    ALTER COLUMN net_receipt_fen TYPE nonnegative_fen;

-- 2. `updated_at` is stamped by the trigger only when the statement did not set it: the payment
--    statement sets it itself, and a row trigger call per paid order is saved.
DROP TRIGGER orders_updated_at ON orders;
CREATE TRIGGER orders_updated_at BEFORE UPDATE ON orders FOR EACH ROW
    WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
    EXECUTE FUNCTION set_updated_at();

-- 3. An entry and its postings are written in one statement, and checked at its end instead of
--    at commit: once per statement over the statement's new entries, instead of a deferred
--    trigger call with two queries per entry. What is refused is unchanged, and one thing more: an
--    entry inserted by one statement and given its postings by the next (the ledger never does
--    that) is refused at once.
DROP TRIGGER ledger_entries_complete ON ledger_entries;
DROP FUNCTION ledger_entries_complete();

CREATE FUNCTION ledger_entries_posted() RETURNS trigger AS $$
DECLARE
    bare BIGINT;
BEGIN
    SELECT e.id INTO bare FROM new_entries e
     WHERE NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.entry_id = e.id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % has 0 posting(s); an entry needs at least two, written by the statement that inserts it', bare
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
CREATE TRIGGER ledger_entries_posted AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_posted();

-- The settled-day rule that was checked at commit, now at the end of every statement that writes
-- postings: a payment is never booked on a business day already settled for its merchant. Its own
-- trigger, which PostgreSQL fires after ledger_postings_apply (same event: name order), so after
-- the balances are updated:
-- * A settlement locks the merchant's pending balance before it reads what is owed and holds it
--   until it commits, so a payment racing it waits at that balance update and then sees its
--   settlement row here (each statement of a function reads a fresh snapshot); or the settlement
--   waits for the payment and counts it.
-- * A day marked settled as a whole (its merchants without payments on it have no settlement row)
--   is guarded by an advisory lock on the day: shared here until the payment commits, exclusive
--   while storage::settlements::mark_days_settled marks it (class 5009, the day as days since
--   2000-01-01), which waits for payments in flight and looks again.
CREATE FUNCTION ledger_postings_settled_day() RETURNS trigger AS $$
DECLARE
    settled RECORD;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(5009, d.business_date - DATE '2000-01-01')
       FROM (SELECT DISTINCT e.business_date FROM ledger_entries e
              WHERE e.id IN (SELECT entry_id FROM new_postings) AND e.kind = 'order_paid'
              ORDER BY e.business_date) d;
    SELECT e.merchant_id, e.business_date INTO settled
      FROM ledger_entries e
     WHERE e.id IN (SELECT entry_id FROM new_postings) AND e.kind = 'order_paid'
       AND (EXISTS (SELECT 1 FROM settlements s
                     WHERE s.merchant_id = e.merchant_id AND s.business_date = e.business_date)
            OR EXISTS (SELECT 1 FROM business_days d
                        WHERE d.business_date = e.business_date AND d.settled_at IS NOT NULL))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'business day % is already settled for merchant %: a payment cannot be booked on it',
            settled.business_date, settled.merchant_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
CREATE TRIGGER ledger_postings_settled_day AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_settled_day();
