-- Rollups, third form (issue 15): bookings no longer write them. The second form upserted a
-- merchant-day row in every booking's transaction, and `ledger_bench` lost 13% of its bookings
-- per second to it. Now a booking's statement trigger only notes its entries in
-- `ledger_unfolded_entries` (a plain insert into a table with no index), and a job folds the
-- noted entries into `ledger_merchant_days` about every second: one upsert per merchant-day for
-- all of that second's bookings. Readers add the figures of the entries not folded yet
-- (`ledger_merchant_days_now`), so what the console shows is exact at every moment, folded or not.
-- A fold deletes the entries it folds from the table and updates their rows in one transaction,
-- so a reader sees each entry once: noted, or folded.

CREATE TABLE ledger_unfolded_entries (
    entry_id BIGINT NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

-- Each entry's postings summed by account kind (what the rollups are made of). Fees are net on
-- their normal (credit) side; the merchant's accounts have debits, credits and postings.
CREATE VIEW ledger_entry_figures AS
    SELECT p.entry_id, e.merchant_id, e.business_date, e.kind,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'upstream_receivable'), 0) AS receivable_fen,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'bank_commission_payable'), 0) AS bank_fen,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'pay_platform_fee_payable'), 0) AS platform_fen,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'liquidator_commission_revenue' AND p.amount_fen > 0), 0)
               AS commission_debit_fen,
           COALESCE(-sum(p.amount_fen) FILTER (WHERE a.kind = 'liquidator_commission_revenue' AND p.amount_fen < 0), 0)
               AS commission_credit_fen,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_pending' AND p.amount_fen > 0), 0) AS pending_debit_fen,
           COALESCE(-sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_pending' AND p.amount_fen < 0), 0) AS pending_credit_fen,
           count(*) FILTER (WHERE a.kind = 'merchant_pending') AS pending_postings,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_available' AND p.amount_fen > 0), 0)
               AS available_debit_fen,
           COALESCE(-sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_available' AND p.amount_fen < 0), 0)
               AS available_credit_fen,
           count(*) FILTER (WHERE a.kind = 'merchant_available') AS available_postings,
           COALESCE(sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_payout_in_transit' AND p.amount_fen > 0), 0)
               AS in_transit_debit_fen,
           COALESCE(-sum(p.amount_fen) FILTER (WHERE a.kind = 'merchant_payout_in_transit' AND p.amount_fen < 0), 0)
               AS in_transit_credit_fen,
           count(*) FILTER (WHERE a.kind = 'merchant_payout_in_transit') AS in_transit_postings
      FROM ledger_postings p
      JOIN ledger_entries e ON e.id = p.entry_id
      JOIN ledger_accounts a ON a.id = p.account_id
     GROUP BY p.entry_id, e.merchant_id, e.business_date, e.kind;

-- The rollup rows of the given entries, per merchant and business day. Entries are counted by
-- kind; fees are net over payments, refunds and their reversals (the upstream's settlement, which
-- clears them, is not counted); paid_out_fen is what succeeded payouts took out of the in-transit
-- account.
CREATE FUNCTION ledger_merchant_days_of(entry_ids BIGINT[]) RETURNS SETOF ledger_merchant_days
    LANGUAGE sql STABLE ROWS 100 AS $$
    SELECT merchant_id, business_date,
           count(*) FILTER (WHERE kind = 'order_paid') AS paid_orders,
           count(*) FILTER (WHERE kind = 'refund') AS refunds,
           count(*) FILTER (WHERE kind = 'settlement') AS settlements,
           count(*) FILTER (WHERE kind = 'payout_succeeded') AS payouts_succeeded,
           COALESCE(sum(receivable_fen) FILTER (WHERE kind = 'order_paid'), 0)::bigint AS paid_fen,
           COALESCE(-sum(receivable_fen) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_fen,
           COALESCE(-sum(bank_fen) FILTER (WHERE kind IN ('order_paid', 'refund', 'reversal')), 0)::bigint
               AS bank_commission_fen,
           COALESCE(-sum(platform_fen) FILTER (WHERE kind IN ('order_paid', 'refund', 'reversal')), 0)::bigint
               AS pay_platform_fen,
           sum(commission_debit_fen)::bigint AS commission_debit_fen,
           sum(commission_credit_fen)::bigint AS commission_credit_fen,
           sum(pending_debit_fen)::bigint AS pending_debit_fen,
           sum(pending_credit_fen)::bigint AS pending_credit_fen,
           sum(pending_postings)::bigint AS pending_postings,
           sum(available_debit_fen)::bigint AS available_debit_fen,
           sum(available_credit_fen)::bigint AS available_credit_fen,
           sum(available_postings)::bigint AS available_postings,
           sum(in_transit_debit_fen)::bigint AS in_transit_debit_fen,
           sum(in_transit_credit_fen)::bigint AS in_transit_credit_fen,
           sum(in_transit_postings)::bigint AS in_transit_postings,
           COALESCE(sum(in_transit_credit_fen - in_transit_debit_fen) FILTER (WHERE kind = 'payout_succeeded'), 0)::bigint
               AS paid_out_fen
      FROM ledger_entry_figures
     WHERE entry_id = ANY (entry_ids)
     GROUP BY merchant_id, business_date
$$;

-- The whole ledger's rows (for the rebuild and the check): the function's sums over every entry
-- at once. Written out again because the function reads each entry by its index, which is right
-- for the few a fold or a reader asks for but took 25 s at 1M orders where this takes 3; and a
-- NULL branch in the function made the readers' generic plan read the whole ledger.
CREATE OR REPLACE VIEW ledger_merchant_days_from_ledger AS
    SELECT merchant_id, business_date,
           count(*) FILTER (WHERE kind = 'order_paid') AS paid_orders,
           count(*) FILTER (WHERE kind = 'refund') AS refunds,
           count(*) FILTER (WHERE kind = 'settlement') AS settlements,
           count(*) FILTER (WHERE kind = 'payout_succeeded') AS payouts_succeeded,
           COALESCE(sum(receivable_fen) FILTER (WHERE kind = 'order_paid'), 0)::bigint AS paid_fen,
           COALESCE(-sum(receivable_fen) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_fen,
           COALESCE(-sum(bank_fen) FILTER (WHERE kind IN ('order_paid', 'refund', 'reversal')), 0)::bigint
               AS bank_commission_fen,
           COALESCE(-sum(platform_fen) FILTER (WHERE kind IN ('order_paid', 'refund', 'reversal')), 0)::bigint
               AS pay_platform_fen,
           sum(commission_debit_fen)::bigint AS commission_debit_fen,
           sum(commission_credit_fen)::bigint AS commission_credit_fen,
           sum(pending_debit_fen)::bigint AS pending_debit_fen,
           sum(pending_credit_fen)::bigint AS pending_credit_fen,
           sum(pending_postings)::bigint AS pending_postings,
           sum(available_debit_fen)::bigint AS available_debit_fen,
           sum(available_credit_fen)::bigint AS available_credit_fen,
           sum(available_postings)::bigint AS available_postings,
           sum(in_transit_debit_fen)::bigint AS in_transit_debit_fen,
           sum(in_transit_credit_fen)::bigint AS in_transit_credit_fen,
           sum(in_transit_postings)::bigint AS in_transit_postings,
           COALESCE(sum(in_transit_credit_fen - in_transit_debit_fen) FILTER (WHERE kind = 'payout_succeeded'), 0)::bigint
               AS paid_out_fen
      FROM ledger_entry_figures
     GROUP BY merchant_id, business_date;

-- What readers read: the folded rows and those of the entries not folded yet. A merchant-day can
-- have a row of each, so readers sum (or count distinct merchants), never take one row as whole.
CREATE VIEW ledger_merchant_days_now AS
    SELECT * FROM ledger_merchant_days
    UNION ALL
    SELECT * FROM ledger_merchant_days_of(ARRAY(SELECT entry_id FROM ledger_unfolded_entries));

-- The balance trigger's function as before the rollups (000007's checks), noting the entries.
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
    -- The job folds them into the rollups (storage::ledger_rollups::fold).
    INSERT INTO ledger_unfolded_entries (entry_id) SELECT DISTINCT entry_id FROM new_postings;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
