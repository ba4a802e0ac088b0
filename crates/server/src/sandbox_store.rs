//! The sandbox channel's records in PostgreSQL: the store the server gives the sandbox (`channel`
//! never touches the database, `storage` knows no channel; this joins the two). Its payouts have
//! their own table; the payments it confirmed are the callbacks it sent that the platform
//! recorded, and its refunds the platform's refunds, so its daily bill is read from those.
use async_trait::async_trait;
use channel::{
    ChannelError, PayoutRequest, PayoutStatus,
    bill::BillLine,
    sandbox::{Kept, Records},
};
use chrono::NaiveDate;
use domain::{calendar::BusinessCalendar, payouts::ChannelPayoutState};
use storage::{
    Pool,
    database::run_blocking,
    sandbox_payouts::{self, SandboxPayoutRow},
};

pub struct StoredRecords {
    pub pool: Pool,
    /// The sandbox's days are the platform's business days, closing at the same cut-off.
    pub calendar: BusinessCalendar,
}

#[async_trait]
impl Records for StoredRecords {
    async fn keep_first(&self, request: &PayoutRequest, kept: &Kept) -> Result<Kept, ChannelError> {
        let row = row_of(request, kept);
        let kept =
            run_blocking(&self.pool, move |conn| sandbox_payouts::keep_first(conn, &row)).await.map_err(unknown)?;
        kept_of(kept)
    }

    async fn find(&self, out_trade_no: &str) -> Result<Option<Kept>, ChannelError> {
        let out_trade_no = out_trade_no.to_owned();
        let found =
            run_blocking(&self.pool, move |conn| sandbox_payouts::find(conn, &out_trade_no)).await.map_err(unknown)?;
        found.map(kept_of).transpose()
    }

    async fn bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        let (from, to) = self.calendar.span_of(date);
        let rows = run_blocking(&self.pool, move |conn| storage::reconciliation::sandbox_records(conn, from, to))
            .await
            .map_err(|error| ChannelError::Unavailable(format!("sandbox records: {error}")))?;
        Ok(rows.into_iter().map(ledger::bill::line).collect())
    }
}

/// The sandbox's records could not be read or written: for its callers, as for any channel that
/// does not answer, the outcome is unknown (to be queried, never taken as failed).
fn unknown(error: storage::StorageError) -> ChannelError {
    ChannelError::OutcomeUnknown(format!("sandbox records: {error}"))
}

fn row_of(request: &PayoutRequest, kept: &Kept) -> SandboxPayoutRow {
    let (state, channel_reference, reason) = match &kept.status {
        PayoutStatus::Pending { channel_reference } => {
            (ChannelPayoutState::Pending, Some(channel_reference.clone()), None)
        }
        PayoutStatus::Succeeded { channel_reference } => {
            (ChannelPayoutState::Succeeded, Some(channel_reference.clone()), None)
        }
        PayoutStatus::Failed { reason } => (ChannelPayoutState::Failed, None, Some(reason.clone())),
        PayoutStatus::Returned { reason } => (ChannelPayoutState::Returned, None, Some(reason.clone())),
    };
    SandboxPayoutRow {
        out_trade_no: request.out_trade_no.clone(),
        amount_fen: request.amount,
        status: state,
        channel_reference,
        reason,
        shows_at: kept.shows_at,
    }
}

fn kept_of(row: SandboxPayoutRow) -> Result<Kept, ChannelError> {
    let SandboxPayoutRow { status, channel_reference, reason, out_trade_no, shows_at, .. } = row;
    // The table's CHECKs pair each status with its field; anything else is a corrupt row.
    let corrupt = || ChannelError::OutcomeUnknown(format!("sandbox record of {out_trade_no} is corrupt"));
    let status = match (status, channel_reference, reason) {
        (ChannelPayoutState::Pending, Some(channel_reference), None) => PayoutStatus::Pending { channel_reference },
        (ChannelPayoutState::Succeeded, Some(channel_reference), None) => PayoutStatus::Succeeded { channel_reference },
        (ChannelPayoutState::Failed, None, Some(reason)) => PayoutStatus::Failed { reason },
        (ChannelPayoutState::Returned, None, Some(reason)) => PayoutStatus::Returned { reason },
        _ => return Err(corrupt()),
    };
    Ok(Kept { status, shows_at })
}
