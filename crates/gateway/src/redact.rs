//! What the request log may keep: content with account and identity numbers masked, and never a
//! signature or key material.
use serde_json::{Map, Value};

/// Fields whose values are masked wherever they appear in a logged content object.
const MASKED: &[&str] = &[
    "account_number",
    "unified_social_credit_code",
    "contact_mobile",
    "payee_account_no",
    "id_number",
    "legal_person_id",
];
/// Fields dropped entirely.
const DROPPED: &[&str] = &["public_key", "private_key"];

/// Keeps the first 4 and last 4 characters of long values, fewer of short ones.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let keep = if chars.len() >= 12 { 4 } else { chars.len() / 4 };
    let hidden = chars.len().saturating_sub(keep * 2);
    chars[..keep].iter().chain(std::iter::repeat_n(&'*', hidden)).chain(&chars[chars.len() - keep..]).collect()
}

/// The content text as it may be stored; unparsable content is stored as a length only.
pub fn content(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => Value::Object(redact_object(fields)).to_string(),
        _ => format!("<{} bytes, not a JSON object>", text.len()),
    }
}

fn redact_object(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter(|(key, _)| !DROPPED.contains(&key.as_str()))
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) if MASKED.contains(&key.as_str()) => Value::String(mask(&text)),
                Value::Number(number) if MASKED.contains(&key.as_str()) => Value::String(mask(&number.to_string())),
                Value::Object(inner) => Value::Object(redact_object(inner)),
                other => other,
            };
            (key, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_sensitive_fields_at_any_depth() {
        let logged = content(
            r#"{"account_number":"6222021234567890128","contact_mobile":13800138000,"nested":{"unified_social_credit_code":"91350100M000100Y43"},"public_key":"-----BEGIN","total_fee":"0.01"}"#,
        );
        assert!(logged.contains("6222***********0128"), "{logged}");
        assert!(logged.contains("13*******00"), "{logged}");
        assert!(logged.contains("9135**********0Y43"), "{logged}");
        assert!(!logged.contains("BEGIN") && logged.contains(r#""total_fee":"0.01""#));
        assert_eq!(content("not json"), "<8 bytes, not a JSON object>");
        assert_eq!(mask("1234"), "1**4");
    }
}
