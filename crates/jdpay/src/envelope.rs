//! `encrypt_data`: Base64 (standard) of the DER of
//!
//! ```text
//! ContentInfo { id-envelopedData,                                  RFC 5652 §6
//!   EnvelopedData v0 {
//!     KeyTransRecipientInfo v0 { issuerAndSerialNumber(recipient's certificate),
//!                                rsaEncryption (PKCS#1 v1.5), the 24-byte content key },
//!     EncryptedContentInfo { id-data, des-ede3-cbc (IV as OCTET STRING parameter),
//!                            3DES-CBC with PKCS#7 padding of the DER of
//!       ContentInfo { id-signedData,                               RFC 5652 §5
//!         SignedData v1 { digestAlgorithms { sha1 },
//!                         encapContentInfo { id-data, the string (attached) },
//!                         certificates { the sender's certificate },
//!                         SignerInfo v1 { issuerAndSerialNumber(sender's certificate), sha1,
//!                                         no signed attributes, rsaEncryption,
//!                                         PKCS#1 v1.5 SHA-1 signature of the string } } } } } }
//! ```
//!
//! the shape BouncyCastle's `CMSSignedDataGenerator` then `CMSEnvelopedDataGenerator` (JD's demos)
//! and `openssl cms -sign | openssl cms -encrypt -des3` both produce.
//!
//! [`open`] reads DER only (what [`seal`] and openssl write), finds the recipient info and the
//! signer info that name the expected certificates, and verifies the signature over the signed
//! attributes when there are some (then checking their message digest), else over the content
//! (RFC 5652 §5.4), so envelopes signed with or without attributes both open. Embedded
//! certificates, when there are any, must include the pinned sender certificate byte for byte:
//! 3DES-CBC has no integrity check, and this leaves no decrypted byte unaccounted for.
use base64::{
    Engine, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use des::TdesEde3;
use rsa::rand_core::CryptoRngCore;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign};
use secrecy::zeroize::Zeroizing;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::keys::{Identity, PeerCertificate};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
const DES_EDE3_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA1_WITH_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// Three 8-byte DES keys.
const CONTENT_KEY_BYTES: usize = 24;
const IV_BYTES: usize = 8;

/// A payout request is well under 2 KiB; its envelope with a 4096-bit certificate under 8 KiB.
/// Anything much longer is refused before it is decoded.
pub const MAX_ENCRYPT_DATA_BASE64_LENGTH: usize = 64 * 1024;

/// Standard Base64, padding optional, line breaks ignored, and a space read as `+`: a form encoder
/// that forgot to percent-encode `+` turns it into a space.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an envelope could not be made. None of these happens with keys that loaded; they exist so
/// that a surprise is an error, not a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("RSA failed: {0}")]
    Rsa(String),
    #[error("DER encoding failed: {0}")]
    Der(der::Error),
}

impl From<rsa::Error> for SealError {
    fn from(error: rsa::Error) -> SealError {
        SealError::Rsa(error.to_string())
    }
}

impl From<der::Error> for SealError {
    fn from(error: der::Error) -> SealError {
        SealError::Der(error)
    }
}

/// Why `encrypt_data` could not be opened. Everything between "the envelope names us" and "the
/// decrypted bytes are a SignedData" is one error, [`OpenError::Undecryptable`], on purpose: a
/// finer answer there is a padding oracle.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("encrypt_data is longer than {max} characters")]
    TooLong { max: usize },
    #[error("encrypt_data is not Base64")]
    NotBase64,
    #[error("encrypt_data is not a DER CMS ContentInfo: {0}")]
    Malformed(der::Error),
    #[error("encrypt_data is not a CMS EnvelopedData")]
    NotEnvelopedData,
    #[error("the envelope is not addressed to our certificate")]
    NotForThisRecipient,
    #[error("the content key is not transported with RSA PKCS#1 v1.5")]
    UnsupportedKeyTransport,
    #[error("the content is not encrypted with DES-EDE3-CBC and an 8-byte IV")]
    UnsupportedContentEncryption,
    #[error("the envelope carries no encrypted content")]
    MissingEncryptedContent,
    #[error("the envelope does not decrypt to a CMS SignedData")]
    Undecryptable,
    #[error("the SignedData carries no attached id-data content")]
    MissingContent,
    #[error("the SignedData is not signed with the sender's certificate")]
    UnknownSigner,
    #[error("the SignedData embeds certificates but not the sender's own")]
    CertificateMismatch,
    #[error("the signature's digest is not SHA-1")]
    UnsupportedDigest,
    #[error("the signature is not RSA PKCS#1 v1.5")]
    UnsupportedSignatureAlgorithm,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the signed content is not UTF-8")]
    NotUtf8,
}

