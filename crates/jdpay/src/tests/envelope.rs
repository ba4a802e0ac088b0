//! `encrypt_data`: sealing and opening, and every way an envelope is refused.
use base64::{Engine, engine::general_purpose::STANDARD};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{EnvelopedData, RecipientInfo};
use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use rsa::Pkcs1v15Sign;
use rsa::traits::PrivateKeyParts;
use sha1::{Digest, Sha1};
use x509_cert::attr::Attribute;

use super::parties;
use crate::envelope::{MAX_ENCRYPT_DATA_BASE64_LENGTH, OpenError, enveloped_data, open, seal, signed_data};
use crate::keys::{Identity, PeerCertificate};

const PLAIN: &str = "customer_no=360080000001&notify_url=https://x.example/n?a=1&trade_subject=结算款";

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
const AES_128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

fn merchant_to_jd(plain: &str) -> String {
    let parties = parties();
    seal(plain, &parties.merchant, &parties.jd.peer_certificate(), &mut rand::thread_rng()).expect("seal")
}

fn jd_opens(encrypt_data: &str) -> Result<String, OpenError> {
    let parties = parties();
    open(encrypt_data, &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng())
}

fn envelope_parts(encrypt_data: &str) -> EnvelopedData {
    let der = STANDARD.decode(encrypt_data).unwrap();
    ContentInfo::from_der(&der).unwrap().content.decode_as().unwrap()
}

fn reassemble(enveloped: &EnvelopedData) -> String {
    let content_info = ContentInfo { content_type: ID_ENVELOPED_DATA, content: Any::encode_from(enveloped).unwrap() };
    STANDARD.encode(content_info.to_der().unwrap())
}

/// Envelope a SignedData that a test has taken apart and changed.
fn envelope_signed_data(signed: &SignedData) -> String {
    let content_info = ContentInfo {
        content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2"),
        content: Any::encode_from(signed).unwrap(),
    };
    let der =
        enveloped_data(&content_info.to_der().unwrap(), &parties().jd.peer_certificate(), &mut rand::thread_rng())
            .unwrap();
    STANDARD.encode(der)
}

fn signed_by(plain: &str, sender: &Identity) -> SignedData {
    let der = signed_data(plain.as_bytes(), sender, &mut rand::thread_rng()).unwrap();
    ContentInfo::from_der(&der).unwrap().content.decode_as().unwrap()
}

#[test]
fn what_is_sealed_opens_to_the_same_string_both_ways() {
    assert_eq!(jd_opens(&merchant_to_jd(PLAIN)).unwrap(), PLAIN);
    assert_eq!(jd_opens(&merchant_to_jd("")).unwrap(), "");
    let long = "a=".to_owned() + &"长".repeat(2000);
    assert_eq!(jd_opens(&merchant_to_jd(&long)).unwrap(), long);

    let parties = parties();
    let mut rng = rand::thread_rng();
    let back = seal(PLAIN, &parties.jd, &parties.merchant.peer_certificate(), &mut rng).unwrap();
    assert_eq!(open(&back, &parties.merchant, &parties.jd.peer_certificate(), &mut rng).unwrap(), PLAIN);
}

#[test]
fn each_envelope_has_a_fresh_key_and_iv() {
    assert_ne!(merchant_to_jd(PLAIN), merchant_to_jd(PLAIN));
}

#[test]
fn the_envelope_has_the_documented_shape() {
    let parties = parties();
    let enveloped = envelope_parts(&merchant_to_jd(PLAIN));
    assert_eq!(enveloped.recip_infos.0.len(), 1);
    let Some(RecipientInfo::Ktri(key_transport)) = enveloped.recip_infos.0.iter().next() else {
        panic!("one key transport recipient");
    };
    let jd_certificate = &parties.jd.certificate().tbs_certificate;
    let cms::enveloped_data::RecipientIdentifier::IssuerAndSerialNumber(rid) = &key_transport.rid else {
        panic!("named by issuer and serial number");
    };
    assert_eq!(rid.serial_number, jd_certificate.serial_number);
    assert_eq!(rid.issuer, jd_certificate.issuer);
    assert_eq!(key_transport.key_enc_alg.oid.to_string(), "1.2.840.113549.1.1.1");
    let algorithm = &enveloped.encrypted_content.content_enc_alg;
    assert_eq!(algorithm.oid.to_string(), "1.2.840.113549.3.7");
    let iv: OctetString = algorithm.parameters.as_ref().unwrap().decode_as().unwrap();
    assert_eq!(iv.as_bytes().len(), 8);
    assert_eq!(enveloped.encrypted_content.content_type, ID_DATA);

    let signed = signed_by(PLAIN, &parties.merchant);
    let signer = signed.signer_infos.0.iter().next().unwrap();
    assert_eq!(signer.digest_alg.oid.to_string(), "1.3.14.3.2.26");
    assert!(signer.signed_attrs.is_none());
    assert_eq!(signed.certificates.as_ref().map(|certificates| certificates.0.len()), Some(1));
}

