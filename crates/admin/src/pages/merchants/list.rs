//! `GET /admin/merchants`: applications and merchants, newest first, by state tab and search,
//! keyset-paginated.
use actix_web::{HttpResponse, web};
use askama::Template;
use domain::{MerchantId, onboarding::ApplicationState};
use serde::Deserialize;
use storage::{
    database::run_blocking,
    merchants,
    page::{self, Page},
};

use super::{StateBadge, present};
use crate::pages::Pager;
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::MerchantLabels,
    pages::{
        layout::{Chrome, Section},
        query_string,
    },
    render, view,
};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "merchants.html")]
struct MerchantsPage {
    chrome: Chrome,
    m: &'static MerchantLabels,
    tabs: Vec<Tab>,
    state: String,
    search: String,
    rows: Vec<Row>,
    next_page: Option<String>,
    first_page: Option<String>,
    can_create: bool,
}

struct Tab {
    href: String,
    label: &'static str,
    count: i64,
    active: bool,
}

struct Row {
    id: MerchantId,
    short_name: String,
    legal_name: String,
    state: StateBadge,
    sub_merchant_id: String,
    created_at: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    q: Option<String>,
    before: Option<i64>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let query = query.into_inner();
    let chosen = match present("state", query.state, 32)? {
        Some(text) => Some(
            ApplicationState::parse(&text)
                .ok_or_else(|| ConsoleError::BadRequest(format!("unknown state {text:?}")))?,
        ),
        None => None,
    };
    let filter = merchants::Filter {
        state: chosen,
        search: present("q", query.q, 100)?,
        owner_app_id: None,
        before_id: query.before,
    };
    let lookup = filter.clone();
    let (rows, counts) = run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>((
            merchants::list(conn, &lookup, page::limit(PAGE_SIZE))?,
            merchants::count_by_state(conn)?,
        ))
    })
    .await?;
    let Page { rows, has_more } = Page::of(rows, PAGE_SIZE);

    let m = session.lang.labels().merchant;
    let state_code = chosen.map(ApplicationState::as_str).unwrap_or_default();
    let search = filter.search.clone().unwrap_or_default();
    let count_of = |state: Option<ApplicationState>| -> i64 {
        counts.iter().filter(|(counted, _)| state.is_none_or(|state| state == *counted)).map(|(_, n)| n).sum()
    };
    let mut tabs = vec![Tab {
        href: format!("/admin/merchants?{}", query_string(&[("q", &search)])?),
        label: m.all_states,
        count: count_of(None),
        active: chosen.is_none(),
    }];
    for candidate in ApplicationState::ALL {
        tabs.push(Tab {
            href: format!("/admin/merchants?{}", query_string(&[("state", candidate.as_str()), ("q", &search)])?),
            label: m.state(candidate),
            count: count_of(Some(candidate)),
            active: chosen == Some(candidate),
        });
    }
    let Pager { next_page, first_page } = Pager::new(
        &[("state", state_code), ("q", &search)],
        rows.last().map(|row| row.id.get()),
        has_more,
        filter.before_id.is_some(),
    )?;
    render::page(&MerchantsPage {
        chrome: Chrome::new(&session, Section::Merchants),
        m,
        tabs,
        state: state_code.to_string(),
        search,
        rows: rows
            .into_iter()
            .map(|row| Row {
                id: row.id,
                state: StateBadge::of(m, row.state),
                short_name: row.short_name,
                legal_name: row.legal_name,
                sub_merchant_id: row.sub_merchant_id.unwrap_or_default(),
                created_at: view::china_time(row.created_at),
            })
            .collect(),
        next_page,
        first_page,
        can_create: session.can(Permission::ManageMerchants),
    })
}
