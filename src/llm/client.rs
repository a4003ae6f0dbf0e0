//! [`LlmClient`]: one handle per process, cheap to clone (the connections, the slots and
//! the breaker are shared), built from `LLM_*` by the app when `LLM_URL` is set or
//! `LLM_VIA_MCP=true`. Its calls take either route with the same API: straight to the
//! model's server, or through the MCP server's pooled `llm_complete` tool
//! ([`super::mcp_route`]); the same slots, retries and breaker apply on the worker's side.

use super::chat::{correction, interpret, read_answer, request_body, Answer};
use super::chat::{ChatRequest, Completion, Message, Usage};
use super::mcp_route::{read_tool_reply, tool_call_body, PROTOCOL_VERSION};
use super::metrics::LlmMetrics;
use super::pool::{Cluster, ClusterSlots};
use super::retry::{self, MAX_ATTEMPTS};
use super::schema::OutputSchema;
use super::LlmError;
use crate::breaker::{Breaker, BreakerState};
use crate::config::{LlmRoute, LlmSettings};
use crate::telemetry::health::{Health, LlmCondition};
use bytes::Bytes;
use prometheus_client::metrics::gauge::Gauge;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;

/// The largest answer read: a structured answer is a few KiB.
const MAX_BODY: usize = 4 << 20;
/// Of an error answer, only this much is read (and dropped) so the connection is reused.
const MAX_ERROR_BODY: usize = 64 << 10;

#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    settings: LlmSettings,
    slots: Semaphore,
    /// The cluster-wide limit, once the app gave the slot table (`LLM_CLUSTER_CONCURRENCY`).
    cluster: OnceLock<Cluster>,
    /// The MCP route: JSON-RPC request ids.
    via_mcp: Option<AtomicU64>,
    breaker: Breaker,
    metrics: LlmMetrics,
    health: Option<Arc<Health>>,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient")
            .field("endpoint", &self.inner.endpoint)
            .field("model", &self.inner.settings.model)
            .field("max_concurrency", &self.inner.settings.max_concurrency)
            .field("cluster", &self.inner.settings.cluster)
            .field("via_mcp", &self.inner.via_mcp.is_some())
            .field("breaker", &self.breaker_state())
            .finish_non_exhaustive()
    }
}

/// What one HTTP request brought back.
enum Reply {
    Body(Bytes),
    Oversized,
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
}

enum SendError {
    Timeout,
    Transport(String),
}

