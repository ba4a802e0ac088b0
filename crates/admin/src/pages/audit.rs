//! The audit log page (admin only): newest first, filterable, keyset-paginated.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use storage::{
    audit,
    database::run_blocking,
    page::{self, Page},
};

use super::{
    Pager,
    layout::{Chrome, Section},
    present,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    render,
    view::AuditRow,
};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditRow>,
    actor: String,
    action: String,
    target: String,
    /// Query string of the next page, if there is one.
    next_page: Option<String>,
    is_first_page: bool,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    before: Option<i64>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Administer)?;
    let query = query.into_inner();
    let filter = audit::Filter {
        actor: present("actor", query.actor, 100)?,
        action: present("action", query.action, 100)?,
        target: present("target", query.target, 100)?,
        before_id: query.before,
    };
    let lookup = filter.clone();
    let entries = run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>(audit::list(conn, &lookup, page::limit(PAGE_SIZE))?)
    })
    .await?;
    let Page { rows: entries, has_more } = Page::of(entries, PAGE_SIZE);
    let (actor, action, target) = (
        filter.actor.clone().unwrap_or_default(),
        filter.action.clone().unwrap_or_default(),
        filter.target.clone().unwrap_or_default(),
    );
    let filters = [("actor", actor.as_str()), ("action", action.as_str()), ("target", target.as_str())];
    let next_page = Pager::new(&filters, entries.last().map(|entry| entry.id), has_more, false)?.next_page;
    render::page(&AuditPage {
        chrome: Chrome::new(&session, Section::Audit),
        entries: entries.into_iter().map(AuditRow::from).collect(),
        actor: filter.actor.unwrap_or_default(),
        action: filter.action.unwrap_or_default(),
        target: filter.target.unwrap_or_default(),
        next_page,
        is_first_page: filter.before_id.is_none(),
    })
}
