//! What a channel says of a payout — its answer to the submission, a query's result, a callback —
//! applied through one function, so an answer racing a callback, a replay, or reports out of order
//! (a `FINI` after a `REFU`) change the payout once and correctly.
use channel::{ChannelError, PayoutStatus};
use diesel::PgConnection;
use domain::{
    PayoutId,
    calendar::BusinessCalendar,
    payouts::{ChannelAnswer, PayoutState, PayoutTransition, StopKind},
};
use storage::payouts::{self as rows, PayoutRow};

use crate::{
    PayoutError,
    transition::{self, Details},
};

/// A channel's word on a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, in progress (`BUID`, `ACSU`, `WPAR`).
    Pending { channel_reference: String },
    /// Paid (`FINI`).
    Succeeded { channel_reference: String },
    /// Refused (`CLOS`).
    Failed { reason: String },
    /// Paid, then sent back by the payee's bank (`REFU`).
    Returned { reason: String },
    /// No answer, a system error, an answer that says nothing: ask again later.
    Unknown { detail: String },
    /// The channel has no such payout (it never got it).
    NotFound,
}

impl From<Result<PayoutStatus, ChannelError>> for Outcome {
    fn from(result: Result<PayoutStatus, ChannelError>) -> Outcome {
        match result {
            Ok(PayoutStatus::Pending { channel_reference }) => Outcome::Pending { channel_reference },
            Ok(PayoutStatus::Succeeded { channel_reference }) => Outcome::Succeeded { channel_reference },
            Ok(PayoutStatus::Failed { reason }) => Outcome::Failed { reason },
            Ok(PayoutStatus::Returned { reason }) => Outcome::Returned { reason },
            Err(ChannelError::NotFound) => Outcome::NotFound,
            Err(error) => Outcome::Unknown { detail: error.to_string() },
        }
    }
}

impl Outcome {
    /// How the exchange that brought it is kept: the answer and what came with it.
    fn answer(&self) -> (ChannelAnswer, &str) {
        match self {
            Outcome::Pending { channel_reference } => (ChannelAnswer::Pending, channel_reference),
            Outcome::Succeeded { channel_reference } => (ChannelAnswer::Succeeded, channel_reference),
            Outcome::Failed { reason } => (ChannelAnswer::Failed, reason),
            Outcome::Returned { reason } => (ChannelAnswer::Returned, reason),
            Outcome::Unknown { detail } => (ChannelAnswer::Unknown, detail),
            Outcome::NotFound => (ChannelAnswer::NotFound, ""),
        }
    }
}

/// What recording an outcome did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// The payout moved on (or its reference was kept).
    Applied(PayoutRow),
    /// Nothing new: a replay, a report older than what is known, or no outcome yet.
    Unchanged(PayoutRow),
    /// The report contradicts what is recorded (a failure after a success, an outcome for a
    /// payout never submitted): nothing moved, the payout is flagged for an operator.
    Contradiction(PayoutRow),
}

/// Records `outcome` for the payout, in one transaction with its bookings. `actor` says who
/// reported it (`channel:sandbox`, `query`).
pub fn record(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    id: PayoutId,
    outcome: &Outcome,
    actor: &str,
) -> Result<Recorded, PayoutError> {
    storage::database::transaction(conn, |conn| {
        let payout = rows::find_for_update(conn, id)?.ok_or(PayoutError::NotFound)?;
        let (answer, detail) = outcome.answer();
        rows::insert_exchange(conn, id, actor, answer, detail)?;
        apply(conn, calendar, payout, outcome, actor)
    })
}

/// A channel's payout callback, verified by the channel: applied like any other report, to the
/// payout of that number the channel was given. `None` when the channel has no payout of ours by
/// that number (nothing changes).
pub fn record_callback(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    channel: &str,
    callback: channel::PayoutCallback,
) -> Result<Option<Recorded>, PayoutError> {
    let Some(payout) = rows::find_by_out_trade_no(conn, &callback.out_trade_no)?.filter(|p| p.channel == channel)
    else {
        return Ok(None);
    };
    let outcome = Outcome::from(Ok(callback.status));
    record(conn, calendar, payout.id, &outcome, &format!("callback:{channel}")).map(Some)
}

fn apply(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    payout: PayoutRow,
    outcome: &Outcome,
    actor: &str,
) -> Result<Recorded, PayoutError> {
    use Outcome as O;
    use PayoutState as S;
    let step = |conn: &mut PgConnection, payout: &PayoutRow, transition, details| {
        transition::apply(conn, calendar, payout, transition, actor, details)
    };
    Ok(match (payout.state, outcome) {
        (S::Submitted, O::Succeeded { channel_reference }) => {
            let details = Details { channel_reference: Some(channel_reference), ..Details::default() };
            Recorded::Applied(step(conn, &payout, PayoutTransition::Succeed, details)?)
        }
        (S::Submitted, O::Failed { reason }) => {
            let details = Details { failure_reason: Some(reason), detail: Some(reason), ..Details::default() };
            Recorded::Applied(step(conn, &payout, PayoutTransition::Fail, details)?)
        }
        // A return reported before the success was: the payout was made, then sent back.
        (S::Submitted, O::Returned { reason }) => {
            let paid = step(conn, &payout, PayoutTransition::Succeed, Details::default())?;
            Recorded::Applied(returned(conn, calendar, &paid, reason, actor)?)
        }
        (S::Succeeded, O::Returned { reason }) => Recorded::Applied(returned(conn, calendar, &payout, reason, actor)?),
        (S::Submitted, O::Pending { channel_reference }) => {
            rows::note_reference(conn, payout.id, channel_reference)?;
            Recorded::Applied(payout)
        }
        // Nothing known yet, or a report the recorded state already covers.
        (_, O::Unknown { .. } | O::NotFound)
        | (S::Succeeded, O::Succeeded { .. } | O::Pending { .. })
        | (S::Returned, O::Succeeded { .. } | O::Returned { .. } | O::Pending { .. })
        | (S::Failed, O::Failed { .. } | O::Pending { .. })
        | (S::Rejected, O::Failed { .. }) => Recorded::Unchanged(payout),
        (_, O::Pending { .. } | O::Succeeded { .. } | O::Failed { .. } | O::Returned { .. }) => {
            tracing::error!(payout_id = %payout.id, state = %payout.state, ?outcome, "a payout outcome contradicts the one recorded");
            rows::flag_attention(conn, payout.id)?;
            Recorded::Contradiction(payout)
        }
    })
}

/// The payee's bank sent the money back: it is the merchant's again, and the merchant's scheduled
/// payouts pause until an operator confirms or changes the account.
fn returned(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    paid: &PayoutRow,
    reason: &str,
    actor: &str,
) -> Result<PayoutRow, PayoutError> {
    let details = Details { failure_reason: Some(reason), detail: Some(reason), ..Details::default() };
    let returned = transition::apply(conn, calendar, paid, PayoutTransition::Return, actor, details)?;
    let why = format!("payout {} returned by the bank: {reason}", returned.out_trade_no);
    storage::payouts::set_stop(conn, returned.merchant_id, StopKind::ReturnedAccount, &why, actor)?;
    Ok(returned)
}
