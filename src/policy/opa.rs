//! The remote OPA client: asks an OPA sidecar's Data API for one decision per record,
//! `POST {OPA_URL}/v1/data/{OPA_POLICY_PATH}?provenance=true` with `{"input": …}`, the
//! same input document the embedded engine evaluates.
//!
//! Every answer that is not a well-formed decision is a deny that names the failure. An
//! answer OPA *could not give* (timeout, connection error, 5xx, open breaker, the batch's
//! deadline) is reported as [`RemoteOutcome::Unavailable`], so the caller applies
//! `OPA_FAILURE_MODE`: deny with `policy_unavailable`, or pause.

use super::embedded::verdict_of_value;
use super::{PolicyError, Verdict};
use crate::breaker::{Breaker, BreakerState};
use crate::config::OpaSettings;
use crate::telemetry::metrics::OpaMetrics;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The reason a record gets when OPA gave no decision and the failure mode is `deny`.
pub const UNAVAILABLE_REASON: &str = "policy_unavailable";

/// What the decision log records as the deciding policy when OPA decided nothing and the
/// failure mode denied the record.
pub const UNAVAILABLE_PROVENANCE: &str = "opa:unavailable";

/// Why OPA gave no decision for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Connect,
    /// A 5xx answer: OPA (or a proxy before it) is not serving decisions.
    Status(u16),
    BreakerOpen,
    BatchDeadline,
}

