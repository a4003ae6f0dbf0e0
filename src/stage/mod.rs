//! The per-batch stages. A stage is pure: it reads and changes the batch and the context,
//! and does no I/O. The runtime loads whatever a stage needs (detector state, data keys)
//! into the [`StageContext`] before the chain runs.

mod categorise;
mod decode;
mod govern;
mod protect;
mod risk;
mod scrub;

pub use categorise::{category_for, Categorise};
pub use decode::Decode;
pub use govern::Govern;
pub use protect::Protect;
pub use risk::Risk;
pub use scrub::Scrub;

use crate::crypto::KeyRing;
pub use crate::domain::{DeadLetter, Envelope, Position, ProtectedPii, Record};
use pfm_risk::AccountState;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Batch {
    pub input: Vec<Envelope>,
    pub records: Vec<Record>,
    pub dead: Vec<DeadLetter>,
}

impl Batch {
    pub fn new(input: Vec<Envelope>) -> Self {
        Self {
            input,
            ..Self::default()
        }
    }
}

/// Per-account state the stages need; loaded by the runtime, persisted with the batch.
#[derive(Default)]
pub struct StageContext {
    pub detector_state: HashMap<String, AccountState>,
    pub keys: KeyRing,
    /// With a remote OPA: the batch's decisions and the policy that made each, in record
    /// order, fetched by the runtime just before govern runs (taken by govern).
    pub remote_decisions: Vec<(crate::policy::Verdict, std::sync::Arc<str>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("policy engine unavailable: {0}")]
    PolicyUnavailable(String),
    #[error("no data key loaded for account {0}")]
    MissingDataKey(String),
    #[error("encryption failed: {0}")]
    Crypto(String),
}

pub trait Stage: Send {
    fn name(&self) -> &'static str;
    fn execute(&mut self, batch: &mut Batch, ctx: &mut StageContext) -> Result<(), StageError>;
}
