//! The one place reports become CSV (RFC 4180, written by the `csv` crate): a header, CRLF line
//! ends, money as yuan with two decimals, a field quoted when it holds a quote, a comma or a line
//! break. (Quoting every text was the `csv` crate's `NonNumeric` style, which tells text from
//! numbers by parsing every field as a float: a third of the time an export spent writing, and
//! it left digit-only text unquoted anyway.)
//!
//! Text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a leading `'`, so a merchant name like `=HYPERLINK(…)` stays text when an
//! operator opens the file (CSV injection). Money and counts are numbers we format ourselves, so a
//! negative amount keeps its minus sign.
//!
//! The file starts with a UTF-8 byte-order mark: without it Excel, which most operators open these
//! files with, reads UTF-8 as the local code page and garbles the Chinese names.
use std::borrow::Cow;

use actix_web::{HttpResponse, http::header};
use chrono::{DateTime, NaiveDate, Utc};

const BYTE_ORDER_MARK: char = '\u{feff}';

/// One field of a row. Dates, times and labelled numbers are written straight into the file,
/// not first into a `String` of their own: an export writes tens of thousands of rows.
pub enum Cell<'a> {
    Text(Cow<'a, str>),
    /// A label and what it labels, written as `label text` (e.g. `order T2026…`); empty when the
    /// label is.
    Labelled(&'static str, Cow<'a, str>),
    /// Fen, written as yuan.
    Yuan(domain::Amount),
    Count(i64),
    Date(NaiveDate),
    /// An instant, written in China time as the pages show it.
    ChinaTime(DateTime<Utc>),
    /// Nothing (a figure that does not apply to the row).
    Empty,
}

impl<'a> Cell<'a> {
    pub fn text(text: impl Into<Cow<'a, str>>) -> Cell<'a> {
        Cell::Text(text.into())
    }
}

pub struct Csv {
    writer: csv::Writer<Vec<u8>>,
    /// Where a number or a defused text is written before it becomes a field: one buffer for
    /// the whole file, since an export writes tens of thousands of rows.
    scratch: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut body = Vec::new();
        body.extend_from_slice(BYTE_ORDER_MARK.to_string().as_bytes());
        let writer = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::CRLF)
            .from_writer(body);
        let mut csv = Csv { writer, scratch: String::new() };
        csv.row(header.iter().map(|name| Cell::text(*name)));
        csv
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        let written = cells
            .into_iter()
            .try_for_each(|cell| self.field(cell))
            .and_then(|()| self.writer.write_record(None::<&[u8]>));
        // Writing to a Vec cannot fail; a failure would only lose this row, never garble another.
        if let Err(error) = written {
            tracing::error!(%error, "a CSV row could not be written");
        }
    }

    fn field(&mut self, cell: Cell<'_>) -> csv::Result<()> {
        use std::fmt::Write;
        self.scratch.clear();
        // Writing to a String cannot fail.
        let _ = match &cell {
            Cell::Text(text) if is_formula(text) => write!(self.scratch, "'{text}"),
            Cell::Text(text) => return self.writer.write_field(text.as_bytes()),
            Cell::Labelled("", _) => Ok(()),
            Cell::Labelled(label, text) if is_formula(label) => write!(self.scratch, "'{label} {text}"),
            Cell::Labelled(label, text) => write!(self.scratch, "{label} {text}"),
            Cell::Yuan(fen) => fen.write_yuan(&mut self.scratch),
            Cell::Count(count) => {
                self.scratch.push_str(itoa::Buffer::new().format(*count));
                Ok(())
            }
            Cell::Date(date) => forms::time::write_date(&mut self.scratch, *date),
            Cell::ChinaTime(at) => forms::time::write_china_time(&mut self.scratch, *at),
            Cell::Empty => Ok(()),
        };
        self.writer.write_field(self.scratch.as_bytes())
    }

    fn into_body(self) -> Vec<u8> {
        self.writer.into_inner().unwrap_or_else(|error| error.into_inner().into_inner().unwrap_or_default())
    }

    /// The download: `name` becomes the file name, kept to safe ASCII.
    pub fn into_response(self, name: &str) -> HttpResponse {
        let body = self.into_body();
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", file_name(name))))
            // Balances and merchant names: never kept by a shared cache.
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    }
}

/// Whether a spreadsheet would run this text as a formula: it is then written after a `'`.
fn is_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(csv: Csv) -> String {
        String::from_utf8(csv.into_body()).expect("utf-8")
    }

    fn written(cells: Vec<Cell<'_>>) -> String {
        let mut csv = Csv::new(&["a"]);
        csv.row(cells);
        text(csv).split("\r\n").nth(1).unwrap_or_default().to_string()
    }

    #[test]
    fn text_is_quoted_and_formulas_are_defused() {
        assert_eq!(
            written(vec![Cell::text("示例科技"), Cell::Yuan(domain::Amount::from_fen(-1)), Cell::Count(3)]),
            "示例科技,-0.01,3"
        );
        assert_eq!(written(vec![Cell::text("a, b")]), "\"a, b\"");
        assert_eq!(written(vec![Cell::text("say \"hi\", then\nleave")]), "\"say \"\"hi\"\", then\nleave\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(written(vec![Cell::text(formula)]).trim_start_matches('"').starts_with('\''), "{formula:?}");
        }
        assert_eq!(
            written(vec![Cell::Yuan(domain::Amount::from_fen(123_456)), Cell::Empty, Cell::Count(-2)]),
            "1234.56,,-2"
        );
    }

    #[test]
    fn dates_times_and_labels_are_written_as_the_pages_show_them() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T17:05:09Z").expect("time").with_timezone(&Utc);
        let date = NaiveDate::from_ymd_opt(2026, 2, 1).expect("date");
        assert_eq!(
            written(vec![Cell::ChinaTime(at), Cell::Date(date), Cell::Labelled("order", "T1".into())]),
            "2026-02-01 01:05:09,2026-02-01,order T1"
        );
        assert_eq!(written(vec![Cell::Labelled("", "T1".into()), Cell::Labelled("=x", "1".into())]), ",'=x 1");
    }

    #[test]
    fn the_file_has_a_bom_a_header_and_a_safe_name() {
        let mut csv = Csv::new(&["kind", "debit_yuan"]);
        csv.row([Cell::text("x"), Cell::Yuan(domain::Amount::from_fen(5))]);
        assert_eq!(text(csv), "\u{feff}kind,debit_yuan\r\nx,0.05\r\n");
        assert_eq!(file_name("statement-M00\"1;x"), "statement-M00_1_x");
    }
}
