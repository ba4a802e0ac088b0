//! The crate's tests. Keys are made once per test binary: RSA key generation is the slow part.
use std::sync::OnceLock;

use chrono::NaiveDate;
use domain::{Amount, OutTradeNo};

use crate::defray::{DefrayPay, Payee};
use crate::fields::{
    AccountType, BankAccountNumber, BankCode, CardType, CnapsCode, CustomerNo, MainlandMobile, NotifyUrl,
    PayeeAccountName, RequestDateTime, TradeAmount, TradeSubject,
};
use crate::keys::{Credentials, Identity};
use crate::sign::SignKey;
use crate::testing::generate_identity;

mod envelope;
mod messages;
mod never_panics;
mod openssl;
mod sign;

/// Big enough to be realistic; the rsa crate is optimised even in debug builds.
const KEY_BITS: usize = 2048;

pub(crate) struct Parties {
    pub merchant: Identity,
    pub jd: Identity,
    /// A second key and certificate under JD's name: what an envelope for someone else looks like.
    pub impostor: Identity,
}

pub(crate) fn parties() -> &'static Parties {
    static PARTIES: OnceLock<Parties> = OnceLock::new();
    PARTIES.get_or_init(|| {
        let mut rng = rand::thread_rng();
        Parties {
            merchant: generate_identity(KEY_BITS, "merchant 360080000001", &mut rng).expect("merchant identity"),
            jd: generate_identity(KEY_BITS, "jdpay npp10", &mut rng).expect("JD identity"),
            impostor: generate_identity(KEY_BITS, "jdpay npp10", &mut rng).expect("impostor identity"),
        }
    })
}

pub(crate) fn sign_key() -> SignKey {
    SignKey::new("test-sign-key").expect("a sign key")
}

/// The client's side: the merchant's identity, JD's certificate.
pub(crate) fn merchant_credentials() -> Credentials {
    let parties = parties();
    Credentials {
        sign_key: sign_key(),
        own_identity: parties.merchant.clone(),
        peer_certificate: parties.jd.peer_certificate(),
    }
}

/// The fake JD server's side: JD's identity, the merchant's certificate.
pub(crate) fn jd_credentials() -> Credentials {
    let parties = parties();
    Credentials {
        sign_key: sign_key(),
        own_identity: parties.jd.clone(),
        peer_certificate: parties.merchant.peer_certificate(),
    }
}

pub(crate) fn request_datetime() -> RequestDateTime {
    let at = NaiveDate::from_ymd_opt(2026, 12, 6).and_then(|date| date.and_hms_opt(10, 15, 0)).expect("a date");
    RequestDateTime::new(at).expect("a request time")
}

/// A payout to a person's debit card, with a Chinese subject and name.
pub(crate) fn personal_payout() -> DefrayPay {
    let payee = Payee::new(
        BankCode::parse("ICBC").unwrap(),
        CardType::Debit,
        BankAccountNumber::parse("6222021234567890128", AccountType::Personal).unwrap(),
        PayeeAccountName::parse("张三").unwrap(),
        None,
        Some(MainlandMobile::parse("13800138000").unwrap()),
    )
    .unwrap();
    DefrayPay {
        customer_no: CustomerNo::parse("360080000001").unwrap(),
        request_datetime: request_datetime(),
        out_trade_no: OutTradeNo::parse("PO_20261206_0001").unwrap(),
        trade_amount: TradeAmount::new(Amount::from_fen(12_345)).unwrap(),
        trade_subject: TradeSubject::parse("结算款 2026-12-05").unwrap(),
        payee,
        notify_url: NotifyUrl::parse("https://liquidator.example/channel/jdpay/notify?run=7").unwrap(),
    }
}

/// A payout to a company's account, which needs its branch's CNAPS code.
pub(crate) fn corporate_payout() -> DefrayPay {
    let payee = Payee::new(
        BankCode::parse("CCB").unwrap(),
        CardType::Debit,
        BankAccountNumber::parse("11050162540000000123", AccountType::Corporate).unwrap(),
        PayeeAccountName::parse("杭州某某科技有限公司").unwrap(),
        Some(CnapsCode::parse("105331000012").unwrap()),
        None,
    )
    .unwrap();
    DefrayPay { out_trade_no: OutTradeNo::parse("PO_20261206_0002").unwrap(), payee, ..personal_payout() }
}

/// A form's value by key.
pub(crate) fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
}

/// `form` with `key`'s value replaced (or added).
pub(crate) fn with_value(form: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut changed: Vec<(String, String)> = form.iter().filter(|(name, _)| name != key).cloned().collect();
    changed.push((key.to_owned(), value.to_owned()));
    changed
}
