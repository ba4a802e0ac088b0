//! The ledger section (SPEC §7, §9): the trial balance, accounts and their postings, a merchant's
//! statement, commission earned, and business days with their release for settlement. Every page
//! reads through `ledger::reports` and is also a CSV download (`?format=csv`).
//!
//! What the pages share lives here: the section's tabs and navigation link, reading the query
//! parameters every report takes (dates, periods, ids, the format), finding a merchant from what
//! an operator typed, and showing an entry's cause.
pub mod accounts;
pub mod commission;
pub(crate) mod csv;
pub mod days;
pub mod statement;
pub mod trial_balance;

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, Utc};
use domain::{Amount, EntryId, ledger::AccountKind};
use ledger::{
    LedgerError,
    reports::{DateRange, EntryCause, EntryInfo, RangeError},
};
use storage::{
    ledger::AccountRow,
    merchants::{self, MerchantRow},
};

use self::csv::Cell;
use super::{
    layout::{Chrome, Section},
    query_string,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::SignedIn,
    i18n::LedgerLabels,
    view::{china_time, parse_china_date, yuan},
};

/// Where the section starts; also how the navigation recognises it.
pub const HREF: &str = "/admin/ledger";
/// The most rows one CSV download holds; past it the operator narrows the report. An export reads
/// its rows in one query (one snapshot), so this also bounds its memory (tens of megabytes).
const CSV_MAX_ROWS: i64 = 100_000;

/// The pages of the section, shown as tabs above each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    TrialBalance,
    Accounts,
    Statement,
    Commission,
    Days,
    Reconciliation,
}

pub struct TabLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub(crate) fn tabs(l: &LedgerLabels, active: Tab) -> Vec<TabLink> {
    [
        (Tab::TrialBalance, HREF, l.trial_balance),
        (Tab::Accounts, "/admin/ledger/accounts", l.accounts),
        (Tab::Statement, "/admin/ledger/statement", l.statement),
        (Tab::Commission, "/admin/ledger/commission", l.commission),
        (Tab::Days, "/admin/ledger/days", l.business_days),
        (Tab::Reconciliation, "/admin/reconciliation", l.reconciliation),
    ]
    .into_iter()
    .map(|(tab, href, label)| TabLink { href, label, active: tab == active })
    .collect()
}

/// The page frame of a ledger page.
pub(crate) fn chrome(session: &SignedIn, title: &str) -> Chrome {
    let l = session.lang.labels().ledger;
    Chrome::titled(session, Section::Ledger, format!("{} · {title}", l.ledger))
}

/// `?format=`: the page itself, or its CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
}

impl Format {
    fn parse(l: &LedgerLabels, text: Option<&str>) -> Result<Format, ConsoleError> {
        match text.map(str::trim) {
            None | Some("") | Some("html") => Ok(Format::Html),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(bad(l.bad_format, other)),
        }
    }
}

/// A 400 naming the parameter value that was refused (askama escapes it on the error page).
fn bad(message: &str, value: &str) -> ConsoleError {
    let shown: String = value.chars().take(40).collect();
    ConsoleError::BadRequest(format!("{message}: {shown:?}"))
}

/// An optional date parameter, `YYYY-MM-DD`.
fn date_param(l: &LedgerLabels, text: Option<&str>) -> Result<Option<NaiveDate>, ConsoleError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => parse_china_date(text).map(Some).map_err(|_| bad(l.bad_date, text)),
        None => Ok(None),
    }
}

/// A report period from `from` and `to`, each defaulting to this month so far (business days).
fn period_param(
    l: &LedgerLabels,
    state: &ConsoleState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, ConsoleError> {
    let today = state.calendar.date_of(Utc::now());
    let to = date_param(l, to)?.unwrap_or(today);
    let from = date_param(l, from)?.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
    DateRange::new(from, to).map_err(|error| range_error(l, error))
}

fn range_error(l: &LedgerLabels, error: RangeError) -> ConsoleError {
    ConsoleError::BadRequest(
        match error {
            RangeError::Reversed => l.range_reversed,
            RangeError::TooLong { .. } => l.range_too_long,
            RangeError::OutOfBounds => l.range_out_of_bounds,
        }
        .to_string(),
    )
}

/// A row id from a path: a positive number, else a 400 (never a panic or a 404 for junk).
fn id_param(l: &LedgerLabels, text: &str) -> Result<i64, ConsoleError> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| bad(l.bad_id, text))
}

/// Report failures are the platform's, never the operator's: opaque, with the cause logged.
pub(crate) fn ledger_error(error: LedgerError) -> ConsoleError {
    match error {
        LedgerError::Storage(error) => ConsoleError::Storage(error),
        LedgerError::UnknownCursor => ConsoleError::BadRequest(LedgerError::UnknownCursor.to_string()),
        other => ConsoleError::Internal(other.to_string()),
    }
}

