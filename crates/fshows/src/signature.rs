//! The signatures of SPEC §5: the string to sign, RSA2 (SHA256withRSA) and RSA (SHA1withRSA), both
//! PKCS#1 v1.5, Base64 on the wire.
//!
//! Keys are parsed once, where they are loaded ([`VerifyingKeys`], [`Signer`]); nothing here parses
//! a key per request. Verification answers only yes or no: a caller has nothing to gain from knowing
//! why a signature failed, and neither does an attacker.
use std::fmt;

use base64::{
    Engine, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use rsa::{
    Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
    pkcs1v15::SigningKey,
    signature::{RandomizedSigner, SignatureEncoding},
    traits::PublicKeyParts,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub use domain::onboarding::SignType;

/// The fields that are never part of a string to sign.
const UNSIGNED_FIELDS: [&str; 2] = ["sign", "sign_type"];

/// An 8192-bit signature (the largest key onboarding accepts) is 1368 Base64 characters; anything
/// much longer is not a signature and is refused before it is decoded.
const MAX_SIGNATURE_BASE64_LENGTH: usize = 2048;

/// Standard Base64, padding optional: some SDKs strip the `=`.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The string to sign of SPEC §5 over a set of top-level fields: every field except `sign` and
/// `sign_type`, empty values dropped, sorted by key in byte order, `key=value` joined with `&`.
///
/// Values are used exactly as given — no trimming, no escaping — because the other side signs the
/// bytes it sent. The caller makes sure keys are unique (the envelope refuses duplicates).
pub fn string_to_sign<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    domain::signing::string_to_sign(fields, &UNSIGNED_FIELDS)
}

/// True if `signature_base64` is a valid PKCS#1 v1.5 signature of `message` under any of `keys`
/// (SHA-256 for RSA2, SHA-1 for RSA). Never panics: bad Base64, a wrong length or a signature made
/// with another key or digest are all simply `false`.
///
/// Accepted spellings of the Base64: standard alphabet, with or without padding, line breaks
/// ignored, and a space read as `+` — a form encoder that forgot to percent-encode `+` turns it into
/// a space, and refusing those clients would gain nothing: the signature is still checked in full.
pub fn verify(sign_type: SignType, keys: &[RsaPublicKey], message: &[u8], signature_base64: &str) -> bool {
    let Some(signature) = decode_signature(signature_base64) else {
        return false;
    };
    match sign_type {
        SignType::Rsa2 => {
            let digest = Sha256::digest(message);
            keys.iter().any(|key| key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature).is_ok())
        }
        SignType::Rsa => {
            let digest = Sha1::digest(message);
            keys.iter().any(|key| key.verify(Pkcs1v15Sign::new::<Sha1>(), &digest, &signature).is_ok())
        }
    }
}

fn decode_signature(signature_base64: &str) -> Option<Vec<u8>> {
    if signature_base64.is_empty() || signature_base64.len() > MAX_SIGNATURE_BASE64_LENGTH {
        return None;
    }
    let cleaned: Vec<u8> = signature_base64
        .bytes()
        .filter(|byte| !matches!(byte, b'\r' | b'\n'))
        .map(|byte| if byte == b' ' { b'+' } else { byte })
        .collect();
    LENIENT_BASE64.decode(cleaned).ok()
}

/// An app's public keys, parsed once when the app is loaded: the current key and, while a key change
/// is under way, the previous one. A request verifies if either key accepts it.
#[derive(Clone, Debug)]
pub struct VerifyingKeys {
    keys: Vec<RsaPublicKey>,
}

impl VerifyingKeys {
    pub fn new(current: RsaPublicKey, previous: Option<RsaPublicKey>) -> VerifyingKeys {
        VerifyingKeys { keys: std::iter::once(current).chain(previous).collect() }
    }

    /// See [`verify`].
    pub fn verify(&self, sign_type: SignType, message: &[u8], signature_base64: &str) -> bool {
        verify(sign_type, &self.keys, message, signature_base64)
    }

    pub fn as_slice(&self) -> &[RsaPublicKey] {
        &self.keys
    }
}

/// The smallest platform key the signer accepts, as onboarding requires of apps' keys.
pub const MIN_SIGNING_KEY_BITS: usize = 2048;

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SignerError {
    #[error("the signing key is {bits} bits; at least {MIN_SIGNING_KEY_BITS} are required")]
    KeyTooShort { bits: usize },
}

/// The platform's private key, ready to sign replies and notifications with either digest.
///
/// Signing always uses blinding (`sign_with_rng`): the unblinded `Signer::sign` of the rsa crate
/// leaks timing (RUSTSEC-2023-0071). PKCS#1 v1.5 signatures are deterministic all the same, so a
/// signature made here equals the one `openssl dgst -sign` makes with the same key.
#[derive(Clone)]
pub struct Signer {
    sha256: SigningKey<Sha256>,
    sha1: SigningKey<Sha1>,
    public_key: RsaPublicKey,
}

impl Signer {
    /// Checking the size here is what lets [`Signer::sign`] be infallible: with at least 2048 bits
    /// every PKCS#1 v1.5 encoding fits, and the rsa crate has already validated the key itself.
    pub fn new(private_key: RsaPrivateKey) -> Result<Signer, SignerError> {
        let bits = private_key.n().bits();
        if bits < MIN_SIGNING_KEY_BITS {
            return Err(SignerError::KeyTooShort { bits });
        }
        let public_key = private_key.to_public_key();
        Ok(Signer {
            sha1: SigningKey::<Sha1>::new(private_key.clone()),
            sha256: SigningKey::<Sha256>::new(private_key),
            public_key,
        })
    }

    /// The Base64 (standard, padded) signature of `message`.
    pub fn sign(&self, sign_type: SignType, message: &[u8]) -> String {
        let mut rng = rand::thread_rng();
        let signature = match sign_type {
            SignType::Rsa2 => self.sha256.sign_with_rng(&mut rng, message),
            SignType::Rsa => self.sha1.sign_with_rng(&mut rng, message),
        };
        STANDARD.encode(signature.to_bytes())
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public_key
    }
}

/// Never the private key, not even in a debug log.
impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("bits", &self.public_key.n().bits()).finish_non_exhaustive()
    }
}
