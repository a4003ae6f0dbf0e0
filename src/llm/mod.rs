//! The LLM client: OpenAI-compatible chat completions (`POST {LLM_URL}/v1/chat/completions`,
//! served by Ollama, vLLM, the llama.cpp server and hosted APIs) for the agents that may
//! ask a model (decision 0011, `docs/decisions/0011-llm-client.md`).
//!
//! Every answer is structured output: the request carries the caller's JSON schema
//! (`response_format: json_schema`, strict), and the answer is parsed, checked against that
//! schema ([`OutputSchema`]), deserialised into the caller's type and passed through the
//! caller's own validator. An invalid answer is asked again once, then reported as
//! [`LlmError::Invalid`]. Every failure is a typed [`LlmError`], so the caller takes its
//! deterministic path and records why.
//!
//! Per process, at most `LLM_MAX_CONCURRENCY` calls are in flight (a fair semaphore); a
//! call waits at most `LLM_QUEUE_TIMEOUT` for a slot, then has `LLM_TIMEOUT` for every
//! attempt, backoff (503 and 429, honouring `Retry-After`) and the one re-ask. A circuit
//! breaker makes calls fail fast while the server is down.
//!
//! Across processes, `LLM_CLUSTER_CONCURRENCY` adds a cluster-wide limit: leased slots in
//! the database, reached through [`ClusterSlots`], which the app implements over the store
//! ([`pool`]). With `LLM_VIA_MCP=true` the client calls the MCP server's pooled
//! `llm_complete` tool instead ([`mcp_route`]), so the pool lives in that server
//! (decision 0015, `docs/decisions/0015-llm-pooling.md`).

mod chat;
mod client;
mod mcp_route;
mod metrics;
mod pool;
mod retry;
mod schema;

pub use chat::{ChatRequest, Completion, Message, Role, Usage};
pub use client::LlmClient;
pub use mcp_route::{answer_fields, error_fields, LLM_TOOL};
pub use metrics::LlmMetrics;
pub use pool::{ClusterSlots, SlotError};
pub use schema::{OutputSchema, SchemaError, Violation};

use std::time::Duration;

/// Why a call gave no usable answer. None of them carries the API key, the prompt or the
/// model's text: only kinds, statuses, schema paths and the caller's own messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The circuit breaker is open: nothing was sent.
    #[error("the LLM circuit breaker is open; no request was sent")]
    BreakerOpen,
    /// Every slot stayed taken for `LLM_QUEUE_TIMEOUT`: nothing was sent.
    #[error("no LLM slot became free within {0:?} (LLM_QUEUE_TIMEOUT)")]
    QueueTimeout(Duration),
    /// The call's budget (`LLM_TIMEOUT`) ran out before an answer.
    #[error("the LLM gave no answer within {0:?} (LLM_TIMEOUT)")]
    Timeout(Duration),
    /// The server could not be reached, or closed the connection without answering.
    #[error("the LLM server is unreachable: {0}")]
    Unavailable(String),
    /// 429 on every attempt, or a `Retry-After` beyond the call's budget.
    #[error("the LLM server is rate-limiting requests (429)")]
    RateLimited,
    /// 503 (Ollama's queue is full) on every attempt, or a `Retry-After` beyond the budget.
    #[error("the LLM server is overloaded (503)")]
    Overloaded,
    /// Any other non-success status (after retries, for 500, 502 and 504).
    #[error("the LLM server answered HTTP {0}")]
    Http(u16),
    /// The answer, asked twice, was not usable: not a chat completion, not JSON, against
    /// the schema or the type, or rejected by the caller's validator.
    #[error("the LLM's answer is invalid (asked twice): {0}")]
    Invalid(String),
    /// The client could not be built (at start-up).
    #[error("cannot build the LLM client: {0}")]
    Setup(String),
}

impl LlmError {
    /// The `kind` label of `pipeline_llm_failures`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BreakerOpen => "breaker_open",
            Self::QueueTimeout(_) => "queue_timeout",
            Self::Timeout(_) => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::Http(s) if *s >= 500 => "status_5xx",
            Self::Http(_) => "status_4xx",
            Self::Invalid(_) => "invalid",
            Self::Setup(_) => "setup",
        }
    }

    /// Whether the call counts as a failure for the circuit breaker. An invalid answer
    /// or a refusal of this one request (400, 413, 422) means the server is up.
    fn trips_breaker(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Unavailable(_) | Self::RateLimited | Self::Overloaded => true,
            Self::Http(s) => !matches!(s, 400 | 413 | 422),
            Self::BreakerOpen | Self::QueueTimeout(_) | Self::Invalid(_) | Self::Setup(_) => false,
        }
    }
}