/// 3DES-CBC has no integrity of its own: a flipped ciphertext byte garbles one 8-byte block and
/// flips a bit in the next. Every block must be covered by a check: the signature for the content
/// and the signature itself, the pinned certificate for the embedded one, the structure for the
/// rest. A stride of 5 reaches every offset within a block.
#[test]
fn a_tampered_ciphertext_is_refused_wherever_it_is_changed() {
    let sealed = merchant_to_jd(PLAIN);
    let length = envelope_parts(&sealed).encrypted_content.encrypted_content.unwrap().as_bytes().len();
    for position in (0..length).step_by(5).chain([length - 1]) {
        let mut enveloped = envelope_parts(&sealed);
        let mut bytes = enveloped.encrypted_content.encrypted_content.unwrap().into_bytes();
        bytes[position] ^= 0x01;
        enveloped.encrypted_content.encrypted_content = Some(OctetString::new(bytes).unwrap());
        let opened = jd_opens(&reassemble(&enveloped));
        assert!(
            matches!(
                opened,
                Err(OpenError::Undecryptable
                    | OpenError::BadSignature
                    | OpenError::CertificateMismatch
                    | OpenError::UnknownSigner)
            ),
            "byte {position} of {length}: {opened:?}"
        );
    }
}

#[test]
fn an_embedded_certificate_other_than_the_senders_is_refused() {
    let parties = parties();
    let mut signed = signed_by(PLAIN, &parties.merchant);
    let impostor = CertificateChoices::Certificate(parties.impostor.certificate().clone());
    signed.certificates = Some(CertificateSet(SetOfVec::try_from(vec![impostor]).unwrap()));
    assert_eq!(jd_opens(&envelope_signed_data(&signed)), Err(OpenError::CertificateMismatch));
    // No certificates at all is fine: the pinned one is used either way.
    signed.certificates = None;
    assert_eq!(jd_opens(&envelope_signed_data(&signed)).as_deref(), Ok(PLAIN));
}

#[test]
fn a_tampered_content_key_fails_like_a_tampered_ciphertext() {
    let sealed = merchant_to_jd(PLAIN);
    for position in [0, 1, 100, 255] {
        let mut enveloped = envelope_parts(&sealed);
        let infos: Vec<RecipientInfo> = enveloped.recip_infos.0.into_vec();
        let changed: Vec<RecipientInfo> = infos
            .into_iter()
            .map(|info| match info {
                RecipientInfo::Ktri(mut key_transport) => {
                    let mut key = key_transport.enc_key.into_bytes();
                    key[position] ^= 0x80;
                    key_transport.enc_key = OctetString::new(key).unwrap();
                    RecipientInfo::Ktri(key_transport)
                }
                other => other,
            })
            .collect();
        enveloped.recip_infos.0 = SetOfVec::try_from(changed).unwrap();
        assert_eq!(jd_opens(&reassemble(&enveloped)), Err(OpenError::Undecryptable), "byte {position}");
    }
}

#[test]
fn an_envelope_for_another_recipient_is_refused() {
    let parties = parties();
    let mut rng = rand::thread_rng();
    let for_impostor = seal(PLAIN, &parties.merchant, &parties.impostor.peer_certificate(), &mut rng).unwrap();
    assert_eq!(jd_opens(&for_impostor), Err(OpenError::NotForThisRecipient));
    let for_jd = merchant_to_jd(PLAIN);
    let opened = open(&for_jd, &parties.impostor, &parties.merchant.peer_certificate(), &mut rng);
    assert_eq!(opened, Err(OpenError::NotForThisRecipient));
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let parties = parties();
    // Signed by someone else, under their own name: not the signer we expect.
    let by_impostor = seal(PLAIN, &parties.impostor, &parties.jd.peer_certificate(), &mut rand::thread_rng()).unwrap();
    assert_eq!(jd_opens(&by_impostor), Err(OpenError::UnknownSigner));

    // Signed by someone else, claiming to be the merchant.
    let mut forged = signed_by(PLAIN, &parties.impostor);
    let merchant = SignerIdentifier::IssuerAndSerialNumber(parties.merchant.issuer_and_serial().clone());
    let mut signers = forged.signer_infos.0.into_vec();
    signers[0].sid = merchant;
    forged.signer_infos.0 = SetOfVec::try_from(signers).unwrap();
    assert_eq!(jd_opens(&envelope_signed_data(&forged)), Err(OpenError::BadSignature));
}

