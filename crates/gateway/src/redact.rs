//! What the request log may keep: content with account and identity numbers masked, and never a
//! signature or key material.
use fshows::envelope::json_fields;

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
///
/// Fields keep their order and every value its exact text (`0.00030` stays `0.00030`), so the
/// log shows what was sent and received; only whitespace between fields is dropped.
pub fn content(text: &str) -> String {
    redact_object(text, 1).unwrap_or_else(|| format!("<{} bytes, not a JSON object>", text.len()))
}

/// Objects nested deeper than this are stored as a marker: the envelope refuses such content
/// before it is logged, and this bound keeps the walk's recursion finite whatever it is given.
const MAX_DEPTH: usize = domain::json::MAX_DEPTH;

fn redact_object(text: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return serde_json::to_string(&format!("<nested deeper than {MAX_DEPTH} levels>")).ok();
    }
    let fields = json_fields(text)?;
    let mut out = String::with_capacity(text.len());
    out.push('{');
    for field in fields.iter().filter(|field| !DROPPED.contains(&field.key.as_str())) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(&field.key).ok()?);
        out.push(':');
        out.push_str(&redact_value(&field.key, field.raw.get(), depth)?);
    }
    out.push('}');
    Some(out)
}

fn redact_value(key: &str, raw: &str, depth: usize) -> Option<String> {
    if MASKED.contains(&key) {
        if matches!(raw, "null" | "true" | "false") {
            return Some(raw.to_string());
        }
        // A string's decoded text, or anything else's JSON text (a number, or an array or object
        // that might hold the number), masked and stored as a string.
        let text = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
        return serde_json::to_string(&mask(&text)).ok();
    }
    if raw.starts_with('{') {
        return redact_object(raw, depth + 1);
    }
    Some(raw.to_string())
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
        assert_eq!(
            content(r#"{"success":true, "return_value":{"total_fee":1.00,"bank_rate":0.00030},"sign":"c2ln"}"#),
            r#"{"success":true,"return_value":{"total_fee":1.00,"bank_rate":0.00030},"sign":"c2ln"}"#,
            "order and number texts kept"
        );
        assert_eq!(mask("1234"), "1**4");
        let deep = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        let logged = content(&deep);
        assert!(logged.contains("nested deeper than 32 levels") && logged.len() < 300, "depth-capped: {logged}");
        assert_eq!(
            content(
                r#"{"account_number":null,"id_number":["110101199003071234"],"contact_mobile":{"n":"13800138000"}}"#
            ),
            r#"{"account_number":null,"id_number":"[\"11**************34\"]","contact_mobile":"{\"n\"***********00\"}"}"#,
            "null kept; an array or object under a masked key masked whole"
        );
    }
}
