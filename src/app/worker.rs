//! `pipeline worker` assembled: the workflow engine with its investigation and audit
//! definitions, the same telemetry endpoints as the pipeline, and the one shutdown
//! deadline.

use super::shutdown::Shutdown;
use crate::config::{Config, DatabaseConfig};
use crate::llm::{LlmClient, LlmError, LlmMetrics};
use crate::policy::EmbeddedPolicy;
use crate::store::{Database, PgStore};
use crate::telemetry::health::Health;
use crate::telemetry::http::{serve, HttpState};
use crate::workflow::audit::{self, AuditConfig};
use crate::workflow::investigation::{self, InvestigationConfig};
use crate::workflow::{
    register_metrics, worker_loop, Engine, WorkerReport, WorkerSettings, WorkflowError,
};
use std::sync::Arc;
use std::time::Duration;

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

fn default_worker_id() -> String {
    use rand::Rng;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    // The random part keeps a restarted container (same hostname, often pid 1) distinct
    // from its predecessor, whose leases may still be live.
    let tag: u16 = rand::thread_rng().gen();
    format!("{host}-{}-{tag:04x}", std::process::id())
}

/// Runs workflows until `shutdown` (or, with `once`, until none is left).
pub async fn run_worker(
    cfg: &Config,
    settings: WorkerSettings,
    args: WorkerOptions,
    shutdown: Shutdown,
) -> Result<WorkerExit, WorkflowError> {
    let DatabaseConfig::Postgres { url } = &cfg.database else {
        return Err(WorkflowError::NeedsPostgres);
    };
    let store = connect(url.expose()).await?;
    store.check_schema().await?;
    let policy = EmbeddedPolicy::load(cfg.policy_dir.as_deref(), &cfg.opa_policy_path)?;
    let data = audit::load_policy_data(cfg.policy_dir.as_deref())?;
    // Decision-log entries name the embedded policy `embedded:<version>`; entries written
    // before that carry the bare version.
    let mut expected = vec![policy.provenance(), policy.version().to_owned()];
    expected.extend(settings.extra_policy_versions.iter().cloned());
    let audit_cfg = AuditConfig {
        baseline_windows: settings.audit_baseline_windows,
        thresholds: audit::policy_thresholds(&data),
        detect: audit::DetectConfig {
            expected_versions: expected,
            ..audit::DetectConfig::default()
        },
        ..AuditConfig::default()
    };

    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(register_metrics(&mut registry));
    let health = Health::new(false, false);
    let health = Arc::new(match cfg.llm {
        Some(_) => health.with_llm(),
        None => health,
    });
    health.set_database(true);
    // Held for the investigation and audit agents (issue 15), which do not ask it yet.
    let llm = llm_client(cfg, &mut registry, &health)?;
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
    let engine = Engine::new(
        store.clone(),
        worker_id.clone(),
        vec![
            investigation::definition(InvestigationConfig::default()),
            audit::definition(audit_cfg),
        ],
        settings.engine.clone(),
    )
    .with_metrics(metrics.clone());
    tracing::info!(
        worker = %worker_id, http = %addr, once = args.once,
        lease_ms = settings.engine.lease.as_millis() as u64,
        step_delay_ms = settings.engine.step_delay.as_millis() as u64,
        policy_version = policy.version(),
        llm = llm.as_ref().map_or("off (deterministic agents)", |c| c.model()),
        "workflow worker started"
    );

    let outcome = tokio::select! {
        r = worker_loop(&engine, &settings, args.once, &health, &metrics, shutdown.flag()) => Some(r),
        _ = shutdown.expired() => None,
    };
    // Leases are released even after an error, so nobody waits for them to expire.
    let released = engine.release_all().await;
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
