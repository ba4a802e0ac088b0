//! The built-in sandbox channel: a simulator that behaves like a real channel, so every path can
//! be shown and tested without one. Payout outcomes follow configurable rules on the payee's
//! account number, and for other accounts a mix drawn from a seed, so they are deterministic.
//!
//! What it did is its own record, standing in for the outside system's: the payouts it was asked
//! for and the payments and refunds of each day (its daily bill), kept through [`Records`] — in
//! memory for the channel alone, in PostgreSQL when the server runs it (the server supplies that
//! store, as this crate never touches the database) — so every node and every restart see the
//! same payouts, a query after a restart finds them, and the bill is the same wherever it is read.
use std::{collections::HashMap, sync::Arc, sync::Mutex};

use async_trait::async_trait;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

use crate::{
    CallbackError, ChannelError, PayIn, PayOut, PaymentCallback, PayoutCallback, PayoutRequest, PayoutStatus,
    bill::BillLine,
};

/// How the sandbox answers payouts: account-number endings that steer the outcome, and for every
/// other account a seeded mix, so a run over many merchants sees every outcome and the same seed
/// gives the same outcomes again.
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
    /// Payouts to accounts ending with this time out: outcome unknown, then fail. Default `8888`.
    pub unknown_fail_suffix: String,
    /// Payouts to accounts ending with this are pending for `delay_seconds`, then succeed.
    /// Default `3333`.
    pub delay_suffix: String,
    /// How long a delayed payout stays pending. Default 5.
    pub delay_seconds: u32,
    /// Percentages of outcomes for every other account; the rest succeed at once. Default none.
    pub mix: PayoutMix,
    /// Which outcome of the mix an `out_trade_no` gets is drawn from this. Default 0.
    pub seed: u64,
}

impl Default for SandboxRules {
    fn default() -> Self {
        SandboxRules {
            fail_suffix: "4444".into(),
            pending_suffix: "5555".into(),
            return_suffix: "6666".into(),
            unknown_suffix: "7777".into(),
            unknown_fail_suffix: "8888".into(),
            delay_suffix: "3333".into(),
            delay_seconds: 5,
            mix: PayoutMix::default(),
            seed: 0,
        }
    }
}

/// Percent of payouts (to accounts no suffix names) given each outcome; what is left succeeds.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutMix {
    pub fail: u8,
    pub pending: u8,
    pub returned: u8,
    pub unknown: u8,
    pub unknown_fail: u8,
    pub delay: u8,
}

/// One of the outcomes the sandbox can give a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    Pending,
    Return,
    /// No answer to the submission; the payout went through.
    Unknown,
    /// No answer to the submission; the payout failed.
    UnknownFail,
    /// Pending for the delay, then succeeded.
    Delay,
}

/// The mix's percentages add up to more than 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("channel.sandbox.mix: the percentages add up to {0}, more than 100")]
pub struct MixTooLarge(pub u32);

impl SandboxRules {
    /// Refuses a mix that does not fit in 100%.
    pub fn check(&self) -> Result<(), MixTooLarge> {
        let mix = self.mix;
        let total: u32 = [mix.fail, mix.pending, mix.returned, mix.unknown, mix.unknown_fail, mix.delay]
            .into_iter()
            .map(u32::from)
            .sum();
        if total > 100 { Err(MixTooLarge(total)) } else { Ok(()) }
    }

    fn plan(&self, request: &PayoutRequest) -> Plan {
        let account = request.payee.account_number.as_ref();
        let by_suffix = [
            (&self.fail_suffix, Plan::Fail),
            (&self.pending_suffix, Plan::Pending),
            (&self.return_suffix, Plan::Return),
            (&self.unknown_suffix, Plan::Unknown),
            (&self.unknown_fail_suffix, Plan::UnknownFail),
            (&self.delay_suffix, Plan::Delay),
        ];
        match by_suffix.into_iter().find(|(suffix, _)| !suffix.is_empty() && account.ends_with(suffix.as_str())) {
            Some((_, plan)) => plan,
            None => self.drawn(&request.out_trade_no),
        }
    }

    /// The mix's outcome for this number: the same for the same seed, wherever it is drawn.
    fn drawn(&self, out_trade_no: &str) -> Plan {
        use sha2::Digest;
        let digest = sha2::Sha256::new().chain_update(self.seed.to_be_bytes()).chain_update(out_trade_no).finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let mut roll = u64::from_be_bytes(first) % 100;
        let mix = self.mix;
        for (percent, plan) in [
            (mix.fail, Plan::Fail),
            (mix.pending, Plan::Pending),
            (mix.returned, Plan::Return),
            (mix.unknown, Plan::Unknown),
            (mix.unknown_fail, Plan::UnknownFail),
            (mix.delay, Plan::Delay),
        ] {
            let percent = u64::from(percent);
            if roll < percent {
                return plan;
            }
            roll -= percent;
        }
        Plan::Succeed
    }
}

