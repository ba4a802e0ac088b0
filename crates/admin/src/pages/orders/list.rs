//! `GET /admin/orders`: orders newest first, searched by number (`trade_no` or `out_trade_no`),
//! merchant (sub-merchant ID or short name), state and the China days they were placed on;
//! keyset-paginated.
use domain::{MerchantId, OrderId, orders::OrderState};
use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use storage::{
    callbacks,
    database::run_blocking,
    merchants::{self, MerchantRow},
    orders::{self as order_rows, OrderRow},
    page::{self, Page},
};

use super::{OrderBadge, Tab, TabLink, tabs};
use crate::pages::Pager;
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::OrderLabels,
    pages::{
        layout::{Chrome, Section},
        merchants::present,
        query_string,
    },
    render,
    view::{china_day_start, china_time, parse_china_date, yuan},
};

const PAGE_SIZE: i64 = 50;
/// Merchants offered when a name matches several.
const MAX_CANDIDATES: i64 = 20;

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    tabs: Vec<TabLink>,
    number: String,
    merchant: String,
    state: String,
    from: String,
    to: String,
    states: Vec<(&'static str, &'static str)>,
    filtered: bool,
    merchant_unknown: bool,
    candidates: Vec<Candidate>,
    rows: Vec<Row>,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct Candidate {
    href: String,
    short_name: String,
    sub_merchant_id: String,
}

struct Row {
    id: OrderId,
    trade_no: String,
    out_trade_no: String,
    merchant_id: MerchantId,
    merchant: String,
    sub_merchant_id: String,
    amount: String,
    state: OrderBadge,
    created_at: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    number: Option<String>,
    merchant: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

/// What the merchant field named.
enum MerchantChoice {
    Any,
    /// The merchant's id.
    One(MerchantId),
    Several(Vec<MerchantRow>),
    Unknown,
}

/// A sub-merchant ID exactly, else a name (legal or short) that only one approved merchant has.
fn resolve_merchant(conn: &mut diesel::PgConnection, text: Option<&str>) -> Result<MerchantChoice, ConsoleError> {
    let Some(text) = text else { return Ok(MerchantChoice::Any) };
    if let Some(row) = merchants::find_by_sub_merchant_id(conn, text)? {
        return Ok(MerchantChoice::One(row.id));
    }
    let filter = merchants::Filter { search: Some(text.to_string()), ..merchants::Filter::default() };
    let found: Vec<MerchantRow> = merchants::list(conn, &filter, MAX_CANDIDATES)?
        .into_iter()
        .filter(|row| row.sub_merchant_id.is_some())
        .collect();
    Ok(match found.len() {
        0 => MerchantChoice::Unknown,
        1 => MerchantChoice::One(found[0].id),
        _ => MerchantChoice::Several(found),
    })
}

struct Found {
    choice: MerchantChoice,
    rows: Vec<OrderRow>,
    names: HashMap<MerchantId, MerchantRow>,
    open_callbacks: i64,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let query = query.into_inner();
    let search = Search::parse(query)?;
    let (filter, merchant_text) = (search.filter(), search.merchant.clone());
    let found = run_blocking(&state.pool, move |conn| find(conn, filter, merchant_text.as_deref())).await?;
    let Found { choice, rows, names, open_callbacks } = found;
    let Page { rows, has_more } = Page::of(rows, PAGE_SIZE);

