//! The verdict, and the governance over the agent's action (decision 0014). The model's
//! proposal counts only if the rule on agent actions (`data.pfm.agent.allow_action`)
//! allows it for this record. A refused proposal falls back to the deterministic verdict
//! if the rule allows that, and otherwise to `needs_human`; the refusal and its reasons
//! are recorded in the case. Without a proposal (no LLM, or no usable answer) the
//! deterministic verdict decides exactly as before the agents.

use super::triage::{Triage, TRIAGE_STEP};
use super::{Assessment, CaseEvent, CaseNote, Evidence, Verdict};
use crate::store::{CaseRow, EffectWrite};
use crate::workflow::agent::{ActionCheck, Agent, AGENT_ACTION_RULE};
use crate::workflow::step::{Effect, Step, StepContext, StepError, StepInput, StepOutput};
use crate::workflow::WorkflowMetrics;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::json;

const NO_RULE: &str =
    "this worker has no LLM agent, so no rule on agent actions: the proposal was not acted on";

pub(super) struct Decide {
    escalate_at: f64,
    agent: Option<Agent>,
}

impl Decide {
    pub(super) fn new(escalate_at: f64, agent: Option<Agent>) -> Self {
        Self { escalate_at, agent }
    }
}

/// How the case was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub decision: String,
    /// `deterministic`, `llm` or `governance`.
    pub decided_by: &'static str,
    /// Why the model's proposal did not decide.
    pub fallback: Option<String>,
    /// The rule's answer to the model's proposal.
    pub governance: Option<ActionCheck>,
}

/// The decision from the triage, the deterministic verdict and the rule (`check` answers
/// for one action on this record).
pub fn resolve(
    triage: &Triage,
    deterministic: &str,
    check: impl Fn(&str) -> ActionCheck,
) -> Resolution {
    let Some(answer) = &triage.answer else {
        return Resolution {
            decision: deterministic.to_owned(),
            decided_by: "deterministic",
            fallback: triage.fallback.clone(),
            governance: None,
        };
    };
    let verdict = check(&answer.action);
    if verdict.allowed {
        return Resolution {
            decision: answer.action.clone(),
            decided_by: "llm",
            fallback: None,
            governance: Some(verdict),
        };
    }
    let refused = format!(
        "refused by {AGENT_ACTION_RULE}: {}",
        verdict.reasons.join(", ")
    );
    let (decision, decided_by) = if check(deterministic).allowed {
        (deterministic, "deterministic")
    } else {
        ("needs_human", "governance")
    };
    Resolution {
        decision: decision.to_owned(),
        decided_by,
        fallback: Some(refused),
        governance: Some(verdict),
    }
}

/// The rule's input for `action` on the investigated record: built from the stored record
/// and its findings only, so nothing the model wrote but the action reaches the rule.
fn action_input(e: &Evidence, action: &str, deterministic: &str, score: f64) -> serde_json::Value {
    let s = &e.subject;
    json!({
        "agent": "investigation",
        "action": action,
        "record": {
            "transaction_id": s.transaction_id,
            "decision": s.decision,
            "risk_score": s.risk_score,
            "findings": s.findings.iter()
                .map(|f| json!({"detector": f.detector, "score": f.score}))
                .collect::<Vec<_>>(),
            "reasons": s.reasons,
        },
        "deterministic": {"decision": deterministic, "score": score},
    })
}

/// What the agent adds to the deterministic case note.
fn agent_note(triage: &Triage, r: &Resolution) -> Option<String> {
    if triage.source == "off" || triage.source.is_empty() {
        return None;
    }
    let model = triage.model.as_deref().unwrap_or("the LLM");
    Some(match (&triage.answer, &r.fallback) {
        (Some(a), None) => format!(
            "Agent triage ({model}): {}. {} Cites: {}.",
            a.action,
            a.rationale,
            a.cited_findings.join(", ")
        ),
        (Some(a), Some(why)) => format!(
            "Agent triage ({model}) proposed {} ({} Cites: {}.), {why}; decided {} ({}).",
            a.action,
            a.rationale,
            a.cited_findings.join(", "),
            r.decision,
            r.decided_by
        ),
        (None, why) => format!(
            "Agent triage gave no usable answer ({}); decided deterministically.",
            why.as_deref().unwrap_or("no reason recorded")
        ),
    })
}

