//! Creating an application at most once per `external_id` (the gateway's `submerchant.create`).
//!
//! The gateway envelope has no nonce, so an ISV that did not see the answer to a create simply
//! sends it again; `external_id` is the key that makes that safe (SPEC §5). The same id with the
//! same application answers with the merchant the first call made, in whatever state it is now;
//! the same id with a different application is [`OnboardingError::DuplicateExternalId`].
use diesel::PgConnection;
use domain::AppRowId;
use domain::onboarding::{Application, ExternalId, RawApplication};
use storage::{
    audit::Actor,
    merchants::{self, MerchantRow},
    rates as rate_rows,
};

use crate::{
    OnboardingError,
    applications::{self, Merchant},
    rates,
};

/// The merchant a create call stands for, and whether an earlier call made it.
#[derive(Debug, Clone)]
pub struct Created {
    pub merchant: Merchant,
    pub replayed: bool,
}

/// Creates and submits the application for the ISV app `owner_app_id`, or answers with the
/// merchant an earlier identical call created. `external_id` is required here.
pub fn create_or_replay(
    conn: &mut PgConnection,
    actor: &Actor,
    raw: &RawApplication,
    owner_app_id: AppRowId,
) -> Result<Created, OnboardingError> {
    let application = Application::parse(raw).map_err(OnboardingError::InvalidApplication)?;
    let Some(external_id) = &application.external_id else {
        return Err(OnboardingError::InvalidField { field: "external_id", message: "is required".into() });
    };
    if let Some(created) = replay(conn, owner_app_id, external_id, &application)? {
        return Ok(created);
    }
    match applications::create(conn, actor, raw, Some(owner_app_id), true) {
        Ok(merchant) => Ok(Created { merchant, replayed: false }),
        // A concurrent call with the same id won the race; answer as its replay would be answered.
        Err(OnboardingError::DuplicateExternalId) => {
            replay(conn, owner_app_id, external_id, &application)?.ok_or(OnboardingError::DuplicateExternalId)
        }
        Err(error) => Err(error),
    }
}

fn replay(
    conn: &mut PgConnection,
    owner_app_id: AppRowId,
    external_id: &ExternalId,
    application: &Application,
) -> Result<Option<Created>, OnboardingError> {
    let Some(row) = merchants::find_by_external_id(conn, Some(owner_app_id), external_id.as_ref())? else {
        return Ok(None);
    };
    if as_created(conn, &row)? != application.to_raw() {
        return Err(OnboardingError::DuplicateExternalId);
    }
    Ok(Some(Created { merchant: applications::find(conn, row.id)?, replayed: true }))
}

/// The merchant's application in the canonical raw form of [`Application::to_raw`], with the
/// rates it was created with (later rate changes are versions of their own, not edits of the
/// application). A settlement account changed since is the current one, so a create replayed
/// after a `bank.bind` no longer matches: it is not a retry of the call that made the merchant.
fn as_created(conn: &mut PgConnection, row: &MerchantRow) -> Result<RawApplication, OnboardingError> {
    let first = rate_rows::merchant_rate_history(conn, row.id)?.into_iter().min_by_key(|version| version.id);
    let (rate_plan, own_rates) = match first {
        None => (None, None),
        Some(version) => match (version.own_rates(), version.rate_plan_id) {
            (Some(own), _) => (None, Some(rates::rates_of(own)?)),
            (None, Some(plan_id)) => (rate_rows::find_plan(conn, plan_id)?.map(|plan| plan.code), None),
            (None, None) => (None, None),
        },
    };
    let text = |value: &String| Some(value.clone());
    Ok(RawApplication {
        external_id: row.external_id.clone(),
        legal_name: text(&row.legal_name),
        short_name: text(&row.short_name),
        unified_social_credit_code: text(&row.unified_social_credit_code),
        legal_representative: text(&row.legal_representative),
        contact_name: text(&row.contact_name),
        contact_mobile: text(&row.contact_mobile),
        contact_email: text(&row.contact_email),
        business_category: text(&row.business_category),
        site_name: text(&row.site_name),
        icp_filing_number: text(&row.icp_filing_number),
        account_type: Some(row.account_type.as_str().to_owned()),
        account_holder: text(&row.account_holder),
        account_number: Some(row.account_number.digits().to_string()),
        bank_code: text(&row.bank_code),
        branch_name: row.branch_name.clone(),
        cnaps_code: row.cnaps_code.clone(),
        rate_plan,
        bank_commission_rate: own_rates.map(|rates| rates.bank_commission().to_string()),
        pay_platform_rate: own_rates.map(|rates| rates.pay_platform().to_string()),
        liquidator_commission_rate: own_rates.map(|rates| rates.liquidator_commission().to_string()),
        payout_schedule: text(&row.payout_schedule),
        payout_weekday: row.payout_weekday.clone(),
        payout_cutoff: row.payout_cutoff.clone(),
    })
}
