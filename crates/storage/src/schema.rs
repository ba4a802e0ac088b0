// @generated automatically by Diesel CLI.

diesel::table! {
    app_keys (id) {
        id -> Int8,
        app_id -> Int8,
        public_key_pem -> Text,
        fingerprint -> Text,
        bits -> Int4,
        revoked_at -> Nullable<Timestamptz>,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    apps (id) {
        id -> Int8,
        app_id -> Text,
        kind -> Text,
        merchant_id -> Nullable<Int8>,
        name -> Text,
        sign_type -> Text,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        operator_id -> Nullable<Int8>,
        actor -> Text,
        action -> Text,
        target -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    business_days (business_date) {
        business_date -> Date,
        reconciled_at -> Nullable<Timestamptz>,
        released_at -> Nullable<Timestamptz>,
        released_by -> Nullable<Text>,
        release_note -> Nullable<Text>,
        settled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    channel_callbacks (id) {
        id -> Int8,
        channel -> Text,
        trade_no -> Nullable<Text>,
        payload -> Jsonb,
        outcome -> Text,
        needs_attention -> Bool,
        resolved_by -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    gateway_requests (id) {
        id -> Int8,
        at -> Timestamptz,
        app_id -> Nullable<Text>,
        method -> Nullable<Text>,
        trade_no -> Nullable<Text>,
        request -> Text,
        reply -> Text,
        success -> Bool,
        error_code -> Nullable<Text>,
        latency_ms -> Int4,
        client_ip -> Nullable<Text>,
        request_chars -> Nullable<Int4>,
        reply_chars -> Nullable<Int4>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        unique_key -> Nullable<Text>,
        run_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        max_attempts -> Int4,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> Int8,
        merchant_id -> Int8,
        kind -> Text,
        debit_normal -> Bool,
        balance_fen -> Int8,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Int8,
        idempotency_key -> Text,
        kind -> Text,
        merchant_id -> Int8,
        order_id -> Nullable<Int8>,
        refund_id -> Nullable<Int8>,
        payout_id -> Nullable<Int8>,
        reverses_entry_id -> Nullable<Int8>,
        business_date -> Date,
        memo -> Nullable<Text>,
        booked_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_postings (entry_id, id) {
        id -> Int8,
        entry_id -> Int8,
        account_id -> Int8,
        amount_fen -> Int8,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Int8,
        at -> Timestamptz,
        username -> Text,
        client_ip -> Text,
        succeeded -> Bool,
    }
}

diesel::table! {
    merchant_rates (id) {
        id -> Int8,
        merchant_id -> Int8,
        rate_plan_id -> Nullable<Int8>,
        bank_commission_rate -> Nullable<Numeric>,
        pay_platform_rate -> Nullable<Numeric>,
        liquidator_commission_rate -> Nullable<Numeric>,
        effective_from -> Timestamptz,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    merchant_state_history (id) {
        id -> Int8,
        merchant_id -> Int8,
        from_state -> Nullable<Text>,
        to_state -> Text,
        transition -> Text,
        actor -> Text,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    merchants (id) {
        id -> Int8,
        state -> Text,
        sub_merchant_id -> Nullable<Text>,
        owner_app_id -> Nullable<Int8>,
        external_id -> Nullable<Text>,
        legal_name -> Text,
        short_name -> Text,
        unified_social_credit_code -> Text,
        legal_representative -> Text,
        contact_name -> Text,
        contact_mobile -> Text,
        contact_email -> Text,
        business_category -> Text,
        site_name -> Text,
        icp_filing_number -> Text,
        account_type -> Text,
        account_holder -> Text,
        account_number -> Text,
        bank_code -> Text,
        branch_name -> Nullable<Text>,
        cnaps_code -> Nullable<Text>,
        payout_schedule -> Text,
        payout_weekday -> Nullable<Text>,
        payout_cutoff -> Nullable<Text>,
        approved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        settlement_days -> Int2,
        payout_notify_url -> Nullable<Text>,
        payout_channel -> Nullable<Text>,
        pay_in_channel -> Nullable<Text>,
    }
}

diesel::table! {
    micro_deposits (id) {
        id -> Int8,
        merchant_id -> Int8,
        amount_fen -> Int8,
        out_trade_no -> Text,
        state -> Text,
        wrong_answers -> Int4,
        channel_reference -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        payout_id -> Nullable<Int8>,
    }
}

diesel::table! {
    notification_attempts (id) {
        id -> Int8,
        notification_id -> Int8,
        at -> Timestamptz,
        http_status -> Nullable<Int4>,
        body_excerpt -> Nullable<Text>,
        error -> Nullable<Text>,
        latency_ms -> Int4,
        delivered -> Bool,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        kind -> Text,
        order_id -> Nullable<Int8>,
        app_id -> Int8,
        url -> Text,
        fields -> Jsonb,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        first_attempt_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    operators (id) {
        id -> Int8,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        disabled_at -> Nullable<Timestamptz>,
        session_epoch -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    order_events (id) {
        id -> Int8,
        order_id -> Int8,
        from_state -> Nullable<Text>,
        to_state -> Text,
        cause -> Text,
        detail -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    orders (id) {
        id -> Int8,
        trade_no -> Text,
        app_id -> Int8,
        merchant_id -> Int8,
        out_trade_no -> Text,
        body -> Text,
        total_fee_fen -> Int8,
        order_type -> Int2,
        notify_url -> Nullable<Text>,
        bank_commission_rate -> Numeric,
        pay_platform_rate -> Numeric,
        liquidator_commission_rate -> Numeric,
        bank_commission_fen -> Int8,
        pay_platform_fen -> Int8,
        liquidator_commission_fen -> Int8,
        net_receipt_fen -> Int8,
        state -> Text,
        refunded_fen -> Int8,
        cashier_code -> Text,
        content_fingerprint -> Text,
        expires_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paid_business_date -> Nullable<Date>,
    }
}

diesel::table! {
    payout_calendar_days (day) {
        day -> Date,
        kind -> Text,
        note -> Text,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    payout_exchanges (id) {
        id -> Int8,
        payout_id -> Int8,
        actor -> Text,
        answer -> Text,
        detail -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    payout_events (id) {
        id -> Int8,
        payout_id -> Int8,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor -> Text,
        detail -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    payout_run_skips (run_id, merchant_id) {
        run_id -> Int8,
        merchant_id -> Int8,
        reason -> Text,
        detail -> Text,
    }
}

diesel::table! {
    payout_runs (id) {
        id -> Int8,
        kind -> Text,
        slot_date -> Date,
        slot_time -> Time,
        merchant_id -> Nullable<Int8>,
        triggered_by -> Text,
        completed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payout_schedules (merchant_id) {
        merchant_id -> Int8,
        frequency -> Text,
        at_time -> Time,
        weekday -> Nullable<Int2>,
        month_day -> Nullable<Int2>,
        minimum_fen -> Int8,
        retained_fen -> Int8,
        fee_fixed_fen -> Int8,
        fee_rate -> Numeric,
        fee_minimum_fen -> Int8,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    payout_stops (merchant_id, kind) {
        merchant_id -> Int8,
        kind -> Text,
        reason -> Text,
        set_by -> Text,
        set_at -> Timestamptz,
    }
}

diesel::table! {
    payouts (id) {
        id -> Int8,
        out_trade_no -> Text,
        kind -> Text,
        merchant_id -> Int8,
        run_id -> Nullable<Int8>,
        amount_fen -> Int8,
        fee_fen -> Int8,
        state -> Text,
        channel -> Text,
        account_type -> Text,
        account_holder -> Text,
        account_number -> Text,
        bank_code -> Text,
        cnaps_code -> Nullable<Text>,
        channel_reference -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        business_date -> Date,
        triggered_by -> Text,
        next_query_at -> Nullable<Timestamptz>,
        query_count -> Int4,
        needs_attention -> Bool,
        submitted_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        out_withdraw_no -> Nullable<Text>,
        notify_url -> Nullable<Text>,
    }
}

diesel::table! {
    platform_keys (id) {
        id -> Int8,
        public_key_pem -> Text,
        encrypted_private_key -> Bytea,
        nonce -> Bytea,
        fingerprint -> Text,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    platform_settings (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rate_plan_payout_defaults (rate_plan_id) {
        rate_plan_id -> Int8,
        at_time -> Time,
        minimum_fen -> Int8,
        retained_fen -> Int8,
        fee_fixed_fen -> Int8,
        fee_rate -> Numeric,
        fee_minimum_fen -> Int8,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rate_plan_versions (id) {
        id -> Int8,
        rate_plan_id -> Int8,
        bank_commission_rate -> Numeric,
        pay_platform_rate -> Numeric,
        liquidator_commission_rate -> Numeric,
        effective_from -> Timestamptz,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rate_plans (id) {
        id -> Int8,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reconciliation_differences (id) {
        id -> Int8,
        run_id -> Int8,
        kind -> Text,
        bill_type -> Text,
        trade_no -> Text,
        refund_no -> Nullable<Text>,
        ours -> Nullable<Jsonb>,
        theirs -> Nullable<Jsonb>,
        resolved_by -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reconciliation_runs (id) {
        id -> Int8,
        channel -> Text,
        business_date -> Date,
        source -> Text,
        imported_by -> Text,
        bill_line_count -> Int4,
        our_line_count -> Int4,
        matched_count -> Int4,
        difference_count -> Int4,
        imported_at -> Timestamptz,
    }
}

diesel::table! {
    refunds (id) {
        id -> Int8,
        refund_no -> Text,
        order_id -> Int8,
        out_refund_no -> Text,
        refund_fee_fen -> Int8,
        bank_commission_fen -> Int8,
        pay_platform_fen -> Int8,
        liquidator_commission_fen -> Int8,
        net_receipt_fen -> Int8,
        state -> Text,
        requested_by -> Text,
        created_at -> Timestamptz,
        channel_refund_no -> Nullable<Text>,
    }
}

diesel::table! {
    sandbox_payouts (out_trade_no) {
        out_trade_no -> Text,
        amount_fen -> Int8,
        status -> Text,
        channel_reference -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        shows_at -> Timestamptz,
    }
}

diesel::table! {
    settlements (id) {
        id -> Int8,
        merchant_id -> Int8,
        business_date -> Date,
        amount_fen -> Int8,
        order_count -> Int4,
        entry_id -> Nullable<Int8>,
        settled_at -> Timestamptz,
    }
}

diesel::table! {
    upstream_calls (upstream, method, minute) {
        upstream -> Text,
        method -> Text,
        minute -> Timestamptz,
        calls -> Int8,
        successes -> Int8,
        declines -> Int8,
        system_errors -> Int8,
        timeouts -> Int8,
        latency_ms_total -> Int8,
    }
}

diesel::table! {
    ledger_verifications (id) {
        id -> Int8,
        requested_by -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        account_cursor -> Int8,
        entry_cursor -> Int8,
        accounts_checked -> Int8,
        entries_checked -> Int8,
        mismatches -> Array<Text>,
        mismatch_count -> Int8,
        mismatched_kinds -> Array<Text>,
    }
}

diesel::table! {
    ledger_merchant_days (merchant_id, business_date) {
        merchant_id -> Int8,
        business_date -> Date,
        paid_orders -> Int8,
        refunds -> Int8,
        settlements -> Int8,
        payouts_succeeded -> Int8,
        paid_fen -> Int8,
        refunded_fen -> Int8,
        bank_commission_fen -> Int8,
        pay_platform_fen -> Int8,
        commission_debit_fen -> Int8,
        commission_credit_fen -> Int8,
        pending_debit_fen -> Int8,
        pending_credit_fen -> Int8,
        pending_postings -> Int8,
        available_debit_fen -> Int8,
        available_credit_fen -> Int8,
        available_postings -> Int8,
        in_transit_debit_fen -> Int8,
        in_transit_credit_fen -> Int8,
        in_transit_postings -> Int8,
        paid_out_fen -> Int8,
    }
}

diesel::table! {
    ledger_merchant_weeks (merchant_id, week_start) {
        merchant_id -> Int8,
        week_start -> Date,
        paid_orders -> Int8,
        refunds -> Int8,
        settlements -> Int8,
        payouts_succeeded -> Int8,
        paid_fen -> Int8,
        refunded_fen -> Int8,
        bank_commission_fen -> Int8,
        pay_platform_fen -> Int8,
        commission_debit_fen -> Int8,
        commission_credit_fen -> Int8,
        pending_debit_fen -> Int8,
        pending_credit_fen -> Int8,
        pending_postings -> Int8,
        available_debit_fen -> Int8,
        available_credit_fen -> Int8,
        available_postings -> Int8,
        in_transit_debit_fen -> Int8,
        in_transit_credit_fen -> Int8,
        in_transit_postings -> Int8,
        paid_out_fen -> Int8,
    }
}

diesel::table! {
    ledger_statement_days (merchant_id, business_date) {
        merchant_id -> Int8,
        business_date -> Date,
        copied_at -> Timestamptz,
        lines -> Bytea,
    }
}

diesel::table! {
    order_days (merchant_id, placed_on) {
        merchant_id -> Int8,
        placed_on -> Date,
        placed -> Int8,
    }
}

diesel::table! {
    upstream_merchants (merchant_id) {
        merchant_id -> Int8,
        channel -> Text,
        state -> Text,
        upstream_sub_merchant_id -> Nullable<Text>,
        detail -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    upstream_orders (order_id) {
        order_id -> Int8,
        channel -> Text,
        state -> Text,
        upstream_trade_no -> Nullable<Text>,
        qr_code -> Nullable<Text>,
        detail -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(app_keys -> apps (app_id));
diesel::joinable!(audit_log -> operators (operator_id));
diesel::joinable!(ledger_accounts -> merchants (merchant_id));
diesel::joinable!(ledger_entries -> merchants (merchant_id));
diesel::joinable!(ledger_entries -> orders (order_id));
diesel::joinable!(ledger_entries -> refunds (refund_id));
diesel::joinable!(ledger_postings -> ledger_accounts (account_id));
diesel::joinable!(ledger_postings -> ledger_entries (entry_id));
diesel::joinable!(merchant_rates -> merchants (merchant_id));
diesel::joinable!(merchant_rates -> rate_plans (rate_plan_id));
diesel::joinable!(merchant_state_history -> merchants (merchant_id));
diesel::joinable!(micro_deposits -> merchants (merchant_id));
diesel::joinable!(micro_deposits -> payouts (payout_id));
diesel::joinable!(notification_attempts -> notifications (notification_id));
diesel::joinable!(notifications -> apps (app_id));
diesel::joinable!(notifications -> orders (order_id));
diesel::joinable!(order_events -> orders (order_id));
diesel::joinable!(orders -> apps (app_id));
diesel::joinable!(orders -> merchants (merchant_id));
diesel::joinable!(payout_events -> payouts (payout_id));
diesel::joinable!(payout_exchanges -> payouts (payout_id));
diesel::joinable!(payout_run_skips -> merchants (merchant_id));
diesel::joinable!(payout_run_skips -> payout_runs (run_id));
diesel::joinable!(payout_runs -> merchants (merchant_id));
diesel::joinable!(payout_schedules -> merchants (merchant_id));
diesel::joinable!(payout_stops -> merchants (merchant_id));
diesel::joinable!(payouts -> merchants (merchant_id));
diesel::joinable!(payouts -> payout_runs (run_id));
diesel::joinable!(rate_plan_payout_defaults -> rate_plans (rate_plan_id));
diesel::joinable!(rate_plan_versions -> rate_plans (rate_plan_id));
diesel::joinable!(reconciliation_differences -> reconciliation_runs (run_id));
diesel::joinable!(refunds -> orders (order_id));
diesel::joinable!(settlements -> ledger_entries (entry_id));
diesel::joinable!(settlements -> merchants (merchant_id));
diesel::joinable!(upstream_merchants -> merchants (merchant_id));
diesel::joinable!(ledger_merchant_days -> merchants (merchant_id));
diesel::joinable!(ledger_merchant_weeks -> merchants (merchant_id));
diesel::joinable!(order_days -> merchants (merchant_id));
diesel::joinable!(ledger_statement_days -> merchants (merchant_id));
diesel::joinable!(upstream_orders -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    upstream_calls,
    app_keys,
    apps,
    audit_log,
    business_days,
    channel_callbacks,
    gateway_requests,
    jobs,
    ledger_accounts,
    ledger_entries,
    ledger_postings,
    login_attempts,
    merchant_rates,
    merchant_state_history,
    merchants,
    micro_deposits,
    notification_attempts,
    notifications,
    operators,
    order_events,
    orders,
    payout_calendar_days,
    payout_events,
    payout_exchanges,
    payout_run_skips,
    payout_runs,
    payout_schedules,
    payout_stops,
    payouts,
    platform_keys,
    platform_settings,
    rate_plan_payout_defaults,
    rate_plan_versions,
    rate_plans,
    reconciliation_differences,
    reconciliation_runs,
    refunds,
    sandbox_payouts,
    settlements,
    upstream_merchants,
    upstream_orders,
    ledger_merchant_days,
    ledger_merchant_weeks,
    order_days,
    ledger_verifications,
    ledger_statement_days,
);
