//! The keys and certificates of the two parties, parsed once where they are loaded.
//!
//! JD gives a merchant a PKCS#12 file (`.pfx`) with its private key and certificate, and its own
//! certificate (`.cer`, PEM or DER). The key is loaded here as PEM (PKCS#8, or PKCS#1), e.g. after
//! `openssl pkcs12 -in merchant.pfx -nocerts -nodes | openssl pkcs8 -topk8 -nocrypt`.
//!
//! Certificates are pinned, not validated: JD's is configured, the merchant's is exchanged at
//! signing-up, and there is no chain to walk nor (in a pure crate) a clock to check their dates
//! against; the loader does that where a clock exists.
use std::fmt;

use cms::cert::IssuerAndSerialNumber;
use der::{Decode, DecodePem, Encode};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::zeroize::Zeroizing;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::sign::SignKey;

/// Why a key or certificate cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not an RSA key in PKCS#8 or PKCS#1 PEM")]
    PrivateKey,
    #[error("the certificate is not an X.509 certificate in PEM or DER")]
    Certificate,
    #[error("the certificate's public key is not an RSA key")]
    NotRsa,
    #[error("the certificate is not the private key's: their public keys differ")]
    KeyMismatch,
    #[error("could not build a certificate: {0}")]
    Build(String),
}

/// An RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
pub fn load_private_key_pem(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem)).map_err(|_| KeyError::PrivateKey)
}

/// An X.509 certificate from PEM (`BEGIN CERTIFICATE`) or DER bytes.
pub fn load_certificate(bytes: &[u8]) -> Result<Certificate, KeyError> {
    let text_start = bytes.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(bytes.len());
    if bytes.get(text_start..).is_some_and(|rest| rest.starts_with(b"-----BEGIN")) {
        Certificate::from_pem(bytes).map_err(|_| KeyError::Certificate)
    } else {
        Certificate::from_der(bytes).map_err(|_| KeyError::Certificate)
    }
}

fn rsa_public_key(certificate: &Certificate) -> Result<RsaPublicKey, KeyError> {
    let spki = certificate.tbs_certificate.subject_public_key_info.to_der().map_err(|_| KeyError::Certificate)?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|_| KeyError::NotRsa)
}

fn issuer_and_serial(certificate: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: certificate.tbs_certificate.issuer.clone(),
        serial_number: certificate.tbs_certificate.serial_number.clone(),
    }
}

/// One's own side: an RSA private key and the certificate that carries its public key. Signs what
/// is sent and opens what is received.
#[derive(Clone)]
pub struct Identity {
    private_key: RsaPrivateKey,
    certificate: Certificate,
    issuer_and_serial: IssuerAndSerialNumber,
    /// Derives the stand-in content key when key transport fails (see `envelope`): secret, fixed
    /// per key, so a replayed envelope always fails the same way.
    rejection_seed: Zeroizing<[u8; 32]>,
}

impl Identity {
    /// Refuses a certificate whose public key is not the private key's: envelopes would then name
    /// a recipient, or signatures a signer, that the key cannot stand for.
    pub fn new(private_key: RsaPrivateKey, certificate: Certificate) -> Result<Identity, KeyError> {
        if rsa_public_key(&certificate)? != private_key.to_public_key() {
            return Err(KeyError::KeyMismatch);
        }
        let mut hasher = Sha256::new();
        hasher.update(b"jdpay implicit rejection seed\0");
        hasher.update(Zeroizing::new(private_key.d().to_bytes_be()).as_slice());
        let rejection_seed = Zeroizing::new(hasher.finalize().into());
        Ok(Identity { issuer_and_serial: issuer_and_serial(&certificate), private_key, certificate, rejection_seed })
    }

    /// From a PEM private key and a PEM or DER certificate.
    pub fn from_pem(private_key_pem: &str, certificate: &[u8]) -> Result<Identity, KeyError> {
        Identity::new(load_private_key_pem(private_key_pem)?, load_certificate(certificate)?)
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The public half, as the other side configures it.
    pub fn peer_certificate(&self) -> PeerCertificate {
        PeerCertificate {
            public_key: self.private_key.to_public_key(),
            certificate: self.certificate.clone(),
            issuer_and_serial: self.issuer_and_serial.clone(),
        }
    }

    pub(crate) fn private_key(&self) -> &RsaPrivateKey {
        &self.private_key
    }

    pub(crate) fn issuer_and_serial(&self) -> &IssuerAndSerialNumber {
        &self.issuer_and_serial
    }

    pub(crate) fn rejection_seed(&self) -> &[u8; 32] {
        &self.rejection_seed
    }
}

/// Never the private key, not even in a debug log.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.certificate.tbs_certificate.subject.to_string())
            .field("bits", &self.private_key.n().bits())
            .finish_non_exhaustive()
    }
}

/// The other side: its certificate and the RSA public key in it, parsed once. Envelopes are
/// encrypted to it and signatures checked against it.
#[derive(Clone)]
pub struct PeerCertificate {
    certificate: Certificate,
    public_key: RsaPublicKey,
    issuer_and_serial: IssuerAndSerialNumber,
}

impl PeerCertificate {
    pub fn new(certificate: Certificate) -> Result<PeerCertificate, KeyError> {
        Ok(PeerCertificate {
            public_key: rsa_public_key(&certificate)?,
            issuer_and_serial: issuer_and_serial(&certificate),
            certificate,
        })
    }

    /// From PEM or DER bytes.
    pub fn load(bytes: &[u8]) -> Result<PeerCertificate, KeyError> {
        PeerCertificate::new(load_certificate(bytes)?)
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public_key
    }

    pub(crate) fn issuer_and_serial(&self) -> &IssuerAndSerialNumber {
        &self.issuer_and_serial
    }
}

impl fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCertificate")
            .field("subject", &self.certificate.tbs_certificate.subject.to_string())
            .field("bits", &self.public_key.n().bits())
            .finish_non_exhaustive()
    }
}

/// What one side holds to exchange `defray_pay` envelopes with the other: the shared sign key, its
/// own key and certificate, and the other side's certificate. The client holds the merchant's
/// identity and JD's certificate; the fake JD server the other way round.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub sign_key: SignKey,
    pub own_identity: Identity,
    pub peer_certificate: PeerCertificate,
}
