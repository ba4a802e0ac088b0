//! Applications and their life cycle: create (optionally submitting), edit while a draft, the
//! simple transitions, and approval, which assigns the `sub_merchant_id` and the merchant's app.
use chrono::{NaiveDateTime, Utc};
use diesel::PgConnection;
use domain::{
    AppId, AppRowId, MerchantId, SubMerchantId,
    onboarding::{Application, ApplicationState, HistoryStep, RateChoice, RawApplication, Transition},
};
use rand::Rng;
use serde_json::json;
use storage::{
    StorageError, apps,
    audit::{self, Actor, NewEntry},
    merchants::{self, HistoryEntry, MerchantFields, MerchantRow},
    rates::{self as rate_rows, RateSource, StoredRates},
};

use crate::OnboardingError;

/// Ids embed the time in China Standard Time, where the provider operates.
pub(crate) fn china_now() -> NaiveDateTime {
    Utc::now().with_timezone(&domain::calendar::china()).naive_local()
}

/// A merchant as loaded: its stored fields and its typed state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Merchant {
    #[serde(flatten)]
    pub row: MerchantRow,
    #[serde(skip)]
    pub state: ApplicationState,
}

impl Merchant {
    pub(crate) fn from_row(row: MerchantRow) -> Result<Merchant, OnboardingError> {
        Ok(Merchant { state: row.state, row })
    }

    pub fn id(&self) -> MerchantId {
        self.row.id
    }
}

pub fn find(conn: &mut PgConnection, id: MerchantId) -> Result<Merchant, OnboardingError> {
    Merchant::from_row(merchants::find(conn, id)?.ok_or(OnboardingError::MerchantNotFound)?)
}

pub(crate) fn lock(conn: &mut PgConnection, id: MerchantId) -> Result<Merchant, OnboardingError> {
    Merchant::from_row(merchants::find_for_update(conn, id)?.ok_or(OnboardingError::MerchantNotFound)?)
}

fn fields_of(application: &Application) -> MerchantFields {
    let raw = application.to_raw();
    MerchantFields {
        external_id: raw.external_id,
        legal_name: raw.legal_name.unwrap_or_default(),
        short_name: raw.short_name.unwrap_or_default(),
        unified_social_credit_code: raw.unified_social_credit_code.unwrap_or_default(),
        legal_representative: raw.legal_representative.unwrap_or_default(),
        contact_name: raw.contact_name.unwrap_or_default(),
        contact_mobile: raw.contact_mobile.unwrap_or_default(),
        contact_email: raw.contact_email.unwrap_or_default(),
        business_category: raw.business_category.unwrap_or_default(),
        site_name: raw.site_name.unwrap_or_default(),
        icp_filing_number: raw.icp_filing_number.unwrap_or_default(),
        account_type: application.settlement_account.account_type(),
        account_holder: raw.account_holder.unwrap_or_default(),
        account_number: domain::onboarding::StoredAccountNumber::new(raw.account_number.unwrap_or_default()),
        bank_code: raw.bank_code.unwrap_or_default(),
        branch_name: raw.branch_name,
        cnaps_code: raw.cnaps_code,
        payout_schedule: raw.payout_schedule.unwrap_or_default(),
        payout_weekday: raw.payout_weekday,
        payout_cutoff: raw.payout_cutoff,
    }
}

/// The application's rate choice as stored: a plan (which must exist) or its own rates.
fn rate_source(conn: &mut PgConnection, choice: &RateChoice) -> Result<RateSource, OnboardingError> {
    match choice {
        RateChoice::Plan(code) => {
            let plan = rate_rows::find_plan_by_code(conn, code.as_ref())?
                .ok_or_else(|| OnboardingError::UnknownRatePlan(code.to_string()))?;
            Ok(RateSource::Plan(plan.id))
        }
        RateChoice::Own(rates) => Ok(RateSource::Own(StoredRates {
            bank_commission: rates.bank_commission().as_decimal(),
            pay_platform: rates.pay_platform().as_decimal(),
            liquidator_commission: rates.liquidator_commission().as_decimal(),
        })),
    }
}

fn parse(raw: &RawApplication) -> Result<Application, OnboardingError> {
    Application::parse(raw).map_err(OnboardingError::InvalidApplication)
}

fn duplicate_external_id(error: StorageError) -> OnboardingError {
    if error.is_unique_violation() { OnboardingError::DuplicateExternalId } else { error.into() }
}

