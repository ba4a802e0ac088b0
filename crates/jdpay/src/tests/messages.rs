//! The messages both ways: what the client writes the fake JD server reads back, and the other
//! way round; and each field's errors by name.
use domain::payouts::ChannelPayoutState;
use domain::{Amount, OutTradeNo};

use super::{
    corporate_payout, form_value, jd_credentials, merchant_credentials, parties, personal_payout, request_datetime,
    sign_key, with_value,
};
use crate::Payee;
use crate::defray::DefrayPay;
use crate::envelope::{OpenError, open, seal};
use crate::error::FormError;
use crate::fields::{
    AccountType, BankAccountNumber, BankCode, CardType, CustomerNo, FieldError, JdTradeNo, NotifyUrl, PayeeAccountName,
    RequestDateTime, TradeAmount, TradeSubject,
};
use crate::notify::{NOTIFY_ACKNOWLEDGEMENT, Notify};
use crate::query::TradeQuery;
use crate::reply::{Reply, ReplyError, ResponseCode, Status, TradeResult};
use crate::sign::{SignKey, sign_data, string_to_sign};

fn form_keys(form: &[(String, String)]) -> Vec<&str> {
    form.iter().map(|(key, _)| key.as_str()).collect()
}

fn jd_reads(form: &[(String, String)]) -> Result<DefrayPay, FormError> {
    DefrayPay::from_form(form, &jd_credentials(), &mut rand::thread_rng())
}

/// A client that sends `fields` as the business fields, signed and sealed properly: for checking
/// what JD does with each field once the envelope and signature are good.
fn jd_reads_fields(fields: &[(&str, &str)]) -> Result<DefrayPay, FormError> {
    let credentials = merchant_credentials();
    let plain = string_to_sign(fields.iter().copied());
    let customer_no = fields.iter().find(|(key, _)| *key == "customer_no").map_or("", |(_, value)| *value);
    let form = vec![
        ("customer_no".to_owned(), customer_no.to_owned()),
        ("sign_type".to_owned(), "SHA-256".to_owned()),
        ("sign_data".to_owned(), sign_data(fields.iter().copied(), &credentials.sign_key)),
        ("encrypt_type".to_owned(), "RSA".to_owned()),
        (
            "encrypt_data".to_owned(),
            seal(&plain, &credentials.own_identity, &credentials.peer_certificate, &mut rand::thread_rng()).unwrap(),
        ),
    ];
    jd_reads(&form)
}

fn personal_fields() -> Vec<(&'static str, String)> {
    personal_payout().business_fields()
}

