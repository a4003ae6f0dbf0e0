//! The lakehouse exporter's schedule: a full range as soon as one is ready, and whatever is
//! waiting at least every [`FLUSH_EVERY`], so files stay large without data waiting long.

use super::Lakehouse;
use crate::store::Store;
use crate::telemetry::health::Health;
use crate::telemetry::metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const TICK: Duration = Duration::from_secs(5);
pub const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// Exports until `stop` flips. Failures are logged and retried on the next tick: what is
/// not exported waits durably in the export ledger.
pub async fn export_periodically<S: Store>(
    store: S,
    lakehouse: Arc<Lakehouse>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_flush = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|v| *v) => return,
        }
        health.set_s3(lakehouse.probe().await);
        let flush = last_flush.elapsed() >= FLUSH_EVERY;
        match lakehouse.export_ready(&store, flush).await {
            Ok(r) => {
                if flush {
                    last_flush = Instant::now();
                }
                if r.rows > 0 {
                    metrics.exported_rows.inc_by(r.rows);
                    tracing::info!(
                        rows = r.rows,
                        objects = r.objects.len(),
                        bytes = r.bytes,
                        "lakehouse export"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "lakehouse export failed; will retry"),
        }
        if let Ok(n) = store.export_backlog().await {
            metrics.export_backlog.set(n);
        }
        if let Ok(oldest) = store.export_oldest_waiting().await {
            let age = oldest.map_or(0.0, |t| {
                (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.export_backlog_age.set(age);
        }
    }
}

/// The last export at shutdown, bounded by the shared deadline: what cannot be exported in
/// time stays pending in the ledger for the next start.
pub async fn flush_before<S: Store>(
    store: &S,
    lakehouse: &Lakehouse,
    deadline: tokio::time::Instant,
) {
    match tokio::time::timeout_at(deadline, lakehouse.export_ready(store, true)).await {
        Ok(Ok(r)) => tracing::info!(
            rows = r.rows,
            objects = r.objects.len(),
            bytes = r.bytes,
            "lakehouse export flushed"
        ),
        Ok(Err(e)) => tracing::warn!(error = %e, "lakehouse export deferred"),
        Err(_) => tracing::warn!(
            error = "flush timed out",
            "lakehouse export deferred: SHUTDOWN_TIMEOUT reached; the ledger keeps the rest"
        ),
    }
}
