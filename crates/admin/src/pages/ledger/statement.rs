//! `GET /admin/ledger/statement?merchant=…&from=YYYY-MM-DD&to=YYYY-MM-DD`: a merchant's statement —
//! for its pending, available and in-transit accounts the opening balance, every movement of the
//! period with its entry and cause, and the closing balance — with the check that they add up.
//! `?format=csv` downloads the whole period.
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use domain::{AccountId, Amount, MerchantId};
use ledger::reports::{self, DateRange, Movement, MovementPage, Statement, StatementAccount, StatementSink};
use serde::Deserialize;
use storage::{database::run_blocking, merchants::MerchantRow};

use super::{
    CSV_MAX_ROWS, ENTRY_COLUMNS, EntryView, Format, TabLink, chrome,
    csv::{Cell, Csv},
    entry_cells, find_merchants, ledger_error, money_class, period_param, tabs,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::LedgerLabels,
    pages::{layout::Chrome, present, query_string},
    render,
    view::yuan,
};

const PAGE_SIZE: i64 = 200;
/// Merchants offered when a name matches several.
const MAX_CANDIDATES: i64 = 20;

#[derive(Template)]
#[template(path = "ledger_statement.html")]
struct StatementPage {
    chrome: Chrome,
    l: &'static LedgerLabels,
    tabs: Vec<TabLink>,
    merchant: String,
    from: String,
    to: String,
    alert: Option<String>,
    candidates: Vec<Candidate>,
    report: Option<StatementView>,
}

struct Candidate {
    href: String,
    short_name: String,
    sub_merchant_id: String,
}

struct StatementView {
    merchant_id: MerchantId,
    short_name: String,
    sub_merchant_id: String,
    agrees: bool,
    accounts: Vec<AccountLine>,
    opening_total: String,
    closing_total: String,
    movements: Vec<MovementView>,
    csv_href: String,
    next_page: Option<String>,
    first_page: Option<String>,
}

struct AccountLine {
    account_id: Option<AccountId>,
    kind_code: &'static str,
    kind_name: &'static str,
    opening: String,
    debit: String,
    credit: String,
    count: i64,
    closing: String,
    agrees: bool,
}

struct MovementView {
    posting_id: i64,
    entry: EntryView,
    account_code: &'static str,
    account_name: &'static str,
    debit: String,
    credit: String,
    balance_after: String,
    balance_class: &'static str,
}

#[derive(Deserialize)]
pub struct StatementQuery {
    merchant: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<i64>,
    format: Option<String>,
}

/// What the merchant field named.
enum Found {
    Statement(Box<MerchantRow>, Box<Report>),
    Several(Vec<MerchantRow>),
    Nobody,
}

/// The statement of the one merchant found: a page of it, or all of it written as CSV.
enum Report {
    Page(Statement),
    Csv(Statement, Box<StatementCsv>),
}

