//! The built-in sandbox channel: a simulator that behaves like a real channel, so every path can
//! be shown and tested without one. Outcomes follow fixed, configurable rules on the payee's
//! account number, so they are deterministic.
//!
//! What it did is its own record, standing in for the outside system's: the payouts it was asked
//! for and the payments and refunds of each day (its daily bill), kept through [`Records`] — in
//! memory for the channel alone, in PostgreSQL when the server runs it (the server supplies that
//! store, as this crate never touches the database) — so every node and every restart see the
//! same payouts, a query after a restart finds them, and the bill is the same wherever it is read.
use std::{collections::HashMap, sync::Arc, sync::Mutex};

use async_trait::async_trait;

use chrono::NaiveDate;

use crate::{
    CallbackError, ChannelError, PayIn, PayOut, PaymentCallback, PayoutCallback, PayoutRequest, PayoutStatus,
    bill::BillLine,
};

/// Account-number endings that steer the sandbox's payout outcome.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxRules {
    /// Payouts to accounts ending with this fail (e.g. a frozen account). Default `4444`.
    pub fail_suffix: String,
    /// Payouts to accounts ending with this stay pending. Default `5555`.
    pub pending_suffix: String,
    /// Payouts to accounts ending with this succeed, then are returned by the bank. Default `6666`.
    pub return_suffix: String,
    /// Payouts to accounts ending with this time out: outcome unknown, then succeed. Default `7777`.
    pub unknown_suffix: String,
}

impl Default for SandboxRules {
    fn default() -> Self {
        SandboxRules {
            fail_suffix: "4444".into(),
            pending_suffix: "5555".into(),
            return_suffix: "6666".into(),
            unknown_suffix: "7777".into(),
        }
    }
}

/// Where the sandbox keeps what it did.
#[async_trait]
pub trait Records: Send + Sync + 'static {
    /// Keeps `status` as the outcome of `request` unless one is kept already; returns the one
    /// kept (so a resubmission gets the first answer).
    async fn keep_first(&self, request: &PayoutRequest, status: &PayoutStatus) -> Result<PayoutStatus, ChannelError>;
    async fn find(&self, out_trade_no: &str) -> Result<Option<PayoutStatus>, ChannelError>;
    /// The payments it confirmed and the refunds it made on a business day: its daily bill.
    async fn bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError>;
}

/// Payout records in this process only, for the channel on its own (tests). It takes no
/// payments of its own, so its bills are empty.
#[derive(Default)]
pub struct MemoryRecords(Mutex<HashMap<String, PayoutStatus>>);

impl MemoryRecords {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, PayoutStatus>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Records for MemoryRecords {
    async fn keep_first(&self, request: &PayoutRequest, status: &PayoutStatus) -> Result<PayoutStatus, ChannelError> {
        Ok(self.records().entry(request.out_trade_no.clone()).or_insert_with(|| status.clone()).clone())
    }

    async fn find(&self, out_trade_no: &str) -> Result<Option<PayoutStatus>, ChannelError> {
        Ok(self.records().get(out_trade_no).cloned())
    }

    async fn bill(&self, _date: NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        Ok(Vec::new())
    }
}

/// Default rules, an empty callback secret and records in memory (tests of the channel alone).
impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new(SandboxRules::default(), b"")
    }
}

