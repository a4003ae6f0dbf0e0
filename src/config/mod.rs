//! Configuration, read from the environment once at start-up. A bad value stops start-up
//! with an error that names the variable and the form it expects; secret values are held in
//! [`Secret`] so that no `Debug` or log line can print them.

use base64::Engine as _;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

mod database;
mod kafka;
mod lineage;
mod llm;
mod mcp;
mod opa;
mod risk;

pub use database::DatabaseConfig;
pub use kafka::KafkaConfig;
pub use lineage::{LineageConfig, LineageTransport};
pub use llm::{ClusterLimit, LlmRoute, LlmSettings, DEFAULT_SLOT_LEASE, MAX_CLUSTER_CONCURRENCY};
pub use mcp::{McpSettings, DEFAULT_MCP_PORT};
pub use opa::{FailureMode, OpaSettings};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {variable}: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub expected: String,
}

pub(crate) fn bad(variable: &'static str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        expected: expected.into(),
    }
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(v: T) -> Self {
        Self(v)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[derive(Debug, Clone)]
pub struct LakehouseConfig {
    pub enabled: bool,
    /// `None`: the local folder `./data/lakehouse`.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub access_key: Option<Secret<String>>,
    pub secret_key: Option<Secret<String>>,
    pub local_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_filter(self) -> tracing::Level {
        match self {
            Self::Debug => tracing::Level::DEBUG,
            Self::Info => tracing::Level::INFO,
            Self::Warn => tracing::Level::WARN,
            Self::Error => tracing::Level::ERROR,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub data_dir: PathBuf,
    pub kafka: Option<KafkaConfig>,
    pub lakehouse: LakehouseConfig,
    pub batch_size: usize,
    pub opa_policy_path: String,
    pub opa_url: Option<String>,
    /// Tuning of the remote OPA client; used only when `opa_url` is set.
    pub opa: OpaSettings,
    /// The LLM client's settings; `None` (no `LLM_URL`): agents stay deterministic.
    pub llm: Option<LlmSettings>,
    pub policy_dir: Option<PathBuf>,
    pub encryption_key: Option<Secret<[u8; 32]>>,
    /// Earlier KEKs, still accepted for unwrapping data keys during a rotation.
    pub previous_encryption_keys: Secret<Vec<[u8; 32]>>,
    pub log_level: LogLevel,
    pub http_port: u16,
    pub shutdown_timeout: Duration,
    /// OpenLineage run events (decision 0013); `None`: off.
    pub lineage: Option<LineageConfig>,
    /// The detectors' parameters (`RISK_CONFIG`; the defaults when unset).
    pub risk: pfm_risk::RiskConfig,
}

pub const MAX_BATCH_SIZE: usize = 100_000;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// For the commands that never encrypt or decrypt (`migrate`, `healthcheck`):
    /// `ENCRYPTION_KEY` may be absent, so the pre-deploy Job need not receive the key
    /// (least privilege). A key that is set is still validated.
    pub fn from_env_key_optional() -> Result<Self, ConfigError> {
        Self::from_lookup_with(|k| std::env::var(k).ok(), false)
    }

    /// `lookup` returns the raw value of a variable; empty strings count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_with(lookup, true)
    }

    fn from_lookup_with(
        lookup: impl Fn(&str) -> Option<String>,
        key_required: bool,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database = database::database(&get, &data_dir)?;
        let kafka = match get("KAFKA_BOOTSTRAP_SERVERS") {
            None => None,
            Some(servers) => Some(KafkaConfig::from_lookup(servers, &get)?),
        };
        let lakehouse = LakehouseConfig {
            enabled: boolean(&get, "ENABLE_S3_LAKEHOUSE_EXPORT")?,
            endpoint: match get("S3_ENDPOINT") {
                None => None,
                Some(e) if e.starts_with("http://") || e.starts_with("https://") => Some(e),
                Some(_) => return Err(bad("S3_ENDPOINT", "an http:// or https:// URL")),
            },
            bucket: get("S3_BUCKET").unwrap_or_else(|| "agentic-lakehouse".into()),
            access_key: get("MINIO_ROOT_USER").map(Secret::new),
            secret_key: get("MINIO_ROOT_PASSWORD").map(Secret::new),
            local_dir: data_dir.join("lakehouse"),
        };
        let batch_size = integer_in(&get, "BATCH_SIZE", 100, (1, MAX_BATCH_SIZE as u64))? as usize;
        let opa_policy_path = get("OPA_POLICY_PATH").unwrap_or_else(|| "agentic/allow".into());
        let valid_path = !opa_policy_path.is_empty()
            && opa_policy_path
                .split('/')
                .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid_path {
            return Err(bad(
                "OPA_POLICY_PATH",
                "slash-separated rule path such as agentic/allow",
            ));
        }
        let opa_url = match get("OPA_URL") {
            None => None,
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_owned())
            }
            Some(_) => return Err(bad("OPA_URL", "an http:// or https:// URL")),
        };
        let opa = opa::opa_settings(&get)?;
        let lineage = lineage::lineage(&get, kafka.is_some())?;
        let llm = llm::llm_settings(&get)?;
        let risk = risk::risk_config(&get)?;
        let policy_dir = get("POLICY_DIR").map(PathBuf::from);
        if let Some(dir) = &policy_dir {
            if !dir.is_dir() {
                return Err(bad(
                    "POLICY_DIR",
                    "an existing directory of .rego and data files",
                ));
            }
        }
        let encryption_key = match lookup("ENCRYPTION_KEY").filter(|v| !v.trim().is_empty()) {
            None if database.is_embedded() || !key_required => None,
            None => {
                return Err(bad(
                    "ENCRYPTION_KEY",
                    "a 32-byte key in base64 (required outside embedded mode)",
                ))
            }
            Some(v) => Some(Secret::new(parse_key("ENCRYPTION_KEY", &v)?)),
        };
        let previous_encryption_keys = Secret::new(
            get("ENCRYPTION_KEY_PREVIOUS")
                .map(|v| {
                    v.split(',')
                        .filter(|k| !k.trim().is_empty())
                        .map(|k| parse_key("ENCRYPTION_KEY_PREVIOUS", k))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
        );
        let log_level = match get("LOG_LEVEL")
            .map(|v| v.trim().to_ascii_uppercase())
            .as_deref()
        {
            None | Some("INFO") => LogLevel::Info,
            Some("DEBUG") => LogLevel::Debug,
            Some("WARN") | Some("WARNING") => LogLevel::Warn,
            Some("ERROR") => LogLevel::Error,
            Some(_) => return Err(bad("LOG_LEVEL", "one of DEBUG, INFO, WARN, ERROR")),
        };
        let http_port = match get("HTTP_PORT") {
            None => 8000,
            Some(v) => v
                .trim()
                .parse::<u16>()
                .map_err(|_| bad("HTTP_PORT", "a TCP port number from 0 to 65535"))?,
        };
        let shutdown_timeout = match get("SHUTDOWN_TIMEOUT") {
            None => Duration::from_secs(20),
            Some(v) => parse_duration(&v)
                .ok_or_else(|| bad("SHUTDOWN_TIMEOUT", "a duration such as 20s, 1500ms or 1m"))?,
        };
        Ok(Self {
            database,
            data_dir,
            kafka,
            lakehouse,
            batch_size,
            opa_policy_path,
            opa_url,
            opa,
            llm,
            policy_dir,
            encryption_key,
            previous_encryption_keys,
            log_level,
            http_port,
            shutdown_timeout,
            lineage,
            risk,
        })
    }
}

/// An integer setting in `min..=max`, or `default` when unset; anything else names the
/// variable and the range.
pub(crate) fn integer_in(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    (min, max): (u64, u64),
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| bad(var, format!("an integer from {min} to {max}"))),
    }
}

