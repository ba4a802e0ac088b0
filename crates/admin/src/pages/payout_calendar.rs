//! `GET /admin/payouts/calendar`: the payout calendar — the weekend rule and the special days
//! (public holidays, make-up working days) from a month ago on — and, for finance, setting a day,
//! removing one and importing a CSV of them (audited by the payouts crate).
use crate::pages::Empty;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{Days, NaiveDate, Utc};
use domain::payouts::calendar::SpecialDay;
use payouts::calendar::{self, CalendarError, DayEntry};
use serde::Deserialize;
use storage::database::run_blocking;

use super::{
    layout::{Chrome, Section},
    present, present_note,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::PayoutLabels,
    render,
    view::china_time,
};

/// The largest CSV a form may carry.
pub const MAX_CSV_BYTES: usize = 64 * 1024;

#[derive(Template)]
#[template(path = "payout_calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    p: &'static PayoutLabels,
    notice: Option<&'static str>,
    alert: Option<String>,
    weekends_paid: bool,
    days: Vec<DayView>,
    can_edit: bool,
}

struct DayView {
    day: String,
    kind: &'static str,
    kind_code: &'static str,
    note: String,
    updated: String,
}

#[derive(Deserialize)]
pub struct CalendarQuery {
    notice: Option<String>,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<CalendarQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let notice =
        (query.notice.as_deref() == Some("calendar")).then_some(PayoutLabels::of(session.lang).notice_calendar);
    render_page(&session, &state, notice, None, StatusCode::OK).await
}

async fn render_page(
    session: &SignedIn,
    state: &ConsoleState,
    notice: Option<&'static str>,
    alert: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let p = PayoutLabels::of(session.lang);
    let from = Utc::now().date_naive().checked_sub_days(Days::new(31)).unwrap_or(NaiveDate::MIN);
    let rows = run_blocking(&state.pool, move |conn| storage::payouts::calendar_days_from(conn, from)).await?;
    render::page_with_status(
        &CalendarPage {
            chrome: Chrome::titled(session, Section::Payouts, p.calendar),
            p,
            notice,
            alert,
            weekends_paid: state.payouts.weekends_are_payout_days,
            days: rows
                .into_iter()
                .map(|row| DayView {
                    day: row.day.to_string(),
                    kind: if row.kind == SpecialDay::Holiday { p.holiday } else { p.working_day },
                    kind_code: row.kind.as_str(),
                    note: row.note,
                    updated: format!("{} {}", row.updated_by, china_time(row.updated_at)),
                })
                .collect(),
            can_edit: session.can(Permission::ManagePayouts),
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct DayForm {
    day: Option<String>,
    kind: Option<String>,
    note: Option<String>,
}

pub async fn set_day(
    posted: ConsoleForm<DayForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let p = PayoutLabels::of(session.lang);
    let day = present("day", form.day, 10)?.and_then(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok());
    let kind = present("kind", form.kind, 16)?.and_then(|text| SpecialDay::parse(&text));
    let note = present_note("note", form.note, calendar::MAX_NOTE_CHARS)?.unwrap_or_default();
    let (Some(day), Some(kind)) = (day, kind) else {
        return render_page(&session, &state, None, Some(p.invalid_day.into()), StatusCode::BAD_REQUEST).await;
    };
    let actor = session.actor();
    let entry = DayEntry { day, kind, note };
    let done = run_blocking(&state.pool, move |conn| calendar::set_days(conn, &actor, &[entry])).await;
    updated_or_refused(&session, &state, done).await
}

#[derive(Deserialize)]
pub struct ImportForm {
    csv: Option<String>,
}

pub async fn import(
    posted: ConsoleForm<ImportForm, MAX_CSV_BYTES>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let days = match calendar::parse_csv(form.csv.as_deref().unwrap_or_default()) {
        Ok(days) => days,
        Err(refused) => {
            return render_page(&session, &state, None, Some(refused.to_string()), StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    let done = run_blocking(&state.pool, move |conn| calendar::set_days(conn, &actor, &days)).await;
    updated_or_refused(&session, &state, done).await
}

pub async fn remove_day(
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
    day: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::ManagePayouts)?;
    let p = PayoutLabels::of(session.lang);
    let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
        return render_page(&session, &state, None, Some(p.invalid_day.into()), StatusCode::BAD_REQUEST).await;
    };
    let actor = session.actor();
    let done = run_blocking(&state.pool, move |conn| calendar::remove_day(conn, &actor, day)).await;
    updated_or_refused(&session, &state, done).await
}

async fn updated_or_refused(
    session: &SignedIn,
    state: &ConsoleState,
    done: Result<(), CalendarError>,
) -> Result<HttpResponse, ConsoleError> {
    let p = PayoutLabels::of(session.lang);
    match done {
        Ok(()) => Ok(render::see_other("/admin/payouts/calendar?notice=calendar")),
        Err(CalendarError::NotSpecial) => {
            render_page(session, state, None, Some(p.not_special.into()), StatusCode::CONFLICT).await
        }
        Err(refused @ CalendarError::BadLine { .. }) => {
            render_page(session, state, None, Some(refused.to_string()), StatusCode::BAD_REQUEST).await
        }
        Err(CalendarError::Payout(error)) => Err(ConsoleError::Internal(error.to_string())),
    }
}
