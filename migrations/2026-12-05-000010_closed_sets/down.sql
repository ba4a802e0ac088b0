ALTER TABLE merchant_state_history
    DROP CONSTRAINT merchant_state_history_transition_check,
    DROP CONSTRAINT merchant_state_history_to_state_check,
    DROP CONSTRAINT merchant_state_history_from_state_check;

ALTER TABLE order_events
    DROP CONSTRAINT order_events_cause_check,
    DROP CONSTRAINT order_events_to_state_check,
    DROP CONSTRAINT order_events_from_state_check;