/// What the sandbox keeps of a payout: its outcome, and when that outcome shows (before then the
/// payout is pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub status: PayoutStatus,
    pub shows_at: DateTime<Utc>,
}

impl Kept {
    /// What the sandbox says of the payout at `now`.
    fn status_at(&self, out_trade_no: &str, now: DateTime<Utc>) -> PayoutStatus {
        if now < self.shows_at {
            PayoutStatus::Pending { channel_reference: reference(out_trade_no) }
        } else {
            self.status.clone()
        }
    }
}

fn reference(out_trade_no: &str) -> String {
    format!("SBX{out_trade_no}")
}

/// Where the sandbox keeps what it did.
#[async_trait]
pub trait Records: Send + Sync + 'static {
    /// Keeps `kept` as the outcome of `request` unless one is kept already; returns the one kept
    /// (so a resubmission gets the first answer).
    async fn keep_first(&self, request: &PayoutRequest, kept: &Kept) -> Result<Kept, ChannelError>;
    async fn find(&self, out_trade_no: &str) -> Result<Option<Kept>, ChannelError>;
    /// The payments it confirmed and the refunds it made on a business day: its daily bill.
    async fn bill(&self, date: NaiveDate) -> Result<Vec<BillLine>, ChannelError>;
}

/// Payout records in this process only, for the channel on its own (tests). It takes no
/// payments of its own, so its bills are empty.
#[derive(Default)]
pub struct MemoryRecords(Mutex<HashMap<String, Kept>>);

impl MemoryRecords {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Records for MemoryRecords {
    async fn keep_first(&self, request: &PayoutRequest, kept: &Kept) -> Result<Kept, ChannelError> {
        Ok(self.records().entry(request.out_trade_no.clone()).or_insert_with(|| kept.clone()).clone())
    }

    async fn find(&self, out_trade_no: &str) -> Result<Option<Kept>, ChannelError> {
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

    /// The outcome to keep for a new payout, and whether its submission goes unanswered.
    fn decide(&self, request: &PayoutRequest, now: DateTime<Utc>) -> (Kept, bool) {
        let succeeded = PayoutStatus::Succeeded { channel_reference: reference(&request.out_trade_no) };
        let failed = PayoutStatus::Failed { reason: "sandbox: the payee account is frozen".into() };
        let at_once = |status| Kept { status, shows_at: now };
        match self.rules.plan(request) {
            Plan::Succeed => (at_once(succeeded), false),
            Plan::Fail => (at_once(failed), false),
            Plan::Pending => {
                (at_once(PayoutStatus::Pending { channel_reference: reference(&request.out_trade_no) }), false)
            }
            Plan::Return => {
                (at_once(PayoutStatus::Returned { reason: "sandbox: returned by the payee bank (REFU)".into() }), false)
            }
            Plan::Unknown => (at_once(succeeded), true),
            Plan::UnknownFail => (at_once(failed), true),
            Plan::Delay => {
                let delay = chrono::Duration::seconds(i64::from(self.rules.delay_seconds));
                (Kept { status: succeeded, shows_at: now + delay }, false)
            }
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
        CallbackError::refuse_repeated(fields)?;
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
        // To the microsecond, as a database keeps it, so the kept record compares equal.
        let now = Utc::now().trunc_subsecs(6);
        if let Some(existing) = self.records.find(&request.out_trade_no).await? {
            return Ok(existing.status_at(&request.out_trade_no, now));
        }
        let (decided, unanswered) = self.decide(request, now);
        let kept = self.records.keep_first(request, &decided).await?;
        let status = kept.status_at(&request.out_trade_no, now);
        if kept != decided {
            // Another node answered this out_trade_no first: its answer stands.
            return Ok(status);
        }
        if unanswered {
            return Err(ChannelError::OutcomeUnknown("sandbox: simulated timeout".into()));
        }
        tracing::info!(out_trade_no = %request.out_trade_no, amount_fen = request.amount.fen(), ?status, "sandbox payout");
        Ok(status)
    }

    async fn query_payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let out_trade_no = &request.out_trade_no;
        let kept = self.records.find(out_trade_no).await?.ok_or(ChannelError::NotFound)?;
        Ok(kept.status_at(out_trade_no, Utc::now()))
    }

    fn parse_payout_callback(&self, fields: &[(String, String)]) -> Result<PayoutCallback, CallbackError> {
        CallbackError::refuse_repeated(fields)?;
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
            merchant_at_channel: None,
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
            matches!(sandbox.query_payout(&request("E", "6222000000001234")).await, Ok(PayoutStatus::Succeeded { .. })),
            "the unknown one did go through"
        );
        assert!(matches!(
            sandbox.payout(&request("F", "6222000000008888")).await,
            Err(ChannelError::OutcomeUnknown(_))
        ));
        assert!(
            matches!(sandbox.query_payout(&request("F", "6222000000001234")).await, Ok(PayoutStatus::Failed { .. })),
            "the other unknown one failed"
        );
        // Same out_trade_no, different account: the first submission stands.
        assert!(matches!(sandbox.payout(&request("A", "6222000000004444")).await, Ok(PayoutStatus::Succeeded { .. })));
        assert_eq!(sandbox.query_payout(&request("nope", "6222000000001234")).await, Err(ChannelError::NotFound));
    }

