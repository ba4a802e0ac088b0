-- Payout orders exist now (000012): an entry that names a payout names one that exists, as one
-- naming an order or a refund does.
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_payout_id_fkey FOREIGN KEY (payout_id) REFERENCES payouts (id);
