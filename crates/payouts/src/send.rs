//! Handing payouts to their channel, and asking it about those whose outcome is not known. No
//! transaction is open while the channel is called: the payout is marked submitted (and its
//! first question scheduled) before, and the channel's word is recorded after. Each payout goes
//! through the channel it was made for (its row says which), found in the deployment's registry.
use std::sync::Arc;

use channel::{PayOut, Payee, PayoutRequest, Registry};
use chrono::Utc;
use diesel::PgConnection;
use domain::{PayoutId, calendar::BusinessCalendar, onboarding::BankAccountNumber, payouts::PayoutState};
use storage::{
    Pool,
    database::run_blocking,
    payouts::{self as rows, PayoutRow},
};

use crate::{
    PayoutError, Settings,
    outcome::{self, Outcome, Recorded},
    transition::{self, Details},
};

/// Submits the payout: marks it submitted unless it is already, calls the channel with its own
/// `out_trade_no` (a channel answers a repeated number with the first answer), and records what
/// the channel said. Does nothing for a payout that is neither created nor submitted.
pub async fn submit(
    pool: &Pool,
    calendar: BusinessCalendar,
    settings: &Settings,
    channels: &Registry,
    id: PayoutId,
) -> Result<Option<Recorded>, PayoutError> {
    let first_query_at = Utc::now() + settings.first_query_after();
    let found = run_blocking(pool, move |conn| Ok::<_, PayoutError>(rows::find(conn, id)?)).await?;
    let Some(found) = found else { return Err(PayoutError::NotFound) };
    if !matches!(found.state, PayoutState::Created | PayoutState::Submitted) {
        // Decided already (a job run twice, a callback first): nothing to hand over.
        return Ok(None);
    }
    let channel = channel_of(channels, &found)?;
    if !channel.accepts_payouts() {
        // Its breaker is open: the payout stays as it is and is handed over on a later try.
        return Err(PayoutError::ChannelPaused(found.channel));
    }
    let names_the_merchant = channel.names_the_merchant();
    let prepared = run_blocking(pool, move |conn| {
        let Some(payout) = mark_submitted(conn, &calendar, id, first_query_at)? else { return Ok(None) };
        let request = request_to(conn, &payout, names_the_merchant)?;
        Ok::<_, PayoutError>(Some(request))
    })
    .await?;
    let Some(request) = prepared else { return Ok(None) };
    let answer = Outcome::from(channel.payout(&request).await);
    let actor = format!("channel:{}", channel.name());
    let recorded = run_blocking(pool, move |conn| outcome::record(conn, &calendar, id, &answer, &actor)).await?;
    Ok(Some(recorded))
}

/// The channel the payout was made for. A deployment that no longer has it (its configuration
/// changed while payouts were in flight) cannot move them: an error, and the payout waits.
fn channel_of(channels: &Registry, payout: &PayoutRow) -> Result<Arc<dyn PayOut>, PayoutError> {
    channels.pay_out(&payout.channel).ok_or_else(|| PayoutError::NoChannel(payout.channel.clone()))
}

/// The payout, submitted, if it is to be handed to the channel now.
fn mark_submitted(
    conn: &mut PgConnection,
    calendar: &BusinessCalendar,
    id: PayoutId,
    first_query_at: chrono::DateTime<Utc>,
) -> Result<Option<PayoutRow>, PayoutError> {
    storage::database::transaction(conn, |conn| {
        let payout = rows::find_for_update(conn, id)?.ok_or(PayoutError::NotFound)?;
        match payout.state {
            PayoutState::Created => {
                let details = Details { next_query_at: Some(first_query_at), ..Details::default() };
                let submitted = transition::apply(
                    conn,
                    calendar,
                    &payout,
                    domain::payouts::PayoutTransition::Submit,
                    "worker",
                    details,
                )?;
                Ok(Some(submitted))
            }
            // Submitted before, outcome unknown: the same number again is safe.
            PayoutState::Submitted => Ok(Some(payout)),
            _ => Ok(None),
        }
    })
}

