-- Rollups per merchant and week (issue 15). Commission by merchant over a range summed the
-- merchants' day rows of the whole range: 90,000 rows for 90 days of 1,000 merchants, whatever
-- the orders, and grouping them was 20 of the 25 ms of the query. A range now reads its whole
-- weeks here and only its ragged ends (at most six days at each end) from the days: about 19,000
-- rows for 90 days. The fold keeps them in the same transaction as the days (the figures of the
-- entries it folds, summed per week), so a week is always the sum of its days; no booking writes
-- them.
CREATE TABLE ledger_merchant_weeks (LIKE ledger_merchant_days INCLUDING DEFAULTS);
ALTER TABLE ledger_merchant_weeks RENAME COLUMN business_date TO week_start;
ALTER TABLE ledger_merchant_weeks
    ADD PRIMARY KEY (merchant_id, week_start),
    ADD FOREIGN KEY (merchant_id) REFERENCES merchants (id),
    -- A week starts on a Monday.
    ADD CHECK (extract(isodow FROM week_start) = 1);
CREATE INDEX ledger_merchant_weeks_by_week ON ledger_merchant_weeks (week_start);

-- The weeks as the merchants' (folded) days sum them: what the rebuild writes, what the check
-- compares, and what fills the table now.
CREATE VIEW ledger_merchant_weeks_from_days AS
    SELECT merchant_id, date_trunc('week', business_date::timestamp)::date AS week_start,
           sum(paid_orders)::bigint AS paid_orders, sum(refunds)::bigint AS refunds,
           sum(settlements)::bigint AS settlements, sum(payouts_succeeded)::bigint AS payouts_succeeded,
           sum(paid_fen)::bigint AS paid_fen, sum(refunded_fen)::bigint AS refunded_fen,
           sum(bank_commission_fen)::bigint AS bank_commission_fen, sum(pay_platform_fen)::bigint AS pay_platform_fen,
           sum(commission_debit_fen)::bigint AS commission_debit_fen,
           sum(commission_credit_fen)::bigint AS commission_credit_fen,
           sum(pending_debit_fen)::bigint AS pending_debit_fen, sum(pending_credit_fen)::bigint AS pending_credit_fen,
           sum(pending_postings)::bigint AS pending_postings,
           sum(available_debit_fen)::bigint AS available_debit_fen,
           sum(available_credit_fen)::bigint AS available_credit_fen,
           sum(available_postings)::bigint AS available_postings,
           sum(in_transit_debit_fen)::bigint AS in_transit_debit_fen,
           sum(in_transit_credit_fen)::bigint AS in_transit_credit_fen,
           sum(in_transit_postings)::bigint AS in_transit_postings, sum(paid_out_fen)::bigint AS paid_out_fen
      FROM ledger_merchant_days
     GROUP BY 1, 2;

INSERT INTO ledger_merchant_weeks SELECT * FROM ledger_merchant_weeks_from_days;
