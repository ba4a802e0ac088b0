//! `GET /admin/ledger/commission?from=YYYY-MM-DD&to=YYYY-MM-DD`: the liquidator's commission earned
//! in a period of business days, by day and by merchant (credits less debits of its revenue
//! account). `?format=csv&by=day|merchant` downloads either table.
use actix_web::{HttpResponse, web};
use askama::Template;
use domain::MerchantId;
use ledger::reports::{self, Commission, CommissionLine};
use serde::Deserialize;
use storage::database::run_blocking;

use super::{
    CSV_MAX_ROWS, Format, TabLink, bad, chrome,
    csv::{Cell, Csv},
    ledger_error, money_class, period_param, tabs,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::LedgerLabels,
    pages::{layout::Chrome, query_string},
    render,
    view::yuan,
};

/// Merchants listed on the page; the CSV has them all.
const PAGE_MERCHANTS: i64 = 200;

#[derive(Template)]
#[template(path = "ledger_commission.html")]
struct CommissionPage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    from: String,
    to: String,
    by_day: Vec<LineView>,
    by_merchant: Vec<MerchantLineView>,
    merchants_truncated: bool,
    merchants_agree: bool,
    total: LineView,
    day_csv_href: String,
    merchant_csv_href: String,
}

struct LineView {
    label: String,
    earned: String,
    given_back: String,
    net: String,
    net_class: &'static str,
}

impl LineView {
    fn of(label: String, line: CommissionLine) -> LineView {
        LineView {
            label,
            earned: yuan(line.credit_fen),
            given_back: yuan(line.debit_fen),
            net: yuan(line.net_fen()),
            net_class: money_class(line.net_fen()),
        }
    }
}

struct MerchantLineView {
    merchant_id: MerchantId,
    sub_merchant_id: String,
    line: LineView,
}

#[derive(Deserialize)]
pub struct CommissionQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    /// Which table a CSV holds: `day` (the default) or `merchant`.
    by: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Breakdown {
    Day,
    Merchant,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<CommissionQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let format = Format::parse(l, query.format.as_deref())?;
    let breakdown = match query.by.as_deref().map(str::trim) {
        None | Some("") | Some("day") => Breakdown::Day,
        Some("merchant") => Breakdown::Merchant,
        Some(other) => return Err(bad(l.bad_breakdown, other)),
    };
    let range = period_param(l, &state, query.from.as_deref(), query.to.as_deref())?;
    let merchant_limit = if format == Format::Csv { CSV_MAX_ROWS } else { PAGE_MERCHANTS };
    let report =
        run_blocking(&state.pool, move |conn| reports::commission(conn, range, merchant_limit).map_err(ledger_error))
            .await?;
    if !report.merchants_agree() {
        tracing::error!(from = %range.from(), to = %range.to(), "commission by merchant does not add up to the days");
    }
    let name = |by: &str| format!("commission-by-{by}-{}-{}", range.from(), range.to());
    match (format, breakdown) {
        (Format::Csv, Breakdown::Day) => Ok(day_csv(&report).into_response(&name("day"))),
        (Format::Csv, Breakdown::Merchant) if report.merchants_truncated => {
            Err(ConsoleError::BadRequest(l.too_many_rows.to_string()))
        }
        (Format::Csv, Breakdown::Merchant) => Ok(merchant_csv(&report).into_response(&name("merchant"))),
        (Format::Html, _) => render::page(&page(&session, l, report)?),
    }
}

fn page(session: &SignedIn, l: &'static LedgerLabels, report: Commission) -> Result<CommissionPage, ConsoleError> {
    let (from, to) = (report.range.from().to_string(), report.range.to().to_string());
    let csv_href = |by: &str| {
        query_string(&[("from", from.as_str()), ("to", to.as_str()), ("format", "csv"), ("by", by)])
            .map(|query| format!("/admin/ledger/commission?{query}"))
    };
    Ok(CommissionPage {
        chrome: chrome(session, l.commission),
        l,
        tabs: tabs(l, super::Tab::Commission),
        day_csv_href: csv_href("day")?,
        merchant_csv_href: csv_href("merchant")?,
        merchants_agree: report.merchants_agree(),
        merchants_truncated: report.merchants_truncated,
        total: LineView::of(l.total.to_string(), report.total),
        by_day: report.by_day.iter().map(|day| LineView::of(day.business_date.to_string(), day.line)).collect(),
        by_merchant: report
            .by_merchant
            .into_iter()
            .map(|row| MerchantLineView {
                merchant_id: row.merchant_id,
                sub_merchant_id: row.sub_merchant_id.unwrap_or_default(),
                line: LineView::of(row.short_name, row.line),
            })
            .collect(),
        from,
        to,
    })
}

fn day_csv(report: &Commission) -> Csv {
    let mut csv = Csv::new(&["business_date", "earned_yuan", "given_back_yuan", "net_yuan"]);
    for day in &report.by_day {
        csv.row([
            Cell::Date(day.business_date),
            Cell::Yuan(day.line.credit_fen),
            Cell::Yuan(day.line.debit_fen),
            Cell::Yuan(day.line.net_fen()),
        ]);
    }
    csv.row(total_cells(report.total, 0));
    csv
}

fn merchant_csv(report: &Commission) -> Csv {
    let mut csv =
        Csv::new(&["merchant_id", "sub_merchant_id", "merchant", "earned_yuan", "given_back_yuan", "net_yuan"]);
    for row in &report.by_merchant {
        csv.row([
            Cell::Count(row.merchant_id.get()),
            Cell::text(row.sub_merchant_id.clone().unwrap_or_default()),
            Cell::text(row.short_name.clone()),
            Cell::Yuan(row.line.credit_fen),
            Cell::Yuan(row.line.debit_fen),
            Cell::Yuan(row.line.net_fen()),
        ]);
    }
    csv.row(total_cells(report.total, 2));
    csv
}

/// The `total` row: its label, `blanks` empty cells, then the three figures.
fn total_cells(total: CommissionLine, blanks: usize) -> Vec<Cell<'static>> {
    let mut cells = vec![Cell::text("total")];
    cells.extend(std::iter::repeat_with(|| Cell::Empty).take(blanks));
    cells.extend([Cell::Yuan(total.credit_fen), Cell::Yuan(total.debit_fen), Cell::Yuan(total.net_fen())]);
    cells
}