/// The most movements one export writes.
const EXPORT_MAX_MOVEMENTS: usize = CSV_MAX_ROWS as usize;

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let l = session.lang.labels().ledger;
    let query = query.into_inner();
    let format = Format::parse(l, query.format.as_deref())?;
    let range = period_param(l, &state, query.from.as_deref(), query.to.as_deref())?;
    let Some(merchant) = present("merchant", query.merchant, 100)? else {
        if format == Format::Csv {
            return Err(ConsoleError::BadRequest(l.choose_merchant.to_string()));
        }
        return render::page(&empty_page(&session, l, String::new(), range, None, Vec::new()));
    };
    let page = MovementPage { after_id: query.after, limit: PAGE_SIZE };
    let text = merchant.clone();
    let found = run_blocking(&state.pool, move |conn| {
        let mut matches = find_merchants(conn, &text, MAX_CANDIDATES)?;
        if matches.len() > 1 {
            return Ok::<_, ConsoleError>(Found::Several(matches));
        }
        let Some(row) = matches.pop() else { return Ok(Found::Nobody) };
        let report = match format {
            Format::Csv => {
                let (statement, csv) = export_csv(conn, row.id, range, l)?;
                Report::Csv(statement, Box::new(csv))
            }
            Format::Html => Report::Page(reports::statement(conn, row.id, range, page).map_err(ledger_error)?),
        };
        Ok(Found::Statement(Box::new(row), Box::new(report)))
    })
    .await?;
    match found {
        Found::Statement(row, report) => respond(&session, &row, *report, query.after.is_some()),
        Found::Nobody => {
            let alert = Some(format!("{}: {merchant}", l.merchant_unknown));
            let page = empty_page(&session, l, merchant, range, alert, Vec::new());
            render::page_with_status(&page, StatusCode::BAD_REQUEST)
        }
        Found::Several(rows) if format == Format::Html => {
            let candidates = candidates(&rows, range)?;
            let alert = Some(l.merchant_ambiguous.to_string());
            render::page(&empty_page(&session, l, merchant, range, alert, candidates))
        }
        Found::Several(_) => Err(ConsoleError::BadRequest(l.merchant_ambiguous.to_string())),
    }
}

/// Movements handed to the writing thread at a time, and batches waiting for it at most.
const HANDED_MOVEMENTS: usize = 256;
const BATCHES_WAITING: usize = 8;

/// Reads the merchant's statement and writes it as CSV on a second thread, as it is read: reading
/// (PostgreSQL sending the days, the rows decoded) and writing each take a good share of an
/// export, and side by side it takes about the longer of the two.
fn export_csv(
    conn: &mut diesel::PgConnection,
    merchant_id: MerchantId,
    range: DateRange,
    l: &'static LedgerLabels,
) -> Result<(Statement, StatementCsv), ConsoleError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Handed>(BATCHES_WAITING);
        let write = move || {
            let mut csv = StatementCsv::new(l);
            for handed in receiver {
                match handed {
                    Handed::Accounts(accounts) => csv.accounts(&accounts),
                    Handed::Movements(movements) => movements.into_iter().for_each(|movement| csv.movement(movement)),
                }
            }
            csv
        };
        let writer = std::thread::Builder::new()
            .name("statement-csv".into())
            .spawn_scoped(scope, write)
            .map_err(|error| ConsoleError::Internal(format!("no thread to write the statement's CSV: {error}")))?;
        let mut hand_off = HandOff { sender, batch: Vec::with_capacity(HANDED_MOVEMENTS) };
        let read = reports::export_statement(conn, merchant_id, range, EXPORT_MAX_MOVEMENTS, &mut hand_off);
        hand_off.flush();
        drop(hand_off);
        let csv = writer.join().map_err(|_| ConsoleError::Internal("the statement's CSV writer failed".into()))?;
        Ok((read.map_err(ledger_error)?, csv))
    })
}

/// What the reading side hands the writing thread.
enum Handed {
    Accounts(Vec<StatementAccount>),
    Movements(Vec<Movement>),
}

/// The reading side's sink: movements are handed on in batches. Should the writer be gone, what
/// is handed is dropped; its join reports why.
struct HandOff {
    sender: std::sync::mpsc::SyncSender<Handed>,
    batch: Vec<Movement>,
}

impl HandOff {
    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(HANDED_MOVEMENTS));
            let _gone = self.sender.send(Handed::Movements(batch));
        }
    }
}

impl StatementSink for HandOff {
    fn accounts(&mut self, accounts: &[StatementAccount]) {
        let _gone = self.sender.send(Handed::Accounts(accounts.to_vec()));
    }

    fn movement(&mut self, movement: Movement) {
        self.batch.push(movement);
        if self.batch.len() == HANDED_MOVEMENTS {
            self.flush();
        }
    }
}

