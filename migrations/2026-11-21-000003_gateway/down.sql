DROP TABLE gateway_requests;
DROP TABLE channel_callbacks;
DROP TABLE notification_attempts;
DROP TABLE notifications;
DROP TABLE refunds;
DROP TRIGGER order_events_no_update ON order_events;
DROP TABLE order_events;
DROP TABLE orders;
