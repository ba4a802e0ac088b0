-- Back to 000008: the commit-time entry check, the unconditional updated_at trigger and the
-- orders' table CHECKs.
DROP TRIGGER ledger_postings_settled_day ON ledger_postings;
DROP FUNCTION ledger_postings_settled_day();

DROP TRIGGER ledger_entries_posted ON ledger_entries;
DROP FUNCTION ledger_entries_posted();

CREATE FUNCTION ledger_entries_complete() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger entry % has 0 posting(s); an entry needs at least two', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'order_paid' AND (
           EXISTS (SELECT 1 FROM settlements
                    WHERE merchant_id = NEW.merchant_id AND business_date = NEW.business_date)
        OR EXISTS (SELECT 1 FROM business_days
                    WHERE business_date = NEW.business_date AND settled_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'business day % is already settled for merchant %: a payment cannot be booked on it',
            NEW.business_date, NEW.merchant_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;
CREATE CONSTRAINT TRIGGER ledger_entries_complete AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_complete();

DROP TRIGGER orders_updated_at ON orders;
CREATE TRIGGER orders_updated_at BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE orders
    ALTER COLUMN trade_no TYPE TEXT,
    ALTER COLUMN out_trade_no TYPE TEXT,
    ALTER COLUMN body TYPE TEXT,
    ALTER COLUMN total_fee_fen TYPE BIGINT,
    ALTER COLUMN order_type TYPE SMALLINT,
    ALTER COLUMN notify_url TYPE TEXT,
    ALTER COLUMN cashier_code TYPE TEXT,
    ALTER COLUMN bank_commission_fen TYPE BIGINT,
    ALTER COLUMN pay_platform_fen TYPE BIGINT,
    ALTER COLUMN liquidator_commission_fen TYPE BIGINT,
    ALTER COLUMN net_receipt_fen TYPE BIGINT,
    ADD CONSTRAINT orders_trade_no_check CHECK (trade_no ~ '^[0-9]{28}$'),
    ADD CONSTRAINT orders_out_trade_no_check CHECK (out_trade_no ~ '^[A-Za-z0-9_]{1,64}$'),
    ADD CONSTRAINT orders_body_check CHECK (length(body) BETWEEN 1 AND 128),
    ADD CONSTRAINT orders_total_fee_fen_check CHECK (total_fee_fen BETWEEN 1 AND 10000000000),
    ADD CONSTRAINT orders_order_type_check CHECK (order_type IN (0, 1)),
    ADD CONSTRAINT orders_notify_url_check CHECK (length(notify_url) <= 256),
    ADD CONSTRAINT orders_cashier_code_check CHECK (cashier_code ~ '^[a-z0-9]{14,32}$'),
    ADD CONSTRAINT orders_bank_commission_fen_check CHECK (bank_commission_fen >= 0),
    ADD CONSTRAINT orders_pay_platform_fen_check CHECK (pay_platform_fen >= 0),
    ADD CONSTRAINT orders_liquidator_commission_fen_check CHECK (liquidator_commission_fen >= 0),
    ADD CONSTRAINT orders_net_receipt_fen_check CHECK (net_receipt_fen >= 0);

DROP DOMAIN order_trade_no, order_out_trade_no, order_body, order_total_fen, order_type_code, order_notify_url,
    order_cashier_code, nonnegative_fen;
