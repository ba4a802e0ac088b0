-- The history tables keep their states and steps to the same closed sets as the tables they
-- record (each is read into a Rust enum; a value outside the set would be a corrupt row).
ALTER TABLE order_events
    ADD CONSTRAINT order_events_from_state_check
        CHECK (from_state IN ('waiting', 'paid', 'partially_refunded', 'refunded', 'closed')),
    ADD CONSTRAINT order_events_to_state_check
        CHECK (to_state IN ('waiting', 'paid', 'partially_refunded', 'refunded', 'closed')),
    ADD CONSTRAINT order_events_cause_check
        CHECK (cause IN ('created', 'channel_callback', 'closed', 'expired', 'refund'));

ALTER TABLE merchant_state_history
    ADD CONSTRAINT merchant_state_history_from_state_check
        CHECK (from_state IN ('draft', 'submitted', 'verifying_account', 'in_review', 'approved', 'rejected',
                              'frozen', 'closed')),
    ADD CONSTRAINT merchant_state_history_to_state_check
        CHECK (to_state IN ('draft', 'submitted', 'verifying_account', 'in_review', 'approved', 'rejected',
                            'frozen', 'closed')),
    ADD CONSTRAINT merchant_state_history_transition_check
        CHECK (transition IN ('create', 'submit', 'start_verification', 'account_verified', 'verification_failed',
                              'request_changes', 'approve', 'reject', 'freeze', 'unfreeze', 'close'));
