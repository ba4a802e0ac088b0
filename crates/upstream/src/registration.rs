//! Registering merchants at their upstream: `submerchant.create` (a `-206` is queried, never
//! applied for again), `submerchant.query` until the upstream approves it, then
//! `submerchant.bank.bind` and `submerchant.rate.set`; then its orders may go there.
//!
//! Each registration moves one step per attempt, driven by [`advance_due`]; an attempt whose
//! answer is unknown is retried under the same id with a growing interval (seed 000: gentle).
use std::time::Duration;

use channel::{
    Registry,
    fshows::{CallError, Fshows, SubMerchantThere},
};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::{MerchantId, upstream::RegistrationState};
use serde_json::{Map, Value, json};
use storage::{
    Pool,
    audit::{self, Actor, NewEntry},
    database::run_blocking,
    merchants::MerchantRow,
    upstream::{self as rows, RegistrationRow, RegistrationStep},
};

use crate::UpstreamError;

/// Registrations claimed by one pass (each is one call to the upstream).
const BATCH: i64 = 20;
/// How long a node holds a claimed registration before another may take it.
const LEASE: Duration = Duration::from_secs(60);
/// The first retry of an unanswered or pending step, doubled per attempt up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(5);
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub started: usize,
    pub asked: usize,
}

/// Starts the registration of every approved merchant routed to an upstream that has none, then
/// moves each registration that is due one step on. Safe on several nodes: a claimed
/// registration is leased to the node that claimed it.
pub async fn advance_due(pool: &Pool, channels: &Registry, now: DateTime<Utc>) -> Result<Progress, UpstreamError> {
    let upstreams = channels.upstream_names();
    if upstreams.is_empty() {
        return Ok(Progress::default());
    }
    let default_channel = channels.payments_default();
    let lease_until = now + LEASE;
    let (started, claimed) = run_blocking(pool, move |conn| {
        let started = rows::start_registrations(conn, default_channel, &upstreams, now)?;
        let claimed = rows::claim_due_registrations(conn, now, lease_until, BATCH)?;
        Ok::<_, UpstreamError>((started, claimed))
    })
    .await?;
    let asked = claimed.len();
    for registration in claimed {
        let Some(upstream) = channels.upstream(&registration.channel) else {
            tracing::warn!(merchant_id = %registration.merchant_id, channel = %registration.channel, "no such upstream is configured");
            continue;
        };
        advance(pool, &upstream, registration).await?;
    }
    Ok(Progress { started, asked })
}

/// Asks the upstream the registration's next question and writes down the answer.
async fn advance(pool: &Pool, upstream: &Fshows, registration: RegistrationRow) -> Result<(), UpstreamError> {
    let merchant_id = registration.merchant_id;
    let merchant =
        run_blocking(pool, move |conn| Ok::<_, UpstreamError>(storage::merchants::find(conn, merchant_id)?)).await?;
    let Some(merchant) = merchant else { return Ok(()) };
    let state = registration.state;
    let answer = match (state, registration.upstream_sub_merchant_id.as_deref()) {
        (RegistrationState::Creating, _) => {
            let application = run_blocking(pool, move |conn| application(conn, &merchant)).await?;
            Answer::from_merchant(upstream.create_sub_merchant(&application).await)
        }
        (RegistrationState::AwaitingApproval, _) => {
            Answer::from_merchant(upstream.query_sub_merchant(&external_id(&merchant)).await)
        }
        (RegistrationState::Binding, Some(id)) => {
            Answer::from_step(upstream.bind_account(id, &account(&merchant)).await)
        }
        (RegistrationState::Rating, Some(id)) => {
            let rates = run_blocking(pool, move |conn| {
                Ok::<_, UpstreamError>(onboarding::rates::in_force(conn, merchant_id, Utc::now())?)
            })
            .await?;
            match rates {
                Some(in_force) => Answer::from_step(upstream.set_rates(id, &in_force.rates).await),
                None => Answer::Unknown("the merchant has no rates in force".to_string()),
            }
        }
        // Ready, refused, or a later step without the upstream's id (the database forbids it).
        _ => return Ok(()),
    };
    let step = next_step(&registration, answer, Utc::now());
    let moved = run_blocking(pool, move |conn| {
        let step = RegistrationStep {
            from: state,
            to: step.to,
            upstream_sub_merchant_id: step.upstream_sub_merchant_id.as_deref(),
            detail: &step.detail,
            next_attempt_at: step.next_attempt_at,
        };
        Ok::<_, UpstreamError>(rows::step_registration(conn, merchant_id, &step)?)
    })
    .await?;
    if moved {
        tracing::info!(%merchant_id, from = %state, "upstream registration advanced");
    }
    Ok(())
}

