//! The dashboard: the platform at a glance. It grows as the business sections land.
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Days, Utc};
use storage::{audit, callbacks, database::run_blocking, jobs, operators, orders};

use super::layout::{Chrome, Section};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::OrderLabels,
    render,
    view::{AuditRow, china_day, china_day_start, yuan},
};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    /// Today in China: orders placed, how many of them were paid, and their paid volume.
    orders_today: i64,
    paid_today: i64,
    volume_today: String,
    callbacks_open: i64,
    database_up: bool,
    redis_up: bool,
    jobs_pending: i64,
    jobs_failed: i64,
    active_operators: usize,
    recent: Vec<AuditRow>,
    show_recent: bool,
}

pub async fn show(session: SignedIn, state: web::Data<ConsoleState>) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let show_recent = session.can(Permission::Administer);
    let today = china_day(Utc::now());
    let (from, to) = (china_day_start(today), china_day_start(today.checked_add_days(Days::new(1)).unwrap_or(today)));
    let (depth, active_operators, recent, totals, callbacks_open) = run_blocking(&state.pool, move |conn| {
        let depth = jobs::depth(conn)?;
        let active = operators::list(conn)?.iter().filter(|operator| operator.is_active()).count();
        let recent = if show_recent { audit::list(conn, &audit::Filter::default(), 8)? } else { Vec::new() };
        let totals = orders::totals_between(conn, from, to)?;
        Ok::<_, ConsoleError>((depth, active, recent, totals, callbacks::count_needing_attention(conn)?))
    })
    .await?;
    render::page(&DashboardPage {
        chrome: Chrome::new(&session, Section::Dashboard),
        o: session.lang.labels().order,
        orders_today: totals.created,
        paid_today: totals.paid,
        volume_today: yuan(totals.paid_fen),
        callbacks_open,
        database_up: true,
        redis_up: state.cache.ping().await,
        jobs_pending: depth.pending,
        jobs_failed: depth.failed,
        active_operators,
        recent: recent.into_iter().map(AuditRow::from).collect(),
        show_recent,
    })
}
