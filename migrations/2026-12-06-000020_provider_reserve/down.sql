ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'order_paid', 'refund', 'settlement', 'payout_reserved', 'payout_succeeded', 'payout_failed',
    'payout_returned', 'verification_reserved', 'verification_failed', 'verification_returned',
    'reversal'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_debit_normal_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_debit_normal_check
    CHECK (debit_normal = (kind IN ('upstream_receivable', 'verification_expense')));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'upstream_receivable', 'merchant_pending', 'merchant_available', 'merchant_payout_in_transit',
    'bank_commission_payable', 'pay_platform_fee_payable', 'liquidator_commission_revenue',
    'payout_fee_revenue', 'payout_clearing', 'verification_expense'));
