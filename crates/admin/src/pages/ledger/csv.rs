//! The one place reports become CSV (RFC 4180): a header, CRLF line ends, text always quoted with
//! quotes doubled, money as yuan with two decimals, unquoted.
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
    Yuan(i64),
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
    body: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut csv = Csv { body: String::from(BYTE_ORDER_MARK) };
        csv.row(header.iter().map(|name| Cell::text(*name)));
        csv
    }

    pub fn row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        for (index, cell) in cells.into_iter().enumerate() {
            if index > 0 {
                self.body.push(',');
            }
            match cell {
                Cell::Text(text) => push_text(&mut self.body, &text),
                Cell::Yuan(fen) => self.body.push_str(&yuan(fen)),
                Cell::Count(count) => self.body.push_str(&count.to_string()),
                Cell::Empty => {}
            }
        }
        self.body.push_str("\r\n");
    }

    /// The download: `name` becomes the file name, kept to safe ASCII.
    pub fn into_response(self, name: &str) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", file_name(name))))
            // Balances and merchant names: never kept by a shared cache.
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(self.body)
    }
}

fn push_text(body: &mut String, text: &str) {
    body.push('"');
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        body.push('\'');
    }
    body.push_str(&text.replace('"', "\"\""));
    body.push('"');
}

fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(cells: Vec<Cell>) -> String {
        let mut csv = Csv::new(&["a"]);
        csv.row(cells);
        csv.body.split("\r\n").nth(1).unwrap_or_default().to_string()
    }

    #[test]
    fn text_is_quoted_and_formulas_are_defused() {
        assert_eq!(written(vec![Cell::text("示例科技"), Cell::Yuan(-1), Cell::Count(3)]), "\"示例科技\",-0.01,3");
        assert_eq!(written(vec![Cell::text("say \"hi\", then\nleave")]), "\"say \"\"hi\"\", then\nleave\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(written(vec![Cell::text(formula)]).starts_with("\"'"), "{formula:?}");
        }
        assert_eq!(written(vec![Cell::Yuan(123_456), Cell::Empty, Cell::Count(-2)]), "1234.56,,-2");
    }

    #[test]
    fn the_file_has_a_bom_a_header_and_a_safe_name() {
        let mut csv = Csv::new(&["kind", "debit_yuan"]);
        csv.row([Cell::text("x"), Cell::Yuan(5)]);
        assert_eq!(csv.body, "\u{feff}\"kind\",\"debit_yuan\"\r\n\"x\",0.05\r\n");
        assert_eq!(file_name("statement-M00\"1;x"), "statement-M00_1_x");
    }
}
