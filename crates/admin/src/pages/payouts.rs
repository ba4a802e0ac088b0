//! The payout pages (代付, SPEC §8): payout orders with their history, approving or rejecting one
//! that waits (finance), asking the channel about one now, payout runs with what each paid and
//! skipped, and a manual run for every merchant or one.
use crate::pages::Empty;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use domain::{
    Amount, PayoutId, PayoutRunId,
    payouts::{PayoutKind, PayoutState},
};
use payouts::approval::{self, ApprovalError};
use serde::Deserialize;
use storage::{
    database::run_blocking,
    page::{self, Page},
    payouts::{self as rows, ListFilter, PayoutEventRow, PayoutRow, RunSummary, SkipRow},
};

use super::{
    Pager,
    layout::{Chrome, Section},
    present, present_note,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::PayoutLabels,
    render,
    view::{china_time, yuan},
};

const PAGE_SIZE: i64 = 50;
const MAX_REASON_CHARS: usize = 500;

#[derive(Template)]
#[template(path = "payouts.html")]
struct ListPage {
    chrome: Chrome,
    p: &'static PayoutLabels,
    notice: Option<&'static str>,
    filters: Vec<FilterLink>,
    /// The merchant, run and day filters as given, for the form.
    merchant: String,
    run: String,
    date: String,
    rows: Vec<Row>,
    csv_href: String,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct FilterLink {
    href: String,
    /// The tab's own parameter, kept when the merchant, run and day form is sent.
    query: Option<(&'static str, &'static str)>,
    label: &'static str,
    active: bool,
}

pub(crate) struct Row {
    id: PayoutId,
    created_at: String,
    merchant: String,
    kind: &'static str,
    amount: String,
    fee: String,
    state: &'static str,
    state_code: &'static str,
    needs_attention: bool,
}

/// A micro-deposit's amount proves the account it went to: below admin it is never put on a page
/// (as on the merchant's page, issue 3).
fn amount_shown(session: &SignedIn, payout: &PayoutRow) -> Option<Amount> {
    let secret = payout.kind == PayoutKind::Verification && !session.can(Permission::Administer);
    (!secret).then_some(payout.amount_fen)
}

impl Row {
    fn of(session: &SignedIn, p: &PayoutLabels, payout: &PayoutRow, merchant: String) -> Row {
        Row {
            id: payout.id,
            created_at: china_time(payout.created_at),
            merchant,
            kind: p.kind(payout.kind),
            amount: amount_shown(session, payout).map(yuan).unwrap_or_else(|| p.admin_only.into()),
            fee: yuan(payout.fee_fen),
            state: p.state(payout.state),
            state_code: payout.state.as_str(),
            needs_attention: payout.needs_attention,
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    /// `csv` for the download of the filtered list.
    format: Option<String>,
    attention: Option<String>,
    /// A sub-merchant ID.
    merchant: Option<String>,
    run: Option<String>,
    /// A business day, YYYY-MM-DD.
    date: Option<String>,
    before: Option<i64>,
    notice: Option<String>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let p = PayoutLabels::of(session.lang);
    let query = query.into_inner();
    let state_filter = match present("state", query.state, 32)? {
        Some(text) => Some(PayoutState::parse(&text).ok_or_else(|| ConsoleError::BadRequest(p.bad_state.into()))?),
        None => None,
    };
    let attention = query.attention.as_deref() == Some("1");
    let merchant_text = present("merchant", query.merchant, 32)?.unwrap_or_default();
    let run_text = present("run", query.run, 20)?.unwrap_or_default();
    let date_text = present("date", query.date, 10)?.unwrap_or_default();
    let run_id = match run_text.as_str() {
        "" => None,
        text => Some(text.parse().map(PayoutRunId::new).map_err(|_| ConsoleError::BadRequest(p.bad_run.into()))?),
    };
    let business_date = match date_text.as_str() {
        "" => None,
        text => Some(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ConsoleError::BadRequest(p.bad_date.into()))?,
        ),
    };
    let merchant_id = match merchant_text.as_str() {
        "" => None,
        text => {
            let text = text.to_string();
            let found =
                run_blocking(&state.pool, move |conn| storage::merchants::find_by_sub_merchant_id(conn, &text)).await?;
            Some(found.ok_or_else(|| ConsoleError::BadRequest(p.unknown_merchant.into()))?.id)
        }
    };
    let filter = ListFilter {
        state: state_filter,
        needs_attention: attention,
        run_id,
        merchant_id,
        business_date,
        before_id: query.before,
    };
    let state_code = state_filter.map_or("", PayoutState::as_str);
    let attention_code = if attention { "1" } else { "" };
    let params = [
        ("state", state_code),
        ("attention", attention_code),
        ("merchant", merchant_text.as_str()),
        ("run", run_text.as_str()),
        ("date", date_text.as_str()),
    ];
    match present("format", query.format, 8)?.as_deref() {
        None | Some("html") => {}
        Some("csv") => return csv_download(&session, &state, p, filter).await,
        Some(_) => return Err(ConsoleError::BadRequest("format: html or csv".into())),
    }
    let lookup = filter.clone();
    let found = run_blocking(&state.pool, move |conn| rows::list(conn, &lookup, page::limit(PAGE_SIZE))).await?;
    let Page { rows: found, has_more } = Page::of(found, PAGE_SIZE);
    let Pager { next_page, first_page } =
        Pager::new(&params, found.last().map(|(payout, _)| payout.id.get()), has_more, filter.before_id.is_some())?;
    let mut csv_params = params.to_vec();
    csv_params.push(("format", "csv"));
    let csv_href = format!("/admin/payouts?{}", super::query_string(&csv_params)?);
    let notice = match query.notice.as_deref() {
        Some("run") => Some(p.notice_run),
        _ => None,
    };
    render::page(&ListPage {
        chrome: Chrome::titled(&session, Section::Payouts, p.payouts),
        p,
        notice,
        filters: filter_links(p, state_filter, attention),
        merchant: merchant_text,
        run: run_text,
        date: date_text,
        csv_href,
        rows: found.into_iter().map(|(payout, merchant)| Row::of(&session, p, &payout, merchant)).collect(),
        next_page,
        first_page,
    })
}

/// The most rows one download holds.
const CSV_MAX_ROWS: i64 = 100_000;

/// The filtered list as CSV (newest first, at most [`CSV_MAX_ROWS`]).
async fn csv_download(
    session: &SignedIn,
    state: &ConsoleState,
    p: &PayoutLabels,
    filter: ListFilter,
) -> Result<HttpResponse, ConsoleError> {
    use super::ledger::csv::{Cell, Csv};
    let found = run_blocking(&state.pool, move |conn| rows::list(conn, &filter, CSV_MAX_ROWS)).await?;
    let mut csv = Csv::new(&[
        "id",
        p.created_at,
        p.merchant,
        p.kind,
        p.out_trade_no,
        p.amount,
        p.fee,
        p.state,
        p.needs_attention,
        p.channel_reference,
        p.failure_reason,
    ]);
    for (payout, merchant) in found {
        let amount = amount_shown(session, &payout).map_or(Cell::text(p.admin_only), Cell::Yuan);
        csv.row([
            Cell::Count(payout.id.get()),
            Cell::ChinaTime(payout.created_at),
            Cell::text(merchant),
            Cell::text(p.kind(payout.kind)),
            Cell::text(payout.out_trade_no),
            amount,
            Cell::Yuan(payout.fee_fen),
            Cell::text(payout.state.as_str()),
            Cell::text(if payout.needs_attention { "1" } else { "" }),
            Cell::text(payout.channel_reference.unwrap_or_default()),
            Cell::text(payout.failure_reason.unwrap_or_default()),
        ]);
    }
    Ok(csv.into_response("payouts"))
}

fn filter_links(p: &'static PayoutLabels, current: Option<PayoutState>, attention: bool) -> Vec<FilterLink> {
    let mut links = vec![
        FilterLink {
            href: "/admin/payouts".into(),
            query: None,
            label: p.all,
            active: current.is_none() && !attention,
        },
        FilterLink {
            href: "/admin/payouts?attention=1".into(),
            query: Some(("attention", "1")),
            label: p.needs_attention,
            active: attention,
        },
    ];
    links.extend(PayoutState::ALL.iter().map(|state| FilterLink {
        href: format!("/admin/payouts?state={}", state.as_str()),
        query: Some(("state", state.as_str())),
        label: p.state(*state),
        active: current == Some(*state),
    }));
    links
}

#[derive(Template)]
#[template(path = "payout.html")]
struct DetailPage {
    chrome: Chrome,
    p: &'static PayoutLabels,
    notice: Option<&'static str>,
    alert: Option<String>,
    row: Row,
    details: Vec<(&'static str, String)>,
    history: Vec<EventView>,
    /// Every exchange with the channel about it: at, who asked or told, answer code, answer, detail.
    exchanges: Vec<(String, String, &'static str, &'static str, String)>,
    /// Its ledger entries: kind, business day, booked at, and the postings ("account amount").
    entries: Vec<EntryLine>,
    can_decide: bool,
    can_query: bool,
}

struct EntryLine {
    id: domain::EntryId,
    kind: &'static str,
    business_date: String,
    booked_at: String,
    postings: Vec<(&'static str, String)>,
}

struct EventView {
    at: String,
    from: &'static str,
    to: &'static str,
    actor: String,
    detail: String,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    notice: Option<String>,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<PayoutId>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let p = PayoutLabels::of(session.lang);
    let notice = match query.notice.as_deref() {
        Some("approved") => Some(p.notice_approved),
        Some("rejected") => Some(p.notice_rejected),
        Some("queried") => Some(p.notice_queried),
        _ => None,
    };
    render_detail(&session, &state, id.into_inner(), notice, None, StatusCode::OK).await
}

async fn render_detail(
    session: &SignedIn,
    state: &ConsoleState,
    id: PayoutId,
    notice: Option<&'static str>,
    alert: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let p = PayoutLabels::of(session.lang);
    let loaded = run_blocking(&state.pool, move |conn| {
        let Some(payout) = rows::find(conn, id)? else { return Ok::<_, ConsoleError>(None) };
        let merchant = storage::merchants::find(conn, payout.merchant_id)?.map(|m| m.short_name).unwrap_or_default();
        let mut entries = Vec::new();
        for entry in storage::ledger::entries_of_payout(conn, id)? {
            let postings = storage::ledger::postings_of(conn, entry.id)?;
            entries.push((entry, postings));
        }
        Ok(Some((payout, merchant, rows::events_of(conn, id)?, rows::exchanges_of(conn, id)?, entries)))
    })
    .await?;
    let (payout, merchant, events, exchanges, entries) = loaded.ok_or(ConsoleError::NotFound)?;
    let l = session.lang.labels().ledger;
    let may_manage = session.can(Permission::ManagePayouts);
    // Its entries would tell a micro-deposit's amount as well as its row does.
    let entries = if amount_shown(session, &payout).is_some() { entries } else { Vec::new() };
    render::page_with_status(
        &DetailPage {
            chrome: Chrome::titled(session, Section::Payouts, format!("{} {}", p.payout, payout.out_trade_no)),
            p,
            notice,
            alert,
            details: details(p, &payout),
            history: events.into_iter().map(|event| event_view(p, event)).collect(),
            exchanges: exchanges
                .into_iter()
                .map(|exchange| {
                    let answer = exchange.answer;
                    (china_time(exchange.at), exchange.actor, answer.as_str(), p.answer(answer), exchange.detail)
                })
                .collect(),
            entries: entries
                .into_iter()
                .map(|(entry, postings)| EntryLine {
                    id: entry.id,
                    kind: l.entry(entry.kind),
                    business_date: entry.business_date.to_string(),
                    booked_at: china_time(entry.booked_at),
                    postings: postings
                        .into_iter()
                        .map(|(posting, kind)| {
                            let account = kind.parse().map(|kind| l.kind(kind)).unwrap_or("?");
                            (account, yuan(posting.amount_fen))
                        })
                        .collect(),
                })
                .collect(),
            can_decide: may_manage && payout.state == PayoutState::AwaitingApproval,
            can_query: may_manage && payout.state == PayoutState::Submitted,
            row: Row::of(session, p, &payout, merchant),
        },
        status,
    )
}

fn details(p: &PayoutLabels, payout: &PayoutRow) -> Vec<(&'static str, String)> {
    let masked = domain::onboarding::BankAccountNumber::parse(payout.account_number.digits(), payout.account_type)
        .map(|number| number.masked())
        .unwrap_or_else(|_| "****".into());
    let optional = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(china_time).unwrap_or_default();
    vec![
        (p.out_trade_no, payout.out_trade_no.clone()),
        (p.payee, format!("{} {} {}", payout.account_holder, payout.bank_code, masked)),
        (p.channel, payout.channel.clone()),
        (p.channel_reference, payout.channel_reference.clone().unwrap_or_default()),
        (p.failure_reason, payout.failure_reason.clone().unwrap_or_default()),
        (p.business_date, payout.business_date.to_string()),
        (p.triggered_by, payout.triggered_by.clone()),
        (p.submitted_at, optional(payout.submitted_at)),
        (p.finished_at, optional(payout.finished_at)),
        (p.queries, payout.query_count.to_string()),
    ]
}

fn event_view(p: &PayoutLabels, event: PayoutEventRow) -> EventView {
    EventView {
        at: china_time(event.at),
        from: event.from_state.map_or("", |state| p.state(state)),
        to: p.state(event.to_state),
        actor: event.actor,
        detail: event.detail.unwrap_or_default(),
    }
}

pub async fn approve(
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
    id: web::Path<PayoutId>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::ManagePayouts)?;
    let (id, actor, calendar, settings) = (id.into_inner(), session.actor(), state.calendar, state.payouts.clone());
    let decided =
        run_blocking(&state.pool, move |conn| approval::approve(conn, &calendar, &settings, &actor, id)).await;
    decided_or_refused(&session, &state, id, decided, "approved").await
}

#[derive(Deserialize)]
pub struct RejectForm {
    reason: Option<String>,
}

pub async fn reject(
    posted: ConsoleForm<RejectForm>,
    state: web::Data<ConsoleState>,
    id: web::Path<PayoutId>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let reason = present_note("reason", form.reason, MAX_REASON_CHARS)?.unwrap_or_default();
    let (id, actor, calendar) = (id.into_inner(), session.actor(), state.calendar);
    let decided = run_blocking(&state.pool, move |conn| approval::reject(conn, &calendar, &actor, id, &reason)).await;
    decided_or_refused(&session, &state, id, decided, "rejected").await
}

/// Back to the payout with a notice, or the payout with the refusal (409: its state or the
/// operator does not allow it).
async fn decided_or_refused(
    session: &SignedIn,
    state: &ConsoleState,
    id: PayoutId,
    decided: Result<PayoutRow, ApprovalError>,
    notice: &str,
) -> Result<HttpResponse, ConsoleError> {
    match decided {
        Ok(_) => Ok(render::see_other(&format!("/admin/payouts/{id}?notice={notice}"))),
        Err(ApprovalError::Payout(payouts::PayoutError::NotFound)) => Err(ConsoleError::NotFound),
        Err(ApprovalError::Payout(error)) => Err(ConsoleError::Internal(error.to_string())),
        Err(refused) => render_detail(session, state, id, None, Some(refused.to_string()), StatusCode::CONFLICT).await,
    }
}

pub async fn query_now(
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
    id: web::Path<PayoutId>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::ManagePayouts)?;
    let p = PayoutLabels::of(session.lang);
    let id = id.into_inner();
    let actor = format!("query:{}", session.operator.username);
    match payouts::send::query_one(&state.pool, state.calendar, &state.channels, id, &actor).await {
        Ok(_) => {}
        Err(payouts::PayoutError::NoChannel(_)) => return Err(ConsoleError::BadRequest(p.no_channel.into())),
        Err(error) => return Err(ConsoleError::Internal(error.to_string())),
    }
    Ok(render::see_other(&format!("/admin/payouts/{id}?notice=queried")))
}

#[derive(Template)]
#[template(path = "payout_runs.html")]
struct RunsPage {
    chrome: Chrome,
    p: &'static PayoutLabels,
    alert: Option<String>,
    can_run: bool,
    runs: Vec<RunView>,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct RunView {
    id: PayoutRunId,
    kind: &'static str,
    slot: String,
    triggered_by: String,
    complete: bool,
    payouts: i64,
    amount: String,
    skipped: i64,
}

impl RunView {
    fn of(summary: RunSummary) -> RunView {
        let run = summary.run;
        RunView {
            id: run.id,
            kind: run.kind.as_str(),
            slot: format!("{} {}", run.slot_date, run.slot_time.format("%H:%M")),
            triggered_by: run.triggered_by,
            complete: run.completed_at.is_some(),
            payouts: summary.payout_count,
            amount: yuan(summary.payout_fen),
            skipped: summary.skip_count,
        }
    }
}

#[derive(Deserialize)]
pub struct RunsQuery {
    before: Option<i64>,
}

pub async fn runs(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<RunsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    render_runs(&session, &state, query.before, None, StatusCode::OK).await
}

async fn render_runs(
    session: &SignedIn,
    state: &ConsoleState,
    before: Option<i64>,
    alert: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let p = PayoutLabels::of(session.lang);
    let found =
        run_blocking(&state.pool, move |conn| rows::run_summaries(conn, before, page::limit(PAGE_SIZE))).await?;
    let Page { rows: found, has_more } = Page::of(found, PAGE_SIZE);
    let Pager { next_page, first_page } =
        Pager::new(&[], found.last().map(|summary| summary.run.id.get()), has_more, before.is_some())?;
    render::page_with_status(
        &RunsPage {
            chrome: Chrome::titled(session, Section::Payouts, p.runs),
            p,
            alert,
            can_run: session.can(Permission::ManagePayouts),
            runs: found.into_iter().map(RunView::of).collect(),
            next_page,
            first_page,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "payout_run.html")]
struct RunPage {
    chrome: Chrome,
    p: &'static PayoutLabels,
    rows: Vec<Row>,
    skips: Vec<SkipView>,
}

struct SkipView {
    merchant_id: domain::MerchantId,
    reason: &'static str,
    detail: String,
}

pub async fn run(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<PayoutRunId>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let p = PayoutLabels::of(session.lang);
    let id = id.into_inner();
    let loaded = run_blocking(&state.pool, move |conn| {
        if rows::find_run(conn, id)?.is_none() {
            return Ok::<_, ConsoleError>(None);
        }
        let filter = ListFilter { run_id: Some(id), ..ListFilter::default() };
        Ok(Some((rows::list(conn, &filter, 10_000)?, rows::skips_of(conn, id)?)))
    })
    .await?;
    let (payouts, skips) = loaded.ok_or(ConsoleError::NotFound)?;
    render::page(&RunPage {
        chrome: Chrome::titled(&session, Section::Payouts, format!("{} #{id}", p.run)),
        p,
        rows: payouts.into_iter().map(|(payout, merchant)| Row::of(&session, p, &payout, merchant)).collect(),
        skips: skips
            .into_iter()
            .map(|skip: SkipRow| SkipView {
                merchant_id: skip.merchant_id,
                reason: p.skip_reason(skip.reason),
                detail: skip.detail,
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct ManualRunForm {
    sub_merchant_id: Option<String>,
}

/// A manual run, now, for every merchant or the one named.
pub async fn manual_run(
    posted: ConsoleForm<ManualRunForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManagePayouts)?;
    let p = PayoutLabels::of(session.lang);
    let sub_merchant_id = present("sub_merchant_id", form.sub_merchant_id, 32)?;
    let channel = state.channels.payouts().map(|channel| channel.name());
    let Some(channel) = channel else {
        return render_runs(&session, &state, None, Some(p.no_channel.into()), StatusCode::CONFLICT).await;
    };
    let (actor, calendar, settings) = (session.actor(), state.calendar, state.payouts.clone());
    let made = run_blocking(&state.pool, move |conn| {
        let merchant_id = match sub_merchant_id {
            Some(id) => match storage::merchants::find_by_sub_merchant_id(conn, &id)? {
                Some(merchant) => Some(merchant.id),
                None => return Ok::<_, ConsoleError>(None),
            },
            None => None,
        };
        let payout_calendar = payouts::calendar::load(conn, &settings).map_err(internal)?;
        let (run, _) =
            payouts::runs::manual_run(conn, &settings, &payout_calendar, &calendar, merchant_id, &actor.name, channel)
                .map_err(internal)?;
        Ok(Some(run))
    })
    .await?;
    match made {
        Some(run) => Ok(render::see_other(&format!("/admin/payouts/runs/{}", run.id))),
        None => render_runs(&session, &state, None, Some(p.unknown_merchant.into()), StatusCode::BAD_REQUEST).await,
    }
}

fn internal(error: payouts::PayoutError) -> ConsoleError {
    ConsoleError::Internal(error.to_string())
}
