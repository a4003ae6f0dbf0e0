//! The governance role: the read queries the MCP governance server answers with
//! (`crate::mcp`), and its one write, the append-only `mcp_audit` trail. Every query is
//! named and parameterised: callers choose among fixed filters, never send SQL.
//!
//! The trait is object safe (boxed futures), like [`WorkflowStore`](super::WorkflowStore):
//! the server holds `Arc<dyn GovernanceQueries>` whichever backend the app opened. Both
//! backends run the same statements (`sql.rs`, [`Statements`](super::sql::Statements)) and
//! decode every column as text or a number, so one body, [`governance_impl!`], implements
//! the trait for both.

use super::{StoreError, VerifyReport};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::BTreeMap;

/// The largest page `search_decisions` returns.
pub const MAX_SEARCH_LIMIT: i64 = 1000;

type Fut<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// One decision-log entry, as the chain stores it (`reasons` and `findings` parsed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionEntry {
    pub seq: i64,
    pub transaction_id: String,
    pub account_id: String,
    pub policy_path: String,
    pub policy_version: String,
    pub decision: String,
    pub reasons: serde_json::Value,
    pub findings: serde_json::Value,
    pub decided_at: String,
    pub prev_hash: String,
    pub row_hash: String,
}

/// The filters of `search_decisions`, all optional but the page size. Newest first; the
/// next page starts below `before_seq` (keyset pagination on `seq`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionQuery {
    pub account_id: Option<String>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Where a record ended up: its row in `transactions` or `quarantine` (ciphertexts and
/// tokens only, as stored), and any dead letters that carry its id (never their payload).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecordOutcome {
    /// `transactions`, `quarantine`, `dead_letters`, or `None` when the id is unknown.
    pub table: Option<&'static str>,
    pub row: Option<serde_json::Value>,
    pub dead_letters: Vec<DeadLetterRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterRef {
    pub reason: String,
    pub source: String,
    pub source_partition: i64,
    pub source_offset: i64,
    pub received_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ComplianceCounts {
    pub decisions: i64,
    pub by_decision: BTreeMap<String, i64>,
    pub by_reason: BTreeMap<String, i64>,
    pub by_detector: BTreeMap<String, i64>,
    pub quarantine_total: i64,
    pub quarantine_in_window: i64,
    pub dead_letters_total: i64,
    pub dead_letters_in_window: i64,
    pub audit_findings: Vec<AuditFindingRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditFindingRef {
    pub finding_id: String,
    pub kind: String,
    pub subject: String,
    pub severity: String,
    pub detail: serde_json::Value,
    pub window_start: String,
    pub window_end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Investigation {
    pub workflow_id: String,
    pub status: String,
    pub next_step: i64,
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub steps: Vec<InvestigationStep>,
    pub case: Option<InvestigationCase>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvestigationStep {
    pub index: i64,
    pub name: String,
    pub output: serde_json::Value,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvestigationCase {
    pub decision: String,
    pub score: f64,
    pub factors: serde_json::Value,
    pub note: String,
    pub decided_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InvestigationLookup {
    Found(Box<Investigation>),
    NotFound,
}

/// One audited MCP tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct McpAuditEntry {
    pub called_at: DateTime<Utc>,
    pub caller: String,
    pub tool: String,
    pub args_sha256: String,
    pub ok: bool,
    pub error: Option<String>,
    pub duration_ms: f64,
}

/// Extends [`LineageQueries`](super::LineageQueries): the server answers `record_lineage`
/// through the same handle.
pub trait GovernanceQueries: super::LineageQueries + Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Every decision-log entry of a transaction id, in chain order.
    fn decisions_for<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, Vec<DecisionEntry>>;
    fn search_decisions<'a>(&'a self, query: &'a DecisionQuery) -> Fut<'a, Vec<DecisionEntry>>;
    fn record_outcome<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, RecordOutcome>;
    fn compliance_counts(&self, since: DateTime<Utc>) -> Fut<'_, ComplianceCounts>;
    fn investigation<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, InvestigationLookup>;
    /// The newest sequence number of the chain (its head).
    fn head_seq(&self) -> Fut<'_, i64>;
    /// Checks the hash chain over `from..=to` (see [`audit_verify_range`](super::audit_verify_range));
    /// the whole chain, head included, when both are `None`.
    fn verify_chain(&self, from: Option<i64>, to: Option<i64>) -> Fut<'_, VerifyReport>;
    /// The stored `row_hash` of decision-log row `seq`, if it exists.
    fn chain_row_hash(&self, seq: i64) -> Fut<'_, Option<String>>;
    /// Appends one entry to the append-only `mcp_audit` table.
    fn append_mcp_audit<'a>(&'a self, entry: &'a McpAuditEntry) -> Fut<'a, ()>;
}

/// Reads a JSON column stored as text; a value that does not parse is returned as text
/// rather than dropped.
pub(crate) fn json_text(s: String) -> serde_json::Value {
    serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
}

/// The trait's body, the same text for both backends: `$store` has a `pool` field, and
/// `$dialect` picks the statements.
macro_rules! governance_impl {
    ($store:ty, $dialect:expr) => {
        impl $crate::store::GovernanceQueries for $store {
            fn kind(&self) -> &'static str {
                $crate::store::Database::kind(self)
            }

            fn decisions_for<'a>(
                &'a self,
                transaction_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<Vec<$crate::store::DecisionEntry>, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    let rows = sqlx::query(&$dialect.sql().decisions_for)
                        .bind(transaction_id)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| $crate::store::governance::decode_entry!(r))
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err($crate::store::StoreError::from)
                })
            }

            fn search_decisions<'a>(
                &'a self,
                q: &'a $crate::store::DecisionQuery,
            ) -> futures::future::BoxFuture<
                'a,
                Result<Vec<$crate::store::DecisionEntry>, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    let text = $crate::store::sql::search_decisions($dialect, q);
                    let mut query = sqlx::query(&text);
                    for v in [&q.account_id, &q.decision] {
                        if let Some(v) = v {
                            query = query.bind(v.clone());
                        }
                    }
                    if let Some(reason) = &q.reason {
                        // Reasons are stored as a JSON array of strings: match one element.
                        query = query.bind(serde_json::Value::from(reason.as_str()).to_string());
                    }
                    for t in [q.from, q.to] {
                        if let Some(t) = t {
                            query = query.bind($crate::store::format_ts(t));
                        }
                    }
                    if let Some(s) = q.before_seq {
                        query = query.bind(s);
                    }
                    let rows = query.bind(q.limit).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| $crate::store::governance::decode_entry!(r))
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err($crate::store::StoreError::from)
                })
            }

            fn record_outcome<'a>(
                &'a self,
                transaction_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::store::RecordOutcome, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $dialect.sql();
                    let mut out = $crate::store::RecordOutcome::default();
                    for (table, text) in [
                        ("transactions", &s.outcome_row[0]),
                        ("quarantine", &s.outcome_row[1]),
                    ] {
                        if let Some(r) = sqlx::query(text)
                            .bind(transaction_id)
                            .fetch_optional(&self.pool)
                            .await?
                        {
                            let mut row = serde_json::Map::new();
                            for (i, name) in
                                $crate::store::sql::OUTCOME_TEXT_COLUMNS.iter().enumerate()
                            {
                                let v: Option<String> = r.try_get(i)?;
                                row.insert((*name).to_owned(), v.into());
                            }
                            let score: f64 =
                                r.try_get($crate::store::sql::OUTCOME_TEXT_COLUMNS.len())?;
                            row.insert("risk_score".into(), score.into());
                            out.table = Some(table);
                            out.row = Some(row.into());
                            break;
                        }
                    }
                    let dead = sqlx::query(&s.dead_letters_for)
                        .bind(transaction_id)
                        .fetch_all(&self.pool)
                        .await?;
                    for r in &dead {
                        out.dead_letters.push($crate::store::DeadLetterRef {
                            reason: r.try_get(0)?,
                            source: r.try_get(1)?,
                            source_partition: i64::from(r.try_get::<i32, _>(2)?),
                            source_offset: r.try_get(3)?,
                            received_at: r.try_get(4)?,
                        });
                    }
                    if out.table.is_none() && !out.dead_letters.is_empty() {
                        out.table = Some("dead_letters");
                    }
                    Ok(out)
                })
            }

            fn compliance_counts(
                &self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> futures::future::BoxFuture<
                '_,
                Result<$crate::store::ComplianceCounts, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $dialect.sql();
                    let since = $crate::store::format_ts(since);
                    let mut out = $crate::store::ComplianceCounts::default();
                    for (text, map) in [
                        (&s.count_by_decision, &mut out.by_decision),
                        (&s.count_by_reason, &mut out.by_reason),
                        (&s.count_by_detector, &mut out.by_detector),
                    ] {
                        for r in sqlx::query(text).bind(&since).fetch_all(&self.pool).await? {
                            let key: Option<String> = r.try_get(0)?;
                            let n: i64 = r.try_get(1)?;
                            *map.entry(key.unwrap_or_else(|| "(none)".into()))
                                .or_default() += n;
                        }
                    }
                    out.decisions = out.by_decision.values().sum();
                    let r = sqlx::query(&s.backlog_counts)
                        .bind(&since)
                        .fetch_one(&self.pool)
                        .await?;
                    out.quarantine_total = r.try_get(0)?;
                    out.quarantine_in_window = r.try_get(1)?;
                    out.dead_letters_total = r.try_get(2)?;
                    out.dead_letters_in_window = r.try_get(3)?;
                    for r in sqlx::query(&s.audit_findings_since)
                        .bind(&since)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        out.audit_findings.push($crate::store::AuditFindingRef {
                            finding_id: r.try_get(0)?,
                            kind: r.try_get(1)?,
                            subject: r.try_get(2)?,
                            severity: r.try_get(3)?,
                            detail: $crate::store::governance::json_text(r.try_get(4)?),
                            window_start: r.try_get(5)?,
                            window_end: r.try_get(6)?,
                        });
                    }
                    Ok(out)
                })
            }

            fn investigation<'a>(
                &'a self,
                transaction_id: &'a str,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::store::InvestigationLookup, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    use sqlx::Row;
                    let s = $dialect.sql();
                    let workflow_id = format!("investigation:{transaction_id}");
                    let Some(w) = sqlx::query(&s.workflow_row)
                        .bind(&workflow_id)
                        .fetch_optional(&self.pool)
                        .await?
                    else {
                        return Ok($crate::store::InvestigationLookup::NotFound);
                    };
                    let mut inv = $crate::store::Investigation {
                        workflow_id: workflow_id.clone(),
                        status: w.try_get(0)?,
                        next_step: i64::from(w.try_get::<i32, _>(1)?),
                        attempts: i64::from(w.try_get::<i32, _>(2)?),
                        created_at: w.try_get(3)?,
                        updated_at: w.try_get(4)?,
                        completed_at: w.try_get(5)?,
                        steps: Vec::new(),
                        case: None,
                    };
                    for r in sqlx::query(&s.workflow_steps)
                        .bind(&workflow_id)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        inv.steps.push($crate::store::InvestigationStep {
                            index: i64::from(r.try_get::<i32, _>(0)?),
                            name: r.try_get(1)?,
                            output: $crate::store::governance::json_text(r.try_get(2)?),
                            at: r.try_get(3)?,
                        });
                    }
                    if let Some(r) = sqlx::query(&s.investigation_case)
                        .bind(&workflow_id)
                        .fetch_optional(&self.pool)
                        .await?
                    {
                        inv.case = Some($crate::store::InvestigationCase {
                            decision: r.try_get(0)?,
                            score: r.try_get(1)?,
                            factors: $crate::store::governance::json_text(r.try_get(2)?),
                            note: r.try_get(3)?,
                            decided_at: r.try_get(4)?,
                        });
                    }
                    Ok($crate::store::InvestigationLookup::Found(Box::new(inv)))
                })
            }

            fn head_seq(
                &self,
            ) -> futures::future::BoxFuture<'_, Result<i64, $crate::store::StoreError>> {
                Box::pin(async move { Ok($crate::store::AuditLog::chain_head(self).await?.0) })
            }

            fn verify_chain(
                &self,
                from: Option<i64>,
                to: Option<i64>,
            ) -> futures::future::BoxFuture<
                '_,
                Result<$crate::store::VerifyReport, $crate::store::StoreError>,
            > {
                Box::pin(async move {
                    match (from, to) {
                        (None, None) => $crate::store::audit_verify(self).await,
                        (from, to) => {
                            let head = $crate::store::AuditLog::chain_head(self).await?.0;
                            $crate::store::audit_verify_range(
                                self,
                                from.unwrap_or(1),
                                to.unwrap_or(head),
                            )
                            .await
                        }
                    }
                })
            }

            fn chain_row_hash(
                &self,
                seq: i64,
            ) -> futures::future::BoxFuture<'_, Result<Option<String>, $crate::store::StoreError>>
            {
                Box::pin(async move {
                    let rows = $crate::store::AuditLog::chain_rows(self, seq - 1, 1).await?;
                    Ok(rows.into_iter().find(|r| r.seq == seq).map(|r| r.row_hash))
                })
            }

            fn append_mcp_audit<'a>(
                &'a self,
                e: &'a $crate::store::McpAuditEntry,
            ) -> futures::future::BoxFuture<'a, Result<(), $crate::store::StoreError>> {
                Box::pin(async move {
                    sqlx::query(&$dialect.sql().insert_mcp_audit)
                        .bind($crate::store::format_ts(e.called_at))
                        .bind(&e.caller)
                        .bind(&e.tool)
                        .bind(&e.args_sha256)
                        .bind(if e.ok { "ok" } else { "error" })
                        .bind(e.error.as_deref())
                        .bind(e.duration_ms)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                })
            }
        }
    };
}
pub(crate) use governance_impl;

/// Decodes one row of `sql::DECISION_COLUMNS` into a [`DecisionEntry`].
macro_rules! decode_entry {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        Ok::<_, sqlx::Error>($crate::store::DecisionEntry {
            seq: r.try_get(0)?,
            transaction_id: r.try_get(1)?,
            account_id: r.try_get(2)?,
            policy_path: r.try_get(3)?,
            policy_version: r.try_get(4)?,
            decision: r.try_get(5)?,
            reasons: $crate::store::governance::json_text(r.try_get(6)?),
            findings: $crate::store::governance::json_text(r.try_get(7)?),
            decided_at: r.try_get(8)?,
            prev_hash: r.try_get(9)?,
            row_hash: r.try_get(10)?,
        })
    }};
}
pub(crate) use decode_entry;
