//! `POST /admin/merchants/{id}/settlement-days`: a merchant's T+N (finance or admin), audited in
//! the same transaction. Orders already paid settle by the new N from the next settlement run.
use actix_web::{HttpResponse, http::StatusCode, web};
use domain::{MerchantId, calendar::SettlementDays};
use serde::Deserialize;
use storage::database::run_blocking;

use super::detail::{self, Extras};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    render,
};

#[derive(Deserialize)]
pub struct SettlementDaysForm {
    settlement_days: Option<String>,
}

pub async fn set(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<SettlementDaysForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let id = id.into_inner();
    let m = session.lang.labels().merchant;
    let Ok(days) = SettlementDays::parse(form.settlement_days.as_deref().unwrap_or_default()) else {
        let extras = Extras::alert(m.settlement_days_invalid.to_string());
        return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
    };
    let actor = session.actor();
    let changed =
        run_blocking(&state.pool, move |conn| onboarding::settings::set_settlement_days(conn, &actor, id, days))
            .await?;
    if !changed {
        return Err(ConsoleError::NotFound);
    }
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=settlement_days")))
}
