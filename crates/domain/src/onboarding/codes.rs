//! Short codes an application carries: the ISV's own id for it, the rate plan it uses, and the
//! signature algorithm of its app.

use serde::Serialize;

use crate::IdError;

/// The ISV's own id for a sub-merchant (SPEC §4): 1 to 64 of `[A-Za-z0-9_-]`, unique per ISV
/// (which storage enforces). Lets an ISV retry a create call without making a second merchant.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

/// The code of a rate plan (费率模板): 1 to 32 of `[a-z0-9_-]`. Lower case only, so that one
/// plan cannot be named two ways.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct RatePlanCode(String);

const EXTERNAL_ID_MAX_CHARS: usize = 64;
const RATE_PLAN_CODE_MAX_CHARS: usize = 32;

impl ExternalId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        parse_code(text, EXTERNAL_ID_MAX_CHARS, allowed).map(Self)
    }
}

impl RatePlanCode {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
        parse_code(text, RATE_PLAN_CODE_MAX_CHARS, allowed).map(Self)
    }
}

string_views!(ExternalId, RatePlanCode);

/// Characters are checked before the length, so a long text of the wrong characters is
/// reported for its characters, the more useful fix.
fn parse_code(text: &str, max: usize, allowed: impl Fn(u8) -> bool) -> Result<String, IdError> {
    let code = text.trim();
    if code.is_empty() {
        return Err(IdError::Empty);
    }
    if !code.bytes().all(allowed) {
        return Err(IdError::InvalidCharacter);
    }
    // All ASCII by now, so bytes and characters count the same.
    if code.len() > max {
        return Err(IdError::TooLong { max });
    }
    Ok(code.to_owned())
}

/// How an app signs its requests (SPEC §4): RSA2 is SHA256withRSA, the default; RSA is
/// SHA1withRSA, kept only for fshows-compatible clients.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum SignType {
    #[default]
    Rsa2,
    Rsa,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SignTypeError {
    #[error("sign type must be RSA2 or RSA")]
    Unknown,
}

impl SignType {
    pub const ALL: [SignType; 2] = [Self::Rsa2, Self::Rsa];

    /// Exactly "RSA2" or "RSA", as the `sign_type` field of the wire protocol spells them; a
    /// signature scheme is not a place to guess what was meant.
    pub fn parse(text: &str) -> Result<Self, SignTypeError> {
        match text {
            "RSA2" => Ok(Self::Rsa2),
            "RSA" => Ok(Self::Rsa),
            _ => Err(SignTypeError::Unknown),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa2 => "RSA2",
            Self::Rsa => "RSA",
        }
    }
}

serialize_as_code!(SignType => as_str);
crate::sql::text_column!(SignType, |text| SignType::parse(text).ok());

crate::sql::text_enum! {
    /// Whose app it is: one merchant's own, or an ISV's that onboards and acts for merchants.
    pub enum AppKind {
        Merchant = "merchant",
        Isv = "isv",
    }
}
