//! The platform's own RSA key pair: it signs gateway replies and notifications; clients verify
//! with its public key (`GET /gateway/platform-key`).
//!
//! Generated on first start when absent, and kept in PostgreSQL so every node signs with the same
//! key. The private key is stored encrypted with AES-256-GCM under a master key that never enters
//! the database (configuration or a 0600 file), with the key's fingerprint as associated data so a
//! ciphertext cannot be swapped onto another public key.
use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use diesel::PgConnection;
use rand::RngCore;
use rsa::{
    RsaPrivateKey, RsaPublicKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
};
use sha2::{Digest, Sha256};
use storage::platform_keys;

use crate::OnboardingError;

const KEY_BITS: usize = 2048;

/// The 32-byte key that encrypts the platform's private key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From Base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<MasterKey, OnboardingError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| OnboardingError::PlatformKey("the master key is not Base64".into()))?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|_| OnboardingError::PlatformKey("the master key must be 32 bytes".into()))?;
        Ok(MasterKey(bytes))
    }

    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        MasterKey(bytes)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

/// The loaded key pair. Parsed once at start-up and shared, never per request.
#[derive(Clone)]
pub struct PlatformKey {
    pub private_key: RsaPrivateKey,
    pub public_key: RsaPublicKey,
    /// PKCS#8 `PUBLIC KEY` PEM.
    pub public_key_pem: String,
    /// The same key as one Base64 line (what Alipay-style SDKs take).
    pub public_key_base64: String,
    pub fingerprint: String,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

fn fingerprint(public_key: &RsaPublicKey) -> Result<String, OnboardingError> {
    let der = public_key.to_public_key_der().map_err(|error| OnboardingError::PlatformKey(error.to_string()))?;
    Ok(hex::encode(Sha256::digest(der.as_bytes())))
}

/// Loads the active platform key, generating and storing one first if there is none. Slow the
/// first time (RSA key generation): call from a blocking thread at start-up.
pub fn load_or_create(conn: &mut PgConnection, master: &MasterKey) -> Result<PlatformKey, OnboardingError> {
    let row = match platform_keys::active(conn)? {
        Some(row) => row,
        None => {
            let (public_pem, encrypted, nonce, fingerprint) = generate(master)?;
            tracing::info!(%fingerprint, "generated the platform key pair");
            platform_keys::insert_active_if_absent(conn, &public_pem, &encrypted, &nonce, &fingerprint)?
        }
    };
    decrypt(master, &row)
}

fn generate(master: &MasterKey) -> Result<(String, Vec<u8>, Vec<u8>, String), OnboardingError> {
    let failed = |error: &dyn std::fmt::Display| OnboardingError::PlatformKey(error.to_string());
    let private_key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| failed(&e))?;
    let public_key = RsaPublicKey::from(&private_key);
    let public_pem = public_key.to_public_key_pem(LineEnding::LF).map_err(|e| failed(&e))?;
    let fingerprint = fingerprint(&public_key)?;
    let private_der = private_key.to_pkcs8_der().map_err(|e| failed(&e))?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let encrypted = master
        .cipher()
        .encrypt(&Nonce::from(nonce), Payload { msg: private_der.as_bytes(), aad: fingerprint.as_bytes() })
        .map_err(|_| OnboardingError::PlatformKey("encryption failed".into()))?;
    Ok((public_pem, encrypted, nonce.to_vec(), fingerprint))
}

fn decrypt(master: &MasterKey, row: &platform_keys::PlatformKeyRow) -> Result<PlatformKey, OnboardingError> {
    let nonce: [u8; 12] = row
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| OnboardingError::PlatformKey("stored nonce has the wrong length".into()))?;
    let private_der = master
        .cipher()
        .decrypt(&Nonce::from(nonce), Payload { msg: &row.encrypted_private_key, aad: row.fingerprint.as_bytes() })
        .map_err(|_| OnboardingError::PlatformKey("cannot decrypt the platform key: wrong master key?".into()))?;
    let private_key =
        RsaPrivateKey::from_pkcs8_der(&private_der).map_err(|error| OnboardingError::PlatformKey(error.to_string()))?;
    let public_key = RsaPublicKey::from(&private_key);
    if fingerprint(&public_key)? != row.fingerprint {
        return Err(OnboardingError::PlatformKey("the stored key pair does not match its fingerprint".into()));
    }
    let public_key_base64 = row.public_key_pem.lines().filter(|line| !line.starts_with("-----")).collect();
    Ok(PlatformKey {
        private_key,
        public_key,
        public_key_pem: row.public_key_pem.clone(),
        public_key_base64,
        fingerprint: row.fingerprint.clone(),
    })
}
