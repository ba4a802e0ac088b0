//! A merchant's payouts on its page: its schedule (its own, or its declared cadence with its rate
//! plan's or the platform's defaults), whether its
//! payouts are stopped and why, its recent payouts; and the finance actions — setting the
//! schedule, holding and releasing its payouts, confirming its account after a returned payout.
//! Each action is audited by the payouts crate.
use crate::pages::Empty;
use actix_web::{HttpResponse, http::StatusCode, web};
use domain::{
    MerchantId,
    orders::NotifyUrl,
    payouts::{
        StopKind,
        fee::FeeRule,
        schedule::{Cadence, Frequency, Schedule},
    },
};
use forms::schedule::{ScheduleFields, ScheduleForm, fields};
use payouts::{
    schedules::Source,
    stops::{self, StopError},
};
use serde::Deserialize;
use storage::{
    database::run_blocking,
    payouts::{PayoutRow, StopRow},
};

use super::detail::{self, Extras};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    i18n::PayoutLabels,
    pages::{present, present_note},
    render,
    view::{china_time, yuan},
};

/// What the merchant page shows of its payouts.
pub struct PayoutPanel {
    pub p: &'static PayoutLabels,
    /// Where its schedule comes from (its own, its rate plan's defaults, the platform's).
    pub source: &'static str,
    pub schedule: String,
    pub form: ScheduleFields,
    /// The frequency choices: code, label, whether it is the schedule's.
    pub frequencies: Vec<(&'static str, &'static str, bool)>,
    pub stops: Vec<(StopKind, String)>,
    pub held: bool,
    pub paused: bool,
    pub recent: Vec<(String, String, &'static str, String)>,
    /// Where its scheduled payouts' results are told (`""`: nowhere).
    pub notify_url: String,
    pub can_manage: bool,
    /// The channel its payouts go through, and whether that is its own choice (else the
    /// platform's); the pay-out channels an admin may choose from (name, chosen).
    pub channel: String,
    pub own_channel: bool,
    pub channel_choices: Vec<(&'static str, bool)>,
    pub can_choose_channel: bool,
}

/// The channel part of the panel: the merchant's choice, the platform's, the choices.
pub struct ChannelChoice {
    pub own: Option<String>,
    pub platform: Option<&'static str>,
    pub choices: Vec<&'static str>,
    pub can_choose: bool,
}

impl PayoutPanel {
    pub fn of(
        p: &'static PayoutLabels,
        (schedule, source): (Schedule, Source),
        stops: Vec<StopRow>,
        recent: Vec<PayoutRow>,
        notify_url: Option<String>,
        can_manage: bool,
        channel: ChannelChoice,
    ) -> PayoutPanel {
        let held = stops.iter().any(|stop| stop.kind == StopKind::Hold);
        let paused = stops.iter().any(|stop| stop.kind == StopKind::ReturnedAccount);
        PayoutPanel {
            p,
            source: match source {
                Source::Own => p.own_schedule,
                Source::RatePlan => p.plan_schedule,
                Source::Platform => p.default_schedule,
            },
            schedule: describe(p, &schedule),
            form: fields(&schedule),
            frequencies: Frequency::ALL
                .iter()
                .map(|frequency| {
                    (frequency.as_str(), p.frequency(*frequency), *frequency == schedule.cadence.frequency())
                })
                .collect(),
            stops: stops.into_iter().map(|stop| (stop.kind, stop.reason)).collect(),
            held,
            paused,
            recent: recent
                .iter()
                .map(|payout| {
                    (
                        china_time(payout.created_at),
                        yuan(payout.amount_fen),
                        p.state(payout.state),
                        payout.id.to_string(),
                    )
                })
                .collect(),
            notify_url: notify_url.unwrap_or_default(),
            can_manage,
            own_channel: channel.own.is_some(),
            channel_choices: channel
                .choices
                .iter()
                .map(|name| (*name, channel.own.as_deref() == Some(*name)))
                .collect(),
            channel: channel.own.or_else(|| channel.platform.map(str::to_string)).unwrap_or_else(|| "—".into()),
            can_choose_channel: channel.can_choose,
        }
    }
}

pub(crate) fn describe(p: &PayoutLabels, schedule: &Schedule) -> String {
    let when = match schedule.cadence {
        Cadence::Weekly(weekday) => format!(" {}", weekday.number_from_monday()),
        Cadence::Monthly(day) => format!(" {day}"),
        Cadence::Daily | Cadence::Manual => String::new(),
    };
    let fee = match schedule.fee {
        FeeRule::Fixed(fee) => yuan(fee),
        FeeRule::Rate { rate, minimum } => format!("{rate} ≥ {}", yuan(minimum)),
    };
    format!(
        "{}{when} {} · {} {} · {} {} · {} {fee}",
        p.frequency(schedule.cadence.frequency()),
        schedule.at.format("%H:%M"),
        p.minimum,
        yuan(schedule.minimum),
        p.retained,
        yuan(schedule.retained),
        p.fee,
    )
}

pub async fn set_schedule(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<ScheduleForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let (id, p) = (id.into_inner(), PayoutLabels::of(session.lang));
    let schedule = match form.parse() {
        Ok(schedule) => schedule,
        Err(field) => {
            let extras = Extras::alert(format!("{}: {field}", p.invalid_schedule));
            return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| payouts::schedules::set(conn, &actor, id, &schedule))
        .await
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=payout_schedule")))
}

#[derive(Deserialize)]
pub struct NotifyUrlForm {
    url: Option<String>,
}

/// Sets where the merchant's scheduled payouts' results are told; an empty address clears it.
/// Only its form is checked here: delivery refuses a private address on every send.
pub async fn set_notify_url(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<NotifyUrlForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let (id, p) = (id.into_inner(), PayoutLabels::of(session.lang));
    let url = match present("url", form.url, 512)?.map(|text| NotifyUrl::parse(&text, true)).transpose() {
        Ok(url) => url,
        Err(error) => {
            let extras = Extras::alert(format!("{}: {error}", p.notify_url));
            return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| {
        onboarding::bank_account::set_payout_notify_url(conn, &actor, id, url.as_ref())
    })
    .await?;
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=payout_notify_url")))
}

#[derive(Deserialize)]
pub struct HoldForm {
    reason: Option<String>,
}

pub async fn hold(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<HoldForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let reason = present_note("reason", form.reason, 500)?.unwrap_or_default();
    let (id, actor) = (id.into_inner(), session.actor());
    let done = run_blocking(&state.pool, move |conn| stops::hold(conn, &actor, id, &reason)).await;
    stopped_or_refused(&session, &state, id, done, "payout_hold").await
}

pub async fn release(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::ManagePayouts)?;
    let (id, actor) = (id.into_inner(), session.actor());
    let done = run_blocking(&state.pool, move |conn| stops::release(conn, &actor, id)).await;
    stopped_or_refused(&session, &state, id, done, "payout_release").await
}

pub async fn confirm_account(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::ManagePayouts)?;
    let (id, actor) = (id.into_inner(), session.actor());
    let done = run_blocking(&state.pool, move |conn| stops::confirm_account(conn, &actor, id)).await;
    stopped_or_refused(&session, &state, id, done, "payout_confirm").await
}

async fn stopped_or_refused(
    session: &crate::auth::SignedIn,
    state: &ConsoleState,
    id: MerchantId,
    done: Result<(), StopError>,
    notice: &str,
) -> Result<HttpResponse, ConsoleError> {
    let p = PayoutLabels::of(session.lang);
    let (message, status) = match done {
        Ok(()) => return Ok(render::see_other(&format!("/admin/merchants/{id}?notice={notice}"))),
        Err(StopError::ReasonRequired) => (p.hold_reason, StatusCode::BAD_REQUEST),
        Err(StopError::NotStopped) => (p.not_stopped, StatusCode::CONFLICT),
        Err(StopError::Payout(error)) => return Err(ConsoleError::Internal(error.to_string())),
    };
    detail::render(session, state, id, Extras::alert(message.to_string()), status).await
}

/// A merchant's choice of channel (to pay in, or out).
#[derive(Deserialize)]
pub struct ChannelForm {
    /// A channel's name; empty for the platform's.
    channel: Option<String>,
}

impl ChannelForm {
    /// The channel chosen, or `None` for the platform's.
    pub fn chosen(self) -> Result<Option<String>, ConsoleError> {
        Ok(present("channel", self.channel, 32)?)
    }
}

/// `POST /admin/merchants/{id}/payout-channel` (admin): the channel the merchant's payouts go
/// through from now on, or the platform's. Payouts made before keep theirs.
pub async fn set_channel(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<ChannelForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::Administer)?;
    let (id, p) = (id.into_inner(), PayoutLabels::of(session.lang));
    let chosen = form.chosen()?;
    let known = |name: &str| state.channels.pay_outs().any(|channel| channel.name() == name);
    if let Some(name) = chosen.as_deref().filter(|name| !known(name)) {
        let extras = Extras::alert(format!("{}: {name}", p.unknown_channel));
        return detail::render(&session, &state, id, extras, StatusCode::BAD_REQUEST).await;
    }
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| {
        onboarding::bank_account::set_payout_channel(conn, &actor, id, chosen.as_deref())
    })
    .await?;
    Ok(render::see_other(&format!("/admin/merchants/{id}?notice=payout_channel")))
}
