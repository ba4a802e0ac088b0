//! `POST /admin/merchants/{id}/settlement-days`: a merchant's T+N (finance or admin), audited in
//! the same transaction. Orders already paid settle by the new N from the next settlement run.
use actix_web::{HttpResponse, http::StatusCode, web};
use domain::calendar::SettlementDays;
use serde::Deserialize;
use serde_json::json;
use storage::{
    audit::{self, NewEntry},
    database::run_blocking,
    merchants,
};

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
    id: web::Path<i64>,
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
    let changed = run_blocking(&state.pool, move |conn| {
        storage::database::transaction(conn, |conn| -> Result<bool, ConsoleError> {
            let new = i16::try_from(days.get()).unwrap_or(i16::MAX);
            let Some(before) = merchants::set_settlement_days(conn, id, new)? else { return Ok(false) };
            let entry = NewEntry {
                action: "merchant.settlement_days",
                target: format!("merchant:{id}"),
                before: Some(json!({ "settlement_days": before })),
                after: Some(json!({ "settlement_days": new })),
            };
            audit::record(conn, &actor, entry)?;
            Ok(true)
        })
    })
    .await?;
    if !changed {
        return Err(ConsoleError::NotFound);
    }
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=settlement_days")))
}
