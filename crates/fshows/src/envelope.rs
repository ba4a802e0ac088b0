//! The request envelope of SPEC §5: `app_id`, `method`, `version`, `content`, `sign` (and the
//! optional `sign_type`), sent form-encoded or as JSON, UTF-8, at most 64 KiB.
//!
//! Parsing keeps every top-level field exactly as the client signed it, so the string to sign is
//! rebuilt from the bytes received and never from a re-serialisation: a string's decoded value, and
//! for any other JSON value (a `content` object, a number) its text byte for byte as it stands in
//! the body, whitespace included. Nothing here knows about methods or business fields; `content` is
//! only checked to be a JSON object.
//!
//! Decisions the protocol leaves open, and why:
//! - Empty values and JSON `null` count as absent: both are dropped from the string to sign, as
//!   every fshows and Alipay-style SDK does, so a required field that is empty is missing.
//! - A field given twice is refused, even with the same value: the string to sign would otherwise
//!   depend on which of the two the parser picked.
//! - Form bodies are decoded strictly: a `%` not followed by two hex digits, an empty field name or
//!   percent-escapes that do not decode to UTF-8 are refused rather than passed through or
//!   replaced, because the signature covers the decoded text and a lenient decoder would make it
//!   ambiguous.
use std::{collections::HashSet, fmt};

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::signature;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the body is encoded, from the request's `Content-Type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BodyKind {
    Form,
    Json,
}

impl BodyKind {
    /// `application/x-www-form-urlencoded` or `application/json`, case-insensitive; parameters such
    /// as `charset` are ignored because the body must be UTF-8 whatever they say.
    pub fn from_content_type(content_type: &str) -> Result<BodyKind, EnvelopeError> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Ok(BodyKind::Form)
        } else if media_type.eq_ignore_ascii_case("application/json") {
            Ok(BodyKind::Json)
        } else {
            Err(EnvelopeError::UnsupportedContentType)
        }
    }
}

/// Why a body is not an envelope. Each variant names one thing the client must fix.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("the content type must be application/x-www-form-urlencoded or application/json")]
    UnsupportedContentType,
    #[error("the body is not a valid form-encoded body")]
    MalformedForm,
    #[error("the body is not a JSON object")]
    MalformedJson,
    #[error("the field {0} is given more than once")]
    DuplicateField(String),
    #[error("the field {0} is missing or empty")]
    MissingField(&'static str),
    #[error("the field {0} must be a string")]
    NotAString(&'static str),
    #[error("the field content must be a JSON object")]
    ContentNotJson,
    #[error("the field {0} nests objects or arrays more than {max} deep", max = domain::json::MAX_DEPTH)]
    TooDeep(String),
    #[error("the field {0} contains a control character")]
    ControlCharacter(String),
}

/// A parsed request envelope. Holding one means the required fields are present and `content` is a
/// JSON object; the signature has not been checked yet.
#[derive(Clone)]
pub struct Envelope {
    app_id: String,
    method: String,
    version: Option<String>,
    sign: String,
    sign_type: Option<String>,
    content: String,
    /// Every top-level field with the text it contributes to the string to sign, in body order.
    fields: Vec<(String, String)>,
    string_to_sign: String,
}

impl Envelope {
    pub fn parse(kind: BodyKind, body: &[u8]) -> Result<Envelope, EnvelopeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(EnvelopeError::TooLarge);
        }
        let text = std::str::from_utf8(body).map_err(|_| EnvelopeError::NotUtf8)?;
        let fields = match kind {
            BodyKind::Form => parse_form(text)?,
            BodyKind::Json => parse_json_object(text)?.into_iter().map(JsonField::into_received).collect(),
        };
        Envelope::from_fields(fields)
    }

    fn from_fields(received: Vec<Received>) -> Result<Envelope, EnvelopeError> {
        let find = |name: &str| {
            received
                .iter()
                .find(|field| field.key == name)
                .filter(|field| field.text.as_deref().is_some_and(|text| !text.is_empty()))
        };
        let required_text = |name: &'static str| -> Result<String, EnvelopeError> {
            let field = find(name).ok_or(EnvelopeError::MissingField(name))?;
            match &field.text {
                Some(text) if field.is_string => Ok(text.clone()),
                _ => Err(EnvelopeError::NotAString(name)),
            }
        };
        let app_id = required_text("app_id")?;
        let method = required_text("method")?;
        let sign = required_text("sign")?;
        let content =
            find("content").and_then(|field| field.text.clone()).ok_or(EnvelopeError::MissingField("content"))?;
        if domain::json::nests_deeper_than(&content, domain::json::MAX_DEPTH) {
            return Err(EnvelopeError::TooDeep("content".into()));
        }
        if !is_json_object(&content) {
            return Err(EnvelopeError::ContentNotJson);
        }
        let sign_type = match find("sign_type") {
            None => None,
            Some(_) => Some(required_text("sign_type")?),
        };
        let version = find("version").and_then(|field| field.text.clone());
        // After the required fields are known to be there (a missing one is the clearer error),
        // before anything reads the values.
        received.iter().try_for_each(Received::check)?;
        let fields: Vec<(String, String)> =
            received.into_iter().filter_map(|field| Some((field.key, field.text?))).collect();
        let string_to_sign =
            signature::string_to_sign(fields.iter().map(|(key, value)| (key.as_str(), value.as_str())));
        Ok(Envelope { app_id, method, version, sign, sign_type, content, fields, string_to_sign })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn method(&self) -> &str {
        &self.method
    }

    /// `None` when the client sent no version (or an empty one); fshows clients send `1.0`.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The Base64 signature as received.
    pub fn sign(&self) -> &str {
        &self.sign
    }

    /// Sent by some clients; never part of the string to sign, so it must not decide anything a
    /// signature should protect: the app's registered sign type does.
    pub fn sign_type(&self) -> Option<&str> {
        self.sign_type.as_deref()
    }

    /// The exact content text: a string field's decoded value, or a JSON object's raw bytes.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// Any top-level field (`format`, `charset`, `timestamp`…) as it enters the string to sign.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every top-level field as it enters the string to sign, in body order (`sign` and
    /// `sign_type` included: the string to sign leaves them out).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }

    pub fn string_to_sign(&self) -> &str {
        &self.string_to_sign
    }
}