pub struct Sandbox {
    rules: SandboxRules,
    /// Signs the sandbox's payment callbacks (HMAC-SHA256), as a real channel signs its own.
    callback_secret: Vec<u8>,
    records: Arc<dyn Records>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl Sandbox {
    /// A sandbox that keeps its payouts in this process.
    pub fn new(rules: SandboxRules, callback_secret: &[u8]) -> Sandbox {
        Sandbox::with_records(rules, callback_secret, Arc::new(MemoryRecords::default()))
    }

    /// A sandbox that keeps what it does in `records` (the server's: PostgreSQL).
    pub fn with_records(rules: SandboxRules, callback_secret: &[u8], records: Arc<dyn Records>) -> Sandbox {
        Sandbox { rules, callback_secret: callback_secret.to_vec(), records }
    }

    fn mac(&self, fields: &[(&str, &str)]) -> HmacSha256 {
        use hmac::Mac;
        let mut mac = HmacSha256::new_from_slice(&self.callback_secret)
            .unwrap_or_else(|_| HmacSha256::new_from_slice(b"-").expect("a key"));
        for (key, value) in fields {
            mac.update(key.as_bytes());
            mac.update(b"=");
            mac.update(value.as_bytes());
            mac.update(b"&");
        }
        mac
    }

    /// The signed callback the sandbox sends when its payer pays (`paid`) or fails: the form
    /// fields to POST to `/channel/sandbox/notify`.
    pub fn payment_callback(
        &self,
        trade_no: &str,
        amount: domain::Amount,
        paid: bool,
        paid_at: &str,
    ) -> Vec<(String, String)> {
        use hmac::Mac;
        let total_fee = amount.fen().to_string();
        let result = if paid { "SUCCESS" } else { "FAIL" };
        let fields =
            [("trade_no", trade_no), ("total_fee", total_fee.as_str()), ("result", result), ("paid_at", paid_at)];
        let sign: String = hex::encode(self.mac(&fields).finalize().into_bytes());
        fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .chain([("sign".to_string(), sign)])
            .collect()
    }

    /// The signed callback the sandbox sends when a payout's outcome changes: the form fields to
    /// POST to `/channel/sandbox/payout-notify`.
    pub fn payout_callback(&self, out_trade_no: &str, status: &PayoutStatus) -> Vec<(String, String)> {
        use hmac::Mac;
        let (code, detail) = match status {
            PayoutStatus::Pending { channel_reference } => ("pending", channel_reference.as_str()),
            PayoutStatus::Succeeded { channel_reference } => ("succeeded", channel_reference.as_str()),
            PayoutStatus::Failed { reason } => ("failed", reason.as_str()),
            PayoutStatus::Returned { reason } => ("returned", reason.as_str()),
        };
        let fields = [("out_trade_no", out_trade_no), ("status", code), ("detail", detail)];
        let sign: String = hex::encode(self.mac(&fields).finalize().into_bytes());
        fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .chain([("sign".to_string(), sign)])
            .collect()
    }

    /// The value of a callback's field, or which one is missing.
    fn field<'a>(fields: &'a [(String, String)], name: &'static str) -> Result<&'a str, CallbackError> {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or(CallbackError::Malformed(name))
    }

    /// Whether `sign` (hex) is the sandbox's signature over `signed`.
    fn verify(&self, signed: &[(&str, &str)], sign: &str) -> Result<(), CallbackError> {
        use hmac::Mac;
        let expected = hex::decode(sign).map_err(|_| CallbackError::BadSignature)?;
        if expected.len() != 32 || self.mac(signed).verify_slice(&expected).is_err() {
            return Err(CallbackError::BadSignature);
        }
        Ok(())
    }

    fn decide(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let account = request.payee.account_number.as_ref();
        let reference = format!("SBX{}", request.out_trade_no);
        if account.ends_with(&self.rules.fail_suffix) {
            Ok(PayoutStatus::Failed { reason: "sandbox: the payee account is frozen".into() })
        } else if account.ends_with(&self.rules.pending_suffix) {
            Ok(PayoutStatus::Pending { channel_reference: reference })
        } else if account.ends_with(&self.rules.return_suffix) {
            Ok(PayoutStatus::Returned { reason: "sandbox: returned by the payee bank (REFU)".into() })
        } else {
            Ok(PayoutStatus::Succeeded { channel_reference: reference })
        }
    }
}

/// The sandbox's name, as a registry and its callback route know it.
pub const NAME: &str = "sandbox";

#[async_trait]
impl PayIn for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn daily_bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        self.records.bill(date).await
    }

    fn parse_callback(&self, fields: &[(String, String)]) -> Result<PaymentCallback, CallbackError> {
        let field = |name| Sandbox::field(fields, name);
        let (trade_no, total_fee, result, paid_at) =
            (field("trade_no")?, field("total_fee")?, field("result")?, field("paid_at")?);
        let signed = [("trade_no", trade_no), ("total_fee", total_fee), ("result", result), ("paid_at", paid_at)];
        self.verify(&signed, field("sign")?)?;
        let amount = total_fee
            .parse::<i64>()
            .ok()
            .filter(|fen| *fen > 0)
            .map(domain::Amount::from_fen)
            .ok_or(CallbackError::Malformed("total_fee"))?;
        let paid = match result {
            "SUCCESS" => true,
            "FAIL" => false,
            _ => return Err(CallbackError::Malformed("result")),
        };
        Ok(PaymentCallback {
            trade_no: trade_no.to_string(),
            amount,
            paid,
            channel_reference: format!("SBX{trade_no}"),
        })
    }
}

#[async_trait]
impl PayOut for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        if let Some(existing) = self.records.find(&request.out_trade_no).await? {
            return Ok(existing);
        }
        let decided = self.decide(request)?;
        let status = self.records.keep_first(request, &decided).await?;
        if status != decided {
            // Another node answered this out_trade_no first: its answer stands.
            return Ok(status);
        }
        if request.payee.account_number.as_ref().ends_with(&self.rules.unknown_suffix) {
            return Err(ChannelError::OutcomeUnknown("sandbox: simulated timeout".into()));
        }
        tracing::info!(out_trade_no = %request.out_trade_no, amount_fen = request.amount.fen(), ?status, "sandbox payout");
        Ok(status)
    }

    async fn query_payout(&self, out_trade_no: &str) -> Result<PayoutStatus, ChannelError> {
        self.records.find(out_trade_no).await?.ok_or(ChannelError::NotFound)
    }

    fn parse_payout_callback(&self, fields: &[(String, String)]) -> Result<PayoutCallback, CallbackError> {
        let field = |name| Sandbox::field(fields, name);
        let (out_trade_no, status, detail) = (field("out_trade_no")?, field("status")?, field("detail")?);
        self.verify(&[("out_trade_no", out_trade_no), ("status", status), ("detail", detail)], field("sign")?)?;
        let detail = detail.to_string();
        let status = match status {
            "pending" => PayoutStatus::Pending { channel_reference: detail },
            "succeeded" => PayoutStatus::Succeeded { channel_reference: detail },
            "failed" => PayoutStatus::Failed { reason: detail },
            "returned" => PayoutStatus::Returned { reason: detail },
            _ => return Err(CallbackError::Malformed("status")),
        };
        Ok(PayoutCallback { out_trade_no: out_trade_no.to_string(), status })
    }
}

