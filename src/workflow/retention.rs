//! Checkpoint retention: once a workflow has been finished (completed or failed) for longer
//! than the retention period, its checkpoints, step runs and effect journal are deleted.
//! The workflow row, the cases and the findings stay: they are the lasting record, and the
//! workflow row keeps the id taken so the work is never started again.

use super::WorkflowError;
use crate::store::WorkflowStore;
use std::time::Duration;

pub use crate::store::PruneReport;

/// Deletes in batches of `batch` workflows, one short transaction each, so pruning never
/// holds locks long enough to stall the workers.
pub async fn prune(
    store: &dyn WorkflowStore,
    retention: Duration,
    batch: i64,
) -> Result<PruneReport, WorkflowError> {
    let mut report = PruneReport::default();
    loop {
        let pass = store.prune_finished(retention, batch).await?;
        if pass.workflows == 0 {
            return Ok(report);
        }
        report.workflows += pass.workflows;
        report.checkpoints += pass.checkpoints;
        report.step_runs += pass.step_runs;
        report.effects += pass.effects;
    }
}
