//! A merchant's RSA public key as uploaded (console) or sent (`submerchant` methods): PEM in
//! PKCS#8 or PKCS#1, or bare Base64.
//!
//! Beyond "no panic": an accepted key re-encodes to PKCS#8 PEM that parses to the same key with
//! the same fingerprint.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(parsed) = onboarding::keys::parse_public_key(text) else { return };
    let again = onboarding::keys::parse_public_key(&parsed.pem).expect("the key's own PEM parses");
    assert_eq!(again.key, parsed.key);
    assert_eq!(again.fingerprint, parsed.fingerprint);
    assert_eq!(again.bits, parsed.bits);
    assert_eq!(again.pem, parsed.pem);
});
