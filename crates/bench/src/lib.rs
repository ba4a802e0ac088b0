//! What the benchmark programs share: the bulk SQL that books seeded paid orders the way the
//! ledger would.

/// A paid order's split as postings, a lateral over `o` (the order) giving `v (n, kind,
/// amount_fen)`: debit the receivable, credit the merchant's pending and the three fees, in the
/// order `ledger::post` writes them (`n`).
pub const ORDER_SPLIT_POSTINGS: &str = "CROSS JOIN LATERAL (VALUES (1, 'upstream_receivable', o.total_fee_fen),
                                (2, 'merchant_pending', -o.net_receipt_fen),
                                (3, 'bank_commission_payable', -o.bank_commission_fen),
                                (4, 'pay_platform_fee_payable', -o.pay_platform_fen),
                                (5, 'liquidator_commission_revenue', -o.liquidator_commission_fen))
            AS v (n, kind, amount_fen)";
