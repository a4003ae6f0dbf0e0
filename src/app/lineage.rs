//! The pipeline's and the commands' OpenLineage runs (decision 0013), assembled from the
//! configuration: which datasets, which policy, when an interval closes, and how a run that
//! a dead process left open is closed by the next start.

use crate::config::{Config, LineageConfig};
use crate::lineage::{
    DatasetId, Datasets, Ending, LakeTableStats, Lineage, PolicyInfo, JOB_RUN, KIND_COMMAND,
    KIND_EXPORT, KIND_INTERVAL, KIND_PROCESS,
};
use crate::sink::lineage_relay::{deliver_pending, LineageSender};
use crate::sink::{ExportRuns, ExportedTable};
use crate::store::{
    LineageStep, LineageTarget, OpenRun, PublishTopics, RelayLease, Store, StoreError,
};
use crate::workflow::{investigation, CompletionLineage};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The run of one `pipeline run` process and its open interval.
pub struct ProcessRuns {
    lineage: Lineage,
    process: String,
    interval: String,
    opened_at: Instant,
    /// Whether a batch committed into the open interval: an idle interval stays open
    /// instead of reporting nothing every `OPENLINEAGE_INTERVAL`.
    committed: bool,
    /// Marks this process alive to the other replicas (PostgreSQL).
    _alive: Option<RelayLease>,
}

/// The lineage of `pipeline run`: its input, the topics its commits publish to, its policy.
pub(super) fn pipeline_lineage(
    cfg: &Config,
    lc: &LineageConfig,
    input: DatasetId,
    publish: &PublishTopics,
    policy: PolicyInfo,
) -> Lineage {
    let topics: Vec<(String, bool)> = [
        (&publish.processed, true),
        (&publish.alerts, true),
        (&publish.dlq, false),
    ]
    .into_iter()
    .filter_map(|(t, records)| Some((t.clone()?, records)))
    .collect();
    Lineage::new(
        lc,
        Datasets::from_config(cfg, Some(input), &topics),
        Some(policy),
    )
}

impl ProcessRuns {
    /// Closes what dead processes left open (their intervals COMPLETE with what they
    /// committed, everything else ABORT), then opens this process's run and first interval,
    /// all in one transaction.
    pub(super) async fn start<S: Store>(store: &S, lineage: Lineage) -> Result<Self, StoreError> {
        let process = lineage.process_run();
        // Held before the run is recorded: a starting replica never mistakes it for dead.
        let alive = store.lineage_run_lease(&process.run_id).await?;
        let (orphans, _their_leases) = orphans(store).await?;
        let interval = lineage.interval_run(&process.run_id);
        let ids = (process.run_id.clone(), interval.run_id.clone());
        if !orphans.is_empty() {
            tracing::warn!(
                runs = orphans.len(),
                "closing lineage runs a stopped process left open"
            );
        }
        store
            .lineage_apply(lineage.step(orphans, vec![process, interval], Lineage::orphan_ending))
            .await?;
        Ok(Self {
            lineage,
            process: ids.0,
            interval: ids.1,
            opened_at: Instant::now(),
            committed: false,
            _alive: alive,
        })
    }

    pub fn process_run_id(&self) -> &str {
        &self.process
    }

    /// The lineage runs of the workflows this process runs in-process.
    pub(super) fn workflow_lineage(&self) -> CompletionLineage {
        workflow_lineage(self.lineage.clone(), self.process.clone(), JOB_RUN)
    }

    /// Where a batch read from `input` is tallied.
    pub(super) fn target(&self, records_in: usize, bytes_in: usize) -> LineageTarget {
        LineageTarget {
            run_id: self.interval.clone(),
            records_in: records_in as i64,
            bytes_in: bytes_in as i64,
        }
    }

    pub(super) fn committed(&mut self) {
        self.committed = true;
    }

    /// Whether the open interval should close now.
    pub(super) fn due(&self) -> bool {
        self.committed && self.opened_at.elapsed() >= self.lineage.interval()
    }

    /// The interval that follows the open one.
    pub(super) fn next_interval(&self) -> OpenRun {
        self.lineage.interval_run(&self.process)
    }

