//! `GET /admin/ledger`: the trial balance. Each account kind summed over every merchant, its
//! balance on the debit or credit side, the totals of both sides and whether they are equal, and
//! whether each balance still equals the sum of its postings. `?format=csv` downloads it.
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use domain::Amount;
use ledger::reports::{self, TrialBalance};
use serde::Deserialize;
use storage::database::run_blocking;

use super::{
    Format, TabLink, chrome,
    csv::{Cell, Csv},
    ledger_error, tabs,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::LedgerLabels,
    pages::layout::Chrome,
    render,
    view::{china_day, yuan},
};

#[derive(Template)]
#[template(path = "ledger_trial_balance.html")]
struct TrialBalancePage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    lines: Vec<Line>,
    debit_total: String,
    credit_total: String,
    difference: String,
    totals_equal: bool,
    matches_postings: bool,
}

struct Line {
    code: &'static str,
    name: &'static str,
    debit: String,
    credit: String,
    matches_postings: bool,
}

#[derive(Deserialize)]
pub struct TrialBalanceQuery {
    format: Option<String>,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<TrialBalanceQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let format = Format::parse(l, query.format.as_deref())?;
    let balance = run_blocking(&state.pool, |conn| reports::trial_balance(conn).map_err(ledger_error)).await?;
    match format {
        Format::Csv => Ok(csv(l, &balance).into_response(&format!("trial-balance-{}", china_day(Utc::now())))),
        Format::Html => render::page(&page(&session, l, balance)),
    }
}

fn page(session: &SignedIn, l: &'static LedgerLabels, balance: TrialBalance) -> TrialBalancePage {
    let totals_equal = balance.debit_total_fen == balance.credit_total_fen;
    let matches_postings = balance.lines.iter().all(|line| line.matches_postings);
    TrialBalancePage {
        chrome: chrome(session, l.trial_balance),
        l,
        tabs: tabs(l, super::Tab::TrialBalance),
        debit_total: yuan(balance.debit_total_fen),
        credit_total: yuan(balance.credit_total_fen),
        difference: yuan(balance.difference_fen()),
        totals_equal,
        matches_postings,
        lines: balance
            .lines
            .into_iter()
            .map(|line| Line {
                code: line.kind.as_str(),
                name: l.kind(line.kind),
                debit: yuan(line.debit_fen),
                credit: yuan(line.credit_fen),
                matches_postings: line.matches_postings,
            })
            .collect(),
    }
}

fn csv(l: &LedgerLabels, balance: &TrialBalance) -> Csv {
    let mut csv = Csv::new(&["account", "account_name", "debit_yuan", "credit_yuan", "matches_postings"]);
    for line in &balance.lines {
        csv.row([
            Cell::text(line.kind.as_str()),
            Cell::text(l.kind(line.kind)),
            Cell::Yuan(line.debit_fen),
            Cell::Yuan(line.credit_fen),
            Cell::text(if line.matches_postings { "yes" } else { "no" }),
        ]);
    }
    csv.row([
        Cell::text("total"),
        // As on the page: the sides' equality here, the postings check in the last column.
        Cell::text(if balance.difference_fen() == Amount::ZERO { l.balanced } else { l.not_balanced }),
        Cell::Yuan(balance.debit_total_fen),
        Cell::Yuan(balance.credit_total_fen),
        Cell::text(if balance.lines.iter().all(|line| line.matches_postings) { "yes" } else { "no" }),
    ]);
    csv
}