fn with_field(field: &'static str, value: &str) -> Result<DefrayPay, FormError> {
    let mut fields = personal_fields();
    fields.retain(|(key, _)| *key != field);
    fields.push((field, value.to_owned()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (*key, value.as_str())).collect();
    jd_reads_fields(&pairs)
}

fn invalid(field: &'static str) -> impl Fn(&Result<DefrayPay, FormError>) -> bool {
    move |result| matches!(result, Err(FormError::InvalidField { field: named, .. }) if *named == field)
}

#[test]
fn a_payout_request_reads_back_as_sent() {
    for payout in [personal_payout(), corporate_payout()] {
        let form = payout.to_form(&merchant_credentials(), &mut rand::thread_rng()).unwrap();
        assert_eq!(form_keys(&form), ["customer_no", "sign_type", "sign_data", "encrypt_type", "encrypt_data"]);
        assert_eq!(form_value(&form, "sign_type"), Some("SHA-256"));
        assert_eq!(form_value(&form, "encrypt_type"), Some("RSA"));
        assert_eq!(jd_reads(&form).unwrap(), payout);
    }
}

#[test]
fn the_envelope_holds_the_string_to_sign_and_sign_data_signs_it() {
    let payout = personal_payout();
    let form = payout.to_form(&merchant_credentials(), &mut rand::thread_rng()).unwrap();
    let parties = parties();
    let plain = open(
        form_value(&form, "encrypt_data").unwrap(),
        &parties.jd,
        &parties.merchant.peer_certificate(),
        &mut rand::thread_rng(),
    )
    .unwrap();
    assert_eq!(
        plain,
        "customer_no=360080000001&notify_url=https://liquidator.example/channel/jdpay/notify?run=7\
         &out_trade_no=PO_20261206_0001&pay_tool=TRAN&payee_account_name=张三&payee_account_no=6222021234567890128\
         &payee_account_type=P&payee_bank_code=ICBC&payee_card_type=DE&payee_mobile=13800138000\
         &request_datetime=20261206T101500&trade_amount=12345&trade_currency=CNY&trade_subject=结算款 2026-12-05"
    );
    let fields = payout.business_fields();
    let expected = sign_data(fields.iter().map(|(key, value)| (*key, value.as_str())), &sign_key());
    assert_eq!(form_value(&form, "sign_data"), Some(expected.as_str()));

    let corporate = corporate_payout().business_fields();
    assert!(corporate.contains(&("payee_account_type", "C".to_owned())));
    assert!(corporate.contains(&("payee_bank_associated_code", "105331000012".to_owned())));
    assert!(!corporate.iter().any(|(key, _)| *key == "payee_mobile"));
}

#[test]
fn a_payout_request_is_refused_when_its_form_is_wrong() {
    let form = personal_payout().to_form(&merchant_credentials(), &mut rand::thread_rng()).unwrap();

    let sign = form_value(&form, "sign_data").unwrap();
    let flipped = if sign.starts_with('A') { sign.replacen('A', "B", 1) } else { format!("A{}", &sign[1..]) };
    assert_eq!(jd_reads(&with_value(&form, "sign_data", &flipped)), Err(FormError::BadSign));
    let other_key = crate::Credentials { sign_key: SignKey::new("another key").unwrap(), ..jd_credentials() };
    assert_eq!(DefrayPay::from_form(&form, &other_key, &mut rand::thread_rng()), Err(FormError::BadSign));

    assert_eq!(jd_reads(&with_value(&form, "customer_no", "360080000002")), Err(FormError::CustomerNoMismatch));
    assert!(invalid("sign_type")(&jd_reads(&with_value(&form, "sign_type", "MD5"))));
    assert!(invalid("encrypt_type")(&jd_reads(&with_value(&form, "encrypt_type", "AES"))));
    assert_eq!(jd_reads(&with_value(&form, "trade_amount", "1")), Err(FormError::UnknownField("trade_amount".into())));
    let mut duplicated = form.clone();
    duplicated.push(("sign_data".to_owned(), sign.to_owned()));
    assert_eq!(jd_reads(&duplicated), Err(FormError::DuplicateField("sign_data".into())));
    let without: Vec<(String, String)> = form.iter().filter(|(key, _)| key != "encrypt_data").cloned().collect();
    assert_eq!(jd_reads(&without), Err(FormError::MissingField("encrypt_data")));

    let parties = parties();
    let elsewhere = seal(
        "customer_no=360080000001",
        &parties.merchant,
        &parties.impostor.peer_certificate(),
        &mut rand::thread_rng(),
    )
    .unwrap();
    assert_eq!(
        jd_reads(&with_value(&form, "encrypt_data", &elsewhere)),
        Err(FormError::Envelope(OpenError::NotForThisRecipient))
    );
}

#[test]
fn each_business_field_is_checked_by_name() {
    assert!(personal_fields().len() >= 14);
    assert!(invalid("trade_amount")(&with_field("trade_amount", "0")));
    assert!(invalid("trade_amount")(&with_field("trade_amount", "1.00")));
    assert!(invalid("trade_currency")(&with_field("trade_currency", "USD")));
    assert!(invalid("pay_tool")(&with_field("pay_tool", "CARD")));
    assert!(invalid("payee_card_type")(&with_field("payee_card_type", "XX")));
    assert!(invalid("payee_account_type")(&with_field("payee_account_type", "X")));
    assert!(invalid("payee_account_no")(&with_field("payee_account_no", "6222021234567890127")));
    assert!(invalid("payee_bank_code")(&with_field("payee_bank_code", "工商银行")));
    assert!(invalid("payee_mobile")(&with_field("payee_mobile", "12345")));
    assert!(invalid("payee_bank_associated_code")(&with_field("payee_bank_associated_code", "123")));
    assert!(invalid("request_datetime")(&with_field("request_datetime", "2026-12-06 10:15:00")));
    assert!(invalid("out_trade_no")(&with_field("out_trade_no", "PO-1")));
    assert!(invalid("notify_url")(&with_field("notify_url", "ftp://x")));
    assert!(invalid("customer_no")(&with_field("customer_no", "360-08")));
    assert_eq!(with_field("trade_subject", ""), Err(FormError::MissingField("trade_subject")));
    assert_eq!(with_field("salt_and_pepper", "x"), Err(FormError::UnknownField("salt_and_pepper".into())));

    // A corporate account without its CNAPS code.
    let mut fields = corporate_payout().business_fields();
    fields.retain(|(key, _)| *key != "payee_bank_associated_code");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (*key, value.as_str())).collect();
    assert_eq!(jd_reads_fields(&pairs), Err(FormError::MissingField("payee_bank_associated_code")));

    // The decrypted content must be key=value pairs.
    let credentials = merchant_credentials();
    let garbage =
        seal("no pairs here", &credentials.own_identity, &credentials.peer_certificate, &mut rand::thread_rng())
            .unwrap();
    let form = vec![
        ("customer_no".to_owned(), "360080000001".to_owned()),
        ("sign_type".to_owned(), "SHA-256".to_owned()),
        ("sign_data".to_owned(), "00".to_owned()),
        ("encrypt_type".to_owned(), "RSA".to_owned()),
        ("encrypt_data".to_owned(), garbage),
    ];
    assert_eq!(jd_reads(&form), Err(FormError::MalformedContent));
}