    /// Closes the open interval (COMPLETE with its tallies) and opens `next`. Applied with
    /// no commit in flight, so no batch is tallied into a closed interval.
    pub(super) fn roll_step(&self, next: &OpenRun) -> LineageStep {
        self.lineage
            .step(vec![self.interval.clone()], vec![next.clone()], |_| {
                Ending::Complete
            })
    }

    /// After the roll committed.
    pub(super) fn rolled(&mut self, next: OpenRun) {
        self.interval = next.run_id;
        self.opened_at = Instant::now();
        self.committed = false;
    }

    /// The last step of a process: its open interval COMPLETE (unless a commit may still be
    /// landing: then the next start closes it with the final tallies), its open exports
    /// ABORT, its own run ending as `ending` says.
    pub(super) async fn finish<S: Store>(
        self,
        store: &S,
        ending: Ending,
        close_interval: bool,
    ) -> Result<(), StoreError> {
        let open = store.lineage_open_runs().await?;
        let mut close: Vec<String> = open
            .iter()
            .filter(|r| {
                r.kind == KIND_EXPORT && r.parent_run_id.as_deref() == Some(self.process.as_str())
            })
            .map(|r| r.run_id.clone())
            .collect();
        if close_interval {
            close.push(self.interval.clone());
        }
        close.push(self.process.clone());
        let step = self
            .lineage
            .step(close, Vec::new(), move |c| match c.run.kind.as_str() {
                KIND_INTERVAL => Ending::Complete,
                KIND_EXPORT => {
                    Ending::Abort("the process stopped before the export finished".into())
                }
                _ => ending.clone(),
            });
        store.lineage_apply(step).await?;
        Ok(())
    }

    /// The lakehouse exports' runs, children of this process's run.
    pub(super) fn export_runs(&self) -> std::sync::Arc<dyn ExportRuns> {
        std::sync::Arc::new(PipelineExports {
            lineage: self.lineage.clone(),
            process: self.process.clone(),
        })
    }
}

/// The runs to close at start-up: every process run whose process is gone (its lease can be
/// taken), with its children, and children whose process run is closed already. The leases
/// are returned so they are held until the runs are closed.
async fn orphans<S: Store>(store: &S) -> Result<(Vec<String>, Vec<RelayLease>), StoreError> {
    let open = store.lineage_open_runs().await?;
    let open_ids: HashSet<&str> = open.iter().map(|r| r.run_id.as_str()).collect();
    let mut dead = HashSet::new();
    let mut leases = Vec::new();
    for r in open.iter().filter(|r| r.kind == KIND_PROCESS) {
        if let Some(lease) = store.lineage_run_lease(&r.run_id).await? {
            dead.insert(r.run_id.as_str());
            leases.push(lease);
        }
    }
    let mut close: Vec<String> = open
        .iter()
        .filter(|r| {
            r.parent_run_id
                .as_deref()
                .is_some_and(|p| dead.contains(p) || !open_ids.contains(p))
        })
        .map(|r| r.run_id.clone())
        .collect();
    close.extend(dead.iter().map(|id| (*id).to_owned()));
    Ok((close, leases))
}

struct PipelineExports {
    lineage: Lineage,
    process: String,
}

impl ExportRuns for PipelineExports {
    fn begin(&self) -> (String, LineageStep) {
        let run = self.lineage.export_run(&self.process);
        let id = run.run_id.clone();
        (
            id,
            self.lineage
                .step(Vec::new(), vec![run], |_| Ending::Complete),
        )
    }

    fn end(&self, run: &str, outcome: Result<&[ExportedTable], &str>) -> LineageStep {
        let ending = match outcome {
            Ok(tables) => Ending::Exported(
                tables
                    .iter()
                    .map(|t| LakeTableStats {
                        table: t.table.clone(),
                        rows: t.rows as i64,
                        bytes: t.bytes as i64,
                        files: t.files as i64,
                    })
                    .collect(),
            ),
            Err(e) => Ending::Fail(e.to_owned()),
        };
        self.lineage
            .step(vec![run.to_owned()], Vec::new(), move |_| ending.clone())
    }
}

