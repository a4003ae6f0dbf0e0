//! The step interface. A workflow is a fixed sequence of steps; the engine runs one step at a
//! time, checkpoints its output and applies its effects in one transaction, and hands every
//! earlier step's checkpointed output to the next one.
//!
//! Steps here are deterministic Rust, but the interface is made for an LLM-backed step too:
//! - `run` is async and may take long: the engine renews the lease while it runs.
//! - Its output is checkpointed, so a non-deterministic answer (a model's) is produced once
//!   and then frozen: a resumed workflow reads it back instead of asking again.
//! - Effects are returned, not performed, so a model never writes to the database itself;
//!   a call to an outside system (a case tool, a model API billing per call) passes
//!   [`StepContext::idempotency_key`] so that a retried step is recognised by the receiver.

use super::metrics::WorkflowMetrics;
use crate::store::{EffectWrite, StoreError, WorkflowStore};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

/// What a step knows about the workflow it runs in.
pub struct StepContext<'a> {
    pub workflow_id: &'a str,
    pub kind: &'a str,
    /// What the workflow is about: a transaction id, an audit window.
    pub subject: &'a str,
    pub account_id: Option<&'a str>,
    pub step_index: i32,
    /// How many times this workflow has been claimed, this claim included.
    pub attempt: i32,
    /// Read access for gathering evidence; writes go through [`Effect`]s.
    pub store: &'a dyn WorkflowStore,
}

impl StepContext<'_> {
    /// Stable across retries and workers: the same workflow, step and effect give the same key.
    pub fn idempotency_key(&self, effect: &str) -> String {
        effect_key(self.workflow_id, self.step_index, effect)
    }
}

pub(crate) fn effect_key(workflow_id: &str, step_index: i32, effect: &str) -> String {
    format!("{workflow_id}/{step_index}/{effect}")
}

/// The checkpointed outputs of the steps before the current one.
#[derive(Debug, Default, Clone)]
pub struct StepInput {
    outputs: Vec<(String, serde_json::Value)>,
}

impl StepInput {
    pub fn new(outputs: Vec<(String, serde_json::Value)>) -> Self {
        Self { outputs }
    }

    pub fn raw(&self, step: &str) -> Option<&serde_json::Value> {
        self.outputs
            .iter()
            .find(|(name, _)| name == step)
            .map(|(_, v)| v)
    }

    /// The typed output of an earlier step. A missing or malformed checkpoint cannot heal
    /// by retrying, so it is a permanent error.
    pub fn get<T: DeserializeOwned>(&self, step: &str) -> Result<T, StepError> {
        let v = self
            .raw(step)
            .ok_or_else(|| StepError::Permanent(format!("no checkpoint for step {step}")))?;
        T::deserialize(v)
            .map_err(|e| StepError::Permanent(format!("checkpoint of step {step}: {e}")))
    }

    pub(crate) fn push(&mut self, step: &str, output: serde_json::Value) {
        self.outputs.push((step.to_owned(), output));
    }
}

/// A step's result: the output to checkpoint and the side effects to apply with it.
pub struct StepOutput {
    pub output: serde_json::Value,
    pub effects: Vec<Box<dyn Effect>>,
}

impl StepOutput {
    pub fn new(output: impl serde::Serialize) -> Result<Self, StepError> {
        Ok(Self {
            output: serde_json::to_value(output)
                .map_err(|e| StepError::Permanent(format!("encoding the step output: {e}")))?,
            effects: Vec::new(),
        })
    }

    pub fn with_effect(mut self, effect: impl Effect + 'static) -> Self {
        self.effects.push(Box::new(effect));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Worth retrying later (database briefly away, model API timeout).
    #[error("{0}")]
    Transient(String),
    /// Retrying gives the same answer (the subject is gone, a checkpoint is malformed).
    #[error("{0}")]
    Permanent(String),
}

impl StepError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self::Transient(format!("database: {e}"))
    }
}

/// One step of a workflow. Implementations must not write to the database: everything a
/// step changes is returned as an [`Effect`], so that it commits with the checkpoint.
pub trait Step: Send + Sync {
    /// Stable name, stored with the checkpoint; renaming a step orphans its checkpoints.
    fn name(&self) -> &'static str;

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>>;
}

/// A side effect, applied in the transaction that checkpoints its step. The engine journals
/// it under its idempotency key first and applies it only if the key was new.
pub trait Effect: Send + Sync {
    fn name(&self) -> &'static str;

    /// What the journal records about the effect.
    fn payload(&self) -> serde_json::Value;

    /// The rows the effect writes besides its journal entry; the store writes them in the
    /// checkpoint's transaction, only the first time the effect's idempotency key is seen.
    fn write(&self) -> EffectWrite {
        EffectWrite::JournalOnly
    }

    /// Called once the transaction committed, by the process that committed it: logs and
    /// metrics belong here, never before the commit.
    fn committed(&self, _metrics: Option<&WorkflowMetrics>) {}
}

/// A workflow kind and its steps, in order.
pub struct WorkflowDef {
    pub kind: &'static str,
    pub steps: Vec<Box<dyn Step>>,
}
