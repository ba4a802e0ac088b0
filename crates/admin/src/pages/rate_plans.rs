//! The rate plans page (费率模板): every plan with its versions and the one in force now, and its
//! payout defaults; create a plan, add a version from a given time, set or remove the payout
//! defaults (finance). Plans are few, so the list is filtered and paged here
//! rather than in SQL.
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use domain::{RatePlanId, onboarding::RatePlanCode};
use forms::{
    rates::{PlanForm, PlanVersionForm},
    schedule::{ScheduleFields, ScheduleForm, fields},
};
use onboarding::rates;
use serde::Deserialize;
use storage::{
    database::run_blocking,
    rates::{self as rate_rows, PlanRow, PlanVersionRow},
};

use super::{
    layout::{Chrome, Section},
    merchants::{payouts::describe, present, refusal},
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::{MerchantLabels, PayoutLabels},
    render,
    view::china_time,
};

const PAGE_SIZE: usize = 20;

#[derive(Template)]
#[template(path = "rate_plans.html")]
struct RatePlansPage {
    chrome: Chrome,
    m: &'static MerchantLabels,
    p: &'static PayoutLabels,
    plans: Vec<PlanView>,
    search: String,
    next_page: Option<String>,
    is_first_page: bool,
    can_manage: bool,
    can_manage_payouts: bool,
    notice: Option<&'static str>,
    alert: Option<String>,
}

struct PlanView {
    code: String,
    name: String,
    created_at: String,
    in_force: Option<[String; 3]>,
    versions: Vec<VersionView>,
    /// Its payout defaults, described; `None` when the platform's apply.
    payout_defaults: Option<String>,
    /// The payout defaults form's values (the platform's when the plan has none).
    defaults_form: ScheduleFields,
}

struct VersionView {
    rates: [String; 3],
    effective_from: String,
    created_by: String,
    status: &'static str,
    status_class: &'static str,
}

#[derive(Deserialize)]
pub struct PlansQuery {
    q: Option<String>,
    /// Keyset cursor: the last code of the previous page (plans are ordered by code).
    after: Option<String>,
    notice: Option<String>,
}

fn version_views(m: &MerchantLabels, versions: Vec<PlanVersionRow>) -> (Option<[String; 3]>, Vec<VersionView>) {
    let now = Utc::now();
    // Newest effective first: the first one already in effect is in force.
    let current = versions.iter().position(|version| version.effective_from <= now);
    let views: Vec<VersionView> = versions
        .into_iter()
        .enumerate()
        .map(|(index, version)| {
            let rates = [version.bank_commission_rate, version.pay_platform_rate, version.liquidator_commission_rate]
                .map(|rate| format!("{rate:.5}"));
            let (status, status_class) = match current {
                _ if version.effective_from > now => (m.scheduled, "scheduled"),
                Some(current) if current == index => (m.in_force, "in-force"),
                _ => (m.superseded, "superseded"),
            };
            VersionView {
                rates,
                effective_from: china_time(version.effective_from),
                created_by: version.created_by,
                status,
                status_class,
            }
        })
        .collect();
    let in_force = current.and_then(|index| views.get(index)).map(|view| view.rates.clone());
    (in_force, views)
}

async fn render_page(
    session: &SignedIn,
    state: &ConsoleState,
    query: PlansQuery,
    alert: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let m = session.lang.labels().merchant;
    let p = PayoutLabels::of(session.lang);
    let search = present("q", query.q, 64)?.unwrap_or_default();
    let after = present("after", query.after, 64)?;
    let needle = search.to_lowercase();
    let filter_after = after.clone();
    let (plans, has_more) = run_blocking(&state.pool, move |conn| {
        let mut plans: Vec<PlanRow> = rate_rows::list_plans(conn)?
            .into_iter()
            .filter(|plan| {
                needle.is_empty()
                    || plan.code.to_lowercase().contains(&needle)
                    || plan.name.to_lowercase().contains(&needle)
            })
            .filter(|plan| filter_after.as_ref().is_none_or(|after| plan.code.as_str() > after.as_str()))
            .take(PAGE_SIZE + 1)
            .collect();
        let has_more = plans.len() > PAGE_SIZE;
        plans.truncate(PAGE_SIZE);
        let with_versions = plans
            .into_iter()
            .map(|plan| {
                let defaults = payouts::schedules::plan_defaults(conn, RatePlanId::new(plan.id))
                    .map_err(|error| ConsoleError::Internal(error.to_string()))?;
                Ok((rate_rows::plan_versions(conn, plan.id)?, defaults, plan))
            })
            .collect::<Result<Vec<_>, ConsoleError>>()?;
        Ok::<_, ConsoleError>((with_versions, has_more))
    })
    .await?;
    let next_page = match plans.last() {
        Some((_, _, last)) if has_more => Some(
            serde_urlencoded::to_string([("q", search.as_str()), ("after", last.code.as_str())])
                .map_err(|error| ConsoleError::Internal(error.to_string()))?,
        ),
        _ => None,
    };
    let notice = match query.notice.as_deref() {
        Some("created") => Some(m.notice_plan_created),
        Some("version") => Some(m.notice_version_added),
        Some("payout_defaults") => Some(p.notice_schedule),
        _ => None,
    };
    let page = RatePlansPage {
        chrome: Chrome::new(session, Section::RatePlans),
        m,
        p,
        plans: plans
            .into_iter()
            .map(|(versions, defaults, plan)| {
                let (in_force, versions) = version_views(m, versions);
                PlanView {
                    code: plan.code,
                    name: plan.name,
                    created_at: china_time(plan.created_at),
                    in_force,
                    versions,
                    payout_defaults: defaults.as_ref().map(|defaults| describe_defaults(p, defaults)),
                    defaults_form: fields(defaults.as_ref().unwrap_or(&state.payouts.default_schedule)),
                }
            })
            .collect(),
        search,
        next_page,
        is_first_page: after.is_none(),
        can_manage: session.can(Permission::ManageMerchants),
        can_manage_payouts: session.can(Permission::ManagePayouts),
        notice,
        alert,
    };
    render::page_with_status(&page, status)
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<PlansQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    render_page(&session, &state, query.into_inner(), None, StatusCode::OK).await
}

