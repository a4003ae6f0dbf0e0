//! Readiness and liveness state, shared by the batch loop and the HTTP server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}

impl Health {
    pub fn new(uses_kafka: bool, uses_opa: bool) -> Self {
        Self {
            database: AtomicBool::new(false),
            kafka: uses_kafka.then(|| AtomicBool::new(false)),
            opa: uses_opa.then(|| AtomicBool::new(false)),
            heartbeat: AtomicU64::new(now_secs()),
        }
    }

    pub fn beat(&self) {
        self.heartbeat.store(now_secs(), Ordering::Relaxed);
    }

    pub fn is_live(&self) -> bool {
        now_secs().saturating_sub(self.heartbeat.load(Ordering::Relaxed)) < LIVENESS_STALE_SECS
    }

    pub fn set_database(&self, up: bool) {
        self.database.store(up, Ordering::Relaxed);
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
