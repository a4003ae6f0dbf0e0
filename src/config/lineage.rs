//! OpenLineage settings (decision 0013). The names are openlineage-python's where it has
//! one (`OPENLINEAGE_URL`, `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY`,
//! `OPENLINEAGE_NAMESPACE`, `OPENLINEAGE_DISABLED`, `OPENLINEAGE__TRANSPORT__TYPE=console`);
//! nothing set means no lineage at all.

use super::{bad, boolean, kafka::topic, parse_duration, ConfigError, Secret};
use std::path::PathBuf;
use std::time::Duration;

/// Where the lineage relay delivers events (the Kafka transport is separate: it goes
/// through the Kafka outbox, see [`LineageConfig::kafka_topic`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageTransport {
    /// `POST {url}/{endpoint}` (Marquez: `{url}/api/v1/lineage`), with
    /// `Authorization: Bearer {api_key}` when a key is set.
    Http {
        url: String,
        endpoint: String,
        api_key: Option<Secret<String>>,
    },
    /// Appends one JSON event per line.
    File(PathBuf),
    /// Writes each event to the log.
    Console,
}

impl LineageTransport {
    /// For logs: never the key.
    pub fn describe(&self) -> String {
        match self {
            Self::Http { url, endpoint, .. } => format!("{url}/{endpoint}"),
            Self::File(p) => format!("file {}", p.display()),
            Self::Console => "console".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageConfig {
    /// The namespace of every job this binary reports (`OPENLINEAGE_NAMESPACE`).
    pub namespace: String,
    /// The relay's destination; `None` when only the Kafka transport is configured.
    pub transport: Option<LineageTransport>,
    /// Also (or only) publish events to this topic through the Kafka outbox.
    pub kafka_topic: Option<String>,
    /// How long a child run of `pipeline run` covers (`OPENLINEAGE_INTERVAL`).
    pub interval: Duration,
}

pub const DEFAULT_NAMESPACE: &str = "agentic-pfm";
pub const DEFAULT_ENDPOINT: &str = "api/v1/lineage";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// `None` when no transport is set or `OPENLINEAGE_DISABLED` is true. Every variable is
/// validated either way, so a typo is found before lineage is switched on.
pub(super) fn lineage(
    get: &impl Fn(&str) -> Option<String>,
    kafka_configured: bool,
) -> Result<Option<LineageConfig>, ConfigError> {
    let disabled = boolean(get, "OPENLINEAGE_DISABLED")?;
    let namespace = get("OPENLINEAGE_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into());
    let namespace_ok = (1..=256).contains(&namespace.len())
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:/=@+".contains(c));
    if !namespace_ok {
        return Err(bad(
            "OPENLINEAGE_NAMESPACE",
            "1 to 256 characters of [a-zA-Z0-9._-:/=@+]",
        ));
    }
    let interval = match get("OPENLINEAGE_INTERVAL") {
        None => DEFAULT_INTERVAL,
        Some(v) => parse_duration(&v)
            .filter(|d| *d >= Duration::from_millis(100))
            .ok_or_else(|| {
                bad(
                    "OPENLINEAGE_INTERVAL",
                    "a duration from 100ms to 1h, such as 60s or 5m",
                )
            })?,
    };
    let mut chosen: Vec<(&'static str, LineageTransport)> = Vec::new();
    if let Some(url) = get("OPENLINEAGE_URL") {
        let url = url.trim().trim_end_matches('/').to_owned();
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(bad(
                "OPENLINEAGE_URL",
                "an http:// or https:// base URL, e.g. http://marquez:5000",
            ));
        }
        let endpoint = get("OPENLINEAGE_ENDPOINT")
            .map(|e| e.trim().trim_start_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        if !endpoint
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        {
            return Err(bad(
                "OPENLINEAGE_ENDPOINT",
                "a URL path such as api/v1/lineage",
            ));
        }
        let api_key = match get("OPENLINEAGE_API_KEY") {
            None => None,
            Some(k) if k.chars().all(|c| c.is_ascii_graphic()) => Some(Secret::new(k)),
            Some(_) => {
                return Err(bad(
                    "OPENLINEAGE_API_KEY",
                    "a token of printable ASCII characters without spaces",
                ))
            }
        };
        chosen.push((
            "OPENLINEAGE_URL",
            LineageTransport::Http {
                url,
                endpoint,
                api_key,
            },
        ));
    }
    if let Some(path) = get("OPENLINEAGE_FILE") {
        let path = PathBuf::from(path.trim());
        let dir_ok = match path.parent() {
            Some(d) if d.as_os_str().is_empty() => true,
            Some(d) => d.is_dir(),
            None => false,
        };
        if !dir_ok || path.is_dir() {
            return Err(bad(
                "OPENLINEAGE_FILE",
                "the path of a file in an existing directory (events are appended as JSON lines)",
            ));
        }
        chosen.push(("OPENLINEAGE_FILE", LineageTransport::File(path)));
    }
    match get("OPENLINEAGE__TRANSPORT__TYPE")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => {}
        Some("console") => chosen.push(("OPENLINEAGE__TRANSPORT__TYPE", LineageTransport::Console)),
        Some(_) => {
            return Err(bad(
                "OPENLINEAGE__TRANSPORT__TYPE",
                "console (HTTP is OPENLINEAGE_URL, a file OPENLINEAGE_FILE, Kafka OPENLINEAGE_KAFKA_TOPIC)",
            ))
        }
    }
    if chosen.len() > 1 {
        return Err(bad(
            chosen[1].0,
            format!(
                "unset while {} is set: one of OPENLINEAGE_URL, OPENLINEAGE_FILE, OPENLINEAGE__TRANSPORT__TYPE=console",
                chosen[0].0
            ),
        ));
    }
    let transport = chosen.pop().map(|(_, t)| t);
    let kafka_topic =
        match get("OPENLINEAGE_KAFKA_TOPIC") {
            None => None,
            Some(_) if !kafka_configured => return Err(bad(
                "OPENLINEAGE_KAFKA_TOPIC",
                "unset unless KAFKA_BOOTSTRAP_SERVERS is set (events go through the Kafka outbox)",
            )),
            Some(_) => Some(topic(get, "OPENLINEAGE_KAFKA_TOPIC", "")?),
        };
    if disabled || (transport.is_none() && kafka_topic.is_none()) {
        return Ok(None);
    }
    Ok(Some(LineageConfig {
        namespace,
        transport,
        kafka_topic,
        interval,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)], kafka: bool) -> Result<Option<LineageConfig>, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        lineage(&|k: &str| m.get(k).cloned(), kafka)
    }

    #[test]
    fn unset_or_disabled_means_off() {
        assert_eq!(parse(&[], false), Ok(None));
        assert_eq!(parse(&[("OPENLINEAGE_NAMESPACE", "prod")], false), Ok(None));
        let off = parse(
            &[
                ("OPENLINEAGE_URL", "http://marquez:5000"),
                ("OPENLINEAGE_DISABLED", "true"),
            ],
            false,
        );
        assert_eq!(off, Ok(None));
    }

    #[test]
    fn http_settings_follow_the_python_client() {
        let c = parse(
            &[
                ("OPENLINEAGE_URL", "https://marquez.example:5000/"),
                ("OPENLINEAGE_API_KEY", "s3cr3t-key"),
                ("OPENLINEAGE_NAMESPACE", "prod-eu"),
            ],
            false,
        )
        .expect("valid")
        .expect("on");
        assert_eq!(c.namespace, "prod-eu");
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        match &c.transport {
            Some(LineageTransport::Http {
                url,
                endpoint,
                api_key,
            }) => {
                assert_eq!(url, "https://marquez.example:5000");
                assert_eq!(endpoint, "api/v1/lineage");
                assert_eq!(
                    api_key.as_ref().map(|k| k.expose().as_str()),
                    Some("s3cr3t-key")
                );
            }
            other => panic!("expected HTTP, got {other:?}"),
        }
        assert!(!format!("{c:?}").contains("s3cr3t-key"));
        assert!(!c
            .transport
            .as_ref()
            .map(|t| t.describe())
            .unwrap_or_default()
            .contains("s3cr3t"));
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let dir = std::env::temp_dir();
        let dir_text = dir.display().to_string();
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Vars<'_>, bool, &str)] = &[
            (
                &[("OPENLINEAGE_URL", "marquez:5000")],
                false,
                "OPENLINEAGE_URL",
            ),
            (
                &[("OPENLINEAGE_DISABLED", "perhaps")],
                false,
                "OPENLINEAGE_DISABLED",
            ),
            (
                &[("OPENLINEAGE_NAMESPACE", "has space")],
                false,
                "OPENLINEAGE_NAMESPACE",
            ),
            (
                &[("OPENLINEAGE_INTERVAL", "often")],
                false,
                "OPENLINEAGE_INTERVAL",
            ),
            (
                &[("OPENLINEAGE_INTERVAL", "1ms")],
                false,
                "OPENLINEAGE_INTERVAL",
            ),
            (
                &[("OPENLINEAGE_FILE", "/definitely/not/here/events.jsonl")],
                false,
                "OPENLINEAGE_FILE",
            ),
            (
                &[("OPENLINEAGE_FILE", &dir_text)],
                false,
                "OPENLINEAGE_FILE",
            ),
            (
                &[("OPENLINEAGE__TRANSPORT__TYPE", "carrier-pigeon")],
                false,
                "OPENLINEAGE__TRANSPORT__TYPE",
            ),
            (
                &[("OPENLINEAGE_KAFKA_TOPIC", "lineage")],
                false,
                "OPENLINEAGE_KAFKA_TOPIC",
            ),
            (
                &[("OPENLINEAGE_KAFKA_TOPIC", "bad topic")],
                true,
                "OPENLINEAGE_KAFKA_TOPIC",
            ),
            (
                &[
                    ("OPENLINEAGE_URL", "http://m:5000"),
                    ("OPENLINEAGE_API_KEY", "two words"),
                ],
                false,
                "OPENLINEAGE_API_KEY",
            ),
            (
                &[
                    ("OPENLINEAGE_URL", "http://m:5000"),
                    ("OPENLINEAGE_ENDPOINT", "api?x=1"),
                ],
                false,
                "OPENLINEAGE_ENDPOINT",
            ),
            (
                &[
                    ("OPENLINEAGE_URL", "http://m:5000"),
                    ("OPENLINEAGE__TRANSPORT__TYPE", "console"),
                ],
                false,
                "OPENLINEAGE__TRANSPORT__TYPE",
            ),
        ];
        for (vars, kafka, var) in cases {
            let err = parse(vars, *kafka).expect_err(var);
            assert_eq!(err.variable, *var, "{err}");
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn file_console_and_kafka_transports() {
        let file = std::env::temp_dir().join("pfm-lineage-events.jsonl");
        let c = parse(
            &[
                ("OPENLINEAGE_FILE", file.to_str().expect("utf-8")),
                ("OPENLINEAGE_INTERVAL", "250ms"),
            ],
            false,
        )
        .expect("valid")
        .expect("on");
        assert_eq!(c.transport, Some(LineageTransport::File(file)));
        assert_eq!(c.interval, Duration::from_millis(250));
        let c = parse(&[("OPENLINEAGE__TRANSPORT__TYPE", "Console")], false)
            .expect("valid")
            .expect("on");
        assert_eq!(c.transport, Some(LineageTransport::Console));
        let c = parse(&[("OPENLINEAGE_KAFKA_TOPIC", "openlineage.events")], true)
            .expect("valid")
            .expect("on");
        assert_eq!(c.transport, None);
        assert_eq!(c.kafka_topic.as_deref(), Some("openlineage.events"));
    }
}
