//! The one place reports become CSV (RFC 4180, written by the `csv` crate): a header, CRLF line
//! ends, text quoted, money as yuan with two decimals, unquoted.
//!
//! Text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a leading `'`, so a merchant name like `=HYPERLINK(…)` stays text when an
//! operator opens the file (CSV injection). Money and counts are numbers we format ourselves, so a
//! negative amount keeps its minus sign.
//!
//! The file starts with a UTF-8 byte-order mark: without it Excel, which most operators open these
//! files with, reads UTF-8 as the local code page and garbles the Chinese names.
use actix_web::{HttpResponse, http::header};

use crate::view::yuan;

const BYTE_ORDER_MARK: char = '\u{feff}';

/// One field of a row.
pub enum Cell {
    Text(String),
    /// Fen, written as yuan.
    Yuan(domain::Amount),
    Count(i64),
    /// Nothing (a figure that does not apply to the row).
    Empty,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell::Text(text.into())
    }
}

pub struct Csv {
    writer: csv::Writer<Vec<u8>>,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut body = Vec::new();
        body.extend_from_slice(BYTE_ORDER_MARK.to_string().as_bytes());
        let writer = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::NonNumeric)
            .terminator(csv::Terminator::CRLF)
            .from_writer(body);
        let mut csv = Csv { writer };
        csv.row(header.iter().map(|name| Cell::text(*name)));
        csv
    }

    pub fn row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        let fields: Vec<String> = cells
            .into_iter()
            .map(|cell| match cell {
                Cell::Text(text) => defused(text),
                Cell::Yuan(fen) => yuan(fen),
                Cell::Count(count) => count.to_string(),
                Cell::Empty => String::new(),
            })
            .collect();
        // Writing to a Vec cannot fail; a failure would only lose this row, never garble another.
        if let Err(error) = self.writer.write_record(&fields) {
            tracing::error!(%error, "a CSV row could not be written");
        }
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

/// Text a spreadsheet would run as a formula, made plain text.
fn defused(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text }
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

    fn written(cells: Vec<Cell>) -> String {
        let mut csv = Csv::new(&["a"]);
        csv.row(cells);
        text(csv).split("\r\n").nth(1).unwrap_or_default().to_string()
    }

    #[test]
    fn text_is_quoted_and_formulas_are_defused() {
        assert_eq!(
            written(vec![Cell::text("示例科技"), Cell::Yuan(domain::Amount::from_fen(-1)), Cell::Count(3)]),
            "\"示例科技\",-0.01,3"
        );
        assert_eq!(written(vec![Cell::text("say \"hi\", then\nleave")]), "\"say \"\"hi\"\", then\nleave\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(written(vec![Cell::text(formula)]).starts_with("\"'"), "{formula:?}");
        }
        assert_eq!(
            written(vec![Cell::Yuan(domain::Amount::from_fen(123_456)), Cell::Empty, Cell::Count(-2)]),
            "1234.56,\"\",-2"
        );
    }

    #[test]
    fn the_file_has_a_bom_a_header_and_a_safe_name() {
        let mut csv = Csv::new(&["kind", "debit_yuan"]);
        csv.row([Cell::text("x"), Cell::Yuan(domain::Amount::from_fen(5))]);
        assert_eq!(text(csv), "\u{feff}\"kind\",\"debit_yuan\"\r\n\"x\",0.05\r\n");
        assert_eq!(file_name("statement-M00\"1;x"), "statement-M00_1_x");
    }
}
