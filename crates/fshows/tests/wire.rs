//! The fshows wire format against SPEC §5 and seed 003: envelopes, strings to sign,
//! signatures (also against the `openssl` CLI, as a client using nothing else would sign and
//! verify) and signed replies.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::STANDARD_NO_PAD};
use domain::{Amount, Rate};
use fshows::envelope::{BodyKind, Envelope, EnvelopeError, MAX_BODY_BYTES};
use fshows::reply::{self, JsonNumber, ReplyValue};
use fshows::signature::{self, SignType, Signer, SignerError, VerifyingKeys};
use proptest::prelude::*;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Seed 003's uniorder content, as an fshows client writes it.
const SEED_CONTENT: &str = r#"{"out_trade_no":"CQL201709061014480195818","sub_merchant_id":"20170720205421027980","body":"这是京东支付订单","total_fee":"0.01","order_type":"0","notify_url":"http://cc.ngrok.cc/test"}"#;
const SEED_SIGN: &str = "hq1j1tBCQkJCecJbU1I+9VyRDPyjzBjT6ok7S6QWT72ebJ7nNmTJFy5GLh0Zw9lyciT/1Qd7dDeFRVwqxHW10xzv8qBqjGNq4S1TH1sEukMBk7emkD78javGS0m+6KIEtK1K5gePgqy3HRpxqrD58jqZIOu5FIxY5m5a93CJC/o=";

/// Two key pairs made once for the tests that do not involve the openssl CLI.
struct Keys {
    first: RsaPrivateKey,
    second: RsaPrivateKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        Keys {
            first: RsaPrivateKey::new(&mut rng, 2048).expect("generate a key"),
            second: RsaPrivateKey::new(&mut rng, 2048).expect("generate a key"),
        }
    })
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).expect("form-encode").into_bytes()
}

fn parse_form(fields: &[(&str, &str)]) -> Result<Envelope, EnvelopeError> {
    Envelope::parse(BodyKind::Form, &form(fields))
}

fn parse_json(body: &str) -> Result<Envelope, EnvelopeError> {
    Envelope::parse(BodyKind::Json, body.as_bytes())
}

const BASE: [(&str, &str); 5] = [
    ("app_id", "2016072300007148"),
    ("method", "fshows.liquidation.jdpay.uniorder"),
    ("version", "1.0"),
    ("content", SEED_CONTENT),
    ("sign", SEED_SIGN),
];

