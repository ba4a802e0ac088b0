DROP INDEX settlements_date_idx;
ALTER TABLE business_days DROP COLUMN settled_at;
DROP INDEX orders_paid_day_idx;
ALTER TABLE orders ADD COLUMN settlement_id BIGINT REFERENCES settlements (id);
UPDATE orders o SET settlement_id = s.id
  FROM settlements s
 WHERE s.merchant_id = o.merchant_id AND s.business_date = o.paid_business_date;
CREATE INDEX orders_unsettled_idx ON orders (paid_business_date, merchant_id)
    WHERE paid_business_date IS NOT NULL AND settlement_id IS NULL;
