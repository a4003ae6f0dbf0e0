//! The LLM client's settings: `LLM_URL` and the `LLM_*` variables that tune it. They are
//! read (and validated) only when `LLM_URL` is set; without it no client exists and the
//! agents take their deterministic path.

use super::{bad, integer_in, positive_duration, ConfigError, Secret};
use std::time::Duration;

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
        }
    }
}

const URL_FORM: &str =
    "an http:// or https:// base URL without /v1, credentials or query, such as http://localhost:11434";

fn base_url(v: &str) -> Result<String, ConfigError> {
    let v = v.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .ok_or_else(|| bad("LLM_URL", URL_FORM))?;
    let authority = rest.split('/').next().unwrap_or_default();
    // Credentials in the URL would end up in logs and errors; they belong in LLM_API_KEY.
    let well_formed = !authority.is_empty()
        && !authority.contains('@')
        && !v.contains(['?', '#'])
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && !v.ends_with("/v1");
    if well_formed {
        Ok(v.to_owned())
    } else {
        Err(bad("LLM_URL", URL_FORM))
    }
}

pub(super) fn llm_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<LlmSettings>, ConfigError> {
    let Some(url) = get("LLM_URL") else {
        return Ok(None);
    };
    let url = base_url(&url)?;
    let model = get("LLM_MODEL")
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
}
