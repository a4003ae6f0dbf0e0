//! The LLM client's settings: `LLM_URL` and the `LLM_*` variables that tune it. They are
//! read (and validated) only when `LLM_URL` is set or `LLM_VIA_MCP=true`; without either no
//! client exists and the agents take their deterministic path.

use super::mcp::MIN_TOKEN_LEN;
use super::{bad, boolean, integer_in, positive_duration, ConfigError, Secret};
use std::time::Duration;

/// The most slots `LLM_CLUSTER_CONCURRENCY` may ask for.
pub const MAX_CLUSTER_CONCURRENCY: u64 = 1024;

/// The cluster-wide limit on LLM calls in flight, enforced through the database with
/// leased slots (decision 0015).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterLimit {
    /// Calls in flight at once across every process on the database
    /// (`LLM_CLUSTER_CONCURRENCY`).
    pub limit: u32,
    /// How long a slot stays taken without renewal (`LLM_SLOT_LEASE`): a killed holder's
    /// slot is free again at most this long after its last renewal. Calls renew every
    /// third of it, so a call may outlive it.
    pub lease: Duration,
}

/// Where the client sends its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmRoute {
    /// Straight to the OpenAI-compatible server at `LLM_URL`.
    Direct,
    /// To the MCP server's pooled `llm_complete` tool (`LLM_VIA_MCP=true`): the pool
    /// (process and cluster limits, breaker) lives in that server.
    Mcp {
        /// The Streamable HTTP endpoint, e.g. `http://pipeline-mcp:8080/mcp` (`LLM_MCP_URL`).
        url: String,
        /// A bearer token of the server's `MCP_TOKENS` (`LLM_MCP_TOKEN`).
        token: Secret<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmSettings {
    /// The OpenAI-compatible server's base URL, without a trailing slash or `/v1`
    /// (`LLM_URL`): requests go to `{url}/v1/chat/completions`.
    pub url: String,
    /// The model every request names (`LLM_MODEL`).
    pub model: String,
    /// Sent as `Authorization: Bearer …` (`LLM_API_KEY`); `None` for a local server.
    pub api_key: Option<Secret<String>>,
    /// The budget of one call once it holds a slot: every attempt and backoff
    /// (`LLM_TIMEOUT`).
    pub timeout: Duration,
    /// Calls in flight at once in this process (`LLM_MAX_CONCURRENCY`).
    pub max_concurrency: usize,
    /// How long a call waits for a slot before giving up (`LLM_QUEUE_TIMEOUT`).
    pub queue_timeout: Duration,
    /// Consecutive failed calls that open the circuit breaker (`LLM_BREAKER_FAILURES`).
    pub breaker_failures: u32,
    /// How long an open breaker stays open before one probe (`LLM_BREAKER_COOLDOWN`).
    pub breaker_cooldown: Duration,
    /// `None` (no `LLM_CLUSTER_CONCURRENCY`): only the per-process limit applies.
    pub cluster: Option<ClusterLimit>,
    pub route: LlmRoute,
}

impl LlmSettings {
    /// The defaults for everything but the endpoint and the model.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            max_concurrency: 4,
            queue_timeout: Duration::from_secs(10),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
            cluster: None,
            route: LlmRoute::Direct,
        }
    }
}

/// `LLM_SLOT_LEASE`'s default: long enough that a renewal every third of it survives a
/// slow database round trip, short enough that a dead worker's slot is back soon.
pub const DEFAULT_SLOT_LEASE: Duration = Duration::from_secs(15);

const URL_FORM: &str =
    "an http:// or https:// base URL without /v1, credentials or query, such as http://localhost:11434";

fn base_url(v: &str) -> Result<String, ConfigError> {
    let v = v.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .ok_or_else(|| bad("LLM_URL", URL_FORM))?;
    if v.ends_with("/v1") || !well_formed(v, rest) {
        return Err(bad("LLM_URL", URL_FORM));
    }
    Ok(v.to_owned())
}

