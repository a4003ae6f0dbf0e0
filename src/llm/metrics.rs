//! The LLM client's metrics, `pipeline_llm_*`, registered by whichever process holds a
//! client (`pipeline worker`, and `pipeline run` when it drives the workflows) in its
//! registry.

use crate::telemetry::metrics::{KindLabel, OutcomeLabel, ReasonLabel};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: String,
}

/// Clones share the same series.
#[derive(Clone)]
pub struct LlmMetrics {
    /// Calls holding a concurrency slot.
    pub in_flight: Gauge,
    /// How long calls waited for a slot, the process permit and the cluster slot together
    /// (also those that gave up).
    pub queue_wait: Histogram,
    /// One HTTP request to the server, whatever its outcome.
    pub latency: Histogram,
    /// Tokens by `direction`: `in` (prompt) and `out` (completion), from `usage`.
    pub tokens: Family<DirectionLabel, Counter>,
    /// Calls by outcome: `ok` or `failed`.
    pub calls: Family<OutcomeLabel, Counter>,
    /// Requests sent again, by reason: `invalid` (the re-ask), `rate_limited`,
    /// `overloaded`, `status_5xx`, `unavailable`.
    pub retries: Family<ReasonLabel, Counter>,
    /// Failed calls by kind ([`super::LlmError::kind`]).
    pub failures: Family<KindLabel, Counter>,
    /// 0 closed, 1 open, 2 half-open.
    pub breaker_state: Gauge,
    /// How long calls waited for a cluster slot (`LLM_CLUSTER_CONCURRENCY`), after their
    /// process permit; also those that gave up.
    pub cluster_wait: Histogram,
    /// Cluster slots this process holds.
    pub cluster_held: Gauge,
    /// Failures of the slot table, by operation: `take`, `renew`, `release`, and `lost`
    /// (a lease lapsed while its call ran).
    pub slot_errors: Family<ReasonLabel, Counter>,
}

impl Default for LlmMetrics {
    fn default() -> Self {
        Self {
            in_flight: Gauge::default(),
            // 1 ms to ~65 s.
            queue_wait: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            // 50 ms to ~100 s: a local model's answer takes seconds.
            latency: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            tokens: Family::default(),
            calls: Family::default(),
            retries: Family::default(),
            failures: Family::default(),
            breaker_state: Gauge::default(),
            cluster_wait: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            cluster_held: Gauge::default(),
            slot_errors: Family::default(),
        }
    }
}

impl LlmMetrics {
    /// New series, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "pipeline_llm_in_flight",
            "LLM calls holding one of the LLM_MAX_CONCURRENCY slots",
            m.in_flight.clone(),
        );
        registry.register(
            "pipeline_llm_queue_wait_seconds",
            "Time LLM calls waited for a slot (LLM_QUEUE_TIMEOUT bounds it)",
            m.queue_wait.clone(),
        );
        registry.register(
            "pipeline_llm_request_duration_seconds",
            "Latency of one HTTP request to the LLM server",
            m.latency.clone(),
        );
        registry.register(
            "pipeline_llm_tokens",
            "Tokens the LLM server counted, by direction (in: prompt, out: completion)",
            m.tokens.clone(),
        );
        registry.register(
            "pipeline_llm_calls",
            "LLM calls by outcome (ok, failed)",
            m.calls.clone(),
        );
        registry.register(
            "pipeline_llm_retries",
            "LLM requests sent again, by reason",
            m.retries.clone(),
        );
        registry.register(
            "pipeline_llm_failures",
            "LLM calls that gave no usable answer, by kind",
            m.failures.clone(),
        );
        registry.register(
            "pipeline_llm_breaker_state",
            "The LLM client's circuit breaker: 0 closed, 1 open, 2 half-open",
            m.breaker_state.clone(),
        );
        registry.register(
            "pipeline_llm_cluster_slot_wait_seconds",
            "Time LLM calls waited for a cluster slot (LLM_CLUSTER_CONCURRENCY) after their process permit",
            m.cluster_wait.clone(),
        );
        registry.register(
            "pipeline_llm_cluster_slots_held",
            "LLM cluster slots this process holds",
            m.cluster_held.clone(),
        );
        registry.register(
            "pipeline_llm_cluster_slot_errors",
            "Failures of the LLM slot table, by operation (take, renew, release, lost)",
            m.slot_errors.clone(),
        );
        m
    }

    pub(super) fn slot_error(&self, op: &str) {
        self.slot_errors
            .get_or_create(&ReasonLabel {
                reason: op.to_owned(),
            })
            .inc();
    }

    pub(super) fn tokens(&self, prompt: u64, completion: u64) {
        for (direction, n) in [("in", prompt), ("out", completion)] {
            if n > 0 {
                self.tokens
                    .get_or_create(&DirectionLabel {
                        direction: direction.to_owned(),
                    })
                    .inc_by(n);
            }
        }
    }

    pub(super) fn call(&self, outcome: &str) {
        self.calls
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub(super) fn retry(&self, reason: &str) {
        self.retries
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(super) fn failure(&self, kind: &str) {
        self.failures
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }
}
