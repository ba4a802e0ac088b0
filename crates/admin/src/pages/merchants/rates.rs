//! `POST /admin/merchants/{id}/rates`: a merchant's next rates (a plan, or its own three rates),
//! in force from a given time, as `forms::rates` reads it.
use actix_web::{HttpResponse, http::StatusCode, web};
use chrono::Utc;
use domain::MerchantId;
use forms::rates::{MerchantRatesForm, RatesChoice};
use onboarding::rates::{self, NewRates};
use storage::database::run_blocking;

use super::{
    detail::{self, Extras},
    refusal,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    render,
};

pub async fn set(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<MerchantRatesForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let id = id.into_inner();
    let (choice, from) = match form.parse(Utc::now()) {
        Ok(parsed) => parsed,
        Err(message) => {
            return detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    let result = run_blocking(&state.pool, move |conn| {
        let new_rates = match &choice {
            RatesChoice::Plan(code) => NewRates::Plan(code),
            RatesChoice::Own(rates) => NewRates::Own(*rates),
        };
        rates::set_merchant_rates(conn, &actor, id, new_rates, from)
    })
    .await;
    match refusal(result)? {
        Ok(()) => Ok(render::see_other(&format!("/admin/merchants/{id}?notice=rates"))),
        Err(message) => detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await,
    }
}
