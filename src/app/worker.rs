//! `pipeline worker` assembled: the workflow engine with its investigation and audit
//! definitions, the same telemetry endpoints as the pipeline, and the one shutdown
//! deadline. On either backend; on the embedded SQLite store it may run beside `pipeline
//! run` on the same file (WAL mode and a busy timeout let the two processes share it), and
//! `pipeline run` also drives the same engine in-process ([`InProcessWorkflows`]).

use super::lineage::CommandRun;
use super::shutdown::Shutdown;
use crate::config::{Config, DatabaseConfig};
use crate::llm::{LlmClient, LlmError, LlmMetrics};
use crate::policy::EmbeddedPolicy;
use crate::store::{Database, LlmSlotStore, PgStore, SqliteStore, Store, WorkflowStore};
use crate::telemetry::health::Health;
use crate::telemetry::http::{serve, HttpState};
use crate::workflow::agent::{ActionPolicy, Agent};
use crate::workflow::audit::{self, AuditConfig};
use crate::workflow::investigation::{self, InvestigationConfig};
use crate::workflow::{
    register_metrics, worker_loop, CompletionLineage, Engine, Until, WorkerReport, WorkerSettings,
    WorkflowDef, WorkflowError, WorkflowMetrics,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What `pipeline worker` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Stop once no workflow is left to run, instead of waiting for new ones.
    pub once: bool,
    /// Name of this worker in leases (default: `$HOSTNAME-<pid>-<random>`).
    pub worker_id: Option<String>,
}

/// How a worker run ended.
#[derive(Debug)]
pub enum WorkerExit {
    Finished(WorkerReport),
    /// The step in flight outlasted `SHUTDOWN_TIMEOUT`; it will run again elsewhere.
    DrainTimeout,
}

pub(crate) fn default_worker_id() -> String {
    use rand::Rng;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    // The random part keeps a restarted container (same hostname, often pid 1) distinct
    // from its predecessor, whose leases may still be live.
    let tag: u16 = rand::thread_rng().gen();
    format!("{host}-{}-{tag:04x}", std::process::id())
}

/// The workflow definitions (investigation, audit agent) for the configured policy, and
/// the policy version they were built for. With an LLM client the agents triage and
/// narrate through it, governed by the bundle's rule on agent actions (decision 0014).
pub(crate) fn definitions(
    cfg: &Config,
    settings: &WorkerSettings,
    llm: Option<LlmClient>,
) -> Result<(Vec<WorkflowDef>, String), WorkflowError> {
    let policy = EmbeddedPolicy::load(cfg.policy_dir.as_deref(), &cfg.opa_policy_path)?;
    let agent = match llm {
        Some(llm) => Some(Agent::new(
            llm,
            ActionPolicy::load(cfg.policy_dir.as_deref())?,
        )),
        None => None,
    };
    let data = audit::load_policy_data(cfg.policy_dir.as_deref())?;
    // Decision-log entries name the embedded policy `embedded:<version>`; entries written
    // before that carry the bare version.
    let mut expected = vec![policy.provenance(), policy.version().to_owned()];
    expected.extend(settings.extra_policy_versions.iter().cloned());
    let audit_cfg = AuditConfig {
        baseline_windows: settings.audit_baseline_windows,
        thresholds: audit::policy_thresholds(&data),
        eur_per_unit: audit::policy_rates(&data),
        detect: audit::DetectConfig {
            expected_versions: expected,
            ..audit::DetectConfig::default()
        },
        agent: agent.clone(),
        ..AuditConfig::default()
    };
    let defs = vec![
        investigation::definition(InvestigationConfig {
            agent,
            ..InvestigationConfig::default()
        }),
        audit::definition(audit_cfg),
    ];
    Ok((defs, policy.version().to_owned()))
}

/// Runs workflows until `shutdown` (or, with `once`, until none is left).
pub async fn run_worker(
    cfg: &Config,
    settings: WorkerSettings,
    args: WorkerOptions,
    shutdown: Shutdown,
) -> Result<WorkerExit, WorkflowError> {
    match &cfg.database {
        DatabaseConfig::Postgres { url } => {
            let store = connect(url.expose()).await?;
            store.check_schema().await?;
            work(store, cfg, settings, args, shutdown).await
        }
        // The embedded store migrates itself, as `pipeline run` does on it.
        DatabaseConfig::Sqlite { path } => {
            let store = SqliteStore::open(path).await?;
            store.migrate().await?;
            work(store, cfg, settings, args, shutdown).await
        }
    }
}

