//! Commission earned (SPEC §7): the credits minus the debits of the liquidator's commission revenue,
//! by business day and by merchant. A refund's give-back debits it, and can credit it by a fen
//! (SPEC §3), so both sides are shown.
use diesel::PgConnection;
use domain::{Amount, MerchantId};
use storage::ledger_reports as rows;

use super::DateRange;
use crate::LedgerError;

/// Both sides of the commission account over some postings, each positive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommissionLine {
    pub credit_fen: Amount,
    pub debit_fen: Amount,
}

impl CommissionLine {
    /// What was earned: credits less debits. Both sides are sums of non-negative amounts, so the
    /// difference always fits.
    pub fn net_fen(&self) -> Amount {
        self.credit_fen.checked_sub(self.debit_fen).unwrap_or(Amount::ZERO)
    }

    fn plus(self, other: CommissionLine) -> Option<CommissionLine> {
        Some(CommissionLine {
            credit_fen: self.credit_fen.checked_add(other.credit_fen)?,
            debit_fen: self.debit_fen.checked_add(other.debit_fen)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct DayCommission {
    pub business_date: chrono::NaiveDate,
    pub line: CommissionLine,
}

#[derive(Clone, Debug)]
pub struct MerchantCommission {
    pub merchant_id: MerchantId,
    pub short_name: String,
    pub sub_merchant_id: Option<String>,
    pub line: CommissionLine,
}

#[derive(Clone, Debug)]
pub struct Commission {
    pub range: DateRange,
    /// Days with any commission posting, oldest first.
    pub by_day: Vec<DayCommission>,
    /// Merchants with any, largest net first; cut at the limit asked for.
    pub by_merchant: Vec<MerchantCommission>,
    /// More merchants earned commission than `by_merchant` holds.
    pub merchants_truncated: bool,
    /// Over the whole range (the sum of the days).
    pub total: CommissionLine,
}

impl Commission {
    /// The merchants add up to the same total as the days (when all of them are listed).
    pub fn merchants_agree(&self) -> bool {
        self.merchants_truncated
            || self.by_merchant.iter().try_fold(CommissionLine::default(), |sum, row| sum.plus(row.line))
                == Some(self.total)
    }
}

/// Commission in `range`, by day and by up to `merchant_limit` merchants, from one snapshot.
pub fn commission(conn: &mut PgConnection, range: DateRange, merchant_limit: i64) -> Result<Commission, LedgerError> {
    super::in_snapshot(conn, |conn| {
        let by_day: Vec<DayCommission> = rows::commission_by_day(conn, range.from(), range.to())?
            .into_iter()
            .map(|row| DayCommission {
                business_date: row.business_date,
                line: CommissionLine { credit_fen: row.credit_fen, debit_fen: row.debit_fen },
            })
            .collect();
        let mut by_merchant: Vec<MerchantCommission> =
            rows::commission_by_merchant(conn, range.from(), range.to(), merchant_limit.saturating_add(1))?
                .into_iter()
                .map(|row| MerchantCommission {
                    merchant_id: row.merchant_id,
                    short_name: row.short_name,
                    sub_merchant_id: row.sub_merchant_id,
                    line: CommissionLine { credit_fen: row.credit_fen, debit_fen: row.debit_fen },
                })
                .collect();
        let merchants_truncated = by_merchant.len() as i64 > merchant_limit;
        by_merchant.truncate(usize::try_from(merchant_limit).unwrap_or(0));
        let total = by_day
            .iter()
            .try_fold(CommissionLine::default(), |sum, day| sum.plus(day.line))
            .ok_or_else(super::accounts::overflow)?;
        Ok(Commission { range, by_day, by_merchant, merchants_truncated, total })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_is_credits_less_debits_and_merchants_must_add_up() {
        let line = CommissionLine { credit_fen: Amount::from_fen(120), debit_fen: Amount::from_fen(21) };
        assert_eq!(line.net_fen(), Amount::from_fen(99));
        let range = DateRange::ending(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"), 1).expect("range");
        let merchant = |credit_fen: i64| MerchantCommission {
            merchant_id: MerchantId::new(1),
            short_name: "m".into(),
            sub_merchant_id: None,
            line: CommissionLine { credit_fen: Amount::from_fen(credit_fen), debit_fen: Amount::ZERO },
        };
        let mut report = Commission {
            range,
            by_day: Vec::new(),
            by_merchant: vec![merchant(100), merchant(20)],
            merchants_truncated: false,
            total: CommissionLine { credit_fen: Amount::from_fen(120), debit_fen: Amount::from_fen(0) },
        };
        assert!(report.merchants_agree());
        report.total.credit_fen = Amount::from_fen(121);
        assert!(!report.merchants_agree());
        report.merchants_truncated = true;
        assert!(report.merchants_agree(), "a cut list is not compared");
    }
}
