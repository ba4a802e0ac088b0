-- Back to 000026: the rollups written by every booking's trigger.
DROP VIEW ledger_merchant_days_now;
DROP VIEW ledger_merchant_days_from_ledger;
DROP FUNCTION ledger_merchant_days_of(BIGINT[]);
DROP VIEW ledger_entry_figures;

-- The figures, in two steps that the trigger (over a statement's new postings) and the view (over
-- the whole ledger) share: each entry's postings summed by account kind, then the entries summed
-- per merchant and day. Entries are counted by kind; fees are net on their normal (credit) side
-- over payments, refunds and their reversals (the upstream's settlement, which clears them, is
-- not counted); paid_out_fen is what succeeded payouts took out of the in-transit account.
CREATE VIEW ledger_merchant_days_from_ledger AS
    WITH per_entry AS (
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
             GROUP BY p.entry_id, e.merchant_id, e.business_date, e.kind)
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
      FROM per_entry
     GROUP BY merchant_id, business_date;

-- The balance trigger's function (000024's). Its first statement reads each new entry's postings
-- once, with their entries and accounts, for both its checks and the rollups' figures, which it
-- keeps in a variable; the balances are updated next (in account order, as before, so no booking
-- waits for a rollup row while holding an account another wants); then the rollups are upserted,
-- one row per merchant and day, in merchant order.
CREATE OR REPLACE FUNCTION ledger_apply_postings() RETURNS trigger AS $$
DECLARE
    bad_entry_id BIGINT;
    problem TEXT;
    bad_posting_count BIGINT;
    bad_total_fen NUMERIC;
    figures ledger_merchant_days[];
