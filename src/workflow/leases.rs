//! The engine's SQL: claiming with leases, fencing every write on the lease, checkpointing.
//! Every statement that changes a workflow names the worker and the step it expects, so a
//! worker whose lease expired (and was taken over) can never write again.

use super::step::{effect_key, Effect};
use super::WorkflowError;
use sqlx::{PgPool, Row};
use std::time::Duration;

/// A workflow leased to this worker.
#[derive(Debug, Clone)]
pub struct Claim {
    pub workflow_id: String,
    pub kind: String,
    pub subject: String,
    pub account_id: Option<String>,
    pub next_step: i32,
    /// The workflow's claim count, this claim included.
    pub attempt: i32,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Leases the oldest claimable workflow of one of `kinds`: runnable, and either never leased
/// or with an expired lease (its worker died, or a retry back-off ended).
pub(crate) async fn claim(
    pool: &PgPool,
    worker: &str,
    kinds: &[&str],
    lease: Duration,
) -> Result<Option<Claim>, WorkflowError> {
    let row = sqlx::query(
        "UPDATE workflows w SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2), \
         attempts = w.attempts + 1, updated_at = now() \
         WHERE w.workflow_id = (SELECT workflow_id FROM workflows WHERE status = 'runnable' AND kind = ANY($3) \
           AND (lease_expires_at IS NULL OR lease_expires_at <= now()) \
           ORDER BY created_at, workflow_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING w.workflow_id, w.kind, w.subject, w.account_id, w.next_step, w.attempts",
    )
    .bind(worker)
    .bind(secs(lease))
    .bind(kinds)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => None,
        Some(r) => Some(Claim {
            workflow_id: r.try_get(0)?,
            kind: r.try_get(1)?,
            subject: r.try_get(2)?,
            account_id: r.try_get(3)?,
            next_step: r.try_get(4)?,
            attempt: r.try_get(5)?,
        }),
    })
}

/// Checkpointed outputs, in step order.
pub(crate) async fn checkpoints(
    pool: &PgPool,
    workflow_id: &str,
) -> Result<Vec<(i32, String, serde_json::Value)>, WorkflowError> {
    let rows: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT step_index, step_name, output::text FROM workflow_checkpoints \
         WHERE workflow_id = $1 ORDER BY step_index",
    )
    .bind(workflow_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(i, name, text)| {
            let v = serde_json::from_str(&text).map_err(|e| WorkflowError::Corrupt {
                workflow_id: workflow_id.to_owned(),
                message: format!("checkpoint {i}: {e}"),
            })?;
            Ok((i, name, v))
        })
        .collect()
}

/// Records that this worker starts running the step, and renews the lease. `None` when the
/// lease is no longer ours or the workflow moved on: the step must not run.
pub(crate) async fn begin_run(
    pool: &PgPool,
    claim: &Claim,
    step_name: &str,
    worker: &str,
    lease: Duration,
) -> Result<Option<i64>, WorkflowError> {
    Ok(sqlx::query_scalar(
        "WITH w AS (UPDATE workflows SET lease_expires_at = now() + make_interval(secs => $5), updated_at = now() \
           WHERE workflow_id = $1 AND next_step = $2 AND lease_owner = $4 AND status = 'runnable' \
           RETURNING workflow_id, next_step, attempts) \
         INSERT INTO workflow_step_runs (workflow_id, step_index, step_name, worker_id, attempt, started_at) \
         SELECT workflow_id, next_step, $3, $4, attempts, now() FROM w RETURNING run_id",
    )
    .bind(&claim.workflow_id)
    .bind(claim.next_step)
    .bind(step_name)
    .bind(worker)
    .bind(secs(lease))
    .fetch_optional(pool)
    .await?)
}

/// Extends the lease while a long step runs; false if it is no longer ours.
pub(crate) async fn renew(
    pool: &PgPool,
    workflow_id: &str,
    worker: &str,
    lease: Duration,
) -> Result<bool, WorkflowError> {
    let r = sqlx::query(
        "UPDATE workflows SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now() \
         WHERE workflow_id = $1 AND lease_owner = $2 AND status = 'runnable'",
    )
    .bind(workflow_id)
    .bind(worker)
    .bind(secs(lease))
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What the checkpoint transaction did to the workflow.
pub(crate) struct Committed {
    pub completed: bool,
    /// Effects whose idempotency key was new, in order (the others had been applied before).
    pub applied: Vec<usize>,
}

pub(crate) struct StepResult<'a> {
    pub run_id: i64,
    pub step_name: &'a str,
    pub output: &'a serde_json::Value,
    pub effects: &'a [Box<dyn Effect>],
    pub last: bool,
    /// Keep the lease for the next step; false releases it (shutdown).
    pub keep_lease: bool,
}

