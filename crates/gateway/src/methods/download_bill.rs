//! `fshows.liquidation.finance.downloadbill`: the caller's bill for one business day, as CSV.
//!
//! Content: `bill_date` (`yyyyMMdd`). Reply: `bill_date`, `pay_count`, `pay_amount`,
//! `refund_count`, `refund_amount` and `bill_content`, the CSV of `channel::bill` (every payment
//! and refund booked that day on the orders the app may see, with its split). `-209` until the day
//! has closed at the cut-off, since until then the bill could still change.
use channel::bill::{self, BillKind, BillLine};
use chrono::NaiveDate;
use storage::ledger::BillScope;

use super::{Call, ReturnValue};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let text = call.content.required("bill_date")?;
    let date = NaiveDate::parse_from_str(text.trim(), "%Y%m%d")
        .ok()
        .filter(|_| text.trim().len() == 8)
        .ok_or_else(|| GatewayError::invalid("bill_date", "must be a date as yyyyMMdd"))?;
    if !call.settings.calendar.is_closed(date, call.now) {
        return Err(GatewayError::BillNotReady);
    }
    let scope = BillScope { app_id: call.app.id, merchant_id: call.app.merchant_id };
    let lines = ledger::bill::lines(call.conn, date, Some(scope)).map_err(super::balance_query::ledger_error)?;
    let content = bill::to_csv(&lines).map_err(|error| {
        tracing::error!(%error, "bill could not be written");
        GatewayError::ServerError
    })?;
    let (pays, refunds): (Vec<&BillLine>, Vec<&BillLine>) =
        lines.iter().partition(|line| line.bill_type == BillKind::Pay);
    Ok(vec![
        ("bill_date", ReplyValue::text(date.format("%Y%m%d").to_string())),
        ("pay_count", ReplyValue::Number(count(&pays).into())),
        ("pay_amount", ReplyValue::amount(total(&pays)?)),
        ("refund_count", ReplyValue::Number(count(&refunds).into())),
        ("refund_amount", ReplyValue::amount(total(&refunds)?)),
        ("bill_content", ReplyValue::text(content)),
    ])
}

fn count(lines: &[&BillLine]) -> i64 {
    i64::try_from(lines.len()).unwrap_or(i64::MAX)
}

/// The lines' total: a day's bill is far below `i64::MAX` fen, so an overflow is a corrupt
/// ledger, reported as a server error rather than a wrong total.
fn total(lines: &[&BillLine]) -> Result<domain::Amount, GatewayError> {
    domain::Amount::checked_sum(lines.iter().map(|line| line.amount)).ok_or_else(|| {
        tracing::error!("a bill's total overflows");
        GatewayError::ServerError
    })
}
