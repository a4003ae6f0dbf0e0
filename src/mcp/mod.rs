//! The MCP governance server (`pipeline mcp`): governance as an API for agents and people,
//! over the Model Context Protocol with the official SDK (`rmcp`). Read-only tools over
//! the decision log, its hash chain, quarantine, dead letters and investigations, the
//! policy engine the pipeline uses, and two resources (the active policy, the record
//! schema). Served over stdio (trusts the local user) or Streamable HTTP in stateless mode
//! (bearer tokens, Origin and Host checks, body limit, per-token rate limit).
//!
//! With an LLM configured it also serves `llm_complete`, the pooled LLM route of workers
//! with `LLM_VIA_MCP=true` (`llm_tool.rs`, decision 0015).
//!
//! A layer-4 module: it uses `store`, `policy`, `llm`, `config` and `telemetry`; the app layer
//! opens the store and the policy and calls [`serve_stdio`] or [`serve_http`].

mod engine;
mod http;
mod llm_tool;
mod params;
mod server;

pub use engine::{Evaluation, PolicyEngine};
pub use http::{serve_http, HttpError, RateLimiter};
pub use params::ArgError;
pub use server::{args_digest, Caller, GovernanceServer, PolicySource, POLICY_URI, SCHEMA_URI};

use rmcp::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("MCP session failed to start: {0}")]
    Start(String),
    #[error("MCP session ended with an error: {0}")]
    Session(String),
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Serves one MCP session on stdin/stdout until the client closes it. Logs must go to
/// stderr meanwhile: stdout carries the protocol.
pub async fn serve_stdio(server: GovernanceServer) -> Result<(), McpError> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Start(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    Ok(())
}