async fn work<S: Store + Clone>(
    store: S,
    cfg: &Config,
    settings: WorkerSettings,
    args: WorkerOptions,
    shutdown: Shutdown,
) -> Result<WorkerExit, WorkflowError> {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(register_metrics(&mut registry));
    let health = Health::new(false, false);
    let health = Arc::new(match cfg.llm {
        Some(_) => health.with_llm(),
        None => health,
    });
    health.set_database(true);
    let llm = llm_client(cfg, &mut registry, &health)?;
    let llm =
        super::llm_slots::with_cluster_limit(llm, cfg, store.clone(), &default_worker_id()).await?;
    let model = llm.as_ref().map(|c| c.model().to_owned());
    let (defs, policy_version) = definitions(cfg, &settings, llm)?;
    let state = HttpState {
        health: health.clone(),
        registry: Arc::new(registry),
    };
    let (addr, http) = serve(cfg.http_port, state, shutdown.flag())
        .await
        .map_err(|source| WorkflowError::Http {
            port: cfg.http_port,
            source,
        })?;

    let worker_id = args.worker_id.clone().unwrap_or_else(default_worker_id);
    // The worker's own lineage run (OpenLineage on) is recorded through the same store.
    let lineage_store = store.clone();
    let lineage = CommandRun::start(cfg, &lineage_store, "pipeline.worker", |d| {
        (
            d.tables(&["workflows", "decision_log"]),
            d.tables(&[
                "workflow_checkpoints",
                "investigation_cases",
                "audit_findings",
            ]),
        )
    })
    .await;
    let mut engine = Engine::new(store, worker_id.clone(), defs, settings.engine.clone())
        .with_metrics(metrics.clone());
    if let Some(run) = &lineage {
        engine = engine.with_lineage(run.workflow_lineage("pipeline.worker"));
    }
    tracing::info!(
        worker = %worker_id, http = %addr, once = args.once, database = cfg.database.kind(),
        lease_ms = settings.engine.lease.as_millis() as u64,
        step_delay_ms = settings.engine.step_delay.as_millis() as u64,
        policy_version,
        llm = model.as_deref().unwrap_or("off (deterministic agents)"),
        "workflow worker started"
    );

    // The mode never changes: the sender may go at once.
    let until = watch::channel(if args.once {
        Until::NoneRunnable
    } else {
        Until::Stopped
    })
    .1;
    let outcome = tokio::select! {
        r = worker_loop(&engine, &settings, until, &health, &metrics, shutdown.flag()) => Some(r),
        _ = shutdown.expired() => None,
    };
    // Leases are released even after an error, so nobody waits for them to expire.
    let released = engine.release_all().await;
    if let Some(run) = lineage {
        let ended = match &outcome {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the step in flight outlasted SHUTDOWN_TIMEOUT".to_owned()),
        };
        run.end_within(&lineage_store, ended, shutdown.remaining())
            .await;
    }
    http.abort();
    let report = match outcome {
        None => {
            tracing::error!(
                timeout = ?cfg.shutdown_timeout,
                "the step in flight outlasted SHUTDOWN_TIMEOUT; it will run again elsewhere"
            );
            return Ok(WorkerExit::DrainTimeout);
        }
        Some(r) => r?,
    };
    released?;
    tracing::info!(worker = %worker_id, completed = report.completed, "workflow worker stopped");
    Ok(WorkerExit::Finished(report))
}

/// The LLM client from `LLM_*` (`None` without `LLM_URL`: the agents stay deterministic),
/// its `pipeline_llm_*` metrics in `registry` and its condition in `health`'s report, which
/// never makes the process unready.
pub fn llm_client(
    cfg: &Config,
    registry: &mut prometheus_client::registry::Registry,
    health: &Arc<Health>,
) -> Result<Option<LlmClient>, LlmError> {
    let Some(settings) = &cfg.llm else {
        return Ok(None);
    };
    let metrics = LlmMetrics::register(registry);
    LlmClient::new(settings.clone(), metrics, Some(health.clone())).map(Some)
}