fn base_with<'a>(replacements: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = BASE.to_vec();
    for (key, value) in replacements {
        fields.retain(|(existing, _)| existing != key);
        if let Some(value) = value {
            fields.push((key, value));
        }
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Envelope: form bodies

#[test]
fn form_body_with_content_as_string() {
    let envelope = parse_form(&BASE).expect("parse");
    assert_eq!(envelope.app_id(), "2016072300007148");
    assert_eq!(envelope.method(), "fshows.liquidation.jdpay.uniorder");
    assert_eq!(envelope.version(), Some("1.0"));
    assert_eq!(envelope.sign(), SEED_SIGN, "the `+` and `/` of the signature survive form encoding");
    assert_eq!(envelope.sign_type(), None);
    assert_eq!(envelope.content(), SEED_CONTENT);
    assert_eq!(
        envelope.string_to_sign(),
        format!("app_id=2016072300007148&content={SEED_CONTENT}&method=fshows.liquidation.jdpay.uniorder&version=1.0")
    );
}

#[test]
fn form_decoding_is_standard_urlencoded() {
    let body = "app_id=a%5Fb&method=m.x&sign=AB%2BC&content=%7B%22body%22%3A%22a+b%20c%E4%B8%AD%22%7D&note=x%2By";
    let envelope = Envelope::parse(BodyKind::Form, body.as_bytes()).expect("parse");
    assert_eq!(envelope.app_id(), "a_b");
    assert_eq!(envelope.sign(), "AB+C");
    assert_eq!(envelope.content(), r#"{"body":"a b c中"}"#, "`+` is a space, %XX a UTF-8 byte");
    assert_eq!(envelope.field("note"), Some("x+y"));
    // Raw (unencoded) UTF-8 and empty segments are tolerated.
    let body = "app_id=1&&method=m&sign=s&content={\"body\":\"中\"}&";
    let envelope = Envelope::parse(BodyKind::Form, body.as_bytes()).expect("parse");
    assert_eq!(envelope.content(), r#"{"body":"中"}"#);
}

#[test]
fn php_escapes_inside_content_stay_as_received() {
    // What PHP's json_encode makes of the seed content: `\/` and `\uXXXX`, order_type a number.
    let php_content = r#"{"out_trade_no":"CQL201709061014480195818","body":"\u8fd9\u662f\u4eac\u4e1c","total_fee":"0.01","order_type":0,"notify_url":"http:\/\/cc.ngrok.cc\/test"}"#;
    let fields = base_with(&[("content", Some(php_content))]);
    let envelope = parse_form(&fields).expect("parse form");
    assert_eq!(envelope.content(), php_content);
    assert!(envelope.string_to_sign().contains(&format!("content={php_content}&")));

    // The same content as a string in a JSON body: decoded once, so the escapes inside remain.
    let body = serde_json::json!({
        "app_id": "2016072300007148", "method": "m", "version": "1.0", "sign": "s", "content": php_content,
    })
    .to_string();
    assert!(body.contains(r#"\\u8fd9"#) && body.contains(r#"\\/"#), "the body escapes the escapes: {body}");
    let envelope = parse_json(&body).expect("parse json");
    assert_eq!(envelope.content(), php_content);
    assert_eq!(
        envelope.string_to_sign(),
        format!("app_id=2016072300007148&content={php_content}&method=m&version=1.0")
    );
}

// ---------------------------------------------------------------------------------------------
// Envelope: JSON bodies

/// Seed 003's request example, with the comma it lacks after `"version":"1.0"` put back.
const SEED_JSON_BODY: &str = "{\n\"method\":\"fshows.liquidation.jdpay.uniorder\",\n\"app_id\":\"2016072300007148\",\n\"sign\":\"hq1j1tBCQkJCecJbU1I+9VyRDPyjzBjT6ok7S6QWT72ebJ7nNmTJFy5GLh0Zw9lyciT/1Qd7dDeFRVwqxHW10xzv8qBqjGNq4S1TH1sEukMBk7emkD78javGS0m+6KIEtK1K5gePgqy3HRpxqrD58jqZIOu5FIxY5m5a93CJC/o=\",\n\"version\":\"1.0\",\n\"content\":{\n\"out_trade_no\":\"CQL201709061014480195818\" ,\n\"sub_merchant_id\":\"20170720205421027980\",\n\"body\":\"这是京东支付订单\",\n\"total_fee\":\"0.01\",\n\"order_type\":\"0\",\n\"notify_url\":\"http://cc.ngrok.cc/test\"\n}\n}";

#[test]
fn seed_003_string_to_sign_is_exact() {
    let envelope = parse_json(SEED_JSON_BODY).expect("parse");
    let content = "{\n\"out_trade_no\":\"CQL201709061014480195818\" ,\n\"sub_merchant_id\":\"20170720205421027980\",\n\"body\":\"这是京东支付订单\",\n\"total_fee\":\"0.01\",\n\"order_type\":\"0\",\n\"notify_url\":\"http://cc.ngrok.cc/test\"\n}";
    assert_eq!(envelope.content(), content, "the object's bytes, newlines and the space before a comma kept");
    assert_eq!(
        envelope.string_to_sign(),
        format!("app_id=2016072300007148&content={content}&method=fshows.liquidation.jdpay.uniorder&version=1.0")
    );
    assert_eq!(envelope.sign(), SEED_SIGN);
}

#[test]
fn seed_003_example_verbatim_is_not_json() {
    // The seed's example misses a comma after "version":"1.0"; a real client never sends that.
    let verbatim = SEED_JSON_BODY.replacen("\"version\":\"1.0\",", "\"version\":\"1.0\"", 1);
    assert_eq!(parse_json(&verbatim).unwrap_err(), EnvelopeError::MalformedJson);
}

#[test]
fn content_object_keeps_odd_whitespace_byte_for_byte() {
    let content = "{ \"body\" :\t\"中文\\u4e2d\" ,\r\n  \"total_fee\":   0.01 , \"nested\": { \"a\" : [ 1 ,2 ] } }";
    let body = format!("  {{ \"app_id\" : \"7\" , \"content\" :   {content}   ,\"method\":\"m\",\"sign\":\"s\"}}  ");
    let envelope = parse_json(&body).expect("parse");
    assert_eq!(envelope.content(), content);
    assert_eq!(envelope.string_to_sign(), format!("app_id=7&content={content}&method=m"));
}

#[test]
fn content_as_string_in_a_json_body() {
    let body = r#"{"app_id":"7","method":"m","sign":"s","version":"1.0","content":"{\"body\":\"a\\\"b\",\"total_fee\":\"0.01\"}"}"#;
    let envelope = parse_json(body).expect("parse");
    assert_eq!(envelope.content(), r#"{"body":"a\"b","total_fee":"0.01"}"#);
    assert_eq!(
        envelope.string_to_sign(),
        r#"app_id=7&content={"body":"a\"b","total_fee":"0.01"}&method=m&version=1.0"#
    );
}

#[test]
fn non_string_values_enter_the_string_to_sign_as_their_json_text() {
    let body = r#"{"app_id":"7","method":"m","sign":"s","content":{},"timestamp":1504664088000,"version":1.0,"debug":false,"format":"JSON","extra":[1, 2]}"#;
    let envelope = parse_json(body).expect("parse");
    assert_eq!(envelope.version(), Some("1.0"));
    assert_eq!(envelope.field("timestamp"), Some("1504664088000"));
    assert_eq!(
        envelope.string_to_sign(),
        "app_id=7&content={}&debug=false&extra=[1, 2]&format=JSON&method=m&timestamp=1504664088000&version=1.0"
    );
}

#[test]
fn keys_sort_in_byte_order_and_unknown_fields_are_signed() {
    let fields =
        base_with(&[("charset", Some("utf-8")), ("Zeta", Some("z")), ("app_id2", Some("x")), ("_x", Some("u"))]);
    let envelope = parse_form(&fields).expect("parse");
    let keys: Vec<&str> = envelope.string_to_sign().split('&').map(|pair| pair.split('=').next().unwrap()).collect();
    assert_eq!(keys, ["Zeta", "_x", "app_id", "app_id2", "charset", "content", "method", "version"]);
}

#[test]
fn empty_values_and_nulls_are_dropped() {
    let fields = base_with(&[("version", Some("")), ("format", Some("")), ("charset", Some("utf-8"))]);
    let envelope = parse_form(&fields).expect("parse");
    assert_eq!(envelope.version(), None);
    assert_eq!(
        envelope.string_to_sign(),
        format!(
            "app_id=2016072300007148&charset=utf-8&content={SEED_CONTENT}&method=fshows.liquidation.jdpay.uniorder"
        )
    );

    let body = r#"{"app_id":"7","method":"m","sign":"s","content":"{}","version":null,"format":"","sign_type":""}"#;
    let envelope = parse_json(body).expect("parse");
    assert_eq!(envelope.version(), None);
    assert_eq!(envelope.sign_type(), None);
    assert_eq!(envelope.string_to_sign(), "app_id=7&content={}&method=m");
}

#[test]
fn version_is_optional() {
    let envelope = parse_form(&base_with(&[("version", None)])).expect("parse");
    assert_eq!(envelope.version(), None);
    assert!(!envelope.string_to_sign().contains("version"));
}

#[test]
fn sign_and_sign_type_are_not_signed() {
    let fields = base_with(&[("sign_type", Some("RSA2"))]);
    let envelope = parse_form(&fields).expect("parse");
    assert_eq!(envelope.sign_type(), Some("RSA2"));
    assert!(!envelope.string_to_sign().contains("sign="));
    assert!(!envelope.string_to_sign().contains("sign_type"));
    assert!(!envelope.string_to_sign().contains("RSA2"));
    assert_eq!(envelope.string_to_sign(), parse_form(&BASE).unwrap().string_to_sign());
}

// ---------------------------------------------------------------------------------------------
// Envelope: refusals

#[test]
fn duplicate_fields_are_refused() {
    let mut fields = BASE.to_vec();
    fields.push(("method", "fshows.liquidation.pay.refund"));
    assert_eq!(parse_form(&fields).unwrap_err(), EnvelopeError::DuplicateField("method".into()));
    // Even with an identical value, and even when the second spelling is percent-encoded.
    let body = "app_id=1&method=m&sign=s&content=%7B%7D&app%5Fid=1";
    assert_eq!(
        Envelope::parse(BodyKind::Form, body.as_bytes()).unwrap_err(),
        EnvelopeError::DuplicateField("app_id".into())
    );

    let body = r#"{"app_id":"1","method":"m","sign":"s","content":{},"m\u0065thod":"n"}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::DuplicateField("method".into()));
    let body = r#"{"app_id":"1","method":"m","sign":"s","content":{},"sign":"s"}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::DuplicateField("sign".into()));
}

#[test]
fn missing_or_empty_required_fields_are_refused() {
    for name in ["app_id", "method", "content", "sign"] {
        let missing: &'static str = name;
        assert_eq!(parse_form(&base_with(&[(missing, None)])).unwrap_err(), EnvelopeError::MissingField(missing));
        assert_eq!(parse_form(&base_with(&[(missing, Some(""))])).unwrap_err(), EnvelopeError::MissingField(missing));
    }
    let body = r#"{"app_id":"1","method":"m","sign":null,"content":{}}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::MissingField("sign"));
    let body = r#"{"app_id":"1","method":"m","sign":"s","content":null}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::MissingField("content"));
    assert_eq!(parse_json("{}").unwrap_err(), EnvelopeError::MissingField("app_id"));
    assert_eq!(Envelope::parse(BodyKind::Form, b"").unwrap_err(), EnvelopeError::MissingField("app_id"));
}

#[test]
fn required_text_fields_must_be_strings() {
    let body = r#"{"app_id":2016072300007148,"method":"m","sign":"s","content":{}}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::NotAString("app_id"));
    let body = r#"{"app_id":"1","method":["m"],"sign":"s","content":{}}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::NotAString("method"));
    let body = r#"{"app_id":"1","method":"m","sign":{"a":1},"content":{}}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::NotAString("sign"));
    let body = r#"{"app_id":"1","method":"m","sign":"s","content":{},"sign_type":2}"#;
    assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::NotAString("sign_type"));
}

#[test]
fn content_must_be_a_json_object() {
    for content in ["hello", "[1,2]", "\"{}\"", "{\"a\":1", "{\"a\":1} x", "1"] {
        let fields = base_with(&[("content", Some(content))]);
        assert_eq!(parse_form(&fields).unwrap_err(), EnvelopeError::ContentNotJson, "{content}");
    }
    for content in ["5", "true", "[{}]", "\"not json\"", "\"[1]\""] {
        let body = format!(r#"{{"app_id":"1","method":"m","sign":"s","content":{content}}}"#);
        assert_eq!(parse_json(&body).unwrap_err(), EnvelopeError::ContentNotJson, "{content}");
    }
    // Whitespace around the object inside a content string is part of the text, and allowed.
    let fields = base_with(&[("content", Some(" {\"a\":1}\n"))]);
    assert_eq!(parse_form(&fields).expect("parse").content(), " {\"a\":1}\n");
}

#[test]
fn size_limit_is_64_kib() {
    let padding_for = |target: usize| {
        let without = form(&base_with(&[("padding", Some("x"))])).len();
        "x".repeat(target - without + 1)
    };
    let padding = padding_for(MAX_BODY_BYTES);
    let mut fields = BASE.to_vec();
    fields.push(("padding", &padding));
    let body = form(&fields);
    assert_eq!(body.len(), MAX_BODY_BYTES);
    assert!(Envelope::parse(BodyKind::Form, &body).is_ok(), "exactly 64 KiB is accepted");
    let mut body = body;
    body.push(b'x');
    assert_eq!(Envelope::parse(BodyKind::Form, &body).unwrap_err(), EnvelopeError::TooLarge);
    assert_eq!(Envelope::parse(BodyKind::Json, &vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err(), EnvelopeError::TooLarge);
}

#[test]
fn non_utf8_is_refused() {
    assert_eq!(Envelope::parse(BodyKind::Form, b"app_id=\xff&method=m").unwrap_err(), EnvelopeError::NotUtf8);
    assert_eq!(Envelope::parse(BodyKind::Form, b"app_id=%FF&method=m").unwrap_err(), EnvelopeError::NotUtf8);
    // GBK for 中, percent-encoded, as a client configured for GBK would send it.
    assert_eq!(Envelope::parse(BodyKind::Form, b"app_id=1&body=%D6%D0").unwrap_err(), EnvelopeError::NotUtf8);
    assert_eq!(Envelope::parse(BodyKind::Json, b"{\"app_id\":\"\xe4\xb8\"}").unwrap_err(), EnvelopeError::NotUtf8);
}

#[test]
fn garbage_is_refused_with_the_right_error() {
    for body in ["", "[]", "null", "\"x\"", "{", "{\"a\":}", "{\"a\":1,}", "\u{feff}{}", "{\"\":\"x\"}", "{} {}"] {
        assert_eq!(parse_json(body).unwrap_err(), EnvelopeError::MalformedJson, "{body:?}");
    }
    for body in ["app_id=%zz", "app_id=%4", "app_id=%", "=x", "%41%=1"] {
        assert_eq!(
            Envelope::parse(BodyKind::Form, body.as_bytes()).unwrap_err(),
            EnvelopeError::MalformedForm,
            "{body:?}"
        );
    }
    // A JSON body posted as a form is one field named after the whole JSON text, with no value.
    assert_eq!(
        Envelope::parse(BodyKind::Form, SEED_JSON_BODY.as_bytes()).unwrap_err(),
        EnvelopeError::MissingField("app_id")
    );
}

#[test]
fn content_types() {
    use BodyKind::{Form, Json};
    assert_eq!(BodyKind::from_content_type("application/x-www-form-urlencoded"), Ok(Form));
    assert_eq!(BodyKind::from_content_type("application/x-www-form-urlencoded; charset=UTF-8"), Ok(Form));
    assert_eq!(BodyKind::from_content_type("Application/JSON;charset=utf-8"), Ok(Json));
    assert_eq!(BodyKind::from_content_type(" application/json "), Ok(Json));
    for other in ["", "text/plain", "multipart/form-data; boundary=x", "application/jsonp", "json"] {
        assert_eq!(BodyKind::from_content_type(other), Err(EnvelopeError::UnsupportedContentType), "{other}");
    }
}

#[test]
fn debug_output_leaves_the_content_out() {
    let envelope = parse_form(&BASE).unwrap();
    let debug = format!("{envelope:?}");
    assert!(debug.contains("2016072300007148"));
    assert!(!debug.contains("20170720205421027980"), "{debug}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Envelope::parse(BodyKind::Form, &body);
        let _ = Envelope::parse(BodyKind::Json, &body);
        if let Ok(text) = std::str::from_utf8(&body) {
            let _ = reply::reply_string_to_sign(text);
        }
    }

    #[test]
    fn envelope_like_text_never_panics(body in r#"[{}\[\]":,a-z_=&%+0-9A-F \\u]{0,300}"#) {
        let _ = Envelope::parse(BodyKind::Form, body.as_bytes());
        let _ = Envelope::parse(BodyKind::Json, body.as_bytes());
        let _ = reply::reply_string_to_sign(&body);
    }

    /// Whatever a standard encoder produces, the parser decodes back to the same values, and the
    /// string to sign is the sorted, non-empty fields.
    #[test]
    fn form_encoding_round_trips(
        extra in proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..6),
        body in "\\PC{0,40}",
    ) {
        let content = serde_json::json!({ "body": body }).to_string();
        let mut fields: Vec<(String, String)> = extra.into_iter()
            .filter(|(key, _)| !["app_id", "method", "sign", "content", "version", "sign_type"].contains(&key.as_str()))
            .collect();
        fields.extend([("app_id", "1"), ("method", "m"), ("sign", "a+b/c="), ("content", content.as_str())]
            .map(|(key, value)| (key.to_owned(), value.to_owned())));
        let encoded = serde_urlencoded::to_string(&fields).unwrap();
        let envelope = Envelope::parse(BodyKind::Form, encoded.as_bytes()).unwrap();
        prop_assert_eq!(envelope.content(), content.as_str());
        prop_assert_eq!(envelope.sign(), "a+b/c=");
        let mut expected: Vec<(String, String)> = fields.into_iter().filter(|(key, value)| key != "sign" && !value.is_empty()).collect();
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(key, value)| format!("{key}={value}")).collect();
        prop_assert_eq!(envelope.string_to_sign(), expected.join("&"));
    }
}

// ---------------------------------------------------------------------------------------------
// The string to sign

#[test]
fn string_to_sign_construction() {
    assert_eq!(signature::string_to_sign([]), "");
    assert_eq!(
        signature::string_to_sign([
            ("b", "2"),
            ("sign", "x"),
            ("a", "1"),
            ("c", ""),
            ("sign_type", "RSA2"),
            ("B", " ")
        ]),
        "B= &a=1&b=2",
        "byte order (upper case first), empty dropped, whitespace kept, sign and sign_type left out"
    );
}

// ---------------------------------------------------------------------------------------------
// Signatures

#[test]
fn sign_and_verify_both_digests() {
    let keys = keys();
    let signer = Signer::new(keys.first.clone()).unwrap();
    let public = [keys.first.to_public_key()];
    let message = parse_form(&BASE).unwrap().string_to_sign().to_owned();
    for sign_type in SignType::ALL {
        let signature = signer.sign(sign_type, message.as_bytes());
        assert!(signature::verify(sign_type, &public, message.as_bytes(), &signature), "{sign_type:?}");
        assert_eq!(signature, signer.sign(sign_type, message.as_bytes()), "PKCS#1 v1.5 is deterministic");
        assert_eq!(STANDARD.decode(&signature).unwrap().len(), 256);
    }
}

#[test]
fn bad_signatures_are_refused() {
    let keys = keys();
    let signer = Signer::new(keys.first.clone()).unwrap();
    let public = [keys.first.to_public_key()];
    let message = b"app_id=1&content={}&method=m";
    let good = signer.sign(SignType::Rsa2, message);

    assert!(!signature::verify(SignType::Rsa2, &public, b"app_id=1&content={}&method=n", &good), "other message");
    let mut bytes = STANDARD.decode(&good).unwrap();
    bytes[100] ^= 1;
    assert!(!signature::verify(SignType::Rsa2, &public, message, &STANDARD.encode(&bytes)), "flipped bit");
    assert!(!signature::verify(SignType::Rsa2, &public, message, &STANDARD.encode(&bytes[..255])), "too short");
    let mut longer = STANDARD.decode(&good).unwrap();
    longer.push(0);
    assert!(!signature::verify(SignType::Rsa2, &public, message, &STANDARD.encode(&longer)), "too long");
    for garbage in ["", "!!!!", "====", "a", &"A".repeat(100_000), "é", &good[1..]] {
        assert!(!signature::verify(SignType::Rsa2, &public, message, garbage), "{garbage:.20}");
    }
    assert!(!signature::verify(SignType::Rsa2, &[], message, &good), "no keys");
    assert!(
        SEED_SIGN.len() < 256 && !signature::verify(SignType::Rsa2, &public, message, SEED_SIGN),
        "seed's 1024-bit sign"
    );
}

#[test]
fn wrong_key_is_refused() {
    let keys = keys();
    let signer = Signer::new(keys.first.clone()).unwrap();
    let other = [keys.second.to_public_key()];
    for sign_type in SignType::ALL {
        let signature = signer.sign(sign_type, b"message");
        assert!(!signature::verify(sign_type, &other, b"message", &signature), "{sign_type:?}");
    }
}

#[test]
fn sha1_and_sha256_do_not_stand_for_each_other() {
    let keys = keys();
    let signer = Signer::new(keys.first.clone()).unwrap();
    let public = [keys.first.to_public_key()];
    let rsa2 = signer.sign(SignType::Rsa2, b"message");
    let rsa = signer.sign(SignType::Rsa, b"message");
    assert_ne!(rsa, rsa2);
    assert!(!signature::verify(SignType::Rsa, &public, b"message", &rsa2), "RSA2 signature checked as RSA");
    assert!(!signature::verify(SignType::Rsa2, &public, b"message", &rsa), "RSA signature checked as RSA2");
}

#[test]
fn either_of_two_keys_verifies() {
    let keys = keys();
    let current = keys.first.to_public_key();
    let previous = keys.second.to_public_key();
    let both = VerifyingKeys::new(current.clone(), Some(previous.clone()));
    assert_eq!(both.as_slice().len(), 2);
    let by_current = Signer::new(keys.first.clone()).unwrap().sign(SignType::Rsa2, b"m");
    let by_previous = Signer::new(keys.second.clone()).unwrap().sign(SignType::Rsa2, b"m");
    assert!(both.verify(SignType::Rsa2, b"m", &by_current));
    assert!(both.verify(SignType::Rsa2, b"m", &by_previous));
    assert!(!both.verify(SignType::Rsa2, b"n", &by_previous));
    let only_current = VerifyingKeys::new(current, None);
    assert!(only_current.verify(SignType::Rsa2, b"m", &by_current));
    assert!(!only_current.verify(SignType::Rsa2, b"m", &by_previous));
}

#[test]
fn lenient_base64_spellings_verify() {
    let keys = keys();
    let signer = Signer::new(keys.first.clone()).unwrap();
    let public = [keys.first.to_public_key()];
    // Find a message whose signature has padding and a `+`, to exercise both spellings.
    let (message, signature) = (0..200)
        .map(|n| format!("app_id=1&n={n}"))
        .map(|message| {
            let signature = signer.sign(SignType::Rsa2, message.as_bytes());
            (message, signature)
        })
        .find(|(_, signature)| signature.contains('+') && signature.ends_with('='))
        .expect("some signature has a + and padding");
    let unpadded = STANDARD_NO_PAD.encode(STANDARD.decode(&signature).unwrap());
    let spaced = signature.replace('+', " ");
    let wrapped = format!("{}\r\n{}\n", &signature[..76], &signature[76..]);
    for spelling in [&signature, &unpadded, &spaced, &wrapped] {
        assert!(signature::verify(SignType::Rsa2, &public, message.as_bytes(), spelling), "{spelling}");
    }
    // The careless-encoder case end to end: an unencoded `+` in a form body becomes a space.
    let body = format!("app_id=1&method=m&content=%7B%7D&sign={signature}");
    let envelope = Envelope::parse(BodyKind::Form, body.as_bytes()).unwrap();
    assert!(envelope.sign().contains(' '));
    let body_message = envelope.string_to_sign().as_bytes().to_vec();
    let body_signature = signer.sign(SignType::Rsa2, &body_message);
    let careless = format!("app_id=1&method=m&content=%7B%7D&sign={body_signature}");
    let envelope = Envelope::parse(BodyKind::Form, careless.as_bytes()).unwrap();
    assert!(signature::verify(SignType::Rsa2, &public, envelope.string_to_sign().as_bytes(), envelope.sign()));
}

#[test]
fn short_signing_keys_are_refused() {
    let small = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    assert_eq!(Signer::new(small).unwrap_err(), SignerError::KeyTooShort { bits: 1024 });
    let signer = Signer::new(keys().first.clone()).unwrap();
    assert_eq!(signer.public_key(), &keys().first.to_public_key());
    let debug = format!("{signer:?}");
    assert!(debug.contains("2048") && debug.len() < 60, "no key material in Debug: {debug}");
}

// ---------------------------------------------------------------------------------------------
// Replies

fn seed_return_value() -> Vec<(&'static str, ReplyValue)> {
    let rate = |text: &str| ReplyValue::rate(Rate::parse(text).unwrap());
    vec![
        ("qr_code", ReplyValue::text("https://h5pay.jd.com/code?c=63xrquzxctu14d")),
        ("trade_no", ReplyValue::text("2017090622140509534568101496")),
        ("total_fee", ReplyValue::amount(Amount::from_fen(1))),
        ("net_receipt_amount", ReplyValue::amount(Amount::from_fen(10_000_000_000))),
        ("bank_commission_rate", rate("0.0003")),
        ("bank_commission_fee", ReplyValue::amount(Amount::from_fen(0))),
        ("pay_platform_rate", rate("0.002")),
        ("pay_platform_fee", ReplyValue::Number(JsonNumber::parse("0.00").unwrap())),
        ("liquidator_commission_rate", rate("0.00100")),
        ("liquidator_commission_fee", ReplyValue::amount(Amount::from_fen(0))),
        ("notify_url", ReplyValue::text("http://cc.ngrok.cc/test")),
    ]
}

const SEED_RETURN_VALUE: &str = r#"{"qr_code":"https://h5pay.jd.com/code?c=63xrquzxctu14d","trade_no":"2017090622140509534568101496","total_fee":0.01,"net_receipt_amount":100000000.00,"bank_commission_rate":0.00030,"bank_commission_fee":0.00,"pay_platform_rate":0.00200,"pay_platform_fee":0.00,"liquidator_commission_rate":0.00100,"liquidator_commission_fee":0.00,"notify_url":"http://cc.ngrok.cc/test"}"#;

#[test]
fn success_reply_keeps_order_and_number_texts_and_is_signed() {
    let signer = Signer::new(keys().first.clone()).unwrap();
    let public = [keys().first.to_public_key()];
    let body = reply::success(&signer, SignType::Rsa2, &seed_return_value());
    let sign = signer.sign(SignType::Rsa2, format!("return_value={SEED_RETURN_VALUE}&success=true").as_bytes());
    assert_eq!(body, format!(r#"{{"success":true,"return_value":{SEED_RETURN_VALUE},"sign":"{sign}"}}"#));
    let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    assert_eq!(parsed["return_value"]["total_fee"], serde_json::json!(0.01));
    assert_eq!(reply::reply_string_to_sign(&body).unwrap(), format!("return_value={SEED_RETURN_VALUE}&success=true"));
    assert!(reply::verify_reply(SignType::Rsa2, &public, &body));
    assert!(!reply::verify_reply(SignType::Rsa, &public, &body));
    let tampered = body.replace("0.01", "0.02");
    assert!(!reply::verify_reply(SignType::Rsa2, &public, &tampered));
}

#[test]
fn failure_reply_is_signed_the_same_way() {
    let signer = Signer::new(keys().first.clone()).unwrap();
    let public = [keys().first.to_public_key()];
    let body = reply::failure(&signer, SignType::Rsa, "-101", "无效参数 >> total_fee");
    let message = "error_code=-101&error_message=无效参数 >> total_fee&success=false";
    let sign = signer.sign(SignType::Rsa, message.as_bytes());
    assert_eq!(
        body,
        format!(r#"{{"success":false,"error_code":"-101","error_message":"无效参数 >> total_fee","sign":"{sign}"}}"#)
    );
    assert_eq!(reply::reply_string_to_sign(&body).unwrap(), message);
    assert!(reply::verify_reply(SignType::Rsa, &public, &body));
}

#[test]
fn reply_strings_are_escaped_as_json() {
    let signer = Signer::new(keys().first.clone()).unwrap();
    let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} 中文 / \u{2028} end";
    let body = reply::failure(&signer, SignType::Rsa2, "-103", nasty);
    let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    assert_eq!(parsed["error_message"], nasty);
    assert!(body.contains("中文 /"), "non-ASCII and / are not escaped");
    assert!(reply::reply_string_to_sign(&body).unwrap().contains(nasty), "the decoded text is signed");

    let nested = [(
        "refund",
        ReplyValue::Object(vec![
            ("a\"b".into(), ReplyValue::Bool(true)),
            ("none".into(), ReplyValue::Null),
            ("n".into(), ReplyValue::Number(JsonNumber::from(-42))),
            ("deep".into(), ReplyValue::Object(vec![("x".into(), ReplyValue::text("y"))])),
        ]),
    )];
    let body = reply::success(&signer, SignType::Rsa2, &nested);
    let expected = r#"{"refund":{"a\"b":true,"none":null,"n":-42,"deep":{"x":"y"}}}"#;
    assert!(body.starts_with(&format!(r#"{{"success":true,"return_value":{expected},"sign":""#)), "{body}");
    serde_json::from_str::<serde_json::Value>(&body).expect("valid JSON");
}

#[test]
fn json_numbers_are_validated() {
    for good in ["0", "-0", "0.01", "100000000.00", "0.00030", "-1.5", "1e5", "1E+5", "2.5e-3", "123"] {
        assert_eq!(JsonNumber::parse(good).map(|number| number.to_string()), Ok(good.to_owned()), "{good}");
    }
    for bad in
        ["", "-", "01", ".5", "5.", "+1", "1e", "1e+", "NaN", "Infinity", "0x10", " 1", "1 ", "1.2.3", "--1", "1,5"]
    {
        assert!(JsonNumber::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(JsonNumber::from(Amount::from_fen(-1)).as_str(), "-0.01");
}

#[test]
fn reply_string_to_sign_takes_the_seed_example_as_it_stands() {
    // Seed 003's success example, whitespace and all: the object's text is signed as it stands.
    let body = "{ \"return_value\":{\n\"qr_code\":\"https://h5pay.jd.com/code?c=63xrquzxctu14d\",\n\"total_fee\":0.01\n},\"success\":true\n}";
    assert_eq!(
        reply::reply_string_to_sign(body).unwrap(),
        "return_value={\n\"qr_code\":\"https://h5pay.jd.com/code?c=63xrquzxctu14d\",\n\"total_fee\":0.01\n}&success=true"
    );
    let body = "{\n\"error_code\": \"-101\",\n\"error_message\": \"无效参数\",\n\"success\": false\n}";
    assert_eq!(reply::reply_string_to_sign(body).unwrap(), "error_code=-101&error_message=无效参数&success=false");
    assert_eq!(reply::reply_string_to_sign("[]").unwrap_err(), EnvelopeError::MalformedJson);
    assert_eq!(reply::reply_string_to_sign(r#"{"a":1,"a":2}"#).unwrap_err(), EnvelopeError::DuplicateField("a".into()));
}

// ---------------------------------------------------------------------------------------------
// Interoperability with the openssl CLI

const OPENSSL: &str = "/usr/bin/openssl";

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gateway-wire-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    let output = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|error| {
        panic!("cannot run {program} ({error}): the interoperability tests need the openssl CLI at {OPENSSL}")
    });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A client key made by openssl, as an integrator would make it, loaded into the rsa crate.
struct OpensslKey {
    dir: TempDir,
    private: RsaPrivateKey,
    public: RsaPublicKey,
}

fn openssl_key() -> OpensslKey {
    let dir = TempDir::new();
    run(OPENSSL, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"], &dir.0);
    run(OPENSSL, &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"], &dir.0);
    let private = RsaPrivateKey::from_pkcs8_pem(&std::fs::read_to_string(dir.path("key.pem")).unwrap()).unwrap();
    let public = RsaPublicKey::from_public_key_pem(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap();
    OpensslKey { dir, private, public }
}

fn openssl_digest(sign_type: SignType) -> &'static str {
    match sign_type {
        SignType::Rsa2 => "-sha256",
        SignType::Rsa => "-sha1",
    }
}

/// `openssl dgst -verify`: true on "Verified OK".
fn openssl_verifies(key: &OpensslKey, sign_type: SignType, message: &str, signature_base64: &str) -> bool {
    std::fs::write(key.dir.path("reply.txt"), message).unwrap();
    std::fs::write(key.dir.path("reply.sig"), STANDARD.decode(signature_base64).unwrap()).unwrap();
    let output = Command::new(OPENSSL)
        .args(["dgst", openssl_digest(sign_type), "-verify", "pub.pem", "-signature", "reply.sig", "reply.txt"])
        .current_dir(&key.dir.0)
        .output()
        .expect("run openssl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    output.status.success() && stdout.trim() == "Verified OK"
}

#[test]
fn a_request_signed_with_openssl_alone_verifies() {
    let key = openssl_key();
    for sign_type in SignType::ALL {
        // The client: write the string to sign, sign it with openssl, Base64 it, send a form body.
        let message = format!(
            "app_id=2016072300007148&content={SEED_CONTENT}&method=fshows.liquidation.jdpay.uniorder&version=1.0"
        );
        std::fs::write(key.dir.path("request.txt"), &message).unwrap();
        let pipeline = format!("{OPENSSL} dgst {} -sign key.pem request.txt | base64 -w0", openssl_digest(sign_type));
        let output = run("sh", &["-c", &pipeline], &key.dir.0);
        let sign = String::from_utf8(output.stdout).unwrap();
        let body = form(&base_with(&[("sign", Some(&sign))]));

        // The gateway: parse, rebuild the string to sign, verify.
        let envelope = Envelope::parse(BodyKind::Form, &body).unwrap();
        assert_eq!(envelope.string_to_sign(), message);
        assert!(signature::verify(sign_type, std::slice::from_ref(&key.public), message.as_bytes(), envelope.sign()));
        let other = if sign_type == SignType::Rsa2 { SignType::Rsa } else { SignType::Rsa2 };
        assert!(!signature::verify(other, std::slice::from_ref(&key.public), message.as_bytes(), envelope.sign()));
    }
}

#[test]
fn a_json_request_with_a_content_object_signed_with_openssl_verifies() {
    let key = openssl_key();
    let envelope = parse_json(SEED_JSON_BODY).unwrap();
    std::fs::write(key.dir.path("request.txt"), envelope.string_to_sign()).unwrap();
    run(OPENSSL, &["dgst", "-sha256", "-sign", "key.pem", "-out", "request.sig", "request.txt"], &key.dir.0);
    let sign = STANDARD.encode(std::fs::read(key.dir.path("request.sig")).unwrap());
    let body = SEED_JSON_BODY.replace(SEED_SIGN, &sign);
    let envelope = parse_json(&body).unwrap();
    assert!(signature::verify(
        SignType::Rsa2,
        std::slice::from_ref(&key.public),
        envelope.string_to_sign().as_bytes(),
        envelope.sign()
    ));
    // One space less inside the content object is another message.
    let squeezed = body.replacen("\" ,", "\",", 1);
    let envelope = parse_json(&squeezed).unwrap();
    assert!(!signature::verify(
        SignType::Rsa2,
        std::slice::from_ref(&key.public),
        envelope.string_to_sign().as_bytes(),
        envelope.sign()
    ));
}

#[test]
fn signer_signatures_verify_with_openssl_and_equal_its_own() {
    let key = openssl_key();
    let signer = Signer::new(key.private.clone()).unwrap();
    let message = "app_id=1&content={\"body\":\"中文\"}&method=m";
    std::fs::write(key.dir.path("message.txt"), message).unwrap();
    for sign_type in SignType::ALL {
        let signature = signer.sign(sign_type, message.as_bytes());
        assert!(openssl_verifies(&key, sign_type, message, &signature), "{sign_type:?}");
        let output = run(OPENSSL, &["dgst", openssl_digest(sign_type), "-sign", "key.pem", "message.txt"], &key.dir.0);
        assert_eq!(STANDARD.decode(&signature).unwrap(), output.stdout, "same bytes as openssl {sign_type:?}");
        let other = if sign_type == SignType::Rsa2 { SignType::Rsa } else { SignType::Rsa2 };
        assert!(!openssl_verifies(&key, other, message, &signature), "openssl refuses the wrong digest");
    }
}

#[test]
fn replies_verify_with_openssl() {
    let key = openssl_key();
    let signer = Signer::new(key.private.clone()).unwrap();
    for sign_type in SignType::ALL {
        let body = reply::success(&signer, sign_type, &seed_return_value());
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let sign = parsed["sign"].as_str().unwrap();
        let message = reply::reply_string_to_sign(&body).unwrap();
        assert!(openssl_verifies(&key, sign_type, &message, sign), "success {sign_type:?}");
        assert!(!openssl_verifies(&key, sign_type, &message.replace("0.01", "0.02"), sign));

        let body = reply::failure(&signer, sign_type, "-101", "无效参数 >> total_fee");
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let message = reply::reply_string_to_sign(&body).unwrap();
        assert!(openssl_verifies(&key, sign_type, &message, parsed["sign"].as_str().unwrap()), "failure {sign_type:?}");
    }
}