/// Advances the workflow, stores the checkpoint, journals and applies the effects and closes
/// the run, all in one transaction fenced on (owner, step).
pub(crate) async fn checkpoint(
    pool: &PgPool,
    claim: &Claim,
    worker: &str,
    lease: Duration,
    step: StepResult<'_>,
) -> Result<Committed, WorkflowError> {
    let mut tx = pool.begin().await?;
    let moved = sqlx::query(
        "UPDATE workflows SET next_step = next_step + 1, \
           status = CASE WHEN $4 THEN 'completed' ELSE 'runnable' END, \
           completed_at = CASE WHEN $4 THEN now() END, \
           lease_owner = CASE WHEN $4 OR NOT $5 THEN NULL ELSE lease_owner END, \
           lease_expires_at = CASE WHEN $4 OR NOT $5 THEN NULL ELSE now() + make_interval(secs => $6) END, \
           updated_at = now() \
         WHERE workflow_id = $1 AND lease_owner = $2 AND next_step = $3 AND status = 'runnable'",
    )
    .bind(&claim.workflow_id)
    .bind(worker)
    .bind(claim.next_step)
    .bind(step.last)
    .bind(step.keep_lease)
    .bind(secs(lease))
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(WorkflowError::LeaseLost {
            workflow_id: claim.workflow_id.clone(),
        });
    }
    sqlx::query(
        "INSERT INTO workflow_checkpoints (workflow_id, step_index, step_name, output, worker_id, attempt, created_at) \
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, now())",
    )
    .bind(&claim.workflow_id)
    .bind(claim.next_step)
    .bind(step.step_name)
    .bind(step.output.to_string())
    .bind(worker)
    .bind(claim.attempt)
    .execute(&mut *tx)
    .await?;
    let mut applied = Vec::new();
    for (i, effect) in step.effects.iter().enumerate() {
        let key = effect_key(
            &claim.workflow_id,
            claim.next_step,
            &format!("{i}-{}", effect.name()),
        );
        let fresh = sqlx::query(
            "INSERT INTO workflow_effects (idempotency_key, workflow_id, step_index, effect, payload, applied_at) \
             VALUES ($1, $2, $3, $4, $5::jsonb, now()) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&key)
        .bind(&claim.workflow_id)
        .bind(claim.next_step)
        .bind(effect.name())
        .bind(effect.payload().to_string())
        .execute(&mut *tx)
        .await?;
        if fresh.rows_affected() == 1 {
            effect.apply(&mut tx, &key).await?;
            applied.push(i);
        }
    }
    sqlx::query(
        "UPDATE workflow_step_runs SET finished_at = now(), outcome = 'checkpointed' WHERE run_id = $1",
    )
    .bind(step.run_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Committed {
        completed: step.last,
        applied,
    })
}

/// Closes a run that did not checkpoint.
pub(crate) async fn close_run(
    pool: &PgPool,
    run_id: i64,
    outcome: &str,
    error: Option<&str>,
) -> Result<(), WorkflowError> {
    sqlx::query(
        "UPDATE workflow_step_runs SET finished_at = now(), outcome = $2, error = $3 WHERE run_id = $1",
    )
    .bind(run_id)
    .bind(outcome)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a failed workflow back: retried by anyone after `backoff`, or failed for good when
/// the error is permanent or the claims are used up. Returns the resulting status.
pub(crate) async fn give_back_failed(
    pool: &PgPool,
    claim: &Claim,
    worker: &str,
    permanent: bool,
    max_attempts: i32,
    backoff: Duration,
) -> Result<Option<String>, WorkflowError> {
    Ok(sqlx::query_scalar(
        "UPDATE workflows SET lease_owner = NULL, \
           status = CASE WHEN $3 OR attempts >= $4 THEN 'failed' ELSE 'runnable' END, \
           completed_at = CASE WHEN $3 OR attempts >= $4 THEN now() END, \
           lease_expires_at = CASE WHEN $3 OR attempts >= $4 THEN NULL ELSE now() + make_interval(secs => $5) END, \
           updated_at = now() \
         WHERE workflow_id = $1 AND lease_owner = $2 RETURNING status",
    )
    .bind(&claim.workflow_id)
    .bind(worker)
    .bind(permanent)
    .bind(max_attempts)
    .bind(secs(backoff))
    .fetch_optional(pool)
    .await?)
}

/// Releases one lease (shutdown between steps) so another worker can start at once.
pub(crate) async fn release(
    pool: &PgPool,
    workflow_id: &str,
    worker: &str,
) -> Result<(), WorkflowError> {
    sqlx::query(
        "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
         WHERE workflow_id = $1 AND lease_owner = $2",
    )
    .bind(workflow_id)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(())
}

/// Releases every lease this worker holds.
pub(crate) async fn release_all(pool: &PgPool, worker: &str) -> Result<u64, WorkflowError> {
    Ok(sqlx::query(
        "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
         WHERE lease_owner = $1",
    )
    .bind(worker)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Workflows of these kinds still to run, leased or not.
pub(crate) async fn runnable(pool: &PgPool, kinds: &[&str]) -> Result<i64, WorkflowError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM workflows WHERE status = 'runnable' AND kind = ANY($1)",
    )
    .bind(kinds)
    .fetch_one(pool)
    .await?)
}
