//! The workflow role: what the durable-workflow engine (`crate::workflow`) stores (leases,
//! checkpoints, step runs, the effect journal, retention) and what its steps read (the
//! investigation's evidence, the audit agent's statistics). `workflow/` reaches the database
//! only through this trait, so it names no driver type.
//!
//! The trait is object safe (methods return boxed futures): a step sees it as
//! `&dyn WorkflowStore` in its context, and steps are trait objects themselves. Workflow
//! statements are not on the pipeline's hot path, so the allocation per call is noise.
//!
//! Both backends implement it with one body (`workflow_impl.rs`) over their own statements
//! (`workflow_sql.rs`): PostgreSQL leases with `FOR UPDATE SKIP LOCKED`, SQLite with one
//! `UPDATE … RETURNING` under its single write lock (docs/decisions/0012).

use super::StoreError;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::time::Duration;

/// A workflow leased to this worker.
#[derive(Debug, Clone)]
pub struct Claim {
    pub workflow_id: String,
    pub kind: String,
    pub subject: String,
    pub account_id: Option<String>,
    pub next_step: i32,
    /// The workflow's claim count, this claim included.
    pub attempt: i32,
}

/// What an effect writes besides its journal entry. The store owns the SQL, so an effect
/// describes its rows rather than writing them.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectWrite {
    /// Nothing: the journal entry is the whole effect (a case's timeline event).
    JournalOnly,
    /// One `investigation_cases` row; an existing case of the workflow is kept.
    InvestigationCase(CaseRow),
    /// `audit_findings` rows; existing findings (same id) are kept.
    AuditFindings(Vec<FindingRow>),
    /// One `audit_reports` row; an existing report of the workflow is kept.
    AuditReport(ReportRow),
}

/// An investigation's case. The agent's columns (decision 0014) are `None` on the
/// deterministic path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseRow {
    pub workflow_id: String,
    pub transaction_id: String,
    pub account_id: String,
    /// `escalate`, `clear` or `needs_human`.
    pub decision: String,
    pub score: f64,
    pub factors: serde_json::Value,
    pub note: String,
    /// Who chose the decision: `deterministic`, `llm`, or `governance` (the rule on agent
    /// actions refused both proposals and handed the case to a person).
    pub decided_by: String,
    /// The action the LLM proposed, whether or not it was taken.
    pub proposed_action: Option<String>,
    /// The LLM's rationale, scrubbed of PII.
    pub rationale: Option<String>,
    /// The finding ids the rationale cites (a JSON array).
    pub cited_findings: Option<serde_json::Value>,
    /// Why the LLM's proposal did not decide: no usable answer, or refused.
    pub fallback: Option<String>,
    /// The rule on agent actions' answer to the proposal (`{decision, reasons}`).
    pub governance: Option<serde_json::Value>,
}

/// A periodic audit's report: the narrative for the compliance team, and the statistics
/// it narrates, which stay the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub workflow_id: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Scrubbed of PII.
    pub narrative: String,
    /// `llm` or `deterministic`.
    pub narrated_by: String,
    /// Why the deterministic narrative was written although an LLM is configured.
    pub fallback: Option<String>,
    pub statistics: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub finding_id: String,
    pub workflow_id: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub kind: String,
    pub subject: String,
    pub severity: String,
    pub detail: serde_json::Value,
}

/// One effect of a step, as the checkpoint journals and applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectRecord {
    /// The idempotency key: the effect is applied only if this key is new.
    pub key: String,
    pub name: &'static str,
    pub payload: serde_json::Value,
    pub write: EffectWrite,
}

/// A finished step, to checkpoint.
pub struct CheckpointWrite<'a> {
    pub claim: &'a Claim,
    pub worker: &'a str,
    pub lease: Duration,
    pub run_id: i64,
    pub step_name: &'a str,
    pub output: &'a serde_json::Value,
    pub effects: &'a [EffectRecord],
    /// The workflow's last step: it completes.
    pub last: bool,
    /// Keep the lease for the next step; false releases it (shutdown).
    pub keep_lease: bool,
    /// The workflow's own lineage run (OpenLineage on, last step only), written in the
    /// transaction that completes it.
    pub lineage: Option<super::LineageStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpointed {
    /// Committed; `applied` holds the effects whose key was new, in order (the others had
    /// been applied before).
    Done { applied: Vec<usize> },
    /// Nothing was written: the lease is another worker's now, or the workflow moved on.
    LeaseLost,
}

/// What one retention pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub workflows: u64,
    pub checkpoints: u64,
    pub step_runs: u64,
    pub effects: u64,
}

/// The reviewed transaction as committed (no PII columns).
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRow {
    pub account_id: String,
    pub ts: DateTime<Utc>,
    pub amount: f64,
    /// The amount as stored, without trailing zeros.
    pub amount_text: String,
    pub currency: String,
    pub merchant: String,
    pub category: String,
    pub country: String,
    pub channel: String,
    pub risk_score: f64,
    /// JSON text, as stored.
    pub findings: String,
    /// JSON text, as stored.
    pub reasons: String,
    pub policy_version: String,
    /// The free text as stored: already scrubbed of PII by the pipeline.
    pub description: Option<String>,
    /// The policy's decision as stored (`allow` or `review`).
    pub decision: String,
}