/// The statement of the one merchant found, as a page or a CSV.
fn respond(session: &SignedIn, row: &MerchantRow, report: Report, paged: bool) -> Result<HttpResponse, ConsoleError> {
    let l = session.lang.labels().ledger;
    let (Report::Page(statement) | Report::Csv(statement, _)) = &report;
    let range = statement.range;
    if !statement.balances_agree() {
        tracing::error!(merchant_id = %row.id, from = %range.from(), to = %range.to(), "a statement does not add up");
    }
    let sub_merchant_id = row.sub_merchant_id.clone().unwrap_or_default();
    match report {
        Report::Csv(statement, _) if !statement.is_complete() => {
            Err(ConsoleError::BadRequest(l.too_many_rows.to_string()))
        }
        Report::Csv(statement, csv) => {
            let name = format!("statement-{sub_merchant_id}-{}-{}", range.from(), range.to());
            Ok(csv.finish(&statement).into_response(&name))
        }
        Report::Page(statement) => {
            let view = statement_view(l, row, &statement, paged)?;
            let mut page = empty_page(session, l, sub_merchant_id, range, None, Vec::new());
            page.chrome = chrome(session, &format!("{} · {}", l.statement, row.short_name));
            page.report = Some(view);
            render::page(&page)
        }
    }
}

fn empty_page(
    session: &SignedIn,
    l: &'static LedgerLabels,
    merchant: String,
    range: DateRange,
    alert: Option<String>,
    candidates: Vec<Candidate>,
) -> StatementPage {
    StatementPage {
        chrome: chrome(session, l.statement),
        l,
        tabs: tabs(l, super::Tab::Statement),
        merchant,
        from: range.from().to_string(),
        to: range.to().to_string(),
        alert,
        candidates,
        report: None,
    }
}

fn candidates(rows: &[MerchantRow], range: DateRange) -> Result<Vec<Candidate>, ConsoleError> {
    let (from, to) = (range.from().to_string(), range.to().to_string());
    rows.iter()
        .map(|row| {
            let sub_merchant_id = row.sub_merchant_id.clone().unwrap_or_default();
            let pairs = [("merchant", sub_merchant_id.as_str()), ("from", from.as_str()), ("to", to.as_str())];
            Ok(Candidate {
                href: format!("/admin/ledger/statement?{}", query_string(&pairs)?),
                short_name: row.short_name.clone(),
                sub_merchant_id,
            })
        })
        .collect()
}

fn statement_view(
    l: &LedgerLabels,
    row: &MerchantRow,
    statement: &Statement,
    paged: bool,
) -> Result<StatementView, ConsoleError> {
    let sub_merchant_id = row.sub_merchant_id.clone().unwrap_or_default();
    let (from, to) = (statement.range.from().to_string(), statement.range.to().to_string());
    let filters = [("merchant", sub_merchant_id.as_str()), ("from", from.as_str()), ("to", to.as_str())];
    let next_page = match statement.next_after_id {
        Some(after) => {
            let after = after.to_string();
            Some(query_string(&[filters[0], filters[1], filters[2], ("after", after.as_str())])?)
        }
        None => None,
    };
    let sum = |figure: fn(&StatementAccount) -> Amount| {
        Amount::checked_sum(statement.accounts.iter().map(figure))
            .ok_or_else(|| ConsoleError::Internal("a statement total overflows".into()))
    };
    Ok(StatementView {
        merchant_id: row.id,
        short_name: row.short_name.clone(),
        agrees: statement.balances_agree(),
        accounts: statement.accounts.iter().map(|account| account_line(l, account)).collect(),
        opening_total: yuan(sum(|account| account.opening_fen)?),
        closing_total: yuan(sum(|account| account.closing_fen)?),
        movements: statement.movements.iter().map(|movement| movement_view(l, movement)).collect(),
        csv_href: format!(
            "/admin/ledger/statement?{}",
            query_string(&[filters[0], filters[1], filters[2], ("format", "csv")])?
        ),
        next_page,
        first_page: if paged { Some(query_string(&filters)?) } else { None },
        sub_merchant_id,
    })
}

