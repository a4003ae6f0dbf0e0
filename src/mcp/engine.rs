//! `evaluate_policy`'s engine: the one the pipeline runs. The embedded policy on its
//! bytecode VM (as the govern stage), or, with `OPA_URL`, the same OPA client, breaker and
//! failure rule: an OPA that cannot decide is a deny with `policy_unavailable`.

use crate::policy::{EmbeddedPolicy, RemoteOutcome, RemotePolicy, Verdict, UNAVAILABLE_REASON};
use serde::Serialize;
use std::sync::Arc;

pub enum PolicyEngine {
    Embedded(Arc<EmbeddedPolicy>),
    Remote(Arc<RemotePolicy>),
}

/// A decision as `evaluate_policy` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub decision: String,
    pub reasons: Vec<String>,
    /// What the decision log would record as the deciding policy: `embedded:<version>`,
    /// the OPA bundle revision, or `opa:unavailable`.
    pub policy_version: String,
    pub engine: &'static str,
    /// Set when OPA could not decide (timeout, connection, open breaker…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'static str>,
}

impl PolicyEngine {
    pub async fn evaluate(&self, input: serde_json::Value) -> Result<Evaluation, String> {
        let value = regorus::Value::from(input);
        match self {
            Self::Embedded(p) => {
                let mut vm = p.evaluator().map_err(|e| e.to_string())?;
                Ok(evaluation(
                    vm.evaluate(value),
                    p.provenance(),
                    "embedded",
                    None,
                ))
            }
            Self::Remote(p) => match p.evaluate_batch(&[value]).await.pop() {
                Some(RemoteOutcome::Decided {
                    verdict,
                    provenance,
                }) => Ok(evaluation(verdict, provenance.to_string(), "opa", None)),
                Some(RemoteOutcome::Unavailable(f)) => Ok(evaluation(
                    Verdict::deny(UNAVAILABLE_REASON),
                    crate::policy::UNAVAILABLE_PROVENANCE.into(),
                    "opa",
                    Some(f.kind()),
                )),
                None => Err("the OPA client returned no outcome".into()),
            },
        }
    }
}

fn evaluation(
    v: Verdict,
    policy_version: String,
    engine: &'static str,
    failure: Option<&'static str>,
) -> Evaluation {
    Evaluation {
        decision: v.result.as_str().to_owned(),
        reasons: v.reasons,
        policy_version,
        engine,
        failure,
    }
}