/// The run of one command invocation (`migrate`, `reencrypt`, `erase`, `audit verify`,
/// `worker`): START when it begins, COMPLETE or FAIL when it ends, then what is waiting is
/// delivered within a few seconds (a backend that is down leaves it to the next relay).
pub(crate) struct CommandRun {
    lineage: Lineage,
    run_id: String,
    sender: Option<LineageSender>,
}

const COMMAND_DELIVERY: Duration = Duration::from_secs(5);

/// The lineage run of each workflow an engine completes, child of the run `parent` of the
/// job `parent_job` (the worker's, or the pipeline process's when it runs them in-process).
fn workflow_lineage(
    lineage: Lineage,
    parent: String,
    parent_job: &'static str,
) -> CompletionLineage {
    Arc::new(move |kind: &str| {
        let d = lineage.datasets();
        let io = if kind == investigation::KIND {
            (
                d.tables(&["transactions", "quarantine", "decision_log"]),
                d.tables(&["investigation_cases"]),
            )
        } else {
            (
                d.tables(&["decision_log", "dead_letters", "transactions", "quarantine"]),
                d.tables(&["audit_findings", "audit_reports"]),
            )
        };
        lineage.workflow_step(kind, Some((&parent, parent_job)), io)
    })
}

impl CommandRun {
    /// `None` when lineage is off, or when the run could not be recorded (logged: lineage
    /// never stops a command).
    pub(crate) async fn start<S: Store>(
        cfg: &Config,
        store: &S,
        job: &str,
        io: impl FnOnce(&Datasets) -> (Vec<Value>, Vec<Value>),
    ) -> Option<Self> {
        let lc = cfg.lineage.as_ref()?;
        let lineage = Lineage::new(lc, Datasets::from_config(cfg, None, &[]), None);
        let run = lineage.top_run(job, KIND_COMMAND, io(lineage.datasets()));
        let run_id = run.run_id.clone();
        let step = lineage.step(Vec::new(), vec![run], |_| Ending::Complete);
        if let Err(e) = store.lineage_apply(step).await {
            tracing::warn!(error = %e, job, "could not record the command's lineage run");
            return None;
        }
        let sender = match lc.transport.as_ref().map(LineageSender::new) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "lineage events wait for the pipeline's relay");
                None
            }
            None => None,
        };
        Some(Self {
            lineage,
            run_id,
            sender,
        })
    }

    /// The lineage runs of the workflows run under this command (`pipeline.worker`).
    pub(crate) fn workflow_lineage(&self, job: &'static str) -> CompletionLineage {
        workflow_lineage(self.lineage.clone(), self.run_id.clone(), job)
    }

    pub(crate) async fn end<S: Store>(self, store: &S, outcome: Result<(), String>) {
        self.end_within(store, outcome, COMMAND_DELIVERY).await
    }

    /// As [`Self::end`], all within `limit` (a long-running command's shutdown deadline).
    pub(crate) async fn end_within<S: Store>(
        self,
        store: &S,
        outcome: Result<(), String>,
        limit: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        let ending = match outcome {
            Ok(()) => Ending::Complete,
            Err(e) => Ending::Fail(e),
        };
        let step = self
            .lineage
            .step(vec![self.run_id.clone()], Vec::new(), move |_| {
                ending.clone()
            });
        match tokio::time::timeout_at(deadline, store.lineage_apply(step)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not record the end of the command's lineage run");
                return;
            }
            Err(_) => {
                tracing::warn!("no time left to record the end of the command's lineage run");
                return;
            }
        }
        if let Some(sender) = &self.sender {
            let deadline = deadline.min(tokio::time::Instant::now() + COMMAND_DELIVERY);
            match deliver_pending(store, sender, deadline).await {
                Ok(0) => {}
                Ok(left) => tracing::warn!(
                    backlog = left,
                    "lineage events not delivered yet; the pipeline's relay sends them"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    "lineage backend unavailable; the pipeline's relay sends the events later"
                ),
            }
        }
    }
}
