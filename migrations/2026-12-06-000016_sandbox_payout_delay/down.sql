ALTER TABLE sandbox_payouts DROP COLUMN shows_at;