/// `encrypt_data` for `plain`: signed by `sender`, encrypted to `recipient`.
pub fn seal(
    plain: &str,
    sender: &Identity,
    recipient: &PeerCertificate,
    rng: &mut impl CryptoRngCore,
) -> Result<String, SealError> {
    let signed = signed_data(plain.as_bytes(), sender, rng)?;
    let enveloped = enveloped_data(&signed, recipient, rng)?;
    Ok(STANDARD.encode(enveloped))
}

/// The string inside `encrypt_data`, once it is known to be addressed to `recipient` and signed by
/// `sender`. `rng` blinds the RSA decryption (RUSTSEC-2023-0071).
pub fn open(
    encrypt_data_base64: &str,
    recipient: &Identity,
    sender: &PeerCertificate,
    rng: &mut impl CryptoRngCore,
) -> Result<String, OpenError> {
    if encrypt_data_base64.len() > MAX_ENCRYPT_DATA_BASE64_LENGTH {
        return Err(OpenError::TooLong { max: MAX_ENCRYPT_DATA_BASE64_LENGTH });
    }
    let cleaned: Vec<u8> = encrypt_data_base64
        .bytes()
        .filter(|byte| !matches!(byte, b'\r' | b'\n'))
        .map(|byte| if byte == b' ' { b'+' } else { byte })
        .collect();
    let envelope = LENIENT_BASE64.decode(cleaned).map_err(|_| OpenError::NotBase64)?;
    let signed = decrypt(&envelope, recipient, rng)?;
    let content = verify(&signed, sender)?;
    String::from_utf8(content).map_err(|_| OpenError::NotUtf8)
}

fn algorithm(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters }
}

/// DER of `ContentInfo(SignedData)` over `content`.
pub(crate) fn signed_data(
    content: &[u8],
    sender: &Identity,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    let digest = Sha1::digest(content);
    let signature = sender.private_key().sign_with_rng(rng, Pkcs1v15Sign::new::<Sha1>(), &digest)?;
    // RFC 5754 §2: the SHA-1 identifier's parameters SHOULD be absent.
    let sha1 = algorithm(ID_SHA1, None);
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(sender.issuer_and_serial().clone()),
        digest_alg: sha1.clone(),
        signed_attrs: None,
        signature_algorithm: algorithm(RSA_ENCRYPTION, Some(Any::null())),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let certificates = SetOfVec::try_from(vec![CertificateChoices::Certificate(sender.certificate().clone())])?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha1])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: Some(Any::encode_from(&OctetString::new(content)?)?),
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    Ok(ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? }.to_der()?)
}

/// DER of `ContentInfo(EnvelopedData)` carrying `content` for `recipient`.
pub(crate) fn enveloped_data(
    content: &[u8],
    recipient: &PeerCertificate,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    let mut content_key = Zeroizing::new([0u8; CONTENT_KEY_BYTES]);
    rng.fill_bytes(content_key.as_mut_slice());
    set_odd_parity(content_key.as_mut_slice());
    let mut iv = [0u8; IV_BYTES];
    rng.fill_bytes(&mut iv);

    let encryptor = cbc::Encryptor::<TdesEde3>::new(content_key.as_slice().into(), (&iv).into());
    let ciphertext = encryptor.encrypt_padded_vec_mut::<Pkcs7>(content);
    let encrypted_key = recipient.public_key().encrypt(rng, Pkcs1v15Encrypt, content_key.as_slice())?;

    let recipient_info = RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(recipient.issuer_and_serial().clone()),
        key_enc_alg: algorithm(RSA_ENCRYPTION, Some(Any::null())),
        enc_key: OctetString::new(encrypted_key)?,
    });
    let enveloped = EnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos(SetOfVec::try_from(vec![recipient_info])?),
        encrypted_content: EncryptedContentInfo {
            content_type: ID_DATA,
            content_enc_alg: algorithm(DES_EDE3_CBC, Some(Any::encode_from(&OctetString::new(iv)?)?)),
            encrypted_content: Some(OctetString::new(ciphertext)?),
        },
        unprotected_attrs: None,
    };
    Ok(ContentInfo { content_type: ID_ENVELOPED_DATA, content: Any::encode_from(&enveloped)? }.to_der()?)
}

