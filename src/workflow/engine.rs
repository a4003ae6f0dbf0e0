//! Claims workflows, runs their steps one at a time and checkpoints each before the next.

use super::leases::{self, Claim, StepResult};
use super::metrics::WorkflowMetrics;
use super::step::{StepContext, StepError, StepInput, WorkflowDef};
use super::WorkflowError;
use crate::store::{LineageStep, WorkflowStore};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How long a claim stays ours without renewal. A dead worker's workflows wait this long.
    pub lease: Duration,
    /// Added before every step; lets tests stop a worker in the middle of a workflow.
    pub step_delay: Duration,
    /// After this many claims a workflow is failed rather than retried.
    pub max_attempts: i32,
    /// A failed step's workflow becomes claimable again after this.
    pub retry_backoff: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            step_delay: Duration::ZERO,
            max_attempts: 10,
            retry_backoff: Duration::from_secs(30),
        }
    }
}

/// A claimed workflow with what its finished steps produced.
pub struct Claimed {
    pub claim: Claim,
    pub input: StepInput,
}

/// What running one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Checkpointed; `completed` when it was the last step.
    Checkpointed { completed: bool },
    /// The step failed; the workflow is retried later, or failed for good.
    Failed { workflow_failed: bool },
    /// Another worker holds the workflow now; this worker forgets it.
    LeaseLost,
}

/// How driving a claimed workflow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Completed,
    /// Shutdown requested: the current step was checkpointed and the lease released.
    Stopped,
    Failed,
    Retrying,
    LeaseLost,
}

pub struct Engine {
    store: Arc<dyn WorkflowStore>,
    worker_id: String,
    defs: HashMap<&'static str, Arc<WorkflowDef>>,
    settings: EngineSettings,
    metrics: Option<Arc<WorkflowMetrics>>,
    lineage: Option<CompletionLineage>,
}

/// Renders the lineage run of a workflow of the given kind as it completes (OpenLineage on);
/// set by the assembly, which knows the process's own run.
pub type CompletionLineage = Arc<dyn Fn(&str) -> LineageStep + Send + Sync>;

impl Engine {
    pub fn new(
        store: impl WorkflowStore,
        worker_id: impl Into<String>,
        defs: Vec<WorkflowDef>,
        settings: EngineSettings,
    ) -> Self {
        Self {
            store: Arc::new(store),
            worker_id: worker_id.into(),
            defs: defs.into_iter().map(|d| (d.kind, Arc::new(d))).collect(),
            settings,
            metrics: None,
            lineage: None,
        }
    }

