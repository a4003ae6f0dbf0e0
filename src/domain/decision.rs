//! A governance decision and its fail-closed reading of whatever a policy returned.

use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionResult {
    Allow,
    Review,
    Deny,
}

impl DecisionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Review => "review",
            Self::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allow" => Some(Self::Allow),
            "review" => Some(Self::Review),
            "deny" => Some(Self::Deny),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub result: DecisionResult,
    pub reasons: Vec<String>,
}

impl Verdict {
    /// Fail-closed interpretation of whatever the policy returned.
    pub fn from_json(v: &serde_json::Value) -> Self {
        use serde_json::Value;
        match v {
            Value::Bool(true) => Self {
                result: DecisionResult::Allow,
                reasons: vec![],
            },
            Value::Bool(false) => Self::deny("policy_denied"),
            Value::Object(o) => {
                let result = o
                    .get("decision")
                    .and_then(Value::as_str)
                    .and_then(DecisionResult::parse);
                let reasons: Option<Vec<String>> = match o.get("reasons") {
                    None => Some(vec![]),
                    Some(Value::Array(a)) => {
                        a.iter().map(|r| r.as_str().map(str::to_owned)).collect()
                    }
                    Some(_) => None,
                };
                match (result, reasons) {
                    (Some(result), Some(reasons)) => Self { result, reasons },
                    _ => Self::deny("policy_malformed_result"),
                }
            }
            Value::Null => Self::deny("policy_undefined"),
            _ => Self::deny("policy_malformed_result"),
        }
    }

    pub fn deny(reason: &str) -> Self {
        Self {
            result: DecisionResult::Deny,
            reasons: vec![reason.to_owned()],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub result: DecisionResult,
    pub reasons: Vec<String>,
    pub policy_path: Arc<str>,
    pub policy_version: Arc<str>,
    pub decided_at: DateTime<Utc>,
}
