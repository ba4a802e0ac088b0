//! The actions of an order's page: a refund by an operator, and sending a notification again.
//! Both are audited (see `orders::operator`); a refusal is shown on the order's page with a 400,
//! next to the form as it was filled in.
use crate::pages::Empty;
use actix_web::{HttpResponse, http::StatusCode, web};
use chrono::Utc;
use domain::{NotificationId, OrderId};
use forms::refund::{Refund, RefundForm, RefundRefusal};
use orders::operator::SendAgain;
use orders::{OrderError, refund::Refunded};
use storage::database::run_blocking;

use super::detail::{self, Extras};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    render,
};

pub async fn refund(
    id: web::Path<OrderId>,
    posted: ConsoleForm<RefundForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let id = id.into_inner();
    let o = session.lang.labels().order;
    let Refund { out_refund_no, amount } = match form.parse() {
        Ok(refund) => refund,
        Err(refusal) => {
            let alert = match refusal {
                RefundRefusal::OutRefundNo(error) => format!("{}: {error}", o.out_refund_no),
                RefundRefusal::AmountRequired => o.amount_required.to_string(),
                RefundRefusal::AmountInvalid(_) => o.amount_invalid.to_string(),
            };
            let extras = Extras { alert: Some(alert), refund_form: Some(form.entered()), ..Extras::default() };
            return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    let calendar = state.calendar;
    let result = run_blocking(&state.pool, move |conn| {
        orders::operator::refund(conn, &calendar, &actor, id, &out_refund_no, amount, Utc::now())
    })
    .await;
    let message = match result {
        Ok(Refunded::New { .. }) => return Ok(render::see_other(&format!("/admin/orders/{id}?notice=refunded"))),
        Ok(Refunded::Replay { .. }) => {
            return Ok(render::see_other(&format!("/admin/orders/{id}?notice=refund_replay")));
        }
        Err(OrderError::RefundTooLarge) => o.refund_too_large.to_string(),
        Err(OrderError::InsufficientBalance) => o.insufficient_balance.to_string(),
        Err(OrderError::DuplicateOutRefundNo) => o.duplicate_out_refund_no.to_string(),
        Err(OrderError::IllegalTransition(_)) => o.not_refundable.to_string(),
        Err(other) => match ConsoleError::from(other) {
            ConsoleError::BadRequest(message) => message,
            error => return Err(error),
        },
    };
    let extras = Extras { alert: Some(message), refund_form: Some(form.entered()), ..Extras::default() };
    detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await
}

/// One more send of a notification now, whatever its schedule said; the workers pick it up
/// within their poll interval.
pub async fn send_again(
    path: web::Path<(OrderId, NotificationId)>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let session = posted.session;
    session.require(Permission::ManageMerchants)?;
    let (id, notification_id) = path.into_inner();
    let actor = session.actor();
    let outcome = run_blocking(&state.pool, move |conn| {
        orders::operator::send_again(conn, &actor, id, notification_id, Utc::now())
    })
    .await?;
    match outcome {
        SendAgain::Queued => Ok(render::see_other(&format!("/admin/orders/{id}?notice=sent_again#notifications"))),
        SendAgain::NotFound => Err(ConsoleError::NotFound),
        SendAgain::InFlight => {
            let alert = Some(session.lang.labels().order.send_in_progress.to_string());
            detail::render(&session, &state, id, Extras { alert, ..Extras::default() }, StatusCode::BAD_REQUEST).await
        }
    }
}
