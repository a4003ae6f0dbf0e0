//! Readiness and liveness state, shared by the batch loop and the HTTP server.

use prometheus_client::metrics::gauge::Gauge;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Liveness fails when the loop has not beaten for this long. The loop beats while it
/// waits for a database too, so an outage never restarts pods.
pub const LIVENESS_STALE_SECS: u64 = 120;

pub struct Health {
    pub database: AtomicBool,
    /// `None`: the component is not in use, and its check is not reported.
    pub kafka: Option<AtomicBool>,
    pub opa: Option<AtomicBool>,
    heartbeat: AtomicU64,
    database_gauge: OnceLock<Gauge>,
}

impl Health {
    pub fn new(uses_kafka: bool, uses_opa: bool) -> Self {
        Self {
            database: AtomicBool::new(false),
            kafka: uses_kafka.then(|| AtomicBool::new(false)),
            opa: uses_opa.then(|| AtomicBool::new(false)),
            heartbeat: AtomicU64::new(now_secs()),
            database_gauge: OnceLock::new(),
        }
    }

    pub fn beat(&self) {
        self.heartbeat.store(now_secs(), Ordering::Relaxed);
    }

    pub fn is_live(&self) -> bool {
        now_secs().saturating_sub(self.heartbeat.load(Ordering::Relaxed)) < LIVENESS_STALE_SECS
    }

    /// Mirrors the database check into `pipeline_database_up`.
    pub fn attach_database_gauge(&self, g: Gauge) {
        let _ = self.database_gauge.set(g);
    }

    /// Returns the previous state.
    pub fn set_database(&self, up: bool) -> bool {
        if let Some(g) = self.database_gauge.get() {
            g.set(i64::from(up));
        }
        self.database.swap(up, Ordering::Relaxed)
    }

    /// The contract's `/health` body, and whether every check passes.
    pub fn report(&self) -> (bool, serde_json::Value) {
        let mut checks = serde_json::Map::new();
        let db = self.database.load(Ordering::Relaxed);
        checks.insert("database".into(), db.into());
        let mut ok = db;
        for (name, flag) in [("kafka", &self.kafka), ("opa", &self.opa)] {
            if let Some(f) = flag {
                let v = f.load(Ordering::Relaxed);
                ok &= v;
                checks.insert(name.into(), v.into());
            }
        }
        let status = if ok { "healthy" } else { "degraded" };
        (ok, serde_json::json!({"status": status, "checks": checks}))
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
