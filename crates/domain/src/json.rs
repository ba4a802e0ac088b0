//! Limits on JSON taken from outside.
//!
//! serde_json bounds its own recursion, but skipping a value (`IgnoredAny`, `RawValue`) is not
//! bounded at all, and our own walkers (the request log's redaction) would recurse once per level.
//! Every JSON text from a request is therefore measured here first — by a flat scan that uses no
//! stack of its own — and refused when it nests deeper than [`MAX_DEPTH`].

/// The deepest nesting accepted from outside: the object a method's `content` is counts as level
/// 1. The protocol's objects are flat; 32 leaves room for any client's extras and none for abuse.
pub const MAX_DEPTH: usize = 32;

/// True if `text` opens more than `max` objects or arrays inside one another. Brackets inside
/// strings do not count; the text need not be valid JSON (the parser that reads it next decides
/// that), so a malformed text is measured as far as it goes.
pub fn nests_deeper_than(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_objects_and_arrays_but_not_brackets_in_strings() {
        assert!(!nests_deeper_than(r#"{"a":1}"#, 1));
        assert!(nests_deeper_than(r#"{"a":{"b":1}}"#, 1));
        assert!(!nests_deeper_than(r#"{"a":[1],"b":{"c":2}}"#, 2));
        assert!(nests_deeper_than(r#"{"a":[[1]]}"#, 2));
        assert!(!nests_deeper_than(r#"{"a":"[[[[{{{{\"]]"}"#, 1), "brackets and escaped quotes in a string");
        assert!(!nests_deeper_than("not json at all", 0));
        assert!(!nests_deeper_than("}}}]]]{", 1), "closing more than was opened never goes below zero");
    }

    #[test]
    fn measures_a_very_deep_text_without_recursing() {
        let deep = format!("{}1{}", "[{\"a\":".repeat(200_000), "}]".repeat(200_000));
        assert!(nests_deeper_than(&deep, MAX_DEPTH));
        let within = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(!nests_deeper_than(&within, MAX_DEPTH));
    }
}
