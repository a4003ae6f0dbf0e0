//! The engine's side of leases and checkpoints: what it hands the store and reads back. The
//! SQL (claiming with leases, fencing every write on the lease) is the store's
//! ([`crate::store::WorkflowStore`]); every statement that changes a workflow names the
//! worker and the step it expects, so a worker whose lease expired can never write again.

use super::step::{effect_key, Effect};
use super::WorkflowError;
use crate::store::{CheckpointWrite, Checkpointed, EffectRecord, LineageStep, WorkflowStore};
use std::time::Duration;

pub use crate::store::Claim;

/// Checkpointed outputs, in step order.
pub(crate) async fn checkpoints(
    store: &dyn WorkflowStore,
    workflow_id: &str,
) -> Result<Vec<(i32, String, serde_json::Value)>, WorkflowError> {
    store
        .checkpoints(workflow_id)
        .await?
        .into_iter()
        .map(|(i, name, text)| {
            let v = serde_json::from_str(&text).map_err(|e| WorkflowError::Corrupt {
                workflow_id: workflow_id.to_owned(),
                message: format!("checkpoint {i}: {e}"),
            })?;
            Ok((i, name, v))
        })
        .collect()
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
    /// The workflow's lineage run, when this step completes it.
    pub lineage: Option<LineageStep>,
}

/// Advances the workflow, stores the checkpoint, journals and applies the effects and closes
/// the run, all in one transaction fenced on (owner, step).
pub(crate) async fn checkpoint(
    store: &dyn WorkflowStore,
    claim: &Claim,
    worker: &str,
    lease: Duration,
    step: StepResult<'_>,
) -> Result<Committed, WorkflowError> {
    let effects: Vec<EffectRecord> = step
        .effects
        .iter()
        .enumerate()
        .map(|(i, effect)| EffectRecord {
            key: effect_key(
                &claim.workflow_id,
                claim.next_step,
                &format!("{i}-{}", effect.name()),
            ),
            name: effect.name(),
            payload: effect.payload(),
            write: effect.write(),
        })
        .collect();
    let done = store
        .checkpoint(CheckpointWrite {
            claim,
            worker,
            lease,
            run_id: step.run_id,
            step_name: step.step_name,
            output: step.output,
            effects: &effects,
            last: step.last,
            keep_lease: step.keep_lease,
            lineage: step.lineage,
        })
        .await?;
    match done {
        Checkpointed::Done { applied } => Ok(Committed {
            completed: step.last,
            applied,
        }),
        Checkpointed::LeaseLost => Err(WorkflowError::LeaseLost {
            workflow_id: claim.workflow_id.clone(),
        }),
    }
}
