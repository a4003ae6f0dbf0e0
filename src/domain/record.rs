//! A record as it moves through the pipeline: the payload and its source position, the
//! parsed record with what each stage added, and the dead letter for what did not parse.

use super::{Decision, RejectReason, Transaction};
use pfm_pii::PiiKind;
use pfm_risk::Finding;
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
    /// PII kinds the scrubber found (and removed) in the description: what the policy sees.
    pub pii_found: Vec<PiiKind>,
    /// PII kinds it found (and removed) in the record's other free-text fields.
    pub pii_in_fields: Vec<PiiKind>,
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