#[test]
fn field_types_hold_only_what_the_wire_can_carry() {
    assert_eq!(TradeSubject::parse("a&b"), Err(FieldError::Ampersand));
    assert_eq!(NotifyUrl::parse("https://x.example/n?a=1&b=2"), Err(FieldError::Ampersand));
    assert_eq!(PayeeAccountName::parse("A&B Ltd"), Err(FieldError::Ampersand));
    assert_eq!(TradeSubject::parse("line\nbreak"), Err(FieldError::InvalidCharacter));
    assert_eq!(TradeSubject::parse(&"长".repeat(65)), Err(FieldError::TooLong { max: 64 }));
    assert!(NotifyUrl::parse("HTTPS://x.example/n").is_ok());
    assert_eq!(NotifyUrl::parse("https://"), Err(FieldError::NotAUrl));
    assert_eq!(NotifyUrl::parse("https://x.example/a b"), Err(FieldError::NotAUrl));
    assert!(CustomerNo::parse(&"1".repeat(33)).is_err());
    assert!(JdTradeNo::parse("20261206101500123-ab_1").is_ok());

    assert_eq!(TradeAmount::parse("1").unwrap().amount(), Amount::from_fen(1));
    assert_eq!(TradeAmount::parse("100000000000000").unwrap().to_string(), "100000000000000");
    for bad in ["", "0", "01", "-1", "+1", "1.00", "1e3", " 1", "1000000000000000", "９"] {
        assert_eq!(TradeAmount::parse(bad), Err(FieldError::NotAnAmount), "{bad:?}");
    }
    assert!(TradeAmount::new(Amount::from_fen(0)).is_err());
    assert!(TradeAmount::new(Amount::from_fen(-5)).is_err());

    assert_eq!(request_datetime().to_string(), "20261206T101500");
    assert_eq!(RequestDateTime::parse("20261206T101500"), Ok(request_datetime()));
    for bad in [
        "2026-12-06T10:15:00",
        "20261306T101500",
        "20260230T101500",
        "20261206T246000",
        "20261206 101500",
        "20261206T10150",
        "20261206t101500",
        "+0261206T101500",
        "00001206T101500",
    ] {
        assert_eq!(RequestDateTime::parse(bad), Err(FieldError::NotADateTime), "{bad:?}");
    }

    // A corporate account needs its CNAPS code; a personal one need not.
    let corporate = BankAccountNumber::parse("11050162540000000123", AccountType::Corporate).unwrap();
    let name = PayeeAccountName::parse("某公司").unwrap();
    assert!(Payee::new(BankCode::parse("CCB").unwrap(), CardType::Debit, corporate, name, None, None).is_err());

    // Personal data shows masked in debug output.
    let debug = format!("{:?}", personal_payout());
    for secret in ["6222021234567890128", "张三", "13800138000"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

fn query() -> TradeQuery {
    TradeQuery {
        customer_no: CustomerNo::parse("360080000001").unwrap(),
        request_datetime: request_datetime(),
        out_trade_no: OutTradeNo::parse("PO_20261206_0001").unwrap(),
    }
}

#[test]
fn a_trade_query_reads_back_as_sent_and_signs_as_computed_by_hand() {
    let form = query().to_form(&sign_key());
    assert_eq!(
        form_keys(&form),
        ["customer_no", "request_datetime", "out_trade_no", "trade_type", "sign_type", "sign_data"]
    );
    assert_eq!(form_value(&form, "trade_type"), Some("T_AGD"));
    // The value of `a_trade_query_signs_as_jd_documents` in the sign tests.
    assert_eq!(
        form_value(&form, "sign_data"),
        Some("FA9A77310B60B4D88C373DC21004E68EFE741CDC93C460EDA72E56C428D98674")
    );
    assert_eq!(TradeQuery::from_form(&form, &sign_key()), Ok(query()));

    assert_eq!(TradeQuery::from_form(&with_value(&form, "out_trade_no", "PO_2"), &sign_key()), Err(FormError::BadSign));
    assert_eq!(TradeQuery::from_form(&form, &SignKey::new("x").unwrap()), Err(FormError::BadSign));
    assert_eq!(
        TradeQuery::from_form(&with_value(&form, "encrypt_data", "x"), &sign_key()),
        Err(FormError::UnknownField("encrypt_data".into()))
    );
    let without: Vec<(String, String)> = form.iter().filter(|(key, _)| key != "sign_data").cloned().collect();
    assert_eq!(TradeQuery::from_form(&without, &sign_key()), Err(FormError::MissingField("sign_data")));

    // A properly signed query for another trade type.
    let fields = [
        ("customer_no", "360080000001"),
        ("request_datetime", "20261206T101500"),
        ("out_trade_no", "PO_1"),
        ("trade_type", "T_PAY"),
    ];
    let mut form: Vec<(String, String)> =
        fields.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
    form.push(("sign_type".to_owned(), "SHA-256".to_owned()));
    form.push(("sign_data".to_owned(), sign_data(fields, &sign_key())));
    assert!(matches!(
        TradeQuery::from_form(&form, &sign_key()),
        Err(FormError::InvalidField { field: "trade_type", .. })
    ));
}

fn trade(status: Status) -> TradeResult {
    TradeResult {
        out_trade_no: OutTradeNo::parse("PO_20261206_0001").unwrap(),
        trade_no: JdTradeNo::parse("1000201612061015001234").unwrap(),
        trade_amount: TradeAmount::new(Amount::from_fen(12_345)).unwrap(),
        trade_status: status,
    }
}

const STATUSES: [Status; 6] =
    [Status::Created, Status::Accepted, Status::AwaitingBank, Status::Succeeded, Status::Failed, Status::Returned];

#[test]
fn replies_read_back_as_written() {
    for status in STATUSES {
        let reply = Reply {
            response_code: ResponseCode::Success,
            response_message: "成功".to_owned(),
            trade: Some(trade(status)),
        };
        let body = reply.to_json(&sign_key());
        assert_eq!(Reply::parse(body.as_bytes(), &sign_key()), Ok(reply));
    }
    for code in [
        ResponseCode::SystemError,
        ResponseCode::OutTradeNoExist,
        ResponseCode::NoResult,
        ResponseCode::IllegalSign,
        ResponseCode::IllegalArgument,
        ResponseCode::Other("CERT_EXPIRE".to_owned()),
    ] {
        let reply =
            Reply { response_code: code, response_message: "外部交易号已经存在".to_owned(), trade: None };
        assert_eq!(Reply::parse(reply.to_json(&sign_key()).as_bytes(), &sign_key()), Ok(reply));
    }
}

fn signed_body(fields: &[(&str, serde_json::Value)]) -> String {
    let texts: Vec<(&str, String)> = fields
        .iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::String(text) => Some((*key, text.clone())),
            serde_json::Value::Null => None,
            other => Some((*key, other.to_string())),
        })
        .collect();
    let sign = sign_data(texts.iter().map(|(key, value)| (*key, value.as_str())), &sign_key());
    let mut object: serde_json::Map<String, serde_json::Value> =
        fields.iter().map(|(key, value)| (key.to_string(), value.clone())).collect();
    object.insert("sign_data".to_owned(), sign.into());
    serde_json::Value::Object(object).to_string()
}

