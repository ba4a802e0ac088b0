//! Form bodies as the callback targets read them.

/// The body's fields, in order, as a form parser reads them (repeats kept).
pub fn form(data: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(data).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

/// True if a field is named twice.
pub fn has_repeats(fields: &[(String, String)]) -> bool {
    let mut seen = std::collections::HashSet::new();
    !fields.iter().all(|(key, _)| seen.insert(key))
}

/// The value a parser reads for `name`: the only one, in a form without repeats.
pub fn value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}
