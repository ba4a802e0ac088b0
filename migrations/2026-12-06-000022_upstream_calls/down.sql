DROP TABLE upstream_calls;
