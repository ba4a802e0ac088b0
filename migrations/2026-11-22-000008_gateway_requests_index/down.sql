CREATE INDEX gateway_requests_at_idx ON gateway_requests (id DESC);
