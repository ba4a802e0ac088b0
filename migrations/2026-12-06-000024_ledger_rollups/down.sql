-- ledger_apply_postings as 000007 left it.
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
DROP TABLE ledger_day_entries;
DROP TABLE ledger_day_postings;
