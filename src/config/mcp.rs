//! The MCP governance server's settings (`pipeline mcp`): the `MCP_*` variables.

use super::{bad, integer_in, ConfigError, Secret};

#[derive(Debug, Clone, PartialEq)]
pub struct McpSettings {
    /// `MCP_PORT`: serve Streamable HTTP on this port (also chosen by `pipeline mcp --http`,
    /// which defaults to 8080).
    pub port: Option<u16>,
    /// `MCP_TOKENS`: the bearer tokens HTTP callers present (comma-separated; a secret).
    pub tokens: Secret<Vec<String>>,
    /// `MCP_ALLOWED_ORIGINS`: browser origins allowed to call (`https://host:port`); a
    /// request with any other `Origin` is refused (403). Empty: no browser origin at all.
    pub allowed_origins: Vec<String>,
    /// `MCP_ALLOWED_HOSTS`: the `Host` values accepted (DNS-rebinding protection); default
    /// loopback names only.
    pub allowed_hosts: Vec<String>,
    /// `MCP_MAX_BODY_BYTES`: largest request body (413 beyond it).
    pub max_body_bytes: usize,
    /// `MCP_RATE_LIMIT`: tool calls per second per token (a token bucket)…
    pub rate_per_sec: f64,
    /// …`MCP_RATE_BURST`: …with this many at once.
    pub rate_burst: f64,
}

/// The port `pipeline mcp --http` listens on without `MCP_PORT`.
pub const DEFAULT_MCP_PORT: u16 = 8080;
/// Tokens shorter than this are refused: a bearer token must not be guessable.
pub const MIN_TOKEN_LEN: usize = 16;

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            port: None,
            tokens: Secret::new(Vec::new()),
            allowed_origins: Vec::new(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            max_body_bytes: 256 * 1024,
            rate_per_sec: 20.0,
            rate_burst: 40.0,
        }
    }
}

impl McpSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let d = Self::default();
        let port = match get("MCP_PORT") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("MCP_PORT", "a TCP port number from 1 to 65535"))?,
            ),
        };
        let tokens = get("MCP_TOKENS").map(list).unwrap_or_default();
        if tokens
            .iter()
            .any(|t| t.len() < MIN_TOKEN_LEN || !t.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(bad(
                "MCP_TOKENS",
                format!("comma-separated tokens of at least {MIN_TOKEN_LEN} printable ASCII characters (e.g. `openssl rand -hex 32`)"),
            ));
        }
        let allowed_origins = get("MCP_ALLOWED_ORIGINS").map(list).unwrap_or_default();
        if allowed_origins
            .iter()
            .any(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            return Err(bad(
                "MCP_ALLOWED_ORIGINS",
                "comma-separated origins such as https://console.example.com:443",
            ));
        }
        let allowed_hosts = match get("MCP_ALLOWED_HOSTS") {
            None => d.allowed_hosts.clone(),
            Some(v) => {
                let hosts = list(v);
                if hosts.is_empty() || hosts.iter().any(|h| h.contains('/') || h.contains(' ')) {
                    return Err(bad(
                        "MCP_ALLOWED_HOSTS",
                        "comma-separated host names or host:port values",
                    ));
                }
                hosts
            }
        };
        let max_body_bytes = integer_in(
            &get,
            "MCP_MAX_BODY_BYTES",
            d.max_body_bytes as u64,
            (1024, 16 * 1024 * 1024),
        )? as usize;
        let positive = |var: &'static str, default: f64| -> Result<f64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n > 0.0 && *n <= 100_000.0)
                    .ok_or_else(|| bad(var, "a positive number up to 100000")),
            }
        };
        let rate_per_sec = positive("MCP_RATE_LIMIT", d.rate_per_sec)?;
        let rate_burst = positive("MCP_RATE_BURST", d.rate_burst)?.max(1.0);
        Ok(Self {
            port,
            tokens: Secret::new(tokens),
            allowed_origins,
            allowed_hosts,
            max_body_bytes,
            rate_per_sec,
            rate_burst,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<McpSettings, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        McpSettings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_lists() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s, McpSettings::default());
        let s = settings(&[
            ("MCP_TOKENS", " aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb ,"),
            ("MCP_ALLOWED_ORIGINS", "https://a.example:443"),
            ("MCP_PORT", "9000"),
        ])
        .expect("valid");
        assert_eq!(s.tokens.expose().len(), 2);
        assert_eq!(s.port, Some(9000));
        assert_eq!(s.allowed_origins, vec!["https://a.example:443".to_owned()]);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("MCP_PORT", "0"),
            ("MCP_PORT", "http"),
            ("MCP_TOKENS", "short"),
            ("MCP_ALLOWED_ORIGINS", "example.com"),
            ("MCP_ALLOWED_HOSTS", ","),
            ("MCP_MAX_BODY_BYTES", "10"),
            ("MCP_RATE_LIMIT", "-1"),
            ("MCP_RATE_BURST", "nan"),
        ] {
            let e = settings(&[(var, value)]).expect_err(var);
            assert_eq!(e.variable, var, "{value}");
        }
    }

    #[test]
    fn tokens_are_never_printed() {
        let s = settings(&[("MCP_TOKENS", "supersecrettoken-123")]).expect("valid");
        assert!(!format!("{s:?}").contains("supersecret"));
    }
}
