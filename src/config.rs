//! Configuration, read from the environment once at start-up. A bad value stops start-up
//! with an error that names the variable and the form it expects; secret values are held in
//! [`Secret`] so that no `Debug` or log line can print them.

use base64::Engine as _;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {variable}: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub expected: String,
}

fn bad(variable: &'static str, expected: impl Into<String>) -> ConfigError {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// Embedded default.
    Sqlite { path: PathBuf },
    /// The URL carries the password, so it is a secret as a whole.
    Postgres { url: Secret<String> },
}

impl DatabaseConfig {
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    pub topic: String,
    pub group_id: String,
    pub consumer_properties: Secret<Vec<(String, String)>>,
    pub producer_properties: Secret<Vec<(String, String)>>,
    pub publish_enabled: bool,
    pub publish_topic: String,
    pub alerts_topic: String,
    pub dlq_topic: String,
    /// librdkafka settings from the typed variables (security, SASL, TLS, timeouts, fetch
    /// sizes); `*_PROPERTIES` are applied after them and win.
    pub client_properties: Secret<Vec<(String, String)>>,
    /// How often `kafka_consumer_lag` is refreshed (at most 5 s).
    pub lag_interval: Duration,
    /// How long a batch waits for more messages once it has one.
    pub batch_linger: Duration,
}

/// The typed Kafka client variables and the librdkafka property each sets.
const KAFKA_CLIENT_VARS: &[(&str, &str, ClientValue)] = &[
    (
        "KAFKA_SECURITY_PROTOCOL",
        "security.protocol",
        ClientValue::OneOf(&["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]),
    ),
    (
        "KAFKA_SASL_MECHANISM",
        "sasl.mechanism",
        ClientValue::OneOf(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]),
    ),
    ("KAFKA_SASL_USERNAME", "sasl.username", ClientValue::Text),
    ("KAFKA_SASL_PASSWORD", "sasl.password", ClientValue::Text),
    (
        "KAFKA_SSL_CA_LOCATION",
        "ssl.ca.location",
        ClientValue::Text,
    ),
    (
        "KAFKA_SSL_CERTIFICATE_LOCATION",
        "ssl.certificate.location",
        ClientValue::Text,
    ),
    (
        "KAFKA_SSL_KEY_LOCATION",
        "ssl.key.location",
        ClientValue::Text,
    ),
    (
        "KAFKA_SSL_KEY_PASSWORD",
        "ssl.key.password",
        ClientValue::Text,
    ),
    (
        "KAFKA_SESSION_TIMEOUT_MS",
        "session.timeout.ms",
        ClientValue::Millis(1_000, 3_600_000),
    ),
    (
        "KAFKA_HEARTBEAT_INTERVAL_MS",
        "heartbeat.interval.ms",
        ClientValue::Millis(100, 3_600_000),
    ),
    (
        "KAFKA_MAX_POLL_INTERVAL_MS",
        "max.poll.interval.ms",
        ClientValue::Millis(1_000, 86_400_000),
    ),
    (
        "KAFKA_FETCH_MAX_BYTES",
        "fetch.max.bytes",
        ClientValue::Bytes(1_024, 2_147_483_135),
    ),
    (
        "KAFKA_MAX_PARTITION_FETCH_BYTES",
        "max.partition.fetch.bytes",
        ClientValue::Bytes(1_024, 1_000_000_000),
    ),
    (
        "KAFKA_AUTO_OFFSET_RESET",
        "auto.offset.reset",
        ClientValue::OneOf(&["earliest", "latest"]),
    ),
];

#[derive(Clone, Copy)]
enum ClientValue {
    Text,
    OneOf(&'static [&'static str]),
    Millis(u64, u64),
    Bytes(u64, u64),
}

