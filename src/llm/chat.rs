//! The chat-completions wire format: the request the client sends and what it reads from
//! the answer (OpenAI's `POST /v1/chat/completions`, non-streaming, as Ollama, vLLM and the
//! llama.cpp server implement it).

use super::schema::OutputSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One question to the model; the client adds the model and the answer's schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// `None`: the server's default. Agents that want repeatable answers set `0.0`.
    pub temperature: Option<f32>,
    /// An upper bound on the answer's tokens (`max_tokens`).
    pub max_tokens: Option<u32>,
}

impl ChatRequest {
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }
}

/// Tokens as the server counted them (`usage`); zero when it does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// A valid answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion<T> {
    pub value: T,
    /// Summed over both answers when the first was invalid and the model was asked again.
    pub usage: Usage,
    /// The model that answered, as the server names it (may differ from `LLM_MODEL`,
    /// e.g. a resolved tag); empty when the server does not say.
    pub model: String,
    /// The first answer was invalid and this one came from the second asking.
    pub reasked: bool,
    /// From holding a slot to the valid answer (queue wait excluded).
    pub latency: Duration,
}

/// The request body: the caller's messages, the model, and the schema as strict
/// structured output.
pub(super) fn request_body(
    model: &str,
    req: &ChatRequest,
    messages: &[Message],
    schema: &OutputSchema,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": false,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema.name(), "schema": schema.schema(), "strict": true},
        },
    });
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = json!(n);
    }
    serde_json::to_vec(&body)
}

/// What one 200 answer held: the tokens it cost (counted even when it is unusable), the
/// model's text when there was one, and why the answer is not usable otherwise.
pub(super) struct Answer {
    pub usage: Usage,
    pub model: String,
    pub content: Result<String, &'static str>,
}

fn usage_of(doc: &Value) -> Usage {
    let count = |k: &str| {
        doc.pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Usage {
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
    }
}

pub(super) fn read_answer(body: &[u8]) -> Answer {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return Answer {
            usage: Usage::default(),
            model: String::new(),
            content: Err("the body is not JSON"),
        };
    };
    let choice = doc.pointer("/choices/0");
    let content = match choice {
        None => Err("the body is not a chat completion (no choices)"),
        Some(c) if c.pointer("/message/refusal").is_some_and(|r| !r.is_null()) => {
            Err("the model refused")
        }
        Some(c) => match c.pointer("/message/content").and_then(Value::as_str) {
            Some(text) => Ok(text.to_owned()),
            None => Err("the answer has no message content"),
        },
    };
    let truncated = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        == Some("length");
    Answer {
        usage: usage_of(&doc),
        model: doc
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        content: match content {
            // Kept for the re-ask, but a cut answer is never used.
            Ok(_) if truncated => Err("the answer was cut at the token limit"),
            c => c,
        },
    }
}

/// The model's text as a value of `T`: JSON (a surrounding Markdown code fence is
/// tolerated), within the schema, of the type, accepted by `validate`. The error says
/// which check failed, never what the model wrote.
pub(super) fn interpret<T: DeserializeOwned>(
    text: &str,
    schema: &OutputSchema,
    validate: &impl Fn(&T) -> Result<(), String>,
) -> Result<T, String> {
    let text = text.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|_| "the answer is not JSON".to_owned())?;
    schema
        .validate(&value)
        .map_err(|v| format!("the answer breaks the schema {v}"))?;
    let typed: T = serde_json::from_value(value)
        .map_err(|_| "the answer does not fit the expected type".to_owned())?;
    validate(&typed).map_err(|why| format!("the answer was rejected: {why}"))?;
    Ok(typed)
}

/// The follow-up message of the second asking.
pub(super) fn correction(reason: &str) -> Message {
    Message::user(format!(
        "Your previous answer could not be used: {reason}. Answer again with only a JSON \
         value that satisfies the JSON schema of the response format."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Triage {
        action: String,
    }

    fn schema() -> OutputSchema {
        OutputSchema::new(
            "triage",
            json!({"type": "object", "required": ["action"], "properties": {"action": {"type": "string", "enum": ["clear", "escalate"]}}}),
        )
        .expect("schema")
    }

    #[test]
    fn the_request_asks_for_strict_structured_output() {
        let req = ChatRequest::new(vec![Message::system("s"), Message::user("u")])
            .temperature(0.0)
            .max_tokens(200);
        let body = request_body("m", &req, &req.messages, &schema()).expect("body");
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["model"], "m");
        assert_eq!(v["stream"], false);
        assert_eq!(v["messages"][1], json!({"role": "user", "content": "u"}));
        assert_eq!(v["response_format"]["type"], "json_schema");
        assert_eq!(v["response_format"]["json_schema"]["name"], "triage");
        assert_eq!(v["response_format"]["json_schema"]["strict"], true);
        assert_eq!(
            v["response_format"]["json_schema"]["schema"],
            *schema().schema()
        );
        assert_eq!(
            (v["temperature"].clone(), v["max_tokens"].clone()),
            (json!(0.0), json!(200))
        );
    }

    #[test]
    fn answers_are_read_and_every_check_names_itself() {
        let a = read_answer(
            br#"{"model":"llama3.1:8b","choices":[{"message":{"role":"assistant","content":"{\"action\":\"clear\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#,
        );
        assert_eq!(
            a.usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 5
            }
        );
        assert_eq!(a.model, "llama3.1:8b");
        let text = a.content.expect("content");
        let ok = |_: &Triage| Ok(());
        assert_eq!(
            interpret(&text, &schema(), &ok),
            Ok(Triage {
                action: "clear".into()
            })
        );
        let fenced = "```json\n{\"action\": \"escalate\"}\n```";
        assert!(interpret::<Triage>(fenced, &schema(), &ok).is_ok());
        assert_eq!(read_answer(b"<html>").content, Err("the body is not JSON"));
        assert!(read_answer(b"{}").content.is_err());
        let cut = read_answer(br#"{"choices":[{"message":{"content":"{\"act"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":9}}"#);
        assert_eq!(
            (cut.content, cut.usage.completion_tokens),
            (Err("the answer was cut at the token limit"), 9)
        );
        let no = |_: &Triage| Err("not today".to_owned());
        for (text, why) in [
            ("sure! {", "not JSON"),
            ("{\"action\": \"pay\"}", "breaks the schema at $.action"),
            ("{\"action\": \"clear\"}", "rejected: not today"),
        ] {
            let check = if why.starts_with("rejected") {
                interpret::<Triage>(text, &schema(), &no)
            } else {
                interpret::<Triage>(text, &schema(), &ok)
            };
            let err = check.expect_err(why);
            assert!(err.contains(why), "{err}");
            assert!(
                !err.contains("pay"),
                "the model's text is never quoted: {err}"
            );
        }
    }
}
