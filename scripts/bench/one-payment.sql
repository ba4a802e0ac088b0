-- One payment booked per transaction (an order_paid entry and its five postings, as `ledger::post`
-- writes them) for a random merchant of a console_bench database, for pgbench: the cost of the
-- balance trigger per booking without the recorder's batching. See BENCHMARKS.md.
-- Run with the business day to book on (the database's last, not yet settled) as -D day=YYYYMMDD.
\set m random(1, 1000)
\set n random(1, 2000000000)
WITH e AS (INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date) VALUES ('pb:' || :n || ':' || :client_id || ':' || txid_current(), 'order_paid', :m, to_date(:day::text, 'YYYYMMDD')) RETURNING id, merchant_id) INSERT INTO ledger_postings (entry_id, account_id, amount_fen) SELECT e.id, a.id, CASE a.kind WHEN 'upstream_receivable' THEN 1000 WHEN 'merchant_pending' THEN -985 ELSE -5 END FROM e JOIN ledger_accounts a ON a.merchant_id = e.merchant_id AND a.kind IN ('upstream_receivable','merchant_pending','bank_commission_payable','pay_platform_fee_payable','liquidator_commission_revenue');