impl Step for Decide {
    fn name(&self) -> &'static str {
        "decide"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let evidence: Evidence = input.get("gather_history")?;
            let assessment: Assessment = input.get("score_and_explain")?;
            let note: CaseNote = input.get("draft_case_note")?;
            // Absent only for a workflow checkpointed past the triage before it existed.
            let triage: Triage = match input.raw(TRIAGE_STEP) {
                Some(_) => input.get(TRIAGE_STEP)?,
                None => Triage::default(),
            };
            let deterministic = if assessment.score >= self.escalate_at {
                "escalate"
            } else {
                "clear"
            };
            let r = match &self.agent {
                Some(agent) => resolve(&triage, deterministic, |action| {
                    let input = action_input(&evidence, action, deterministic, assessment.score);
                    agent.actions().check(&input)
                }),
                // No rule without an agent: an answer checkpointed by a worker that had
                // one is not acted on here, and the deterministic verdict decides.
                None => Resolution {
                    decision: deterministic.to_owned(),
                    decided_by: "deterministic",
                    fallback: match &triage.answer {
                        Some(_) => Some(NO_RULE.to_owned()),
                        None => triage.fallback.clone(),
                    },
                    governance: None,
                },
            };
            let note = match agent_note(&triage, &r) {
                Some(extra) => format!("{}\n{extra}", note.text),
                None => note.text,
            };
            let verdict = Verdict {
                decision: r.decision.clone(),
                score: assessment.score,
            };
            let mut output = StepOutput::new(&verdict)?;
            if let Some(check) = r.governance.as_ref().filter(|c| !c.allowed) {
                output = output.with_effect(CaseEvent::new(
                    "agent_action_refused",
                    json!({"action": triage.answer.as_ref().map(|a| &a.action), "reasons": check.reasons}),
                ));
            }
            let answer = triage.answer.as_ref();
            let case = CaseDecision(CaseRow {
                workflow_id: ctx.workflow_id.to_owned(),
                transaction_id: evidence.subject.transaction_id,
                account_id: evidence.subject.account_id,
                decision: r.decision,
                score: assessment.score,
                factors: serde_json::to_value(&assessment.factors)
                    .map_err(|e| StepError::Permanent(e.to_string()))?,
                note,
                decided_by: r.decided_by.to_owned(),
                proposed_action: answer.map(|a| a.action.clone()),
                rationale: answer.map(|a| a.rationale.clone()),
                cited_findings: answer.map(|a| json!(a.cited_findings)),
                fallback: r.fallback,
                governance: r.governance.map(|g| g.to_json()),
            });
            Ok(output.with_effect(case))
        }
        .boxed()
    }
}

/// The investigation's result: one `investigation_cases` row per workflow.
pub struct CaseDecision(CaseRow);

impl Effect for CaseDecision {
    fn name(&self) -> &'static str {
        "case_decision"
    }

    fn payload(&self) -> serde_json::Value {
        json!({
            "transaction_id": self.0.transaction_id,
            "decision": self.0.decision,
            "score": self.0.score,
            "decided_by": self.0.decided_by,
        })
    }

    fn write(&self) -> EffectWrite {
        EffectWrite::InvestigationCase(self.0.clone())
    }

    fn committed(&self, _metrics: Option<&WorkflowMetrics>) {
        tracing::info!(
            workflow_id = %self.0.workflow_id, transaction_id = %self.0.transaction_id,
            decision = %self.0.decision, score = self.0.score, decided_by = %self.0.decided_by,
            fallback = self.0.fallback.as_deref(), "investigation decided"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::investigation::TriageAnswer;

    fn proposed(action: &str) -> Triage {
        Triage {
            source: "llm".into(),
            answer: Some(TriageAnswer {
                action: action.into(),
                rationale: "r".into(),
                cited_findings: vec!["factor:pipeline_risk".into()],
            }),
            ..Triage::default()
        }
    }

    /// The shipped rule's core, for a high-risk record: nothing may clear it.
    fn no_clearing(action: &str) -> ActionCheck {
        let allowed = action != "clear";
        ActionCheck {
            allowed,
            reasons: if allowed {
                vec![]
            } else {
                vec!["clear_high_risk_finding".into()]
            },
        }
    }

    #[test]
    fn an_allowed_proposal_decides() {
        let r = resolve(&proposed("escalate"), "clear", no_clearing);
        assert_eq!((r.decision.as_str(), r.decided_by), ("escalate", "llm"));
        assert_eq!(r.fallback, None);
    }

    #[test]
    fn a_refused_proposal_falls_back_to_an_allowed_verdict_or_to_a_person() {
        let r = resolve(&proposed("clear"), "escalate", no_clearing);
        assert_eq!(
            (r.decision.as_str(), r.decided_by),
            ("escalate", "deterministic")
        );
        let why = r.fallback.expect("the refusal is recorded");
        assert!(why.contains("clear_high_risk_finding"), "{why}");
        let r = resolve(&proposed("clear"), "clear", no_clearing);
        assert_eq!(
            (r.decision.as_str(), r.decided_by),
            ("needs_human", "governance")
        );
        assert_eq!(r.governance.map(|g| g.allowed), Some(false));
    }

    #[test]
    fn without_a_proposal_the_deterministic_verdict_decides_and_says_why() {
        let t = Triage {
            source: "fallback".into(),
            fallback: Some("llm_invalid: …".into()),
            ..Triage::default()
        };
        let r = resolve(&t, "clear", no_clearing);
        assert_eq!(
            (r.decision.as_str(), r.decided_by),
            ("clear", "deterministic")
        );
        assert_eq!(r.fallback.as_deref(), Some("llm_invalid: …"));
        assert_eq!(agent_note(&Triage::default(), &r), None);
        assert!(agent_note(&t, &r)
            .expect("noted")
            .contains("no usable answer"));
    }
}
