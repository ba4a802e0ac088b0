//! An application exactly as received, before any field is checked: from a console form, a CLI
//! JSON file or a gateway call. [`super::Application::parse`] turns it into checked types.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Every field is optional text here; whether it is required, and what it must look like, is
/// decided in one place, `Application::parse`, so that all problems can be reported together.
///
/// Each field also accepts a JSON number (`"bank_commission_rate": 0.0003`, `"payout_weekday":
/// 1`), because hand-written JSON files and some ISV clients send them that way. A JSON number
/// arrives as a 64-bit float when it is not an integer, so a rate is best sent as a string when
/// every digit matters. Unknown fields are refused, so a misspelt field name is an error instead
/// of a silently missing value.
#[derive(Deserialize, Serialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct RawApplication {
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub unified_social_credit_code: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub legal_representative: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub contact_mobile: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub business_category: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub icp_filing_number: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub account_holder: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub branch_name: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub cnaps_code: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub rate_plan: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub bank_commission_rate: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub pay_platform_rate: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub liquidator_commission_rate: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub payout_schedule: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub payout_weekday: Option<String>,
    #[serde(deserialize_with = "string_or_number", skip_serializing_if = "Option::is_none")]
    pub payout_cutoff: Option<String>,
}

/// A string, a number (kept as its decimal text) or null. Empty strings are kept as they are;
/// `Application::parse` treats blank text as absent, so a hand-built `RawApplication` behaves
/// the same as a deserialized one.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(StringOrNumber)
}

struct StringOrNumber;

impl<'de> Visitor<'de> for StringOrNumber {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string, a number or null")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Some(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    /// Rust writes a float in its shortest exact form and never with an exponent, so 0.0003
    /// becomes "0.0003", which the rate parser reads back exactly.
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        if value.is_finite() {
            Ok(Some(value.to_string()))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(value), &self))
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}
