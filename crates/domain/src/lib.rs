//! The transaction record, parsed once into types that cannot hold invalid states.
//!
//! The bottom layer of agentic-pfm: it depends on no other crate of the project, and the
//! pipeline reaches it as `pfm::domain`.
#![forbid(unsafe_code)]

mod codes;
mod fields;
mod parse;
mod typed;
mod types;

pub use fields::{NUL_WHY, OPTIONAL_FIELDS, REQUIRED_FIELDS};
pub use parse::{
    floor_char_boundary_lossy, parse_record, parse_record_reference, truncated_payload,
    RejectReason, Rejection, MAX_PAYLOAD_BYTES,
};
pub use types::{
    AccountId, Amount, Channel, Country, Currency, CustomerPii, Mcc, Transaction, TransactionId,
};