/// What the upstream's answer to one question comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// The merchant as the upstream has it (after a create or a query).
    Merchant(SubMerchantThere),
    /// The step was done.
    Done,
    /// The upstream refused for good: an operator's to sort out.
    Refused(String),
    /// No answer to act on: ask again later.
    Unknown(String),
}

impl Answer {
    fn from_merchant(result: Result<SubMerchantThere, CallError>) -> Answer {
        result.map_or_else(Answer::from_error, Answer::Merchant)
    }

    fn from_step(result: Result<(), CallError>) -> Answer {
        result.map_or_else(Answer::from_error, |()| Answer::Done)
    }

    /// A request the upstream finds wrong (`-1xx`), a merchant or app it does not accept, or
    /// rates it refuses, will be refused again; anything else (a duplicate still being worked
    /// out, too many requests, its own errors, no answer) may be answered next time.
    fn from_error(error: CallError) -> Answer {
        match error {
            CallError::Refused { code, message }
                if code.starts_with("-1") || matches!(code.as_str(), "-201" | "-202" | "-211" | "-220") =>
            {
                Answer::Refused(format!("{code} {message}"))
            }
            other => Answer::Unknown(other.to_string()),
        }
    }
}

/// The step a registration takes on an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NextStep {
    to: RegistrationState,
    upstream_sub_merchant_id: Option<String>,
    detail: String,
    next_attempt_at: DateTime<Utc>,
}

fn next_step(registration: &RegistrationRow, answer: Answer, now: DateTime<Utc>) -> NextStep {
    let from = registration.state;
    let again = |detail: String| NextStep {
        to: from,
        upstream_sub_merchant_id: None,
        detail,
        next_attempt_at: now + wait_after(registration.attempts),
    };
    let to = |to: RegistrationState, detail: String| NextStep {
        to,
        upstream_sub_merchant_id: None,
        detail,
        next_attempt_at: now,
    };
    match answer {
        Answer::Merchant(there) => match there.approved_id() {
            Some(id) => NextStep {
                upstream_sub_merchant_id: Some(id.to_string()),
                ..to(RegistrationState::Binding, format!("approved upstream as {id}"))
            },
            None if there.is_refused() => to(RegistrationState::Refused, format!("the upstream says {}", there.state)),
            None if from == RegistrationState::Creating => NextStep {
                next_attempt_at: now + FIRST_WAIT,
                ..to(RegistrationState::AwaitingApproval, format!("the upstream says {}", there.state))
            },
            None => again(format!("the upstream says {}", there.state)),
        },
        Answer::Done => match from {
            RegistrationState::Binding => to(RegistrationState::Rating, "account bound".to_string()),
            _ => to(RegistrationState::Ready, "rates set".to_string()),
        },
        Answer::Refused(why) => to(RegistrationState::Refused, why),
        Answer::Unknown(why) => again(why),
    }
}

/// Seed 000 forbids aggressive polling: 5 s, 10 s, 20 s, … up to an hour.
fn wait_after(attempts: i32) -> chrono::Duration {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    let wait = FIRST_WAIT.saturating_mul(2u32.saturating_pow(doublings)).min(LONGEST_WAIT);
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
}

