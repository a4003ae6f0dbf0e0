//! The governance tools and resources. Every tool is read-only, takes named and typed
//! arguments (never SQL), answers with ciphertexts and tokens only (what the store keeps),
//! and is audited in `mcp_audit` before its answer leaves: a call whose audit entry cannot
//! be written fails.

use super::engine::PolicyEngine;
use super::params::{self, ArgError};
use crate::journey::{self, ChainStatus};
use crate::llm::LlmClient;
use crate::store::{
    DecisionQuery, GovernanceQueries, InvestigationLookup, McpAuditEntry, VerifyReport,
    MAX_SEARCH_LIMIT,
};
use chrono::Utc;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    Implementation, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
    ServerConfig,
};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

/// The input-record schema, served as a resource.
const RECORD_SCHEMA: &str = include_str!("../../schema/transaction.schema.json");
pub const POLICY_URI: &str = "policy://active";
pub const SCHEMA_URI: &str = "schema://transaction";

/// Who is calling, set by the HTTP layer once the bearer token checked out (a digest
/// prefix of the token, never the token). stdio callers are the local user.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The active policy as the resources show it: its files (the `.rego` text and data).
#[derive(Debug, Clone, Default)]
pub struct PolicySource {
    pub provenance: String,
    pub files: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct GovernanceServer {
    store: Arc<dyn GovernanceQueries>,
    engine: Arc<PolicyEngine>,
    policy: Arc<PolicySource>,
    /// The caller recorded for requests without an HTTP [`Caller`] (stdio).
    local_caller: Arc<str>,
    /// `(seq, row_hash)` of the newest row this process has verified from genesis: later
    /// checks continue from it instead of walking the whole chain again (the log is
    /// append-only; `verify_audit_chain` without a range still checks everything).
    verified: Arc<tokio::sync::Mutex<(i64, String)>>,
    /// The pooled LLM behind `llm_complete` (`llm_tool.rs`); `None`: the tool is not served.
    llm: Option<LlmClient>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateArgs {
    /// The policy input document: `{transaction: {...}, risk: {findings, max_score}, pii: {...}}`,
    /// the document the pipeline's govern stage builds for a record.
    pub input: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionArgs {
    /// The record's transaction_id.
    pub transaction_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineageArgs {
    /// The record's transaction_id (give this or source_position).
    pub transaction_id: Option<String>,
    /// Where the record was read: `topic:partition:offset` (Kafka) or `file:line`.
    pub source_position: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    pub account_id: Option<String>,
    /// allow, review or deny.
    pub decision: Option<String>,
    /// A reason code, e.g. `high_risk_score`.
    pub reason: Option<String>,
    /// RFC 3339 timestamp: decisions made at or after it.
    pub from: Option<String>,
    /// RFC 3339 timestamp: decisions made before it.
    pub to: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// First sequence number to check (default 1).
    pub from_seq: Option<i64>,
    /// Last sequence number to check (default: the chain's head).
    pub to_seq: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryArgs {
    /// How far back: `30m`, `24h`, `7d` (at most 366d).
    pub window: String,
}

type ToolOutcome = Result<Value, ArgError>;

fn report(v: &VerifyReport) -> Value {
    match v {
        VerifyReport::Intact { rows } => json!({"intact": true, "rows": rows}),
        VerifyReport::Broken { seq, problem } => {
            json!({"intact": false, "first_broken_seq": seq, "problem": problem})
        }
    }
}

#[tool_router]
impl GovernanceServer {
    pub fn new(
        store: Arc<dyn GovernanceQueries>,
        engine: PolicyEngine,
        policy: PolicySource,
        local_caller: String,
    ) -> Self {
        Self {
            store,
            engine: Arc::new(engine),
            policy: Arc::new(policy),
            local_caller: local_caller.into(),
            verified: Arc::new(tokio::sync::Mutex::new((
                0,
                crate::store::GENESIS.to_owned(),
            ))),
            llm: None,
            tool_router: Self::tool_router(),
        }
    }

    /// Serves the pooled `llm_complete` tool with `llm` (decision 0015).
    pub fn with_llm(mut self, llm: LlmClient) -> Self {
        self.tool_router.merge(Self::llm_tool_router());
        self.llm = Some(llm);
        self
    }

    pub(super) fn llm(&self) -> Option<&LlmClient> {
        self.llm.as_ref()
    }

    #[tool(
        description = "Evaluate the governance policy on an input document, with the engine the pipeline uses (embedded, or OPA when OPA_URL is set). Returns decision, reasons and policy version.",
        annotations(read_only_hint = true)
    )]
    async fn evaluate_policy(&self, Parameters(a): Parameters<EvaluateArgs>) -> CallToolResult {
        finish(self.evaluate_policy_impl(a).await)
    }

    #[tool(
        description = "Explain the governance decision on one record: its decision-log entries (decision, reasons, findings, policy version, seq, hash), whether the hash chain verifies up to it, and where the record ended up (transactions, quarantine, dead letters).",
        annotations(read_only_hint = true)
    )]
    async fn explain_decision(&self, Parameters(a): Parameters<TransactionArgs>) -> CallToolResult {
        finish(self.explain_decision_impl(a).await)
    }

    #[tool(
        description = "Search the decision log, newest first, by account, decision, reason and time range; keyset pagination with `cursor` (limit at most 1000).",
        annotations(read_only_hint = true)
    )]
    async fn search_decisions(&self, Parameters(a): Parameters<SearchArgs>) -> CallToolResult {
        finish(self.search_decisions_impl(a).await)
    }

    #[tool(
        description = "Verify the decision log's hash chain, whole or over from_seq..=to_seq: intact, or the first broken row.",
        annotations(read_only_hint = true)
    )]
    async fn verify_audit_chain(&self, Parameters(a): Parameters<VerifyArgs>) -> CallToolResult {
        finish(self.verify_audit_chain_impl(a).await)
    }

    #[tool(
        description = "Compliance summary over a time window: decisions by outcome, reason and detector, the quarantine and dead-letter backlog, and the audit agent's findings.",
        annotations(read_only_hint = true)
    )]
    async fn compliance_summary(&self, Parameters(a): Parameters<SummaryArgs>) -> CallToolResult {
        finish(self.compliance_summary_impl(a).await)
    }

    #[tool(
        description = "The investigation workflow of a record decided `review`: its state, steps and case note.",
        annotations(read_only_hint = true)
    )]
    async fn get_investigation(
        &self,
        Parameters(a): Parameters<TransactionArgs>,
    ) -> CallToolResult {
        finish(self.get_investigation_impl(a).await)
    }

    #[tool(
        description = "The journey of one record, by transaction_id or source_position, from stored facts: source coordinates, arrival and commit times, each stage's outcome (PII kinds removed, category, detector findings, policy decision, reasons and version), its decision-log seq and hash with the chain verified up to it, the table it landed in, where it was published, the lake object and export range, its investigation and its account's erasure. Dead letters and replays too. No PII.",
        annotations(read_only_hint = true)
    )]
    async fn record_lineage(&self, Parameters(a): Parameters<LineageArgs>) -> CallToolResult {
        finish(self.record_lineage_impl(a).await)
    }
}