fn account_line(l: &LedgerLabels, account: &StatementAccount) -> AccountLine {
    AccountLine {
        account_id: account.account_id,
        kind_code: account.kind.as_str(),
        kind_name: l.kind(account.kind),
        opening: yuan(account.opening_fen),
        debit: yuan(account.debit_fen),
        credit: yuan(account.credit_fen),
        count: account.movement_count,
        closing: yuan(account.closing_fen),
        agrees: account.agrees(),
    }
}

fn movement_view(l: &LedgerLabels, movement: &Movement) -> MovementView {
    let shown = |amount: Amount| if amount == Amount::ZERO { String::new() } else { yuan(amount) };
    MovementView {
        posting_id: movement.posting_id,
        entry: EntryView::of(l, &movement.entry),
        account_code: movement.account.as_str(),
        account_name: l.kind(movement.account),
        debit: shown(movement.debit_fen()),
        credit: shown(movement.credit_fen()),
        balance_after: yuan(movement.balance_after_fen),
        balance_class: money_class(movement.balance_after_fen),
    }
}

/// The statement as one table, written as it is read: an `opening` row per account, a `movement`
/// row per posting, a `closing` row per account (with the period's debits and credits), and a
/// last `check` row.
struct StatementCsv {
    l: &'static LedgerLabels,
    csv: Csv,
}

impl StatementCsv {
    fn new(l: &'static LedgerLabels) -> StatementCsv {
        let header = [
            &["row", "account", "account_name", "posting_id", "entry_id"][..],
            &ENTRY_COLUMNS,
            &["debit_yuan", "credit_yuan", "balance_yuan", "memo"],
        ];
        let csv = Csv::new(&header.concat());
        StatementCsv { l, csv }
    }

    fn summary(&mut self, row: &str, account: &StatementAccount, figures: [Cell; 3]) {
        let [debit, credit, balance] = figures;
        let blanks = std::iter::repeat_with(|| Cell::Empty).take(7);
        let head = [Cell::text(row), Cell::text(account.kind.as_str()), Cell::text(self.l.kind(account.kind))];
        self.csv.row(head.into_iter().chain(blanks).chain([debit, credit, balance, Cell::Empty]));
    }

    /// The closing rows and the check, once every movement is written.
    fn finish(mut self, statement: &Statement) -> Csv {
        for account in &statement.accounts {
            let figures =
                [Cell::Yuan(account.debit_fen), Cell::Yuan(account.credit_fen), Cell::Yuan(account.closing_fen)];
            self.summary("closing", account, figures);
        }
        let check = if statement.balances_agree() { self.l.statement_agrees } else { self.l.statement_disagrees };
        let blanks = std::iter::repeat_with(|| Cell::Empty).take(12);
        self.csv.row([Cell::text("check")].into_iter().chain(blanks).chain([Cell::text(check)]));
        self.csv
    }
}

impl StatementSink for StatementCsv {
    fn accounts(&mut self, accounts: &[StatementAccount]) {
        for account in accounts {
            self.summary("opening", account, [Cell::Empty, Cell::Empty, Cell::Yuan(account.opening_fen)]);
        }
    }

    fn movement(&mut self, movement: Movement) {
        let (l, entry) = (self.l, &movement.entry);
        let head = [
            Cell::text("movement"),
            Cell::text(movement.account.as_str()),
            Cell::text(l.kind(movement.account)),
            Cell::Count(movement.posting_id),
            Cell::Count(entry.id.get()),
        ];
        let figures = [
            Cell::Yuan(movement.debit_fen()),
            Cell::Yuan(movement.credit_fen()),
            Cell::Yuan(movement.balance_after_fen),
            Cell::text(entry.memo.as_deref().unwrap_or_default()),
        ];
        self.csv.row(head.into_iter().chain(entry_cells(l, entry)).chain(figures));
    }
}
