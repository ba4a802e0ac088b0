//! The review actions of a merchant's page: the direct transitions (submit, request changes,
//! reject, freeze, unfreeze, close), starting the micro-deposit verification, entering the amount
//! the merchant received, approval, and the admin's audited reveal.
//!
//! Each handler parses, checks the role, calls one function and redirects back to the page with
//! a notice; a refusal is shown on the page itself (400), next to what was tried.
use crate::pages::Empty;
use actix_web::{
    HttpResponse,
    http::{StatusCode, header},
    web,
};
use domain::{Amount, MerchantId, onboarding::Transition};
use onboarding::{
    applications,
    verification::{self, Answer},
};
use serde::Deserialize;
use storage::database::run_blocking;

use super::{
    detail::{self, Extras},
    present_note, refusal,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    render,
};

#[derive(Deserialize)]
pub struct TransitionForm {
    transition: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    amount: String,
}

fn back(id: MerchantId, notice: &str) -> HttpResponse {
    render::see_other(&format!("/admin/merchants/{id}?notice={notice}"))
}

/// Shows a refusal on the merchant's page.
async fn refused(
    session: &SignedIn,
    state: &ConsoleState,
    id: MerchantId,
    message: String,
) -> Result<HttpResponse, ConsoleError> {
    detail::render(session, state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await
}

pub async fn transition(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<TransitionForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    let id = id.into_inner();
    let transition = Transition::parse(&form.transition)
        .ok_or_else(|| ConsoleError::BadRequest(format!("unknown action {:?}", form.transition)))?;
    // Closing ends a merchant for good: admins only (issue 3).
    session.require(if transition == Transition::Close {
        Permission::Administer
    } else {
        Permission::ManageMerchants
    })?;
    let reason = present_note("reason", form.reason, 600)?;
    let actor = session.actor();
    let result = run_blocking(&state.pool, move |conn| {
        applications::transition(conn, &actor, id, transition, reason.as_deref())
    })
    .await;
    match refusal(result)? {
        Ok(_) => Ok(back(id, "updated")),
        Err(message) => refused(&session, &state, id, message).await,
    }
}

pub async fn start_verification(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let session = posted.session;
    session.require(Permission::ManageMerchants)?;
    let (id, actor) = (id.into_inner(), session.actor());
    let Some(channel) = state.channels.payouts().map(|channel| channel.name()) else {
        let no_channel = crate::i18n::PayoutLabels::of(session.lang).no_channel.to_string();
        return refused(&session, &state, id, no_channel).await;
    };
    let route = payouts::verification::Route { channel, calendar: state.calendar };
    match refusal(run_blocking(&state.pool, move |conn| verification::start(conn, &actor, id, route)).await)? {
        Ok(_) => Ok(back(id, "verification_started")),
        Err(message) => refused(&session, &state, id, message).await,
    }
}

pub async fn answer(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<AnswerForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let id = id.into_inner();
    let amount = match Amount::parse_yuan(form.amount.trim()) {
        Ok(amount) => amount,
        Err(error) => return refused(&session, &state, id, error.to_string()).await,
    };
    let actor = session.actor();
    match refusal(run_blocking(&state.pool, move |conn| verification::answer(conn, &actor, id, amount)).await)? {
        Ok(Answer::Verified) => Ok(back(id, "verified")),
        Ok(Answer::Wrong { remaining }) => Ok(back(id, &format!("wrong_answer&remaining={remaining}"))),
        Ok(Answer::Failed) => Ok(back(id, "verification_failed")),
        Err(message) => refused(&session, &state, id, message).await,
    }
}

pub async fn approve(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let session = posted.session;
    session.require(Permission::ManageMerchants)?;
    let (id, actor) = (id.into_inner(), session.actor());
    match refusal(run_blocking(&state.pool, move |conn| applications::approve(conn, &actor, id)).await)? {
        Ok(_) => Ok(back(id, "approved")),
        Err(message) => refused(&session, &state, id, message).await,
    }
}

/// Shows the full account number, credit code and mobile once, on this response only; the
/// reveal is in the audit log before the page is sent.
pub async fn reveal(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let session = posted.session;
    session.require(Permission::Administer)?;
    let (id, actor) = (id.into_inner(), session.actor());
    let revealed = run_blocking(&state.pool, move |conn| onboarding::reveal::reveal(conn, &actor, id)).await?;
    let mut response =
        detail::render(&session, &state, id, Extras { revealed: Some(revealed), ..Extras::default() }, StatusCode::OK)
            .await?;
    // Neither the browser nor anything in between keeps a copy of the full numbers.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}
