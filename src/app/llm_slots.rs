//! The LLM client's cluster-wide limit (`LLM_CLUSTER_CONCURRENCY`) over the store: the
//! app is the layer that sees both, so the adapter between the client's [`ClusterSlots`]
//! and the store's [`LlmSlotStore`] role lives here (decision 0015).

use crate::config::{ClusterLimit, Config};
use crate::llm::{ClusterSlots, LlmClient, LlmError, SlotError};
use crate::store::LlmSlotStore;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// The slots of one cluster limit in the store's `llm_slots` table.
pub struct StoreSlots<S> {
    store: S,
    limit: u32,
    lease: Duration,
}

impl<S: LlmSlotStore> StoreSlots<S> {
    /// Creates the limit's slots that do not exist yet.
    pub async fn prepare(store: S, limit: ClusterLimit) -> Result<Self, SlotError> {
        store
            .llm_slots_prepare(limit.limit)
            .await
            .map_err(|e| SlotError(e.to_string()))?;
        Ok(Self {
            store,
            limit: limit.limit,
            lease: limit.lease,
        })
    }
}

impl<S: LlmSlotStore> ClusterSlots for StoreSlots<S> {
    fn take<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<Option<u32>, SlotError>> {
        Box::pin(async move {
            self.store
                .llm_slot_take(self.limit, holder, self.lease)
                .await
                .map_err(|e| SlotError(e.to_string()))
        })
    }

    fn renew<'a>(&'a self, slot: u32, holder: &'a str) -> BoxFuture<'a, Result<bool, SlotError>> {
        Box::pin(async move {
            self.store
                .llm_slot_renew(slot, holder, self.lease)
                .await
                .map_err(|e| SlotError(e.to_string()))
        })
    }

    fn release<'a>(&'a self, slot: u32, holder: &'a str) -> BoxFuture<'a, Result<(), SlotError>> {
        Box::pin(async move {
            self.store
                .llm_slot_release(slot, holder)
                .await
                .map(|_| ())
                .map_err(|e| SlotError(e.to_string()))
        })
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}

/// `client` with the cluster-wide limit of `LLM_CLUSTER_CONCURRENCY` when it is set, its
/// slots in `store`; `process` names this process in the slots' holders. A slot table
/// that cannot be prepared stops start-up, as an unreachable database does.
pub async fn with_cluster_limit<S: LlmSlotStore>(
    client: Option<LlmClient>,
    cfg: &Config,
    store: S,
    process: &str,
) -> Result<Option<LlmClient>, LlmError> {
    let Some(limit) = cfg.llm.as_ref().and_then(|s| s.cluster) else {
        return Ok(client);
    };
    let Some(client) = client else {
        return Ok(None);
    };
    let slots = StoreSlots::prepare(store, limit)
        .await
        .map_err(|e| LlmError::Setup(format!("LLM_CLUSTER_CONCURRENCY: {e}")))?;
    tracing::info!(
        limit = limit.limit,
        lease_ms = limit.lease.as_millis() as u64,
        "LLM calls share a cluster-wide limit (LLM_CLUSTER_CONCURRENCY)"
    );
    client
        .with_cluster_slots(Arc::new(slots), process)
        .map(Some)
}