#[test]
fn a_changed_signature_or_content_is_refused() {
    let parties = parties();
    let mut signed = signed_by(PLAIN, &parties.merchant);
    let mut signers = signed.signer_infos.0.into_vec();
    let mut signature = signers[0].signature.as_bytes().to_vec();
    signature[10] ^= 0x01;
    signers[0].signature = OctetString::new(signature).unwrap();
    signed.signer_infos.0 = SetOfVec::try_from(signers).unwrap();
    assert_eq!(jd_opens(&envelope_signed_data(&signed)), Err(OpenError::BadSignature));

    let mut signed = signed_by(PLAIN, &parties.merchant);
    let other = Any::encode_from(&OctetString::new(b"customer_no=360080000002".to_vec()).unwrap()).unwrap();
    signed.encap_content_info.econtent = Some(other);
    assert_eq!(jd_opens(&envelope_signed_data(&signed)), Err(OpenError::BadSignature));

    let mut detached = signed_by(PLAIN, &parties.merchant);
    detached.encap_content_info.econtent = None;
    assert_eq!(jd_opens(&envelope_signed_data(&detached)), Err(OpenError::MissingContent));
}

/// RFC 5652 §5.4: with signed attributes the signature covers them, and their message digest
/// must be the content's. openssl signs this way by default.
#[test]
fn signed_attributes_are_verified_when_present() {
    let parties = parties();
    let with_attributes = |digest: &[u8]| {
        let mut signed = signed_by(PLAIN, &parties.merchant);
        let content_type = Attribute {
            oid: ID_CONTENT_TYPE,
            values: SetOfVec::try_from(vec![Any::encode_from(&ID_DATA).unwrap()]).unwrap(),
        };
        let message_digest = Attribute {
            oid: ID_MESSAGE_DIGEST,
            values: SetOfVec::try_from(vec![Any::encode_from(&OctetString::new(digest).unwrap()).unwrap()]).unwrap(),
        };
        let attributes = SetOfVec::try_from(vec![content_type, message_digest]).unwrap();
        let signed_digest = Sha1::digest(attributes.to_der().unwrap());
        let signature = parties
            .merchant
            .private_key()
            .sign_with_rng(&mut rand::thread_rng(), Pkcs1v15Sign::new::<Sha1>(), &signed_digest)
            .unwrap();
        let mut signers = signed.signer_infos.0.into_vec();
        signers[0].signed_attrs = Some(attributes);
        signers[0].signature = OctetString::new(signature).unwrap();
        signed.signer_infos.0 = SetOfVec::try_from(signers).unwrap();
        jd_opens(&envelope_signed_data(&signed))
    };
    assert_eq!(with_attributes(&Sha1::digest(PLAIN.as_bytes())).as_deref(), Ok(PLAIN));
    assert_eq!(with_attributes(&Sha1::digest(b"something else")), Err(OpenError::BadSignature));
}

#[test]
fn other_algorithms_are_refused() {
    let sealed = merchant_to_jd(PLAIN);

    let mut aes = envelope_parts(&sealed);
    aes.encrypted_content.content_enc_alg.oid = AES_128_CBC;
    assert_eq!(jd_opens(&reassemble(&aes)), Err(OpenError::UnsupportedContentEncryption));

    let mut no_iv = envelope_parts(&sealed);
    no_iv.encrypted_content.content_enc_alg.parameters = None;
    assert_eq!(jd_opens(&reassemble(&no_iv)), Err(OpenError::UnsupportedContentEncryption));

    let mut no_content = envelope_parts(&sealed);
    no_content.encrypted_content.encrypted_content = None;
    assert_eq!(jd_opens(&reassemble(&no_content)), Err(OpenError::MissingEncryptedContent));

    let mut oaep = envelope_parts(&sealed);
    let changed: Vec<RecipientInfo> = oaep
        .recip_infos
        .0
        .into_vec()
        .into_iter()
        .map(|info| match info {
            RecipientInfo::Ktri(mut key_transport) => {
                key_transport.key_enc_alg.oid = RSAES_OAEP;
                RecipientInfo::Ktri(key_transport)
            }
            other => other,
        })
        .collect();
    oaep.recip_infos.0 = SetOfVec::try_from(changed).unwrap();
    assert_eq!(jd_opens(&reassemble(&oaep)), Err(OpenError::UnsupportedKeyTransport));

    let mut sha256 = signed_by(PLAIN, &parties().merchant);
    let mut signers = sha256.signer_infos.0.into_vec();
    signers[0].digest_alg.oid = SHA256;
    sha256.signer_infos.0 = SetOfVec::try_from(signers).unwrap();
    assert_eq!(jd_opens(&envelope_signed_data(&sha256)), Err(OpenError::UnsupportedDigest));

    let mut ecdsa = signed_by(PLAIN, &parties().merchant);
    let mut signers = ecdsa.signer_infos.0.into_vec();
    signers[0].signature_algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    ecdsa.signer_infos.0 = SetOfVec::try_from(signers).unwrap();
    assert_eq!(jd_opens(&envelope_signed_data(&ecdsa)), Err(OpenError::UnsupportedSignatureAlgorithm));
}

