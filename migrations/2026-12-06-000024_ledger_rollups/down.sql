DROP TRIGGER ledger_entries_roll_up ON ledger_entries;
DROP FUNCTION ledger_entries_roll_up();
DROP TRIGGER ledger_postings_roll_up ON ledger_postings;
DROP FUNCTION ledger_postings_roll_up();
DROP TABLE ledger_day_entries;
DROP TABLE ledger_day_postings;
