//! Streamable HTTP (`pipeline mcp --http`), stateless: every POST is answered on its own,
//! so any replica can take any request without session affinity.
//!
//! Security, in request order: a bearer token from `MCP_TOKENS` (compared in constant
//! time; 401 without a valid one), a token bucket per token (429), then rmcp's own checks:
//! `Host` against `MCP_ALLOWED_HOSTS` (DNS rebinding), `Origin` against
//! `MCP_ALLOWED_ORIGINS` (any browser origin not listed is refused, 403), and the body
//! limit `MCP_MAX_BODY_BYTES` (413). `/healthz` and `/readyz` are open, for the probes, and
//! so is `/metrics` when the server pools LLM calls (`pipeline_llm_*`, no secrets).

use super::server::{Caller, GovernanceServer};
use crate::config::McpSettings;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("MCP_TOKENS is empty: the HTTP server refuses to start without a bearer token")]
    NoTokens,
    #[error("cannot listen on port {port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A token's identity in logs and the audit trail: a digest prefix, never the token.
fn token_id(digest: &[u8; 32]) -> String {
    format!("token:{}", hex::encode(&digest[..6]))
}

/// Compares two 32-byte digests in constant time (no early exit on the first difference).
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Token buckets, one per caller: `rate` calls per second, up to `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call from `key`'s bucket; `Err(seconds)` until the next one is available.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), f64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.rate)
        }
    }
}

struct Guard {
    /// SHA-256 of each accepted token: compared digest to digest, in constant time.
    tokens: Vec<[u8; 32]>,
    limiter: RateLimiter,
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

async fn authorize(State(guard): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| digest(t.trim().as_bytes()));
    let matched = presented.and_then(|p| {
        // Every token is compared, matched or not, so timing says nothing about which.
        let mut found = None;
        for t in &guard.tokens {
            if ct_eq(t, &p) {
                found = Some(*t);
            }
        }
        found
    });
    let Some(token) = matched else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid bearer token is required (Authorization: Bearer <token>)\n",
        )
            .into_response();
    };
    let caller = token_id(&token);
    if let Err(wait) = guard.limiter.take(&caller, Instant::now()) {
        let secs = wait.ceil().max(1.0) as u64;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            "rate limit exceeded for this token (MCP_RATE_LIMIT)\n",
        )
            .into_response();
    }
    req.extensions_mut().insert(Caller(caller));
    next.run(req).await
}

/// The router: `/mcp` (guarded) and the open probes. `ready` answers the readiness probe;
/// `metrics`, when given, is served at `/metrics`.
pub fn router<R, F>(
    server: GovernanceServer,
    settings: &McpSettings,
    cancel: CancellationToken,
    ready: R,
    metrics: Option<Arc<Registry>>,
) -> Result<Router, HttpError>
where
    R: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = bool> + Send + 'static,
{
    let tokens: Vec<[u8; 32]> = settings
        .tokens
        .expose()
        .iter()
        .map(|t| digest(t.as_bytes()))
        .collect();
    if tokens.is_empty() {
        return Err(HttpError::NoTokens);
    }
    let guard = Arc::new(Guard {
        tokens,
        limiter: RateLimiter::new(settings.rate_per_sec, settings.rate_burst),
    });
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_allowed_origins(settings.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(settings.max_body_bytes)
        .with_cancellation_token(cancel);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mcp = Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(guard, authorize));
    let open = match metrics {
        None => Router::new(),
        Some(registry) => Router::new().route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    let mut text = String::new();
                    match prometheus_client::encoding::text::encode(&mut text, &registry) {
                        Ok(()) => (
                            StatusCode::OK,
                            [(
                                header::CONTENT_TYPE,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )],
                            text,
                        )
                            .into_response(),
                        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    }
                }
            }),
        ),
    };
    Ok(open
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready().await {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
                    }
                }
            }),
        )
        .merge(mcp))
}

/// Serves until `shutdown` resolves.
pub async fn serve_http<R, F>(
    server: GovernanceServer,
    settings: &McpSettings,
    port: u16,
    ready: R,
    metrics: Option<Arc<Registry>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError>
where
    R: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = bool> + Send + 'static,
{
    let cancel = CancellationToken::new();
    let app = router(server, settings, cancel.child_token(), ready, metrics)?;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|source| HttpError::Bind { port, source })?;
    tracing::info!(
        port,
        tokens = settings.tokens.expose().len(),
        allowed_hosts = ?settings.allowed_hosts,
        allowed_origins = ?settings.allowed_origins,
        "MCP governance server listening (Streamable HTTP, stateless) on /mcp"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            cancel.cancel();
        })
        .await
        .map_err(HttpError::Serve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let l = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("a", t0).is_ok());
        }
        let wait = l.take("a", t0).expect_err("burst spent");
        assert!((wait - 0.5).abs() < 1e-9, "{wait}");
        // Another caller has its own bucket.
        assert!(l.take("b", t0).is_ok());
        assert!(l.take("a", t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take("a", t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn constant_time_eq_and_token_ids() {
        let a = digest(b"token-aaaaaaaaaaaaaaaa");
        let b = digest(b"token-bbbbbbbbbbbbbbbb");
        assert!(ct_eq(&a, &a));
        assert!(!ct_eq(&a, &b));
        let id = token_id(&a);
        assert!(id.starts_with("token:") && id.len() == 18, "{id}");
        assert!(!id.contains("aaaa"));
    }
}
