-- Back to 000024's rollups: a row per merchant, day, entry kind and account kind.
DROP INDEX ledger_entries_merchant_day_idx;
CREATE INDEX ledger_entries_merchant_booked_idx ON ledger_entries (merchant_id, booked_at);
DROP TRIGGER orders_count_days ON orders;
DROP FUNCTION orders_count_days();
DROP VIEW order_days_from_orders;
DROP TABLE order_days;
DROP VIEW ledger_platform_days_from_merchants;
DROP TABLE ledger_platform_days;
DROP VIEW ledger_merchant_days_from_ledger;
DROP TABLE ledger_merchant_days;

-- Rollups (issue 15): the ledger summed per merchant and business day, kept current by statement
-- triggers in the transaction of every booking, so the console's figures read a few rows per
-- merchant-day instead of every posting. A row belongs to one merchant, as its balances do: no
-- row is shared by every payment (platform-wide figures are sums over merchants). Derived data:
-- `liquidator rollups rebuild` writes them again from the ledger.

-- Per merchant, business day, entry kind and account kind: what the postings moved.
CREATE TABLE ledger_day_postings (
    merchant_id   BIGINT NOT NULL REFERENCES merchants (id),
    business_date DATE   NOT NULL,
    entry_kind    TEXT   NOT NULL,
    account_kind  TEXT   NOT NULL,
    debit_fen     BIGINT NOT NULL CHECK (debit_fen >= 0),
    credit_fen    BIGINT NOT NULL CHECK (credit_fen >= 0),
    postings      BIGINT NOT NULL CHECK (postings > 0),
    PRIMARY KEY (merchant_id, business_date, entry_kind, account_kind)
);
CREATE INDEX ledger_day_postings_by_day ON ledger_day_postings (business_date, account_kind, entry_kind)
    INCLUDE (merchant_id, debit_fen, credit_fen);

-- Per merchant, business day and entry kind: how many entries.
CREATE TABLE ledger_day_entries (
    merchant_id   BIGINT NOT NULL REFERENCES merchants (id),
    business_date DATE   NOT NULL,
    entry_kind    TEXT   NOT NULL,
    entries       BIGINT NOT NULL CHECK (entries > 0),
    PRIMARY KEY (merchant_id, business_date, entry_kind)
);
CREATE INDEX ledger_day_entries_by_day ON ledger_day_entries (business_date, entry_kind) INCLUDE (merchant_id, entries);

