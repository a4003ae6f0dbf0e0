//! Checkpoint retention: once a workflow has been finished (completed or failed) for longer
//! than the retention period, its checkpoints, step runs and effect journal are deleted.
//! The workflow row, the cases and the findings stay: they are the lasting record, and the
//! workflow row keeps the id taken so the work is never started again.

use super::WorkflowError;
use sqlx::PgPool;
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub workflows: u64,
    pub checkpoints: u64,
    pub step_runs: u64,
    pub effects: u64,
}

/// Deletes in batches of `batch` workflows, one short transaction each, so pruning never
/// holds locks long enough to stall the workers.
pub async fn prune(
    pool: &PgPool,
    retention: Duration,
    batch: i64,
) -> Result<PruneReport, WorkflowError> {
    let mut report = PruneReport::default();
    loop {
        let mut tx = pool.begin().await?;
        // Finished workflows never change again, so no row lock is needed; two pruners at
        // once only delete the same rows twice. The IN list keeps the scan proportional to
        // what is left to prune rather than to all history.
        let victims: Vec<String> = sqlx::query_scalar(
            "SELECT w.workflow_id FROM workflows w \
             WHERE w.status <> 'runnable' AND w.completed_at < now() - make_interval(secs => $1) \
               AND w.workflow_id IN (SELECT workflow_id FROM workflow_checkpoints \
                                     UNION SELECT workflow_id FROM workflow_step_runs) \
             ORDER BY w.completed_at LIMIT $2",
        )
        .bind(retention.as_secs_f64())
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        if victims.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
        for (table, count) in [
            ("workflow_checkpoints", &mut report.checkpoints),
            ("workflow_step_runs", &mut report.step_runs),
            ("workflow_effects", &mut report.effects),
        ] {
            *count += sqlx::query(&format!("DELETE FROM {table} WHERE workflow_id = ANY($1)"))
                .bind(&victims)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        report.workflows += victims.len() as u64;
    }
}
