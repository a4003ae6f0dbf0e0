//! The transaction record, parsed once into types that cannot hold invalid states.

mod codes;
mod parse;
mod types;

pub use parse::{parse_record, RejectReason, Rejection, MAX_PAYLOAD_BYTES};
pub use types::{
    AccountId, Amount, Channel, Country, Currency, CustomerPii, Mcc, Transaction, TransactionId,
};
