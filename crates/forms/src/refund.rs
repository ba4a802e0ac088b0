//! `POST /admin/orders/{id}/refund`: a refund by an operator, numbered as a merchant's would be.
use domain::{Amount, AmountError, IdError, orders::OutRefundNo};
use serde::{Deserialize, Serialize};

/// The largest refund the form accepts: the largest order (SPEC §5, 100 000 000.00 yuan).
pub const MAX_REFUND: Amount = Amount::from_fen(10_000_000_000);

#[derive(Deserialize, Serialize, Debug, Clone)]
pub struct RefundForm {
    pub out_refund_no: String,
    pub amount: String,
}

/// What the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_refund_no: OutRefundNo,
    pub amount: Amount,
}

/// Why the form asks for no refund; the console words each in the operator's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    OutRefundNo(IdError),
    AmountRequired,
    AmountInvalid(AmountError),
}

impl RefundForm {
    /// The fields as entered, trimmed: shown again beside a refusal.
    pub fn entered(&self) -> (String, String) {
        (self.out_refund_no.trim().to_string(), self.amount.trim().to_string())
    }

    pub fn parse(&self) -> Result<Refund, RefundRefusal> {
        let (number, amount) = self.entered();
        let out_refund_no = OutRefundNo::parse(&number).map_err(RefundRefusal::OutRefundNo)?;
        let amount = match amount.as_str() {
            "" => return Err(RefundRefusal::AmountRequired),
            text => {
                Amount::parse_yuan_in(text, Amount::from_fen(1), MAX_REFUND).map_err(RefundRefusal::AmountInvalid)?
            }
        };
        Ok(Refund { out_refund_no, amount })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(number: &str, amount: &str) -> Result<Refund, RefundRefusal> {
        RefundForm { out_refund_no: number.into(), amount: amount.into() }.parse()
    }

    #[test]
    fn a_refund_is_a_number_and_an_amount_within_an_order() {
        let refund = parse(" R_1 ", " 12.30 ").unwrap();
        assert_eq!((refund.out_refund_no.as_ref(), refund.amount), ("R_1", Amount::from_fen(1230)));
        assert_eq!(parse("R_1", ""), Err(RefundRefusal::AmountRequired));
        assert!(matches!(parse("R_1", "0"), Err(RefundRefusal::AmountInvalid(_))));
        assert!(matches!(parse("R_1", "100000000.01"), Err(RefundRefusal::AmountInvalid(_))));
        assert!(matches!(parse("R 1", "1"), Err(RefundRefusal::OutRefundNo(_))));
        assert_eq!(parse("R_1", "100000000.00").map(|refund| refund.amount), Ok(MAX_REFUND));
    }
}
