DROP TABLE rate_plan_payout_defaults;
