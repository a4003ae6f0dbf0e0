//! `/health` (readiness), `/live` (liveness) and `/metrics`.

use super::health::Health;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone)]
pub struct HttpState {
    pub health: Arc<Health>,
    pub registry: Arc<Registry>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/live", get(live))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn health(State(s): State<HttpState>) -> Response {
    let (ok, body) = s.health.report();
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn live(State(s): State<HttpState>) -> Response {
    if s.health.is_live() {
        (StatusCode::OK, Json(serde_json::json!({"status": "alive"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "stalled"})),
        )
            .into_response()
    }
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &s.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Binds `0.0.0.0:port` (port 0 picks a free one) and serves until `shutdown` turns true.
pub async fn serve(
    port: u16,
    state: HttpState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let shutdown = async move {
        let _ = shutdown.wait_for(|v| *v).await;
    };
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    let addr = listener.local_addr()?;
    let app = router(state);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "http server failed");
        }
    });
    Ok((addr, handle))
}
