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
use crate::domain::{RejectReason, Transaction};
use crate::policy::Decision;
use pfm_pii::PiiKind;
use pfm_risk::{AccountState, Finding};
use std::collections::HashMap;
use std::sync::Arc;

/// Where a payload came from; dead letters are keyed by it, and offsets are derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    pub source: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

#[derive(Debug, Clone)]
pub struct Envelope {
    pub position: Position,
    pub payload: Vec<u8>,
}

/// Ciphertexts of the customer's direct identifiers (see `crypto`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedPii {
    pub name: Option<String>,
    pub email: Option<String>,
    pub card_number: Option<String>,
    pub iban: Option<String>,
    pub key_id: Option<String>,
}

/// A record that decoded and validated, as it moves through the later stages.
#[derive(Debug, Clone)]
pub struct Record {
    pub position: Position,
    pub txn: Transaction,
    pub digest: [u8; 32],
    /// PII kinds the scrubber found (and removed) in free text.
    pub pii_found: Vec<PiiKind>,
    pub category: &'static str,
    pub findings: Vec<Finding>,
    pub decision: Option<Decision>,
    pub protected: ProtectedPii,
}

#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub position: Position,
    pub reason: RejectReason,
    pub detail: String,
    pub transaction_id: Option<String>,
    /// The raw payload with PII replaced by tokens (lossy for non-UTF-8 input).
    pub payload: String,
}

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