/// Asks the channel about every submitted payout whose next question is due (a batch at a time,
/// shared between nodes), sends again under the same number any the channel never got, and flags
/// those past the attention age. Returns how many were asked about.
pub async fn query_due(
    pool: &Pool,
    calendar: BusinessCalendar,
    settings: &Settings,
    channels: &Registry,
) -> Result<usize, PayoutError> {
    const BATCH: i64 = 100;
    let intervals = settings.query_intervals_seconds.clone();
    let claimed = run_blocking(pool, move |conn| {
        Ok::<_, PayoutError>(rows::claim_due_queries(conn, Utc::now(), &intervals, BATCH)?)
    })
    .await?;
    for payout in &claimed {
        let channel = channel_of(channels, payout)?;
        let actor = format!("query:{}", channel.name());
        let answer = ask(pool, channel.as_ref(), payout, &actor).await?;
        let id = payout.id;
        run_blocking(pool, move |conn| outcome::record(conn, &calendar, id, &answer, &actor)).await?;
    }
    // A payout whose submit job died or gave up is still `created`: hand it over here. A submit
    // job running at the same moment is harmless: the row lock orders the two, and the second
    // sends the same number again.
    let stale_before = Utc::now() - settings.first_query_after().max(chrono::Duration::seconds(10));
    let stale =
        run_blocking(pool, move |conn| Ok::<_, PayoutError>(rows::stale_created(conn, stale_before, BATCH)?)).await?;
    for id in stale {
        match submit(pool, calendar, settings, channels, id).await {
            Ok(_) | Err(PayoutError::ChannelPaused(_)) => {}
            Err(error) => return Err(error),
        }
    }
    let overdue_before = Utc::now() - settings.attention_after;
    let flagged =
        run_blocking(pool, move |conn| Ok::<_, PayoutError>(rows::flag_overdue(conn, overdue_before)?)).await?;
    if flagged > 0 {
        tracing::warn!(flagged, "payouts without an outcome need attention");
    }
    Ok(claimed.len())
}

/// Asks the channel about one payout now (an operator's "query now"); a payout the channel never
/// got is handed over under its own number. Nothing is asked for a payout that is not submitted.
pub async fn query_one(
    pool: &Pool,
    calendar: BusinessCalendar,
    channels: &Registry,
    id: PayoutId,
    actor: &str,
) -> Result<Option<Recorded>, PayoutError> {
    let payout = run_blocking(pool, move |conn| Ok::<_, PayoutError>(rows::find(conn, id)?)).await?;
    let Some(payout) = payout.filter(|payout| payout.state == PayoutState::Submitted) else { return Ok(None) };
    let channel = channel_of(channels, &payout)?;
    let answer = ask(pool, channel.as_ref(), &payout, actor).await?;
    let actor = actor.to_string();
    let recorded = run_blocking(pool, move |conn| outcome::record(conn, &calendar, id, &answer, &actor)).await?;
    Ok(Some(recorded))
}

/// Asks the channel about a submitted payout. One it never got (marked submitted, then a crash
/// before the call) is handed over now under its own number; the "no such payout" is kept among
/// the payout's exchanges first.
async fn ask(pool: &Pool, channel: &dyn PayOut, payout: &PayoutRow, actor: &str) -> Result<Outcome, PayoutError> {
    let names_the_merchant = channel.names_the_merchant();
    let row = payout.clone();
    let request = run_blocking(pool, move |conn| request_to(conn, &row, names_the_merchant)).await?;
    let answer = Outcome::from(channel.query_payout(&request).await);
    if answer != Outcome::NotFound {
        return Ok(answer);
    }
    let (id, actor) = (payout.id, actor.to_string());
    run_blocking(pool, move |conn| {
        Ok::<_, PayoutError>(rows::insert_exchange(conn, id, &actor, domain::payouts::ChannelAnswer::NotFound, "")?)
    })
    .await?;
    Ok(Outcome::from(channel.payout(&request).await))
}

/// What the channel is asked to pay, naming the merchant by its id at the channel when the
/// channel pays out of the merchant's balance there.
fn request_to(
    conn: &mut PgConnection,
    payout: &PayoutRow,
    names_the_merchant: bool,
) -> Result<PayoutRequest, PayoutError> {
    let merchant_at_channel = if names_the_merchant {
        storage::upstream::find_registration(conn, payout.merchant_id)?.and_then(|row| row.upstream_sub_merchant_id)
    } else {
        None
    };
    request(payout, merchant_at_channel)
}

/// What the channel is asked to pay: the payee as it was when the money was reserved.
pub fn request(payout: &PayoutRow, merchant_at_channel: Option<String>) -> Result<PayoutRequest, PayoutError> {
    let account_number =
        BankAccountNumber::parse(payout.account_number.digits(), payout.account_type).map_err(|_| {
            PayoutError::BrokenInvariant(format!("payout {}: its stored account number does not parse", payout.id))
        })?;
    Ok(PayoutRequest {
        out_trade_no: payout.out_trade_no.clone(),
        amount: payout.amount_fen,
        subject: "代付 payout".into(),
        payee: Payee {
            account_number,
            account_name: payout.account_holder.clone(),
            bank_code: payout.bank_code.clone(),
            cnaps_code: payout.cnaps_code.clone(),
        },
        merchant_at_channel,
    })
}
