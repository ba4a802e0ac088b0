ALTER TABLE merchants DROP COLUMN payout_notify_url;
