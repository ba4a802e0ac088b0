//! Free-text fields: the names of the company, its people, its website or app, and its bank
//! branch.
//!
//! They are typed by people into forms, so surrounding whitespace is trimmed (including the
//! full-width space U+3000 that Chinese input methods produce). Limits count characters, not
//! bytes, because a Chinese character takes three bytes and the limits are meant for people.

use serde::Serialize;

/// Why a text is not an acceptable name. The caller knows which field it parsed, so the
/// messages name only the problem.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TextError {
    #[error("text is empty")]
    Empty,
    #[error("text is longer than {max} characters")]
    TooLong { max: usize },
    #[error("text contains a control character")]
    ControlCharacter,
}

macro_rules! text_types {
    ($($(#[$doc:meta])* $name:ident: $max:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The most characters (not bytes) the trimmed text may have.
            pub const MAX_CHARS: usize = $max;

            pub fn parse(text: &str) -> Result<Self, TextError> {
                parse_text(text, Self::MAX_CHARS).map(Self)
            }
        }

        string_views!($name);
    )+};
}

text_types! {
    /// The registered name of the company, as on its business licence.
    LegalName: 128;
    /// The name shown to payers, e.g. on the cashier page.
    ShortName: 32;
    /// A person: the legal representative or the contact.
    PersonName: 64;
    /// Whoever the settlement account is in the name of: a person, or (corporate accounts) the
    /// company, whose legal name may be as long as [`LegalName`]'s.
    AccountHolder: 128;
    /// The website address or the app's name, as filed for its ICP number.
    SiteName: 128;
    /// The bank branch (支行) of a corporate settlement account.
    BranchName: 128;
}

fn parse_text(text: &str, max: usize) -> Result<String, TextError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().any(is_control) {
        return Err(TextError::ControlCharacter);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    Ok(trimmed.to_owned())
}

/// Control characters proper, plus the invisible characters that change how the text around
/// them is shown: bidirectional overrides and isolates, zero-width space, direction marks, the
/// byte-order mark and line separators. With those a name could read differently in the console
/// than what is stored and searched, which is how look-alike merchant names are made.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// The fewest characters a masked value hides, so that a short value is never shown whole.
const MIN_HIDDEN: usize = 4;

/// Shows the first `keep_start` and last `keep_end` characters and stars the rest, e.g.
/// "6222*********0128". A value too short to hide at least four characters that way loses its
/// visible start first, since people recognise numbers by their end: "12345678" → "****5678".
pub(crate) fn mask(text: &str, keep_start: usize, keep_end: usize) -> String {
    let length = text.chars().count();
    let keep_start = if length >= keep_start + keep_end + MIN_HIDDEN { keep_start } else { 0 };
    let keep_end = keep_end.min(length.saturating_sub(MIN_HIDDEN));
    let hidden_end = length - keep_end;
    text.chars().enumerate().map(|(index, c)| if index < keep_start || index >= hidden_end { c } else { '*' }).collect()
}
