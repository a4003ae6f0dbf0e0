//! Governance: every record gets a decision from a Rego policy (embedded engine, or the
//! same .rego files in an OPA sidecar). Anything but a well-formed decision is a deny.

#[cfg(test)]
mod differential;
mod embedded;
mod input;
mod memo;
mod opa;
mod reads;

pub use crate::breaker::BreakerState;
pub use embedded::{EmbeddedPolicy, Evaluator};
pub use input::{policy_input, InputShape};
pub use memo::MemoStats;
pub use opa::{Failure, RemoteOutcome, RemotePolicy, UNAVAILABLE_PROVENANCE, UNAVAILABLE_REASON};
pub use reads::{InputReads, Read, Unbounded, Usage};

pub use crate::domain::{Decision, DecisionResult, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("policy {path} does not compile: {message}")]
    Compile { path: String, message: String },
    #[error("policy data {path} is not valid JSON: {message}")]
    Data { path: String, message: String },
    #[error("no .rego file found in {0}")]
    Empty(String),
    #[error("cannot build the OPA client: {0}")]
    Client(String),
    #[error("policy evaluation failed: {0}")]
    Eval(String),
}
