//! The signed reply bodies of SPEC §5:
//! `{"success":true,"return_value":{…},"sign":"…"}` and
//! `{"success":false,"error_code":"-101","error_message":"无效参数 >> total_fee","sign":"…"}`.
//!
//! The body text is written here, by hand, because the string to sign covers `return_value` as the
//! JSON text that stands in the body: the object is encoded once and that one text is both sent and
//! signed. Writing it ourselves also keeps the field order of seed 003 and lets amounts be the JSON
//! numbers `0.01` and `100000000.00` and rates `0.00030` — which serde_json would only do with
//! workspace-wide features (`preserve_order`, `arbitrary_precision`).
//!
//! Failures are signed too, the same way (fshows signs only successes): it costs one signature, and
//! lets a client tell the platform's refusal from a proxy's or an attacker's. Clients that verify
//! only successes are not bothered by the extra field.
use std::fmt::{self, Write};

use domain::{Amount, Rate};
use rsa::RsaPublicKey;

use crate::envelope::{EnvelopeError, parse_json_object};
use crate::signature::{self, SignType, Signer};

/// A value in a reply. Objects keep the order they are given in.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReplyValue {
    Text(String),
    Number(JsonNumber),
    Bool(bool),
    Null,
    Object(Vec<(String, ReplyValue)>),
}

impl ReplyValue {
    pub fn text(text: impl Into<String>) -> ReplyValue {
        ReplyValue::Text(text.into())
    }

    /// Yuan with exactly two decimals, as a JSON number: `0.01`.
    pub fn amount(amount: Amount) -> ReplyValue {
        ReplyValue::Number(amount.into())
    }

    /// A rate with exactly five decimals, as a JSON number: `0.00030`.
    pub fn rate(rate: Rate) -> ReplyValue {
        ReplyValue::Number(rate.into())
    }
}

/// The text of a JSON number, emitted verbatim, so `0.00030` keeps its zeros. Only a text that
/// matches the JSON number grammar can become one, so a reply is always valid JSON.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct JsonNumber(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("not a JSON number")]
pub struct NotAJsonNumber;

impl JsonNumber {
    pub fn parse(text: &str) -> Result<JsonNumber, NotAJsonNumber> {
        if is_json_number(text.as_bytes()) { Ok(JsonNumber(text.to_owned())) } else { Err(NotAJsonNumber) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Amount> for JsonNumber {
    fn from(amount: Amount) -> JsonNumber {
        // "-0.01" / "123.40": always a JSON number.
        JsonNumber(amount.to_yuan_string())
    }
}

impl From<Rate> for JsonNumber {
    fn from(rate: Rate) -> JsonNumber {
        // "0.00030": always a JSON number.
        JsonNumber(rate.to_string())
    }
}

impl From<i64> for JsonNumber {
    fn from(number: i64) -> JsonNumber {
        JsonNumber(number.to_string())
    }
}

impl fmt::Display for JsonNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &[u8]) -> bool {
    fn digits(text: &[u8]) -> usize {
        text.iter().take_while(|byte| byte.is_ascii_digit()).count()
    }
    let mut rest = text.strip_prefix(b"-").unwrap_or(text);
    match rest.first() {
        Some(b'0') => rest = &rest[1..],
        Some(b'1'..=b'9') => rest = &rest[digits(rest)..],
        _ => return false,
    }
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = digits(fraction);
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent.strip_prefix(b"+").or_else(|| exponent.strip_prefix(b"-")).unwrap_or(exponent);
        let count = digits(exponent);
        if count == 0 {
            return false;
        }
        rest = &exponent[count..];
    }
    rest.is_empty()
}

/// `{"success":true,"return_value":{…},"sign":"…"}`, signed with the platform key using the calling
/// app's sign type over `return_value=<the object's text>&success=true`.
pub fn success(signer: &Signer, sign_type: SignType, return_value: &[(&str, ReplyValue)]) -> String {
    let mut object = String::new();
    write_object(&mut object, return_value.iter().map(|(key, value)| (*key, value)));
    let sign =
        signer.sign(sign_type, signature::string_to_sign([("success", "true"), ("return_value", &object)]).as_bytes());
    let mut body = String::with_capacity(object.len() + sign.len() + 48);
    body.push_str(r#"{"success":true,"return_value":"#);
    body.push_str(&object);
    body.push_str(r#","sign":"#);
    write_string(&mut body, &sign);
    body.push('}');
    body
}

/// `{"success":false,"error_code":"-101","error_message":"…","sign":"…"}`, signed like a success
/// over `error_code=…&error_message=…&success=false` (the message decoded, as always for strings).
///
/// When the app is unknown (or the envelope unreadable) there is no app sign type to follow; the
/// caller then passes RSA2, the default.
pub fn failure(signer: &Signer, sign_type: SignType, error_code: &str, error_message: &str) -> String {
    let message =
        signature::string_to_sign([("success", "false"), ("error_code", error_code), ("error_message", error_message)]);
    let sign = signer.sign(sign_type, message.as_bytes());
    let mut body = String::with_capacity(error_message.len() + sign.len() + 80);
    body.push_str(r#"{"success":false,"error_code":"#);
    write_string(&mut body, error_code);
    body.push_str(r#","error_message":"#);
    write_string(&mut body, error_message);
    body.push_str(r#","sign":"#);
    write_string(&mut body, &sign);
    body.push('}');
    body
}

/// For clients: the string to sign of a reply body — every top-level field except `sign` (and
/// `sign_type`), strings decoded, every other value as its JSON text in the body, empty values and
/// `null` dropped, sorted by key.
pub fn reply_string_to_sign(body: &str) -> Result<String, EnvelopeError> {
    let fields = parse_json_object(body)?;
    let texts: Vec<(&str, String)> =
        fields.iter().filter_map(|field| Some((field.key.as_str(), field.signed_text()?))).collect();
    Ok(signature::string_to_sign(texts.iter().map(|(key, text)| (*key, text.as_str()))))
}

/// For clients: true if `body` carries a `sign` that one of `keys` (the platform's) made over the
/// body's string to sign.
pub fn verify_reply(sign_type: SignType, keys: &[RsaPublicKey], body: &str) -> bool {
    let Ok(fields) = parse_json_object(body) else {
        return false;
    };
    let Some(sign) = fields.iter().find(|field| field.key == "sign").and_then(|field| field.signed_text()) else {
        return false;
    };
    let Ok(message) = reply_string_to_sign(body) else {
        return false;
    };
    signature::verify(sign_type, keys, message.as_bytes(), &sign)
}

fn write_object<'a>(out: &mut String, fields: impl Iterator<Item = (&'a str, &'a ReplyValue)>) {
    out.push('{');
    for (index, (key, value)) in fields.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &ReplyValue) {
    match value {
        ReplyValue::Text(text) => write_string(out, text),
        ReplyValue::Number(number) => out.push_str(number.as_str()),
        ReplyValue::Bool(true) => out.push_str("true"),
        ReplyValue::Bool(false) => out.push_str("false"),
        ReplyValue::Null => out.push_str("null"),
        ReplyValue::Object(fields) => write_object(out, fields.iter().map(|(key, value)| (key.as_str(), value))),
    }
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, all
/// else (Chinese text included) as UTF-8, unescaped.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            control if control < '\u{20}' => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}
