//! Envelope encryption of PII fields. Each account has its own data key (AES-256-GCM);
//! the key-encryption key (`ENCRYPTION_KEY`) only wraps data keys, and wrapped keys live in
//! the database. Rotating the KEK re-wraps data keys; destroying one account's data key
//! makes that account's ciphertexts unreadable everywhere (crypto-shredding).

mod envelope;

pub use envelope::{key_id_of, CryptoError, DataKey, Kek, KekRing, KeyRing, WrappedKey};

use std::path::Path;

/// Where embedded mode keeps its generated KEK when `ENCRYPTION_KEY` is unset.
pub const EMBEDDED_KEY_FILE: &str = "encryption.key";

/// Embedded mode only: reads the KEK from `dir`, creating it once (mode 0600) if absent.
/// Returns the key and whether it was created now.
pub fn load_or_create_embedded_kek(dir: &Path) -> std::io::Result<([u8; 32], bool)> {
    use base64::Engine as _;
    let path = dir.join(EMBEDDED_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "key file is not base64")
            })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "key file is not 32 bytes")
        })?;
        return Ok((key, false));
    }
    std::fs::create_dir_all(dir)?;
    let key: [u8; 32] = rand::random();
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            Ok((key, true))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_embedded_kek(dir),
        Err(e) => Err(e),
    }
}