#[test]
fn replies_from_jd_may_carry_more_and_numbers() {
    use serde_json::json;
    let body = signed_body(&[
        ("response_code", json!("0000")),
        ("response_message", json!("成功")),
        ("out_trade_no", json!("PO_20261206_0001")),
        ("trade_no", json!("1000201612061015001234")),
        ("trade_amount", json!(12345)),
        ("trade_status", json!("FINI")),
        ("trade_date", json!("20261206")),
        ("is_test", json!(false)),
        ("memo", json!(null)),
    ]);
    let reply = Reply::parse(body.as_bytes(), &sign_key()).unwrap();
    assert_eq!(reply.trade, Some(trade(Status::Succeeded)));

    let float = signed_body(&[("response_code", json!("0000")), ("trade_amount", json!(1.5))]);
    assert_eq!(Reply::parse(float.as_bytes(), &sign_key()), Err(ReplyError::UnsupportedValue("trade_amount".into())));

    let usd = signed_body(&[
        ("response_code", json!("0000")),
        ("out_trade_no", json!("PO_1")),
        ("trade_no", json!("1")),
        ("trade_amount", json!("1")),
        ("trade_currency", json!("USD")),
        ("trade_status", json!("FINI")),
    ]);
    assert!(matches!(
        Reply::parse(usd.as_bytes(), &sign_key()),
        Err(ReplyError::InvalidField { field: "trade_currency", .. })
    ));

    let no_status = signed_body(&[
        ("response_code", json!("0000")),
        ("out_trade_no", json!("PO_1")),
        ("trade_no", json!("1")),
        ("trade_amount", json!("1")),
    ]);
    assert_eq!(Reply::parse(no_status.as_bytes(), &sign_key()), Err(ReplyError::MissingField("trade_status")));

    let odd_status = signed_body(&[
        ("response_code", json!("0000")),
        ("out_trade_no", json!("PO_1")),
        ("trade_no", json!("1")),
        ("trade_amount", json!("1")),
        ("trade_status", json!("DONE")),
    ]);
    assert!(matches!(
        Reply::parse(odd_status.as_bytes(), &sign_key()),
        Err(ReplyError::InvalidField { field: "trade_status", .. })
    ));
}

