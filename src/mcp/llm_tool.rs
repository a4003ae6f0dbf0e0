//! The pooled `llm_complete` tool (decision 0015): workers with `LLM_VIA_MCP=true` send
//! their LLM calls here, and this server's [`LlmClient`] (its per-process semaphore, the
//! cluster slots, backoff and breaker) makes them, so the pool lives in one place. Served
//! only when this process has an LLM configured (`LLM_URL`).
//!
//! The answer is the model's JSON, checked against the caller's schema (asked again once
//! when it is not); failures are typed ([`crate::llm::error_fields`]). The call is audited
//! like every tool: `mcp_audit` keeps the digest of the arguments, never the prompt, which
//! holds scrubbed transaction text.

use super::server::GovernanceServer;
use crate::llm::{answer_fields, error_fields, ChatRequest, Message, OutputSchema};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::Deserialize;
use serde_json::Value;

/// The most messages one call may carry: an agent's conversation is short and bounded.
const MAX_MESSAGES: usize = 64;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// system, user or assistant.
    pub role: String,
    pub content: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmCompleteArgs {
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// The answer schema's name: 1 to 64 characters of a-z, A-Z, 0-9, _ or -.
    pub schema_name: String,
    /// The JSON schema the answer must satisfy (the subset the pipeline validates: type,
    /// properties, required, additionalProperties: false, items, enum, lengths, bounds).
    pub schema: serde_json::Map<String, Value>,
    /// Sampling temperature; the server's default when absent.
    pub temperature: Option<f32>,
    /// An upper bound on the answer's tokens.
    pub max_tokens: Option<u32>,
}

/// The request, or why the arguments cannot make one.
fn request(a: LlmCompleteArgs) -> Result<(ChatRequest, OutputSchema), String> {
    if a.messages.is_empty() || a.messages.len() > MAX_MESSAGES {
        return Err(format!("messages: 1 to {MAX_MESSAGES} messages expected"));
    }
    let messages = a
        .messages
        .into_iter()
        .map(|m| match m.role.as_str() {
            "system" => Ok(Message::system(m.content)),
            "user" => Ok(Message::user(m.content)),
            "assistant" => Ok(Message::assistant(m.content)),
            other => Err(format!(
                "messages: role {:?} is not system, user or assistant",
                other.chars().take(32).collect::<String>()
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema =
        OutputSchema::new(a.schema_name, Value::Object(a.schema)).map_err(|e| e.to_string())?;
    let mut req = ChatRequest::new(messages);
    req.temperature = a
        .temperature
        .filter(|t| t.is_finite() && (0.0..=2.0).contains(t));
    req.max_tokens = a.max_tokens;
    Ok((req, schema))
}

#[tool_router(router = llm_tool_router, vis = "pub(super)")]
impl GovernanceServer {
    #[tool(
        description = "Ask the pipeline's LLM for a JSON answer that satisfies `schema`, through this server's pool (per-process and cluster-wide limits, backoff, circuit breaker). Returns {answer, model, reasked, usage, latency_ms}, or a tool error whose structured content has the failure's kind (breaker_open, queue_timeout, timeout, unavailable, rate_limited, overloaded, status_4xx, status_5xx, invalid, setup). Send scrubbed text only.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn llm_complete(&self, Parameters(a): Parameters<LlmCompleteArgs>) -> CallToolResult {
        let Some(client) = self.llm() else {
            return CallToolResult::error(vec![ContentBlock::text(
                "no LLM is configured on this MCP server (LLM_URL)",
            )]);
        };
        let (req, schema) = match request(a) {
            Ok(r) => r,
            Err(why) => {
                return CallToolResult::error(vec![ContentBlock::text(format!(
                    "invalid arguments for llm_complete: {why}"
                ))])
            }
        };
        match client
            .complete_json::<Value>(req, &schema, |_| Ok(()))
            .await
        {
            Ok(c) => CallToolResult::structured(answer_fields(&c)),
            Err(e) => CallToolResult::structured_error(error_fields(&e)),
        }
    }
}
