-- Where a sub-merchant's server hears of its scheduled payouts' results (a withdrawal's go to the
-- notify_url of its request). Set in the console or by `submerchant.bank.bind`; each payout keeps
-- the address it had when it was made.
ALTER TABLE merchants ADD COLUMN payout_notify_url TEXT CHECK (payout_notify_url ~ '^https?://');
