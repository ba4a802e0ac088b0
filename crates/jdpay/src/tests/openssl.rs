//! The envelope against the `openssl` CLI, both ways: what we seal openssl decrypts and verifies,
//! and what openssl signs and encrypts (with and without signed attributes) we open. This is what
//! shows the format is standard CMS, not something only our own parser reads. Skipped, with a
//! note, where `openssl` is not installed.
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::{Engine, engine::general_purpose::STANDARD};
use der::{Encode, EncodePem};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};

use super::parties;
use crate::envelope::{open, seal};
use crate::keys::Identity;

const PLAIN: &str = "customer_no=360080000001&out_trade_no=PO_1&trade_amount=1&trade_subject=结算款";

fn openssl_available() -> bool {
    let available = Command::new("openssl").arg("version").output().is_ok_and(|output| output.status.success());
    if !available {
        eprintln!("note: openssl is not installed; the CMS interoperability test is skipped");
    }
    available
}

/// A fresh directory for one test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let directory = std::env::temp_dir().join(format!("jdpay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn write(&self, file: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn write_identity(&self, name: &str, identity: &Identity) -> (PathBuf, PathBuf) {
        let key = identity.private_key().to_pkcs8_pem(LineEnding::LF).unwrap();
        let certificate = identity.certificate().to_pem(LineEnding::LF).unwrap();
        (self.write(&format!("{name}.key"), key.as_bytes()), self.write(&format!("{name}.pem"), certificate.as_bytes()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(arguments: &[&dyn AsRef<std::ffi::OsStr>]) {
    let output = Command::new("openssl").args(arguments.iter().map(|argument| argument.as_ref())).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {:?} failed:\n{}",
        arguments.iter().map(|argument| argument.as_ref().to_string_lossy().into_owned()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn path(path: &Path) -> &std::ffi::OsStr {
    path.as_os_str()
}

#[test]
fn openssl_decrypts_and_verifies_what_we_seal() {
    if !openssl_available() {
        return;
    }
    let parties = parties();
    let scratch = Scratch::new("to-openssl");
    let (jd_key, jd_certificate) = scratch.write_identity("jd", &parties.jd);
    let (_, merchant_certificate) = scratch.write_identity("merchant", &parties.merchant);

    let sealed = seal(PLAIN, &parties.merchant, &parties.jd.peer_certificate(), &mut rand::thread_rng()).unwrap();
    let envelope = scratch.write("envelope.der", &STANDARD.decode(sealed).unwrap());
    let signed = scratch.path("signed.der");
    let content = scratch.path("content.txt");
    openssl(&[
        &"cms",
        &"-decrypt",
        &"-binary",
        &"-inform",
        &"DER",
        &"-in",
        &path(&envelope),
        &"-recip",
        &path(&jd_certificate),
        &"-inkey",
        &path(&jd_key),
        &"-out",
        &path(&signed),
    ]);
    // The merchant's self-signed certificate is the trust anchor: the chain is checked too.
    openssl(&[
        &"cms",
        &"-verify",
        &"-binary",
        &"-inform",
        &"DER",
        &"-in",
        &path(&signed),
        &"-CAfile",
        &path(&merchant_certificate),
        &"-out",
        &path(&content),
    ]);
    assert_eq!(std::fs::read_to_string(&content).unwrap(), PLAIN);
}

#[test]
fn we_open_what_openssl_signs_and_encrypts() {
    if !openssl_available() {
        return;
    }
    let parties = parties();
    let scratch = Scratch::new("from-openssl");
    let (_, jd_certificate) = scratch.write_identity("jd", &parties.jd);
    let (merchant_key, merchant_certificate) = scratch.write_identity("merchant", &parties.merchant);
    let content = scratch.write("content.txt", PLAIN.as_bytes());

    // `-noattr`: signed over the content, as JD's demos and `seal` do; without it openssl adds
    // signed attributes (content type, signing time, message digest, S/MIME capabilities).
    for attributes in [&["-noattr"][..], &[][..]] {
        let signed = scratch.path("signed.der");
        let envelope = scratch.path("envelope.der");
        let mut sign: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"cms",
            &"-sign",
            &"-binary",
            &"-nodetach",
            &"-md",
            &"sha1",
            &"-signer",
            &merchant_certificate,
            &"-inkey",
            &merchant_key,
            &"-in",
            &content,
            &"-outform",
            &"DER",
            &"-out",
            &signed,
        ];
        sign.extend(attributes.iter().map(|argument| argument as &dyn AsRef<std::ffi::OsStr>));
        openssl(&sign);
        openssl(&[
            &"cms",
            &"-encrypt",
            &"-binary",
            &"-des3",
            &"-in",
            &signed,
            &"-outform",
            &"DER",
            &"-out",
            &envelope,
            &jd_certificate,
        ]);
        let encrypt_data = STANDARD.encode(std::fs::read(&envelope).unwrap());
        let opened = open(&encrypt_data, &parties.jd, &parties.merchant.peer_certificate(), &mut rand::thread_rng());
        assert_eq!(opened.as_deref(), Ok(PLAIN), "openssl cms -sign {attributes:?}");
    }

    // The certificate we generate is one openssl reads, too.
    let der = scratch.write("merchant.der", &parties.merchant.certificate().to_der().unwrap());
    openssl(&[&"x509", &"-inform", &"DER", &"-in", &der, &"-noout", &"-subject"]);
}
