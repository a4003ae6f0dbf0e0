//! The transaction record, parsed once into types that cannot hold invalid states.

mod codes;
mod decision;
mod offsets;
mod parse;
mod record;
mod types;

pub use decision::{Decision, DecisionResult, Verdict};
pub use offsets::OffsetRow;
pub use parse::{
    floor_char_boundary_lossy, parse_record, truncated_payload, RejectReason, Rejection,
    MAX_PAYLOAD_BYTES, NUL_WHY, OPTIONAL_FIELDS, REQUIRED_FIELDS,
};
pub use record::{DeadLetter, Envelope, Position, ProtectedPii, Record};
pub use types::{
    AccountId, Amount, Channel, Country, Currency, CustomerPii, Mcc, Transaction, TransactionId,
};