/// The merchants an operator's text names: a sub-merchant ID exactly, else those whose legal or
/// short name contains it. Merchants without a sub-merchant ID (not approved yet) have no ledger.
fn find_merchants(conn: &mut diesel::PgConnection, text: &str, limit: i64) -> Result<Vec<MerchantRow>, ConsoleError> {
    if let Some(row) = merchants::find_by_sub_merchant_id(conn, text)? {
        return Ok(vec![row]);
    }
    let filter = merchants::Filter { search: Some(text.to_string()), ..merchants::Filter::default() };
    Ok(merchants::list(conn, &filter, limit)?.into_iter().filter(|row| row.sub_merchant_id.is_some()).collect())
}

/// The columns that show an entry in a CSV row: when it was booked and for which day, what
/// booking it is, and its cause.
const ENTRY_COLUMNS: [&str; 5] = ["booked_at", "business_date", "booking", "booking_name", "cause"];

/// An entry's cells under [`ENTRY_COLUMNS`].
fn entry_cells<'a>(l: &LedgerLabels, entry: &'a EntryInfo) -> [Cell<'a>; 5] {
    [
        Cell::ChinaTime(entry.booked_at),
        Cell::Date(entry.business_date),
        Cell::text(entry.kind.as_str()),
        Cell::text(l.entry(entry.kind)),
        CauseView::csv_cell(l, &entry.cause),
    ]
}

/// An entry as the pages show it.
pub struct EntryView {
    pub id: EntryId,
    pub kind: &'static str,
    pub business_date: String,
    pub booked_at: String,
    pub memo: String,
    pub cause: CauseView,
}

/// What caused an entry: a label, the number or date, and a page to open when there is one.
pub struct CauseView {
    pub label: &'static str,
    pub text: String,
    pub href: Option<String>,
}

impl EntryView {
    fn of(l: &LedgerLabels, entry: &EntryInfo) -> EntryView {
        EntryView {
            id: entry.id,
            kind: l.entry(entry.kind),
            business_date: entry.business_date.to_string(),
            booked_at: china_time(entry.booked_at),
            memo: entry.memo.clone().unwrap_or_default(),
            cause: CauseView::of(l, &entry.cause),
        }
    }
}

impl CauseView {
    fn of(l: &LedgerLabels, cause: &EntryCause) -> CauseView {
        let (label, text) = Self::label_and_text(l, cause);
        let href = match cause {
            EntryCause::Order { .. } | EntryCause::Refund { .. } => {
                cause.order_id().map(|order_id| format!("/admin/orders/{order_id}"))
            }
            EntryCause::Settlement { business_date } => Some(format!("/admin/ledger/days?to={business_date}")),
            EntryCause::Payout { .. } | EntryCause::Reversal { .. } | EntryCause::Unrecorded => None,
        };
        CauseView { label, text: text.into_owned(), href }
    }

    /// The cause in one CSV cell, e.g. `order T2026…`.
    fn csv_cell<'a>(l: &LedgerLabels, cause: &'a EntryCause) -> Cell<'a> {
        let (label, text) = Self::label_and_text(l, cause);
        Cell::Labelled(label, text)
    }

    /// What names the cause: a label, and the number or date (borrowed where the cause holds it).
    fn label_and_text<'a>(l: &LedgerLabels, cause: &'a EntryCause) -> (&'static str, Cow<'a, str>) {
        match cause {
            EntryCause::Order { trade_no, .. } => (l.cause_order, Cow::Borrowed(trade_no)),
            EntryCause::Refund { refund_no, .. } => (l.cause_refund, Cow::Borrowed(refund_no)),
            EntryCause::Payout { payout_id } => (l.cause_payout, Cow::Owned(format!("#{payout_id}"))),
            EntryCause::Settlement { business_date } => (l.cause_settlement, Cow::Owned(business_date.to_string())),
            EntryCause::Reversal { entry_id } => (l.cause_reversal, Cow::Owned(format!("#{entry_id}"))),
            EntryCause::Unrecorded => ("", Cow::Borrowed("")),
        }
    }
}

/// The merchant page's balances: what the platform holds for the merchant, and where to read more.
pub struct MerchantBalances {
    pub pending: String,
    pub available: String,
    pub in_transit: String,
    pub statement_href: String,
    pub accounts_href: String,
}

impl MerchantBalances {
    /// `None` before approval: a merchant without a sub-merchant ID has no ledger yet.
    pub fn of(sub_merchant_id: Option<&str>, accounts: &[AccountRow]) -> Option<MerchantBalances> {
        let sub_merchant_id = sub_merchant_id?;
        let balance = |kind: AccountKind| {
            yuan(
                accounts
                    .iter()
                    .find(|account| account.kind == kind)
                    .map_or(Amount::ZERO, |account| account.balance_fen),
            )
        };
        let merchant = query_string(&[("merchant", sub_merchant_id)]).ok()?;
        Some(MerchantBalances {
            pending: balance(AccountKind::MerchantPending),
            available: balance(AccountKind::MerchantAvailable),
            in_transit: balance(AccountKind::MerchantPayoutInTransit),
            statement_href: format!("/admin/ledger/statement?{merchant}"),
            accounts_href: format!("/admin/ledger/accounts?{merchant}"),
        })
    }
}

/// A money cell's classes: right-aligned, red when negative.
pub fn money_class(amount: domain::Amount) -> &'static str {
    if amount.is_negative() { "num amount negative" } else { "num amount" }
}