#[test]
fn garbage_is_refused_with_a_reason() {
    assert!(matches!(jd_opens(""), Err(OpenError::Malformed(_))));
    assert_eq!(jd_opens("!!! not base64 !!!"), Err(OpenError::NotBase64));
    assert!(matches!(jd_opens(&STANDARD.encode([0x30, 0x82, 0xff, 0xff, 0x01])), Err(OpenError::Malformed(_))));
    let random: Vec<u8> = (0..300u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(matches!(jd_opens(&STANDARD.encode(random)), Err(OpenError::Malformed(_))));
    let too_long = "A".repeat(MAX_ENCRYPT_DATA_BASE64_LENGTH + 4);
    assert_eq!(jd_opens(&too_long), Err(OpenError::TooLong { max: MAX_ENCRYPT_DATA_BASE64_LENGTH }));

    // A SignedData where an EnvelopedData belongs.
    let signed = signed_data(PLAIN.as_bytes(), &parties().merchant, &mut rand::thread_rng()).unwrap();
    assert_eq!(jd_opens(&STANDARD.encode(signed)), Err(OpenError::NotEnvelopedData));

    // Truncated anywhere: never opens.
    let der = STANDARD.decode(merchant_to_jd(PLAIN)).unwrap();
    for length in [1, 2, 10, der.len() / 2, der.len() - 1] {
        assert!(jd_opens(&STANDARD.encode(&der[..length])).is_err(), "truncated to {length}");
    }
    // Trailing bytes after the DER are refused too.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(jd_opens(&STANDARD.encode(trailing)), Err(OpenError::Malformed(_))));
}

#[test]
fn base64_as_forms_mangle_it_still_opens() {
    let sealed = merchant_to_jd(PLAIN);
    // A '+' that arrived as a space, line breaks from a MIME encoder, padding stripped.
    let mangled: String = sealed
        .replace('+', " ")
        .chars()
        .enumerate()
        .flat_map(
            |(index, character)| {
                if index > 0 && index % 64 == 0 { vec!['\r', '\n', character] } else { vec![character] }
            },
        )
        .collect::<String>()
        .trim_end_matches('=')
        .to_owned();
    assert_eq!(jd_opens(&mangled).unwrap(), PLAIN);
}

#[test]
fn keys_and_certificates_load_from_pem_and_der_and_must_match() {
    use der::EncodePem;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    let parties = parties();
    let key_pem = parties.merchant.private_key().to_pkcs8_pem(LineEnding::LF).unwrap();
    let certificate_pem = parties.merchant.certificate().to_pem(LineEnding::LF).unwrap();
    let certificate_der = parties.merchant.certificate().to_der().unwrap();

    let from_pem = Identity::from_pem(&key_pem, certificate_pem.as_bytes()).unwrap();
    let from_der = Identity::from_pem(&key_pem, &certificate_der).unwrap();
    assert_eq!(from_pem.certificate(), parties.merchant.certificate());
    assert_eq!(from_der.certificate(), parties.merchant.certificate());
    assert_eq!(
        PeerCertificate::load(certificate_pem.as_bytes()).unwrap().public_key(),
        &parties.merchant.private_key().to_public_key()
    );

    // JD's certificate with the merchant's key: refused.
    let jd_pem = parties.jd.certificate().to_pem(LineEnding::LF).unwrap();
    assert_eq!(Identity::from_pem(&key_pem, jd_pem.as_bytes()).unwrap_err(), crate::keys::KeyError::KeyMismatch);
    assert_eq!(Identity::from_pem("not a key", jd_pem.as_bytes()).unwrap_err(), crate::keys::KeyError::PrivateKey);
    assert_eq!(PeerCertificate::load(b"not a certificate").unwrap_err(), crate::keys::KeyError::Certificate);

    // Debug output names the subject, never the key.
    let debug = format!("{:?}", parties.merchant);
    assert!(debug.contains("merchant"), "{debug}");
    let private_exponent = parties.merchant.private_key().d().to_string();
    assert!(!debug.contains(&private_exponent[..20]), "{debug}");
}
