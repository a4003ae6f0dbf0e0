//! The MCP route (`LLM_VIA_MCP=true`, decision 0015): the client calls the MCP server's
//! pooled `llm_complete` tool over Streamable HTTP instead of the model's server, so the
//! pool (process and cluster limits, backoff, breaker) lives in the MCP server.
//!
//! Both sides of the tool's wire format are here, so the worker's client and the server's
//! tool cannot drift apart: the arguments ([`tool_call_body`]), the answer
//! ([`answer_fields`], [`read_tool_reply`]) and the typed error ([`error_fields`], read back
//! into the same [`LlmError`] the server's client gave).

use super::chat::{Answer, ChatRequest, Completion, Message, Usage};
use super::schema::OutputSchema;
use super::LlmError;
use serde_json::{json, Value};
use std::time::Duration;

/// The tool's name.
pub const LLM_TOOL: &str = "llm_complete";
/// The protocol version the client announces in `MCP-Protocol-Version`.
pub(super) const PROTOCOL_VERSION: &str = "2025-06-18";

/// A JSON-RPC `tools/call` of [`LLM_TOOL`] with the conversation and the schema.
pub(super) fn tool_call_body(
    id: u64,
    req: &ChatRequest,
    messages: &[Message],
    schema: &OutputSchema,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut args = json!({
        "messages": messages,
        "schema_name": schema.name(),
        "schema": schema.schema(),
    });
    if let Some(t) = req.temperature {
        args["temperature"] = json!(t);
    }
    if let Some(n) = req.max_tokens {
        args["max_tokens"] = json!(n);
    }
    serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": LLM_TOOL, "arguments": args},
    }))
}

/// The tool's answer: the value (valid against the schema), what it cost and who answered.
pub fn answer_fields(c: &Completion<Value>) -> Value {
    json!({
        "answer": c.value,
        "model": c.model,
        "reasked": c.reasked,
        "usage": {
            "prompt_tokens": c.usage.prompt_tokens,
            "completion_tokens": c.usage.completion_tokens,
        },
        "latency_ms": c.latency.as_secs_f64() * 1000.0,
    })
}

/// The tool's typed error: the kind ([`LlmError::kind`]) and what rebuilds the error.
pub fn error_fields(e: &LlmError) -> Value {
    let (detail, status, seconds) = match e {
        LlmError::QueueTimeout(d) | LlmError::Timeout(d) => (None, None, Some(d.as_secs_f64())),
        LlmError::Http(s) => (None, Some(*s), None),
        LlmError::Unavailable(d) | LlmError::Invalid(d) | LlmError::Setup(d) => {
            (Some(d.as_str()), None, None)
        }
        LlmError::BreakerOpen | LlmError::RateLimited | LlmError::Overloaded => (None, None, None),
    };
    json!({
        "kind": e.kind(),
        "message": e.to_string(),
        "detail": detail,
        "status": status,
        "seconds": seconds,
    })
}

/// The error [`error_fields`] describes; an unknown kind is the server being unusable.
fn error_from_fields(v: &Value) -> LlmError {
    let detail = || {
        v.get("detail")
            .and_then(Value::as_str)
            .or_else(|| v.get("message").and_then(Value::as_str))
            .unwrap_or("no detail")
            .to_owned()
    };
    let seconds = || {
        let s = v.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
        Duration::try_from_secs_f64(s).unwrap_or_default()
    };
    let status = || {
        v.get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
    };
    match v.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "breaker_open" => LlmError::BreakerOpen,
        "queue_timeout" => LlmError::QueueTimeout(seconds()),
        "timeout" => LlmError::Timeout(seconds()),
        "unavailable" => LlmError::Unavailable(detail()),
        "rate_limited" => LlmError::RateLimited,
        "overloaded" => LlmError::Overloaded,
        "status_5xx" | "status_4xx" => status().map_or_else(
            || LlmError::Unavailable(format!("the MCP server reported {}", detail())),
            LlmError::Http,
        ),
        "invalid" => LlmError::Invalid(detail()),
        "setup" => LlmError::Setup(detail()),
        _ => LlmError::Unavailable(format!("the MCP server's {LLM_TOOL} failed: {}", detail())),
    }
}

/// The JSON-RPC message of a Streamable HTTP answer: a JSON body, or the last `data:` event
/// of an SSE stream (a server may stream even a single answer).
fn message(body: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Some(v);
    }
    let text = std::str::from_utf8(body).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
}

/// What the tool answered, as the chat route's [`Answer`], and whether the server asked its
/// model twice; or the server's typed error.
pub(super) fn read_tool_reply(body: &[u8]) -> Result<(Answer, bool), LlmError> {
    let unusable = |why: &str| LlmError::Unavailable(format!("the MCP server's answer {why}"));
    let msg = message(body).ok_or_else(|| unusable("is not JSON-RPC"))?;
    if let Some(err) = msg.get("error") {
        let text = err.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(LlmError::Unavailable(format!(
            "the MCP server refused {LLM_TOOL}: {}",
            text.chars().take(300).collect::<String>()
        )));
    }
    let result = msg.get("result").ok_or_else(|| unusable("has no result"))?;
    let fields = result
        .get("structuredContent")
        .ok_or_else(|| unusable("has no structured content"))?;
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err(error_from_fields(fields));
    }
    let answer = fields
        .get("answer")
        .ok_or_else(|| unusable("has no answer"))?;
    let count = |k: &str| {
        fields
            .pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok((
        Answer {
            usage: Usage {
                prompt_tokens: count("prompt_tokens"),
                completion_tokens: count("completion_tokens"),
            },
            model: fields
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            content: Ok(answer.to_string()),
        },
        fields.get("reasked").and_then(Value::as_bool) == Some(true),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_survives_the_wire() {
        for e in [
            LlmError::BreakerOpen,
            LlmError::QueueTimeout(Duration::from_millis(1500)),
            LlmError::Timeout(Duration::from_secs(30)),
            LlmError::Unavailable("cannot connect".into()),
            LlmError::RateLimited,
            LlmError::Overloaded,
            LlmError::Http(502),
            LlmError::Http(400),
            LlmError::Invalid("the answer is not JSON".into()),
            LlmError::Setup("bad schema".into()),
        ] {
            let reply = json!({"jsonrpc": "2.0", "id": 1, "result": {
                "content": [{"type": "text", "text": "x"}],
                "structuredContent": error_fields(&e),
                "isError": true,
            }});
            let body = reply.to_string();
            assert_eq!(read_tool_reply(body.as_bytes()).err(), Some(e));
        }
    }

    #[test]
    fn answers_are_read_from_json_or_an_event_stream() {
        let c = Completion {
            value: json!({"action": "clear"}),
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
            },
            model: "m".into(),
            reasked: true,
            latency: Duration::from_millis(5),
        };
        let reply = json!({"jsonrpc": "2.0", "id": 1, "result": {
            "content": [], "structuredContent": answer_fields(&c), "isError": false,
        }});
        for body in [
            reply.to_string(),
            format!("event: message\ndata: {reply}\n\n"),
        ] {
            let (a, reasked) = read_tool_reply(body.as_bytes()).expect("answer");
            assert!(reasked);
            assert_eq!(a.content, Ok(r#"{"action":"clear"}"#.to_owned()));
            assert_eq!((a.usage.prompt_tokens, a.model.as_str()), (3, "m"));
        }
        let refused = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "unknown tool"}});
        assert!(matches!(
            read_tool_reply(refused.to_string().as_bytes()),
            Err(LlmError::Unavailable(m)) if m.contains("unknown tool")
        ));
        assert!(read_tool_reply(b"<html>").is_err());
    }
}
