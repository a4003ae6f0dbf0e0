//! The audit agent: a periodic durable workflow (kind `audit`, id `audit:<window start>`)
//! that looks at one closed time window of decisions against the windows before it and
//! records what no per-record policy can see: drift in the data, spikes in denials or
//! reviews, accounts that keep landing just under a threshold, and decisions taken under a
//! policy version nobody expects.
//!
//! Steps: window_stats → baseline_stats → detect_and_record → narrate_report. The
//! statistics are checkpointed, so a resumed audit judges exactly the numbers it first
//! read; the report's narrative (the LLM's, or a deterministic one) is its own step, so a
//! checkpointed narrative is never asked for again (decision 0014).

mod detect;
mod narrative;
mod stats;

pub use detect::{
    detect, psi, DetectConfig, Finding, AMOUNT_DRIFT, CURRENCY_DRIFT, DEAD_LETTER_DRIFT,
    DENY_SPIKE, NEAR_THRESHOLD, REVIEW_SPIKE, UNEXPECTED_POLICY_VERSION,
};
pub use narrative::{
    deterministic_narrative, narrative_schema, Narration, NarrativeAnswer, NARRATIVE_STEP,
};
pub use stats::{
    policy_rates, policy_thresholds, NearThreshold, Threshold, WindowStats, AMOUNT_EDGES,
};

use super::agent::Agent;
use super::step::{Effect, Step, StepContext, StepError, StepInput, StepOutput, WorkflowDef};
use super::{WorkflowError, WorkflowMetrics};
use crate::store::{EffectWrite, FindingRow, WorkflowStore};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub const KIND: &str = "audit";

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The baseline is this many windows (of the audited window's length) just before it.
    pub baseline_windows: i32,
    /// Amount thresholds from the policy data, in euros.
    pub thresholds: Vec<Threshold>,
    /// The policy data's `fx_to_eur` (euros per unit), to compare amounts with them.
    pub eur_per_unit: BTreeMap<String, f64>,
    /// "Just under" means within this fraction below a threshold.
    pub near_band: f64,
    /// How many just-under amounts (over baseline and window) make a pattern.
    pub near_min_count: i64,
    pub detect: DetectConfig,
    /// Writes the report's narrative (`None`: the deterministic narrative).
    pub agent: Option<Agent>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            baseline_windows: 24,
            thresholds: Vec::new(),
            eur_per_unit: BTreeMap::new(),
            near_band: 0.10,
            near_min_count: 3,
            detect: DetectConfig::default(),
            agent: None,
        }
    }
}

pub fn definition(cfg: AuditConfig) -> WorkflowDef {
    let cfg = Arc::new(cfg);
    WorkflowDef {
        kind: KIND,
        steps: vec![
            Box::new(WindowStep(cfg.clone())),
            Box::new(BaselineStep(cfg.clone())),
            Box::new(DetectStep(cfg.clone())),
            Box::new(narrative::NarrateStep(cfg)),
        ],
    }
}

