//! Parsing the RSA public keys apps register: PEM (PKCS#8 `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`),
//! or the one-line Base64 that Alipay-style SDKs print; at least 2048 bits.
use base64::{Engine, engine::general_purpose::STANDARD};
use rsa::{
    RsaPublicKey,
    pkcs1::DecodeRsaPublicKey,
    pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding},
    traits::PublicKeyParts,
};
use sha2::{Digest, Sha256};

pub const MIN_KEY_BITS: usize = 2048;
/// Larger keys only cost verification time; nobody needs them.
pub const MAX_KEY_BITS: usize = 8192;
/// A PEM of an 8192-bit key is well under this.
const MAX_PEM_LENGTH: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is {bits} bits; at least {MIN_KEY_BITS} are required")]
    TooShort { bits: usize },
    #[error("the key is {bits} bits; at most {MAX_KEY_BITS} are accepted")]
    TooLong { bits: usize },
    #[error("this is a private key: register the public key only, and keep the private key secret")]
    PrivateKey,
    #[error("this is a certificate; register the RSA public key (PEM \"PUBLIC KEY\")")]
    Certificate,
    #[error("only RSA public keys are accepted")]
    NotRsa,
    #[error("not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\" or \"-----BEGIN RSA PUBLIC KEY-----\")")]
    Malformed,
}

/// A validated public key with what the platform keeps about it.
#[derive(Debug, Clone)]
pub struct ParsedKey {
    pub key: RsaPublicKey,
    pub bits: usize,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex.
    pub fingerprint: String,
    /// The key re-encoded as PKCS#8 PEM, whatever form it came in.
    pub pem: String,
}

pub fn parse_public_key(text: &str) -> Result<ParsedKey, KeyError> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_PEM_LENGTH {
        return Err(KeyError::Malformed);
    }
    if text.contains("PRIVATE KEY-----") {
        return Err(KeyError::PrivateKey);
    }
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(KeyError::Certificate);
    }
    let key = decode(text)?;
    let bits = key.n().bits();
    if bits < MIN_KEY_BITS {
        return Err(KeyError::TooShort { bits });
    }
    if bits > MAX_KEY_BITS {
        return Err(KeyError::TooLong { bits });
    }
    let der = key.to_public_key_der().map_err(|_| KeyError::Malformed)?;
    let pem = key.to_public_key_pem(LineEnding::LF).map_err(|_| KeyError::Malformed)?;
    let fingerprint = hex::encode(Sha256::digest(der.as_bytes()));
    Ok(ParsedKey { key, bits, fingerprint, pem })
}

fn decode(text: &str) -> Result<RsaPublicKey, KeyError> {
    if text.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        return RsaPublicKey::from_pkcs1_pem(text).map_err(|_| KeyError::Malformed);
    }
    if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        return RsaPublicKey::from_public_key_pem(text).map_err(|error| not_rsa_or_malformed(&error.to_string()));
    }
    if text.starts_with("-----BEGIN") {
        return Err(KeyError::Malformed);
    }
    // One line of Base64: the DER of a SubjectPublicKeyInfo.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(compact).map_err(|_| KeyError::Malformed)?;
    RsaPublicKey::from_public_key_der(&der).map_err(|error| not_rsa_or_malformed(&error.to_string()))
}

/// SPKI decoding fails with an "algorithm" error for EC or Ed25519 keys.
fn not_rsa_or_malformed(message: &str) -> KeyError {
    if message.to_ascii_lowercase().contains("algorithm") { KeyError::NotRsa } else { KeyError::Malformed }
}

#[cfg(test)]
mod tests {
    use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPublicKey, pkcs8::EncodePrivateKey};

    use super::*;

    fn key(bits: usize) -> RsaPrivateKey {
        RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap()
    }

    #[test]
    fn accepts_pkcs8_pkcs1_and_one_line_base64_alike() {
        let private = key(2048);
        let public = RsaPublicKey::from(&private);
        let pkcs8 = public.to_public_key_pem(LineEnding::LF).unwrap();
        let pkcs1 = public.to_pkcs1_pem(LineEnding::CRLF).unwrap();
        let one_line: String = pkcs8.lines().filter(|line| !line.starts_with("-----")).collect();
        let parsed: Vec<_> =
            [pkcs8.as_str(), pkcs1.as_str(), one_line.as_str()].map(|text| parse_public_key(text).unwrap()).into();
        assert!(parsed.iter().all(|p| p.fingerprint == parsed[0].fingerprint && p.bits == 2048 && p.pem == pkcs8));
    }

    #[test]
    fn refuses_short_private_malformed_and_other_keys() {
        let short = RsaPublicKey::from(&key(1024)).to_public_key_pem(LineEnding::LF).unwrap();
        assert_eq!(parse_public_key(&short).unwrap_err(), KeyError::TooShort { bits: 1024 });
        let private = key(2048).to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(parse_public_key(&private).unwrap_err(), KeyError::PrivateKey);
        assert_eq!(
            parse_public_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").unwrap_err(),
            KeyError::Certificate
        );
        assert_eq!(
            parse_public_key("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----").unwrap_err(),
            KeyError::Malformed
        );
        assert_eq!(parse_public_key("").unwrap_err(), KeyError::Malformed);
        assert_eq!(parse_public_key(&"A".repeat(5000)).unwrap_err(), KeyError::Malformed);
        // An EC P-256 public key (SPKI): a valid key, of the wrong kind.
        let ec = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----";
        assert_eq!(parse_public_key(ec).unwrap_err(), KeyError::NotRsa);
    }
}
