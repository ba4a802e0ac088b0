DROP TABLE jobs;
DROP TABLE platform_settings;
DROP TABLE login_attempts;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_is_append_only();
DROP TABLE audit_log;
DROP TABLE operators;
DROP FUNCTION set_updated_at();
