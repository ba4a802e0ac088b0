//! Reconciliation (对账, SPEC §7, §9): `GET /admin/reconciliation` lists the imported bills (runs)
//! with a form to import one — pasted CSV, or the sandbox channel's own bill of a day —
//! `GET /admin/reconciliation/runs/{id}` shows a run's differences, and
//! `POST /admin/reconciliation/differences/{id}/resolve` records what an operator did about one.
//! Importing and resolving need the finance role (or admin) and are audited in the same
//! transaction as the change.
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use channel::bill::BillLine;
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use domain::OrderId;
use ledger::reconciliation::{self as recon, ResolveError};
use serde::Deserialize;
use serde_json::Value;
use storage::{
    database::run_blocking,
    ledger::BusinessDayRow,
    page::{self, Page},
    reconciliation::{self as rows, DifferenceRow, RunRow},
};

use super::{
    Pager,
    layout::Chrome,
    ledger::{self as ledger_pages, Tab, TabLink},
    present_note,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::{LedgerLabels, ReconciliationLabels},
    render,
    view::china_time,
};

const PAGE_SIZE: i64 = 30;
const MAX_NOTE_CHARS: usize = 500;
/// The largest bill a form may carry (about 20,000 lines); bigger bills come through the worker.
pub const MAX_BILL_BYTES: usize = 4 * 1024 * 1024;

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct RunsPage {
    chrome: Chrome,
    r: &'static ReconciliationLabels,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    notice: Option<&'static str>,
    alert: Option<String>,
    can_import: bool,
    /// The import form as last submitted (date, bill), kept when it was refused.
    form_date: String,
    form_bill: String,
    runs: Vec<RunView>,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct RunView {
    id: i64,
    date: String,
    channel: String,
    source: &'static str,
    imported_by: String,
    imported_at: String,
    bill_lines: i32,
    our_lines: i32,
    matched: i32,
    differences: i32,
    open: i64,
    day_state: &'static str,
    day_class: &'static str,
}

#[derive(Template)]
#[template(path = "reconciliation_run.html")]
struct RunPage {
    chrome: Chrome,
    r: &'static ReconciliationLabels,
    notice: Option<&'static str>,
    alert: Option<String>,
    run: RunView,
    differences: Vec<DifferenceView>,
    can_resolve: bool,
    /// The difference whose form was refused, with the note as typed.
    failed: Option<(i64, String)>,
}

struct DifferenceView {
    id: i64,
    kind: &'static str,
    kind_class: String,
    bill_type: &'static str,
    trade_no: String,
    order_id: Option<OrderId>,
    refund_no: String,
    ours: Side,
    theirs: Side,
    resolved: Option<(String, String, String)>,
}

/// One side of a difference: amount, split and status, or absent.
struct Side {
    present: bool,
    amount: String,
    split: String,
    status: String,
}

impl Side {
    fn of(line: Option<&Value>) -> Side {
        let Some(line) = line else {
            return Side { present: false, amount: String::new(), split: String::new(), status: String::new() };
        };
        let text = |key: &str| line.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let split = ["net_receipt_amount", "bank_commission_fee", "pay_platform_fee", "liquidator_commission_fee"]
            .map(text)
            .join(" / ");
        Side { present: true, amount: text("amount"), split, status: text("status") }
    }
}

#[derive(Deserialize)]
pub struct RunsQuery {
    before: Option<i64>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ImportForm {
    business_date: Option<String>,
    bill: Option<String>,
}

#[derive(Deserialize)]
pub struct RunQuery {
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ResolveForm {
    note: Option<String>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<RunsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let query = query.into_inner();
    let r = ReconciliationLabels::of(session.lang);
    let notice = (query.notice.as_deref() == Some("imported")).then_some(r.notice_imported);
    let form = (String::new(), String::new());
    render_runs(&session, &state, query.before, notice, None, form, StatusCode::OK).await
}

async fn render_runs(
    session: &SignedIn,
    state: &ConsoleState,
    before: Option<i64>,
    notice: Option<&'static str>,
    alert: Option<String>,
    (form_date, form_bill): (String, String),
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let r = ReconciliationLabels::of(session.lang);
    let runs = run_blocking(&state.pool, move |conn| {
        let runs = rows::list_runs(conn, before, page::limit(PAGE_SIZE))?;
        runs.into_iter().map(|run| with_day(conn, run)).collect::<Result<Vec<_>, ConsoleError>>()
    })
    .await?;
    let Page { rows: runs, has_more } = Page::of(runs, PAGE_SIZE);
    let Pager { next_page, first_page } = Pager::new(&[], runs.last().map(|run| run.0.id), has_more, before.is_some())?;
    render::page_with_status(
        &RunsPage {
            chrome: ledger_pages::chrome(session, r.reconciliation),
            r,
            l: session.lang.labels().ledger,
            tabs: ledger_pages::tabs(session.lang.labels().ledger, Tab::Reconciliation),
            notice,
            alert,
            can_import: session.can(Permission::ManagePayouts),
            form_date,
            form_bill,
            runs: runs.into_iter().map(|(run, open, day)| run_view(r, run, open, day.as_ref())).collect(),
            next_page,
            first_page,
        },
        status,
    )
}

type RunWithDay = (RunRow, i64, Option<BusinessDayRow>);

fn with_day(conn: &mut PgConnection, run: RunRow) -> Result<RunWithDay, ConsoleError> {
    let open = rows::open_differences(conn, run.id)?;
    let day = storage::ledger::business_day(conn, run.business_date)?;
    Ok((run, open, day))
}

fn run_view(r: &ReconciliationLabels, run: RunRow, open: i64, day: Option<&BusinessDayRow>) -> RunView {
    let (day_state, day_class) = match day {
        Some(day) if day.reconciled_at.is_some() => (r.day_reconciled, "ok"),
        Some(day) if day.released_at.is_some() => (r.day_released, "warn"),
        _ => (r.day_open, "bad"),
    };
    RunView {
        id: run.id,
        date: run.business_date.format("%Y-%m-%d").to_string(),
        channel: run.channel,
        source: if run.source == "upload" { r.source_upload } else { r.source_worker },
        imported_by: run.imported_by,
        imported_at: china_time(run.imported_at),
        bill_lines: run.bill_line_count,
        our_lines: run.our_line_count,
        matched: run.matched_count,
        differences: run.difference_count,
        open,
        day_state,
        day_class,
    }
}

pub async fn import(
    posted: ConsoleForm<ImportForm, MAX_BILL_BYTES>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let r = ReconciliationLabels::of(session.lang);
    let typed = (form.business_date.clone().unwrap_or_default(), form.bill.clone().unwrap_or_default());
    let refuse = |message: String| (message, typed.clone());
    let parsed = parse_import(r, &state, form).map_err(refuse);
    let (date, bill) = match parsed {
        Ok(parsed) => parsed,
        Err((message, typed)) => {
            return render_runs(&session, &state, None, None, Some(message), typed, StatusCode::BAD_REQUEST).await;
        }
    };
    let lines = match bill {
        Some(lines) => lines,
        None => match sandbox_bill(&state, date).await {
            Ok(lines) => lines,
            Err(error) => {
                tracing::warn!(%date, %error, "the sandbox's bill could not be fetched");
                let message = Some(r.bill_unavailable.to_string());
                return render_runs(&session, &state, None, None, message, typed, StatusCode::BAD_GATEWAY).await;
            }
        },
    };
    let actor = session.actor();
    let run =
        run_blocking(&state.pool, move |conn| recon::import_by_operator(conn, &actor, recon::SANDBOX, date, &lines))
            .await
            .map_err(ledger_pages::ledger_error)?;
    Ok(render::see_other(&format!("/admin/reconciliation/runs/{}?notice=imported", run.id)))
}

/// The sandbox channel's own bill of `date`, asked of the channel (outside any transaction).
async fn sandbox_bill(state: &ConsoleState, date: NaiveDate) -> Result<Vec<BillLine>, channel::ChannelError> {
    let sandbox = state.channels.pay_in(recon::SANDBOX).ok_or_else(|| {
        channel::ChannelError::Unavailable(format!("no channel named {} is configured", recon::SANDBOX))
    })?;
    sandbox.daily_bill(date).await
}

/// The day and the bill of an import form; `None` for the bill means the sandbox's own.
fn parse_import(
    r: &ReconciliationLabels,
    state: &ConsoleState,
    form: ImportForm,
) -> Result<(NaiveDate, Option<Vec<BillLine>>), String> {
    let text = form.business_date.unwrap_or_default();
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| r.date_invalid.to_string())?;
    if !state.calendar.is_closed(date, Utc::now()) {
        return Err(r.date_not_closed.to_string());
    }
    let bill = form.bill.unwrap_or_default();
    if bill.trim().is_empty() {
        return Ok((date, None));
    }
    let lines = channel::bill::from_csv(&bill).map_err(|error| format!("{}: {error}", r.bill_invalid))?;
    Ok((date, Some(lines)))
}

pub async fn show(
    id: web::Path<i64>,
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<RunQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let r = ReconciliationLabels::of(session.lang);
    let notice = match query.notice.as_deref() {
        Some("imported") => Some(r.notice_imported),
        Some("resolved") => Some(r.notice_resolved),
        _ => None,
    };
    render_run(&session, &state, id.into_inner(), notice, None, StatusCode::OK).await
}

async fn render_run(
    session: &SignedIn,
    state: &ConsoleState,
    id: i64,
    notice: Option<&'static str>,
    failed: Option<(i64, String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let r = ReconciliationLabels::of(session.lang);
    let (run, differences) = run_blocking(&state.pool, move |conn| {
        let Some(run) = rows::find_run(conn, id)? else { return Ok(None) };
        let run = with_day(conn, run)?;
        let differences = rows::differences_of(conn, id)?;
        let orders = differences
            .iter()
            .map(|d| Ok(storage::orders::find_by_trade_no(conn, &d.trade_no)?.map(|order| order.id)))
            .collect::<Result<Vec<_>, ConsoleError>>()?;
        Ok::<_, ConsoleError>(Some((run, differences.into_iter().zip(orders).collect::<Vec<_>>())))
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    let (failed, alert) = match failed {
        Some((id, note, message)) => (Some((id, note)), Some(message)),
        None => (None, None),
    };
    let (run, open, day) = run;
    render::page_with_status(
        &RunPage {
            chrome: ledger_pages::chrome(session, &format!("{} {}", r.run, run.business_date)),
            r,
            notice,
            alert,
            run: run_view(r, run, open, day.as_ref()),
            differences: differences.into_iter().map(|(d, order_id)| difference_view(r, d, order_id)).collect(),
            can_resolve: session.can(Permission::ManagePayouts),
            failed,
        },
        status,
    )
}

fn difference_view(r: &ReconciliationLabels, row: DifferenceRow, order_id: Option<OrderId>) -> DifferenceView {
    DifferenceView {
        id: row.id,
        kind: r.kind(row.kind),
        kind_class: row.kind.as_str().replace('_', "-"),
        bill_type: row.bill_type.as_str(),
        trade_no: row.trade_no,
        order_id,
        refund_no: row.refund_no.unwrap_or_default(),
        ours: Side::of(row.ours.as_ref()),
        theirs: Side::of(row.theirs.as_ref()),
        resolved: match (row.resolution_note, row.resolved_by, row.resolved_at) {
            (Some(note), Some(by), Some(at)) => Some((note, by, china_time(at))),
            _ => None,
        },
    }
}

pub async fn resolve(
    id: web::Path<i64>,
    posted: ConsoleForm<ResolveForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let id = id.into_inner();
    let r = ReconciliationLabels::of(session.lang);
    let run_id = run_blocking(&state.pool, move |conn| Ok::<_, ConsoleError>(rows::find_difference(conn, id)?))
        .await?
        .ok_or(ConsoleError::NotFound)?
        .run_id;
    let Some(note) = present_note("note", form.note, MAX_NOTE_CHARS)? else {
        let failed = Some((id, String::new(), r.note_missing.to_string()));
        return render_run(&session, &state, run_id, None, failed, StatusCode::BAD_REQUEST).await;
    };
    let (actor, text) = (session.actor(), note.clone());
    let outcome = run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>(match recon::resolve_by_operator(conn, &actor, id, &text) {
            Err(ResolveError::Storage(error)) => return Err(error.into()),
            other => other,
        })
    })
    .await?;
    match outcome {
        Ok(_) => Ok(render::see_other(&format!("/admin/reconciliation/runs/{run_id}?notice=resolved"))),
        Err(ResolveError::NotFound) => Err(ConsoleError::NotFound),
        Err(_) => {
            let failed = Some((id, note, r.already_resolved.to_string()));
            render_run(&session, &state, run_id, None, failed, StatusCode::BAD_REQUEST).await
        }
    }
}
