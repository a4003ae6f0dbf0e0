//! Readiness and liveness state, shared by the batch loop and the HTTP server.

use prometheus_client::metrics::gauge::Gauge;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Liveness fails when the loop has not beaten for this long. The loop beats while it
/// waits for a database too, so an outage never restarts pods.
pub const LIVENESS_STALE_SECS: u64 = 120;

/// The LLM client's condition as `/health` reports it. It never makes the pod unready:
/// without the LLM the agents take their deterministic path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmCondition {
    /// The last call was answered (or none was made yet).
    Ok,
    /// Recent calls failed, or the breaker is probing.
    Degraded,
    /// The circuit breaker is open: calls fail fast until a probe succeeds.
    Open,
}

impl LlmCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Open => "open",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Ok,
            1 => Self::Degraded,
            _ => Self::Open,
        }
    }
}

pub struct Health {
    pub database: AtomicBool,
    /// `None`: the component is not in use, and its check is not reported.
    pub kafka: Option<AtomicBool>,
    pub opa: Option<AtomicBool>,
    /// Reported, but never makes the pod unready: exports wait durably in the ledger.
    pub s3: Option<AtomicBool>,
    /// Reported (an [`LlmCondition`]), never gating: see [`Health::with_llm`].
    llm: Option<AtomicU8>,
    heartbeat: AtomicU64,
    database_gauge: OnceLock<Gauge>,
}

impl Health {
    pub fn new(uses_kafka: bool, uses_opa: bool) -> Self {
        Self {
            database: AtomicBool::new(false),
            kafka: uses_kafka.then(|| AtomicBool::new(false)),
            opa: uses_opa.then(|| AtomicBool::new(false)),
            s3: None,
            llm: None,
            heartbeat: AtomicU64::new(now_secs()),
            database_gauge: OnceLock::new(),
        }
    }

    pub fn with_s3(mut self) -> Self {
        self.s3 = Some(AtomicBool::new(true));
        self
    }

    pub fn set_s3(&self, up: bool) {
        if let Some(f) = &self.s3 {
            f.store(up, Ordering::Relaxed);
        }
    }

    /// Reports the LLM client: `checks.llm` is `true` while it is `ok`, and the top-level
    /// `llm` field says `ok`, `degraded` or `open`; neither changes readiness.
    pub fn with_llm(mut self) -> Self {
        self.llm = Some(AtomicU8::new(LlmCondition::Ok as u8));
        self
    }

    /// Returns the previous condition (`None` when the LLM is not in use).
    pub fn set_llm(&self, condition: LlmCondition) -> Option<LlmCondition> {
        self.llm
            .as_ref()
            .map(|f| LlmCondition::from_u8(f.swap(condition as u8, Ordering::Relaxed)))
    }

    pub fn llm(&self) -> Option<LlmCondition> {
        self.llm
            .as_ref()
            .map(|f| LlmCondition::from_u8(f.load(Ordering::Relaxed)))
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

    /// Returns the previous state (`up` when OPA is not in use).
    pub fn set_opa(&self, up: bool) -> bool {
        match &self.opa {
            Some(f) => f.swap(up, Ordering::Relaxed),
            None => up,
        }
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
        if let Some(f) = &self.s3 {
            checks.insert("s3".into(), f.load(Ordering::Relaxed).into());
        }
        let llm = self.llm();
        if let Some(c) = llm {
            checks.insert("llm".into(), (c == LlmCondition::Ok).into());
        }
        let status = if ok { "healthy" } else { "degraded" };
        let mut body = serde_json::json!({"status": status, "checks": checks});
        if let Some(c) = llm {
            body["llm"] = c.as_str().into();
        }
        (ok, body)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_appear_only_for_components_in_use_and_s3_never_gates_readiness() {
        let h = Health::new(false, false);
        h.set_database(true);
        let (ok, body) = h.report();
        assert!(ok);
        assert_eq!(
            body,
            serde_json::json!({"status": "healthy", "checks": {"database": true}})
        );
        let h = Health::new(true, false).with_s3();
        h.set_database(true);
        h.set_s3(false);
        let (ok, body) = h.report();
        assert!(!ok, "kafka has not joined yet");
        assert_eq!(body["checks"]["s3"], false);
        if let Some(k) = &h.kafka {
            k.store(true, Ordering::Relaxed);
        }
        assert!(h.report().0, "an S3 outage alone keeps the pod ready");
    }

    #[test]
    fn the_llm_is_reported_but_never_gates_readiness() {
        let h = Health::new(false, false);
        h.set_database(true);
        assert_eq!(h.set_llm(LlmCondition::Open), None, "not in use");
        assert!(h.report().1.get("llm").is_none());
        let h = Health::new(false, false).with_llm();
        h.set_database(true);
        let (ok, body) = h.report();
        assert!(ok);
        assert_eq!(
            body,
            serde_json::json!({"status": "healthy", "checks": {"database": true, "llm": true}, "llm": "ok"})
        );
        assert_eq!(h.set_llm(LlmCondition::Open), Some(LlmCondition::Ok));
        let (ok, body) = h.report();
        assert!(ok, "an open LLM breaker keeps the pod ready");
        assert_eq!(body["checks"]["llm"], false);
        assert_eq!(body["llm"], "open");
        h.set_llm(LlmCondition::Degraded);
        assert_eq!(h.report().1["llm"], "degraded");
        h.set_database(false);
        assert!(!h.report().0, "the database still gates");
    }
}
