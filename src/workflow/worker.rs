//! The worker loop of `pipeline worker` and of the engine `pipeline run` drives in-process:
//! runs workflow steps until stopped (or until nothing is left to run, or to claim: see
//! [`Until`]), schedules the audit of each closed window and prunes old checkpoints.

use super::audit;
use super::engine::{Engine, EngineSettings, Progress};
use super::metrics::WorkflowMetrics;
use super::{retention, WorkflowError};
use crate::config::{parse_duration, ConfigError};
use crate::telemetry::health::Health;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Worker settings, from the environment like the rest of the configuration.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub engine: EngineSettings,
    /// `WORKFLOW_POLL_INTERVAL`: wait between claims when nothing is claimable.
    pub poll_interval: Duration,
    /// `WORKFLOW_CHECKPOINT_RETENTION_HOURS`: checkpoints of finished workflows kept this long.
    pub retention: Duration,
    /// `WORKFLOW_PRUNE_INTERVAL`: how often the pruning job runs.
    pub prune_interval: Duration,
    /// `AUDIT_WINDOW_MINUTES`: length of an audited window; 0 turns scheduling off.
    pub audit_window_minutes: i64,
    /// `AUDIT_BASELINE_WINDOWS`
    pub audit_baseline_windows: i32,
    /// `AUDIT_EXPECTED_POLICY_VERSIONS`: versions allowed besides the loaded policy's own
    /// (e.g. the previous one during a rollout).
    pub extra_policy_versions: Vec<String>,
    /// `WORKFLOWS_IN_PROCESS`: whether `pipeline run` drives the workflows itself; unset,
    /// it does on the embedded SQLite store and leaves them to `pipeline worker`
    /// deployments on PostgreSQL ([`WorkerSettings::runs_in_process`]).
    pub in_process: Option<bool>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            engine: EngineSettings::default(),
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            prune_interval: Duration::from_secs(600),
            audit_window_minutes: 60,
            audit_baseline_windows: 24,
            extra_policy_versions: Vec::new(),
            in_process: None,
        }
    }
}

fn bad(variable: &'static str, expected: &str) -> ConfigError {
    ConfigError {
        variable,
        expected: expected.into(),
    }
}

impl WorkerSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let int = |var: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| bad(var, &format!("an integer from 0 to {max}"))),
            }
        };
        let dur = |var: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_duration(&v)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(var, "a positive duration such as 30s, 500ms or 1m")),
            }
        };
        let d = Self::default();
        let max_attempts = int("WORKFLOW_MAX_ATTEMPTS", 10, 1000)?.max(1);
        let baseline = int("AUDIT_BASELINE_WINDOWS", 24, 1000)?.max(1);
        Ok(Self {
            engine: EngineSettings {
                lease: dur("WORKFLOW_LEASE", d.engine.lease)?,
                step_delay: Duration::from_millis(int("WORKFLOW_STEP_DELAY_MS", 0, 3_600_000)?),
                max_attempts: i32::try_from(max_attempts).unwrap_or(10),
                retry_backoff: dur("WORKFLOW_RETRY_BACKOFF", d.engine.retry_backoff)?,
            },
            poll_interval: dur("WORKFLOW_POLL_INTERVAL", d.poll_interval)?,
            retention: Duration::from_secs(
                3600 * int("WORKFLOW_CHECKPOINT_RETENTION_HOURS", 168, 100_000)?,
            ),
            prune_interval: dur("WORKFLOW_PRUNE_INTERVAL", d.prune_interval)?,
            audit_window_minutes: i64::try_from(int("AUDIT_WINDOW_MINUTES", 60, 10_080)?)
                .unwrap_or(60),
            audit_baseline_windows: i32::try_from(baseline).unwrap_or(24),
            extra_policy_versions: get("AUDIT_EXPECTED_POLICY_VERSIONS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            in_process: match get("WORKFLOWS_IN_PROCESS")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None => None,
                Some("true" | "1" | "yes") => Some(true),
                Some("false" | "0" | "no") => Some(false),
                Some(_) => return Err(bad("WORKFLOWS_IN_PROCESS", "true or false")),
            },
        })
    }

    /// Whether `pipeline run` runs the workflow engine beside its batch loop: as set, else
    /// on the embedded store only.
    pub fn runs_in_process(&self, embedded: bool) -> bool {
        self.in_process.unwrap_or(embedded)
    }
}

/// When [`worker_loop`] ends by itself; `stop` ends it in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Only `stop` ends it: `pipeline worker`, and `pipeline run` while its source runs.
    Stopped,
    /// No workflow is runnable any more, leased or not (`pipeline worker --once`): a dead
    /// worker's workflows are waited for until their leases expire, then resumed here.
    NoneRunnable,
    /// Nothing is claimable now (a bounded `pipeline run` once its source has drained):
    /// what another worker holds, or what waits out a retry back-off, is left to it, to a
    /// worker or to the next run.
    NoneClaimable,
}

/// What a worker did, printed as one JSON line when it exits.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct WorkerReport {
    pub worker_id: String,
    pub completed: u64,
    pub failed: u64,
    pub retrying: u64,
    pub lease_lost: u64,
    pub audits_scheduled: u64,
    pub checkpoints_pruned: u64,
    pub stopped_by_signal: bool,
}