    #[tokio::test]
    async fn a_delayed_payout_is_pending_until_its_delay_has_passed() {
        let rules = SandboxRules { delay_seconds: 1, ..SandboxRules::default() };
        let sandbox = Sandbox::new(rules, b"secret");
        assert!(matches!(sandbox.payout(&request("D1", "6222000000003333")).await, Ok(PayoutStatus::Pending { .. })));
        assert!(matches!(
            sandbox.query_payout(&request("D1", "6222000000001234")).await,
            Ok(PayoutStatus::Pending { .. })
        ));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert!(matches!(
            sandbox.query_payout(&request("D1", "6222000000001234")).await,
            Ok(PayoutStatus::Succeeded { .. })
        ));
        assert!(matches!(sandbox.payout(&request("D1", "6222000000003333")).await, Ok(PayoutStatus::Succeeded { .. })));
    }

    /// What each of `count` payouts to an ordinary account gets under `rules`.
    async fn outcomes(rules: SandboxRules, count: usize) -> Vec<String> {
        let sandbox = Sandbox::new(rules, b"secret");
        let mut seen = Vec::new();
        for n in 0..count {
            let answer = sandbox.payout(&request(&format!("MIX{n}"), "6222000000001234")).await;
            let kind = match answer {
                Ok(PayoutStatus::Succeeded { .. }) => "succeeded",
                Ok(PayoutStatus::Failed { .. }) => "failed",
                Ok(PayoutStatus::Pending { .. }) => "pending",
                Ok(PayoutStatus::Returned { .. }) => "returned",
                Err(_) => "unknown",
            };
            seen.push(kind.to_string());
        }
        seen
    }

    #[tokio::test]
    async fn the_mix_gives_every_outcome_and_the_same_ones_for_the_same_seed() {
        let mix = PayoutMix { fail: 10, pending: 10, returned: 10, unknown: 10, unknown_fail: 10, delay: 10 };
        let rules = |seed| SandboxRules { mix, seed, ..SandboxRules::default() };
        let first = outcomes(rules(7), 400).await;
        assert_eq!(first, outcomes(rules(7), 400).await, "the same seed, the same outcomes");
        assert_ne!(first, outcomes(rules(8), 400).await, "another seed, other outcomes");
        let count = |kind: &str| first.iter().filter(|seen| *seen == kind).count();
        // 10% each (20% unknown, 20% pending with the delayed ones); the rest succeed.
        assert!((20..=60).contains(&count("failed")), "{}", count("failed"));
        assert!((20..=60).contains(&count("returned")), "{}", count("returned"));
        assert!((50..=110).contains(&count("unknown")), "{}", count("unknown"));
        assert!((50..=110).contains(&count("pending")), "{}", count("pending"));
        assert!((130..=230).contains(&count("succeeded")), "{}", count("succeeded"));
        assert!(outcomes(SandboxRules::default(), 50).await.iter().all(|seen| seen == "succeeded"), "no mix: success");
        let too_much = PayoutMix { fail: 60, delay: 50, ..PayoutMix::default() };
        assert_eq!(SandboxRules { mix: too_much, ..SandboxRules::default() }.check(), Err(MixTooLarge(110)));
        assert_eq!(rules(7).check(), Ok(()));
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
    fn a_callback_naming_a_field_twice_is_refused_even_when_its_first_value_was_signed() {
        let sandbox = Sandbox::new(SandboxRules::default(), b"secret");
        let fields = sandbox.payment_callback("2017090622140509534568101496", Amount::from_fen(1), true, "x");
        let mut repeated = fields.clone();
        repeated.push(("result".into(), "FAIL".into()));
        assert_eq!(sandbox.parse_callback(&repeated), Err(CallbackError::RepeatedField("result".into())));
        let status = PayoutStatus::Succeeded { channel_reference: "R1".into() };
        let mut repeated = sandbox.payout_callback("PO1M1", &status);
        repeated.insert(0, ("status".into(), String::new()));
        assert_eq!(sandbox.parse_payout_callback(&repeated), Err(CallbackError::RepeatedField("status".into())));
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
