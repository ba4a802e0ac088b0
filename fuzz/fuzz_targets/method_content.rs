//! A gateway method's `content` (the JSON object every method reads its parameters from), from
//! any text.
//!
//! Beyond "no panic": the fields read are exactly those a standard JSON parser reads — each key
//! once, the value a parser sees for it — and an object is refused only for a repeated or empty
//! key (a repeated `total_fee` must never let one of two amounts win silently).
#![no_main]
use fshows::envelope::{EnvelopeError, json_fields, parse_json_object};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let standard = serde_json::from_str::<Map<String, Value>>(text);
    match parse_json_object(text) {
        Ok(fields) => {
            let values: Vec<Option<Value>> =
                fields.iter().map(|field| serde_json::from_str(field.raw.get()).ok()).collect();
            match standard {
                Ok(standard) => {
                    assert_eq!(fields.len(), standard.len(), "each key once");
                    for (field, value) in fields.iter().zip(&values) {
                        assert_eq!(value.as_ref(), standard.get(&field.key), "{}", field.key);
                    }
                }
                // A number beyond a float is kept as its text here (the amount parser refuses it):
                // the only object a standard parser refuses and this one reads.
                Err(_) => assert!(values.iter().any(Option::is_none), "read, but not a JSON object"),
            }
        }
        Err(EnvelopeError::DuplicateField(key)) => {
            let all = json_fields(text).expect("an object, refused for its keys");
            assert!(all.iter().filter(|field| field.key == key).count() > 1, "{key} is repeated");
        }
        Err(_) => {
            // Not an object, or an empty key: never a well-formed object with distinct non-empty keys.
            if let Some(all) = json_fields(text) {
                assert!(all.iter().any(|field| field.key.is_empty()), "refused for an empty key");
            } else {
                assert!(standard.is_err(), "a standard parser reads no object either");
            }
        }
    }
});
