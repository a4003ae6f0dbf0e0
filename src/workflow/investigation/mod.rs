//! The investigation of a record decided `review`: gather the account's history → score and
//! explain → draft the case note → the agent's triage (an LLM call, when `LLM_URL` is set)
//! → decide escalate, clear or hand to a person. Only the first step reads the database;
//! the others work on its checkpoint, so a resumed investigation reaches the same verdict
//! whatever was committed meanwhile, and the triage's answer, once checkpointed, is never
//! asked for again (decision 0014).

mod decide;
mod triage;

pub use decide::{resolve, CaseDecision, Resolution};
pub use triage::{triage_schema, Triage, TriageAnswer, TRIAGE_STEP};

use super::agent::Agent;
use super::step::{Effect, Step, StepContext, StepError, StepInput, StepOutput, WorkflowDef};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

pub const KIND: &str = "investigation";

#[derive(Debug, Clone)]
pub struct InvestigationConfig {
    /// History considered before the transaction's own time.
    pub lookback_days: i64,
    /// Score from which a case is escalated to an analyst.
    pub escalate_at: f64,
    /// The LLM agent that triages (`None`: the deterministic verdict decides, as before).
    pub agent: Option<Agent>,
}

impl Default for InvestigationConfig {
    fn default() -> Self {
        Self {
            lookback_days: 90,
            escalate_at: 0.5,
            agent: None,
        }
    }
}

/// The steps are the same with or without an LLM (the triage step then records that none
/// is configured), so workers with and without `LLM_URL` can resume each other's work.
pub fn definition(cfg: InvestigationConfig) -> WorkflowDef {
    WorkflowDef {
        kind: KIND,
        steps: vec![
            Box::new(GatherHistory {
                lookback_days: cfg.lookback_days,
            }),
            Box::new(ScoreAndExplain),
            Box::new(DraftCaseNote),
            Box::new(triage::AgentTriage::new(cfg.agent.clone())),
            Box::new(decide::Decide::new(cfg.escalate_at, cfg.agent)),
        ],
    }
}

/// The reviewed transaction, as committed (no PII: identifiers are encrypted at rest and
/// not read here).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subject {
    pub transaction_id: String,
    pub account_id: String,
    pub ts: DateTime<Utc>,
    pub amount: f64,
    pub amount_text: String,
    pub currency: String,
    pub merchant: String,
    pub category: String,
    pub country: String,
    pub channel: String,
    pub risk_score: f64,
    pub detectors: Vec<String>,
    pub reasons: Vec<String>,
    pub policy_version: String,
    /// The free text as stored (scrubbed of PII by the pipeline). Checkpoints written before
    /// the agents lack it and the next three fields.
    #[serde(default)]
    pub description: Option<String>,
    /// The policy's decision of the record (`review` for every investigated one).
    #[serde(default = "review")]
    pub decision: String,
    #[serde(default)]
    pub findings: Vec<DetectorFinding>,
}

fn review() -> String {
    "review".into()
}