/// Creates an application as a draft, and submits it at once when `submit` is set. `owner_app_id`
/// is the ISV app that onboards it through the gateway (none for the provider's own operators).
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    raw: &RawApplication,
    owner_app_id: Option<AppRowId>,
    submit: bool,
) -> Result<Merchant, OnboardingError> {
    let application = parse(raw)?;
    storage::database::transaction(conn, |conn| {
        let source = rate_source(conn, &application.rates)?;
        let row = merchants::insert(conn, &fields_of(&application), owner_app_id, ApplicationState::Draft)
            .map_err(duplicate_external_id)?;
        rate_rows::insert_merchant_rates(conn, row.id, &source, Utc::now(), &actor.name)?;
        merchants::record_history(
            conn,
            HistoryEntry {
                merchant_id: row.id,
                from_state: None,
                to_state: ApplicationState::Draft,
                step: HistoryStep::Create,
                actor: &actor.name,
                reason: None,
            },
        )?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "merchant.create",
                target: format!("merchant:{}", row.id),
                before: None,
                after: Some(
                    json!({ "legal_name": row.legal_name, "short_name": row.short_name, "external_id": row.external_id }),
                ),
            },
        )?;
        let merchant = Merchant::from_row(row)?;
        if submit { apply(conn, actor, merchant, Transition::Submit, None) } else { Ok(merchant) }
    })
}

/// Replaces a draft's fields and rates (after "request changes", or before submitting).
pub fn update_draft(
    conn: &mut PgConnection,
    actor: &Actor,
    id: MerchantId,
    raw: &RawApplication,
) -> Result<Merchant, OnboardingError> {
    let application = parse(raw)?;
    storage::database::transaction(conn, |conn| {
        let merchant = lock(conn, id)?;
        if merchant.state != ApplicationState::Draft {
            return Err(OnboardingError::WrongState(format!(
                "only a draft can be edited; this application is {}",
                merchant.state.as_str()
            )));
        }
        let source = rate_source(conn, &application.rates)?;
        if !merchants::update_fields(conn, id, ApplicationState::Draft, &fields_of(&application))
            .map_err(duplicate_external_id)?
        {
            return Err(OnboardingError::ConcurrentChange);
        }
        rate_rows::insert_merchant_rates(conn, id, &source, Utc::now(), &actor.name)?;
        audit::record(
            conn,
            actor,
            NewEntry { action: "merchant.edit", target: format!("merchant:{id}"), before: None, after: None },
        )?;
        find(conn, id)
    })
}

/// Transitions an operator or API caller may ask for directly. Verification and approval have
/// their own functions because they do more than change the state.
fn is_direct(transition: Transition) -> bool {
    matches!(
        transition,
        Transition::Submit
            | Transition::RequestChanges
            | Transition::Reject
            | Transition::Freeze
            | Transition::Unfreeze
            | Transition::Close
    )
}

fn needs_reason(transition: Transition) -> bool {
    matches!(transition, Transition::RequestChanges | Transition::Reject | Transition::Freeze | Transition::Close)
}

pub fn transition(
    conn: &mut PgConnection,
    actor: &Actor,
    id: MerchantId,
    transition: Transition,
    reason: Option<&str>,
) -> Result<Merchant, OnboardingError> {
    let reason = reason.map(str::trim).filter(|reason| !reason.is_empty());
    if needs_reason(transition) && reason.is_none() {
        return Err(OnboardingError::ReasonRequired);
    }
    if reason.is_some_and(|reason| reason.chars().count() > 500) {
        return Err(OnboardingError::InvalidField { field: "reason", message: "at most 500 characters".into() });
    }
    if !is_direct(transition) {
        return Err(OnboardingError::InvalidField {
            field: "transition",
            message: format!("{} is not a direct action", transition.as_str()),
        });
    }
    storage::database::transaction(conn, |conn| {
        let merchant = lock(conn, id)?;
        apply(conn, actor, merchant, transition, reason)
    })
}

/// Applies a transition to a locked merchant: checks it is legal, updates guarded, records the
/// history and the audit entry. Must run inside the caller's transaction.
pub(crate) fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant: Merchant,
    transition: Transition,
    reason: Option<&str>,
) -> Result<Merchant, OnboardingError> {
    let from = merchant.state;
    let to = from.apply(transition)?;
    if !merchants::set_state(conn, merchant.id(), from, to)? {
        return Err(OnboardingError::ConcurrentChange);
    }
    record_transition(conn, actor, merchant.id(), from, to, transition, reason)?;
    find(conn, merchant.id())
}

