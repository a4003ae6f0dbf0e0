//! An agent's memory of one workflow: the conversation of its LLM step (the prompt it sent
//! and the answer it kept), stored in that step's checkpoint. Checkpoints are what a
//! resumed workflow reads back, and what the workflow retention prunes, so the memory
//! lives exactly as long as the workflow's other state. It is bounded, so that a long
//! description or a verbose model cannot grow a checkpoint without limit.

use crate::llm::{Message, Role};
use serde::{Deserialize, Serialize};

/// No single message is kept longer than this (in characters).
pub const MAX_MESSAGE_CHARS: usize = 6_000;
/// The whole conversation is kept within this (in characters); older messages go first.
pub const MAX_TOTAL_CHARS: usize = 16_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptMessage {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub messages: Vec<TranscriptMessage>,
    /// Characters cut from messages, or dropped with whole messages, to stay in bounds.
    #[serde(default)]
    pub cut_chars: usize,
}

fn role(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

impl Transcript {
    /// The messages a request sent.
    pub fn of(messages: &[Message]) -> Self {
        let mut t = Self::default();
        for m in messages {
            t.push(role(m.role), &m.content);
        }
        t
    }

    /// Appends a message, then drops the oldest ones (the first, the instructions, is kept
    /// as long as anything else can go) until the whole fits.
    pub fn push(&mut self, role: &str, content: &str) {
        let kept: String = content.chars().take(MAX_MESSAGE_CHARS).collect();
        self.cut_chars += content.chars().count() - kept.chars().count();
        self.messages.push(TranscriptMessage {
            role: role.to_owned(),
            content: kept,
        });
        while self.chars() > MAX_TOTAL_CHARS && self.messages.len() > 1 {
            let at = if self.messages.len() > 2 { 1 } else { 0 };
            let gone = self.messages.remove(at);
            self.cut_chars += gone.content.chars().count();
        }
    }

    pub fn chars(&self) -> usize {
        self.messages
            .iter()
            .map(|m| m.content.chars().count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_stays_within_its_bounds_and_keeps_the_newest() {
        let mut t = Transcript::of(&[Message::system("rules"), Message::user("case")]);
        assert_eq!(t.chars(), 9);
        assert_eq!(t.cut_chars, 0);
        t.push("assistant", &"x".repeat(MAX_MESSAGE_CHARS + 10));
        assert_eq!(t.cut_chars, 10);
        assert_eq!(t.messages[2].content.chars().count(), MAX_MESSAGE_CHARS);
        for i in 0..3 {
            t.push("user", &format!("{i}{}", "y".repeat(MAX_MESSAGE_CHARS)));
        }
        assert!(t.chars() <= MAX_TOTAL_CHARS, "{}", t.chars());
        assert_eq!(t.messages[0].content, "rules", "the instructions are kept");
        assert!(t.messages.last().expect("newest").content.starts_with('2'));
        let back: Transcript =
            serde_json::from_value(serde_json::to_value(&t).expect("json")).expect("read back");
        assert_eq!(back, t);
    }
}
