//! `liquidator keygen`: an RSA key pair for a client of the gateway.
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use rsa::{
    RsaPrivateKey, RsaPublicKey,
    pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding},
};

/// Smaller keys are refused everywhere on the platform.
pub const MIN_KEY_BITS: usize = 2048;

pub struct KeyFiles {
    pub private_key_path: PathBuf,
    pub public_key_path: PathBuf,
    /// The public key as one Base64 line (what Alipay-style SDKs take).
    pub public_key_base64: String,
}

/// Writes `<name>_private_key.pem` (mode 0600) and `<name>_public_key.pem` into `folder`.
pub fn write_key_pair(folder: &Path, name: &str, bits: usize) -> anyhow::Result<KeyFiles> {
    anyhow::ensure!(bits >= MIN_KEY_BITS, "keys must have at least {MIN_KEY_BITS} bits");
    anyhow::ensure!(bits <= 8192, "keys above 8192 bits are not supported");
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "name may contain only letters, digits, '_' and '-'"
    );
    fs::create_dir_all(folder).with_context(|| format!("could not create {}", folder.display()))?;
    let private_key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).context("key generation failed")?;
    let public_key = RsaPublicKey::from(&private_key);
    let private_pem = private_key.to_pkcs8_pem(LineEnding::LF).context("could not encode the private key")?;
    let public_pem = public_key.to_public_key_pem(LineEnding::LF).context("could not encode the public key")?;
    let private_key_path = folder.join(format!("{name}_private_key.pem"));
    let public_key_path = folder.join(format!("{name}_public_key.pem"));
    write_private(&private_key_path, private_pem.as_bytes())?;
    fs::write(&public_key_path, &public_pem)
        .with_context(|| format!("could not write {}", public_key_path.display()))?;
    let public_key_base64 = public_pem.lines().filter(|line| !line.starts_with("-----")).collect();
    Ok(KeyFiles {
        private_key_path: absolute(&private_key_path)?,
        public_key_path: absolute(&public_key_path)?,
        public_key_base64,
    })
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(std::path::absolute(path)?)
}

/// Created with 0600 from the start, so the key is never readable by others, even briefly.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
    }
    let mut file = options.open(path).with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};

    use super::*;

    #[test]
    fn writes_a_usable_pair_with_private_permissions() {
        let folder = std::env::temp_dir().join(format!("liq-keygen-{}", uuid::Uuid::new_v4()));
        let files = write_key_pair(&folder, "client", 2048).unwrap();
        let private_key = RsaPrivateKey::read_pkcs8_pem_file(&files.private_key_path).unwrap();
        let public_key = RsaPublicKey::read_public_key_pem_file(&files.public_key_path).unwrap();
        assert_eq!(RsaPublicKey::from(&private_key), public_key);
        assert!(!files.public_key_base64.contains('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&files.private_key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_key_pair(&folder, "client", 1024).is_err());
        assert!(write_key_pair(&folder, "../escape", 2048).is_err());
        fs::remove_dir_all(folder).unwrap();
    }
}