impl Failure {
    /// The `kind` label of `pipeline_opa_failures`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Status(_) => "status_5xx",
            Self::BreakerOpen => "breaker_open",
            Self::BatchDeadline => "batch_deadline",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RemoteOutcome {
    /// OPA answered: a verdict (a deny when the answer was undefined or malformed) and the
    /// policy that decided (`opa:<bundle>@<revision>`, or `opa:/v1/data/<path>`).
    Decided {
        verdict: Verdict,
        provenance: Arc<str>,
    },
    Unavailable(Failure),
}

/// A client of one OPA sidecar. Cheap to share (`Arc`); connections are kept alive.
pub struct RemotePolicy {
    client: reqwest::Client,
    decision_url: String,
    health_url: String,
    /// `opa:/v1/data/<path>`: the provenance when OPA reports no bundle revision.
    fallback_provenance: Arc<str>,
    path: Arc<str>,
    settings: OpaSettings,
    breaker: Breaker,
    metrics: OpaMetrics,
}

impl RemotePolicy {
    /// `base_url` is `OPA_URL` without a trailing slash; `rule_path` is `OPA_POLICY_PATH`.
    pub fn new(
        base_url: &str,
        rule_path: &str,
        settings: OpaSettings,
        metrics: OpaMetrics,
    ) -> Result<Self, PolicyError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(settings.max_concurrency)
            .tcp_nodelay(true)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| PolicyError::Client(e.to_string()))?;
        let api_path = format!("/v1/data/{rule_path}");
        metrics.breaker_state.set(BreakerState::Closed.gauge());
        Ok(Self {
            client,
            decision_url: format!("{base_url}{api_path}?provenance=true"),
            health_url: format!("{base_url}/health?plugins"),
            fallback_provenance: format!("opa:{api_path}").into(),
            path: rule_path.into(),
            breaker: Breaker::new(settings.breaker_failures, settings.breaker_cooldown),
            settings,
            metrics,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn settings(&self) -> &OpaSettings {
        &self.settings
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// When an open breaker lets its probe through (`None` unless open).
    pub fn breaker_reopens_at(&self) -> Option<Instant> {
        self.breaker.reopens_at()
    }

    /// OPA's own health (`GET /health?plugins`: 200 once the server and every plugin,
    /// bundles included, are ready).
    pub async fn healthy(&self) -> bool {
        let timeout = self.settings.timeout.max(Duration::from_secs(1));
        match self
            .client
            .get(&self.health_url)
            .timeout(timeout)
            .send()
            .await
        {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }

    /// One outcome per input, in order. At most `OPA_MAX_CONCURRENCY` requests are in
    /// flight; none starts after the batch deadline (`OPA_BATCH_TIMEOUT`).
    pub async fn evaluate_batch(&self, inputs: &[regorus::Value]) -> Vec<RemoteOutcome> {
        let deadline = Instant::now() + self.settings.batch_timeout;
        // A fair semaphore, not `StreamExt::buffered`: the latter's closure makes the
        // future lose `Send` (rust-lang/rust#64552), and the pipeline spawns it.
        let permits = tokio::sync::Semaphore::new(self.settings.max_concurrency);
        let calls = inputs.iter().map(|input| {
            let permits = &permits;
            async move {
                let _permit = permits.acquire().await;
                self.evaluate_one(input, deadline).await
            }
        });
        futures::future::join_all(calls).await
    }

    async fn evaluate_one(&self, input: &regorus::Value, deadline: Instant) -> RemoteOutcome {
        let now = Instant::now();
        let Some(left) = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
        else {
            return self.unavailable(Failure::BatchDeadline);
        };
        // A ticket, not admit/record: a probe whose batch is dropped mid-call frees the
        // half-open slot instead of leaving the breaker rejecting for ever.
        let Some(ticket) = self.breaker.ticket(now) else {
            return self.unavailable(Failure::BreakerOpen);
        };
        if ticket.is_probe() {
            self.metrics
                .breaker_state
                .set(BreakerState::HalfOpen.gauge());
        }
        let outcome = self.call(input, self.settings.timeout.min(left)).await;
        let state = ticket.settle(
            !matches!(outcome, RemoteOutcome::Unavailable(_)),
            Instant::now(),
        );
        self.metrics.breaker_state.set(state.gauge());
        match outcome {
            RemoteOutcome::Unavailable(f) => self.unavailable(f),
            decided => decided,
        }
    }

    fn unavailable(&self, failure: Failure) -> RemoteOutcome {
        self.metrics.failure(failure.kind());
        RemoteOutcome::Unavailable(failure)
    }

    fn decided(&self, verdict: Verdict, provenance: Option<String>) -> RemoteOutcome {
        RemoteOutcome::Decided {
            verdict,
            provenance: provenance.map_or_else(|| self.fallback_provenance.clone(), Arc::from),
        }
    }

    async fn call(&self, input: &regorus::Value, timeout: Duration) -> RemoteOutcome {
        let body = match serde_json::to_vec(&serde_json::json!({ "input": input })) {
            Ok(b) => b,
            // Unreachable for values built by `policy_input`; fail closed regardless.
            Err(_) => return self.decided(Verdict::deny("policy_error"), None),
        };
        let started = Instant::now();
        let request = async {
            let response = self
                .client
                .post(&self.decision_url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let answer = tokio::time::timeout(timeout, request).await;
        let seconds = started.elapsed().as_secs_f64();
        let (status, bytes) = match answer {
            Err(_) => {
                self.metrics.call("failed", seconds);
                return RemoteOutcome::Unavailable(Failure::Timeout);
            }
            Ok(Err(e)) => {
                self.metrics.call("failed", seconds);
                return RemoteOutcome::Unavailable(if e.is_timeout() {
                    Failure::Timeout
                } else {
                    Failure::Connect
                });
            }
            Ok(Ok(answer)) => answer,
        };
        if status.is_server_error() {
            self.metrics.call("failed", seconds);
            return RemoteOutcome::Unavailable(Failure::Status(status.as_u16()));
        }
        if !status.is_success() {
            // 4xx: OPA refused this request (e.g. 400 for an input it cannot parse). It
            // is answering, so this is a deny for the record, not an outage.
            self.metrics.call("failed", seconds);
            self.metrics.failure("status_4xx");
            return self.decided(Verdict::deny("policy_error"), None);
        }
        let doc = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(doc)) => doc,
            _ => {
                self.metrics.call("malformed", seconds);
                self.metrics.failure("malformed_response");
                return self.decided(Verdict::deny("policy_malformed_response"), None);
            }
        };
        let provenance = doc.get("provenance").and_then(provenance_of);
        let verdict = match doc.get("result") {
            // OPA answers an undefined decision with 200 and `{}`.
            None => {
                self.metrics.call("undefined", seconds);
                verdict_of_value(regorus::Value::Undefined)
            }
            Some(result) => {
                let verdict = verdict_of_value(regorus::Value::from(result.clone()));
                let label = match verdict.reasons.first().map(String::as_str) {
                    Some("policy_malformed_result") => "malformed",
                    _ => "decided",
                };
                self.metrics.call(label, seconds);
                verdict
            }
        };
        self.decided(verdict, provenance)
    }
}

/// `opa:<bundle>@<revision>[,…]` from OPA's `provenance` (sorted by bundle name), or the
/// legacy single `revision`; `None` when OPA runs no bundle (policies from files).
fn provenance_of(p: &serde_json::Value) -> Option<String> {
    if let Some(bundles) = p.get("bundles").and_then(|b| b.as_object()) {
        let mut revisions: Vec<String> = bundles
            .iter()
            .filter_map(|(name, b)| {
                let rev = b.get("revision")?.as_str().filter(|r| !r.is_empty())?;
                Some(format!("{name}@{rev}"))
            })
            .collect();
        if !revisions.is_empty() {
            revisions.sort();
            return Some(format!("opa:{}", revisions.join(",")));
        }
    }
    p.get("revision")
        .and_then(|r| r.as_str())
        .filter(|r| !r.is_empty())
        .map(|r| format!("opa:{r}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn provenance_names_bundle_revisions_or_nothing() {
        let p = json!({"version": "1.4.2", "bundles": {"b": {"revision": "r2"}, "a": {"revision": "r1"}}});
        assert_eq!(provenance_of(&p).as_deref(), Some("opa:a@r1,b@r2"));
        assert_eq!(
            provenance_of(&json!({"revision": "abc"})).as_deref(),
            Some("opa:abc")
        );
        assert_eq!(provenance_of(&json!({"version": "1.4.2"})), None);
        assert_eq!(
            provenance_of(&json!({"bundles": {"a": {"revision": ""}}})),
            None
        );
    }
}
