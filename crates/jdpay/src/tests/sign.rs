//! `sign_data`: the string to sign and the digest, against values computed by hand.
use sha2::{Digest, Sha256};

use crate::sign::{SignKey, sign_data, string_to_sign, verify_sign_data};

const FIELDS: [(&str, &str); 9] = [
    ("b", "2"),
    ("a", "1"),
    ("sign_type", "SHA-256"),
    ("sign_data", "ignored"),
    ("encrypt_type", "RSA"),
    ("encrypt_data", "ignored"),
    ("salt", "ignored"),
    ("empty", ""),
    ("B", "upper"),
];

#[test]
fn the_string_to_sign_drops_empty_and_excluded_fields_and_sorts_by_byte() {
    // Upper case sorts before lower case in byte order.
    assert_eq!(string_to_sign(FIELDS), "B=upper&a=1&b=2");
}

#[test]
fn sign_data_is_upper_case_hex_sha256_of_the_string_then_the_key() {
    let key = SignKey::new("k3y").unwrap();
    let by_hand = hex::encode_upper(Sha256::digest(b"B=upper&a=1&b=2k3y"));
    assert_eq!(sign_data(FIELDS, &key), by_hand);
    // Computed independently (Python's hashlib), so a shared mistake in both cannot pass.
    assert_eq!(by_hand, "5A73D2BCE28A3D7A761D7C6ABC2E5F4E6026F8CDBBD776413C977DB49E815D4C");
}

#[test]
fn a_trade_query_signs_as_jd_documents() {
    let key = SignKey::new("test-sign-key").unwrap();
    let fields = [
        ("customer_no", "360080000001"),
        ("request_datetime", "20261206T101500"),
        ("out_trade_no", "PO_20261206_0001"),
        ("trade_type", "T_AGD"),
        ("sign_type", "SHA-256"),
    ];
    assert_eq!(sign_data(fields, &key), "FA9A77310B60B4D88C373DC21004E68EFE741CDC93C460EDA72E56C428D98674");
}

#[test]
fn verification_accepts_the_right_sign_data_in_either_case_and_nothing_else() {
    let key = SignKey::new("k3y").unwrap();
    let good = sign_data(FIELDS, &key);
    let with = |sign: &str| {
        let mut fields: Vec<(&str, &str)> = FIELDS.iter().copied().filter(|(name, _)| *name != "sign_data").collect();
        fields.push(("sign_data", sign));
        verify_sign_data(fields.clone(), &key)
    };
    assert!(with(&good));
    assert!(with(&good.to_ascii_lowercase()));
    assert!(!with(&good[..good.len() - 1]));
    assert!(!with(""));
    assert!(!with(&sign_data(FIELDS, &SignKey::new("other").unwrap())));
    // No sign_data at all.
    assert!(!verify_sign_data([("a", "1")], &key));
    // A changed field, an added field: the digest no longer matches.
    let mut changed: Vec<(&str, &str)> = vec![("a", "1"), ("b", "3"), ("B", "upper"), ("sign_data", good.as_str())];
    assert!(!verify_sign_data(changed.clone(), &key));
    changed[1] = ("b", "2");
    assert!(verify_sign_data(changed.clone(), &key));
    changed.push(("c", "new"));
    assert!(!verify_sign_data(changed, &key));
}

#[test]
fn the_sign_key_never_prints_itself() {
    let key = SignKey::new("super-secret-key").unwrap();
    assert!(!format!("{key:?}").contains("super-secret"));
    assert!(SignKey::new("").is_err());
}