    /// Every completed workflow also writes its own lineage run, in the completing
    /// transaction.
    pub fn with_lineage(mut self, lineage: CompletionLineage) -> Self {
        self.lineage = Some(lineage);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<WorkflowMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The store the engine works on (the worker schedules and prunes through it too).
    pub fn store(&self) -> &dyn WorkflowStore {
        &*self.store
    }

    fn kinds(&self) -> Vec<&str> {
        let mut k: Vec<&str> = self.defs.keys().copied().collect();
        k.sort_unstable();
        k
    }

    /// Leases the next claimable workflow and loads its checkpoints. A workflow claimed more
    /// often than `max_attempts` (it keeps crashing its workers) is failed instead.
    pub async fn claim(&self) -> Result<Option<Claimed>, WorkflowError> {
        loop {
            let kinds = self.kinds();
            let Some(claim) = self
                .store
                .claim_workflow(&self.worker_id, &kinds, self.settings.lease)
                .await?
            else {
                return Ok(None);
            };
            if claim.attempt > self.settings.max_attempts {
                tracing::error!(
                    workflow_id = %claim.workflow_id, attempts = claim.attempt,
                    "workflow failed: claimed too often without completing"
                );
                self.store
                    .give_back_failed(
                        &claim,
                        &self.worker_id,
                        true,
                        self.settings.max_attempts,
                        self.settings.retry_backoff,
                    )
                    .await?;
                self.finished(&claim.kind, "failed");
                continue;
            }
            let mut input = StepInput::default();
            for (i, name, output) in leases::checkpoints(&*self.store, &claim.workflow_id).await? {
                if i >= claim.next_step {
                    break;
                }
                input.push(&name, output);
            }
            tracing::debug!(
                workflow_id = %claim.workflow_id, next_step = claim.next_step,
                attempt = claim.attempt, "workflow claimed"
            );
            return Ok(Some(Claimed { claim, input }));
        }
    }

    /// Runs the claimed workflow's next step and checkpoints it. With `stop` set when the
    /// step finishes, the checkpoint also releases the lease.
    pub async fn run_step(
        &self,
        claimed: &mut Claimed,
        stop: &watch::Receiver<bool>,
    ) -> Result<StepOutcome, WorkflowError> {
        let claim = &claimed.claim;
        let def = self
            .defs
            .get(claim.kind.as_str())
            .cloned()
            .ok_or_else(|| WorkflowError::UnknownKind(claim.kind.clone()))?;
        let index = usize::try_from(claim.next_step).unwrap_or(usize::MAX);
        let Some(step) = def.steps.get(index) else {
            return Err(WorkflowError::Corrupt {
                workflow_id: claim.workflow_id.clone(),
                message: format!(
                    "next_step {} but {} has {} steps",
                    claim.next_step,
                    claim.kind,
                    def.steps.len()
                ),
            });
        };
        let lease = self.settings.lease;
        let Some(run_id) = self
            .store
            .begin_run(claim, step.name(), &self.worker_id, lease)
            .await?
        else {
            self.step_metric(&claim.kind, "lease_lost");
            return Ok(StepOutcome::LeaseLost);
        };
        let ctx = StepContext {
            workflow_id: &claim.workflow_id,
            kind: &claim.kind,
            subject: &claim.subject,
            account_id: claim.account_id.as_deref(),
            step_index: claim.next_step,
            attempt: claim.attempt,
            store: &*self.store,
        };
        let delay = self.settings.step_delay;
        let work = async {
            tokio::time::sleep(delay).await;
            step.run(&ctx, &claimed.input).await
        };
        let result = match self.with_heartbeat(&claim.workflow_id, work).await? {
            Some(r) => r,
            None => {
                self.store.close_run(run_id, "lease_lost", None).await?;
                self.step_metric(&claim.kind, "lease_lost");
                return Ok(StepOutcome::LeaseLost);
            }
        };
        let output = match result {
            Ok(o) => o,
            Err(e) => return self.step_failed(claim, run_id, step.name(), e).await,
        };
        let last = index + 1 == def.steps.len();
        // Read before the await: the watch guard must not live across it (the engine also
        // runs on a spawned task inside `pipeline run`).
        let keep_lease = !*stop.borrow();
        let committed = match leases::checkpoint(
            &*self.store,
            claim,
            &self.worker_id,
            lease,
            StepResult {
                run_id,
                step_name: step.name(),
                output: &output.output,
                effects: &output.effects,
                last,
                keep_lease,
                lineage: if last {
                    self.lineage.as_ref().map(|render| render(&claim.kind))
                } else {
                    None
                },
            },
        )
        .await
        {
            Ok(c) => c,
            Err(WorkflowError::LeaseLost { .. }) => {
                self.store.close_run(run_id, "lease_lost", None).await?;
                self.step_metric(&claim.kind, "lease_lost");
                return Ok(StepOutcome::LeaseLost);
            }
            Err(e) => return Err(e),
        };
        for i in committed.applied {
            if let Some(effect) = output.effects.get(i) {
                effect.committed(self.metrics.as_deref());
            }
        }
        tracing::info!(
            workflow_id = %claim.workflow_id, step = step.name(), step_index = claim.next_step,
            worker = %self.worker_id, "step checkpointed"
        );
        self.step_metric(&claim.kind, "checkpointed");
        claimed.input.push(step.name(), output.output);
        claimed.claim.next_step += 1;
        if committed.completed {
            tracing::info!(workflow_id = %claimed.claim.workflow_id, "workflow completed");
            self.finished(&claimed.claim.kind, "completed");
        }
        Ok(StepOutcome::Checkpointed {
            completed: committed.completed,
        })
    }

    /// Runs `work` while renewing the lease every third of its length; `None` if the lease
    /// was lost meanwhile (the work is dropped: its result could no longer be checkpointed).
    async fn with_heartbeat<T>(
        &self,
        workflow_id: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Option<T>, WorkflowError> {
        let every = (self.settings.lease / 3).max(Duration::from_millis(50));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => return Ok(Some(r)),
                _ = tick.tick() => {
                    match self.store.renew_lease(workflow_id, &self.worker_id, self.settings.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(workflow_id, "lease lost while the step ran; abandoning it");
                            return Ok(None);
                        }
                        // The checkpoint is fenced anyway; a missed renewal only risks a takeover.
                        Err(e) => tracing::warn!(workflow_id, error = %e, "lease renewal failed"),
                    }
                }
            }
        }
    }

    async fn step_failed(
        &self,
        claim: &Claim,
        run_id: i64,
        step: &str,
        error: StepError,
    ) -> Result<StepOutcome, WorkflowError> {
        self.store
            .close_run(run_id, "failed", Some(&error.to_string()))
            .await?;
        self.step_metric(&claim.kind, "failed");
        let status = self
            .store
            .give_back_failed(
                claim,
                &self.worker_id,
                error.is_permanent(),
                self.settings.max_attempts,
                self.settings.retry_backoff,
            )
            .await?;
        let workflow_failed = status.as_deref() == Some("failed");
        if workflow_failed {
            tracing::error!(workflow_id = %claim.workflow_id, step, error = %error, "workflow failed");
            self.finished(&claim.kind, "failed");
        } else {
            tracing::warn!(workflow_id = %claim.workflow_id, step, error = %error, "step failed; will retry");
        }
        Ok(StepOutcome::Failed { workflow_failed })
    }

    /// Runs the claimed workflow's steps until it completes, fails, loses its lease, or
    /// `stop` is set (then the step in flight is finished and checkpointed first).
    pub async fn drive(
        &self,
        mut claimed: Claimed,
        stop: &watch::Receiver<bool>,
    ) -> Result<Progress, WorkflowError> {
        loop {
            match self.run_step(&mut claimed, stop).await? {
                StepOutcome::Checkpointed { completed: true } => return Ok(Progress::Completed),
                StepOutcome::Checkpointed { completed: false } => {
                    if *stop.borrow() {
                        // The checkpoint released the lease already; this covers a stop
                        // that arrived just after it committed.
                        self.store
                            .release_lease(&claimed.claim.workflow_id, &self.worker_id)
                            .await?;
                        return Ok(Progress::Stopped);
                    }
                }
                StepOutcome::Failed {
                    workflow_failed: true,
                } => return Ok(Progress::Failed),
                StepOutcome::Failed {
                    workflow_failed: false,
                } => return Ok(Progress::Retrying),
                StepOutcome::LeaseLost => return Ok(Progress::LeaseLost),
            }
        }
    }

    /// Claims and drives one workflow; `None` when nothing is claimable.
    pub async fn work_once(
        &self,
        stop: &watch::Receiver<bool>,
    ) -> Result<Option<Progress>, WorkflowError> {
        match self.claim().await? {
            None => Ok(None),
            Some(c) => self.drive(c, stop).await.map(Some),
        }
    }

    /// Workflows of this engine's kinds not finished yet, whoever holds them.
    pub async fn runnable(&self) -> Result<i64, WorkflowError> {
        Ok(self.store.runnable_workflows(&self.kinds()).await?)
    }

    /// Releases every lease this worker holds (at exit), so nobody waits for them to expire.
    pub async fn release_all(&self) -> Result<u64, WorkflowError> {
        Ok(self.store.release_all_leases(&self.worker_id).await?)
    }

    fn step_metric(&self, kind: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.step(kind, outcome);
        }
    }

    fn finished(&self, kind: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.finished(kind, outcome);
        }
    }
}
