//! The daily bill (对账单): every payment and refund of a business day with its split, as CSV.
//!
//! One format both ways: this platform's `finance.downloadbill` writes it for its clients, and the
//! reconciliation reads it from a channel (the sandbox writes it; an upstream fshows gateway speaks
//! the same protocol). Amounts are yuan with two decimals; a refund's give-back parts may be
//! negative by a fen (SPEC §3).
use domain::Amount;
use serde::{Deserialize, Serialize};

pub use domain::ledger::BillKind;

/// One line of a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLine {
    pub bill_type: BillKind,
    pub trade_no: String,
    pub out_trade_no: String,
    /// Empty for payments.
    pub refund_no: String,
    pub out_refund_no: String,
    pub sub_merchant_id: String,
    /// The order's total for a payment, the refunded amount for a refund.
    #[serde(with = "yuan")]
    pub amount: Amount,
    #[serde(with = "yuan")]
    pub net_receipt_amount: Amount,
    #[serde(with = "yuan")]
    pub bank_commission_fee: Amount,
    #[serde(with = "yuan")]
    pub pay_platform_fee: Amount,
    #[serde(with = "yuan")]
    pub liquidator_commission_fee: Amount,
    /// `SUCCESS` for what happened; other statuses are kept as given, so a mismatch can be shown.
    pub status: String,
    /// China time, `yyyy-MM-dd HH:mm:ss`.
    pub time: String,
}

impl BillLine {
    /// The first text field holding a control character: none of them may (PostgreSQL text
    /// cannot even hold NUL), so such a line is refused when the bill is read.
    fn field_with_control_character(&self) -> Option<&'static str> {
        [
            ("trade_no", &self.trade_no),
            ("out_trade_no", &self.out_trade_no),
            ("refund_no", &self.refund_no),
            ("out_refund_no", &self.out_refund_no),
            ("sub_merchant_id", &self.sub_merchant_id),
            ("status", &self.status),
            ("time", &self.time),
        ]
        .into_iter()
        .find(|(_, text)| text.chars().any(char::is_control))
        .map(|(field, _)| field)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("the bill could not be written: {0}")]
    Write(String),
}

/// The bill as CSV text, with a header line.
pub fn to_csv(lines: &[BillLine]) -> Result<String, BillError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for line in lines {
        writer.serialize(line).map_err(|error| BillError::Write(error.to_string()))?;
    }
    let bytes = writer.into_inner().map_err(|error| BillError::Write(error.to_string()))?;
    String::from_utf8(bytes).map_err(|error| BillError::Write(error.to_string()))
}

/// Parses a bill; the first bad line is refused with its number and why.
pub fn from_csv(text: &str) -> Result<Vec<BillLine>, BillError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut lines = Vec::new();
    for (index, record) in reader.deserialize::<BillLine>().enumerate() {
        let line = record.map_err(|error| BillError::Line {
            line: error.position().map_or(0, csv::Position::line),
            reason: error.to_string(),
        })?;
        if let Some(field) = line.field_with_control_character() {
            // After the header, one record a line (the bill's fields hold no line breaks).
            let line = u64::try_from(index).map_or(0, |index| index + 2);
            return Err(BillError::Line { line, reason: format!("{field} contains a control character") });
        }
        lines.push(line);
    }
    Ok(lines)
}

/// Amounts as yuan text with two decimals; a leading minus is allowed (a negative give-back).
mod yuan {
    use domain::Amount;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(amount: &Amount, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&amount.to_yuan_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let amount = Amount::parse_yuan(digits).map_err(|error| D::Error::custom(format!("{text:?}: {error}")))?;
        if negative { amount.checked_neg().ok_or_else(|| D::Error::custom("amount out of range")) } else { Ok(amount) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: BillKind, net_fen: i64) -> BillLine {
        BillLine {
            bill_type: kind,
            trade_no: "2026112010000000000000000001".into(),
            out_trade_no: "A1".into(),
            refund_no: String::new(),
            out_refund_no: String::new(),
            sub_merchant_id: "20261120100000000001".into(),
            amount: Amount::from_fen(1_000),
            net_receipt_amount: Amount::from_fen(net_fen),
            bank_commission_fee: Amount::from_fen(3),
            pay_platform_fee: Amount::from_fen(2),
            liquidator_commission_fee: Amount::from_fen(1_000 - 5 - net_fen),
            status: "SUCCESS".into(),
            time: "2026-11-20 10:00:00".into(),
        }
    }

    #[test]
    fn a_bill_round_trips_through_csv() {
        let lines = vec![line(BillKind::Pay, 990), line(BillKind::Refund, 996)];
        let text = to_csv(&lines).expect("writes");
        assert!(text.starts_with("bill_type,trade_no,out_trade_no,refund_no,"));
        assert!(text.contains("REFUND,") && text.contains(",-0.01,"), "{text}");
        assert_eq!(from_csv(&text).expect("parses"), lines);
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let mut text = to_csv(&[line(BillKind::Pay, 990)]).expect("writes");
        text.push_str("PAY,x,y,,,z,1.001,0,0,0,0,SUCCESS,t\n");
        let error = from_csv(&text).expect_err("refused").to_string();
        assert!(error.starts_with("line 3"), "{error}");
        assert!(from_csv("bill_type\nNOPE\n").is_err());
        let mut text = to_csv(&[line(BillKind::Pay, 990)]).expect("writes");
        text.push_str("PAY,2026112010000000000000000002,A\u{0}2,,,20261120100000000001,1.00,0.99,0,0,0.01,SUCCESS,t\n");
        let error = from_csv(&text).expect_err("NUL refused").to_string();
        assert_eq!(error, "line 3: out_trade_no contains a control character");
    }
}