-- The balance trigger's function (000007's), now also rolling the statement's postings up: one
-- trigger call per statement, as before, with one more statement in it.
CREATE OR REPLACE FUNCTION ledger_apply_postings() RETURNS trigger AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT * INTO bad
      FROM (SELECT n.*, (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = n.entry_id) <> n.posting_count
                            AS posted_before
              FROM (SELECT p.entry_id, count(*) AS posting_count, sum(p.amount_fen) AS total_fen,
                           bool_or(e.id IS NULL) AS missing_entry,
                           count(*) FILTER (WHERE a.id IS NULL) AS unknown_accounts,
                           count(*) FILTER (WHERE a.merchant_id <> e.merchant_id) AS foreign_accounts
                      FROM new_postings p
                      LEFT JOIN ledger_entries e ON e.id = p.entry_id
                      LEFT JOIN ledger_accounts a ON a.id = p.account_id
                     GROUP BY p.entry_id) n) c
     WHERE c.missing_entry OR c.unknown_accounts > 0 OR c.posted_before OR c.posting_count < 2 OR c.total_fen <> 0
        OR c.foreign_accounts > 0
     LIMIT 1;
    IF FOUND THEN
        IF bad.missing_entry THEN
            RAISE EXCEPTION 'ledger posting for entry %, which does not exist', bad.entry_id
                USING ERRCODE = 'foreign_key_violation';
        ELSIF bad.unknown_accounts > 0 THEN
            RAISE EXCEPTION 'ledger entry % posts to an account that does not exist', bad.entry_id
                USING ERRCODE = 'foreign_key_violation';
        ELSIF bad.posted_before THEN
            RAISE EXCEPTION 'ledger entry % already has its postings; an entry is written in one statement', bad.entry_id
                USING ERRCODE = 'check_violation';
        ELSIF bad.posting_count < 2 THEN
            RAISE EXCEPTION 'ledger entry % has % posting(s); an entry needs at least two', bad.entry_id, bad.posting_count
                USING ERRCODE = 'check_violation';
        ELSIF bad.total_fen <> 0 THEN
            RAISE EXCEPTION 'ledger entry % does not balance: debits minus credits = % fen', bad.entry_id, bad.total_fen
                USING ERRCODE = 'check_violation';
        ELSE
            RAISE EXCEPTION 'ledger entry % posts to another merchant''s account', bad.entry_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- In account id order (a nested loop driven by the sorted deltas): bookings that did not lock
    -- their accounts first (paid orders) take the row locks here in the same order as everyone.
    UPDATE ledger_accounts AS a
       SET balance_fen = a.balance_fen + CASE WHEN a.debit_normal THEN d.delta_fen ELSE -d.delta_fen END
      FROM (SELECT account_id, sum(amount_fen) AS delta_fen FROM new_postings
             GROUP BY account_id ORDER BY account_id) AS d
     WHERE a.id = d.account_id;
    -- The rollups, in the same statement for both (an entry's postings are all written by the
    -- statement that writes it, so counting its distinct entries here counts each entry once), in
    -- merchant order, as balances are locked in account order.
    WITH grouped AS (
             SELECT e.merchant_id, e.business_date, e.kind AS entry_kind, a.kind AS account_kind,
                    COALESCE(sum(p.amount_fen) FILTER (WHERE p.amount_fen > 0), 0) AS debit_fen,
                    COALESCE(-sum(p.amount_fen) FILTER (WHERE p.amount_fen < 0), 0) AS credit_fen,
                    count(*) AS postings
               FROM new_postings p
               JOIN ledger_entries e ON e.id = p.entry_id
               JOIN ledger_accounts a ON a.id = p.account_id
              GROUP BY e.merchant_id, e.business_date, e.kind, a.kind),
         entries AS (
             INSERT INTO ledger_day_entries AS t (merchant_id, business_date, entry_kind, entries)
             SELECT e.merchant_id, e.business_date, e.kind, count(*)
               FROM ledger_entries e
              WHERE e.id IN (SELECT entry_id FROM new_postings)
              GROUP BY e.merchant_id, e.business_date, e.kind
              ORDER BY e.merchant_id, e.business_date, e.kind
             ON CONFLICT (merchant_id, business_date, entry_kind) DO UPDATE SET entries = t.entries + EXCLUDED.entries)
    INSERT INTO ledger_day_postings AS t
           (merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings)
    SELECT * FROM grouped ORDER BY merchant_id, business_date, entry_kind, account_kind
    ON CONFLICT (merchant_id, business_date, entry_kind, account_kind) DO UPDATE
       SET debit_fen = t.debit_fen + EXCLUDED.debit_fen,
           credit_fen = t.credit_fen + EXCLUDED.credit_fen,
           postings = t.postings + EXCLUDED.postings;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

-- The rollups of the ledger as it stands.
INSERT INTO ledger_day_postings (merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings)
SELECT e.merchant_id, e.business_date, e.kind, a.kind,
       COALESCE(sum(p.amount_fen) FILTER (WHERE p.amount_fen > 0), 0),
       COALESCE(-sum(p.amount_fen) FILTER (WHERE p.amount_fen < 0), 0),
       count(*)
  FROM ledger_postings p
  JOIN ledger_entries e ON e.id = p.entry_id
  JOIN ledger_accounts a ON a.id = p.account_id
 GROUP BY e.merchant_id, e.business_date, e.kind, a.kind;
INSERT INTO ledger_day_entries (merchant_id, business_date, entry_kind, entries)
SELECT merchant_id, business_date, kind, count(*) FROM ledger_entries GROUP BY merchant_id, business_date, kind;
