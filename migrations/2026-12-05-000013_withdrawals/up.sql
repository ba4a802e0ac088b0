-- Withdrawals (`witness.withdraw`): payout orders a merchant's app asks for, idempotent on the
-- app's `out_withdraw_no` (unique per merchant), with the address to tell the result to.
ALTER TABLE payouts
    ADD COLUMN out_withdraw_no TEXT,
    ADD COLUMN notify_url      TEXT,
    ADD CONSTRAINT payouts_withdrawal_number CHECK ((kind = 'withdrawal') = (out_withdraw_no IS NOT NULL));
CREATE UNIQUE INDEX payouts_out_withdraw_no ON payouts (merchant_id, out_withdraw_no) WHERE out_withdraw_no IS NOT NULL;
