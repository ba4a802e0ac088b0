//! A fake JD Pay payout gateway on loopback that reads what it receives exactly as JD does: it
//! opens the CMS envelope with JD's key, checks the merchant's signature inside it and the
//! `sign_data`, and refuses (`ILLEGAL_SIGN`) anything that fails; a number used before is
//! `OUT_TRADE_NO_EXIST`. What it answers is scripted per payee account ending (the default: paid at
//! once), and it posts payout notifies, signed as JD signs them, when a test asks.
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpResponse, HttpServer, web};
use jdpay::{
    Credentials, DefrayPay, Identity, Notify, Reply, ResponseCode, SignKey, Status, TradeQuery, TradeResult,
    fields::JdTradeNo,
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};

/// What the fake does with a new payout to an account with a given ending.
#[derive(Clone, Debug)]
pub struct Plan {
    pub answer: Answer,
    /// What the payout shows to successive queries (the last one stays); empty: JD never took it.
    pub statuses: Vec<Status>,
}

#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// `0000` with the payout's first status.
    Accepted,
    /// This response code (the payout is taken if it has statuses: a `SYSTEM_ERROR` after the
    /// trade was made).
    Code(&'static str),
    /// An empty body.
    Empty,
    /// A body far longer than any reply (a megabyte of spaces).
    Huge,
    /// No answer until the client gives up.
    Hang,
}

impl Plan {
    pub fn accepted(statuses: &[Status]) -> Plan {
        Plan { answer: Answer::Accepted, statuses: statuses.to_vec() }
    }
}

/// One request the fake received, as it read it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: &'static str,
    pub out_trade_no: Option<String>,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
    pub account_type: Option<String>,
    pub bank_associated_code: Option<String>,
}

struct Trade {
    request: DefrayPay,
    trade_no: String,
    statuses: Vec<Status>,
    asked: usize,
}

#[derive(Default)]
struct State {
    plans: Vec<(String, Plan)>,
    trades: HashMap<String, Trade>,
    /// Numbers a plan was used for: a number sent again after JD did not take it is paid.
    planned: std::collections::HashSet<String>,
    received: Vec<Received>,
}

/// The fake JD, and the files a platform configures to talk to it.
pub struct FakeJd {
    pub url: String,
    pub customer_no: String,
    pub sign_key: String,
    /// The platform's side: its private key (PKCS#8 PEM), its certificate and JD's (DER).
    pub private_key_file: PathBuf,
    pub certificate_file: PathBuf,
    pub jd_certificate_file: PathBuf,
    jd: Arc<Credentials>,
    state: Arc<Mutex<State>>,
}

fn identity(name: &str, directory: &Path) -> (Identity, PathBuf, PathBuf) {
    let mut rng = rand::rngs::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("an RSA key");
    let certificate = jdpay::testing::self_signed_certificate(&key, name, &mut rng).expect("a certificate");
    let key_file = directory.join(format!("{name}.key.pem"));
    let certificate_file = directory.join(format!("{name}.cer"));
    std::fs::write(&key_file, key.to_pkcs8_pem(LineEnding::LF).expect("PEM").as_bytes()).expect("key written");
    std::fs::write(&certificate_file, der::Encode::to_der(&certificate).expect("DER")).expect("certificate written");
    (Identity::new(key, certificate).expect("an identity"), key_file, certificate_file)
}

impl FakeJd {
    pub async fn start(directory: &Path) -> FakeJd {
        let (merchant, private_key_file, certificate_file) = identity("merchant", directory);
        let (jd, _, jd_certificate_file) = identity("jd", directory);
        let sign_key = "shared-sign-key-of-the-test".to_string();
        let jd = Arc::new(Credentials {
            sign_key: SignKey::new(sign_key.clone()).expect("a sign key"),
            peer_certificate: merchant.peer_certificate(),
            own_identity: jd,
        });
        let state = Arc::new(Mutex::new(State::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
        let (server_jd, server_state) = (jd.clone(), state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(server_jd.clone()))
                .app_data(web::Data::from(server_state.clone()))
                .route("/npp10/defray_pay", web::post().to(defray_pay))
                .route("/npp10/trade_query", web::post().to(trade_query))
        })
        .workers(1)
        .listen(listener)
        .expect("listens")
        .run();
        tokio::spawn(server);
        FakeJd {
            url,
            customer_no: "110000000001".into(),
            sign_key,
            private_key_file,
            certificate_file,
            jd_certificate_file,
            jd,
            state,
        }
    }

    /// The platform's `[channel.jdpay]` for talking to this fake: its address, member number, keys
    /// and certificates; the notify URL left to the platform's default.
    pub fn config(&self, timeout_seconds: u64, breaker_failures: u32) -> server::config::JdPayConfig {
        server::config::JdPayConfig {
            url: self.url.clone(),
            customer_no: self.customer_no.clone(),
            sign_key: self.sign_key.clone().into(),
            private_key_file: self.private_key_file.clone(),
            certificate_file: self.certificate_file.clone(),
            jd_certificate_file: self.jd_certificate_file.clone(),
            notify_url: None,
            timeout_seconds,
            breaker_failures,
            breaker_open_seconds: 5,
        }
    }

