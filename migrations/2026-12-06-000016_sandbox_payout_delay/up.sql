-- A sandbox payout may show its outcome later (pending until then): "succeed after a delay".
ALTER TABLE sandbox_payouts ADD COLUMN shows_at TIMESTAMPTZ NOT NULL DEFAULT now();
