//! The service assembled: the one place that chooses the source and the store, starts the
//! exporter, the outbox relay and the HTTP endpoints, and stops them all within one
//! shutdown deadline. The binary only parses the command line and calls in here; tests
//! start a pipeline in-process the same way:
//!
//! ```no_run
//! # async fn demo(cfg: pfm::config::Config) -> Result<(), pfm::app::AppError> {
//! use pfm::app::{App, Shutdown, SourceChoice};
//! use pfm::workflow::WorkerSettings;
//! let timeout = cfg.shutdown_timeout;
//! let source = SourceChoice::Synthetic { seed: 42, count: Some(1_000) };
//! let app = App::build(cfg, source, WorkerSettings::default()).await?;
//! let summary = app.run_until(Shutdown::on_signals(timeout)).await?;
//! # Ok(()) }
//! ```

mod commands;
mod lineage;
mod llm_slots;
mod mcp;
mod pipeline;
mod processor;
mod remote_govern;
mod run_loop;
mod shutdown;
mod sources;
mod stores;
mod worker;

pub use commands::{
    erase, generate, healthcheck, lineage, migrate, reencrypt, verify_audit_log, CommandError,
    GenerateOptions,
};
pub use lineage::ProcessRuns;
pub use llm_slots::{with_cluster_limit, StoreSlots};
pub use mcp::{run_mcp, McpRunError, McpTransport};
pub use pipeline::{App, AppError};
pub use processor::{build_processor, BatchError, BatchProcessor};
pub use remote_govern::{RemoteGovern, UNAVAILABLE_PROVENANCE};
pub use run_loop::{run_loop, Decisions, RunError, Summary};
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use sources::SourceChoice;
pub use stores::{load_kek, open_store, AnyStore, OpenError, Schema};
pub use worker::{llm_client, run_worker, WorkerExit, WorkerOptions, WorkflowSummary};
