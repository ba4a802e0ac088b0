//! `GET /admin/ledger/days`: recent business days, each with its state (running, open, reconciled,
//! released), what was booked for it and how many of its paid orders still wait for settlement; and
//! `POST /admin/ledger/days/{date}/release`, where finance releases an open day for settlement
//! without waiting for reconciliation, with a note, written to the audit log in the same
//! transaction as the release.
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{Days, NaiveDate, Utc};
use domain::payouts::calendar::PayoutCalendar;
use ledger::{
    days::Release,
    reports::{self, BusinessDay, DateRange, DayState},
};
use orders::operator::MAX_NOTE_CHARS;
use serde::Deserialize;
use storage::database::run_blocking;

use super::{TabLink, bad, chrome, date_param, ledger_error, range_error, tabs};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::LedgerLabels,
    pages::{layout::Chrome, present_note},
    render,
    view::china_time,
};

/// Days shown on one page.
const WINDOW_DAYS: u64 = 14;

#[derive(Template)]
#[template(path = "ledger_days.html")]
struct DaysPage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    notice: Option<&'static str>,
    alert: Option<String>,
    /// The day whose release was refused, with the note as typed.
    failed: Option<(String, String)>,
    days: Vec<DayView>,
    p: &'static crate::i18n::PayoutLabels,
    can_release: bool,
    window_to: String,
    older_href: String,
    newer_href: Option<String>,
}

struct DayView {
    date: String,
    state: &'static str,
    state_label: &'static str,
    /// The pill's colour: waiting days stand out, cleared ones are calm.
    state_class: &'static str,
    paid_orders: i64,
    refunds: i64,
    settlements: i64,
    unsettled_orders: i64,
    reconciled_at: String,
    released_at: String,
    released_by: String,
    release_note: String,
    can_release: bool,
    /// Whether payouts are made on the day (the payout calendar, shown beside it).
    payout_day: bool,
}

impl DayView {
    fn of(l: &LedgerLabels, day: BusinessDay, payout_calendar: &PayoutCalendar) -> DayView {
        let state = day.state();
        DayView {
            payout_day: payout_calendar.is_payout_day(day.date),
            date: day.date.to_string(),
            state: state.as_str(),
            state_label: match state {
                DayState::Running => l.day_running,
                DayState::Open => l.day_open,
                DayState::Reconciled => l.day_reconciled,
                DayState::Released => l.day_released,
            },
            state_class: match state {
                DayState::Running => "",
                DayState::Open => "pending",
                DayState::Reconciled | DayState::Released => "delivered",
            },
            can_release: day.can_release(),
            paid_orders: day.paid_orders,
            refunds: day.refunds,
            settlements: day.settlements,
            unsettled_orders: day.unsettled_orders,
            reconciled_at: day.reconciled_at.map(china_time).unwrap_or_default(),
            released_at: day.released_at.map(china_time).unwrap_or_default(),
            released_by: day.released_by.unwrap_or_default(),
            release_note: day.release_note.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub struct DaysQuery {
    /// The newest day shown (default: today's business day).
    to: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ReleaseForm {
    note: Option<String>,
    /// The newest day of the page the form was on, to return to it.
    to: Option<String>,
}

/// A refused release, shown on the page it came from.
struct Refusal {
    date: NaiveDate,
    note: String,
    message: &'static str,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let window_to = date_param(l, query.to.as_deref())?.unwrap_or_else(|| state.calendar.date_of(Utc::now()));
    let notice = (query.notice.as_deref() == Some("released")).then_some(l.notice_released);
    render_page(&session, &state, window_to, notice, None).await
}

async fn render_page(
    session: &SignedIn,
    state: &ConsoleState,
    window_to: NaiveDate,
    notice: Option<&'static str>,
    refusal: Option<Refusal>,
) -> Result<HttpResponse, ConsoleError> {
    let l = session.lang.labels().ledger;
    let range = DateRange::ending(window_to, WINDOW_DAYS).map_err(|error| range_error(l, error))?;
    let calendar = state.calendar;
    let now = Utc::now();
    let payout_settings = state.payouts.clone();
    let (days, payout_calendar) = run_blocking(&state.pool, move |conn| {
        let days = reports::business_days(conn, &calendar, range, now).map_err(ledger_error)?;
        let payout_calendar = payouts::calendar::load(conn, &payout_settings)
            .map_err(|error| ConsoleError::Internal(error.to_string()))?;
        Ok::<_, ConsoleError>((days, payout_calendar))
    })
    .await?;
    let today = calendar.date_of(now);
    let older = range.from().pred_opt().unwrap_or(range.from());
    let newer = window_to.checked_add_days(Days::new(WINDOW_DAYS)).unwrap_or(window_to).min(today);
    let status = if refusal.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = DaysPage {
        chrome: chrome(session, l.business_days),
        l,
        tabs: tabs(l, super::Tab::Days),
        notice,
        alert: refusal.as_ref().map(|refusal| format!("{} ({})", refusal.message, refusal.date)),
        failed: refusal.map(|refusal| (refusal.date.to_string(), refusal.note)),
        days: days.into_iter().map(|day| DayView::of(l, day, &payout_calendar)).collect(),
        p: crate::i18n::PayoutLabels::of(session.lang),
        can_release: session.can(Permission::ManagePayouts),
        window_to: window_to.to_string(),
        older_href: format!("/admin/ledger/days?to={older}"),
        newer_href: (window_to < today).then(|| format!("/admin/ledger/days?to={newer}")),
    };
    render::page_with_status(&page, status)
}

pub async fn release(
    date: web::Path<String>,
    posted: ConsoleForm<ReleaseForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let l = session.lang.labels().ledger;
    let date = date_param(l, Some(&date))?.ok_or_else(|| bad(l.bad_date, &date))?;
    // Checked here so an absurd date is a 400, never a day row written far in the past or future.
    DateRange::new(date, date).map_err(|error| range_error(l, error))?;
    let window_to = date_param(l, form.to.as_deref())?.unwrap_or_else(|| state.calendar.date_of(Utc::now()));
    let Some(note) = present_note("note", form.note, MAX_NOTE_CHARS)? else {
        let refusal = Refusal { date, note: String::new(), message: l.note_missing };
        return render_page(&session, &state, window_to, None, Some(refusal)).await;
    };
    let (calendar, actor, text) = (state.calendar, session.actor(), note.clone());
    let outcome =
        run_blocking(&state.pool, move |conn| ledger::days::release(conn, &calendar, &actor, date, &text, Utc::now()))
            .await
            .map_err(ledger_error)?;
    let message = match outcome {
        Release::Released => {
            return Ok(render::see_other(&format!("/admin/ledger/days?to={window_to}&notice=released")));
        }
        Release::NotOver => l.day_not_over,
        Release::AlreadyReleased => l.already_released,
        Release::AlreadyReconciled => l.already_reconciled,
    };
    render_page(&session, &state, window_to, None, Some(Refusal { date, note, message })).await
}
