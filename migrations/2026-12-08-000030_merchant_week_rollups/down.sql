DROP VIEW ledger_merchant_weeks_from_days;
DROP TABLE ledger_merchant_weeks;
