//! A merchant's app: register and revoke its public keys, change its sign type. Refusals (a
//! short, malformed or private key, a third active key) are shown on the merchant's page with
//! the key text kept, so the operator can see what was refused.
use actix_web::{HttpResponse, http::StatusCode, web};
use domain::{AppKeyId, AppRowId, MerchantId, onboarding::SignType};
use onboarding::{OnboardingError, credentials};
use serde::Deserialize;
use storage::{apps, database::run_blocking};

use super::{
    detail::{self, Extras},
    refusal,
};
use crate::pages::Empty;
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    render,
};

#[derive(Deserialize)]
pub struct KeyForm {
    public_key: String,
}

#[derive(Deserialize)]
pub struct SignTypeForm {
    sign_type: String,
}

/// The row id of the merchant's own app (it exists once the merchant is approved).
fn app_of(conn: &mut diesel::PgConnection, merchant_id: MerchantId) -> Result<AppRowId, OnboardingError> {
    Ok(apps::find_by_merchant(conn, merchant_id)?.ok_or(OnboardingError::AppNotFound)?.id)
}

pub async fn add_key(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<KeyForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let (id, actor) = (id.into_inner(), session.actor());
    let key_text = form.public_key.clone();
    let result = run_blocking(&state.pool, move |conn| {
        let app = app_of(conn, id)?;
        credentials::add_key(conn, &actor, app, &form.public_key)
    })
    .await;
    match refusal(result)? {
        Ok(_) => Ok(render::see_other(&format!("/admin/merchants/{id}?notice=key_added"))),
        Err(message) => {
            let extras = Extras { alert: Some(message), key_text, ..Extras::default() };
            detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn revoke_key(
    path: web::Path<(MerchantId, AppKeyId)>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let session = posted.session;
    session.require(Permission::ManageMerchants)?;
    let ((id, key_id), actor) = (path.into_inner(), session.actor());
    let result = run_blocking(&state.pool, move |conn| {
        let app = app_of(conn, id)?;
        credentials::revoke_key(conn, &actor, app, key_id)
    })
    .await;
    match refusal(result)? {
        Ok(()) => Ok(render::see_other(&format!("/admin/merchants/{id}?notice=key_revoked"))),
        Err(message) => detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await,
    }
}

pub async fn set_sign_type(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<SignTypeForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let sign_type = SignType::parse(&form.sign_type).map_err(|error| ConsoleError::BadRequest(error.to_string()))?;
    let (id, actor) = (id.into_inner(), session.actor());
    let result = run_blocking(&state.pool, move |conn| {
        let app = app_of(conn, id)?;
        credentials::set_sign_type(conn, &actor, app, sign_type)
    })
    .await;
    match refusal(result)? {
        Ok(_) => Ok(render::see_other(&format!("/admin/merchants/{id}?notice=sign_type"))),
        Err(message) => detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await,
    }
}