/// Start-up fails fast: a database unreachable after a short bounded retry is an error.
async fn connect(url: &str) -> Result<PgStore, WorkflowError> {
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        match PgStore::connect(url, 4).await {
            Ok(s) => return Ok(s),
            Err(e) if attempt < 5 => {
                tracing::warn!(attempt, error = %e, "database not reachable yet");
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What the in-process workflow engine of a `pipeline run` did, in its summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkflowSummary {
    #[serde(flatten)]
    pub report: WorkerReport,
    /// Workflows still runnable when it stopped (`None`: they could not be counted): held
    /// by another worker, waiting out a retry back-off, or left by a shutdown.
    pub left: Option<i64>,
}

/// The workflow engine of `pipeline run`, ready to start beside the batch loop.
pub(crate) struct InProcessWorkflows {
    engine: Engine,
    settings: WorkerSettings,
    metrics: Arc<WorkflowMetrics>,
}

impl InProcessWorkflows {
    /// Registers the workflow metrics, and with `LLM_URL` the LLM client's, with the
    /// pipeline's own; the client's condition goes to the pipeline's `/health`.
    pub(crate) async fn new<S: WorkflowStore + LlmSlotStore + Clone>(
        store: S,
        cfg: &Config,
        settings: WorkerSettings,
        registry: &mut prometheus_client::registry::Registry,
        health: &Arc<Health>,
    ) -> Result<Self, WorkflowError> {
        let llm = llm_client(cfg, registry, health)?;
        // A `pipeline worker` beside the run on the same file shares the cluster limit.
        let llm =
            super::llm_slots::with_cluster_limit(llm, cfg, store.clone(), &default_worker_id())
                .await?;
        let (defs, _) = definitions(cfg, &settings, llm)?;
        let metrics = Arc::new(register_metrics(registry));
        let engine = Engine::new(store, default_worker_id(), defs, settings.engine.clone())
            .with_metrics(metrics.clone());
        Ok(Self {
            engine,
            settings,
            metrics,
        })
    }

    /// Every workflow it completes also reports a lineage run of its own.
    pub(crate) fn with_lineage(mut self, lineage: CompletionLineage) -> Self {
        self.engine = self.engine.with_lineage(lineage);
        self
    }

    /// Starts the engine on its own task; it runs until told otherwise.
    pub(crate) fn start(self) -> RunningWorkflows {
        let (stop, stop_rx) = watch::channel(false);
        let (until, until_rx) = watch::channel(Until::Stopped);
        tracing::info!(
            worker = %self.engine.worker_id(),
            lease_ms = self.settings.engine.lease.as_millis() as u64,
            "workflow engine started in-process"
        );
        let task = tokio::spawn(async move {
            let Self {
                engine,
                settings,
                metrics,
            } = self;
            // Its own liveness: the batch loop's must not be kept fresh by the engine.
            let health = Health::new(false, false);
            let outcome =
                worker_loop(&engine, &settings, until_rx, &health, &metrics, stop_rx).await;
            let released = engine.release_all().await;
            let report = outcome?;
            released?;
            let left = match engine.runnable().await {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::warn!(error = %e, "counting the workflows left failed");
                    None
                }
            };
            Ok(WorkflowSummary { report, left })
        });
        RunningWorkflows { task, stop, until }
    }
}

/// The in-process engine while it runs.
pub(crate) struct RunningWorkflows {
    task: JoinHandle<Result<WorkflowSummary, WorkflowError>>,
    stop: watch::Sender<bool>,
    until: watch::Sender<Until>,
}

impl RunningWorkflows {
    /// Ends the engine. With `drain` (the source drained by itself), it first works until
    /// nothing is claimable, however long that takes, unless shutdown is requested
    /// meanwhile; otherwise it finishes the step in flight. Either way a step still running
    /// at the shutdown deadline (`deadline` when shutdown was never requested) is abandoned:
    /// its lease expires and another run or worker repeats it.
    pub(crate) async fn finish(
        self,
        drain: bool,
        shutdown: &Shutdown,
        deadline: tokio::time::Instant,
    ) -> Option<WorkflowSummary> {
        let Self {
            mut task,
            stop,
            until,
        } = self;
        let deadline = if drain {
            until.send_replace(Until::NoneClaimable);
            tokio::select! {
                r = &mut task => return joined(r),
                _ = shutdown.requested() => {}
            }
            shutdown.deadline().unwrap_or(deadline)
        } else {
            deadline
        };
        stop.send_replace(true);
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(r) => joined(r),
            Err(_) => {
                task.abort();
                tracing::warn!(
                    "the workflow step in flight outlasted SHUTDOWN_TIMEOUT; it runs again once its lease expires"
                );
                None
            }
        }
    }
}

fn joined(
    r: Result<Result<WorkflowSummary, WorkflowError>, tokio::task::JoinError>,
) -> Option<WorkflowSummary> {
    match r {
        Ok(Ok(summary)) => {
            tracing::info!(
                completed = summary.report.completed, left = ?summary.left,
                "in-process workflow engine stopped"
            );
            Some(summary)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the in-process workflow engine failed; the workflows wait in the database");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "the in-process workflow engine task failed");
            None
        }
    }
}