/// `pipeline_llm_in_flight` while a call holds a slot, even if its future is dropped.
struct InFlight<'a>(&'a Gauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl LlmClient {
    /// `health`, when given, gets the client's [`LlmCondition`] after every call.
    pub fn new(
        settings: LlmSettings,
        metrics: LlmMetrics,
        health: Option<Arc<Health>>,
    ) -> Result<Self, LlmError> {
        let mut headers = HeaderMap::new();
        let (bearer, variable, endpoint) = match &settings.route {
            LlmRoute::Direct => (
                settings.api_key.as_ref(),
                "LLM_API_KEY",
                format!("{}/v1/chat/completions", settings.url),
            ),
            LlmRoute::Mcp { url, token } => {
                // Streamable HTTP: the client accepts a JSON answer or an event stream.
                headers.insert(
                    ACCEPT,
                    HeaderValue::from_static("application/json, text/event-stream"),
                );
                headers.insert(
                    HeaderName::from_static("mcp-protocol-version"),
                    HeaderValue::from_static(PROTOCOL_VERSION),
                );
                (Some(token), "LLM_MCP_TOKEN", url.clone())
            }
        };
        if let Some(key) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                .map_err(|_| LlmError::Setup(format!("{variable} cannot be sent in a header")))?;
            // Kept out of reqwest's and hyper's Debug output.
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("agentic-pfm/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(settings.max_concurrency)
            .tcp_nodelay(true)
            .tcp_keepalive(Duration::from_secs(30))
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Setup(format!("the HTTP client{}", causes(&e))))?;
        metrics.breaker_state.set(BreakerState::Closed.gauge());
        if let Some(h) = &health {
            h.set_llm(LlmCondition::Ok);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                slots: Semaphore::new(settings.max_concurrency),
                cluster: OnceLock::new(),
                via_mcp: matches!(settings.route, LlmRoute::Mcp { .. }).then(|| AtomicU64::new(1)),
                breaker: Breaker::new(settings.breaker_failures, settings.breaker_cooldown),
                settings,
                metrics,
                health,
            }),
        })
    }

    pub fn model(&self) -> &str {
        &self.inner.settings.model
    }

    /// Whether calls go through the MCP server's `llm_complete` tool (`LLM_VIA_MCP`).
    pub fn via_mcp(&self) -> bool {
        self.inner.via_mcp.is_some()
    }

    /// Makes every call also hold one of the cluster's `slots` (`LLM_CLUSTER_CONCURRENCY`)
    /// while it runs; `process` names this process in the slots' `holder`. Given once,
    /// before the client is used.
    pub fn with_cluster_slots(
        self,
        slots: Arc<dyn ClusterSlots>,
        process: impl Into<String>,
    ) -> Result<Self, LlmError> {
        self.inner
            .cluster
            .set(Cluster::new(slots, process.into()))
            .map_err(|_| LlmError::Setup("the cluster slots were given twice".into()))?;
        Ok(self)
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// What `/health` reports: `open` while the breaker is, `degraded` after failures or
    /// while probing, `ok` otherwise.
    pub fn condition(&self) -> LlmCondition {
        let b = &self.inner.breaker;
        match b.state() {
            BreakerState::Open => LlmCondition::Open,
            BreakerState::HalfOpen => LlmCondition::Degraded,
            BreakerState::Closed if b.failures() > 0 => LlmCondition::Degraded,
            BreakerState::Closed => LlmCondition::Ok,
        }
    }

    /// Asks the model for a JSON answer of `schema`, read as a `T` that `validate` accepts.
    /// An unusable answer is asked again once; every failure is an [`LlmError`], after
    /// which the caller takes its deterministic path.
    pub async fn complete_json<T: DeserializeOwned>(
        &self,
        req: ChatRequest,
        schema: &OutputSchema,
        validate: impl Fn(&T) -> Result<(), String>,
    ) -> Result<Completion<T>, LlmError> {
        let outcome = self.call(&req, schema, &validate).await;
        let m = &self.inner.metrics;
        match &outcome {
            Ok(_) => m.call("ok"),
            Err(e) => {
                m.call("failed");
                m.failure(e.kind());
                if *e == LlmError::BreakerOpen {
                    tracing::debug!(schema = schema.name(), "LLM breaker open: call refused");
                } else {
                    tracing::warn!(
                        kind = e.kind(), error = %e, schema = schema.name(),
                        "LLM call failed; the caller takes its deterministic path"
                    );
                }
            }
        }
        outcome
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: &ChatRequest,
        schema: &OutputSchema,
        validate: &impl Fn(&T) -> Result<(), String>,
    ) -> Result<Completion<T>, LlmError> {
        let inner = &*self.inner;
        // Fail fast while open, rather than queue behind calls that would fail too.
        if inner.breaker.rejects(Instant::now()) {
            return Err(LlmError::BreakerOpen);
        }
        let queued = tokio::time::Instant::now();
        let deadline = queued + inner.settings.queue_timeout;
        let permit = tokio::time::timeout_at(deadline, inner.slots.acquire()).await;
        let permit = match permit {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(LlmError::Unavailable("the client was closed".into())),
            Err(_) => Err(LlmError::QueueTimeout(inner.settings.queue_timeout)),
        };
        // The process permit first, then a cluster slot, within the one queue timeout.
        let slot = match (&permit, inner.cluster.get()) {
            (Ok(_), Some(cluster)) => Some(
                cluster
                    .acquire(deadline, inner.settings.queue_timeout, &inner.metrics)
                    .await,
            ),
            _ => None,
        };
        inner
            .metrics
            .queue_wait
            .observe(queued.elapsed().as_secs_f64());
        let _permit = permit?;
        let _slot = slot.transpose()?;
        let _in_flight = InFlight::enter(&inner.metrics.in_flight);
        // Admission proper: the breaker may have opened while this call queued. A ticket
        // dropped with this future (the caller gave up) frees a probe's slot.
        let Some(ticket) = inner.breaker.ticket(Instant::now()) else {
            return Err(LlmError::BreakerOpen);
        };
        if ticket.is_probe() {
            self.observe_breaker();
        }
        let outcome = self.converse(req, schema, validate).await;
        let answered = match &outcome {
            Ok(_) => true,
            Err(e) => !e.trips_breaker(),
        };
        ticket.settle(answered, Instant::now());
        self.observe_breaker();
        outcome
    }

    /// Mirrors the breaker into its gauge, `/health` and the log.
    fn observe_breaker(&self) {
        let inner = &*self.inner;
        let state = inner.breaker.state();
        if inner.metrics.breaker_state.set(state.gauge()) != state.gauge() {
            match state {
                BreakerState::Open => tracing::warn!(
                    cooldown = ?inner.settings.breaker_cooldown,
                    "LLM circuit breaker open: calls fail fast until a probe succeeds"
                ),
                BreakerState::HalfOpen => tracing::info!("LLM circuit breaker probing"),
                BreakerState::Closed => tracing::info!("LLM circuit breaker closed"),
            }
        }
        if let Some(h) = &inner.health {
            h.set_llm(self.condition());
        }
    }

    /// The asking, and the one re-ask after an unusable answer, within `LLM_TIMEOUT`.
    async fn converse<T: DeserializeOwned>(
        &self,
        req: &ChatRequest,
        schema: &OutputSchema,
        validate: &impl Fn(&T) -> Result<(), String>,
    ) -> Result<Completion<T>, LlmError> {
        let inner = &*self.inner;
        let started = Instant::now();
        let deadline = started + inner.settings.timeout;
        let mut messages = req.messages.clone();
        let mut usage = Usage::default();
        let mut reasked = false;
        loop {
            let body = match &inner.via_mcp {
                None => request_body(&inner.settings.model, req, &messages, schema),
                Some(ids) => {
                    let id = ids.fetch_add(1, Ordering::Relaxed);
                    tool_call_body(id, req, &messages, schema)
                }
            }
            .map_err(|e| LlmError::Setup(format!("encoding the request: {e}")))?;
            let answer = match self.exchange(Bytes::from(body), deadline).await? {
                // The MCP server asked its model once more already if it had to.
                Some(body) if inner.via_mcp.is_some() => {
                    let (answer, server_reasked) = read_tool_reply(&body)?;
                    reasked |= server_reasked;
                    answer
                }
                Some(body) => read_answer(&body),
                None => Answer {
                    usage: Usage::default(),
                    model: String::new(),
                    content: Err("the answer exceeds 4 MiB"),
                },
            };
            usage += answer.usage;
            inner
                .metrics
                .tokens(answer.usage.prompt_tokens, answer.usage.completion_tokens);
            let (reason, text) = match answer.content {
                Err(why) => (why.to_owned(), None),
                Ok(text) => match interpret::<T>(&text, schema, validate) {
                    Ok(value) => {
                        return Ok(Completion {
                            value,
                            usage,
                            model: answer.model,
                            reasked,
                            latency: started.elapsed(),
                        })
                    }
                    Err(why) => (why, Some(text)),
                },
            };
            if reasked || Instant::now() >= deadline {
                return Err(LlmError::Invalid(reason));
            }
            reasked = true;
            inner.metrics.retry("invalid");
            // The model sees its answer and what was wrong with it.
            if let Some(text) = text {
                messages.push(Message::assistant(text));
            }
            messages.push(correction(&reason));
        }
    }

    /// One request, sent again after a transient failure while attempts and the budget
    /// last. `None`: the answer was too large to read.
    async fn exchange(&self, body: Bytes, deadline: Instant) -> Result<Option<Bytes>, LlmError> {
        let inner = &*self.inner;
        let mut failures = 0;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(LlmError::Timeout(inner.settings.timeout))?;
            let (err, retry_after) = match self.send(body.clone(), left).await {
                Ok(Reply::Body(b)) => return Ok(Some(b)),
                Ok(Reply::Oversized) => return Ok(None),
                Ok(Reply::Status {
                    status,
                    retry_after,
                }) => {
                    let err = match status {
                        429 => LlmError::RateLimited,
                        503 => LlmError::Overloaded,
                        s => LlmError::Http(s),
                    };
                    if !retry::retryable(status) {
                        return Err(err);
                    }
                    (err, retry_after)
                }
                Err(SendError::Timeout) => return Err(LlmError::Timeout(inner.settings.timeout)),
                Err(SendError::Transport(detail)) => (LlmError::Unavailable(detail), None),
            };
            failures += 1;
            let wait = retry::delay(failures, retry_after, retry::jitter());
            // Out of attempts, or the wait would outlast the budget: the real cause now,
            // not a timeout later.
            if failures >= MAX_ATTEMPTS || Instant::now() + wait >= deadline {
                return Err(err);
            }
            inner.metrics.retry(err.kind());
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, body: Bytes, left: Duration) -> Result<Reply, SendError> {
        let started = Instant::now();
        let result = tokio::time::timeout(left, self.request(body)).await;
        self.inner
            .metrics
            .latency
            .observe(started.elapsed().as_secs_f64());
        match result {
            Err(_) => Err(SendError::Timeout),
            Ok(Err(e)) => Err(SendError::Transport(describe(&e))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    async fn request(&self, body: Bytes) -> Result<Reply, reqwest::Error> {
        let inner = &*self.inner;
        let mut response = inner
            .http
            .post(&inner.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry::retry_after(response.headers(), SystemTime::now());
            // Its text is never used: an error body may echo the request.
            let _ = read_limited(&mut response, MAX_ERROR_BODY).await;
            return Ok(Reply::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        Ok(match read_limited(&mut response, MAX_BODY).await? {
            Some(b) => Reply::Body(b),
            None => Reply::Oversized,
        })
    }
}

/// The body, or `None` once it passes `limit` bytes.
async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Option<Bytes>, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if buf.len() + chunk.len() > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(buf)))
}

/// A transport failure without the URL (reqwest's own message names it): what failed and
/// the causes below it.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the connection failed while reading the answer"
    } else {
        "the connection failed"
    };
    format!("{what}{}", causes(e))
}

/// `: cause: its cause…` below a reqwest error.
fn causes(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
