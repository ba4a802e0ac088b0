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

-- After the balances (triggers of one event fire in name order: ..._apply, ..._roll_up), in
-- merchant order, as balances are locked in account order.
CREATE FUNCTION ledger_postings_roll_up() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_day_postings AS t
           (merchant_id, business_date, entry_kind, account_kind, debit_fen, credit_fen, postings)
    SELECT e.merchant_id, e.business_date, e.kind, a.kind,
           COALESCE(sum(p.amount_fen) FILTER (WHERE p.amount_fen > 0), 0),
           COALESCE(-sum(p.amount_fen) FILTER (WHERE p.amount_fen < 0), 0),
           count(*)
      FROM new_postings p
      JOIN ledger_entries e ON e.id = p.entry_id
      JOIN ledger_accounts a ON a.id = p.account_id
     GROUP BY e.merchant_id, e.business_date, e.kind, a.kind
     ORDER BY e.merchant_id, e.business_date, e.kind, a.kind
    ON CONFLICT (merchant_id, business_date, entry_kind, account_kind) DO UPDATE
       SET debit_fen = t.debit_fen + EXCLUDED.debit_fen,
           credit_fen = t.credit_fen + EXCLUDED.credit_fen,
           postings = t.postings + EXCLUDED.postings;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
CREATE TRIGGER ledger_postings_roll_up AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_roll_up();

CREATE FUNCTION ledger_entries_roll_up() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_day_entries AS t (merchant_id, business_date, entry_kind, entries)
    SELECT merchant_id, business_date, kind, count(*)
      FROM new_entries
     GROUP BY merchant_id, business_date, kind
     ORDER BY merchant_id, business_date, kind
    ON CONFLICT (merchant_id, business_date, entry_kind) DO UPDATE SET entries = t.entries + EXCLUDED.entries;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
CREATE TRIGGER ledger_entries_roll_up AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_roll_up();

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
