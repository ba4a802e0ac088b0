//! An entry as the reports show it: its kind, dates and what caused it.
use chrono::{DateTime, NaiveDate, Utc};
use domain::{EntryId, OrderId, PayoutId, ledger::EntryKind};
use storage::ledger_reports::EntryCauseRow;

use crate::LedgerError;

/// What caused an entry, as far as the reports can link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryCause {
    Order {
        order_id: OrderId,
        trade_no: String,
    },
    Refund {
        order_id: Option<OrderId>,
        refund_no: String,
    },
    Payout {
        payout_id: PayoutId,
    },
    Settlement {
        business_date: NaiveDate,
    },
    Reversal {
        entry_id: EntryId,
    },
    /// An entry with no cause the ledger records (none is booked that way today).
    Unrecorded,
}

impl EntryCause {
    /// The order to link to, when the cause has one.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            EntryCause::Order { order_id, .. } => Some(*order_id),
            EntryCause::Refund { order_id, .. } => *order_id,
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct EntryInfo {
    pub id: EntryId,
    pub kind: EntryKind,
    pub business_date: NaiveDate,
    pub booked_at: DateTime<Utc>,
    pub memo: Option<String>,
    pub cause: EntryCause,
}

impl TryFrom<EntryCauseRow> for EntryInfo {
    type Error = LedgerError;

    fn try_from(row: EntryCauseRow) -> Result<Self, Self::Error> {
        let kind = row.entry_kind;
        // A reversal names the entry it reverses first: it may carry the same order as that entry.
        let cause = if let Some(entry_id) = row.reverses_entry_id {
            EntryCause::Reversal { entry_id }
        } else if let Some(refund_no) = row.refund_no {
            EntryCause::Refund { order_id: row.order_id, refund_no }
        } else if let (Some(order_id), Some(trade_no)) = (row.order_id, row.trade_no) {
            EntryCause::Order { order_id, trade_no }
        } else if let Some(payout_id) = row.payout_id {
            EntryCause::Payout { payout_id }
        } else if let Some(business_date) = row.settlement_date {
            EntryCause::Settlement { business_date }
        } else {
            EntryCause::Unrecorded
        };
        Ok(EntryInfo {
            id: row.entry_id,
            kind,
            business_date: row.business_date,
            booked_at: row.booked_at,
            memo: row.memo,
            cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::RefundId;

    fn row() -> EntryCauseRow {
        EntryCauseRow {
            entry_id: EntryId::new(7),
            entry_kind: EntryKind::Refund,
            business_date: NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
            booked_at: Utc::now(),
            memo: None,
            reverses_entry_id: None,
            order_id: Some(OrderId::new(3)),
            trade_no: Some("T1".into()),
            refund_id: Some(RefundId::new(4)),
            refund_no: Some("R1".into()),
            payout_id: None,
            settlement_date: None,
        }
    }

    #[test]
    fn causes_are_read_from_the_entry() {
        let refund = EntryInfo::try_from(row()).expect("entry");
        assert_eq!(refund.kind, EntryKind::Refund);
        assert_eq!(refund.cause, EntryCause::Refund { order_id: Some(OrderId::new(3)), refund_no: "R1".into() });
        assert_eq!(refund.cause.order_id(), Some(OrderId::new(3)));
        let paid = EntryCauseRow { entry_kind: EntryKind::OrderPaid, refund_id: None, refund_no: None, ..row() };
        assert_eq!(
            EntryInfo::try_from(paid).expect("entry").cause,
            EntryCause::Order { order_id: OrderId::new(3), trade_no: "T1".into() }
        );
        let reversal =
            EntryCauseRow { entry_kind: EntryKind::Reversal, reverses_entry_id: Some(EntryId::new(5)), ..row() };
        assert_eq!(
            EntryInfo::try_from(reversal).expect("entry").cause,
            EntryCause::Reversal { entry_id: EntryId::new(5) }
        );
        // Reading a kind back from its text (and refusing an unknown one) is the column's mapping.
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EntryKind::parse("bogus"), None);
    }
}