/// The content can carry bank account and ID numbers (onboarding methods): it never goes to a
/// debug log, only its length.
impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("app_id", &self.app_id)
            .field("method", &self.method)
            .field("version", &self.version)
            .field("sign_type", &self.sign_type)
            .field("content_bytes", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// `content` must be a JSON object (surrounding whitespace allowed, as any JSON parser allows it).
/// Checked without building it: the method that reads the content parses it for real.
fn is_json_object(text: &str) -> bool {
    struct AnyObject;
    impl<'de> Deserialize<'de> for AnyObject {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(AnyObjectVisitor)
        }
    }
    struct AnyObjectVisitor;
    impl<'de> Visitor<'de> for AnyObjectVisitor {
        type Value = AnyObject;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(AnyObject)
        }
    }
    serde_json::from_str::<AnyObject>(text).is_ok()
}

/// One top-level field as received: its text for the string to sign (`None` for JSON `null`, which
/// counts as absent) and whether it was a string (always, in a form body).
struct Received {
    key: String,
    text: Option<String>,
    is_string: bool,
}

impl Received {
    /// Refuses, naming the field, what nothing after parsing may have to handle: JSON nested
    /// deeper than [`domain::json::MAX_DEPTH`] (`content`, and any field sent as a JSON value) and
    /// control characters in a name or a text field (PostgreSQL text cannot even hold NUL).
    fn check(&self) -> Result<(), EnvelopeError> {
        let name = || self.key.escape_debug().to_string();
        if self.key.chars().any(char::is_control) {
            return Err(EnvelopeError::ControlCharacter(name()));
        }
        let Some(text) = &self.text else { return Ok(()) };
        let is_json = self.key == "content" || !self.is_string;
        if is_json && domain::json::nests_deeper_than(text, domain::json::MAX_DEPTH) {
            return Err(EnvelopeError::TooDeep(name()));
        }
        // JSON text may hold line breaks between its tokens; a control character anywhere else in
        // it makes it invalid JSON, which the content check refuses next.
        if !is_json && text.chars().any(char::is_control) {
            return Err(EnvelopeError::ControlCharacter(name()));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Form bodies

fn parse_form(body: &str) -> Result<Vec<Received>, EnvelopeError> {
    let mut fields = Vec::new();
    let mut seen = HashSet::new();
    for pair in body.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key)?;
        if key.is_empty() {
            return Err(EnvelopeError::MalformedForm);
        }
        if !seen.insert(key.clone()) {
            return Err(EnvelopeError::DuplicateField(key));
        }
        fields.push(Received { key, text: Some(percent_decode(value)?), is_string: true });
    }
    Ok(fields)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; the bytes must be
/// UTF-8.
fn percent_decode(text: &str) -> Result<String, EnvelopeError> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = input.next().and_then(hex_value);
                let low = input.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => bytes.push(high << 4 | low),
                    _ => return Err(EnvelopeError::MalformedForm),
                }
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| EnvelopeError::NotUtf8)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON bodies (requests here, replies in `reply`)

/// One top-level field of a JSON object, its value kept as the raw text of the body.
pub struct JsonField {
    pub key: String,
    pub raw: Box<RawValue>,
}

impl JsonField {
    /// The text this field contributes to a string to sign: a string's decoded value, `null` as
    /// absent, anything else its raw JSON text exactly as in the body.
    pub fn signed_text(&self) -> Option<String> {
        let raw = self.raw.get();
        if raw == "null" {
            return None;
        }
        if self.is_string() {
            // The raw text was already parsed as a JSON string, so decoding it cannot fail.
            return serde_json::from_str::<String>(raw).ok();
        }
        Some(raw.to_owned())
    }

    fn is_string(&self) -> bool {
        self.raw.get().starts_with('"')
    }

    fn into_received(self) -> Received {
        Received { text: self.signed_text(), is_string: self.is_string(), key: self.key }
    }
}

/// The top-level fields of a JSON object, in body order. A repeated key is refused (serde_json on
/// its own would silently keep the last one), and so is an empty one, as in a form body.
pub fn parse_json_object(text: &str) -> Result<Vec<JsonField>, EnvelopeError> {
    let fields = json_fields(text).ok_or(EnvelopeError::MalformedJson)?;
    let mut seen = HashSet::new();
    for field in &fields {
        if field.key.is_empty() {
            return Err(EnvelopeError::MalformedJson);
        }
        if !seen.insert(field.key.as_str()) {
            return Err(EnvelopeError::DuplicateField(field.key.clone()));
        }
    }
    Ok(fields)
}

/// The fields of a JSON object in body order, as they are: repeated or empty keys included.
pub fn json_fields(text: &str) -> Option<Vec<JsonField>> {
    serde_json::from_str::<FieldList>(text).ok().map(|FieldList(fields)| fields)
}

struct FieldList(Vec<JsonField>);

impl<'de> Deserialize<'de> for FieldList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldListVisitor)
    }
}

struct FieldListVisitor;

impl<'de> Visitor<'de> for FieldListVisitor {
    type Value = FieldList;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldList, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, raw)) = map.next_entry::<String, Box<RawValue>>()? {
            fields.push(JsonField { key, raw });
        }
        Ok(FieldList(fields))
    }
}
