-- The request log's newest-first listing is served by its primary key read backwards; this index
-- duplicated it and cost every gateway call one more index entry.
DROP INDEX gateway_requests_at_idx;
