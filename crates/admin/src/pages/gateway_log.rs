//! `GET /admin/gateway-log`: every gateway request and reply (stored redacted), newest first,
//! filtered by app, method, `trade_no` and failures; keyset-paginated. Long requests and replies
//! (a downloadbill reply holds a whole bill) are cut short in the list;
//! `GET /admin/gateway-log/{id}` shows one exchange whole.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use storage::{
    callbacks,
    database::run_blocking,
    gateway_log,
    page::{self, Page},
};

use super::{
    Pager,
    layout::{Chrome, Section},
    merchants::present,
    orders::{Tab, TabLink, detail::RequestView, tabs},
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::OrderLabels,
    render,
};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "gateway_log.html")]
struct GatewayLogPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    tabs: Vec<TabLink>,
    app_id: String,
    method: String,
    trade_no: String,
    failures_only: bool,
    requests: Vec<RequestView>,
    /// Exchanges are folded in the list.
    open_exchanges: bool,
    next_page: Option<String>,
    first_page: Option<String>,
}

#[derive(Template)]
#[template(path = "gateway_exchange.html")]
struct ExchangePage {
    chrome: Chrome,
    o: &'static OrderLabels,
    tabs: Vec<TabLink>,
    /// The one exchange, shown open.
    requests: Vec<RequestView>,
    open_exchanges: bool,
}

#[derive(Deserialize)]
pub struct LogQuery {
    app_id: Option<String>,
    method: Option<String>,
    trade_no: Option<String>,
    /// A checkbox: present (any value) means on.
    failures: Option<String>,
    before: Option<i64>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let query = query.into_inner();
    let filter = gateway_log::Filter {
        app_id: present("app_id", query.app_id, 64)?,
        method: present("method", query.method, 128)?,
        trade_no: present("trade_no", query.trade_no, 64)?,
        failures_only: query.failures.is_some(),
        before_id: query.before,
    };
    let lookup = filter.clone();
    let (rows, open_callbacks) = run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>((
            gateway_log::list(conn, &lookup, page::limit(PAGE_SIZE))?,
            callbacks::count_needing_attention(conn)?,
        ))
    })
    .await?;
    let Page { rows, has_more } = Page::of(rows, PAGE_SIZE);

    let o = session.lang.labels().order;
    let app_id = filter.app_id.clone().unwrap_or_default();
    let method = filter.method.clone().unwrap_or_default();
    let trade_no = filter.trade_no.clone().unwrap_or_default();
    let failures = if filter.failures_only { "1" } else { "" };
    let filters = [("app_id", app_id.as_str()), ("method", &method), ("trade_no", &trade_no), ("failures", failures)];
    let Pager { next_page, first_page } =
        Pager::new(&filters, rows.last().map(|row| row.id), has_more, filter.before_id.is_some())?;
    render::page(&GatewayLogPage {
        chrome: Chrome::titled(&session, Section::Orders, o.gateway_log),
        o,
        tabs: tabs(o, Tab::GatewayLog, open_callbacks),
        app_id,
        method,
        trade_no,
        failures_only: filter.failures_only,
        requests: rows.into_iter().map(RequestView::from).collect(),
        open_exchanges: false,
        next_page,
        first_page,
    })
}

/// One exchange, request and reply whole.
pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let id = id.into_inner();
    let (row, open_callbacks) = run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>((gateway_log::find(conn, id)?, callbacks::count_needing_attention(conn)?))
    })
    .await?;
    let row = row.ok_or(ConsoleError::NotFound)?;
    let o = session.lang.labels().order;
    render::page(&ExchangePage {
        chrome: Chrome::titled(&session, Section::Orders, format!("{} #{id}", o.exchange)),
        o,
        tabs: tabs(o, Tab::GatewayLog, open_callbacks),
        requests: vec![RequestView::from(row)],
        open_exchanges: true,
    })
}
