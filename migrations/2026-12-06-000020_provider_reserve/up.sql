-- The provider's own funds at the channel (备付金, SPEC §7 and issue 14): a debit-normal account per
-- merchant like the others, and three entry kinds: the upstream's settlement of a reconciled day
-- into the reserve, and a payout's money leaving it (and coming back when the bank returns it).
-- Payouts booked before this have their success in clearing and nothing out of the reserve; they
-- are left as they were booked (the ledger is never rewritten).
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'upstream_receivable', 'merchant_pending', 'merchant_available', 'merchant_payout_in_transit',
    'bank_commission_payable', 'pay_platform_fee_payable', 'liquidator_commission_revenue',
    'payout_fee_revenue', 'payout_clearing', 'verification_expense', 'provider_reserve'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_debit_normal_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_debit_normal_check
    CHECK (debit_normal = (kind IN ('upstream_receivable', 'verification_expense', 'provider_reserve')));

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'order_paid', 'refund', 'settlement', 'payout_reserved', 'payout_succeeded', 'payout_failed',
    'payout_returned', 'verification_reserved', 'verification_failed', 'verification_returned',
    'payout_funded', 'payout_refunded', 'upstream_settled', 'reversal'));
