-- Settlement by merchant-day, without touching the orders (issue 5's settlement benchmark).
--
-- An order is settled when its merchant's business day is: the settlements row of
-- (merchant_id, paid_business_date) exists. Marking each order cost a non-HOT update of a wide
-- row (7 index entries) per order; a day's settlement now writes one row and one entry, whatever
-- the number of orders.
DROP INDEX orders_unsettled_idx;
ALTER TABLE orders DROP COLUMN settlement_id;

-- A day's paid orders by merchant: the settlement worker finds a day's merchants with one probe
-- each and sums a merchant's day from the index alone (its id, net and refunded amounts included).
CREATE INDEX orders_paid_day_idx ON orders (paid_business_date, merchant_id) INCLUDE (net_receipt_fen, refunded_fen, id)
    WHERE paid_business_date IS NOT NULL;

-- Set once every merchant with payments on the day has its settlement row: the worker no longer
-- looks at the day. No payment can be booked into such a day (orders::lifecycle books a late one
-- on the current day instead).
ALTER TABLE business_days ADD COLUMN settled_at TIMESTAMPTZ;

CREATE INDEX settlements_date_idx ON settlements (business_date);
