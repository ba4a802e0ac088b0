//! One guarded transition of a payout order, with its history row and its ledger booking, in the
//! caller's transaction.
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::{
    calendar::BusinessCalendar,
    payouts::{PayoutKind, PayoutState, PayoutTransition},
};
use storage::payouts::{self as rows, PayoutChange, PayoutRow};

use crate::PayoutError;

/// What else a transition records.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Details<'a> {
    pub detail: Option<&'a str>,
    pub channel_reference: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    /// When to ask the channel first, for a transition into `submitted`.
    pub next_query_at: Option<DateTime<Utc>>,
}

/// Applies `transition` to the locked `payout` (`WHERE state = from`), writes its history row
/// and books its ledger entry. The row is locked, so a failed guard is a bug.
pub(crate) fn apply(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    payout: &PayoutRow,
    transition: PayoutTransition,
    actor: &str,
    details: Details<'_>,
) -> Result<PayoutRow, PayoutError> {
    let to = payout.state.apply(transition)?;
    let change = PayoutChange {
        id: payout.id,
        from: payout.state,
        to,
        actor,
        detail: details.detail,
        channel_reference: details.channel_reference,
        failure_reason: details.failure_reason,
        next_query_at: if to == PayoutState::Submitted { details.next_query_at } else { None },
    };
    let changed = rows::change_state(conn, &change)?
        .ok_or_else(|| PayoutError::BrokenInvariant(format!("payout {} changed under its lock", payout.id)))?;
    book(conn, calendar, &changed, transition)?;
    if crate::notify::is_told(changed.state) {
        crate::notify::result(conn, &changed)?;
    }
    crate::verification::announce(conn, &changed)?;
    Ok(changed)
}

/// The reservation booked when a payout is written: available → in transit, fee earned; for a
/// micro-deposit, the platform's expense → in transit.
pub(crate) fn reserve(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    payout: &PayoutRow,
) -> Result<(), PayoutError> {
    let booking = booking(calendar, payout);
    if payout.kind == PayoutKind::Verification {
        ledger::bookings::verification_reserved(conn, &booking)?;
    } else {
        ledger::bookings::payout_reserved(conn, &booking)?;
    }
    Ok(())
}

/// The reservations of many payouts at once (a run's batch). Each was computed from a balance read
/// under the batch's lock, so a refusal means the balance moved under that lock: a bug.
pub(crate) fn reserve_many(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    payouts: &[PayoutRow],
) -> Result<(), PayoutError> {
    let bookings: Vec<_> = payouts.iter().map(|payout| booking(calendar, payout)).collect();
    for booked in ledger::bookings::payouts_reserved(conn, &bookings)? {
        booked?;
    }
    Ok(())
}

fn book(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    payout: &PayoutRow,
    transition: PayoutTransition,
) -> Result<(), PayoutError> {
    let booking = booking(calendar, payout);
    // A micro-deposit's money is the platform's: it goes back to the expense, never to available.
    let platform_paid = payout.kind == PayoutKind::Verification;
    match transition {
        PayoutTransition::Submit | PayoutTransition::Approve => {}
        PayoutTransition::Succeed => {
            ledger::bookings::payout_succeeded(conn, &booking)?;
            // The money left the provider's reserve (SPEC §7: payouts out).
            ledger::bookings::payout_funded(conn, &booking)?;
        }
        PayoutTransition::Fail | PayoutTransition::Reject if platform_paid => {
            ledger::bookings::verification_failed(conn, &booking)?;
        }
        PayoutTransition::Fail | PayoutTransition::Reject => {
            ledger::bookings::payout_failed(conn, &booking)?;
        }
        PayoutTransition::Return if platform_paid => {
            ledger::bookings::payout_refunded(conn, &booking)?;
            ledger::bookings::verification_returned(conn, &booking)?;
        }
        PayoutTransition::Return => {
            ledger::bookings::payout_refunded(conn, &booking)?;
            ledger::bookings::payout_returned(conn, &booking)?;
        }
    }
    Ok(())
}

fn booking(calendar: &BusinessCalendar, payout: &PayoutRow) -> ledger::bookings::Payout {
    ledger::bookings::Payout {
        payout_id: payout.id,
        merchant_id: payout.merchant_id,
        amount: payout.amount_fen,
        fee: payout.fee_fen,
        business_date: calendar.date_of(Utc::now()),
    }
}