    let o = session.lang.labels().order;
    let state_code = search.state.map(OrderState::as_str).unwrap_or_default();
    let (number, merchant) = (search.number.unwrap_or_default(), search.merchant.unwrap_or_default());
    let (from, to) = (search.from.unwrap_or_default(), search.to.unwrap_or_default());
    let filters = [
        ("number", number.as_str()),
        ("merchant", merchant.as_str()),
        ("state", state_code),
        ("from", from.as_str()),
        ("to", to.as_str()),
    ];
    let Pager { next_page, first_page } =
        Pager::new(&filters, rows.last().map(|row| row.id.get()), has_more, search.before.is_some())?;
    let candidates = candidates(&choice, &filters)?;
    render::page(&OrdersPage {
        chrome: Chrome::new(&session, Section::Orders),
        o,
        tabs: tabs(o, Tab::Orders, open_callbacks),
        filtered: filters.iter().any(|(_, value)| !value.is_empty()),
        number,
        merchant,
        state: state_code.to_string(),
        from,
        to,
        states: OrderState::ALL.iter().map(|state| (state.as_str(), o.state(*state))).collect(),
        merchant_unknown: matches!(choice, MerchantChoice::Unknown),
        candidates,
        rows: rows.into_iter().map(|row| row_view(o, row, &names)).collect(),
        next_page,
        first_page,
    })
}

/// The list's search, each field parsed into its type.
struct Search {
    number: Option<String>,
    merchant: Option<String>,
    state: Option<OrderState>,
    from: Option<String>,
    to: Option<String>,
    from_day: Option<NaiveDate>,
    to_day: Option<NaiveDate>,
    before: Option<i64>,
}

impl Search {
    fn parse(query: ListQuery) -> Result<Search, ConsoleError> {
        let state = match present("state", query.state, 32)? {
            Some(text) => Some(
                OrderState::parse(&text).ok_or_else(|| ConsoleError::BadRequest(format!("unknown state {text:?}")))?,
            ),
            None => None,
        };
        let from = present("from", query.from, 10)?;
        let to = present("to", query.to, 10)?;
        let day =
            |text: &Option<String>| text.as_deref().map(parse_china_date).transpose().map_err(ConsoleError::BadRequest);
        let (from_day, to_day) = (day(&from)?, day(&to)?);
        Ok(Search {
            number: present("number", query.number, 64)?,
            merchant: present("merchant", query.merchant, 100)?,
            state,
            from,
            to,
            from_day,
            to_day,
            before: query.before,
        })
    }

    /// The storage filter, without the merchant (which [`find`] resolves first).
    fn filter(&self) -> order_rows::Filter {
        order_rows::Filter {
            number: self.number.clone(),
            merchant_id: None,
            state: self.state,
            created_from: self.from_day.map(china_day_start),
            // The "to" day is included: orders before the start of the day after.
            created_to: self.to_day.and_then(|day| day.checked_add_days(Days::new(1))).map(china_day_start),
            before_id: self.before,
        }
    }
}

/// The page of orders (one more than a page) for the merchant the text names, with their
/// merchants read in one query.
fn find(
    conn: &mut diesel::PgConnection,
    mut filter: order_rows::Filter,
    merchant_text: Option<&str>,
) -> Result<Found, ConsoleError> {
    let choice = resolve_merchant(conn, merchant_text)?;
    let rows = match &choice {
        MerchantChoice::Any => order_rows::list(conn, &filter, page::limit(PAGE_SIZE))?,
        MerchantChoice::One(merchant_id) => {
            filter.merchant_id = Some(*merchant_id);
            order_rows::list(conn, &filter, page::limit(PAGE_SIZE))?
        }
        MerchantChoice::Several(_) | MerchantChoice::Unknown => Vec::new(),
    };
    let mut merchant_ids: Vec<MerchantId> = rows.iter().map(|row| row.merchant_id).collect();
    merchant_ids.sort_unstable();
    merchant_ids.dedup();
    let names: HashMap<MerchantId, MerchantRow> =
        merchants::find_many(conn, &merchant_ids)?.into_iter().map(|row| (row.id, row)).collect();
    Ok(Found { choice, rows, names, open_callbacks: callbacks::count_needing_attention(conn)? })
}

/// When the merchant text names several merchants: a link to each one's orders.
fn candidates(choice: &MerchantChoice, filters: &[(&str, &str); 5]) -> Result<Vec<Candidate>, ConsoleError> {
    let MerchantChoice::Several(found) = choice else { return Ok(Vec::new()) };
    found
        .iter()
        .map(|row| {
            let sub_merchant_id = row.sub_merchant_id.clone().unwrap_or_default();
            let mut pairs = filters.to_vec();
            pairs[1] = ("merchant", &sub_merchant_id);
            Ok(Candidate {
                href: format!("/admin/orders?{}", query_string(&pairs)?),
                short_name: row.short_name.clone(),
                sub_merchant_id: sub_merchant_id.clone(),
            })
        })
        .collect()
}

fn row_view(o: &OrderLabels, row: OrderRow, names: &HashMap<MerchantId, MerchantRow>) -> Row {
    let merchant = names.get(&row.merchant_id);
    Row {
        id: row.id,
        state: OrderBadge::of(o, row.state),
        amount: yuan(row.total_fee_fen),
        created_at: china_time(row.created_at),
        merchant_id: row.merchant_id,
        merchant: merchant.map(|m| m.short_name.clone()).unwrap_or_default(),
        sub_merchant_id: merchant.and_then(|m| m.sub_merchant_id.clone()).unwrap_or_default(),
        trade_no: row.trade_no,
        out_trade_no: row.out_trade_no,
    }
}
