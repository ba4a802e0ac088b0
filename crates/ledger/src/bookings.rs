//! The bookings of SPEC §7, each with the idempotency key of its cause.
use chrono::NaiveDate;
use diesel::PgConnection;
use domain::{
    Amount, EntryId, FeeSplit, MerchantId, OrderId, PayoutId, RefundId,
    ledger::{self as rules, BalancedPostings, EntryKind},
};
use storage::ledger as rows;

use crate::{Booked, Booking, Cause, LedgerError, post};

/// A payment the channel confirmed, with the order's snapshotted split.
pub struct PaidOrder<'a> {
    pub order_id: OrderId,
    pub trade_no: &'a str,
    pub merchant_id: MerchantId,
    pub split: FeeSplit,
    pub business_date: NaiveDate,
}

/// Order paid: receivable debited with the total; pending net and the three fees credited.
pub fn order_paid(conn: &mut PgConnection, paid: &PaidOrder<'_>) -> Result<Booked, LedgerError> {
    let booking = order_paid_booking(paid);
    post(conn, &booking.cause, booking.build)
}

/// The booking of a paid order, for a batch ([`crate::post_many`]).
pub fn order_paid_booking(paid: &PaidOrder<'_>) -> Booking<'static> {
    let mut cause =
        Cause::new(format!("order:{}:paid", paid.trade_no), EntryKind::OrderPaid, paid.merchant_id, paid.business_date);
    cause.order_id = Some(paid.order_id);
    let split = paid.split;
    Booking { cause, build: Box::new(move |_| rules::order_paid(&split)) }
}

/// A refund with its give-back split (SPEC §3).
pub struct Refund<'a> {
    pub refund_id: RefundId,
    pub refund_no: &'a str,
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub give_back: FeeSplit,
    pub business_date: NaiveDate,
}

/// Refund: the give-back reversed, the net from pending first, then available; refused with
/// [`LedgerError::Insufficient`] when both together are short.
pub fn refund(conn: &mut PgConnection, refund: &Refund<'_>) -> Result<Booked, LedgerError> {
    let mut cause =
        Cause::new(format!("refund:{}", refund.refund_no), EntryKind::Refund, refund.merchant_id, refund.business_date);
    cause.order_id = Some(refund.order_id);
    cause.refund_id = Some(refund.refund_id);
    post(conn, &cause, |balances| rules::refund(&refund.give_back, balances))
}

/// A payout order's money movement; `fee` is what the merchant pays for it.
pub struct Payout {
    pub payout_id: PayoutId,
    pub merchant_id: MerchantId,
    pub amount: Amount,
    pub fee: Amount,
    pub business_date: NaiveDate,
}

impl Payout {
    fn cause(&self, event: &str, kind: EntryKind) -> Cause {
        let mut cause =
            Cause::new(format!("payout:{}:{event}", self.payout_id), kind, self.merchant_id, self.business_date);
        cause.payout_id = Some(self.payout_id);
        cause
    }
}

/// Payout created: available → in transit, fee earned. Refused if available is short.
pub fn payout_reserved(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_reserved(payout.amount, payout.fee)?;
    post(conn, &payout.cause("reserved", EntryKind::PayoutReserved), |_| Ok(postings))
}

/// Many payouts created at once (a payout run's batch): one result per payout, in order, written
/// with the batch's accounts locked and read once.
pub fn payouts_reserved(
    conn: &mut PgConnection,
    payouts: &[Payout],
) -> Result<Vec<Result<Booked, LedgerError>>, LedgerError> {
    let bookings = payouts
        .iter()
        .map(|payout| {
            let (amount, fee) = (payout.amount, payout.fee);
            crate::Booking {
                cause: payout.cause("reserved", EntryKind::PayoutReserved),
                build: Box::new(move |_| rules::payout_reserved(amount, fee)),
            }
        })
        .collect();
    crate::post_many(conn, bookings)
}

/// Payout succeeded: in transit → clearing.
pub fn payout_succeeded(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_succeeded(payout.amount)?;
    post(conn, &payout.cause("succeeded", EntryKind::PayoutSucceeded), |_| Ok(postings))
}

/// Payout failed: in transit → available, fee given back.
pub fn payout_failed(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_failed(payout.amount, payout.fee)?;
    post(conn, &payout.cause("failed", EntryKind::PayoutFailed), |_| Ok(postings))
}

