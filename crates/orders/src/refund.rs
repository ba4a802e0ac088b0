//! Refunds (SPEC §3, §5): partial refunds up to the unrefunded amount, each giving back its own
//! split; idempotent on `out_refund_no`.
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::{
    Amount, FeeSplit, OrderId, RefundId,
    calendar::BusinessCalendar,
    orders::{EventCause, OrderEvent, OutRefundNo, RefundState},
};
use ledger::bookings;
use storage::orders::{self as rows, NewRefundRow, RefundRow};

use crate::{Order, OrderError, lifecycle, notify, order, place::new_trade_no};

/// A new refund, or the original one of an idempotent retry.
#[derive(Debug)]
pub enum Refunded {
    New { order: Order, refund: RefundRow },
    Replay { order: Order, refund: RefundRow },
}

impl Refunded {
    pub fn refund(&self) -> &RefundRow {
        match self {
            Refunded::New { refund, .. } | Refunded::Replay { refund, .. } => refund,
        }
    }
}

/// What a refund asks for.
pub struct RefundRequest<'a> {
    pub order_id: OrderId,
    pub out_refund_no: &'a OutRefundNo,
    pub amount: Amount,
    pub requested_by: &'a str,
    pub at: DateTime<Utc>,
}

/// Refunds part or all of a paid order. The give-back is booked in the same transaction: taken
/// from the merchant's pending balance first, then available, and refused with
/// [`OrderError::InsufficientBalance`] (changing nothing) when both are short.
///
/// The refund of an order placed at an upstream is `pending` until the upstream has refunded the
/// payer ([`settle_pending`]); its notification waits for that. Every other refund is done here,
/// at once.
pub fn refund(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    request: &RefundRequest<'_>,
) -> Result<Refunded, OrderError> {
    let RefundRequest { order_id, out_refund_no, amount, at: now, .. } = *request;
    storage::database::transaction(conn, |conn| {
        let locked = order::lock(conn, order_id)?;
        if let Some(existing) = rows::find_refund(conn, order_id, out_refund_no.as_ref())? {
            return if existing.refund_fee_fen == amount {
                Ok(Refunded::Replay { order: locked, refund: existing })
            } else {
                Err(OrderError::DuplicateOutRefundNo)
            };
        }
        let remaining = locked.unrefunded();
        if amount > remaining {
            return Err(OrderError::RefundTooLarge);
        }
        let event = if amount == remaining { OrderEvent::RefundRest } else { OrderEvent::RefundPart };
        // Checked before any write, so an illegal refund changes nothing.
        locked.state.apply(event)?;
        let give_back = FeeSplit::of_refund(remaining, amount, &locked.rates()?)?;
        let refunded_fen = locked.row.refunded_fen.checked_add(amount).ok_or(OrderError::RefundTooLarge)?;
        let awaits_upstream = storage::upstream::find_order(conn, order_id)?.is_some();
        let state = if awaits_upstream { RefundState::Pending } else { RefundState::Succeeded };
        let refund = insert(conn, &locked, request, &give_back, state)?;
        book(conn, calendar, &locked, &refund, give_back, now)?;
        let order = lifecycle::apply(
            conn,
            &locked,
            event,
            domain::orders::EventCause::Refund,
            Some(&refund.refund_no),
            refunded_fen,
            None,
        )?;
        if state == RefundState::Succeeded {
            notify::enqueue(
                conn,
                domain::orders::NotificationKind::Refund,
                &order,
                notify::refund_fields(&order, &refund),
            )?;
        }
        Ok(Refunded::New { order, refund })
    })
}

/// What the channel did with a pending refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRefund {
    /// Refunded to the payer, under the channel's number.
    Succeeded { channel_refund_no: String },
    /// Refused: nothing was refunded.
    Refused { reason: String },
}

