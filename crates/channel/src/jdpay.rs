//! JD Pay direct payouts (`jdpay`, SPEC §6): a payout is `npp10/defray_pay`, a question about it
//! `npp10/trade_query`, and JD tells its outcome by a payout notify. The wire format (fields,
//! `sign_data`, the CMS envelope) is the `jdpay` crate's; this module speaks HTTP and says what
//! each answer means for the payout:
//!
//! | JD's answer | the payout |
//! |---|---|
//! | `0000` with `BUID` / `ACSU` / `WPAR` | pending: ask again later |
//! | `0000` with `FINI` | succeeded |
//! | `0000` with `CLOS` | failed |
//! | `0000` with `REFU` | returned after success |
//! | `SYSTEM_ERROR`, `OUT_TRADE_NO_EXIST`, an empty, unreadable or unsigned reply, a timeout, any code not known here | **unknown**: query, never failed, never sent again under a new number |
//! | `NO_RESULT` to a query | JD never got it: hand it over again under the same number |
//! | `ILLEGAL_ARGUMENT`, `ILLEGAL_SIGN` to a payout | refused: JD took nothing, the payout failed |
//!
//! A reply whose `out_trade_no` or amount is not the payout's is not believed (unknown). The
//! payee's data JD cannot take (a corporate account without its CNAPS code, a name with `&`)
//! fails the payout before anything is sent.
//!
//! Every call has a timeout and is counted in the channel's [`Health`]; a query that got no answer
//! is asked again at once, twice at most, with a growing pause (a query is safe to repeat; a
//! payout is not repeated here — an unknown one is queried). After repeated failures of
//! `defray_pay` its breaker opens and no new payout is handed over until it closes.
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use async_trait::async_trait;
use chrono::Utc;
use jdpay::{
    Credentials, DefrayPay, Notify, Reply, ReplyError, ResponseCode, TradeQuery, TradeResult,
    fields::{CardType, CustomerNo, NotifyUrl, PayeeAccountName, RequestDateTime, TradeAmount, TradeSubject},
};

use domain::{
    OutTradeNo,
    onboarding::{BankCode, CnapsCode},
    payouts::ChannelPayoutState,
};

use crate::{
    CallbackError, ChannelError, PayOut, PayoutCallback, PayoutRequest, PayoutStatus,
    health::{BreakerSettings, CallEnd, Health},
};

/// Where and as whom the platform calls JD.
#[derive(Debug, Clone)]
pub struct JdPaySettings {
    /// JD's gateway, without the path: `https://mapi.jdpay.com` in production.
    pub base_url: String,
    pub customer_no: CustomerNo,
    /// Where JD posts payout outcomes: this server's `/channel/jdpay/payout-notify`.
    pub notify_url: NotifyUrl,
    pub credentials: Credentials,
    /// How long a call may take before its outcome is unknown.
    pub timeout: Duration,
    pub breaker: BreakerSettings,
}

pub struct JdPay {
    settings: JdPaySettings,
    http: reqwest::Client,
    health: Health,
}

const DEFRAY_PAY: &str = "defray_pay";
const TRADE_QUERY: &str = "trade_query";

/// What a call to JD brought back, before it is read as a payout's status.
enum Answer {
    Reply(Reply),
    /// No reply that can be believed: the outcome is unknown.
    Unknown(String),
    /// No answer at all (a timeout, a refused connection): a query may be asked again.
    Silence(String),
}

impl Answer {
    /// How the call ended, for the upstream's health: JD's business answers are declines.
    fn end(&self) -> CallEnd {
        match self {
            Answer::Reply(reply) => match reply.response_code {
                ResponseCode::Success => CallEnd::Success,
                ResponseCode::NoResult | ResponseCode::IllegalArgument | ResponseCode::OutTradeNoExist => {
                    CallEnd::Decline
                }
                ResponseCode::SystemError | ResponseCode::IllegalSign | ResponseCode::Other(_) => CallEnd::SystemError,
            },
            Answer::Unknown(_) => CallEnd::SystemError,
            Answer::Silence(_) => CallEnd::Timeout,
        }
    }
}

impl JdPay {
    pub fn new(settings: JdPaySettings) -> Result<JdPay, reqwest::Error> {
        let http = crate::http::client(settings.timeout)?;
        let health = Health::new("jdpay", settings.breaker);
        Ok(JdPay { settings, http, health })
    }

