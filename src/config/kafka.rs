//! The Kafka clients' settings: read only when `KAFKA_BOOTSTRAP_SERVERS` is set.

use super::{bad, boolean, ConfigError, Secret};
use std::time::Duration;

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

impl KafkaConfig {
    pub(super) fn from_lookup(
        servers: String,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            bootstrap_servers: servers,
            topic: topic(get, "KAFKA_TOPIC", "agentic-transactions")?,
            group_id: get("KAFKA_GROUP_ID").unwrap_or_else(|| "agentic-pipeline".into()),
            consumer_properties: Secret::new(properties(get, "KAFKA_CONSUMER_PROPERTIES")?),
            producer_properties: Secret::new(properties(get, "KAFKA_PRODUCER_PROPERTIES")?),
            publish_enabled: boolean(get, "ENABLE_KAFKA_PUBLISH")?,
            publish_topic: topic(get, "KAFKA_PUBLISH_TOPIC", "agentic-transactions-processed")?,
            alerts_topic: topic(get, "KAFKA_ALERTS_TOPIC", "agentic-alerts")?,
            dlq_topic: topic(get, "KAFKA_DLQ_TOPIC", "agentic-transactions-dlq")?,
            client_properties: Secret::new(client_properties(get)?),
            lag_interval: millis(get, "KAFKA_LAG_INTERVAL_MS", 5_000, 100..=5_000)?,
            batch_linger: millis(get, "BATCH_LINGER_MS", 50, 0..=10_000)?,
        })
    }
}

pub(super) fn topic(
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
