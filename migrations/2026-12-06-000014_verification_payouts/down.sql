ALTER TABLE micro_deposits DROP COLUMN payout_id;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'order_paid', 'refund', 'settlement', 'payout_reserved', 'payout_succeeded', 'payout_failed',
    'payout_returned', 'reversal'));

ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_debit_normal_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_check CHECK (debit_normal = (kind = 'upstream_receivable'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'upstream_receivable', 'merchant_pending', 'merchant_available', 'merchant_payout_in_transit',
    'bank_commission_payable', 'pay_platform_fee_payable', 'liquidator_commission_revenue',
    'payout_fee_revenue', 'payout_clearing'));
