//! `GET /admin/ledger`: the trial balance. Each account kind summed over every merchant, its
//! balance on the debit or credit side, the totals of both sides and whether they are equal, and
//! whether each balance equals the sum of its postings as the latest verification found — with
//! that verification's time and result, and (admin) "verify now". `?format=csv` downloads it.
//! A view reads the balances, never every posting.
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use domain::{Amount, ledger::AccountKind};
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
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::LedgerLabels,
    pages::layout::Chrome,
    render,
    view::{china_day, china_time, yuan},
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
    /// The provider's reserve as booked, and as each pay-out channel reports it.
    reserve_books: String,
    reserve_reports: Vec<ReserveReport>,
    verification: Option<VerificationView>,
    can_verify: bool,
    notice: Option<&'static str>,
}

/// The latest finished verification of the whole ledger.
struct VerificationView {
    finished_at: String,
    requested_by: String,
    accounts_checked: i64,
    entries_checked: i64,
    mismatch_count: i64,
    mismatches: Vec<String>,
}

impl VerificationView {
    fn of(verification: ledger::verification::Verification) -> VerificationView {
        VerificationView {
            finished_at: verification.finished_at.map(china_time).unwrap_or_default(),
            requested_by: verification.requested_by,
            accounts_checked: verification.accounts_checked,
            entries_checked: verification.entries_checked,
            mismatch_count: verification.mismatch_count,
            mismatches: verification.mismatches,
        }
    }
}

/// What one channel says the provider holds there, beside the books.
struct ReserveReport {
    channel: &'static str,
    /// The reported balance, or why there is none.
    reported: String,
    /// Whether it equals the books; `None` without a reported balance.
    agrees: Option<bool>,
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
    notice: Option<String>,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<TrialBalanceQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let format = Format::parse(l, query.format.as_deref())?;
    let (balance, verified) =
        run_blocking(&state.pool, |conn| reports::trial_balance_as_verified(conn).map_err(ledger_error)).await?;
    match format {
        Format::Csv => Ok(csv(l, &balance).into_response(&format!("trial-balance-{}", china_day(Utc::now())))),
        Format::Html => {
            let books = reserve_of(&balance);
            let reports = reserve_reports(l, &state.channels, books).await;
            let mut page = page(&session, l, balance, reports);
            page.verification = verified.map(VerificationView::of);
            page.notice = query.notice.as_deref().filter(|notice| *notice == "verify").map(|_| l.notice_verify);
            render::page(&page)
        }
    }
}

/// `POST /admin/ledger/verify` (admin): queue a verification of the whole ledger now (audited).
pub async fn verify(
    posted: ConsoleForm<crate::pages::Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, .. } = posted;
    session.require(Permission::Administer)?;
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| ledger::verification::request(conn, &actor).map_err(ledger_error)).await?;
    Ok(render::see_other("/admin/ledger?notice=verify"))
}

/// The provider's reserve in the books: its debit-side balance over every merchant.
fn reserve_of(balance: &TrialBalance) -> Amount {
    balance
        .lines
        .iter()
        .find(|line| line.kind == AccountKind::ProviderReserve)
        .and_then(|line| line.debit_fen.checked_sub(line.credit_fen))
        .unwrap_or(Amount::ZERO)
}

/// Asks each pay-out channel what it holds for the provider (no transaction is open).
async fn reserve_reports(l: &LedgerLabels, channels: &channel::Registry, books: Amount) -> Vec<ReserveReport> {
    let mut reports = Vec::new();
    for channel in channels.pay_outs() {
        let (reported, agrees) = match channel.reported_balance().await {
            Ok(Some(reported)) => (yuan(reported), Some(reported == books)),
            Ok(None) => (l.no_reported_balance.to_string(), None),
            Err(error) => (format!("{}: {error}", l.reported_balance_unavailable), None),
        };
        reports.push(ReserveReport { channel: channel.name(), reported, agrees });
    }
    reports
}

fn page(
    session: &SignedIn,
    l: &'static LedgerLabels,
    balance: TrialBalance,
    reserve_reports: Vec<ReserveReport>,
) -> TrialBalancePage {
    let totals_equal = balance.debit_total_fen == balance.credit_total_fen;
    let reserve_books = yuan(reserve_of(&balance));
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
        reserve_books,
        reserve_reports,
        verification: None,
        can_verify: session.can(Permission::Administer),
        notice: None,
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