/// Settles a pending refund with the channel's word, in one transaction: a refund done is marked
/// succeeded and its notification queued; a refund refused is marked failed, its booking reversed
/// (the money goes back to the merchant's balances) and the order's refunded amount and state
/// given back. `None` when the refund was not pending (settled already: a second word changes
/// nothing).
pub fn settle_pending(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    refund_id: RefundId,
    outcome: &ChannelRefund,
    now: DateTime<Utc>,
) -> Result<Option<(Order, RefundRow)>, OrderError> {
    storage::database::transaction(conn, |conn| {
        let Some(refund) = rows::find_refund_by_id(conn, refund_id)? else { return Err(OrderError::RefundNotFound) };
        let locked = order::lock(conn, refund.order_id)?;
        let (to, channel_refund_no) = match outcome {
            ChannelRefund::Succeeded { channel_refund_no } => {
                (RefundState::Succeeded, Some(channel_refund_no.as_str()))
            }
            ChannelRefund::Refused { .. } => (RefundState::Failed, None),
        };
        if !rows::settle_refund(conn, refund_id, to, channel_refund_no)? {
            return Ok(None);
        }
        let settled = rows::find_refund_by_id(conn, refund_id)?.ok_or(OrderError::RefundNotFound)?;
        let order = match outcome {
            ChannelRefund::Succeeded { .. } => {
                let fields = notify::refund_fields(&locked, &settled);
                notify::enqueue(conn, domain::orders::NotificationKind::Refund, &locked, fields)?;
                locked
            }
            ChannelRefund::Refused { reason } => give_back(conn, calendar, &locked, &settled, reason, now)?,
        };
        Ok(Some((order, settled)))
    })
}

/// Undoes a refund the channel refused: its booking reversed, the order's refunded amount less.
fn give_back(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    order: &Order,
    refund: &RefundRow,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let key = format!("refund:{}", refund.refund_no);
    let entry = storage::ledger::find_entry_by_key(conn, &key)?.ok_or(OrderError::RefundNotFound)?;
    let memo = format!("the channel refused refund {}: {reason}", refund.refund_no);
    bookings::reverse(conn, entry.id, &memo, calendar.date_of(now))?;
    let refunded_fen = order
        .row
        .refunded_fen
        .checked_sub(refund.refund_fee_fen)
        .filter(|left| !left.is_negative())
        .ok_or(OrderError::RefundTooLarge)?;
    let event = if refunded_fen == Amount::ZERO { OrderEvent::UndoLastRefund } else { OrderEvent::UndoRefund };
    lifecycle::apply(conn, order, event, EventCause::RefundFailed, Some(&refund.refund_no), refunded_fen, None)
}

fn book(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    order: &Order,
    refund: &RefundRow,
    give_back: FeeSplit,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    let booking = bookings::Refund {
        refund_id: refund.id,
        refund_no: &refund.refund_no,
        order_id: order.row.id,
        merchant_id: order.row.merchant_id,
        give_back,
        business_date: calendar.date_of(now),
    };
    match bookings::refund(conn, &booking) {
        Ok(_) => Ok(()),
        Err(ledger::LedgerError::Insufficient(_)) => Err(OrderError::InsufficientBalance),
        Err(error) => Err(error.into()),
    }
}

/// The refund's row, under a new number (drawn again on the rare clash).
fn insert(
    conn: &mut PgConnection,
    order: &Order,
    request: &RefundRequest<'_>,
    give_back: &FeeSplit,
    state: RefundState,
) -> Result<RefundRow, OrderError> {
    let RefundRequest { out_refund_no, amount, requested_by, at: now, .. } = *request;
    for _ in 0..8 {
        let refund_no = new_trade_no(now);
        let row = NewRefundRow {
            refund_no: refund_no.as_ref(),
            order_id: order.row.id,
            out_refund_no: out_refund_no.as_ref(),
            refund_fee_fen: amount,
            bank_commission_fen: give_back.bank_commission,
            pay_platform_fen: give_back.pay_platform,
            liquidator_commission_fen: give_back.liquidator_commission,
            net_receipt_fen: give_back.net_receipt,
            requested_by,
            state,
        };
        match storage::database::transaction(conn, |conn| rows::insert_refund(conn, &row)) {
            Ok(refund) => return Ok(refund),
            Err(error) if error.is_unique_violation() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(OrderError::NumberExhausted)
}