/// The merchant's id at the upstream's side of the application: our public `sub_merchant_id`,
/// unique and never reused, so a retried create names the same application.
fn external_id(merchant: &MerchantRow) -> String {
    merchant.sub_merchant_id.clone().unwrap_or_else(|| format!("merchant-{}", merchant.id))
}

/// The settlement account as `submerchant.bank.bind` (and `.create`) take it.
fn account(merchant: &MerchantRow) -> Map<String, Value> {
    let mut account = Map::new();
    account.insert("account_type".into(), merchant.account_type.as_str().into());
    account.insert("account_holder".into(), merchant.account_holder.clone().into());
    account.insert("account_number".into(), merchant.account_number.digits().into());
    account.insert("bank_code".into(), merchant.bank_code.clone().into());
    if let Some(branch) = &merchant.branch_name {
        account.insert("branch_name".into(), branch.clone().into());
    }
    if let Some(cnaps) = &merchant.cnaps_code {
        account.insert("cnaps_code".into(), cnaps.clone().into());
    }
    account
}

/// `submerchant.create`'s content: the merchant's application as approved here, with the rates
/// it has here. Its payouts there are `manual`: they are this platform's to make (through
/// `witness.withdraw`), never the upstream's own schedule as well.
fn application(conn: &mut PgConnection, merchant: &MerchantRow) -> Result<Map<String, Value>, UpstreamError> {
    let rates = onboarding::rates::in_force(conn, merchant.id, Utc::now())?;
    let mut application = account(merchant);
    let fields = json!({
        "external_id": external_id(merchant),
        "legal_name": merchant.legal_name,
        "short_name": merchant.short_name,
        "unified_social_credit_code": merchant.unified_social_credit_code,
        "legal_representative": merchant.legal_representative,
        "contact_name": merchant.contact_name,
        "contact_mobile": merchant.contact_mobile,
        "contact_email": merchant.contact_email,
        "business_category": merchant.business_category,
        "site_name": merchant.site_name,
        "icp_filing_number": merchant.icp_filing_number,
        "payout_schedule": "manual",
    });
    if let Value::Object(fields) = fields {
        application.extend(fields);
    }
    if let Some(in_force) = rates {
        application.insert("bank_commission_rate".into(), in_force.rates.bank_commission().to_string().into());
        application.insert("pay_platform_rate".into(), in_force.rates.pay_platform().to_string().into());
        application
            .insert("liquidator_commission_rate".into(), in_force.rates.liquidator_commission().to_string().into());
    }
    Ok(application)
}

/// Sets (or clears, `None`: the platform's) the channel that takes the merchant's payments, with
/// its audit row, in one transaction; false if it was that already. A merchant routed to an
/// upstream is registered there by the upstream job; orders placed before keep their channel.
pub fn set_pay_in_channel(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    channel: Option<&str>,
) -> Result<bool, UpstreamError> {
    storage::database::transaction(conn, |conn| {
        let before = rows::pay_in_channel(conn, merchant_id)?;
        if !rows::set_pay_in_channel(conn, merchant_id, channel)? {
            return Ok(false);
        }
        let entry = NewEntry {
            action: "merchant.pay_in_channel",
            target: format!("merchant:{merchant_id}"),
            before: Some(json!({ "pay_in_channel": before })),
            after: Some(json!({ "pay_in_channel": channel })),
        };
        audit::record(conn, actor, entry)?;
        Ok(true)
    })
}