/// An http(s) URL without credentials (they would reach logs and errors), query, fragment,
/// spaces or control characters.
fn well_formed(v: &str, rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty()
        && !authority.contains('@')
        && !v.contains(['?', '#'])
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

const MCP_URL_FORM: &str =
    "the MCP server's Streamable HTTP endpoint, such as http://pipeline-mcp:8080/mcp, without credentials or query (required when LLM_VIA_MCP=true)";

/// `LLM_VIA_MCP=true`: the MCP endpoint and its bearer token.
fn mcp_route(get: &impl Fn(&str) -> Option<String>) -> Result<LlmRoute, ConfigError> {
    let url = get("LLM_MCP_URL")
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| {
            v.strip_prefix("http://")
                .or_else(|| v.strip_prefix("https://"))
                .is_some_and(|rest| well_formed(v, rest))
        })
        .ok_or_else(|| bad("LLM_MCP_URL", MCP_URL_FORM))?;
    let token = get("LLM_MCP_TOKEN")
        .map(|t| t.trim().to_owned())
        .filter(|t| t.len() >= MIN_TOKEN_LEN && t.len() <= 4096)
        .filter(|t| t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            bad(
                "LLM_MCP_TOKEN",
                format!("one of the MCP server's MCP_TOKENS: at least {MIN_TOKEN_LEN} printable ASCII characters (required when LLM_VIA_MCP=true)"),
            )
        })?;
    Ok(LlmRoute::Mcp {
        url,
        token: Secret::new(token),
    })
}

/// `LLM_CLUSTER_CONCURRENCY` and `LLM_SLOT_LEASE`.
fn cluster_limit(
    get: &impl Fn(&str) -> Option<String>,
    via_mcp: bool,
) -> Result<Option<ClusterLimit>, ConfigError> {
    let lease = positive_duration(get, "LLM_SLOT_LEASE", DEFAULT_SLOT_LEASE)?;
    if lease < Duration::from_secs(1) {
        return Err(bad(
            "LLM_SLOT_LEASE",
            "a duration of at least 1s, such as 15s",
        ));
    }
    if get("LLM_CLUSTER_CONCURRENCY").is_none() {
        return Ok(None);
    }
    if via_mcp {
        // The worker's calls queue at the MCP server, whose pool applies the limit.
        return Err(bad(
            "LLM_CLUSTER_CONCURRENCY",
            "unset when LLM_VIA_MCP=true: set it on the MCP server, whose pool applies it",
        ));
    }
    let limit = integer_in(
        get,
        "LLM_CLUSTER_CONCURRENCY",
        1,
        (1, MAX_CLUSTER_CONCURRENCY),
    )? as u32;
    Ok(Some(ClusterLimit { limit, lease }))
}

