-- A merchant-day's paid_out_fen is what payouts that succeeded took out of the merchant's
-- in-transit account: its debits less its credits by payout_succeeded (the account is on the
-- credit side, and a success debits it). 000026 and 000027 took credits less debits, so the figure
-- was negative; nothing read it yet. The same definitions with the sign mended, and the rows kept
-- so far turned over.
CREATE OR REPLACE FUNCTION ledger_merchant_days_of(entry_ids BIGINT[]) RETURNS SETOF ledger_merchant_days
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
           COALESCE(sum(in_transit_debit_fen - in_transit_credit_fen) FILTER (WHERE kind = 'payout_succeeded'), 0)::bigint
               AS paid_out_fen
      FROM ledger_entry_figures
     WHERE entry_id = ANY (entry_ids)
     GROUP BY merchant_id, business_date
$$;

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
           COALESCE(sum(in_transit_debit_fen - in_transit_credit_fen) FILTER (WHERE kind = 'payout_succeeded'), 0)::bigint
               AS paid_out_fen
      FROM ledger_entry_figures
     GROUP BY merchant_id, business_date;

UPDATE ledger_merchant_days SET paid_out_fen = -paid_out_fen WHERE paid_out_fen <> 0;
UPDATE ledger_merchant_weeks SET paid_out_fen = -paid_out_fen WHERE paid_out_fen <> 0;
UPDATE ledger_platform_days SET paid_out_fen = -paid_out_fen WHERE paid_out_fen <> 0;