fn finish(outcome: ToolOutcome) -> CallToolResult {
    match outcome {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
    }
}

impl GovernanceServer {
    async fn evaluate_policy_impl(&self, a: EvaluateArgs) -> ToolOutcome {
        params::policy_input(&a.input)?;
        let e = self
            .engine
            .evaluate(Value::Object(a.input))
            .await
            .map_err(ArgError::Internal)?;
        serde_json::to_value(e).map_err(|e| ArgError::Internal(e.to_string()))
    }

    async fn explain_decision_impl(&self, a: TransactionArgs) -> ToolOutcome {
        let id = params::identifier("transaction_id", &a.transaction_id)?;
        let entries = self.store.decisions_for(id).await?;
        let outcome = self.store.record_outcome(id).await?;
        if entries.is_empty() && outcome.table.is_none() {
            return Err(ArgError::NotFound(format!(
                "unknown transaction_id {id:?}: no decision, record or dead letter carries it"
            )));
        }
        // The chain is checked from genesis to the newest entry of this record, so every
        // row the explanation rests on is covered.
        let chain = match entries.iter().max_by_key(|e| e.seq) {
            Some(last) => self.verify_through(last.seq, &last.row_hash).await?,
            None => json!({"intact": null, "note": "the record has no decision-log entry"}),
        };
        Ok(json!({
            "transaction_id": id,
            "decisions": entries,
            "chain": chain,
            "outcome": outcome,
        }))
    }

