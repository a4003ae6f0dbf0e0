//! The rule on agent actions: `data.pfm.agent.allow_action` (`policies/agent_actions.rego`),
//! evaluated by the embedded engine over the same policy bundle as the per-record rule
//! (`POLICY_DIR`, else the copy in the binary). It answers like the record rule,
//! `{decision, reasons}`, and is read fail-closed: anything but `allow` is a refusal.

use crate::policy::{DecisionResult, EmbeddedPolicy, PolicyError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The rule's path, as `OPA_POLICY_PATH` names rules.
pub const AGENT_ACTION_RULE: &str = "pfm/agent/allow_action";

pub struct ActionPolicy {
    policy: EmbeddedPolicy,
}

/// The rule's answer to one proposed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCheck {
    pub allowed: bool,
    /// Why it was refused (empty when allowed).
    pub reasons: Vec<String>,
}

impl ActionCheck {
    /// As the case stores it: the rule's own shape.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "decision": if self.allowed { "allow" } else { "deny" },
            "reasons": self.reasons,
        })
    }
}

impl ActionPolicy {
    /// Fails when the bundle has no such rule: agents are not let loose ungoverned.
    pub fn load(dir: Option<&Path>) -> Result<Self, PolicyError> {
        let files = EmbeddedPolicy::source_files(dir)?;
        let has_rule = files
            .iter()
            .any(|(_, text)| text.lines().any(|l| l.trim() == "package pfm.agent"));
        if !has_rule {
            return Err(PolicyError::Compile {
                path: format!("data.{}", AGENT_ACTION_RULE.replace('/', ".")),
                message: "no `package pfm.agent` in the policy directory; copy policies/agent_actions.rego into POLICY_DIR".into(),
            });
        }
        Ok(Self {
            policy: EmbeddedPolicy::from_sources(files, AGENT_ACTION_RULE)?,
        })
    }

    pub fn version(&self) -> &str {
        self.policy.version()
    }

    /// The rule's answer for `input` (see `agent_actions.rego` for its shape).
    pub fn check(&self, input: &serde_json::Value) -> ActionCheck {
        let v = self.policy.evaluate(regorus::Value::from(input.clone()));
        let allowed = v.result == DecisionResult::Allow;
        ActionCheck {
            allowed,
            reasons: if allowed { Vec::new() } else { v.reasons },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(action: &str, decision: &str, score: f64) -> serde_json::Value {
        json!({
            "agent": "investigation",
            "action": action,
            "record": {
                "decision": decision,
                "risk_score": score,
                "findings": [{"detector": "card_testing", "score": score}],
                "reasons": ["risk_card_testing"],
            },
        })
    }

    #[test]
    fn the_shipped_rule_refuses_clearing_high_risk_and_acting_on_denials() {
        let p = ActionPolicy::load(None).expect("the shipped bundle has the rule");
        assert!(p.check(&input("clear", "review", 0.1)).allowed);
        assert!(p.check(&input("escalate", "review", 0.9)).allowed);
        let refused = p.check(&input("clear", "review", 0.9));
        assert_eq!(
            refused,
            ActionCheck {
                allowed: false,
                reasons: vec![
                    "clear_high_risk_finding".into(),
                    "clear_high_risk_score".into()
                ]
            }
        );
        assert_eq!(
            p.check(&input("escalate", "deny", 0.1)).reasons,
            vec!["record_denied".to_owned()]
        );
        assert!(p.check(&input("needs_human", "deny", 0.9)).allowed);
        // Fail-closed: a malformed input is refused.
        let odd = p.check(&json!({"action": "clear"}));
        assert!(!odd.allowed);
        assert_eq!(odd.reasons, vec!["policy_undefined".to_owned()]);
    }

    #[test]
    fn a_bundle_without_the_rule_is_refused_at_start_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("agentic.rego"),
            include_str!("../../../policies/agentic.rego"),
        )
        .expect("write");
        let err = ActionPolicy::load(Some(dir.path())).err().expect("refused");
        assert!(err.to_string().contains("agent_actions.rego"), "{err}");
    }
}
