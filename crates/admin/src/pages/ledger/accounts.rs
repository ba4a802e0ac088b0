//! `GET /admin/ledger/accounts`: every merchant's accounts with their balances, filtered by merchant
//! (sub-merchant ID or name) and account kind, in pages; and `GET /admin/ledger/accounts/{id}`: one
//! account's postings, newest first, each with its entry, its cause and the balance after it. Both
//! download as CSV with `?format=csv`.
use actix_web::{HttpResponse, web};
use askama::Template;
use domain::{AccountId, Amount, MerchantId, ledger::AccountKind};
use ledger::reports::{self, AccountLedger, AccountPosting, AccountQuery, AccountSummary};
use serde::Deserialize;
use storage::{database::run_blocking, merchants::MerchantRow};

use super::{
    CSV_MAX_ROWS, ENTRY_COLUMNS, EntryView, Format, TabLink, bad, chrome,
    csv::{Cell, Csv},
    entry_cells, find_merchants, id_param, ledger_error, money_class, tabs,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::LedgerLabels,
    pages::{layout::Chrome, present, query_string},
    render,
    view::yuan,
};

const PAGE_SIZE: i64 = 100;
/// Merchants one name search may match before the operator is asked to narrow it.
const MAX_MERCHANTS: i64 = 50;

#[derive(Template)]
#[template(path = "ledger_accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    merchant: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    alert: Option<&'static str>,
    rows: Vec<AccountView>,
    csv_href: String,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct AccountView {
    id: AccountId,
    merchant_id: MerchantId,
    merchant: String,
    sub_merchant_id: String,
    kind_code: &'static str,
    kind_name: &'static str,
    normal_side: &'static str,
    balance: String,
    balance_class: &'static str,
}