/// Payout returned after success (REFU): clearing → available.
pub fn payout_returned(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_returned(payout.amount)?;
    post(conn, &payout.cause("returned", EntryKind::PayoutReturned), |_| Ok(postings))
}

/// Micro-deposit sent: the platform's expense, in transit to the merchant's account.
pub fn verification_reserved(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::verification_reserved(payout.amount)?;
    post(conn, &payout.cause("reserved", EntryKind::VerificationReserved), |_| Ok(postings))
}

/// Micro-deposit refused: the expense is undone.
pub fn verification_failed(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::verification_failed(payout.amount)?;
    post(conn, &payout.cause("failed", EntryKind::VerificationFailed), |_| Ok(postings))
}

/// Micro-deposit returned after it was paid: back to the platform.
pub fn verification_returned(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::verification_returned(payout.amount)?;
    post(conn, &payout.cause("returned", EntryKind::VerificationReturned), |_| Ok(postings))
}

/// A payout's (or micro-deposit's) money left the provider's reserve: clearing → reserve. Booked
/// with its success.
pub fn payout_funded(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_funded(payout.amount)?;
    post(conn, &payout.cause("funded", EntryKind::PayoutFunded), |_| Ok(postings))
}

/// A returned payout's money came back into the reserve: reserve → clearing. Booked with the
/// return, before it.
pub fn payout_refunded(conn: &mut PgConnection, payout: &Payout) -> Result<Booked, LedgerError> {
    let postings = rules::payout_refunded(payout.amount)?;
    post(conn, &payout.cause("refunded", EntryKind::PayoutRefunded), |_| Ok(postings))
}

/// A channel settled the business day `date` (its bill matched our bookings): for each
/// merchant with payments or refunds through it that day, the receivable goes, net of the bank commission and
/// the platform fee the upstream keeps, into the provider's reserve. Once per merchant and day.
/// Returns the entries written now.
pub fn upstream_settled(
    conn: &mut PgConnection,
    date: NaiveDate,
    through: storage::ledger::ChannelOrders<'_>,
) -> Result<usize, LedgerError> {
    let days = rows::day_movements(conn, date, through)?;
    let bookings: Vec<Booking<'static>> = days
        .into_iter()
        .filter(|day| {
            [day.receivable_fen, day.bank_commission_fen, day.pay_platform_fen].iter().any(|fen| *fen != Amount::ZERO)
        })
        .map(|day| {
            let cause = Cause::new(
                format!("upstream:{}:{date}:settled", day.merchant_id),
                EntryKind::UpstreamSettled,
                day.merchant_id,
                date,
            );
            let movements = rules::DayMovements {
                receivable_fen: day.receivable_fen,
                bank_commission_fen: day.bank_commission_fen,
                pay_platform_fen: day.pay_platform_fen,
            };
            Booking { cause, build: Box::new(move |_| rules::upstream_settled(movements)) }
        })
        .collect();
    let mut written = 0;
    for booked in crate::post_many(conn, bookings)? {
        if matches!(booked?, Booked::New(_)) {
            written += 1;
        }
    }
    Ok(written)
}

/// Corrects an entry with its exact opposite (entries are never changed). Booked once per entry.
pub fn reverse(
    conn: &mut PgConnection,
    entry_id: EntryId,
    reason: &str,
    business_date: NaiveDate,
) -> Result<Booked, LedgerError> {
    let original = rows::find_entry(conn, entry_id)?.ok_or(LedgerError::EntryNotFound)?;
    let lines = rows::postings_of(conn, entry_id)?
        .into_iter()
        .map(|(posting, kind)| {
            let account = kind.parse().map_err(|_| LedgerError::MissingAccount("known"))?;
            Ok(domain::ledger::Posting { account, amount_fen: posting.amount_fen })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let postings = rules::reversal(&BalancedPostings::new(lines)?)?;
    let mut cause =
        Cause::new(format!("reversal:{entry_id}"), EntryKind::Reversal, original.merchant_id, business_date);
    cause.order_id = original.order_id;
    cause.refund_id = original.refund_id;
    cause.payout_id = original.payout_id;
    cause.reverses_entry_id = Some(entry_id);
    cause.memo = Some(reason.to_owned());
    post(conn, &cause, |_| Ok(postings))
}
