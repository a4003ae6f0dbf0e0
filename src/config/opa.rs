//! The remote OPA client's settings (`OPA_URL` and the `OPA_*` variables that tune it).

use super::{bad, integer_in, positive_duration, ConfigError};
use std::time::Duration;

/// What the pipeline does with a record OPA could not decide (timeout, connection error,
/// 5xx, open breaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// Deny with reason `policy_unavailable`: the record is quarantined (the series' rule).
    Deny,
    /// Treat OPA like the database: commit nothing, readiness 503, retry until it returns.
    Pause,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaSettings {
    /// Per-request timeout (`OPA_TIMEOUT`).
    pub timeout: Duration,
    /// Requests in flight at once within one batch (`OPA_MAX_CONCURRENCY`).
    pub max_concurrency: usize,
    /// Overall deadline for one batch's decisions (`OPA_BATCH_TIMEOUT`).
    pub batch_timeout: Duration,
    pub failure_mode: FailureMode,
    /// Consecutive failures that open the circuit breaker (`OPA_BREAKER_FAILURES`).
    pub breaker_failures: u32,
    /// How long an open breaker stays open before one probe (`OPA_BREAKER_COOLDOWN`).
    pub breaker_cooldown: Duration,
}

impl Default for OpaSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(200),
            max_concurrency: 16,
            batch_timeout: Duration::from_secs(5),
            failure_mode: FailureMode::Deny,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(5),
        }
    }
}

pub(super) fn opa_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<OpaSettings, ConfigError> {
    let d = OpaSettings::default();
    let failure_mode = match get("OPA_FAILURE_MODE")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("deny") => FailureMode::Deny,
        Some("pause") => FailureMode::Pause,
        Some(_) => return Err(bad("OPA_FAILURE_MODE", "deny or pause")),
    };
    Ok(OpaSettings {
        timeout: positive_duration(get, "OPA_TIMEOUT", d.timeout)?,
        max_concurrency: integer_in(
            get,
            "OPA_MAX_CONCURRENCY",
            d.max_concurrency as u64,
            (1, 1024),
        )? as usize,
        batch_timeout: positive_duration(get, "OPA_BATCH_TIMEOUT", d.batch_timeout)?,
        failure_mode,
        breaker_failures: integer_in(
            get,
            "OPA_BREAKER_FAILURES",
            u64::from(d.breaker_failures),
            (1, 10_000),
        )? as u32,
        breaker_cooldown: positive_duration(get, "OPA_BREAKER_COOLDOWN", d.breaker_cooldown)?,
    })
}