    /// The request JD is sent, or why this payee cannot be paid through JD.
    fn defray_pay(&self, request: &PayoutRequest) -> Result<DefrayPay, String> {
        let payee = &request.payee;
        let payee = jdpay::Payee::new(
            BankCode::parse(&payee.bank_code).map_err(|_| "payee_bank_code".to_string())?,
            CardType::Debit,
            payee.account_number.clone(),
            PayeeAccountName::parse(&payee.account_name).map_err(|error| format!("payee_account_name: {error}"))?,
            payee
                .cnaps_code
                .as_deref()
                .map(CnapsCode::parse)
                .transpose()
                .map_err(|_| "payee_bank_associated_code".to_string())?,
            None,
        )
        .map_err(|error| error.to_string())?;
        Ok(DefrayPay {
            customer_no: self.settings.customer_no.clone(),
            request_datetime: self.now()?,
            out_trade_no: OutTradeNo::parse(&request.out_trade_no).map_err(|_| "out_trade_no".to_string())?,
            trade_amount: TradeAmount::new(request.amount).map_err(|error| format!("trade_amount: {error}"))?,
            trade_subject: TradeSubject::parse(&request.subject).map_err(|error| format!("trade_subject: {error}"))?,
            payee,
            notify_url: self.settings.notify_url.clone(),
        })
    }

    fn now(&self) -> Result<RequestDateTime, String> {
        let china = Utc::now().with_timezone(&domain::calendar::china()).naive_local();
        RequestDateTime::new(china).map_err(|error| format!("request_datetime: {error}"))
    }

    /// POSTs the form to JD's `path`, reads the reply and counts the call; anything short of a
    /// signed reply is an unknown outcome, with what happened.
    async fn call(&self, path: &'static str, form: &[(String, String)]) -> Answer {
        let started = Instant::now();
        let answer = self.exchange(path, form).await;
        self.health.record(path, answer.end(), started.elapsed());
        answer
    }

    async fn exchange(&self, path: &str, form: &[(String, String)]) -> Answer {
        let url = format!("{}/npp10/{path}", self.settings.base_url.trim_end_matches('/'));
        let response = match self.http.post(&url).form(form).send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return Answer::Silence(format!("{path}: no answer in time")),
            Err(error) if error.is_connect() => return Answer::Silence(format!("{path}: {error}")),
            Err(error) => return Answer::Unknown(format!("{path}: {error}")),
        };
        let status = response.status();
        let body = match crate::http::body(response, jdpay::reply::MAX_REPLY_BYTES).await {
            Ok(body) => body,
            Err(why) => return Answer::Unknown(format!("{path}: {why}")),
        };
        match Reply::parse(&body, &self.settings.credentials.sign_key) {
            Ok(reply) => Answer::Reply(reply),
            Err(ReplyError::Empty) => Answer::Unknown(format!("{path}: an empty reply (HTTP {status})")),
            Err(error) => Answer::Unknown(format!("{path}: HTTP {status}: {error}")),
        }
    }
}

/// A payout's status from JD's word about it, if the word is about this payout.
fn status_of(trade: &TradeResult, out_trade_no: &str) -> Result<PayoutStatus, ChannelError> {
    if AsRef::<str>::as_ref(&trade.out_trade_no) != out_trade_no {
        return Err(ChannelError::OutcomeUnknown(format!("JD answered about {}", trade.out_trade_no.as_ref())));
    }
    let reference = trade.trade_no.as_str().to_string();
    let status = trade.trade_status;
    // The jdpay crate says which of JD's statuses is which state (SPEC §6).
    Ok(match status.channel_state() {
        ChannelPayoutState::Pending => PayoutStatus::Pending { channel_reference: reference },
        ChannelPayoutState::Succeeded => PayoutStatus::Succeeded { channel_reference: reference },
        ChannelPayoutState::Failed => PayoutStatus::Failed { reason: format!("{} (JD {reference})", status.as_str()) },
        ChannelPayoutState::Returned => {
            PayoutStatus::Returned { reason: format!("{} (JD {reference})", status.as_str()) }
        }
    })
}

fn unknown(reply: &Reply) -> ChannelError {
    ChannelError::OutcomeUnknown(format!("{} {}", reply.response_code, reply.response_message))
}