#[test]
fn replies_that_cannot_be_trusted_are_refused_distinctly() {
    assert_eq!(Reply::parse(b"", &sign_key()), Err(ReplyError::Empty));
    assert_eq!(Reply::parse(b" \r\n", &sign_key()), Err(ReplyError::Empty));
    for body in [&b"<html>502 Bad Gateway</html>"[..], b"[1,2]", b"\"0000\"", b"{\"response_code\":", b"\xff\xfe"] {
        assert_eq!(Reply::parse(body, &sign_key()), Err(ReplyError::NotJson), "{body:?}");
    }
    let unsigned = r#"{"response_code":"ILLEGAL_SIGN","response_message":"验签失败"}"#;
    assert_eq!(
        Reply::parse(unsigned.as_bytes(), &sign_key()),
        Err(ReplyError::Unsigned { response_code: ResponseCode::IllegalSign })
    );
    assert_eq!(Reply::parse(br#"{"sign_data":"AB"}"#, &sign_key()), Err(ReplyError::MissingField("response_code")));

    let good = Reply {
        response_code: ResponseCode::Success,
        response_message: String::new(),
        trade: Some(trade(Status::Succeeded)),
    }
    .to_json(&sign_key());
    let changed = good.replace("FINI", "CLOS");
    assert_eq!(Reply::parse(changed.as_bytes(), &sign_key()), Err(ReplyError::BadSign));
    let added = good.replacen('{', r#"{"extra":"x","#, 1);
    assert_eq!(Reply::parse(added.as_bytes(), &sign_key()), Err(ReplyError::BadSign));
    assert_eq!(Reply::parse(good.as_bytes(), &SignKey::new("other").unwrap()), Err(ReplyError::BadSign));
    let huge = vec![b' '; crate::reply::MAX_REPLY_BYTES + 1];
    assert!(matches!(Reply::parse(&huge, &sign_key()), Err(ReplyError::TooLarge { .. })));
}

#[test]
fn statuses_and_codes_have_one_spelling_each() {
    for status in STATUSES {
        assert_eq!(Status::parse(status.as_str()), Ok(status));
    }
    assert!(Status::parse("fini").is_err());
    let states: Vec<ChannelPayoutState> = STATUSES.iter().map(|status| status.channel_state()).collect();
    use ChannelPayoutState::*;
    assert_eq!(states, [Pending, Pending, Pending, Succeeded, Failed, Returned]);
    for code in
        ["0000", "SYSTEM_ERROR", "OUT_TRADE_NO_EXIST", "NO_RESULT", "ILLEGAL_SIGN", "ILLEGAL_ARGUMENT", "CERT_EXPIRE"]
    {
        assert_eq!(ResponseCode::parse(code).as_str(), code);
    }
    assert_eq!(ResponseCode::parse("CERT_EXPIRE"), ResponseCode::Other("CERT_EXPIRE".to_owned()));
}

fn notify() -> Notify {
    Notify { customer_no: CustomerNo::parse("360080000001").unwrap(), trade: trade(Status::Returned) }
}

#[test]
fn a_notify_reads_back_as_written_and_is_answered_ok() {
    let form = notify().to_form(&sign_key());
    for key in [
        "customer_no",
        "out_trade_no",
        "trade_no",
        "trade_amount",
        "trade_currency",
        "trade_status",
        "sign_type",
        "sign_data",
    ] {
        assert!(form_value(&form, key).is_some(), "{key}");
    }
    assert_eq!(Notify::from_form(&form, &sign_key()), Ok(notify()));
    assert_eq!(NOTIFY_ACKNOWLEDGEMENT, "ok");

    assert_eq!(Notify::from_form(&with_value(&form, "trade_status", "FINI"), &sign_key()), Err(FormError::BadSign));
    assert_eq!(Notify::from_form(&with_value(&form, "trade_date", "20261206"), &sign_key()), Err(FormError::BadSign));
    assert_eq!(Notify::from_form(&form, &SignKey::new("other").unwrap()), Err(FormError::BadSign));
    let unsigned: Vec<(String, String)> = form.iter().filter(|(key, _)| key != "sign_data").cloned().collect();
    assert_eq!(Notify::from_form(&unsigned, &sign_key()), Err(FormError::MissingField("sign_data")));

    // A field JD adds, signed with the rest, is accepted.
    let mut fields: Vec<(String, String)> = form.iter().filter(|(key, _)| key != "sign_data").cloned().collect();
    fields.push(("trade_date".to_owned(), "20261206".to_owned()));
    let sign = sign_data(fields.iter().map(|(key, value)| (key.as_str(), value.as_str())), &sign_key());
    fields.push(("sign_data".to_owned(), sign));
    assert_eq!(Notify::from_form(&fields, &sign_key()), Ok(notify()));
}