impl WorkerReport {
    fn record(&mut self, p: Progress) {
        match p {
            Progress::Completed => self.completed += 1,
            Progress::Failed => self.failed += 1,
            Progress::Retrying => self.retrying += 1,
            Progress::LeaseLost => self.lease_lost += 1,
            Progress::Stopped => {}
        }
    }
}

/// Claims and drives workflows until `stop`, or until `until` says it is done (it may
/// change while the loop runs). The audit is scheduled and old checkpoints pruned on the
/// side.
pub async fn worker_loop(
    engine: &Engine,
    settings: &WorkerSettings,
    mut until: watch::Receiver<Until>,
    health: &Health,
    metrics: &WorkflowMetrics,
    mut stop: watch::Receiver<bool>,
) -> Result<WorkerReport, WorkflowError> {
    const SCHEDULE_EVERY: Duration = Duration::from_secs(60);
    let mut report = WorkerReport {
        worker_id: engine.worker_id().to_owned(),
        ..WorkerReport::default()
    };
    let now = Instant::now();
    let (mut next_schedule, mut next_prune) = (now, now);
    loop {
        if *stop.borrow() {
            report.stopped_by_signal = true;
            return Ok(report);
        }
        health.beat();
        if settings.audit_window_minutes > 0 && Instant::now() >= next_schedule {
            next_schedule = Instant::now() + SCHEDULE_EVERY;
            let len = chrono::Duration::minutes(settings.audit_window_minutes);
            if let Some((start, end)) = audit::latest_closed_window(chrono::Utc::now(), len) {
                match audit::schedule(engine.store(), start, end).await {
                    Ok(true) => report.audits_scheduled += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduling the audit failed"),
                }
            }
        }
        if Instant::now() >= next_prune {
            next_prune = Instant::now() + settings.prune_interval;
            match retention::prune(engine.store(), settings.retention, 500).await {
                Ok(r) => {
                    report.checkpoints_pruned += r.checkpoints;
                    metrics.pruned.inc_by(r.checkpoints);
                    if r.workflows > 0 {
                        tracing::info!(
                            workflows = r.workflows,
                            checkpoints = r.checkpoints,
                            "pruned old checkpoints"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "pruning checkpoints failed"),
            }
        }
        let idle = match engine.work_once(&stop).await {
            Ok(Some(p)) => {
                health.set_database(true);
                report.record(p);
                false
            }
            Ok(None) => {
                health.set_database(true);
                let mode = *until.borrow();
                match mode {
                    Until::Stopped => {}
                    Until::NoneClaimable => return Ok(report),
                    // Leased elsewhere still counts: a dead worker's workflow is waited for
                    // until its lease expires and it can be resumed here.
                    Until::NoneRunnable => match engine.runnable().await {
                        Ok(0) => return Ok(report),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "counting runnable workflows failed"),
                    },
                }
                true
            }
            Err(e) => {
                health.set_database(!e.is_unavailable());
                tracing::warn!(error = %e, "workflow step could not run; retrying");
                true
            }
        };
        if idle {
            // A new mode is acted on at once; a mode that can no longer change (its sender
            // is gone) only leaves the poll interval.
            let mode_changed = async {
                if until.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(settings.poll_interval) => {}
                _ = stop.wait_for(|v| *v) => {}
                _ = mode_changed => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<WorkerSettings, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WorkerSettings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let d = settings(&[]).expect("defaults");
        assert_eq!(d.engine.lease, Duration::from_secs(30));
        assert_eq!(d.engine.step_delay, Duration::ZERO);
        assert_eq!(d.audit_window_minutes, 60);
        let s = settings(&[
            ("WORKFLOW_STEP_DELAY_MS", "250"),
            ("WORKFLOW_LEASE", "2s"),
            ("AUDIT_WINDOW_MINUTES", "0"),
            ("AUDIT_EXPECTED_POLICY_VERSIONS", "a, b,,"),
        ])
        .expect("overrides");
        assert_eq!(s.engine.step_delay, Duration::from_millis(250));
        assert_eq!(s.engine.lease, Duration::from_secs(2));
        assert_eq!(s.audit_window_minutes, 0);
        assert_eq!(s.extra_policy_versions, vec!["a", "b"]);
        assert!(d.runs_in_process(true) && !d.runs_in_process(false));
        let off = settings(&[("WORKFLOWS_IN_PROCESS", "false")]).expect("off");
        assert!(!off.runs_in_process(true));
        let on = settings(&[("WORKFLOWS_IN_PROCESS", "Yes")]).expect("on");
        assert!(on.runs_in_process(false));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, val) in [
            ("WORKFLOW_STEP_DELAY_MS", "soon"),
            ("WORKFLOW_LEASE", "0s"),
            ("WORKFLOW_MAX_ATTEMPTS", "-1"),
            ("AUDIT_WINDOW_MINUTES", "99999"),
            ("WORKFLOWS_IN_PROCESS", "sometimes"),
        ] {
            let e = settings(&[(var, val)]).expect_err(var);
            assert_eq!(e.variable, var);
        }
    }
}