    async fn search_decisions_impl(&self, a: SearchArgs) -> ToolOutcome {
        let limit = a.limit.unwrap_or(100);
        if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
            return Err(ArgError::Invalid(format!(
                "limit must be from 1 to {MAX_SEARCH_LIMIT}, got {limit}"
            )));
        }
        let from = a
            .from
            .as_deref()
            .map(|v| params::timestamp("from", v))
            .transpose()?;
        let to =
            a.to.as_deref()
                .map(|v| params::timestamp("to", v))
                .transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(ArgError::Invalid(format!(
                    "bad range: from ({f}) must be before to ({t})"
                )));
            }
        }
        let q = DecisionQuery {
            account_id: a
                .account_id
                .as_deref()
                .map(|v| params::identifier("account_id", v).map(str::to_owned))
                .transpose()?,
            decision: a.decision.as_deref().map(params::decision).transpose()?,
            reason: a.reason.as_deref().map(params::reason).transpose()?,
            from,
            to,
            before_seq: a.cursor.as_deref().map(params::cursor).transpose()?,
            limit,
        };
        let rows = self.store.search_decisions(&q).await?;
        let next_cursor = match rows.last() {
            Some(last) if rows.len() as i64 == limit && last.seq > 1 => Some(last.seq.to_string()),
            _ => None,
        };
        Ok(json!({"count": rows.len(), "decisions": rows, "next_cursor": next_cursor}))
    }

    async fn verify_audit_chain_impl(&self, a: VerifyArgs) -> ToolOutcome {
        let head = self.store.head_seq().await?;
        if a.from_seq.is_none() && a.to_seq.is_none() {
            let r = self.store.verify_chain(None, None).await?;
            let mut v = report(&r);
            v["head_seq"] = head.into();
            return Ok(v);
        }
        let from = a.from_seq.unwrap_or(1);
        let to = a.to_seq.unwrap_or(head);
        if from < 1 {
            return Err(ArgError::Invalid(format!(
                "from_seq must be at least 1, got {from}"
            )));
        }
        if to > head {
            return Err(ArgError::Invalid(format!(
                "to_seq {to} is past the chain's head (seq {head})"
            )));
        }
        if from > to {
            return Err(ArgError::Invalid(format!(
                "bad range: from_seq {from} is after to_seq {to}"
            )));
        }
        let mut v = report(&self.store.verify_chain(Some(from), Some(to)).await?);
        v["from_seq"] = from.into();
        v["to_seq"] = to.into();
        v["head_seq"] = head.into();
        Ok(v)
    }

    async fn compliance_summary_impl(&self, a: SummaryArgs) -> ToolOutcome {
        let window = params::window(&a.window)?;
        let since = Utc::now() - window;
        let counts = self.store.compliance_counts(since).await?;
        let mut v = serde_json::to_value(counts).map_err(|e| ArgError::Internal(e.to_string()))?;
        v["window"] = a.window.trim().into();
        v["since"] = crate::store::format_ts(since).into();
        Ok(v)
    }

    async fn get_investigation_impl(&self, a: TransactionArgs) -> ToolOutcome {
        let id = params::identifier("transaction_id", &a.transaction_id)?;
        match self.store.investigation(id).await? {
            InvestigationLookup::Found(inv) => {
                serde_json::to_value(inv).map_err(|e| ArgError::Internal(e.to_string()))
            }
            InvestigationLookup::NotFound => Err(ArgError::NotFound(format!(
                "no investigation for transaction_id {id:?} (only records decided `review` get one)"
            ))),
        }
    }

    async fn record_lineage_impl(&self, a: LineageArgs) -> ToolOutcome {
        let lookup = params::lineage_lookup(a.transaction_id, a.source_position)?;
        let Some(mut j) = journey::trace(&*self.store, &lookup).await? else {
            return Err(ArgError::NotFound(format!(
                "no record found for {lookup}: no stored row, decision, dead letter or replay names it"
            )));
        };
        if let Some((seq, hash)) = j.decision_row() {
            let hash = hash.to_owned();
            let (r, _) = self.check_through(seq, &hash).await?;
            j.set_chain(ChainStatus::from_report(seq, &r));
        }
        serde_json::to_value(j).map_err(|e| ArgError::Internal(e.to_string()))
    }

    /// Whether the chain verifies from genesis through row `seq` (whose stored hash is
    /// `hash`), as `explain_decision` shows it.
    async fn verify_through(&self, seq: i64, hash: &str) -> Result<Value, ArgError> {
        Ok(match self.check_through(seq, hash).await? {
            (VerifyReport::Intact { .. }, through) => {
                json!({"intact": true, "rows": seq, "verified_through": through})
            }
            (r, _) => report(&r),
        })
    }

    /// Checks the chain from genesis through row `seq`; returns the report and the
    /// watermark. Continues from the verified watermark: rows up to it were verified by this
    /// process before, and the watermark row must still carry the hash it had then.
    async fn check_through(&self, seq: i64, hash: &str) -> Result<(VerifyReport, i64), ArgError> {
        let mut mark = self.verified.lock().await;
        if seq <= mark.0 {
            return Ok((VerifyReport::Intact { rows: seq }, mark.0));
        }
        if mark.0 > 0 && self.store.chain_row_hash(mark.0).await?.as_deref() != Some(&mark.1) {
            // The watermark row changed: start over from genesis.
            *mark = (0, crate::store::GENESIS.to_owned());
        }
        let r = self.store.verify_chain(Some(mark.0 + 1), Some(seq)).await?;
        if let VerifyReport::Intact { .. } = r {
            *mark = (seq, hash.to_owned());
            return Ok((VerifyReport::Intact { rows: seq }, seq));
        }
        Ok((r, mark.0))
    }

    /// Verifies the chain up to its head once, so the first `explain_decision` calls do
    /// not each pay for a walk from genesis. Errors are only logged: calls verify anyway.
    pub async fn warm_up(&self) {
        let started = Instant::now();
        let head = match self.store.head_seq().await {
            Ok(h) if h > 0 => h,
            _ => return,
        };
        let hash = match self.store.chain_row_hash(head).await {
            Ok(Some(h)) => h,
            _ => return,
        };
        match self.verify_through(head, &hash).await {
            Ok(v) => tracing::info!(
                head, intact = %v["intact"], ms = started.elapsed().as_millis() as u64,
                "decision-log chain verified for explain_decision"
            ),
            Err(e) => tracing::warn!(error = %e, "could not verify the chain at start"),
        }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> String {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Caller>())
            .map(|c| c.0.clone())
            .unwrap_or_else(|| self.local_caller.to_string())
    }
}

