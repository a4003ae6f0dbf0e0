//! The cluster-wide limit on calls in flight (`LLM_CLUSTER_CONCURRENCY`, decision 0015),
//! on top of the per-process semaphore: a call that holds a process permit also takes one
//! of the cluster's slots before it sends anything, and the wait for both is bounded by
//! `LLM_QUEUE_TIMEOUT`.
//!
//! The slots live in the database, but this module names no store type (`llm` and `store`
//! share a layer and do not use each other): it asks a [`ClusterSlots`], which the app
//! implements over the store. A held slot's lease is renewed every third of its length
//! while the call runs, so a call may outlive the lease; a process that dies stops renewing
//! and its slot is free again when the lease passes.

use super::metrics::LlmMetrics;
use super::LlmError;
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A failure of the slot table (the database), described without credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the LLM slot table is unavailable: {0}")]
pub struct SlotError(pub String);

/// The cluster's slots, as the app provides them (the `llm_slots` table).
pub trait ClusterSlots: Send + Sync + 'static {
    /// Takes a free slot for `holder`; `None` while all are held.
    fn take<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<Option<u32>, SlotError>>;
    /// Extends `holder`'s lease; `false` once the slot is no longer `holder`'s.
    fn renew<'a>(&'a self, slot: u32, holder: &'a str) -> BoxFuture<'a, Result<bool, SlotError>>;
    fn release<'a>(&'a self, slot: u32, holder: &'a str) -> BoxFuture<'a, Result<(), SlotError>>;
    /// How long a slot stays taken without renewal.
    fn lease(&self) -> Duration;
}

/// The first pause between two attempts to take a slot, and the longest: short enough
/// that a freed slot is found soon, long enough that waiting workers do not hammer the
/// database (10 waiting workers make at most 40 small statements per second).
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(250);

pub(super) struct Cluster {
    slots: Arc<dyn ClusterSlots>,
    /// This process's name in `holder`; each call adds a number, so holders are unique.
    process: String,
    calls: AtomicU64,
}

impl Cluster {
    pub(super) fn new(slots: Arc<dyn ClusterSlots>, process: String) -> Self {
        Self {
            slots,
            process,
            calls: AtomicU64::new(0),
        }
    }

    /// A slot, or [`LlmError::QueueTimeout`] once `deadline` passes. Database failures
    /// while waiting are counted and waited out like a full table: the call then times out
    /// in the queue (nothing was sent) rather than exceed the limit.
    pub(super) async fn acquire(
        &self,
        deadline: Instant,
        queue_timeout: Duration,
        metrics: &LlmMetrics,
    ) -> Result<HeldSlot, LlmError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let holder = format!("{}#{n}", self.process);
        let started = Instant::now();
        let mut pause = FIRST_PAUSE;
        let mut logged = false;
        loop {
            match tokio::time::timeout_at(deadline, self.slots.take(&holder)).await {
                Ok(Ok(Some(slot))) => {
                    metrics
                        .cluster_wait
                        .observe(started.elapsed().as_secs_f64());
                    return Ok(HeldSlot::start(
                        self.slots.clone(),
                        slot,
                        holder,
                        metrics.clone(),
                    ));
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    metrics.slot_error("take");
                    if !logged {
                        tracing::warn!(error = %e, "cannot take an LLM cluster slot; retrying until LLM_QUEUE_TIMEOUT");
                        logged = true;
                    }
                }
                Err(_) => break,
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let jittered = pause.mul_f64(0.5 + super::retry::jitter() / 2.0);
            tokio::time::sleep_until((now + jittered).min(deadline)).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
        metrics
            .cluster_wait
            .observe(started.elapsed().as_secs_f64());
        Err(LlmError::QueueTimeout(queue_timeout))
    }
}

/// A slot this process holds: renewed on its own task until dropped, then released on
/// another (a drop cannot wait), also when the call's future is dropped midway.
pub(super) struct HeldSlot {
    slots: Arc<dyn ClusterSlots>,
    slot: u32,
    holder: String,
    renewer: tokio::task::JoinHandle<()>,
    metrics: LlmMetrics,
}

impl HeldSlot {
    fn start(slots: Arc<dyn ClusterSlots>, slot: u32, holder: String, metrics: LlmMetrics) -> Self {
        metrics.cluster_held.inc();
        let renewer = tokio::spawn(renew(slots.clone(), slot, holder.clone(), metrics.clone()));
        Self {
            slots,
            slot,
            holder,
            renewer,
            metrics,
        }
    }
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.renewer.abort();
        self.metrics.cluster_held.dec();
        let (slots, slot, holder) = (
            self.slots.clone(),
            self.slot,
            std::mem::take(&mut self.holder),
        );
        let metrics = self.metrics.clone();
        // Without a runtime (the process is ending) the lease frees the slot instead.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = slots.release(slot, &holder).await {
                    metrics.slot_error("release");
                    tracing::warn!(error = %e, slot, "cannot release the LLM cluster slot; its lease will free it");
                }
            });
        }
    }
}

async fn renew(slots: Arc<dyn ClusterSlots>, slot: u32, holder: String, metrics: LlmMetrics) {
    let every = (slots.lease() / 3).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tick.tick().await;
        match slots.renew(slot, &holder).await {
            Ok(true) => {}
            Ok(false) => {
                // The lease lapsed (renewals failed for a whole lease) and the slot may be
                // another call's now: this call runs on, over the limit, and says so.
                metrics.slot_error("lost");
                tracing::warn!(slot, "the LLM cluster slot's lease lapsed during the call");
                return;
            }
            Err(e) => {
                metrics.slot_error("renew");
                tracing::warn!(error = %e, slot, "cannot renew the LLM cluster slot's lease");
            }
        }
    }
}