/// An operator's "ask again now": a registration in progress is asked about at the next pass, and
/// one the upstream refused starts over (a create under the same id, which finds the application
/// the upstream has). Audited; false if the merchant has no registration to ask about.
pub fn ask_again(conn: &mut PgConnection, actor: &Actor, merchant_id: MerchantId) -> Result<bool, UpstreamError> {
    storage::database::transaction(conn, |conn| {
        let Some(registration) = rows::find_registration(conn, merchant_id)? else { return Ok(false) };
        let to = match registration.state {
            RegistrationState::Ready => return Ok(false),
            RegistrationState::Refused => RegistrationState::Creating,
            in_progress => in_progress,
        };
        let step = RegistrationStep {
            from: registration.state,
            to,
            upstream_sub_merchant_id: None,
            detail: &format!("asked again by {}", actor.name),
            next_attempt_at: Utc::now(),
        };
        if !rows::step_registration(conn, merchant_id, &step)? {
            return Ok(false);
        }
        let entry = NewEntry {
            action: "upstream.ask_again",
            target: format!("merchant:{merchant_id}"),
            before: Some(json!({ "state": registration.state, "detail": registration.detail })),
            after: Some(json!({ "state": to })),
        };
        audit::record(conn, actor, entry)?;
        Ok(true)
    })
}

/// The merchant's registration at its upstream, if it has one.
pub fn of_merchant(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<RegistrationRow>, UpstreamError> {
    Ok(rows::find_registration(conn, merchant_id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(state: RegistrationState, attempts: i32) -> RegistrationRow {
        let now = Utc::now();
        RegistrationRow {
            merchant_id: MerchantId::new(1),
            channel: "fshows".into(),
            state,
            upstream_sub_merchant_id: None,
            detail: String::new(),
            attempts,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    fn there(state: &str, id: Option<&str>) -> Answer {
        let state = domain::onboarding::ApplicationState::parse(state).expect("a state");
        Answer::Merchant(SubMerchantThere { state, sub_merchant_id: id.map(str::to_string) })
    }

    #[test]
    fn a_registration_walks_create_approval_bind_rates_ready() {
        let now = Utc::now();
        let created = next_step(&registration(RegistrationState::Creating, 0), there("submitted", None), now);
        assert_eq!(created.to, RegistrationState::AwaitingApproval);
        assert!(created.next_attempt_at > now, "the approval is asked about later");
        let waiting = next_step(&registration(RegistrationState::AwaitingApproval, 3), there("in_review", None), now);
        assert_eq!(waiting.to, RegistrationState::AwaitingApproval);
        assert_eq!(waiting.next_attempt_at - now, chrono::Duration::seconds(40), "5 s doubled per attempt");
        let approved =
            next_step(&registration(RegistrationState::AwaitingApproval, 0), there("approved", Some("42")), now);
        assert_eq!(
            (approved.to, approved.upstream_sub_merchant_id.as_deref()),
            (RegistrationState::Binding, Some("42"))
        );
        assert_eq!(
            next_step(&registration(RegistrationState::Binding, 0), Answer::Done, now).to,
            RegistrationState::Rating
        );
        assert_eq!(
            next_step(&registration(RegistrationState::Rating, 0), Answer::Done, now).to,
            RegistrationState::Ready
        );
    }

    #[test]
    fn refusals_stop_a_registration_and_silence_retries_it_in_place() {
        let now = Utc::now();
        let rejected = next_step(&registration(RegistrationState::AwaitingApproval, 0), there("rejected", None), now);
        assert_eq!(rejected.to, RegistrationState::Refused);
        let refused = Answer::from_error(CallError::Refused { code: "-101".into(), message: "legal_name".into() });
        assert_eq!(
            next_step(&registration(RegistrationState::Creating, 0), refused, now).to,
            RegistrationState::Refused
        );
        for error in [
            CallError::Unknown("timeout".into()),
            CallError::HeldBack("create"),
            CallError::Refused { code: "-206".into(), message: String::new() },
            CallError::Refused { code: "-300".into(), message: String::new() },
        ] {
            let step = next_step(&registration(RegistrationState::Creating, 0), Answer::from_error(error), now);
            assert_eq!(step.to, RegistrationState::Creating, "asked again under the same id");
        }
        assert_eq!(wait_after(100), chrono::Duration::hours(1), "never more than an hour apart");
    }
}