#[cfg(test)]
mod tests {
    use domain::{
        Amount,
        onboarding::{AccountType, BankAccountNumber},
    };

    use super::*;
    use crate::Payee;

    fn request(out_trade_no: &str, account_number: &str) -> PayoutRequest {
        PayoutRequest {
            out_trade_no: out_trade_no.into(),
            amount: Amount::from_fen(37),
            subject: "test".into(),
            payee: Payee {
                // Corporate: the fixtures' numbers are chosen by their endings, not their check digit.
                account_number: BankAccountNumber::parse(account_number, AccountType::Corporate).expect("a number"),
                account_name: "张三".into(),
                bank_code: "ICBC".into(),
                cnaps_code: None,
            },
        }
    }

    #[tokio::test]
    async fn outcomes_follow_the_rules_and_repeat_for_the_same_out_trade_no() {
        let sandbox = Sandbox::new(SandboxRules::default(), b"secret");
        assert!(matches!(sandbox.payout(&request("A", "6222000000001234")).await, Ok(PayoutStatus::Succeeded { .. })));
        assert!(matches!(sandbox.payout(&request("B", "6222000000004444")).await, Ok(PayoutStatus::Failed { .. })));
        assert!(matches!(sandbox.payout(&request("C", "6222000000005555")).await, Ok(PayoutStatus::Pending { .. })));
        assert!(matches!(sandbox.payout(&request("D", "6222000000006666")).await, Ok(PayoutStatus::Returned { .. })));
        assert!(matches!(
            sandbox.payout(&request("E", "6222000000007777")).await,
            Err(ChannelError::OutcomeUnknown(_))
        ));
        assert!(
            matches!(sandbox.query_payout("E").await, Ok(PayoutStatus::Succeeded { .. })),
            "the unknown one did go through"
        );
        // Same out_trade_no, different account: the first submission stands.
        assert!(matches!(sandbox.payout(&request("A", "6222000000004444")).await, Ok(PayoutStatus::Succeeded { .. })));
        assert_eq!(sandbox.query_payout("nope").await, Err(ChannelError::NotFound));
    }

    #[test]
    fn callbacks_are_signed_and_checked() {
        let sandbox = Sandbox::new(SandboxRules::default(), b"secret");
        let fields =
            sandbox.payment_callback("2017090622140509534568101496", Amount::from_fen(1), true, "2026-11-22 10:00:00");
        let callback = sandbox.parse_callback(&fields).unwrap();
        assert_eq!((callback.amount, callback.paid), (Amount::from_fen(1), true));
        let mut tampered = fields.clone();
        tampered[1].1 = "100".into();
        assert_eq!(sandbox.parse_callback(&tampered), Err(CallbackError::BadSignature));
        let other = Sandbox::new(SandboxRules::default(), b"another secret");
        assert_eq!(other.parse_callback(&fields), Err(CallbackError::BadSignature));
        assert_eq!(sandbox.parse_callback(&fields[1..]), Err(CallbackError::Malformed("trade_no")));
        let mut bad_sign = fields.clone();
        bad_sign[4].1 = "zz".repeat(32);
        assert_eq!(sandbox.parse_callback(&bad_sign), Err(CallbackError::BadSignature));
    }

    #[test]
    fn a_payout_callback_is_read_only_with_the_sandboxs_signature() {
        let sandbox = Sandbox::new(SandboxRules::default(), b"secret");
        let status = PayoutStatus::Returned { reason: "REFU".into() };
        let fields = sandbox.payout_callback("PO1M1", &status);
        assert_eq!(sandbox.parse_payout_callback(&fields), Ok(PayoutCallback { out_trade_no: "PO1M1".into(), status }));
        let mut forged = fields.clone();
        forged[1].1 = "succeeded".into();
        assert_eq!(sandbox.parse_payout_callback(&forged), Err(CallbackError::BadSignature));
        assert_eq!(
            Sandbox::new(SandboxRules::default(), b"other").parse_payout_callback(&fields),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(sandbox.parse_payout_callback(&fields[1..]), Err(CallbackError::Malformed("out_trade_no")));
    }
}