/// A detector's finding on the record, as the risk stage stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorFinding {
    #[serde(default)]
    pub detector: String,
    #[serde(default)]
    pub score: f64,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountHistory {
    pub lookback_days: i64,
    pub transactions: i64,
    pub mean_amount: f64,
    pub stddev_amount: f64,
    pub max_amount: f64,
    pub reviews: i64,
    pub denials: i64,
    pub countries: Vec<String>,
    pub prior_escalations: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub subject: Subject,
    pub history: AccountHistory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub name: String,
    pub weight: f64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: f64,
    pub factors: Vec<Factor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseNote {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: String,
    pub score: f64,
}

struct GatherHistory {
    lookback_days: i64,
}

impl GatherHistory {
    async fn gather(&self, ctx: &StepContext<'_>) -> Result<Evidence, StepError> {
        let row = ctx
            .store
            .investigation_subject(ctx.subject)
            .await?
            .ok_or_else(|| {
                StepError::Permanent(format!("transaction {} is not in the store", ctx.subject))
            })?;
        let findings: Vec<DetectorFinding> =
            serde_json::from_str(&row.findings).unwrap_or_default();
        let detectors = findings.iter().map(|f| f.detector.clone()).collect();
        let subject = Subject {
            transaction_id: ctx.subject.to_owned(),
            account_id: row.account_id,
            ts: row.ts,
            amount: row.amount,
            amount_text: row.amount_text,
            currency: row.currency,
            merchant: row.merchant,
            category: row.category,
            country: row.country,
            channel: row.channel,
            risk_score: row.risk_score,
            detectors,
            reasons: serde_json::from_str(&row.reasons).unwrap_or_default(),
            policy_version: row.policy_version,
            description: row.description,
            decision: row.decision,
            findings,
        };
        let since = subject.ts - chrono::Duration::days(self.lookback_days);
        // Strictly before the transaction: the same evidence whenever the step runs.
        let h = ctx
            .store
            .account_history(&subject.account_id, since, subject.ts)
            .await?;
        let prior_escalations = ctx
            .store
            .prior_escalations(&subject.account_id, ctx.workflow_id)
            .await?;
        let history = AccountHistory {
            lookback_days: self.lookback_days,
            transactions: h.transactions,
            mean_amount: h.mean_amount,
            stddev_amount: h.stddev_amount,
            max_amount: h.max_amount,
            reviews: h.reviews,
            denials: h.denials,
            countries: h.countries,
            prior_escalations,
        };
        Ok(Evidence { subject, history })
    }
}

impl Step for GatherHistory {
    fn name(&self) -> &'static str {
        "gather_history"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        _input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let evidence = self.gather(ctx).await?;
            let event = CaseEvent::new(
                "history_gathered",
                serde_json::json!({
                    "transactions": evidence.history.transactions,
                    "lookback_days": evidence.history.lookback_days,
                }),
            );
            Ok(StepOutput::new(&evidence)?.with_effect(event))
        }
        .boxed()
    }
}

struct ScoreAndExplain;

impl Step for ScoreAndExplain {
    fn name(&self) -> &'static str {
        "score_and_explain"
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a StepContext<'a>,
        input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let evidence: Evidence = input.get("gather_history")?;
            let a = assess(&evidence);
            let event = CaseEvent::new(
                "scored",
                serde_json::json!({"score": a.score, "factors": a.factors.len()}),
            );
            Ok(StepOutput::new(&a)?.with_effect(event))
        }
        .boxed()
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The explainable score: a sum of named, weighted factors, capped at 1.
pub fn assess(e: &Evidence) -> Assessment {
    let (s, h) = (&e.subject, &e.history);
    let mut factors = Vec::new();
    let mut add = |name: &str, weight: f64, detail: String| {
        factors.push(Factor {
            name: name.into(),
            weight: round4(weight),
            detail,
        })
    };
    let detectors = if s.detectors.is_empty() {
        "no detector".to_owned()
    } else {
        s.detectors.join(", ")
    };
    add(
        "pipeline_risk",
        0.4 * s.risk_score.clamp(0.0, 1.0),
        format!("risk score {:.2} ({detectors})", s.risk_score),
    );
    if h.transactions < 3 {
        add(
            "thin_history",
            0.1,
            format!(
                "{} earlier transactions in {} days",
                h.transactions, h.lookback_days
            ),
        );
    } else {
        // A spread below 10% of the mean would make ordinary amounts look extreme.
        let spread = h.stddev_amount.max(0.1 * h.mean_amount).max(1.0);
        let z = (s.amount - h.mean_amount) / spread;
        if z > 2.0 {
            add(
                "amount_unusual",
                0.05 + 0.2 * ((z - 2.0) / 4.0).min(1.0),
                format!(
                    "{} is {z:.1} deviations above the mean {:.2}",
                    s.amount_text, h.mean_amount
                ),
            );
        }
        if s.amount > h.max_amount {
            add(
                "above_previous_max",
                0.1,
                format!("above the previous maximum {:.2}", h.max_amount),
            );
        }
    }
    if !h.countries.is_empty() && !h.countries.contains(&s.country) {
        add(
            "new_country",
            0.1,
            format!("{} not seen before ({})", s.country, h.countries.join(", ")),
        );
    }
    if h.denials > 0 {
        add(
            "prior_denials",
            0.05 * h.denials.min(3) as f64,
            format!("{} denied transactions", h.denials),
        );
    }
    if h.prior_escalations > 0 {
        add(
            "prior_escalations",
            0.2,
            format!("{} escalated cases", h.prior_escalations),
        );
    }
    for reason in &s.reasons {
        if matches!(reason.as_str(), "high_value" | "high_risk_category") {
            add(reason, 0.1, format!("policy reason {reason}"));
        }
    }
    let score = round4(factors.iter().map(|f| f.weight).sum::<f64>().min(1.0));
    Assessment { score, factors }
}

struct DraftCaseNote;

