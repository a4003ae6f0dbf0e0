//! The audit report's narrative for the compliance team (decision 0014): the LLM writes
//! it from the window's statistics and findings, which stay the evidence and are stored
//! beside it. The answer must fit [`narrative_schema`] and cite only the findings' ids;
//! without an LLM, or without a usable answer, a deterministic narrative is written and
//! the report records why. Its own step, so a checkpointed narrative is never asked for
//! again.

use super::{detect, parse_window, ts, AuditConfig, Finding, WindowOutput, WindowStats};
use crate::llm::{ChatRequest, Message, OutputSchema};
use crate::store::{EffectWrite, ReportRow};
use crate::workflow::agent::{fallback_reason, Agent, Transcript};
use crate::workflow::step::{Effect, Step, StepContext, StepError, StepInput, StepOutput};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

pub const NARRATIVE_STEP: &str = "narrate_report";

/// What the model answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrativeAnswer {
    pub narrative: String,
    pub cited_findings: Vec<String>,
}

/// The step's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Narration {
    /// `off`, `llm` or `fallback`.
    pub source: String,
    /// As stored in the report (scrubbed when the model wrote it).
    pub narrative: String,
    pub fallback: Option<String>,
    pub model: Option<String>,
    pub call_key: Option<String>,
    #[serde(default)]
    pub conversation: Transcript,
}

static SCHEMA: LazyLock<OutputSchema> = LazyLock::new(|| {
    OutputSchema::new(
        "audit_narrative",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["narrative", "cited_findings"],
            "properties": {
                "narrative": {"type": "string", "minLength": 1, "maxLength": 3000},
                "cited_findings": {
                    "type": "array", "maxItems": 32,
                    "items": {"type": "string", "minLength": 1, "maxLength": 200}
                }
            }
        }),
    )
    .expect("the narrative schema uses only supported keywords")
});

pub fn narrative_schema() -> &'static OutputSchema {
    &SCHEMA
}

const INSTRUCTIONS: &str = "You write the narrative of a periodic audit report for the \
compliance team of a payment-monitoring pipeline. The user message holds the audited \
window's statistics, the baseline before it, and the findings of the audit's detectors, \
each under an id. They are the evidence: describe them faithfully in plain prose of at most \
three short paragraphs, say what changed against the baseline and what each finding means \
for compliance, and list in cited_findings the ids of the findings you discuss, only ids \
from the findings list. Do not invent numbers and write no personal data. Answer with one \
JSON object only.";

fn finding_id(f: &Finding) -> String {
    format!("{}:{}", f.kind, f.subject)
}

/// The narrative without a model: the same facts, in fixed sentences.
pub fn deterministic_narrative(
    window: &WindowStats,
    baseline: &WindowStats,
    findings: &[Finding],
    span: (&str, &str),
) -> String {
    let head = format!(
        "Audit of {} to {}: {} decisions ({} allowed, {} reviewed, {} denied) and {} dead \
         letters, against {} decisions ({} allowed, {} reviewed, {} denied) and {} dead letters \
         in the baseline before it.",
        span.0,
        span.1,
        window.decisions,
        window.allow,
        window.review,
        window.deny,
        window.dead_letters,
        baseline.decisions,
        baseline.allow,
        baseline.review,
        baseline.deny,
        baseline.dead_letters
    );
    if findings.is_empty() {
        return format!("{head} No finding.");
    }
    let listed: Vec<String> = findings
        .iter()
        .map(|f| format!("{} ({} severity)", finding_id(f), f.severity))
        .collect();
    format!(
        "{head} {} finding(s): {}.",
        findings.len(),
        listed.join("; ")
    )
}

fn check(answer: &NarrativeAnswer, ids: &BTreeSet<String>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for id in &answer.cited_findings {
        if !ids.contains(id) {
            return Err("cited_findings names a finding that is not in the findings list".into());
        }
        if !seen.insert(id) {
            return Err("cited_findings names a finding twice".into());
        }
    }
    Ok(())
}

pub(super) struct NarrateStep(pub(super) Arc<AuditConfig>);

