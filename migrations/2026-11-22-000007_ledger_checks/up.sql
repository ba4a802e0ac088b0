-- The ledger's invariants, checked once per statement and once per entry instead of once per
-- posting (issue 5's bookings benchmark: six commit-time checks and ten foreign-key lookups per
-- paid order were a third of its database time). What is refused is unchanged, and one more
-- thing is: postings added to an entry by a later statement.
--
-- The rules now:
-- * An entry's postings are written in one statement, the statement that may also insert the
--   entry (they are the entry: a later statement cannot add to it, in this transaction or any
--   other). Checked at the end of each statement that inserts postings, with the balances: every
--   entry it posts to exists, gets at least two postings that sum to zero, all on existing
--   accounts of the entry's merchant, and had none before.
-- * At commit (deferred, per entry): every entry has postings, so an entry without any is refused;
--   and a payment is never booked on a business day already settled for its merchant (a payment
--   racing the settlement at the cut-off, or a late one, fails and its callback is retried).
--   `SET CONSTRAINTS … IMMEDIATE` only moves that check earlier: an entry inserted alone is then
--   refused at once, and its postings cannot follow in another statement.
-- * The foreign keys of ledger_postings go (and two of its indexes, below): the statement check above looks up every entry and
--   account anyway, and neither entries nor accounts can ever be deleted (triggers below and in
--   000004), so a posting cannot come to point at nothing.

DROP TRIGGER ledger_postings_balanced ON ledger_postings;
DROP FUNCTION ledger_postings_balanced();
DROP TRIGGER ledger_entries_balanced ON ledger_entries;
DROP FUNCTION ledger_entries_balanced();
DROP FUNCTION ledger_check_entry(BIGINT);
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_entry_id_fkey;
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_account_id_fkey;

-- Fewer index entries per booking: a posting is found by its entry through the primary key
-- (entry_id, id) instead of a key of its own plus an entry index; a merchant's entries are read by
-- period (ledger_entries_merchant_booked_idx), never by id alone.
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_pkey;
DROP INDEX ledger_postings_entry_idx;
ALTER TABLE ledger_postings ADD PRIMARY KEY (entry_id, id);
DROP INDEX ledger_entries_merchant_idx;

CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();

-- Once per INSERT statement on ledger_postings: check the statement's entries, then apply the
-- postings to the balances (the CHECKs on ledger_accounts refuse a merchant balance below zero).
-- Nested loops only: a transition table has no statistics, and the planner, guessing, hashed the
-- whole accounts table for every batch of bookings.
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
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

-- At commit, once per entry.
CREATE FUNCTION ledger_entries_complete() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger entry % has 0 posting(s); an entry needs at least two', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'order_paid' AND (
           EXISTS (SELECT 1 FROM settlements
                    WHERE merchant_id = NEW.merchant_id AND business_date = NEW.business_date)
        OR EXISTS (SELECT 1 FROM business_days
                    WHERE business_date = NEW.business_date AND settled_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'business day % is already settled for merchant %: a payment cannot be booked on it',
            NEW.business_date, NEW.merchant_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;
CREATE CONSTRAINT TRIGGER ledger_entries_complete AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_complete();

-- The account guard, with its common case (the balance trigger's own update) decided by the
-- trigger's WHEN clause, without calling the function: pg_trigger_depth() is 1 inside
-- ledger_apply_postings, 0 for a statement written by hand.
DROP TRIGGER ledger_accounts_guard ON ledger_accounts;
CREATE TRIGGER ledger_accounts_guard_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
CREATE TRIGGER ledger_accounts_guard_update BEFORE UPDATE ON ledger_accounts
    FOR EACH ROW
    WHEN (pg_trigger_depth() < 1 OR NEW.merchant_id <> OLD.merchant_id OR NEW.kind <> OLD.kind
          OR NEW.debit_normal <> OLD.debit_normal)
    EXECUTE FUNCTION ledger_accounts_guard();
