DROP TRIGGER ledger_accounts_guard_update ON ledger_accounts;
DROP TRIGGER ledger_accounts_guard_delete ON ledger_accounts;
CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
DROP TRIGGER ledger_entries_complete ON ledger_entries;
DROP FUNCTION ledger_entries_complete();
DROP TRIGGER ledger_accounts_no_truncate ON ledger_accounts;
CREATE INDEX ledger_entries_merchant_idx ON ledger_entries (merchant_id, id);
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_pkey;
ALTER TABLE ledger_postings ADD PRIMARY KEY (id);
CREATE INDEX ledger_postings_entry_idx ON ledger_postings (entry_id);

CREATE OR REPLACE FUNCTION ledger_apply_postings() RETURNS trigger AS $$
BEGIN
    UPDATE ledger_accounts AS a
       SET balance_fen = a.balance_fen + CASE WHEN a.debit_normal THEN d.delta_fen ELSE -d.delta_fen END
      FROM (SELECT account_id, sum(amount_fen) AS delta_fen FROM new_postings GROUP BY account_id) AS d
     WHERE a.id = d.account_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_entry_id_fkey
    FOREIGN KEY (entry_id) REFERENCES ledger_entries (id);
ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES ledger_accounts (id);

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
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION ledger_postings_balanced();
