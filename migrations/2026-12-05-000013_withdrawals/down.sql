DROP INDEX payouts_out_withdraw_no;
ALTER TABLE payouts DROP CONSTRAINT payouts_withdrawal_number, DROP COLUMN notify_url, DROP COLUMN out_withdraw_no;