impl Step for DraftCaseNote {
    fn name(&self) -> &'static str {
        "draft_case_note"
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a StepContext<'a>,
        input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let evidence: Evidence = input.get("gather_history")?;
            let assessment: Assessment = input.get("score_and_explain")?;
            let note = CaseNote {
                text: draft_note(&evidence, &assessment),
            };
            let event = CaseEvent::new(
                "note_drafted",
                serde_json::json!({"chars": note.text.len()}),
            );
            Ok(StepOutput::new(&note)?.with_effect(event))
        }
        .boxed()
    }
}

pub fn draft_note(e: &Evidence, a: &Assessment) -> String {
    let (s, h) = (&e.subject, &e.history);
    let reasons = if s.reasons.is_empty() {
        "no reason given".to_owned()
    } else {
        s.reasons.join(", ")
    };
    let factors: Vec<String> = a
        .factors
        .iter()
        .map(|f| format!("{} (+{:.2}): {}", f.name, f.weight, f.detail))
        .collect();
    format!(
        "Transaction {} on account {}: {} {} at {} ({}, {}, {}) on {}, flagged for review ({}) under policy {}. \
         Account history over {} days: {} transactions, mean {:.2}, max {:.2}, {} reviewed, {} denied, {} escalated cases. \
         Score {:.2}: {}.",
        s.transaction_id,
        s.account_id,
        s.amount_text,
        s.currency,
        s.merchant,
        s.category,
        s.country,
        s.channel,
        s.ts.format("%Y-%m-%d %H:%M UTC"),
        reasons,
        s.policy_version,
        h.lookback_days,
        h.transactions,
        h.mean_amount,
        h.max_amount,
        h.reviews,
        h.denials,
        h.prior_escalations,
        a.score,
        factors.join("; ")
    )
}

/// An entry on the case's timeline. The effect journal is the timeline, so applying it
/// writes nothing more.
pub struct CaseEvent {
    event: &'static str,
    detail: serde_json::Value,
}

impl CaseEvent {
    pub fn new(event: &'static str, detail: serde_json::Value) -> Self {
        Self { event, detail }
    }
}

impl Effect for CaseEvent {
    fn name(&self) -> &'static str {
        "case_event"
    }

    fn payload(&self) -> serde_json::Value {
        serde_json::json!({"event": self.event, "detail": self.detail})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(amount: f64, history: AccountHistory) -> Evidence {
        Evidence {
            subject: Subject {
                transaction_id: "t1".into(),
                account_id: "a1".into(),
                ts: DateTime::<Utc>::UNIX_EPOCH,
                amount,
                amount_text: format!("{amount}"),
                currency: "EUR".into(),
                merchant: "Shop".into(),
                category: "groceries".into(),
                country: "DE".into(),
                channel: "online".into(),
                risk_score: 0.5,
                detectors: vec!["velocity".into()],
                reasons: vec!["high_value".into()],
                policy_version: "v1".into(),
                description: None,
                decision: "review".into(),
                findings: vec![],
            },
            history,
        }
    }

    #[test]
    fn an_ordinary_amount_on_a_known_account_scores_low() {
        let h = AccountHistory {
            lookback_days: 90,
            transactions: 40,
            mean_amount: 100.0,
            stddev_amount: 30.0,
            max_amount: 400.0,
            countries: vec!["DE".into()],
            ..AccountHistory::default()
        };
        let a = assess(&evidence(120.0, h));
        assert_eq!(a.score, 0.3, "{a:?}");
        assert!(a.factors.iter().all(|f| f.name != "amount_unusual"));
    }

    #[test]
    fn an_outlier_in_a_new_country_after_denials_scores_high_and_explains_why() {
        let h = AccountHistory {
            lookback_days: 90,
            transactions: 40,
            mean_amount: 100.0,
            stddev_amount: 30.0,
            max_amount: 400.0,
            denials: 2,
            countries: vec!["FR".into()],
            ..AccountHistory::default()
        };
        let a = assess(&evidence(5000.0, h));
        let names: Vec<&str> = a.factors.iter().map(|f| f.name.as_str()).collect();
        for n in [
            "pipeline_risk",
            "amount_unusual",
            "above_previous_max",
            "new_country",
            "prior_denials",
            "high_value",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert!(a.score >= 0.7, "{a:?}");
        let note = draft_note(&evidence(5000.0, AccountHistory::default()), &a);
        assert!(note.contains("Score") && note.contains("new_country"));
    }
}
