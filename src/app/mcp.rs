//! `pipeline mcp` assembled: opens the configured store and the pipeline's policy engine
//! and serves the governance server over stdio or Streamable HTTP.

use super::llm_slots::with_cluster_limit;
use super::stores::{open_store, AnyStore, OpenError, Schema};
use super::Shutdown;
use crate::config::{Config, LlmRoute, McpSettings, DEFAULT_MCP_PORT};
use crate::llm::{LlmClient, LlmError, LlmMetrics};
use crate::mcp::{self, GovernanceServer, McpError, PolicyEngine, PolicySource};
use crate::policy::{EmbeddedPolicy, PolicyError, RemotePolicy};
use crate::store::GovernanceQueries;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum McpRunError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("loading the policy: {0}")]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Mcp(#[from] McpError),
    #[error("the LLM client for llm_complete: {0}")]
    Llm(#[from] LlmError),
}

/// How `pipeline mcp` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpTransport {
    Stdio,
    /// Streamable HTTP on this port.
    Http(u16),
}

impl McpTransport {
    /// `--http` or `MCP_PORT` choose HTTP (on `MCP_PORT`, else 8080); stdio otherwise.
    pub fn choose(http_flag: bool, settings: &McpSettings) -> Self {
        match (http_flag, settings.port) {
            (_, Some(p)) => Self::Http(p),
            (true, None) => Self::Http(DEFAULT_MCP_PORT),
            (false, None) => Self::Stdio,
        }
    }
}

/// Database connections the MCP server keeps: reads are short and independent.
const MCP_CONNECTIONS: u32 = 8;

pub async fn run_mcp(
    cfg: &Config,
    settings: McpSettings,
    transport: McpTransport,
    shutdown: Shutdown,
) -> Result<(), McpRunError> {
    if let Some(LlmRoute::Mcp { .. }) = cfg.llm.as_ref().map(|l| &l.route) {
        // The server would call itself.
        return Err(LlmError::Setup(
            "LLM_VIA_MCP=true is for workers; the MCP server calls the LLM at LLM_URL".into(),
        )
        .into());
    }
    // Serving reads never changes the schema: it must be the one this binary knows.
    let store = open_store(cfg, MCP_CONNECTIONS, Schema::Check).await?;
    let mut registry = prometheus_client::registry::Registry::default();
    let llm = pooled_llm(cfg, &store, &mut registry).await?;
    let metrics = llm.is_some().then(|| Arc::new(registry));
    let queries: Arc<dyn GovernanceQueries> = match store {
        AnyStore::Sqlite(s) => Arc::new(s),
        AnyStore::Postgres(s) => Arc::new(s),
    };
    let mut policy_files = EmbeddedPolicy::source_files(cfg.policy_dir.as_deref())?;
    policy_files.sort();
    let embedded = Arc::new(EmbeddedPolicy::from_sources(
        policy_files.clone(),
        &cfg.opa_policy_path,
    )?);
    let (engine, provenance) = match &cfg.opa_url {
        None => (
            PolicyEngine::Embedded(embedded.clone()),
            embedded.provenance(),
        ),
        Some(url) => {
            let client = RemotePolicy::new(
                url,
                &cfg.opa_policy_path,
                cfg.opa.clone(),
                Default::default(),
            )?;
            (
                PolicyEngine::Remote(Arc::new(client)),
                format!("opa {url} (local copy: {})", embedded.provenance()),
            )
        }
    };
    let source = PolicySource {
        provenance,
        files: policy_files,
    };
    match transport {
        McpTransport::Stdio => {
            let user = std::env::var("USER").unwrap_or_else(|_| "local".into());
            let mut server =
                GovernanceServer::new(queries, engine, source, format!("stdio:{user}"));
            if let Some(llm) = llm {
                server = server.with_llm(llm);
            }
            tracing::info!("MCP governance server on stdio");
            mcp::serve_stdio(server).await?;
        }
        McpTransport::Http(port) => {
            let mut server =
                GovernanceServer::new(queries.clone(), engine, source, "http:unknown".into());
            if let Some(llm) = llm {
                server = server.with_llm(llm);
            }
            let warm = server.clone();
            tokio::spawn(async move { warm.warm_up().await });
            let ready = move || {
                let q = queries.clone();
                async move { q.head_seq().await.is_ok() }
            };
            let mut flag = shutdown.flag();
            let stop = async move {
                let _ = flag.wait_for(|v| *v).await;
            };
            mcp::serve_http(server, &settings, port, ready, metrics, stop)
                .await
                .map_err(McpError::from)?;
        }
    }
    Ok(())
}

/// The pool behind `llm_complete` when `LLM_URL` is set: this process's client, with the
/// cluster-wide limit (`LLM_CLUSTER_CONCURRENCY`) in the store it serves from, its metrics
/// in `registry`.
async fn pooled_llm(
    cfg: &Config,
    store: &AnyStore,
    registry: &mut prometheus_client::registry::Registry,
) -> Result<Option<LlmClient>, McpRunError> {
    let Some(settings) = &cfg.llm else {
        return Ok(None);
    };
    // Its pipeline_llm_* metrics are served at /metrics on the MCP port.
    let client = LlmClient::new(settings.clone(), LlmMetrics::register(registry), None)?;
    let process = super::worker::default_worker_id();
    let client = match store {
        AnyStore::Sqlite(s) => with_cluster_limit(Some(client), cfg, s.clone(), &process).await,
        AnyStore::Postgres(s) => with_cluster_limit(Some(client), cfg, s.clone(), &process).await,
    }?;
    tracing::info!(
        model = %settings.model, max_concurrency = settings.max_concurrency,
        cluster = ?settings.cluster.map(|c| c.limit),
        "llm_complete served: LLM calls of LLM_VIA_MCP workers are pooled here"
    );
    Ok(client)
}
