DROP VIEW ledger_statement_lines_from_ledger;
DROP TABLE ledger_statement_lines;
DROP TABLE ledger_statement_days;