/// A duration setting above zero, or `default` when unset.
pub(crate) fn positive_duration(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => parse_duration(&v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad(var, "a positive duration such as 200ms, 2s or 1m")),
    }
}

pub(crate) fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(_) => Err(bad(var, "true or false")),
    }
}

fn parse_key(var: &'static str, v: &str) -> Result<[u8; 32], ConfigError> {
    let expected = if var == "ENCRYPTION_KEY" {
        "a 32-byte key in base64 (e.g. the output of `openssl rand -base64 32`)"
    } else {
        "comma-separated 32-byte keys in base64"
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| bad(var, expected))?;
    bytes.try_into().map_err(|_| bad(var, expected))
}

/// Accepts `20s`, `1500ms`, `1m`, or a bare number of seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (num, unit) = match v.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    (secs.is_finite() && (0.0..=3600.0).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let c = cfg(&[]).expect("defaults");
        assert!(c.database.is_embedded());
        assert_eq!(c.batch_size, 100);
        assert_eq!(c.http_port, 8000);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(c.opa_policy_path, "agentic/allow");
        assert_eq!(c.opa, OpaSettings::default());
        assert_eq!(c.opa.timeout, Duration::from_millis(200));
        assert_eq!(c.opa.failure_mode, FailureMode::Deny);
        let c = cfg(&[
            ("OPA_URL", "http://localhost:8181/"),
            ("OPA_TIMEOUT", "2s"),
            ("OPA_MAX_CONCURRENCY", "4"),
            ("OPA_FAILURE_MODE", "Pause"),
        ])
        .expect("opa settings");
        assert_eq!(c.opa_url.as_deref(), Some("http://localhost:8181"));
        assert_eq!(c.opa.timeout, Duration::from_secs(2));
        assert_eq!(c.opa.max_concurrency, 4);
        assert_eq!(c.opa.failure_mode, FailureMode::Pause);
        assert!(c.kafka.is_none() && !c.lakehouse.enabled && c.encryption_key.is_none());
        assert!(c.llm.is_none(), "no LLM_URL: no client");
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let cases = [
            ("BATCH_SIZE", "0"),
            ("BATCH_SIZE", "ten"),
            ("HTTP_PORT", "70000"),
            ("LOG_LEVEL", "chatty"),
            ("SHUTDOWN_TIMEOUT", "soon"),
            ("ENABLE_S3_LAKEHOUSE_EXPORT", "maybe"),
            ("DATABASE_URL", "mysql://x"),
            ("ENCRYPTION_KEY", "c2hvcnQ="),
            ("ENCRYPTION_KEY_PREVIOUS", "c2hvcnQ="),
            ("OPA_POLICY_PATH", "data.agentic.allow"),
            ("OPA_URL", "localhost:8181"),
            ("OPA_TIMEOUT", "fast"),
            ("OPA_TIMEOUT", "0ms"),
            ("OPA_MAX_CONCURRENCY", "0"),
            ("OPA_BATCH_TIMEOUT", "-2s"),
            ("OPA_FAILURE_MODE", "allow"),
            ("OPA_BREAKER_FAILURES", "many"),
            ("OPA_BREAKER_COOLDOWN", "later"),
            ("S3_ENDPOINT", "minio:9000"),
            ("POLICY_DIR", "/definitely/not/here"),
        ];
        for (var, val) in cases {
            let err = cfg(&[(var, val), ("ENCRYPTION_KEY_UNUSED", key)]).expect_err(var);
            assert_eq!(err.variable, var);
            assert!(err.to_string().contains(var));
        }
        let err = cfg(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_TOPIC", "bad topic"),
        ])
        .expect_err("topic");
        assert_eq!(err.variable, "KAFKA_TOPIC");
        let err = cfg(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_CONSUMER_PROPERTIES", "x"),
        ])
        .expect_err("props");
        assert_eq!(err.variable, "KAFKA_CONSUMER_PROPERTIES");
    }

    #[test]
    fn kafka_client_variables_map_to_librdkafka_properties() {
        let base = [("KAFKA_BOOTSTRAP_SERVERS", "b:9092")];
        for (var, val) in [
            ("KAFKA_SECURITY_PROTOCOL", "tls"),
            ("KAFKA_SASL_MECHANISM", "GSSAPI"),
            ("KAFKA_SESSION_TIMEOUT_MS", "10s"),
            ("KAFKA_MAX_POLL_INTERVAL_MS", "5"),
            ("KAFKA_FETCH_MAX_BYTES", "-1"),
            ("KAFKA_LAG_INTERVAL_MS", "60000"),
            ("BATCH_LINGER_MS", "soon"),
        ] {
            let err = cfg(&[base[0], (var, val)]).expect_err(var);
            assert_eq!(err.variable, var, "{err}");
        }
        let c = cfg(&[
            base[0],
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("KAFKA_SASL_PASSWORD", "pa55word-xyz"),
            ("KAFKA_SESSION_TIMEOUT_MS", "6000"),
        ])
        .expect("valid");
        let k = c.kafka.expect("kafka");
        let props = k.client_properties.expose();
        assert!(props.contains(&("security.protocol".into(), "sasl_ssl".into())));
        assert!(props.contains(&("sasl.mechanism".into(), "SCRAM-SHA-512".into())));
        assert!(props.contains(&("session.timeout.ms".into(), "6000".into())));
        assert_eq!(k.lag_interval, Duration::from_secs(5));
        assert!(!format!("{k:?}").contains("pa55word-xyz"));
    }

    #[test]
    fn postgres_requires_a_key_and_never_prints_secrets() {
        let url = "postgres://u:hunter2@db:5432/agentic_pfm";
        let err = cfg(&[("DATABASE_URL", url)]).expect_err("key required");
        assert_eq!(err.variable, "ENCRYPTION_KEY");
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let c = cfg(&[("DATABASE_URL", url), ("ENCRYPTION_KEY", key)]).expect("ok");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(key));
        // migrate/healthcheck: the key may be absent, but a bad one is still refused.
        let lookup = |k: &str| (k == "DATABASE_URL").then(|| url.to_owned());
        let c = Config::from_lookup_with(lookup, false).expect("no key needed");
        assert!(c.encryption_key.is_none());
        let bad_key = |k: &str| match k {
            "DATABASE_URL" => Some(url.to_owned()),
            "ENCRYPTION_KEY" => Some("c2hvcnQ=".to_owned()),
            _ => None,
        };
        let err = Config::from_lookup_with(bad_key, false).expect_err("bad key");
        assert_eq!(err.variable, "ENCRYPTION_KEY");
    }

    #[test]
    fn db_parts_build_an_encoded_url() {
        let c = cfg(&[
            ("DB_HOST", "db"),
            ("DB_NAME", "agentic_pfm"),
            ("DB_USER", "pipeline_user"),
            ("DB_PASSWORD", "p@ss:w/rd"),
            (
                "ENCRYPTION_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
        ])
        .expect("ok");
        match c.database {
            DatabaseConfig::Postgres { url } => assert_eq!(
                url.expose(),
                "postgres://pipeline_user:p%40ss%3Aw%2Frd@db:5432/agentic_pfm?sslmode=verify-full"
            ),
            other => panic!("expected postgres, got {other:?}"),
        }
    }

    #[test]
    fn db_parts_carry_the_tls_settings() {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let base = [
            ("DB_HOST", "db"),
            ("DB_NAME", "n"),
            ("DB_USER", "u"),
            ("ENCRYPTION_KEY", key),
        ];
        let url = |extra: &[(&str, &str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            match cfg(&all).map(|c| c.database) {
                Ok(DatabaseConfig::Postgres { url }) => Ok(url.expose().clone()),
                Ok(other) => panic!("expected postgres, got {other:?}"),
                Err(e) => Err(e),
            }
        };
        assert!(url(&[("DB_SSLMODE", "Require")])
            .expect("ok")
            .ends_with("?sslmode=require"));
        let err = url(&[("DB_SSLMODE", "verify")]).expect_err("bad mode");
        assert_eq!(err.variable, "DB_SSLMODE");
        assert!(err.to_string().contains("verify-full"), "{err}");
        let err = url(&[("DB_SSLROOTCERT", "/definitely/not/here.pem")]).expect_err("no file");
        assert_eq!(err.variable, "DB_SSLROOTCERT");
        let dir = std::env::temp_dir();
        let ca = dir.join(format!("pfm-config-ca-{}.pem", std::process::id()));
        std::fs::write(&ca, "not checked here").expect("write");
        let got = url(&[("DB_SSLROOTCERT", ca.to_str().expect("utf-8"))]).expect("ok");
        let _ = std::fs::remove_file(&ca);
        assert!(
            got.contains("?sslmode=verify-full&sslrootcert=%2F"),
            "path is percent-encoded after the mode: {got}"
        );
    }

    #[test]
    fn durations_and_properties_parse() {
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("-1s"), None);
        let c = cfg(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            (
                "KAFKA_CONSUMER_PROPERTIES",
                "security.protocol=SASL_SSL, sasl.password=a=b",
            ),
        ])
        .expect("ok");
        let k = c.kafka.expect("kafka");
        assert_eq!(
            k.consumer_properties.expose(),
            &vec![
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.password".to_owned(), "a=b".to_owned())
            ]
        );
    }
}
