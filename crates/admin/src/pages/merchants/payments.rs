//! A merchant's payments on its page: the channel that takes them (its own choice or the
//! platform's), and — when that is an upstream — its registration there. Admins choose the
//! channel and may have the upstream asked again now; both are audited by the upstream crate.
use actix_web::{HttpResponse, http::StatusCode, web};
use domain::MerchantId;
use storage::{database::run_blocking, upstream::RegistrationRow};

use super::{
    detail::{self, Extras},
    payouts::ChannelForm,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::UpstreamLabels,
    pages::Empty,
    render,
    view::china_time,
};

/// What the merchant page shows of its payments.
pub struct PaymentsPanel {
    pub u: &'static UpstreamLabels,
    pub channel: String,
    pub own_channel: bool,
    /// The channels taking payments an admin may choose from (name, chosen).
    pub choices: Vec<(&'static str, bool)>,
    pub can_choose: bool,
    pub registration: Option<RegistrationView>,
    /// The channel is an upstream that registers its merchants.
    pub registers: bool,
}

pub struct RegistrationView {
    pub state: &'static str,
    pub upstream_id: String,
    pub detail: String,
    pub attempts: i32,
    /// `""` once there is nothing more to ask.
    pub next_attempt: String,
    pub can_ask_again: bool,
}

impl PaymentsPanel {
    pub fn of(
        session: &SignedIn,
        state: &ConsoleState,
        own: Option<String>,
        registration: Option<RegistrationRow>,
    ) -> PaymentsPanel {
        let u = UpstreamLabels::of(session.lang);
        let channel = own.clone().unwrap_or_else(|| state.channels.payments_default().to_string());
        let can_choose = session.can(Permission::Administer);
        let registration = registration.map(|row| RegistrationView {
            state: u.state(row.state),
            upstream_id: row.upstream_sub_merchant_id.unwrap_or_default(),
            detail: row.detail,
            attempts: row.attempts,
            next_attempt: if row.state.is_in_progress() { china_time(row.next_attempt_at) } else { String::new() },
            can_ask_again: can_choose && row.state != domain::upstream::RegistrationState::Ready,
        });
        PaymentsPanel {
            u,
            choices: state.channels.pay_ins().map(|pay_in| (pay_in.name(), pay_in.name() == channel)).collect(),
            registers: state.channels.upstream(&channel).is_some(),
            own_channel: own.is_some(),
            channel,
            can_choose,
            registration,
        }
    }
}

/// `POST /admin/merchants/{id}/pay-in-channel` (admin): the channel that takes the merchant's
/// payments from now on, or the platform's. Orders placed before
/// are paid where they were placed.
pub async fn set_channel(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<ChannelForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::Administer)?;
    let (id, u) = (id.into_inner(), UpstreamLabels::of(session.lang));
    let chosen = form.chosen()?;
    if let Some(name) = chosen.as_deref().filter(|name| state.channels.pay_in(name).is_none()) {
        let extras = Extras::alert(format!("{}: {name}", u.unknown_channel));
        return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
    }
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| {
        upstream::registration::set_pay_in_channel(conn, &actor, id, chosen.as_deref())
    })
    .await
    .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=pay_in_channel")))
}

/// `POST /admin/merchants/{id}/upstream/ask-again` (admin): the upstream is asked about the
/// merchant's registration at the next pass; one it refused starts over.
pub async fn ask_again(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::Administer)?;
    let id = id.into_inner();
    let actor = session.actor();
    let asked = run_blocking(&state.pool, move |conn| upstream::registration::ask_again(conn, &actor, id))
        .await
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    if !asked {
        let extras = Extras::alert(UpstreamLabels::of(session.lang).nothing_to_ask.to_string());
        return detail::render(&session, &state, id, extras, StatusCode::CONFLICT).await;
    }
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=upstream_asked")))
}
