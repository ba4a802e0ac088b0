//! What the onboarding methods (`fshows.liquidation.submerchant.*`, SPEC §4) share.
//!
//! Only an ISV app may call them (`-102` for any other app). An ISV acts only on the merchants it
//! onboarded: a merchant of another ISV, or of nobody, is `-203` exactly like one that does not
//! exist, so an ISV cannot learn which ids other ISVs use. A merchant is named by
//! `sub_merchant_id` (once approved) or by the ISV's own `external_id` (at any time); when both
//! are given they must name the same merchant.
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use domain::{
    SubMerchantId,
    onboarding::{BankAccountNumber, ExternalId},
};
use onboarding::OnboardingError;
use storage::{apps::AppRow, audit::Actor, merchants::MerchantRow};

use super::Call;
use fshows::reply::ReplyValue;

use crate::{error::GatewayError, redact};

/// The time format of `effective_time` and `query_time`, in China Standard Time.
const CHINA_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `-102` unless the calling app is an ISV's.
pub(super) fn require_isv(app: &AppRow) -> Result<(), GatewayError> {
    if app.kind == domain::onboarding::AppKind::Isv {
        Ok(())
    } else {
        Err(GatewayError::PermissionDenied("only an ISV app may call the submerchant methods".into()))
    }
}

/// The audit log's name for what an app does through the gateway.
pub(super) fn actor(app: &AppRow) -> Actor {
    Actor { operator_id: None, name: format!("app:{}", app.app_id), client_ip: None }
}

/// The calling ISV's merchant that the content names by `sub_merchant_id` or `external_id`.
pub(super) fn owned_merchant(call: &mut Call<'_>) -> Result<MerchantRow, GatewayError> {
    require_isv(call.app)?;
    let sub_merchant_id = match call.content.text("sub_merchant_id")? {
        Some(text) => Some(SubMerchantId::parse(&text).map_err(|e| GatewayError::invalid("sub_merchant_id", e))?),
        None => None,
    };
    let external_id = match call.content.text("external_id")? {
        Some(text) => Some(ExternalId::parse(&text).map_err(|e| GatewayError::invalid("external_id", e))?),
        None => None,
    };
    let found = match (&sub_merchant_id, &external_id) {
        (Some(id), _) => storage::merchants::find_by_sub_merchant_id(call.conn, id.as_ref())?,
        (None, Some(id)) => storage::merchants::find_by_external_id(call.conn, Some(call.app.id), id.as_ref())?,
        (None, None) => {
            return Err(GatewayError::invalid("sub_merchant_id", "sub_merchant_id or external_id is required"));
        }
    };
    // An ISV may act only for the merchants it onboarded.
    let merchant =
        found.filter(|merchant| onboarding::access::may_act_for(call.app, merchant.id, merchant.owner_app_id));
    let merchant = merchant.ok_or(GatewayError::SubMerchantInvalid)?;
    if external_id.is_some_and(|id| merchant.external_id.as_deref() != Some(id.as_ref())) {
        return Err(GatewayError::SubMerchantInvalid);
    }
    Ok(merchant)
}

/// An optional time parameter, `yyyy-MM-dd HH:mm:ss` in China Standard Time.
pub(super) fn china_time_param(call: &Call<'_>, field: &'static str) -> Result<Option<DateTime<Utc>>, GatewayError> {
    let Some(text) = call.content.text(field)? else { return Ok(None) };
    let invalid = || GatewayError::invalid(field, "must be yyyy-MM-dd HH:mm:ss (China Standard Time)");
    let local = NaiveDateTime::parse_from_str(text.trim(), CHINA_TIME_FORMAT).map_err(|_| invalid())?;
    let at = domain::calendar::china().from_local_datetime(&local).single().ok_or_else(invalid)?;
    Ok(Some(at.with_timezone(&Utc)))
}

/// A stored text that is empty until it exists (`sub_merchant_id`, `app_id` before approval).
pub(super) fn text_or_empty(text: Option<String>) -> ReplyValue {
    ReplyValue::text(text.unwrap_or_default())
}

/// The merchant's own app id, once approval has created it.
pub(super) fn merchant_app_id(call: &mut Call<'_>, merchant: &MerchantRow) -> Result<ReplyValue, GatewayError> {
    let app = storage::apps::find_by_merchant(call.conn, merchant.id)?;
    Ok(text_or_empty(app.map(|app| app.app_id)))
}

/// The settlement account number as shown anywhere: first 4 and last 4 digits.
pub(super) fn masked_account_number(merchant: &MerchantRow) -> String {
    BankAccountNumber::parse(merchant.account_number.digits(), merchant.account_type)
        .map_or_else(|_| redact::mask(merchant.account_number.digits()), |number| number.masked())
}

/// Onboarding's errors as gateway codes. A refusal because of the merchant's state is `-220`; an
/// invalid application names its first invalid field (`无效参数 >> contact_mobile: …`).
pub(super) fn onboarding_error(error: OnboardingError) -> GatewayError {
    use OnboardingError::*;
    match error {
        InvalidApplication(errors) => match errors.0.into_iter().next() {
            Some(first) => GatewayError::invalid(first.field, first.message),
            None => GatewayError::invalid("content", "invalid application"),
        },
        WrongState(message) => GatewayError::InvalidOperation(message),
        InvalidField { field, message } => GatewayError::invalid(field, message),
        UnknownRatePlan(code) => GatewayError::invalid("rate_plan", format!("no such rate plan: {code}")),
        MerchantNotFound => GatewayError::SubMerchantInvalid,
        IllegalTransition(illegal) => GatewayError::InvalidOperation(illegal.to_string()),
        ConcurrentChange => GatewayError::General("the sub-merchant was changed at the same time; try again".into()),
        DuplicateExternalId => GatewayError::Duplicate("external_id"),
        other => {
            tracing::error!(error = ?other, "onboarding operation failed");
            GatewayError::ServerError
        }
    }
}