fn no_query() -> PlansQuery {
    PlansQuery { q: None, after: None, notice: None }
}

pub async fn create(
    posted: ConsoleForm<PlanForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let (code, plan_rates, from) = match form.parse(Utc::now()) {
        Ok(parsed) => parsed,
        Err(message) => return render_page(&session, &state, no_query(), Some(message), StatusCode::BAD_REQUEST).await,
    };
    let (actor, name) = (session.actor(), form.name);
    let result =
        run_blocking(&state.pool, move |conn| rates::create_plan(conn, &actor, &code, &name, &plan_rates, from)).await;
    match refusal(result)? {
        Ok(_) => Ok(render::see_other("/admin/rate-plans?notice=created")),
        Err(message) => render_page(&session, &state, no_query(), Some(message), StatusCode::BAD_REQUEST).await,
    }
}

pub async fn add_version(
    code: web::Path<String>,
    posted: ConsoleForm<PlanVersionForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let code = RatePlanCode::parse(&code).map_err(|_| ConsoleError::NotFound)?;
    let (plan_rates, from) = match form.parse(Utc::now()) {
        Ok(parsed) => parsed,
        Err(message) => return render_page(&session, &state, no_query(), Some(message), StatusCode::BAD_REQUEST).await,
    };
    let actor = session.actor();
    let result =
        run_blocking(&state.pool, move |conn| rates::add_plan_version(conn, &actor, &code, &plan_rates, from)).await;
    match refusal(result)? {
        Ok(()) => Ok(render::see_other("/admin/rate-plans?notice=version")),
        Err(message) => render_page(&session, &state, no_query(), Some(message), StatusCode::BAD_REQUEST).await,
    }
}

/// A plan's payout defaults without the cadence, which is each merchant's own.
fn describe_defaults(p: &PayoutLabels, defaults: &domain::payouts::schedule::Schedule) -> String {
    let described = describe(p, defaults);
    let frequency = p.frequency(defaults.cadence.frequency());
    described.strip_prefix(frequency).map_or(described.clone(), |rest| rest.trim_start().to_string())
}

pub async fn set_payout_defaults(
    code: web::Path<String>,
    posted: ConsoleForm<ScheduleForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let code = RatePlanCode::parse(&code).map_err(|_| ConsoleError::NotFound)?;
    let defaults = match form.parse_defaults() {
        Ok(defaults) => defaults,
        Err(field) => {
            let alert = format!("{}: {field}", PayoutLabels::of(session.lang).invalid_schedule);
            return render_page(&session, &state, no_query(), Some(alert), StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    let result =
        run_blocking(&state.pool, move |conn| payouts::schedules::set_plan_defaults(conn, &actor, &code, &defaults))
            .await;
    plan_result(result.map(|_| ()))
}

pub async fn remove_payout_defaults(
    code: web::Path<String>,
    posted: ConsoleForm<super::Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    posted.session.require(Permission::ManagePayouts)?;
    let code = RatePlanCode::parse(&code).map_err(|_| ConsoleError::NotFound)?;
    let actor = posted.session.actor();
    let result =
        run_blocking(&state.pool, move |conn| payouts::schedules::remove_plan_defaults(conn, &actor, &code)).await;
    plan_result(result.map(|_| ()))
}

fn plan_result(result: Result<(), payouts::PayoutError>) -> Result<HttpResponse, ConsoleError> {
    match result {
        Ok(()) => Ok(render::see_other("/admin/rate-plans?notice=payout_defaults")),
        Err(payouts::PayoutError::UnknownRatePlan) => Err(ConsoleError::NotFound),
        Err(error) => Err(ConsoleError::Internal(error.to_string())),
    }
}
