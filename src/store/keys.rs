//! Per-account data keys as the key-management commands see them: paging for KEK
//! rotation, and erasure by crypto-shredding.

use super::StoreError;
use crate::crypto::WrappedKey;
use std::future::Future;

/// What `erase` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub account_id: String,
    /// The destroyed data key; `None` if the account never had PII stored.
    pub key_id: Option<String>,
}

pub trait KeyStore {
    /// Stored data keys ordered by account, after `after_account`, at most `limit`.
    fn data_keys_page(
        &self,
        after_account: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(String, WrappedKey)>, StoreError>> + Send;
    fn data_key(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<WrappedKey>, StoreError>> + Send;
    /// Replaces `old` by `new` (same data key, re-wrapped); false if the row changed meanwhile.
    fn replace_wrapped_key(
        &self,
        account: &str,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Destroys the account's data key and detector history, and records the erasure, in
    /// one transaction.
    fn erase_account(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Erasure, StoreError>> + Send;
    /// Erasures recorded after `after_id`, as (id, account); replicas use it to drop
    /// cached keys.
    fn erasures_after(
        &self,
        after_id: i64,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, StoreError>> + Send;
    /// The id of the latest erasure (0 if none).
    fn erasure_head(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

pub(crate) type KeyRow = (String, String, String, Vec<u8>);

pub(crate) fn to_pair((account, key_id, kek_id, wrapped): KeyRow) -> (String, WrappedKey) {
    (
        account,
        WrappedKey {
            key_id,
            kek_id,
            wrapped,
        },
    )
}

/// What `pipeline reencrypt` did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RewrapReport {
    pub current_kek: String,
    pub data_keys: u64,
    pub rewrapped: u64,
    pub already_current: u64,
    /// Under a KEK that is not in the ring: left untouched, and the command exits 1.
    pub unreadable: u64,
}

/// Re-wraps every data key not under the ring's current KEK. The field ciphertexts stay as
/// they are: they are under the per-account data keys, which do not change, so nothing in
/// the database, the lake or the topics needs rewriting.
pub async fn rewrap_all<S: KeyStore>(
    store: &S,
    ring: &crate::crypto::KekRing,
) -> Result<RewrapReport, StoreError> {
    const PAGE: i64 = 1000;
    let mut report = RewrapReport {
        current_kek: ring.current().id().to_owned(),
        ..Default::default()
    };
    let mut after = String::new();
    let mut unknown = std::collections::BTreeMap::new();
    loop {
        let page = store.data_keys_page(&after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (account, wrapped) in &page {
            report.data_keys += 1;
            match ring.rewrap(wrapped) {
                Ok(None) => report.already_current += 1,
                Ok(Some(new)) => {
                    // A concurrent erase or rewrap wins; that key needs nothing more.
                    if store.replace_wrapped_key(account, wrapped, &new).await? {
                        report.rewrapped += 1;
                    }
                }
                Err(_) => {
                    *unknown.entry(wrapped.kek_id.clone()).or_insert(0u64) += 1;
                    report.unreadable += 1;
                }
            }
        }
    }
    for (kek_id, keys) in unknown {
        tracing::error!(kek_id = %kek_id, keys, "data keys are under a KEK that is not in the ring (ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS); left as they are");
    }
    Ok(report)
}