BEGIN
    WITH per_entry AS MATERIALIZED (
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
                   count(*) FILTER (WHERE a.kind = 'merchant_payout_in_transit') AS in_transit_postings,
                   count(*) AS posting_count, sum(p.amount_fen) AS total_fen,
                   bool_or(e.id IS NULL) AS missing_entry,
                   count(*) FILTER (WHERE a.id IS NULL) AS unknown_accounts,
                   count(*) FILTER (WHERE a.merchant_id <> e.merchant_id) AS foreign_accounts
              FROM new_postings p
              LEFT JOIN ledger_entries e ON e.id = p.entry_id
              LEFT JOIN ledger_accounts a ON a.id = p.account_id
             GROUP BY p.entry_id, e.merchant_id, e.business_date, e.kind),
         checked AS MATERIALIZED (
            SELECT n.*,
                   CASE WHEN n.missing_entry THEN 'missing entry'
                        WHEN n.unknown_accounts > 0 THEN 'unknown account'
                        WHEN (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = n.entry_id) <> n.posting_count
                            THEN 'posted before'
                        WHEN n.posting_count < 2 THEN 'too few postings'
                        WHEN n.total_fen <> 0 THEN 'unbalanced'
                        WHEN n.foreign_accounts > 0 THEN 'foreign account'
                   END AS problem
              FROM per_entry n)
    SELECT b.entry_id, b.problem, b.posting_count, b.total_fen,
           (SELECT array_agg(ROW(d.*)::ledger_merchant_days ORDER BY d.merchant_id, d.business_date)
              FROM (
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
                      FROM checked
                     GROUP BY merchant_id, business_date) d)
      INTO bad_entry_id, problem, bad_posting_count, bad_total_fen, figures
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT * FROM checked WHERE checked.problem IS NOT NULL LIMIT 1) b ON true;
    CASE problem
        WHEN 'missing entry' THEN
            RAISE EXCEPTION 'ledger posting for entry %, which does not exist', bad_entry_id
                USING ERRCODE = 'foreign_key_violation';
        WHEN 'unknown account' THEN
            RAISE EXCEPTION 'ledger entry % posts to an account that does not exist', bad_entry_id
                USING ERRCODE = 'foreign_key_violation';
        WHEN 'posted before' THEN
            RAISE EXCEPTION 'ledger entry % already has its postings; an entry is written in one statement', bad_entry_id
                USING ERRCODE = 'check_violation';
        WHEN 'too few postings' THEN
            RAISE EXCEPTION 'ledger entry % has % posting(s); an entry needs at least two', bad_entry_id, bad_posting_count
                USING ERRCODE = 'check_violation';
        WHEN 'unbalanced' THEN
            RAISE EXCEPTION 'ledger entry % does not balance: debits minus credits = % fen', bad_entry_id, bad_total_fen
                USING ERRCODE = 'check_violation';
        WHEN 'foreign account' THEN
            RAISE EXCEPTION 'ledger entry % posts to another merchant''s account', bad_entry_id
                USING ERRCODE = 'check_violation';
        ELSE
            NULL;
    END CASE;
    -- In account id order (a nested loop driven by the sorted deltas): bookings that did not lock
    -- their accounts first (paid orders) take the row locks here in the same order as everyone.
    UPDATE ledger_accounts AS a
       SET balance_fen = a.balance_fen + CASE WHEN a.debit_normal THEN d.delta_fen ELSE -d.delta_fen END
      FROM (SELECT account_id, sum(amount_fen) AS delta_fen FROM new_postings
             GROUP BY account_id ORDER BY account_id) AS d
     WHERE a.id = d.account_id;
    -- A summary of a day booked for now is no longer whole (after the job has finished with it).
    PERFORM pg_advisory_xact_lock_shared(1502, day - DATE '2000-01-01')
       FROM (SELECT DISTINCT f.business_date AS day FROM unnest(figures) f ORDER BY 1) days;
    DELETE FROM ledger_platform_days WHERE business_date IN (SELECT f.business_date FROM unnest(figures) f);
    -- unnest yields the rows in the array's order: by merchant and day.
    INSERT INTO ledger_merchant_days AS t
    SELECT * FROM unnest(figures)
    ON CONFLICT (merchant_id, business_date) DO UPDATE
               SET paid_orders = t.paid_orders + EXCLUDED.paid_orders,
                   refunds = t.refunds + EXCLUDED.refunds,
                   settlements = t.settlements + EXCLUDED.settlements,
                   payouts_succeeded = t.payouts_succeeded + EXCLUDED.payouts_succeeded,
                   paid_fen = t.paid_fen + EXCLUDED.paid_fen,
                   refunded_fen = t.refunded_fen + EXCLUDED.refunded_fen,
                   bank_commission_fen = t.bank_commission_fen + EXCLUDED.bank_commission_fen,
                   pay_platform_fen = t.pay_platform_fen + EXCLUDED.pay_platform_fen,
                   commission_debit_fen = t.commission_debit_fen + EXCLUDED.commission_debit_fen,
                   commission_credit_fen = t.commission_credit_fen + EXCLUDED.commission_credit_fen,
                   pending_debit_fen = t.pending_debit_fen + EXCLUDED.pending_debit_fen,
                   pending_credit_fen = t.pending_credit_fen + EXCLUDED.pending_credit_fen,
                   pending_postings = t.pending_postings + EXCLUDED.pending_postings,
                   available_debit_fen = t.available_debit_fen + EXCLUDED.available_debit_fen,
                   available_credit_fen = t.available_credit_fen + EXCLUDED.available_credit_fen,
                   available_postings = t.available_postings + EXCLUDED.available_postings,
                   in_transit_debit_fen = t.in_transit_debit_fen + EXCLUDED.in_transit_debit_fen,
                   in_transit_credit_fen = t.in_transit_credit_fen + EXCLUDED.in_transit_credit_fen,
                   in_transit_postings = t.in_transit_postings + EXCLUDED.in_transit_postings,
                   paid_out_fen = t.paid_out_fen + EXCLUDED.paid_out_fen;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

-- The rows of entries not folded yet: written again from the ledger (the job sums the days again).
DELETE FROM ledger_platform_days;
DELETE FROM ledger_merchant_days;
INSERT INTO ledger_merchant_days SELECT * FROM ledger_merchant_days_from_ledger;
DROP TABLE ledger_unfolded_entries;