/// DES keys carry a parity bit in each byte; JD's Java (and openssl) set it odd, so we do too.
fn set_odd_parity(key: &mut [u8]) {
    for byte in key {
        let high_bits = *byte & 0xfe;
        *byte = high_bits | u8::from(high_bits.count_ones() % 2 == 0);
    }
}

/// The `SignedData` inside a DER `ContentInfo(EnvelopedData)`.
fn decrypt(envelope: &[u8], recipient: &Identity, rng: &mut impl CryptoRngCore) -> Result<SignedData, OpenError> {
    let content_info = ContentInfo::from_der(envelope).map_err(OpenError::Malformed)?;
    if content_info.content_type != ID_ENVELOPED_DATA {
        return Err(OpenError::NotEnvelopedData);
    }
    let enveloped: EnvelopedData = content_info.content.decode_as().map_err(OpenError::Malformed)?;
    let ours = RecipientIdentifier::IssuerAndSerialNumber(recipient.issuer_and_serial().clone());
    let key_transport = enveloped
        .recip_infos
        .0
        .iter()
        .find_map(|info| match info {
            RecipientInfo::Ktri(key_transport) if key_transport.rid == ours => Some(key_transport),
            _ => None,
        })
        .ok_or(OpenError::NotForThisRecipient)?;
    if key_transport.key_enc_alg.oid != RSA_ENCRYPTION {
        return Err(OpenError::UnsupportedKeyTransport);
    }
    let encrypted = &enveloped.encrypted_content;
    if encrypted.content_enc_alg.oid != DES_EDE3_CBC {
        return Err(OpenError::UnsupportedContentEncryption);
    }
    let iv: [u8; IV_BYTES] = encrypted
        .content_enc_alg
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.decode_as::<OctetString>().ok())
        .and_then(|iv| iv.as_bytes().try_into().ok())
        .ok_or(OpenError::UnsupportedContentEncryption)?;
    let ciphertext = encrypted.encrypted_content.as_ref().ok_or(OpenError::MissingEncryptedContent)?.as_bytes();

    let content_key = content_key(key_transport.enc_key.as_bytes(), recipient, rng);
    let decryptor = cbc::Decryptor::<TdesEde3>::new(content_key.as_slice().into(), (&iv).into());
    let plain =
        Zeroizing::new(decryptor.decrypt_padded_vec_mut::<Pkcs7>(ciphertext).map_err(|_| OpenError::Undecryptable)?);
    let signed = ContentInfo::from_der(&plain).map_err(|_| OpenError::Undecryptable)?;
    if signed.content_type != ID_SIGNED_DATA {
        return Err(OpenError::Undecryptable);
    }
    signed.content.decode_as().map_err(|_| OpenError::Undecryptable)
}

/// The content key, or (if the RSA block does not decrypt to 24 bytes) a stand-in derived from a
/// secret and the encrypted key, so that a forged key block fails later, at the padding or the
/// structure, exactly like a forged ciphertext does (RFC 3218 §2.3, "implicit rejection").
fn content_key(
    encrypted_key: &[u8],
    recipient: &Identity,
    rng: &mut impl CryptoRngCore,
) -> Zeroizing<[u8; CONTENT_KEY_BYTES]> {
    let mut stand_in = Zeroizing::new([0u8; CONTENT_KEY_BYTES]);
    let derived: Zeroizing<[u8; 32]> = Zeroizing::new(
        Sha256::new_with_prefix(recipient.rejection_seed()).chain_update(encrypted_key).finalize().into(),
    );
    for (target, source) in stand_in.iter_mut().zip(derived.iter()) {
        *target = *source;
    }
    let decrypted = recipient.private_key().decrypt_blinded(rng, Pkcs1v15Encrypt, encrypted_key).map(Zeroizing::new);
    match decrypted {
        Ok(key) => match <[u8; CONTENT_KEY_BYTES]>::try_from(key.as_slice()) {
            Ok(key) => Zeroizing::new(key),
            Err(_) => stand_in,
        },
        Err(_) => stand_in,
    }
}