fn record_transition(
    conn: &mut PgConnection,
    actor: &Actor,
    id: MerchantId,
    from: ApplicationState,
    to: ApplicationState,
    transition: Transition,
    reason: Option<&str>,
) -> Result<(), OnboardingError> {
    merchants::record_history(
        conn,
        HistoryEntry {
            merchant_id: id,
            from_state: Some(from),
            to_state: to,
            step: HistoryStep::Transition(transition),
            actor: &actor.name,
            reason,
        },
    )?;
    audit::record(
        conn,
        actor,
        NewEntry {
            action: "merchant.transition",
            target: format!("merchant:{id}"),
            before: Some(json!({ "state": from.as_str() })),
            after: Some(json!({ "state": to.as_str(), "transition": transition.as_str(), "reason": reason })),
        },
    )?;
    Ok(())
}

/// Tries fresh random ids until one is free; each try runs in a savepoint so a collision does not
/// abort the surrounding transaction.
fn with_unique_id<T>(
    conn: &mut PgConnection,
    mut attempt: impl FnMut(&mut PgConnection) -> Result<T, StorageError>,
) -> Result<T, OnboardingError> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        match storage::database::transaction(conn, |conn| attempt(conn)) {
            Ok(value) => return Ok(value),
            Err(error) if error.is_unique_violation() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(OnboardingError::IdExhausted)
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub merchant: Merchant,
    pub sub_merchant_id: SubMerchantId,
    pub app: apps::AppRow,
}

/// Approves an application in review: assigns its `sub_merchant_id` and its own app, in one
/// transaction. Concurrent approvals of one application produce exactly one id: the row lock
/// serialises them, and the loser finds the application already approved.
pub fn approve(conn: &mut PgConnection, actor: &Actor, id: MerchantId) -> Result<Approval, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = lock(conn, id)?;
        let from = merchant.state;
        let to = from.apply(Transition::Approve)?;
        let mut approved = false;
        let sub_merchant_id = with_unique_id(conn, |conn| {
            let candidate = SubMerchantId::generate(china_now(), rand::thread_rng().gen_range(0..1_000_000));
            approved = merchants::approve(conn, id, from, candidate.as_ref())?;
            Ok(candidate)
        })?;
        if !approved {
            return Err(OnboardingError::ConcurrentChange);
        }
        let name = merchant.row.short_name.clone();
        let app = with_unique_id(conn, |conn| {
            let app_id = AppId::generate(china_now().date(), rand::thread_rng().gen_range(0..100_000_000));
            apps::insert(
                conn,
                apps::NewApp {
                    app_id: app_id.as_ref(),
                    kind: domain::onboarding::AppKind::Merchant,
                    merchant_id: Some(id),
                    name: &name,
                    sign_type: domain::onboarding::SignType::Rsa2,
                },
            )
        })?;
        record_transition(conn, actor, id, from, to, Transition::Approve, None)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "merchant.approve",
                target: format!("merchant:{id}"),
                before: None,
                after: Some(json!({ "sub_merchant_id": sub_merchant_id.as_ref(), "app_id": app.app_id })),
            },
        )?;
        Ok(Approval { merchant: find(conn, id)?, sub_merchant_id, app })
    })
}

/// Why an imported merchant skipped the micro-deposit, as recorded in its history.
pub const IMPORT_REASON: &str = "imported: settlement account verified before migration";

/// Migrates an existing, already verified merchant (`liquidator merchant create --approve`): the
/// application is created and walked through every state to approved in one transaction, each step
/// in the history with the actor and [`IMPORT_REASON`], so nothing about it is hidden.
pub fn import_approved(
    conn: &mut PgConnection,
    actor: &Actor,
    raw: &RawApplication,
    owner_app_id: Option<AppRowId>,
) -> Result<Approval, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = create(conn, actor, raw, owner_app_id, true)?;
        let id = merchant.id();
        let merchant = apply(conn, actor, merchant, Transition::StartVerification, Some(IMPORT_REASON))?;
        apply(conn, actor, merchant, Transition::AccountVerified, Some(IMPORT_REASON))?;
        approve(conn, actor, id)
    })
}
