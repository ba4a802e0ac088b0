//! The platform's own daily bill: every payment and refund booked on a business day, in the bill
//! format clients download (`finance.downloadbill`) and reconciliation compares.
use channel::bill::{BillKind, BillLine};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::calendar::china;
use domain::ledger::EntryKind;
use storage::ledger::{BillRow, BillScope};

use crate::LedgerError;

/// The day's bookings the scope may see (`None`: the whole platform's), in booking order.
pub fn lines(conn: &mut PgConnection, date: NaiveDate, scope: Option<BillScope>) -> Result<Vec<BillLine>, LedgerError> {
    Ok(storage::ledger::bill_rows(conn, date, scope, None)?.into_iter().map(line).collect())
}

/// The day's lines of the orders one channel took (see [`channel_orders`]).
pub fn lines_through(conn: &mut PgConnection, date: NaiveDate, channel: &str) -> Result<Vec<BillLine>, LedgerError> {
    Ok(storage::ledger::bill_rows(conn, date, None, Some(channel_orders(channel)))?.into_iter().map(line).collect())
}

/// The orders a channel took: those placed at it, and for the built-in sandbox those placed at no
/// upstream.
pub fn channel_orders(channel: &str) -> storage::ledger::ChannelOrders<'_> {
    storage::ledger::ChannelOrders { channel, local: channel == crate::reconciliation::SANDBOX }
}

/// A booking, or a channel's record of the same shape, as a bill line.
pub fn line(row: BillRow) -> BillLine {
    BillLine {
        bill_type: if row.kind == EntryKind::Refund { BillKind::Refund } else { BillKind::Pay },
        trade_no: row.trade_no,
        out_trade_no: row.out_trade_no,
        refund_no: row.refund_no.unwrap_or_default(),
        out_refund_no: row.out_refund_no.unwrap_or_default(),
        sub_merchant_id: row.sub_merchant_id,
        amount: row.amount_fen,
        net_receipt_amount: row.net_receipt_fen,
        bank_commission_fee: row.bank_commission_fen,
        pay_platform_fee: row.pay_platform_fen,
        liquidator_commission_fee: row.liquidator_commission_fen,
        status: "SUCCESS".into(),
        time: china_time(row.booked_at),
    }
}

/// `yyyy-MM-dd HH:mm:ss` in China time, as bills carry it.
pub fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string()
}
