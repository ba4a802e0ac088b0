DROP TABLE upstream_orders;
DROP TABLE upstream_merchants;
ALTER TABLE merchants DROP COLUMN pay_in_channel;
