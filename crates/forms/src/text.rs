//! A one-line or multi-line text field: trimmed, length-limited, blank is absent.

/// A field holding a character no field may hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the field {0} contains a control character")]
pub struct ControlCharacter(pub String);

/// Trimmed, length-limited text of an optional one-line form or query field; blank is absent. A
/// control character is refused with the field named: no filter, search or form value holds one,
/// and PostgreSQL text cannot even hold NUL.
pub fn present(field: &str, text: Option<String>, max_chars: usize) -> Result<Option<String>, ControlCharacter> {
    present_text(field, text, max_chars, char::is_control)
}

/// As [`present`], for a note or a reason: it may span lines and hold tabs.
pub fn present_note(field: &str, text: Option<String>, max_chars: usize) -> Result<Option<String>, ControlCharacter> {
    present_text(field, text, max_chars, |c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn present_text(
    field: &str,
    text: Option<String>,
    max_chars: usize,
    refused: fn(char) -> bool,
) -> Result<Option<String>, ControlCharacter> {
    let Some(text) = text else { return Ok(None) };
    if text.chars().any(refused) {
        return Err(ControlCharacter(field.to_string()));
    }
    // Cut, then trimmed again: a cut can end in the middle of spaces.
    let cut: String = text.trim().chars().take(max_chars).collect();
    let text = cut.trim_end();
    Ok(Some(text.to_string()).filter(|text| !text.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_cut_and_blank_is_absent() {
        assert_eq!(present("q", Some("  abc  ".into()), 2), Ok(Some("ab".into())));
        assert_eq!(present("q", Some("   ".into()), 10), Ok(None));
        // Found by the console_forms fuzz target: cut inside spaces, the text ended in them.
        assert_eq!(present("q", Some("ab   cd".into()), 4), Ok(Some("ab".into())));
        assert_eq!(present("q", None, 10), Ok(None));
        assert_eq!(present("q", Some("a\tb".into()), 10), Err(ControlCharacter("q".into())));
        assert_eq!(present_note("note", Some("a\r\n\tb".into()), 10), Ok(Some("a\r\n\tb".into())));
        assert_eq!(present_note("note", Some("a\0b".into()), 10), Err(ControlCharacter("note".into())));
    }
}
