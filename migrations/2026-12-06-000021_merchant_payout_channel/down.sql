ALTER TABLE merchants DROP COLUMN payout_channel;