/// The content of `signed`, once the sender's signature over it is verified.
fn verify(signed: &SignedData, sender: &PeerCertificate) -> Result<Vec<u8>, OpenError> {
    let encapsulated = &signed.encap_content_info;
    if encapsulated.econtent_type != ID_DATA {
        return Err(OpenError::MissingContent);
    }
    let content = encapsulated
        .econtent
        .as_ref()
        .and_then(|content| content.decode_as::<OctetString>().ok())
        .ok_or(OpenError::MissingContent)?
        .into_bytes();

    let theirs = SignerIdentifier::IssuerAndSerialNumber(sender.issuer_and_serial().clone());
    let signer = signed.signer_infos.0.iter().find(|signer| signer.sid == theirs).ok_or(OpenError::UnknownSigner)?;
    if signer.digest_alg.oid != ID_SHA1 || !absent_or_null(&signer.digest_alg) {
        return Err(OpenError::UnsupportedDigest);
    }
    let signature_algorithm = &signer.signature_algorithm;
    if !(signature_algorithm.oid == RSA_ENCRYPTION || signature_algorithm.oid == SHA1_WITH_RSA_ENCRYPTION)
        || !absent_or_null(signature_algorithm)
    {
        return Err(OpenError::UnsupportedSignatureAlgorithm);
    }

    let content_digest = Sha1::digest(&content);
    let signed_digest = match &signer.signed_attrs {
        None => content_digest,
        Some(attributes) => {
            check_signed_attributes(attributes, &content_digest)?;
            // RFC 5652 §5.4: the signature covers the attributes' DER as an explicit SET OF.
            Sha1::digest(attributes.to_der().map_err(|_| OpenError::BadSignature)?)
        }
    };
    sender
        .public_key()
        .verify(Pkcs1v15Sign::new::<Sha1>(), &signed_digest, signer.signature.as_bytes())
        .map_err(|_| OpenError::BadSignature)?;
    // The embedded certificates are not signed, and the signature is checked against the pinned
    // certificate, not them; but 3DES-CBC has no integrity of its own, so a certificate that
    // differs from the pinned one is a damaged or altered envelope, and is refused as such.
    if let Some(certificates) = &signed.certificates {
        let pinned = CertificateChoices::Certificate(sender.certificate().clone());
        if !certificates.0.iter().any(|certificate| *certificate == pinned) {
            return Err(OpenError::CertificateMismatch);
        }
    }
    Ok(content)
}

fn absent_or_null(algorithm: &AlgorithmIdentifierOwned) -> bool {
    algorithm.parameters.as_ref().is_none_or(|parameters| parameters.is_null())
}

/// RFC 5652 §5.3 and §11: with signed attributes there must be exactly one content type, equal
/// to the content's, and exactly one message digest, equal to the content's digest.
fn check_signed_attributes(attributes: &SignedAttributes, content_digest: &[u8]) -> Result<(), OpenError> {
    let single_value = |oid: ObjectIdentifier| -> Option<&Any> {
        let mut matching = attributes.iter().filter(|attribute| attribute.oid == oid);
        let attribute = matching.next()?;
        if matching.next().is_some() || attribute.values.len() != 1 {
            return None;
        }
        attribute.values.iter().next()
    };
    let content_type = single_value(ID_CONTENT_TYPE).and_then(|value| value.decode_as::<ObjectIdentifier>().ok());
    let message_digest = single_value(ID_MESSAGE_DIGEST).and_then(|value| value.decode_as::<OctetString>().ok());
    match (content_type, message_digest) {
        (Some(content_type), Some(digest)) if content_type == ID_DATA && digest.as_bytes() == content_digest => Ok(()),
        _ => Err(OpenError::BadSignature),
    }
}
