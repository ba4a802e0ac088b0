DROP TABLE payout_events;
DROP TABLE payouts;
DROP TABLE payout_run_skips;
DROP TABLE payout_runs;
DROP TABLE payout_stops;
DROP TABLE payout_schedules;
DROP TABLE payout_calendar_days;