impl NarrateStep {
    async fn narrate(
        &self,
        agent: &Agent,
        ctx: &StepContext<'_>,
        evidence: serde_json::Value,
        ids: BTreeSet<String>,
        deterministic: String,
    ) -> Narration {
        let req = ChatRequest::new(vec![
            Message::system(INSTRUCTIONS),
            Message::user(format!(
                "Write the narrative of this audit:\n{}",
                agent.scrub_json(&evidence)
            )),
        ])
        .temperature(0.0)
        .max_tokens(900);
        let mut conversation = Transcript::of(&req.messages);
        let call_key = Some(ctx.idempotency_key("0-llm_call"));
        match agent
            .llm()
            .complete_json::<NarrativeAnswer>(req, narrative_schema(), |a| check(a, &ids))
            .await
        {
            Ok(done) => {
                // Stored answers are scrubbed again: a model may echo or invent PII.
                let narrative = agent.scrub(&done.value.narrative);
                conversation.push("assistant", &narrative);
                Narration {
                    source: "llm".into(),
                    narrative,
                    fallback: None,
                    model: Some(done.model),
                    call_key,
                    conversation,
                }
            }
            Err(e) => Narration {
                source: "fallback".into(),
                narrative: deterministic,
                fallback: Some(fallback_reason(&e)),
                model: None,
                call_key,
                conversation,
            },
        }
    }
}

impl Step for NarrateStep {
    fn name(&self) -> &'static str {
        NARRATIVE_STEP
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let (start, end) = parse_window(ctx.subject)?;
            let w: WindowOutput = input.get("window_stats")?;
            let baseline: WindowStats = input.get("baseline_stats")?;
            // The same pure function over the same checkpoints: the findings just recorded.
            let cfg = &self.0;
            let findings = detect(
                &w.window,
                &baseline,
                &w.near_threshold,
                cfg.near_min_count,
                &cfg.detect,
            );
            let (from, to) = (ts(start), ts(end));
            let deterministic =
                deterministic_narrative(&w.window, &baseline, &findings, (&from, &to));
            let ids: BTreeSet<String> = findings.iter().map(finding_id).collect();
            let statistics = json!({
                "window": {"from": from, "to": to, "statistics": w.window},
                "baseline": {"windows": cfg.baseline_windows, "statistics": baseline},
                "findings": findings.iter().map(|f| json!({
                    "id": finding_id(f), "severity": f.severity, "detail": f.detail,
                })).collect::<Vec<_>>(),
            });
            let narration = match &cfg.agent {
                None => Narration {
                    source: "off".into(),
                    narrative: deterministic,
                    ..Narration::default()
                },
                Some(agent) => {
                    self.narrate(agent, ctx, statistics.clone(), ids, deterministic)
                        .await
                }
            };
            let report = ReportRow {
                workflow_id: ctx.workflow_id.to_owned(),
                window_start: start,
                window_end: end,
                narrative: narration.narrative.clone(),
                narrated_by: if narration.source == "llm" {
                    "llm"
                } else {
                    "deterministic"
                }
                .into(),
                fallback: narration.fallback.clone(),
                statistics,
            };
            Ok(StepOutput::new(&narration)?.with_effect(RecordReport(report)))
        }
        .boxed()
    }
}

/// Writes the report to `audit_reports`.
struct RecordReport(ReportRow);

impl Effect for RecordReport {
    fn name(&self) -> &'static str {
        "audit_report"
    }

    fn payload(&self) -> serde_json::Value {
        json!({"narrated_by": self.0.narrated_by, "fallback": self.0.fallback})
    }

    fn write(&self) -> EffectWrite {
        EffectWrite::AuditReport(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deterministic_narrative_states_the_numbers_and_each_finding() {
        let w = WindowStats {
            decisions: 100,
            allow: 60,
            review: 30,
            deny: 10,
            ..WindowStats::default()
        };
        let f = Finding {
            kind: "deny_spike".into(),
            subject: "window".into(),
            severity: "high".into(),
            detail: json!({}),
        };
        let text = deterministic_narrative(&w, &WindowStats::default(), &[f], ("a", "b"));
        assert!(
            text.contains("100 decisions (60 allowed, 30 reviewed, 10 denied)"),
            "{text}"
        );
        assert!(text.contains("deny_spike:window (high severity)"), "{text}");
        let none = deterministic_narrative(&w, &w, &[], ("a", "b"));
        assert!(none.ends_with("No finding."), "{none}");
    }

    #[test]
    fn a_narrative_may_cite_only_the_findings() {
        let ids: BTreeSet<String> = ["deny_spike:window".to_owned()].into_iter().collect();
        let a = |c: &[&str]| NarrativeAnswer {
            narrative: "n".into(),
            cited_findings: c.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(check(&a(&[]), &ids), Ok(()));
        assert_eq!(check(&a(&["deny_spike:window"]), &ids), Ok(()));
        assert!(check(&a(&["review_spike:window"]), &ids).is_err());
    }
}
