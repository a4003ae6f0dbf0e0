use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

const NONCE_LEN: usize = 12;
const CIPHERTEXT_VERSION: &str = "v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext was made with key {found}, not {expected}")]
    WrongKey { found: String, expected: String },
    #[error("authentication failed (wrong key or tampered data)")]
    Authentication,
}

/// The key-encryption key. Its id is a digest of the key, so the database can record which
/// KEK wrapped each data key without holding anything secret.
pub struct Kek {
    id: String,
    cipher: Aes256Gcm,
}

impl Kek {
    pub fn new(key: &[u8; 32]) -> Self {
        let id = format!("kek-{}", hex::encode(&Sha256::digest(key)[..4]));
        Self {
            id,
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn wrap(&self, dk: &DataKey) -> WrappedKey {
        let wrapped = seal(&self.cipher, &dk.secret, dk.key_id.as_bytes());
        WrappedKey {
            key_id: dk.key_id.clone(),
            kek_id: self.id.clone(),
            wrapped,
        }
    }

    pub fn unwrap(&self, w: &WrappedKey) -> Result<DataKey, CryptoError> {
        if w.kek_id != self.id {
            return Err(CryptoError::WrongKey {
                found: w.kek_id.clone(),
                expected: self.id.clone(),
            });
        }
        let secret: [u8; 32] = open(&self.cipher, &w.wrapped, w.key_id.as_bytes())?
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(DataKey::from_parts(w.key_id.clone(), secret))
    }
}

/// The current KEK plus earlier ones still accepted for unwrapping, so a KEK rotation
/// needs no downtime: keys wrapped by an old KEK stay readable until `pipeline reencrypt`
/// has re-wrapped them under the current one.
pub struct KekRing {
    current: Kek,
    previous: Vec<Kek>,
}

impl KekRing {
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        let current = Kek::new(current);
        let previous = previous
            .iter()
            .map(Kek::new)
            .filter(|k| k.id != current.id)
            .collect();
        Self { current, previous }
    }

    pub fn current(&self) -> &Kek {
        &self.current
    }

    /// Ids of every KEK in the ring, current first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(Kek::id)
            .collect()
    }

    /// New data keys are always wrapped by the current KEK.
    pub fn wrap(&self, dk: &DataKey) -> WrappedKey {
        self.current.wrap(dk)
    }

    pub fn unwrap(&self, w: &WrappedKey) -> Result<DataKey, CryptoError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == w.kek_id)
            .ok_or_else(|| CryptoError::WrongKey {
                found: w.kek_id.clone(),
                expected: self.ids().join(","),
            })?
            .unwrap(w)
    }

    /// The same data key wrapped by the current KEK; `None` if it already is.
    pub fn rewrap(&self, w: &WrappedKey) -> Result<Option<WrappedKey>, CryptoError> {
        if w.kek_id == self.current.id {
            return Ok(None);
        }
        Ok(Some(self.current.wrap(&self.unwrap(w)?)))
    }
}

/// A data key as stored: wrapped by the KEK named by `kek_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub key_id: String,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

/// One account's data key.
pub struct DataKey {
    key_id: String,
    secret: [u8; 32],
    cipher: Aes256Gcm,
}

impl DataKey {
    pub fn generate() -> Self {
        let id: [u8; 8] = rand::random();
        Self::from_parts(format!("dk-{}", hex::encode(id)), rand::random())
    }

    fn from_parts(key_id: String, secret: [u8; 32]) -> Self {
        let cipher = Aes256Gcm::new((&secret).into());
        Self {
            key_id,
            secret,
            cipher,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `context` (account and field) is bound as associated data, so a ciphertext moved to
    /// another account or column fails to decrypt.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let sealed = seal(&self.cipher, plaintext.as_bytes(), context.as_bytes());
        format!(
            "{CIPHERTEXT_VERSION}:{}:{}",
            self.key_id,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sealed)
        )
    }

    pub fn decrypt(&self, ciphertext: &str, context: &str) -> Result<String, CryptoError> {
        let mut parts = ciphertext.splitn(3, ':');
        let (Some(CIPHERTEXT_VERSION), Some(key_id), Some(body)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        if key_id != self.key_id {
            return Err(CryptoError::WrongKey {
                found: key_id.to_owned(),
                expected: self.key_id.clone(),
            });
        }
        let sealed = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        let plain = open(&self.cipher, &sealed, context.as_bytes())?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
    }
}

/// The key id a ciphertext names, without decrypting it.
pub fn key_id_of(ciphertext: &str) -> Option<&str> {
    let mut parts = ciphertext.splitn(3, ':');
    (parts.next()? == CIPHERTEXT_VERSION).then_some(())?;
    parts.next()
}

fn seal(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_LEN] = rand::random();
    let nonce = Nonce::from_slice(&nonce_bytes);
    // AES-GCM encryption only fails for inputs over 64 GiB; our fields are bounded far below.
    let ct = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encrypt of a bounded field");
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    out
}

fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::Authentication)
}

/// Unwrapped data keys by account, loaded by the runtime for the accounts in a batch.
#[derive(Default)]
pub struct KeyRing {
    keys: HashMap<String, Arc<DataKey>>,
}

impl KeyRing {
    /// Bound on cached keys; past it the cache starts over (keys reload from the store).
    pub const MAX_CACHED: usize = 200_000;

    pub fn get(&self, account: &str) -> Option<&Arc<DataKey>> {
        self.keys.get(account)
    }

    pub fn contains(&self, account: &str) -> bool {
        self.keys.contains_key(account)
    }

    pub fn insert(&mut self, account: String, key: DataKey) {
        if self.keys.len() >= Self::MAX_CACHED {
            self.keys.clear();
        }
        self.keys.insert(account, Arc::new(key));
    }

    pub fn forget(&mut self, account: &str) {
        self.keys.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_field_round_trip() {
        let kek = Kek::new(&[7u8; 32]);
        let dk = DataKey::generate();
        let ct = dk.encrypt("jane@example.com", "acct-1/email");
        assert!(!ct.contains("jane"));
        assert_eq!(key_id_of(&ct), Some(dk.key_id()));
        let back = kek.unwrap(&kek.wrap(&dk)).expect("unwrap");
        assert_eq!(
            back.decrypt(&ct, "acct-1/email").expect("decrypt"),
            "jane@example.com"
        );
    }

    #[test]
    fn tampering_wrong_context_and_wrong_kek_are_detected() {
        let kek = Kek::new(&[7u8; 32]);
        let dk = DataKey::generate();
        let ct = dk.encrypt("4111111111111111", "a/card");
        assert_eq!(dk.decrypt(&ct, "b/card"), Err(CryptoError::Authentication));
        let mut bad = ct.clone();
        bad.pop();
        bad.push(if ct.ends_with('A') { 'B' } else { 'A' });
        assert!(dk.decrypt(&bad, "a/card").is_err());
        assert_eq!(
            dk.decrypt("nonsense", "a/card"),
            Err(CryptoError::Malformed)
        );
        let other = Kek::new(&[8u8; 32]);
        assert!(matches!(
            other.unwrap(&kek.wrap(&dk)),
            Err(CryptoError::WrongKey { .. })
        ));
        let mut w = kek.wrap(&dk);
        w.wrapped[NONCE_LEN] ^= 1;
        assert_eq!(kek.unwrap(&w).err(), Some(CryptoError::Authentication));
    }

    #[test]
    fn ring_unwraps_old_keys_and_rewraps_them_under_the_current_kek() {
        let old = KekRing::new(&[1u8; 32], &[]);
        let dk = DataKey::generate();
        let ct = dk.encrypt("DE89370400440532013000", "a/iban");
        let stored = old.wrap(&dk);
        let rotated = KekRing::new(&[2u8; 32], &[[1u8; 32]]);
        assert_eq!(rotated.ids().len(), 2);
        let via_old = rotated.unwrap(&stored).expect("old KEK still in the ring");
        assert_eq!(
            via_old.decrypt(&ct, "a/iban").as_deref(),
            Ok("DE89370400440532013000")
        );
        let moved = rotated
            .rewrap(&stored)
            .expect("rewrap")
            .expect("was under the old KEK");
        assert_eq!(moved.kek_id, rotated.current().id());
        assert_eq!(moved.key_id, stored.key_id);
        assert_eq!(rotated.rewrap(&moved), Ok(None));
        // Once the old KEK leaves the ring, only the re-wrapped key is readable.
        let only_new = KekRing::new(&[2u8; 32], &[]);
        assert!(matches!(
            only_new.unwrap(&stored),
            Err(CryptoError::WrongKey { .. })
        ));
        let dk2 = only_new.unwrap(&moved).expect("re-wrapped key");
        assert_eq!(
            dk2.decrypt(&ct, "a/iban").as_deref(),
            Ok("DE89370400440532013000")
        );
    }

    #[test]
    fn same_plaintext_encrypts_differently() {
        let dk = DataKey::generate();
        assert_ne!(dk.encrypt("x", "c"), dk.encrypt("x", "c"));
    }
}
