//! Durable agent workflows. A record decided `review` gets an investigation workflow in the
//! transaction that commits it; the audit agent gets one workflow per closed time window.
//! Workers lease runnable workflows (a lease with an expiry, taken through the store's
//! workflow role on PostgreSQL or SQLite), run one step at a time, and checkpoint each
//! step's output together with its side effects before the next step starts. A worker that
//! dies loses its lease when it expires, and the next worker resumes after the last
//! checkpoint. `pipeline worker` runs them; on the embedded store `pipeline run` does too.
//! See docs/decisions/0003-durable-workflows.md and 0012-workflows-on-sqlite.md.

pub mod agent;
pub mod audit;
mod engine;
pub mod investigation;
mod leases;
mod metrics;
pub mod retention;
mod step;
mod worker;

pub use engine::{Claimed, CompletionLineage, Engine, EngineSettings, Progress, StepOutcome};
pub use leases::Claim;
pub use metrics::{register_metrics, FindingLabel, WorkflowLabel, WorkflowMetrics};
pub use step::{Effect, Step, StepContext, StepError, StepInput, StepOutput, WorkflowDef};
pub use worker::{worker_loop, Until, WorkerReport, WorkerSettings};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("workflow {workflow_id}: the lease was lost to another worker")]
    LeaseLost { workflow_id: String },
    #[error("workflow {workflow_id} is inconsistent: {message}")]
    Corrupt {
        workflow_id: String,
        message: String,
    },
    #[error("no definition for workflow kind {0:?}")]
    UnknownKind(String),
    #[error("policy data {path}: {message}")]
    PolicyData { path: String, message: String },
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error("binding HTTP_PORT {port}: {source}")]
    Http {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Llm(#[from] crate::llm::LlmError),
}

impl WorkflowError {
    /// The database is away: wait and retry rather than give up.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_unavailable())
    }
}