/// The policy data the pipeline decides with: `data.json` in `POLICY_DIR`, else the copy
/// shipped in the binary.
pub fn load_policy_data(dir: Option<&Path>) -> Result<serde_json::Value, WorkflowError> {
    let text = match dir {
        None => include_str!("../../../policies/data.json").to_owned(),
        Some(d) => {
            let path = d.join("data.json");
            std::fs::read_to_string(&path).map_err(|e| WorkflowError::PolicyData {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
        }
    };
    serde_json::from_str(&text).map_err(|e| WorkflowError::PolicyData {
        path: "data.json".into(),
        message: e.to_string(),
    })
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The latest window that has ended by `now`, aligned on multiples of its length.
pub fn latest_closed_window(
    now: DateTime<Utc>,
    len: chrono::Duration,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let secs = len.num_seconds();
    if secs <= 0 {
        return None;
    }
    let end = now.timestamp().div_euclid(secs) * secs;
    let end = Utc.timestamp_opt(end, 0).single()?;
    Some((end - len, end))
}

/// Creates the audit workflow of `[start, end)` unless it exists; true if it was created.
/// Every worker may call this: the window's id makes it one workflow.
pub async fn schedule(
    store: &dyn WorkflowStore,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    let id = format!("{KIND}:{}", ts(start));
    let subject = format!("{}/{}", ts(start), ts(end));
    Ok(store.schedule_workflow(&id, KIND, &subject).await?)
}

fn parse_window(subject: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), StepError> {
    let bad = || StepError::Permanent(format!("audit subject {subject:?} is not START/END"));
    let (a, b) = subject.split_once('/').ok_or_else(bad)?;
    let a = DateTime::parse_from_rfc3339(a).map_err(|_| bad())?;
    let b = DateTime::parse_from_rfc3339(b).map_err(|_| bad())?;
    Ok((a.with_timezone(&Utc), b.with_timezone(&Utc)))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowOutput {
    pub window: WindowStats,
    pub thresholds: Vec<Threshold>,
    pub near_threshold: Vec<NearThreshold>,
}

struct WindowStep(Arc<AuditConfig>);

impl Step for WindowStep {
    fn name(&self) -> &'static str {
        "window_stats"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        _input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let (start, end) = parse_window(ctx.subject)?;
            let window = stats::window_stats(ctx.store, start, end).await?;
            let lookback = start - (end - start) * self.0.baseline_windows;
            let near_threshold = stats::near_thresholds(
                ctx.store,
                (lookback, end),
                &self.0.thresholds,
                &self.0.eur_per_unit,
                self.0.near_band,
                self.0.near_min_count,
            )
            .await?;
            StepOutput::new(WindowOutput {
                window,
                thresholds: self.0.thresholds.clone(),
                near_threshold,
            })
        }
        .boxed()
    }
}

struct BaselineStep(Arc<AuditConfig>);

impl Step for BaselineStep {
    fn name(&self) -> &'static str {
        "baseline_stats"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StepContext<'a>,
        _input: &'a StepInput,
    ) -> BoxFuture<'a, Result<StepOutput, StepError>> {
        async move {
            let (start, end) = parse_window(ctx.subject)?;
            let from = start - (end - start) * self.0.baseline_windows;
            StepOutput::new(stats::window_stats(ctx.store, from, start).await?)
        }
        .boxed()
    }
}

struct DetectStep(Arc<AuditConfig>);

impl Step for DetectStep {
    fn name(&self) -> &'static str {
        "detect_and_record"
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
            let findings = detect(
                &w.window,
                &baseline,
                &w.near_threshold,
                self.0.near_min_count,
                &self.0.detect,
            );
            let summary = serde_json::json!({
                "findings": findings.len(),
                "kinds": findings.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
            });
            let effect = RecordFindings {
                workflow_id: ctx.workflow_id.to_owned(),
                window: (start, end),
                findings,
            };
            Ok(StepOutput::new(summary)?.with_effect(effect))
        }
        .boxed()
    }
}

/// Writes the findings to `audit_findings`; after the commit, logs each and counts it.
pub struct RecordFindings {
    workflow_id: String,
    window: (DateTime<Utc>, DateTime<Utc>),
    findings: Vec<Finding>,
}

impl Effect for RecordFindings {
    fn name(&self) -> &'static str {
        "audit_findings"
    }

    fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "findings": self.findings.iter().map(|f| format!("{}:{}", f.kind, f.subject)).collect::<Vec<_>>(),
        })
    }

    fn write(&self) -> EffectWrite {
        EffectWrite::AuditFindings(
            self.findings
                .iter()
                .map(|f| FindingRow {
                    finding_id: format!("{}/{}/{}", self.workflow_id, f.kind, f.subject),
                    workflow_id: self.workflow_id.clone(),
                    window_start: self.window.0,
                    window_end: self.window.1,
                    kind: f.kind.clone(),
                    subject: f.subject.clone(),
                    severity: f.severity.clone(),
                    detail: f.detail.clone(),
                })
                .collect(),
        )
    }

    fn committed(&self, metrics: Option<&WorkflowMetrics>) {
        for f in &self.findings {
            tracing::warn!(
                audit = %self.workflow_id, kind = %f.kind, subject = %f.subject,
                severity = %f.severity, detail = %f.detail, "audit finding"
            );
            if let Some(m) = metrics {
                m.finding(&f.kind);
            }
        }
        tracing::info!(audit = %self.workflow_id, findings = self.findings.len(), "audit recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_on_their_length_and_round_trip_through_the_subject() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 1, 13, 20, 5)
            .single()
            .expect("time");
        let (s, e) = latest_closed_window(now, chrono::Duration::hours(1)).expect("window");
        assert_eq!(ts(s), "2026-03-01T12:00:00Z");
        assert_eq!(ts(e), "2026-03-01T13:00:00Z");
        assert_eq!(
            parse_window(&format!("{}/{}", ts(s), ts(e))).expect("parse"),
            (s, e)
        );
        assert!(latest_closed_window(now, chrono::Duration::zero()).is_none());
    }
}