fn client_properties(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for &(var, property, kind) in KAFKA_CLIENT_VARS {
        let Some(raw) = get(var) else { continue };
        let v = raw.trim();
        let value = match kind {
            ClientValue::Text => v.to_owned(),
            ClientValue::OneOf(allowed) => allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(v))
                .map(|a| (*a).to_owned())
                .ok_or_else(|| bad(var, format!("one of {}", allowed.join(", "))))?,
            ClientValue::Millis(lo, hi) | ClientValue::Bytes(lo, hi) => {
                let unit = if matches!(kind, ClientValue::Millis(..)) {
                    "milliseconds"
                } else {
                    "bytes"
                };
                v.parse::<u64>()
                    .ok()
                    .filter(|n| (lo..=hi).contains(n))
                    .ok_or_else(|| {
                        bad(
                            var,
                            format!("an integer number of {unit} from {lo} to {hi}"),
                        )
                    })?
                    .to_string()
            }
        };
        out.push((property.to_owned(), value));
    }
    Ok(out)
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    match get(var) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Duration::from_millis)
            .ok_or_else(|| {
                bad(
                    var,
                    format!(
                        "an integer number of milliseconds from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
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
    pub policy_dir: Option<PathBuf>,
    pub encryption_key: Option<Secret<[u8; 32]>>,
    /// Earlier KEKs, still accepted for unwrapping data keys during a rotation.
    pub previous_encryption_keys: Secret<Vec<[u8; 32]>>,
    pub log_level: LogLevel,
    pub http_port: u16,
    pub shutdown_timeout: Duration,
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
        let database = database(&get, &data_dir)?;
        let kafka = match get("KAFKA_BOOTSTRAP_SERVERS") {
            None => None,
            Some(servers) => Some(KafkaConfig {
                bootstrap_servers: servers,
                topic: topic(&get, "KAFKA_TOPIC", "agentic-transactions")?,
                group_id: get("KAFKA_GROUP_ID").unwrap_or_else(|| "agentic-pipeline".into()),
                consumer_properties: Secret::new(properties(&get, "KAFKA_CONSUMER_PROPERTIES")?),
                producer_properties: Secret::new(properties(&get, "KAFKA_PRODUCER_PROPERTIES")?),
                publish_enabled: boolean(&get, "ENABLE_KAFKA_PUBLISH")?,
                publish_topic: topic(
                    &get,
                    "KAFKA_PUBLISH_TOPIC",
                    "agentic-transactions-processed",
                )?,
                alerts_topic: topic(&get, "KAFKA_ALERTS_TOPIC", "agentic-alerts")?,
                dlq_topic: topic(&get, "KAFKA_DLQ_TOPIC", "agentic-transactions-dlq")?,
                client_properties: Secret::new(client_properties(&get)?),
                lag_interval: millis(&get, "KAFKA_LAG_INTERVAL_MS", 5_000, 100..=5_000)?,
                batch_linger: millis(&get, "BATCH_LINGER_MS", 50, 0..=10_000)?,
            }),
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
        let batch_size = match get("BATCH_SIZE") {
            None => 100,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_BATCH_SIZE).contains(n))
                .ok_or_else(|| {
                    bad(
                        "BATCH_SIZE",
                        format!("an integer from 1 to {MAX_BATCH_SIZE}"),
                    )
                })?,
        };
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
            policy_dir,
            encryption_key,
            previous_encryption_keys,
            log_level,
            http_port,
            shutdown_timeout,
        })
    }
}

/// libpq's `sslmode` values, as `DB_SSLMODE` accepts them.
const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

fn database(
    get: &impl Fn(&str) -> Option<String>,
    data_dir: &std::path::Path,
) -> Result<DatabaseConfig, ConfigError> {
    if let Some(url) = get("DATABASE_URL") {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseConfig::Postgres {
                url: Secret::new(url),
            });
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if !path.is_empty() {
                return Ok(DatabaseConfig::Sqlite {
                    path: PathBuf::from(path),
                });
            }
        }
        return Err(bad(
            "DATABASE_URL",
            "postgres://user:password@host:port/dbname or sqlite://PATH",
        ));
    }
    if let Some(host) = get("DB_HOST") {
        let port = match get("DB_PORT") {
            None => 5432,
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| bad("DB_PORT", "a TCP port number"))?,
        };
        let name =
            get("DB_NAME").ok_or_else(|| bad("DB_NAME", "a database name (DB_HOST is set)"))?;
        let user = get("DB_USER").ok_or_else(|| bad("DB_USER", "a user name (DB_HOST is set)"))?;
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let auth = match get("DB_PASSWORD") {
            Some(pw) => format!("{}:{}", enc(&user), enc(&pw)),
            None => enc(&user),
        };
        // The DB_* path is what the manifests use against RDS: verify the server by default
        // (libpq's own default, `prefer`, accepts any certificate and even plaintext).
        let sslmode = match get("DB_SSLMODE") {
            None => "verify-full".to_owned(),
            Some(m) => {
                let m = m.trim().to_ascii_lowercase();
                if !SSL_MODES.contains(&m.as_str()) {
                    return Err(bad("DB_SSLMODE", SSL_MODES.join(", ")));
                }
                m
            }
        };
        let mut url = format!(
            "postgres://{auth}@{host}:{port}/{}?sslmode={sslmode}",
            enc(&name)
        );
        if let Some(ca) = get("DB_SSLROOTCERT") {
            // Checked here so that a missing bundle is a configuration error naming the
            // variable, not a TLS failure on every connection attempt.
            if !std::path::Path::new(&ca).is_file() {
                return Err(bad("DB_SSLROOTCERT", "the path of a PEM CA bundle file"));
            }
            url.push_str("&sslrootcert=");
            url.push_str(&enc(&ca));
        }
        return Ok(DatabaseConfig::Postgres {
            url: Secret::new(url),
        });
    }
    Ok(DatabaseConfig::Sqlite {
        path: data_dir.join("pipeline.db"),
    })
}

fn boolean(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(_) => Err(bad(var, "true or false")),
    }
}

fn topic(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let t = get(var).unwrap_or_else(|| default.to_owned());
    let ok = t.len() <= 249
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(t)
    } else {
        Err(bad(
            var,
            "a Kafka topic name ([a-zA-Z0-9._-], at most 249 characters)",
        ))
    }
}

fn properties(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(raw) = get(var) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(bad(
                var,
                "comma-separated key=value pairs, e.g. security.protocol=SSL",
            )),
        })
        .collect()
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
        assert!(c.kafka.is_none() && !c.lakehouse.enabled && c.encryption_key.is_none());
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
