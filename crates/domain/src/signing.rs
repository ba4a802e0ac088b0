//! The string to sign that both wire formats use (fshows' SPEC §5 and JD Pay's `sign_data`):
//! the fields with a non-empty value except the ones the format leaves out, sorted by key in byte
//! order, joined as `key=value` with `&`. Values are used exactly as given — no trimming, no
//! escaping — because the other side signs the bytes it sent. The caller makes sure keys are
//! unique (every parser refuses duplicates).
pub fn string_to_sign<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>, unsigned: &[&str]) -> String {
    let mut signed: Vec<(&str, &str)> =
        fields.into_iter().filter(|(key, value)| !value.is_empty() && !unsigned.contains(key)).collect();
    signed.sort_unstable_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let length = signed.iter().map(|(key, value)| key.len() + value.len() + 2).sum();
    let mut text = String::with_capacity(length);
    for (index, (key, value)) in signed.into_iter().enumerate() {
        if index > 0 {
            text.push('&');
        }
        text.push_str(key);
        text.push('=');
        text.push_str(value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unsigned_fields_are_left_out_and_the_rest_sorted_by_byte() {
        let fields = [("b", "2"), ("sign", "x"), ("a", ""), ("B", "1"), ("c", "a=b")];
        assert_eq!(string_to_sign(fields, &["sign"]), "B=1&b=2&c=a=b");
        assert_eq!(string_to_sign([], &["sign"]), "");
    }
}
