DROP INDEX refunds_pending;
ALTER TABLE order_events DROP CONSTRAINT order_events_cause_check,
    ADD CONSTRAINT order_events_cause_check
        CHECK (cause IN ('created', 'channel_callback', 'closed', 'expired', 'refund'));
ALTER TABLE refunds DROP COLUMN channel_refund_no;
DROP TABLE upstream_orders;
DROP TABLE upstream_merchants;
ALTER TABLE merchants DROP COLUMN pay_in_channel;
