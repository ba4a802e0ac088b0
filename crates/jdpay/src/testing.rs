//! Test helpers (feature `testing`): self-signed certificates, so that tests on both sides can
//! make a merchant identity and a JD identity without files.
use std::str::FromStr;

use der::asn1::GeneralizedTime;
use der::{DateTime, Encode};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::keys::{Identity, KeyError};

fn build_error(error: impl std::fmt::Display) -> KeyError {
    KeyError::Build(error.to_string())
}

/// A self-signed end-entity certificate for `private_key`, `CN=<common_name>`, valid from 2000
/// to the end of 9999 (RFC 5280's "no expiry"), with key usage for signing and key transport, as a
/// merchant's or JD's certificate has. The serial number is derived from the public key, so two
/// keys given the same name still have different issuer-and-serial numbers.
pub fn self_signed_certificate(
    private_key: &RsaPrivateKey,
    common_name: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<Certificate, KeyError> {
    let name = Name::from_str(&format!("CN={common_name}")).map_err(build_error)?;
    let public_key_der = private_key.to_public_key().to_public_key_der().map_err(build_error)?;
    let spki = SubjectPublicKeyInfoOwned::try_from(public_key_der.as_bytes()).map_err(build_error)?;

    let mut serial: [u8; 16] = [0; 16];
    for (target, source) in serial.iter_mut().zip(Sha256::digest(public_key_der.as_bytes())) {
        *target = source;
    }
    // Positive, and no leading zero byte to strip.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let serial_number = SerialNumber::new(&serial).map_err(build_error)?;

    let time = |year, month, day, hour, minute, second| -> Result<Time, KeyError> {
        let at = DateTime::new(year, month, day, hour, minute, second).map_err(build_error)?;
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(at)))
    };
    let validity = Validity { not_before: time(2000, 1, 1, 0, 0, 0)?, not_after: time(9999, 12, 31, 23, 59, 59)? };

    let signer = SigningKey::<Sha256>::new(private_key.clone());
    let profile = Profile::Leaf { issuer: name.clone(), enable_key_agreement: false, enable_key_encipherment: true };
    let builder =
        CertificateBuilder::new(profile, serial_number, validity, name, spki, &signer).map_err(build_error)?;
    let certificate = builder.build_with_rng::<rsa::pkcs1v15::Signature>(rng).map_err(build_error)?;
    // A last check that what was built encodes.
    certificate.to_der().map_err(build_error)?;
    Ok(certificate)
}

/// A fresh RSA key of `bits` and its self-signed certificate. 1024 bits keeps tests fast; the
/// format does not depend on the size.
pub fn generate_identity(bits: usize, common_name: &str, rng: &mut impl CryptoRngCore) -> Result<Identity, KeyError> {
    let private_key = RsaPrivateKey::new(rng, bits).map_err(build_error)?;
    let certificate = self_signed_certificate(&private_key, common_name, rng)?;
    Identity::new(private_key, certificate)
}
