//! Reading a method's `content`: a JSON object whose fields may arrive as strings or as numbers
//! (fshows' PHP clients send `order_type` and amounts as numbers). Numbers keep their exact text,
//! so `0.10` stays `0.10` and `1e2` is refused by the amount parser rather than rounded.
use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::error::GatewayError;

pub struct Content {
    fields: BTreeMap<String, Box<RawValue>>,
}

impl Content {
    /// A JSON object with no repeated key (a repeated `total_fee` must not silently win).
    pub fn parse(text: &str) -> Result<Content, GatewayError> {
        let fields = fshows::envelope::parse_json_object(text)
            .map_err(|_| GatewayError::invalid("content", "must be a JSON object without repeated keys"))?;
        Ok(Content { fields: fields.into_iter().map(|field| (field.key, field.raw)).collect() })
    }

    /// A field's text: a string's value or a number's digits; `None` when absent, null or "".
    pub fn text(&self, field: &'static str) -> Result<Option<String>, GatewayError> {
        let Some(raw) = self.fields.get(field) else { return Ok(None) };
        let raw = raw.get().trim();
        let text = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).map_err(|_| GatewayError::invalid(field, "malformed string"))?
        } else if raw == "null" {
            return Ok(None);
        } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            raw.to_string()
        } else {
            return Err(GatewayError::invalid(field, "must be a string or a number"));
        };
        // No business parameter holds one, and PostgreSQL text cannot even hold NUL: refused here,
        // once for every field, before any parser, query or log sees the value.
        if text.chars().any(char::is_control) {
            return Err(GatewayError::invalid(field, "must not contain control characters"));
        }
        Ok(Some(text).filter(|text| !text.is_empty()))
    }

    pub fn required(&self, field: &'static str) -> Result<String, GatewayError> {
        self.text(field)?.ok_or_else(|| GatewayError::invalid(field, "is required"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_numbers_and_absence() {
        let content = Content::parse(r#"{"a":"x\/y\u4e2d","b":0.10,"c":null,"d":"","e":true,"f":1e2}"#).unwrap();
        assert_eq!(content.text("a").unwrap().as_deref(), Some("x/y中"));
        assert_eq!(content.text("b").unwrap().as_deref(), Some("0.10"));
        assert_eq!(content.text("c").unwrap(), None);
        assert_eq!(content.text("d").unwrap(), None);
        assert!(content.text("e").is_err());
        let control = Content::parse(r#"{"a":"\u0000","b":"x\ny","c":"ok\u007f"}"#).unwrap();
        for field in ["a", "b", "c"] {
            let error = control.text(field).unwrap_err();
            assert_eq!(error.code(), "-101");
            assert!(error.to_string().contains(field), "{error}");
        }
        assert_eq!(content.text("f").unwrap().as_deref(), Some("1e2"), "kept verbatim for the parser to refuse");
        assert_eq!(content.required("zzz").unwrap_err().code(), "-101");
        assert!(Content::parse("[1]").is_err());
        assert!(Content::parse("nope").is_err());
        assert!(Content::parse(r#"{"total_fee":"0.01","total_fee":"1000"}"#).is_err());
    }
}
