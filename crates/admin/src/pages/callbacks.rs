//! `GET /admin/callbacks`: channel callbacks the platform could not apply on its own — money for an
//! order already closed (SPEC §5: recorded and shown for manual handling, never dropped), a bad
//! signature, a wrong amount — and `POST /admin/callbacks/{id}/resolve`, where an operator records
//! what was done about one. A second tab lists those already handled.
use domain::OrderId;
use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use orders::operator::{MAX_NOTE_CHARS, Resolution};
use serde::Deserialize;
use storage::{
    callbacks::{self, AttentionFilter},
    database::run_blocking,
    orders as order_rows,
    page::{self, Page},
};

use super::{
    Pager,
    layout::{Chrome, Section},
    merchants::present_note,
    orders::{Tab, TabLink, detail::CallbackView, tabs},
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::OrderLabels,
    render,
};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "callbacks.html")]
struct CallbacksPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    tabs: Vec<TabLink>,
    resolved: bool,
    open_count: i64,
    notice: Option<&'static str>,
    alert: Option<String>,
    /// The callback whose form was refused, with the note as typed.
    failed: Option<(i64, String)>,
    rows: Vec<Row>,
    can_resolve: bool,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct Row {
    callback: CallbackView,
    /// The order of the callback's `trade_no`, when there is one.
    order_id: Option<OrderId>,
}

#[derive(Deserialize)]
pub struct CallbacksQuery {
    /// `resolved` for the handled ones; anything else shows those waiting.
    show: Option<String>,
    before: Option<i64>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ResolveForm {
    note: Option<String>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<CallbacksQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let query = query.into_inner();
    let o = session.lang.labels().order;
    let notice = (query.notice.as_deref() == Some("resolved")).then_some(o.notice_resolved);
    let filter = AttentionFilter { resolved: query.show.as_deref() == Some("resolved"), before_id: query.before };
    render_page(&session, &state, filter, notice, None, StatusCode::OK).await
}

async fn render_page(
    session: &SignedIn,
    state: &ConsoleState,
    filter: AttentionFilter,
    notice: Option<&'static str>,
    failed: Option<(i64, String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let lookup = filter.clone();
    let (rows, open_count, order_ids) = run_blocking(&state.pool, move |conn| {
        let rows = callbacks::list_for_attention(conn, &lookup, page::limit(PAGE_SIZE))?;
        let mut order_ids = HashMap::new();
        for trade_no in rows.iter().filter_map(|row| row.trade_no.clone()) {
            if !order_ids.contains_key(&trade_no)
                && let Some(order) = order_rows::find_by_trade_no(conn, &trade_no)?
            {
                order_ids.insert(trade_no, order.id);
            }
        }
        Ok::<_, ConsoleError>((rows, callbacks::count_needing_attention(conn)?, order_ids))
    })
    .await?;
    let Page { rows, has_more } = Page::of(rows, PAGE_SIZE);
    let o = session.lang.labels().order;
    let show = if filter.resolved { "resolved" } else { "" };
    let Pager { next_page, first_page } =
        Pager::new(&[("show", show)], rows.last().map(|row| row.id), has_more, filter.before_id.is_some())?;
    let (failed, alert) = match failed {
        Some((id, note, message)) => (Some((id, note)), Some(message)),
        None => (None, None),
    };
    render::page_with_status(
        &CallbacksPage {
            chrome: Chrome::titled(session, Section::Orders, o.callbacks),
            o,
            tabs: tabs(o, Tab::Callbacks, open_count),
            resolved: filter.resolved,
            open_count,
            notice,
            alert,
            failed,
            rows: rows
                .into_iter()
                .map(|row| Row {
                    order_id: row.trade_no.as_ref().and_then(|trade_no| order_ids.get(trade_no).copied()),
                    callback: CallbackView::of(o, row),
                })
                .collect(),
            can_resolve: session.can(Permission::ManageMerchants),
            next_page,
            first_page,
        },
        status,
    )
}

pub async fn resolve(
    id: web::Path<i64>,
    posted: ConsoleForm<ResolveForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let id = id.into_inner();
    let o = session.lang.labels().order;
    let refused = |note: String, message: &str| Some((id, note, message.to_string()));
    let Some(note) = present_note("note", form.note, MAX_NOTE_CHARS)? else {
        let failed = refused(String::new(), o.note_missing);
        return render_page(&session, &state, AttentionFilter::default(), None, failed, StatusCode::BAD_REQUEST).await;
    };
    let (actor, text) = (session.actor(), note.clone());
    let outcome =
        run_blocking(&state.pool, move |conn| orders::operator::resolve_callback(conn, &actor, id, &text, Utc::now()))
            .await?;
    match outcome {
        Resolution::Resolved => Ok(render::see_other("/admin/callbacks?notice=resolved")),
        Resolution::NotFound => Err(ConsoleError::NotFound),
        Resolution::NotOpen => {
            let failed = refused(note, o.already_resolved);
            render_page(&session, &state, AttentionFilter::default(), None, failed, StatusCode::BAD_REQUEST).await
        }
    }
}