/// An account's committed history (transactions and quarantine) in a time range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryRow {
    pub transactions: i64,
    pub mean_amount: f64,
    pub stddev_amount: f64,
    pub max_amount: f64,
    pub reviews: i64,
    pub denials: i64,
    /// Distinct, sorted.
    pub countries: Vec<String>,
}

/// An account with `count` decided amounts in a band, and the band's extremes it reached.
#[derive(Debug, Clone, PartialEq)]
pub struct BandCount {
    pub account_id: String,
    pub count: i64,
    pub min_amount: f64,
    pub max_amount: f64,
}

pub(crate) type Fut<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

pub trait WorkflowStore: Send + Sync + 'static {
    // ---- leases and checkpoints. Every write that changes a workflow names the worker and
    // the step it expects, so a worker whose lease expired can never write again. ----

    /// Leases the oldest claimable workflow of one of `kinds`: runnable, and either never
    /// leased or with an expired lease (its worker died, or a retry back-off ended).
    fn claim_workflow<'a>(
        &'a self,
        worker: &'a str,
        kinds: &'a [&'a str],
        lease: Duration,
    ) -> Fut<'a, Option<Claim>>;
    /// Checkpointed outputs as stored (JSON text), in step order.
    fn checkpoints<'a>(&'a self, workflow_id: &'a str) -> Fut<'a, Vec<(i32, String, String)>>;
    /// Records that `worker` starts running the claim's next step, and renews the lease;
    /// the run's id, or `None` when the lease is no longer ours or the workflow moved on.
    fn begin_run<'a>(
        &'a self,
        claim: &'a Claim,
        step_name: &'a str,
        worker: &'a str,
        lease: Duration,
    ) -> Fut<'a, Option<i64>>;
    /// Extends the lease while a long step runs; false if it is no longer ours.
    fn renew_lease<'a>(
        &'a self,
        workflow_id: &'a str,
        worker: &'a str,
        lease: Duration,
    ) -> Fut<'a, bool>;
    /// Advances the workflow, stores the checkpoint, journals and applies the effects and
    /// closes the run, all in one transaction fenced on (owner, step).
    fn checkpoint<'a>(&'a self, step: CheckpointWrite<'a>) -> Fut<'a, Checkpointed>;
    /// Closes a run that did not checkpoint.
    fn close_run<'a>(
        &'a self,
        run_id: i64,
        outcome: &'a str,
        error: Option<&'a str>,
    ) -> Fut<'a, ()>;
    /// Gives a failed workflow back: retried by anyone after `backoff`, or failed for good
    /// when `permanent` or the claims are used up. The resulting status (`None`: not ours).
    fn give_back_failed<'a>(
        &'a self,
        claim: &'a Claim,
        worker: &'a str,
        permanent: bool,
        max_attempts: i32,
        backoff: Duration,
    ) -> Fut<'a, Option<String>>;
    /// Releases one lease so another worker can start at once.
    fn release_lease<'a>(&'a self, workflow_id: &'a str, worker: &'a str) -> Fut<'a, ()>;
    /// Releases every lease `worker` holds; how many.
    fn release_all_leases<'a>(&'a self, worker: &'a str) -> Fut<'a, u64>;
    /// Workflows of these kinds still to run, leased or not.
    fn runnable_workflows<'a>(&'a self, kinds: &'a [&'a str]) -> Fut<'a, i64>;
    /// Creates a runnable workflow unless one with this id exists; true if it was created.
    fn schedule_workflow<'a>(
        &'a self,
        workflow_id: &'a str,
        kind: &'a str,
        subject: &'a str,
    ) -> Fut<'a, bool>;
    /// One retention pass in one short transaction: deletes the checkpoints, step runs and
    /// effect journal of at most `batch` workflows finished longer than `retention` ago.
    fn prune_finished(&self, retention: Duration, batch: i64) -> Fut<'_, PruneReport>;

    // ---- what the steps read ----

    /// The committed transaction `transaction_id` (`None`: not in `transactions`).
    fn investigation_subject<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, Option<SubjectRow>>;
    /// The account's history in `[since, until)`.
    fn account_history<'a>(
        &'a self,
        account_id: &'a str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Fut<'a, HistoryRow>;
    /// Escalated investigation cases of the account, other than `workflow_id`'s.
    fn prior_escalations<'a>(&'a self, account_id: &'a str, workflow_id: &'a str) -> Fut<'a, i64>;
    /// Decisions made in `[from, to)` by (result, policy version).
    fn decision_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Fut<'_, Vec<(String, String, i64)>>;
    /// Decisions made in `[from, to)` by (amount bucket, currency): bucket i holds amounts
    /// below `edges[i]` and at least `edges[i - 1]` (PostgreSQL's `width_bucket`).
    fn amount_buckets<'a>(
        &'a self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        edges: &'a [f64],
    ) -> Fut<'a, Vec<(i32, String, i64)>>;
    /// Dead letters received in `[from, to)`.
    fn dead_letters_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Fut<'_, i64>;
    /// Accounts with at least `min_count` amounts decided in `[from, to)` whose value in
    /// euros, at `eur_per_unit` (currency → euros per unit), lies within `band`
    /// (`[low, high)`, in euros), by account; amounts in a currency the table lacks are
    /// left out.
    fn accounts_in_band<'a>(
        &'a self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        band: (f64, f64),
        min_count: i64,
        eur_per_unit: &'a BTreeMap<String, f64>,
    ) -> Fut<'a, Vec<BandCount>>;
}
