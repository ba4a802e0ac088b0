-- The channel a merchant's payouts go through (SPEC §6: each merchant is served by one channel, the
-- platform default unless set). NULL: the platform's `channel.payouts`.
ALTER TABLE merchants ADD COLUMN payout_channel TEXT CHECK (payout_channel ~ '^[a-z0-9_]{1,32}$');