/// SHA-256 of the arguments as JSON (keys sorted: serde_json's map is ordered), so two
/// equal calls have equal digests and the audit trail holds no argument values.
pub fn args_digest(args: Option<&serde_json::Map<String, Value>>) -> String {
    let text = args
        .map(|a| Value::Object(a.clone()).to_string())
        .unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl ServerHandler for GovernanceServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("agentic-pfm-governance", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Governance of the agentic-pfm pipeline as an API: read-only tools over the decision log, \
             its hash chain, quarantine, dead letters and investigations. Data is returned as stored: \
             PII only as ciphertexts and tokens.",
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let called_at = Utc::now();
        let tool = request.name.to_string();
        let digest = args_digest(request.arguments.as_ref());
        let caller = self.caller(&context);
        let known = self.tool_router.has_route(&tool);
        let result = if known {
            match self
                .tool_router
                .call(ToolCallContext::new(self, request, context))
                .await
            {
                // Arguments that do not deserialise (wrong types, missing or unknown
                // fields) are the caller's to fix: a tool error it can read, not a
                // protocol error.
                Err(e) if e.code == ErrorCode::INVALID_PARAMS => {
                    Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                        "invalid arguments for {tool}: {}",
                        e.message
                    ))])
                    .into())
                }
                other => other,
            }
        } else {
            Err(ErrorData::invalid_params(
                format!("unknown tool {tool:?}"),
                None,
            ))
        };
        let (ok, error) = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => (
                false,
                Some(
                    r.content
                        .iter()
                        .filter_map(|c| match c {
                            ContentBlock::Text(t) => Some(t.text.as_str()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            ),
            Ok(_) => (true, None),
            Err(e) => (false, Some(e.message.to_string())),
        };
        let entry = McpAuditEntry {
            called_at,
            caller,
            tool: tool.chars().take(64).collect(),
            args_sha256: digest,
            ok,
            error: error.map(|e| e.chars().take(500).collect()),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        if let Err(e) = self.store.append_mcp_audit(&entry).await {
            tracing::error!(error = %e, tool = %entry.tool, "cannot write the MCP audit entry: refusing the answer");
            return Err(ErrorData::internal_error(
                "the audit trail is unavailable; the call was not answered",
                None,
            ));
        }
        tracing::info!(
            tool = %entry.tool, caller = %entry.caller, ok, ms = entry.duration_ms,
            "mcp tool call"
        );
        result
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        Ok(rmcp::model::ListToolsResult::with_all_items(
            self.tool_router.list_all(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let policy = Resource::new(POLICY_URI, "active-policy")
            .with_description(format!(
                "The active governance policy ({}): its .rego files and data, as JSON",
                self.policy.provenance
            ))
            .with_mime_type("application/json");
        let schema = Resource::new(SCHEMA_URI, "input-record-schema")
            .with_description("JSON Schema of the transaction records the pipeline consumes")
            .with_mime_type("application/schema+json");
        Ok(ListResourcesResult::with_all_items(vec![policy, schema]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let text = match request.uri.as_str() {
            POLICY_URI => json!({
                "provenance": self.policy.provenance,
                "files": self.policy.files.iter()
                    .map(|(name, text)| json!({"name": name, "text": text}))
                    .collect::<Vec<_>>(),
            })
            .to_string(),
            SCHEMA_URI => RECORD_SCHEMA.to_owned(),
            other => {
                return Err(ErrorData::resource_not_found(
                    format!("unknown resource {other:?}; see resources/list"),
                    None,
                ))
            }
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri)]).into())
    }
}