    /// Payouts to accounts ending with `suffix` go this way.
    pub fn plan(&self, suffix: &str, plan: Plan) {
        self.state.lock().expect("state").plans.push((suffix.to_string(), plan));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    /// Posts JD's notify that the payout now shows `status` to its `notify_url` (a forged one
    /// when `forged`), and returns the answer: status and body.
    pub async fn notify(&self, out_trade_no: &str, status: Status, forged: bool) -> (u16, String) {
        let (form, url) = {
            let mut state = self.state.lock().expect("state");
            let trade = state.trades.get_mut(out_trade_no).expect("a payout the fake has");
            trade.statuses = vec![status];
            let notify = Notify { customer_no: trade.request.customer_no.clone(), trade: trade_result(trade, status) };
            let key = if forged { SignKey::new("another key").expect("a key") } else { self.jd.sign_key.clone() };
            (notify.to_form(&key), trade.request.notify_url.to_string())
        };
        let response = reqwest::Client::new().post(url).form(&form).send().await.expect("the notify is delivered");
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }
}

fn trade_result(trade: &Trade, status: Status) -> TradeResult {
    TradeResult {
        out_trade_no: trade.request.out_trade_no.clone(),
        trade_no: JdTradeNo::parse(&trade.trade_no).expect("a trade number"),
        trade_amount: trade.request.trade_amount,
        trade_status: status,
    }
}

fn reply(jd: &Credentials, code: &str, trade: Option<TradeResult>) -> HttpResponse {
    let body = Reply { response_code: ResponseCode::parse(code), response_message: code.to_lowercase(), trade }
        .to_json(&jd.sign_key);
    HttpResponse::Ok().content_type("application/json").body(body)
}

async fn defray_pay(
    jd: web::Data<Credentials>,
    state: web::Data<Mutex<State>>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let request = DefrayPay::from_form(&form, &jd, &mut rand::rngs::OsRng);
    let mut received = Received {
        method: "defray_pay",
        out_trade_no: None,
        refused: None,
        account_type: None,
        bank_associated_code: None,
    };
    let request = match request {
        Ok(request) => request,
        Err(error) => {
            received.refused = Some(error.to_string());
            state.lock().expect("state").received.push(received);
            return reply(&jd, "ILLEGAL_SIGN", None);
        }
    };
    let out_trade_no = request.out_trade_no.to_string();
    received.out_trade_no = Some(out_trade_no.clone());
    received.account_type = Some(jdpay::fields::account_type_code(request.payee.account_type()).to_string());
    received.bank_associated_code = request.payee.bank_associated_code().map(|code| code.to_string());
    let plan = {
        let mut state = state.lock().expect("state");
        state.received.push(received);
        if state.trades.contains_key(&out_trade_no) {
            return reply(&jd, "OUT_TRADE_NO_EXIST", None);
        }
        let account = request.payee.account_no().to_string();
        let planned = state.planned.contains(&out_trade_no);
        let plan = state
            .plans
            .iter()
            .find(|(suffix, _)| !planned && account.ends_with(suffix.as_str()))
            .map_or_else(|| Plan::accepted(&[Status::Succeeded]), |(_, plan)| plan.clone());
        state.planned.insert(out_trade_no.clone());
        if !plan.statuses.is_empty() {
            let trade_no = format!("JD{:012}", state.trades.len() + 1);
            state
                .trades
                .insert(out_trade_no.clone(), Trade { request, trade_no, statuses: plan.statuses.clone(), asked: 0 });
        }
        plan
    };
    match plan.answer {
        Answer::Accepted => {
            let state = state.lock().expect("state");
            let trade = &state.trades[&out_trade_no];
            reply(&jd, "0000", Some(trade_result(trade, trade.statuses[0])))
        }
        Answer::Code(code) => reply(&jd, code, None),
        Answer::Empty => HttpResponse::Ok().finish(),
        Answer::Huge => HttpResponse::Ok().content_type("application/json").body(" ".repeat(1 << 20)),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
    }
}

async fn trade_query(
    jd: web::Data<Credentials>,
    state: web::Data<Mutex<State>>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let mut state = state.lock().expect("state");
    let query = match TradeQuery::from_form(&form, &jd.sign_key) {
        Ok(query) => query,
        Err(error) => {
            let refused = Some(error.to_string());
            let received = Received {
                method: "trade_query",
                out_trade_no: None,
                refused,
                account_type: None,
                bank_associated_code: None,
            };
            state.received.push(received);
            return reply(&jd, "ILLEGAL_SIGN", None);
        }
    };
    let out_trade_no = query.out_trade_no.to_string();
    state.received.push(Received {
        method: "trade_query",
        out_trade_no: Some(out_trade_no.clone()),
        refused: None,
        account_type: None,
        bank_associated_code: None,
    });
    let Some(trade) = state.trades.get_mut(&out_trade_no) else { return reply(&jd, "NO_RESULT", None) };
    let status = trade.statuses[trade.asked.min(trade.statuses.len() - 1)];
    trade.asked += 1;
    let result = trade_result(trade, status);
    reply(&jd, "0000", Some(result))
}
