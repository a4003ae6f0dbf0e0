//! Governance by a remote OPA: the batch's decisions are fetched concurrently just before
//! the govern stage runs, and `OPA_FAILURE_MODE` decides what a record OPA could not
//! decide becomes: a deny with `policy_unavailable` (quarantined), or a pause.

use crate::config::FailureMode;
use crate::policy::{policy_input, RemoteOutcome, RemotePolicy, Verdict, UNAVAILABLE_REASON};
use crate::stage::Record;
use crate::telemetry::health::Health;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::policy::UNAVAILABLE_PROVENANCE;

pub struct RemoteGovern {
    pub policy: Arc<RemotePolicy>,
    pub mode: FailureMode,
    /// Readiness: `opa` turns false while a pause waits for OPA.
    pub health: Option<Arc<Health>>,
    unavailable: Arc<str>,
}

impl RemoteGovern {
    pub fn new(policy: Arc<RemotePolicy>, mode: FailureMode) -> Self {
        Self {
            policy,
            mode,
            health: None,
            unavailable: UNAVAILABLE_PROVENANCE.into(),
        }
    }

    /// One `(verdict, provenance)` per record, in order. In pause mode this returns only
    /// once OPA has decided every record: the stages before govern have already changed
    /// the detector state, so the batch is not re-run; only its missing decisions are
    /// asked again. Shutdown during a pause ends by the drain deadline, as a database
    /// outage does, and the uncommitted batch is read again on restart.
    pub async fn decide(&self, records: &[Record]) -> Vec<(Verdict, Arc<str>)> {
        let inputs: Vec<regorus::Value> = records.iter().map(policy_input).collect();
        let mut decided: Vec<Option<(Verdict, Arc<str>)>> = vec![None; inputs.len()];
        let mut pending: Vec<usize> = (0..inputs.len()).collect();
        let mut paused = false;
        while !pending.is_empty() {
            let asked: Vec<regorus::Value> = pending.iter().map(|&i| inputs[i].clone()).collect();
            let outcomes = self.policy.evaluate_batch(&asked).await;
            let mut missing = Vec::new();
            let mut first_failure = None;
            for (&i, outcome) in pending.iter().zip(outcomes) {
                match outcome {
                    RemoteOutcome::Decided {
                        verdict,
                        provenance,
                    } => decided[i] = Some((verdict, provenance)),
                    RemoteOutcome::Unavailable(f) => match self.mode {
                        FailureMode::Deny => {
                            decided[i] =
                                Some((Verdict::deny(UNAVAILABLE_REASON), self.unavailable.clone()))
                        }
                        FailureMode::Pause => {
                            first_failure.get_or_insert(f);
                            missing.push(i);
                        }
                    },
                }
            }
            pending = missing;
            if let Some(h) = &self.health {
                // Readiness follows what the batch saw; the periodic probe corrects it.
                let any_unavailable = first_failure.is_some()
                    || decided
                        .iter()
                        .flatten()
                        .any(|(_, p)| Arc::ptr_eq(p, &self.unavailable));
                h.set_opa(!any_unavailable);
            }
            if let Some(failure) = first_failure {
                if !paused {
                    tracing::error!(
                        failure = failure.kind(), undecided = pending.len(),
                        "OPA unavailable (OPA_FAILURE_MODE=pause): holding the batch until it returns"
                    );
                }
                paused = true;
                self.wait().await;
            }
        }
        if paused {
            tracing::info!("OPA available again: resuming");
        }
        decided
            .into_iter()
            .map(|d| d.unwrap_or_else(|| (Verdict::deny("no_decision"), self.unavailable.clone())))
            .collect()
    }

    /// Readiness 503 and a pause until the breaker lets a probe through (or a short
    /// interval): the loop keeps beating, so liveness never restarts the pod for this.
    async fn wait(&self) {
        if let Some(h) = &self.health {
            h.set_opa(false);
        }
        let until = self
            .policy
            .breaker_reopens_at()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(250));
        loop {
            if let Some(h) = &self.health {
                h.beat();
            }
            let now = Instant::now();
            if now >= until {
                break;
            }
            tokio::time::sleep((until - now).min(Duration::from_millis(250))).await;
        }
    }
}

/// Keeps `/health`'s `opa` check current from OPA's own `GET /health?plugins`.
pub async fn probe_health(
    policy: Arc<RemotePolicy>,
    health: Arc<Health>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let up = policy.healthy().await;
        if health.set_opa(up) != up {
            tracing::info!(opa = up, "OPA health changed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.wait_for(|v| *v) => return,
        }
    }
}
