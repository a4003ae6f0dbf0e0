//! The bottom layer: the record. The transaction's types and parser live in the
//! `pfm-domain` crate (which the fuzz crate also builds without the pipeline); this module
//! re-exports them and adds what the stages carry along with it: the record as it moves
//! through the pipeline, the governance decision and the source offsets.

mod decision;
mod offsets;
mod record;

pub use decision::{Decision, DecisionResult, Verdict};
pub use offsets::OffsetRow;
pub use pfm_domain::*;
pub use record::{DeadLetter, Envelope, Position, ProtectedPii, Record};
