//! The gateway's request envelope (SPEC §5), form-encoded or JSON, from any bytes.
//!
//! Beyond "no panic": an envelope that parses has a string to sign that depends only on its
//! fields, so the same fields sent again in the other encoding (each value as a string, encoded
//! the standard way) parse to the same fields and the same string to sign.
#![no_main]
use fshows::envelope::{BodyKind, Envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let kind = if selector & 1 == 0 { BodyKind::Form } else { BodyKind::Json };
    let Ok(envelope) = Envelope::parse(kind, body) else { return };
    let fields: Vec<(String, String)> = envelope.fields().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    let form: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
    let json = serde_json::Value::Object(
        fields.iter().map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone()))).collect(),
    )
    .to_string();
    for (again_kind, again_body) in [(BodyKind::Form, form), (BodyKind::Json, json)] {
        match Envelope::parse(again_kind, again_body.as_bytes()) {
            Ok(again) => {
                assert_eq!(again.string_to_sign(), envelope.string_to_sign(), "{again_kind:?}");
                assert_eq!(again.app_id(), envelope.app_id());
                assert_eq!(again.method(), envelope.method());
                assert_eq!(again.sign(), envelope.sign());
                assert_eq!(again.content(), envelope.content());
                // The same fields (a JSON object built here lists them in key order).
                let mut again_fields: Vec<(&str, &str)> = again.fields().collect();
                let mut fields: Vec<(&str, &str)> = envelope.fields().collect();
                again_fields.sort_unstable();
                fields.sort_unstable();
                assert_eq!(again_fields, fields);
            }
            // Re-encoding can only make a body too large (JSON escapes), never otherwise invalid.
            Err(error) => assert!(again_body.len() > fshows::envelope::MAX_BODY_BYTES, "{again_kind:?}: {error}"),
        }
    }
    // The string to sign is the fields' own (SPEC §5: sorted, empty values and the signature left
    // out), and changing the signature does not change it.
    assert_eq!(envelope.string_to_sign(), fshows::signature::string_to_sign(envelope.fields()));
    let unsigned: Vec<(&str, &str)> =
        envelope.fields().filter(|(key, _)| !matches!(*key, "sign" | "sign_type")).collect();
    assert_eq!(envelope.string_to_sign(), fshows::signature::string_to_sign(unsigned));
});