#[async_trait]
impl PayOut for JdPay {
    fn name(&self) -> &'static str {
        "jdpay"
    }

    async fn payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let defray = match self.defray_pay(request) {
            Ok(defray) => defray,
            Err(why) => return Ok(PayoutStatus::Failed { reason: format!("JD cannot take this payout: {why}") }),
        };
        let form = defray
            .to_form(&self.settings.credentials, &mut rand::rngs::OsRng)
            .map_err(|error| ChannelError::Unavailable(format!("the request could not be sealed: {error}")))?;
        if !self.health.permits(DEFRAY_PAY) {
            // Marked submitted but not sent: its queries find nothing and hand it over again
            // once the breaker lets them.
            return Err(ChannelError::Unavailable("defray_pay is held back: its breaker is open".into()));
        }
        let reply = match self.call(DEFRAY_PAY, &form).await {
            Answer::Reply(reply) => reply,
            Answer::Unknown(why) | Answer::Silence(why) => return Err(ChannelError::OutcomeUnknown(why)),
        };
        match (&reply.response_code, &reply.trade) {
            (ResponseCode::Success, Some(trade)) if trade.trade_amount.amount() == request.amount => {
                status_of(trade, &request.out_trade_no)
            }
            (ResponseCode::Success, Some(trade)) => Err(ChannelError::OutcomeUnknown(format!(
                "JD answered with the amount {} for {}",
                trade.trade_amount.amount(),
                request.amount
            ))),
            (ResponseCode::IllegalArgument | ResponseCode::IllegalSign, _) => Ok(PayoutStatus::Failed {
                reason: format!("JD refused it: {} {}", reply.response_code, reply.response_message),
            }),
            _ => Err(unknown(&reply)),
        }
    }

    async fn query_payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        let query = TradeQuery {
            customer_no: self.settings.customer_no.clone(),
            request_datetime: self.now().map_err(ChannelError::Unavailable)?,
            out_trade_no: OutTradeNo::parse(&request.out_trade_no).map_err(|_| ChannelError::NotFound)?,
        };
        let form = query.to_form(&self.settings.credentials.sign_key);
        let ask = || async {
            match self.call(TRADE_QUERY, &form).await {
                Answer::Silence(why) => Err(why),
                answer => Ok(answer),
            }
        };
        let patience = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(2);
        let reply = match ask.retry(patience).sleep(tokio::time::sleep).await {
            Ok(Answer::Reply(reply)) => reply,
            Ok(Answer::Unknown(why) | Answer::Silence(why)) | Err(why) => {
                return Err(ChannelError::OutcomeUnknown(why));
            }
        };
        match (&reply.response_code, &reply.trade) {
            (ResponseCode::Success, Some(trade)) => status_of(trade, &request.out_trade_no),
            (ResponseCode::NoResult, _) => Err(ChannelError::NotFound),
            _ => Err(unknown(&reply)),
        }
    }

    fn accepts_payouts(&self) -> bool {
        self.health.permits(DEFRAY_PAY)
    }

    fn health(&self) -> Option<&Health> {
        Some(&self.health)
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        let settings = &self.settings;
        let certificate = |certificate: &x509_cert::Certificate| {
            let tbs = &certificate.tbs_certificate;
            format!("{} (serial {})", tbs.subject, tbs.serial_number)
        };
        let breaker = settings.breaker;
        vec![
            ("url", settings.base_url.clone()),
            ("customer_no", settings.customer_no.to_string()),
            ("sign_key", "set (not shown)".into()),
            ("certificate", certificate(settings.credentials.own_identity.certificate())),
            ("jd_certificate", certificate(settings.credentials.peer_certificate.certificate())),
            ("notify_url", settings.notify_url.to_string()),
            ("timeout_seconds", settings.timeout.as_secs().to_string()),
            (
                "breaker",
                format!(
                    "{} failures in a row, open {} s (up to {} s)",
                    breaker.failures_in_a_row,
                    breaker.open_for.as_secs(),
                    breaker.max_open.as_secs()
                ),
            ),
        ]
    }

    fn parse_payout_callback(&self, fields: &[(String, String)]) -> Result<PayoutCallback, CallbackError> {
        let notify = Notify::from_form(fields, &self.settings.credentials.sign_key).map_err(|error| match error {
            jdpay::FormError::BadSign => CallbackError::BadSignature,
            _ => CallbackError::Malformed("the notify's fields"),
        })?;
        if notify.customer_no != self.settings.customer_no {
            return Err(CallbackError::Malformed("customer_no"));
        }
        let out_trade_no = notify.trade.out_trade_no.as_ref().to_string();
        let status = status_of(&notify.trade, &out_trade_no).map_err(|_| CallbackError::Malformed("out_trade_no"))?;
        Ok(PayoutCallback { out_trade_no, status })
    }
}
