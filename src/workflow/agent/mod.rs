//! What the LLM-backed steps share (decision 0014): the LLM client, the rule that governs
//! what an agent may do ([`ActionPolicy`], `policies/agent_actions.rego`), the PII scrubber
//! every prompt's free text and every stored answer passes through, and the bounded
//! conversation a step keeps in its checkpoint ([`Transcript`]).
//!
//! Without `LLM_URL` there is no [`Agent`]: the steps take their deterministic path and
//! record nothing about a model.

mod governance;
mod memory;

pub use governance::{ActionCheck, ActionPolicy, AGENT_ACTION_RULE};
pub use memory::{Transcript, TranscriptMessage, MAX_MESSAGE_CHARS, MAX_TOTAL_CHARS};

use crate::llm::{LlmClient, LlmError};
use pfm_pii::Scrubber;
use std::fmt;
use std::sync::Arc;

/// An LLM agent's backbone: cheap to clone, shared by every step of every workflow.
#[derive(Clone)]
pub struct Agent {
    llm: LlmClient,
    actions: Arc<ActionPolicy>,
    scrubber: Arc<Scrubber>,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("llm", &self.llm)
            .field("actions", &self.actions.version())
            .finish_non_exhaustive()
    }
}

impl Agent {
    pub fn new(llm: LlmClient, actions: ActionPolicy) -> Self {
        Self {
            llm,
            actions: Arc::new(actions),
            scrubber: Arc::new(Scrubber::new()),
        }
    }

    pub fn llm(&self) -> &LlmClient {
        &self.llm
    }

    pub fn actions(&self) -> &ActionPolicy {
        &self.actions
    }

    /// `text` with every PII finding replaced by its token (`[EMAIL]`, `[CARD]`, …). Free
    /// text is scrubbed before it enters a prompt, although the pipeline stored it scrubbed
    /// already, and a model's text is scrubbed before anything stores it: a model may echo
    /// or invent personal data.
    pub fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub_cow(text, None).into_owned()
    }

    /// `value` with every string in it scrubbed ([`Agent::scrub`]); the structure is kept.
    pub fn scrub_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.scrub(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.scrub_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.scrub_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The fallback's reason for a call without a usable answer: its kind and the client's
/// message, which never quotes the model's text, the prompt or the key.
pub fn fallback_reason(e: &LlmError) -> String {
    format!("llm_{}: {e}", e.kind())
}

/// At most `max` characters of `text`, cut on a character boundary, with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("", 0), "");
    }
}
