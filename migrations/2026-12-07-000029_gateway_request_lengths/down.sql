ALTER TABLE gateway_requests DROP COLUMN request_chars, DROP COLUMN reply_chars;