impl AccountView {
    fn of(l: &LedgerLabels, account: &AccountSummary) -> AccountView {
        AccountView {
            id: account.id,
            merchant_id: account.merchant_id,
            merchant: account.short_name.clone(),
            sub_merchant_id: account.sub_merchant_id.clone().unwrap_or_default(),
            kind_code: account.kind.as_str(),
            kind_name: l.kind(account.kind),
            normal_side: l.normal_side(account.kind),
            balance: yuan(account.balance_fen),
            balance_class: money_class(account.balance_fen),
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    merchant: Option<String>,
    kind: Option<String>,
    after: Option<i64>,
    format: Option<String>,
}

/// What the merchant filter matched.
enum Matched {
    Any,
    Merchants(Vec<MerchantRow>),
    Nobody,
    TooMany,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let query = query.into_inner();
    let format = Format::parse(l, query.format.as_deref())?;
    let kind = match present("kind", query.kind, 64)? {
        Some(text) => Some(text.parse::<AccountKind>().map_err(|_| bad(l.bad_kind, &text))?),
        None => None,
    };
    let merchant = present("merchant", query.merchant, 100)?;
    let limit = if format == Format::Csv { CSV_MAX_ROWS } else { PAGE_SIZE };
    let after_id = if format == Format::Csv { None } else { query.after };
    let text = merchant.clone();
    let (matched, mut rows) = run_blocking(&state.pool, move |conn| {
        let matched = match text {
            None => Matched::Any,
            Some(text) => match find_merchants(conn, &text, MAX_MERCHANTS + 1)? {
                found if found.is_empty() => Matched::Nobody,
                found if found.len() as i64 > MAX_MERCHANTS => Matched::TooMany,
                found => Matched::Merchants(found),
            },
        };
        let merchant_ids = match &matched {
            Matched::Any => None,
            Matched::Merchants(found) => Some(found.iter().map(|row| row.id).collect()),
            Matched::Nobody | Matched::TooMany => return Ok((matched, Vec::new())),
        };
        let filter = AccountQuery { merchant_ids, kind, after_id };
        let rows = reports::accounts(conn, &filter, limit + 1).map_err(ledger_error)?;
        Ok::<_, ConsoleError>((matched, rows))
    })
    .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let merchant = merchant.unwrap_or_default();
    let kind_code = kind.map(AccountKind::as_str).unwrap_or_default();
    let filters = [("merchant", merchant.as_str()), ("kind", kind_code)];
    if format == Format::Csv {
        if has_more {
            return Err(ConsoleError::BadRequest(l.too_many_rows.to_string()));
        }
        return Ok(accounts_csv(l, &rows).into_response("ledger-accounts"));
    }
    let next_page = match rows.last() {
        Some(last) if has_more => {
            let after = last.id.to_string();
            Some(query_string(&[filters[0], filters[1], ("after", after.as_str())])?)
        }
        _ => None,
    };
    let first_page = if query.after.is_some() { Some(query_string(&filters)?) } else { None };
    render::page(&AccountsPage {
        chrome: chrome(&session, l.accounts),
        l,
        tabs: tabs(l, super::Tab::Accounts),
        alert: match matched {
            Matched::Nobody => Some(l.merchant_unknown),
            Matched::TooMany => Some(l.merchants_too_many),
            Matched::Any | Matched::Merchants(_) => None,
        },
        kinds: AccountKind::ALL.iter().map(|kind| (kind.as_str(), l.kind(*kind))).collect(),
        rows: rows.iter().map(|account| AccountView::of(l, account)).collect(),
        csv_href: format!("/admin/ledger/accounts?{}", query_string(&[filters[0], filters[1], ("format", "csv")])?),
        merchant,
        kind: kind_code.to_string(),
        next_page,
        first_page,
    })
}

fn accounts_csv(l: &LedgerLabels, rows: &[AccountSummary]) -> Csv {
    let mut csv = Csv::new(&[
        "account_id",
        "merchant_id",
        "sub_merchant_id",
        "merchant",
        "account",
        "account_name",
        "normal_side",
        "balance_yuan",
    ]);
    for account in rows {
        csv.row([
            Cell::Count(account.id.get()),
            Cell::Count(account.merchant_id.get()),
            Cell::text(account.sub_merchant_id.clone().unwrap_or_default()),
            Cell::text(account.short_name.clone()),
            Cell::text(account.kind.as_str()),
            Cell::text(l.kind(account.kind)),
            Cell::text(if account.kind.is_debit_normal() { "debit" } else { "credit" }),
            Cell::Yuan(account.balance_fen),
        ]);
    }
    csv
}

#[derive(Template)]
#[template(path = "ledger_account.html")]
struct AccountPage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    account: AccountView,
    statement_href: Option<String>,
    postings: Vec<PostingView>,
    csv_href: String,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct PostingView {
    id: i64,
    entry: EntryView,
    debit: String,
    credit: String,
    balance_after: String,
    balance_class: &'static str,
}

impl PostingView {
    fn of(l: &LedgerLabels, posting: &AccountPosting) -> PostingView {
        let shown = |amount: Amount| if amount == Amount::ZERO { String::new() } else { yuan(amount) };
        PostingView {
            id: posting.posting_id,
            entry: EntryView::of(l, &posting.entry),
            debit: shown(posting.debit_fen()),
            credit: shown(posting.credit_fen()),
            balance_after: yuan(posting.balance_after_fen),
            balance_class: money_class(posting.balance_after_fen),
        }
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    before: Option<i64>,
    format: Option<String>,
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let account_id = AccountId::new(id_param(l, &id)?);
    let format = Format::parse(l, query.format.as_deref())?;
    let (before_id, limit) = match format {
        Format::Csv => (None, CSV_MAX_ROWS),
        Format::Html => (query.before, PAGE_SIZE),
    };
    let found = run_blocking(&state.pool, move |conn| {
        reports::account_ledger(conn, account_id, before_id, limit).map_err(ledger_error)
    })
    .await?;
    let ledger = found.ok_or(ConsoleError::NotFound)?;
    match format {
        Format::Csv if ledger.next_before_id.is_some() => Err(ConsoleError::BadRequest(l.too_many_rows.to_string())),
        Format::Csv => Ok(postings_csv(l, &ledger).into_response(&format!("ledger-account-{account_id}"))),
        Format::Html => render::page(&account_page(&session, l, ledger, query.before.is_some())),
    }
}

fn account_page(session: &SignedIn, l: &'static LedgerLabels, ledger: AccountLedger, paged: bool) -> AccountPage {
    let account = &ledger.account;
    let id = account.id;
    let title = format!("{} · {} #{id}", account.short_name, l.kind(account.kind));
    // The merchant's own accounts are what its statement covers.
    let statement_href = account
        .sub_merchant_id
        .as_ref()
        .filter(|_| reports::STATEMENT_KINDS.contains(&account.kind))
        .map(|sub_merchant_id| format!("/admin/ledger/statement?merchant={sub_merchant_id}"));
    AccountPage {
        chrome: chrome(session, &title),
        l,
        tabs: tabs(l, super::Tab::Accounts),
        account: AccountView::of(l, account),
        statement_href,
        postings: ledger.postings.iter().map(|posting| PostingView::of(l, posting)).collect(),
        csv_href: format!("/admin/ledger/accounts/{id}?format=csv"),
        next_page: ledger.next_before_id.map(|before| format!("/admin/ledger/accounts/{id}?before={before}")),
        first_page: paged.then(|| format!("/admin/ledger/accounts/{id}")),
    }
}

fn postings_csv(l: &LedgerLabels, ledger: &AccountLedger) -> Csv {
    let header =
        [&["posting_id", "entry_id"][..], &ENTRY_COLUMNS, &["debit_yuan", "credit_yuan", "balance_after_yuan", "memo"]];
    let mut csv = Csv::new(&header.concat());
    for posting in &ledger.postings {
        let entry = &posting.entry;
        let ids = [Cell::Count(posting.posting_id), Cell::Count(entry.id.get())];
        let figures = [
            Cell::Yuan(posting.debit_fen()),
            Cell::Yuan(posting.credit_fen()),
            Cell::Yuan(posting.balance_after_fen),
            Cell::text(entry.memo.as_deref().unwrap_or_default()),
        ];
        csv.row(ids.into_iter().chain(entry_cells(l, entry)).chain(figures));
    }
    csv
}
