//! Every parser of outside input, on arbitrary input: an answer, never a panic.
use base64::{Engine, engine::general_purpose::STANDARD};
use proptest::prelude::*;

use super::{jd_credentials, merchant_credentials, parties, personal_payout, sign_key};
use crate::defray::DefrayPay;
use crate::envelope::{open, seal};
use crate::notify::Notify;
use crate::query::TradeQuery;
use crate::reply::Reply;

const KEYS: [&str; 16] = [
    "customer_no",
    "sign_type",
    "sign_data",
    "encrypt_type",
    "encrypt_data",
    "request_datetime",
    "out_trade_no",
    "trade_type",
    "trade_no",
    "trade_amount",
    "trade_currency",
    "trade_status",
    "response_code",
    "response_message",
    "payee_account_no",
    "x",
];

fn form() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![proptest::sample::select(KEYS.to_vec()).prop_map(str::to_owned), ".{0,12}"];
    let value = prop_oneof![
        Just(String::new()),
        Just("SHA-256".to_owned()),
        Just("RSA".to_owned()),
        Just("360080000001".to_owned()),
        "[A-Za-z0-9+/=]{0,64}",
        ".{0,40}",
    ];
    proptest::collection::vec((key, value), 0..20)
}

fn sealed_request() -> &'static str {
    static SEALED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEALED.get_or_init(|| {
        let parties = parties();
        let plain = crate::sign::string_to_sign(
            personal_payout().business_fields().iter().map(|(key, value)| (*key, value.as_str())),
        );
        seal(&plain, &parties.merchant, &parties.jd.peer_certificate(), &mut rand::thread_rng()).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn open_never_panics_on_text(text in ".{0,400}") {
        let parties = parties();
        let _ = open(&text, &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng());
    }

    #[test]
    fn open_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let parties = parties();
        let _ = open(&STANDARD.encode(bytes), &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng());
    }

    /// A real envelope with bytes changed, cut or added: refused, or (where the change is in a part
    /// no one checks, such as the embedded certificate's copy) the same content, never another.
    #[test]
    fn a_damaged_envelope_never_opens_to_something_else(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut der = STANDARD.decode(sealed_request()).unwrap();
        for (index, byte, kind) in edits {
            if der.is_empty() { break; }
            let position = index.index(der.len());
            match kind {
                0 => der[position] ^= byte | 1,
                1 => der.truncate(position),
                _ => der.insert(position, byte),
            }
        }
        let parties = parties();
        let opened = open(&STANDARD.encode(&der), &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng());
        if let Ok(content) = opened {
            let original = open(sealed_request(), &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng()).unwrap();
            prop_assert_eq!(content, original);
        }
    }

    #[test]
    fn request_parsers_never_panic(form in form()) {
        let _ = DefrayPay::from_form(&form, &jd_credentials(), &mut rand::thread_rng());
        let _ = TradeQuery::from_form(&form, &sign_key());
    }

    #[test]
    fn a_payout_form_with_a_good_envelope_and_arbitrary_fields_never_panics(mut form in form()) {
        form.push(("encrypt_data".to_owned(), sealed_request().to_owned()));
        let _ = DefrayPay::from_form(&form, &jd_credentials(), &mut rand::thread_rng());
        let _ = DefrayPay::from_form(&form, &merchant_credentials(), &mut rand::thread_rng());
    }

    #[test]
    fn notify_parser_never_panics(form in form()) {
        let _ = Notify::from_form(&form, &sign_key());
    }

    #[test]
    fn reply_parser_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Reply::parse(&body, &sign_key());
    }

    #[test]
    fn reply_parser_never_panics_on_json_objects(form in form(), number in any::<f64>(), whole in any::<i64>()) {
        let mut object: serde_json::Map<String, serde_json::Value> =
            form.into_iter().map(|(key, value)| (key, value.into())).collect();
        object.insert("n".to_owned(), serde_json::json!(number));
        object.insert("w".to_owned(), serde_json::json!(whole));
        object.insert("nested".to_owned(), serde_json::json!({"a": [1, null]}));
        let _ = Reply::parse(serde_json::Value::Object(object).to_string().as_bytes(), &sign_key());
    }
}