pub(super) fn llm_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<LlmSettings>, ConfigError> {
    let via_mcp = boolean(get, "LLM_VIA_MCP")?;
    let url = match get("LLM_URL") {
        None if !via_mcp => return Ok(None),
        None => String::new(),
        Some(url) => base_url(&url)?,
    };
    let route = if via_mcp {
        mcp_route(get)?
    } else {
        LlmRoute::Direct
    };
    let model = match get("LLM_MODEL") {
        // The MCP server names the model; the worker's name is only a label.
        None if via_mcp => Some("via-mcp".to_owned()),
        m => m,
    }
    .map(|m| m.trim().to_owned())
    .filter(|m| m.len() <= 256 && !m.chars().any(char::is_control))
    .ok_or_else(|| {
        bad(
            "LLM_MODEL",
            "a model name such as llama3.1:8b (required when LLM_URL is set)",
        )
    })?;
    let api_key = match get("LLM_API_KEY") {
        None => None,
        // Only what an HTTP header can carry; the message never repeats the value.
        Some(k) if k.len() <= 4096 && k.trim().bytes().all(|b| b.is_ascii_graphic()) => {
            Some(Secret::new(k.trim().to_owned()))
        }
        Some(_) => {
            return Err(bad(
                "LLM_API_KEY",
                "a token of printable ASCII characters without spaces",
            ))
        }
    };
    let d = LlmSettings::new(String::new(), String::new());
    Ok(Some(LlmSettings {
        url,
        model,
        api_key,
        timeout: positive_duration(get, "LLM_TIMEOUT", d.timeout)?,
        max_concurrency: integer_in(
            get,
            "LLM_MAX_CONCURRENCY",
            d.max_concurrency as u64,
            (1, 256),
        )? as usize,
        queue_timeout: positive_duration(get, "LLM_QUEUE_TIMEOUT", d.queue_timeout)?,
        breaker_failures: integer_in(
            get,
            "LLM_BREAKER_FAILURES",
            u64::from(d.breaker_failures),
            (1, 10_000),
        )? as u32,
        breaker_cooldown: positive_duration(get, "LLM_BREAKER_COOLDOWN", d.breaker_cooldown)?,
        cluster: cluster_limit(get, via_mcp)?,
        route,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Option<LlmSettings>, ConfigError> {
        let get = |k: &str| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
                .filter(|v| !v.trim().is_empty())
        };
        llm_settings(&get)
    }

    const BASE: [(&str, &str); 2] = [
        ("LLM_URL", "http://ollama:11434/"),
        ("LLM_MODEL", "llama3.1:8b"),
    ];

    #[test]
    fn unset_url_means_no_client_and_the_other_variables_are_not_read() {
        assert_eq!(parse(&[]).expect("unset"), None);
        let ignored = parse(&[("LLM_MODEL", ""), ("LLM_TIMEOUT", "soon")]).expect("ignored");
        assert_eq!(ignored, None);
    }

    #[test]
    fn defaults_apply_and_every_setting_parses() {
        let s = parse(&BASE).expect("valid").expect("set");
        assert_eq!(
            s,
            LlmSettings::new("http://ollama:11434", "llama3.1:8b"),
            "the trailing slash is dropped"
        );
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.max_concurrency, 4);
        let s = parse(&[
            BASE[0],
            BASE[1],
            ("LLM_API_KEY", "sk-test-0123456789"),
            ("LLM_TIMEOUT", "1m"),
            ("LLM_MAX_CONCURRENCY", "16"),
            ("LLM_QUEUE_TIMEOUT", "1500ms"),
            ("LLM_BREAKER_FAILURES", "3"),
            ("LLM_BREAKER_COOLDOWN", "10s"),
        ])
        .expect("valid")
        .expect("set");
        assert_eq!(
            s.api_key.as_ref().map(|k| k.expose().as_str()),
            Some("sk-test-0123456789")
        );
        assert_eq!(
            (s.timeout, s.max_concurrency, s.queue_timeout),
            (Duration::from_secs(60), 16, Duration::from_millis(1500))
        );
        assert_eq!(
            (s.breaker_failures, s.breaker_cooldown),
            (3, Duration::from_secs(10))
        );
        assert!(!format!("{s:?}").contains("sk-test-0123456789"));
    }

    #[test]
    fn every_bad_value_names_its_variable_and_never_repeats_a_key() {
        let cases = [
            ("LLM_URL", "ollama:11434"),
            ("LLM_URL", "http://"),
            ("LLM_URL", "https://api.example.com/v1"),
            ("LLM_URL", "https://user:pass@api.example.com"), // pragma: allowlist secret
            ("LLM_URL", "http://ollama:11434?key=x"),
            ("LLM_TIMEOUT", "fast"),
            ("LLM_TIMEOUT", "0s"),
            ("LLM_MAX_CONCURRENCY", "0"),
            ("LLM_MAX_CONCURRENCY", "1000"),
            ("LLM_QUEUE_TIMEOUT", "-1s"),
            ("LLM_BREAKER_FAILURES", "many"),
            ("LLM_BREAKER_COOLDOWN", "later"),
            ("LLM_API_KEY", "sk-with a-space"),
        ];
        for (var, val) in cases {
            let mut vars = BASE.to_vec();
            vars.retain(|(k, _)| *k != var);
            vars.push((var, val));
            let err = parse(&vars).expect_err(var);
            assert_eq!(err.variable, var, "{val}");
            assert!(err.to_string().contains(var), "{err}");
            if var == "LLM_API_KEY" {
                assert!(!err.to_string().contains("sk-with"), "{err}");
            }
        }
        let err = parse(&[BASE[0]]).expect_err("model required");
        assert_eq!(err.variable, "LLM_MODEL");
        assert!(err.to_string().contains("required when LLM_URL is set"));
    }

    #[test]
    fn the_cluster_limit_and_its_lease_parse() {
        let s = parse(&BASE).expect("valid").expect("set");
        assert_eq!(s.cluster, None, "unset: no cluster limit");
        let s = parse(&[BASE[0], BASE[1], ("LLM_CLUSTER_CONCURRENCY", "2")])
            .expect("valid")
            .expect("set");
        assert_eq!(
            s.cluster,
            Some(ClusterLimit {
                limit: 2,
                lease: DEFAULT_SLOT_LEASE
            })
        );
        let s = parse(&[
            BASE[0],
            BASE[1],
            ("LLM_CLUSTER_CONCURRENCY", "8"),
            ("LLM_SLOT_LEASE", "3s"),
        ])
        .expect("valid")
        .expect("set");
        assert_eq!(s.cluster.map(|c| c.lease), Some(Duration::from_secs(3)));
        for (var, val) in [
            ("LLM_CLUSTER_CONCURRENCY", "0"),
            ("LLM_CLUSTER_CONCURRENCY", "1025"),
            ("LLM_CLUSTER_CONCURRENCY", "two"),
            ("LLM_SLOT_LEASE", "500ms"),
            ("LLM_SLOT_LEASE", "forever"),
        ] {
            let mut vars = vec![BASE[0], BASE[1], ("LLM_CLUSTER_CONCURRENCY", "2")];
            vars.retain(|(k, _)| *k != var);
            vars.push((var, val));
            let err = parse(&vars).expect_err(val);
            assert_eq!(err.variable, var, "{val}");
        }
    }

    #[test]
    fn the_mcp_route_needs_its_endpoint_and_token_and_no_cluster_limit() {
        let token = "route-token-0123456789abcdef"; // pragma: allowlist secret
        let s = parse(&[
            ("LLM_VIA_MCP", "true"),
            ("LLM_MCP_URL", "http://pipeline-mcp:8080/mcp/"),
            ("LLM_MCP_TOKEN", token),
        ])
        .expect("valid")
        .expect("a client without LLM_URL");
        match &s.route {
            LlmRoute::Mcp { url, token: t } => {
                assert_eq!(url, "http://pipeline-mcp:8080/mcp");
                assert_eq!(t.expose(), token);
            }
            LlmRoute::Direct => panic!("expected the MCP route"),
        }
        assert!(
            !format!("{s:?}").contains(token),
            "the token is never printed"
        );
        let ok = [
            ("LLM_VIA_MCP", "true"),
            ("LLM_MCP_URL", "http://m:8080/mcp"),
            ("LLM_MCP_TOKEN", token),
        ];
        for (var, val) in [
            ("LLM_VIA_MCP", "sometimes"),
            ("LLM_MCP_URL", "pipeline-mcp:8080"),
            ("LLM_MCP_URL", "http://user:pw@m:8080/mcp"), // pragma: allowlist secret
            ("LLM_MCP_TOKEN", "short"),
            ("LLM_CLUSTER_CONCURRENCY", "2"),
        ] {
            let mut vars = ok.to_vec();
            vars.retain(|(k, _)| *k != var);
            vars.push((var, val));
            let err = parse(&vars).expect_err(val);
            assert_eq!(err.variable, var, "{val}");
            assert!(!err.to_string().contains(token));
        }
        for missing in ["LLM_MCP_URL", "LLM_MCP_TOKEN"] {
            let mut vars = ok.to_vec();
            vars.retain(|(k, _)| *k != missing);
            assert_eq!(parse(&vars).expect_err(missing).variable, missing);
        }
        let off = parse(&[("LLM_VIA_MCP", "false"), ("LLM_MCP_URL", "x")]).expect("off");
        assert_eq!(off, None, "LLM_VIA_MCP=false without LLM_URL: no client");
    }
}
