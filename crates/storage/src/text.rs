//! What PostgreSQL can store of a text it is given.
//!
//! `text` and `jsonb` cannot hold U+0000. Business columns never see one — every value is parsed
//! into its type at the edge, which refuses control characters — but the logs (the gateway's
//! request log, refused callbacks, sign-in attempts, the audit trail) keep what arrived, so that
//! one odd byte from one caller can never make a log row, or a batch of other callers' rows,
//! impossible to write. NUL is replaced by U+FFFD, as a lossy UTF-8 decoder would.
use std::borrow::Cow;

use serde_json::Value;

const REPLACEMENT: &str = "\u{fffd}";

/// `text` with every NUL replaced; borrowed when there is none (the common case).
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', REPLACEMENT)) } else { Cow::Borrowed(text) }
}

/// `value` with NUL replaced in every string and key; borrowed when there is none. Walks with a
/// stack of its own, so no nesting can exhaust the thread's.
pub fn storable_json(value: &Value) -> Cow<'_, Value> {
    if !holds_nul(value) {
        return Cow::Borrowed(value);
    }
    let mut owned = value.clone();
    let mut pending = vec![&mut owned];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => *text = text.replace('\0', REPLACEMENT),
            Value::Array(items) => pending.extend(items.iter_mut()),
            Value::Object(map) => {
                *map = std::mem::take(map).into_iter().map(|(key, item)| (storable(&key).into_owned(), item)).collect();
                pending.extend(map.values_mut());
            }
            _ => {}
        }
    }
    Cow::Owned(owned)
}

fn holds_nul(value: &Value) -> bool {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) if text.contains('\0') => return true,
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                if map.keys().any(|key| key.contains('\0')) {
                    return true;
                }
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_replaced_everywhere_and_nothing_else_changes() {
        assert!(matches!(storable("plain"), Cow::Borrowed("plain")));
        assert_eq!(storable("a\0b\0"), "a\u{fffd}b\u{fffd}");
        let clean = json!({"a": ["x", {"b": 1}]});
        assert!(matches!(storable_json(&clean), Cow::Borrowed(_)));
        let dirty = json!({"k\u{0}": ["x\u{0}", {"b": "\u{0}"}], "n": 1});
        assert_eq!(storable_json(&dirty).into_owned(), json!({"k\u{fffd}": ["x\u{fffd}", {"b": "\u{fffd}"}], "n": 1}));
    }
}
