//! The LLM client against a STAND-IN OpenAI-compatible server
//! (tests/it/common/llm_standin.rs): no model can run here, so a scripted server speaks the
//! chat-completions wire protocol and answers valid JSON, slow answers, 503 and 429,
//! malformed bodies, schema-violating content and closed connections. Real Ollama, vLLM or
//! llama.cpp servers are not exercised by these tests.

use crate::common;

use common::llm_standin::{LlmStandIn, Reply, COMPLETION_TOKENS, PROMPT_TOKENS};
use pfm::breaker::BreakerState;
use pfm::config::{Config, LlmSettings, Secret};
use pfm::llm::{ChatRequest, LlmClient, LlmError, LlmMetrics, Message, OutputSchema, Usage};
use pfm::telemetry::health::{Health, LlmCondition};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "sk-standin-secret-0123456789";

#[derive(Debug, Deserialize, PartialEq)]
struct Triage {
    action: String,
    rationale: String,
}

fn schema() -> OutputSchema {
    OutputSchema::new(
        "triage",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["action", "rationale"],
            "properties": {
                "action": {"type": "string", "enum": ["escalate", "clear"]},
                "rationale": {"type": "string", "maxLength": 200}
            }
        }),
    )
    .expect("a supported schema")
}

fn ask() -> ChatRequest {
    ChatRequest::new(vec![
        Message::system("You triage flagged transactions. Answer in JSON."),
        Message::user("t-1: 9,500.00 EUR transfer, third this week just under 10,000."),
    ])
    .temperature(0.0)
}

fn valid() -> Value {
    json!({"action": "escalate", "rationale": "repeated amounts just under the threshold"})
}

fn accept(_: &Triage) -> Result<(), String> {
    Ok(())
}

fn settings(url: &str) -> LlmSettings {
    LlmSettings {
        api_key: Some(Secret::new(KEY.to_owned())),
        timeout: Duration::from_secs(2),
        breaker_failures: 3,
        breaker_cooldown: Duration::from_millis(400),
        ..LlmSettings::new(url, "standin-model")
    }
}

struct Harness {
    client: LlmClient,
    registry: Registry,
    health: Arc<Health>,
}

fn harness(settings: LlmSettings) -> Harness {
    let mut registry = Registry::default();
    let health = Arc::new(Health::new(false, false).with_llm());
    health.set_database(true);
    let metrics = LlmMetrics::register(&mut registry);
    let client = LlmClient::new(settings, metrics, Some(health.clone())).expect("client");
    Harness {
        client,
        registry,
        health,
    }
}

impl Harness {
    async fn call(&self) -> Result<pfm::llm::Completion<Triage>, LlmError> {
        let out = self.client.complete_json(ask(), &schema(), accept).await;
        if let Err(e) = &out {
            no_key(&format!("{e} {e:?}"));
        }
        out
    }

    fn scrape(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("encode");
        no_key(&text);
        text
    }

    /// The value of one series (`name{labels}` exactly as exposed); 0 when absent.
    fn metric(&self, series: &str) -> f64 {
        self.scrape()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }

    fn llm_health(&self) -> (bool, Value) {
        let (ready, body) = self.health.report();
        no_key(&body.to_string());
        (ready, body["llm"].clone())
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn no_key(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked: {text}");
    assert!(
        !text.contains("0123456789"),
        "part of the API key leaked: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_answer_is_parsed_with_its_tokens_counted() {
    let llm = LlmStandIn::start(Reply::Json(valid())).await;
    let h = harness(settings(&llm.url()));
    no_key(&format!("{:?} {:?}", h.client, settings(&llm.url())));

    let c = h.call().await.expect("a valid answer");
    assert_eq!(
        c.value,
        Triage {
            action: "escalate".into(),
            rationale: "repeated amounts just under the threshold".into()
        }
    );
    let usage = Usage {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: COMPLETION_TOKENS,
    };
    assert_eq!(
        (c.usage, c.reasked, c.model.as_str()),
        (usage, false, "standin-model")
    );

    let seen = llm.seen();
    assert_eq!(seen.len(), 1);
    let body = &seen[0].body;
    assert_eq!(body["model"], "standin-model");
    assert_eq!(body["stream"], false);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "triage");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(format["json_schema"]["schema"], *schema().schema());
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );

    assert_eq!(
        h.metric("pipeline_llm_tokens_total{direction=\"in\"}"),
        11.0
    );
    assert_eq!(
        h.metric("pipeline_llm_tokens_total{direction=\"out\"}"),
        7.0
    );
    assert_eq!(h.metric("pipeline_llm_calls_total{outcome=\"ok\"}"), 1.0);
    assert_eq!(h.metric("pipeline_llm_queue_wait_seconds_count"), 1.0);
    assert_eq!(h.metric("pipeline_llm_request_duration_seconds_count"), 1.0);
    assert_eq!(h.metric("pipeline_llm_in_flight"), 0.0);
    assert_eq!(h.metric("pipeline_llm_breaker_state"), 0.0);
    assert_eq!(h.llm_health(), (true, json!("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_answer_is_asked_again_once_then_reported_invalid() {
    let llm = LlmStandIn::start(Reply::Json(valid())).await;
    let h = harness(settings(&llm.url()));

    // Not JSON, then valid: the second asking shows the model its answer and the reason.
    llm.script([Reply::Content("Sure! Here is the triage: {".into())]);
    let c = h.call().await.expect("valid on the second asking");
    assert!(c.reasked);
    assert_eq!(
        (c.usage.prompt_tokens, c.usage.completion_tokens),
        (2 * PROMPT_TOKENS, 2 * COMPLETION_TOKENS),
        "both answers cost tokens"
    );
    let seen = llm.seen();
    assert_eq!(seen.len(), 2);
    let again = seen[1].body["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(again.len(), 4);
    assert_eq!(
        again[2],
        json!({"role": "assistant", "content": "Sure! Here is the triage: {"})
    );
    assert_eq!(again[3]["role"], "user");
    assert!(again[3]["content"]
        .as_str()
        .expect("text")
        .contains("not JSON"));

    // Against the schema twice, rejected by the validator twice, malformed twice: each is
    // Invalid after exactly two requests, and none quotes the model's text.
    let against = Reply::Json(json!({"action": "pay-out", "rationale": "x"}));
    let cases: [(Vec<Reply>, &str); 3] = [
        (vec![against.clone(), against], "$.action"),
        (
            vec![Reply::Json(valid()), Reply::Json(valid())],
            "too vague",
        ),
        (vec![Reply::MalformedBody, Reply::MalformedBody], "not JSON"),
    ];
    for (replies, why) in cases {
        llm.script(replies);
        let before = llm.requests();
        let picky = |_: &Triage| match why {
            "too vague" => Err("rationale too vague".to_owned()),
            _ => Ok(()),
        };
        let err = h
            .client
            .complete_json(ask(), &schema(), picky)
            .await
            .expect_err(why);
        assert_eq!(llm.requests() - before, 2, "{why}: asked again once");
        match &err {
            LlmError::Invalid(reason) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{why}: {other:?}"),
        }
        assert!(!err.to_string().contains("pay-out"), "{err}");
    }
    assert_eq!(
        h.client.breaker_state(),
        BreakerState::Closed,
        "a server that answers, even badly, is up: three invalid calls do not open the breaker"
    );
    assert_eq!(
        h.metric("pipeline_llm_failures_total{kind=\"invalid\"}"),
        3.0
    );
    assert_eq!(
        h.metric("pipeline_llm_retries_total{reason=\"invalid\"}"),
        4.0
    );
    assert_eq!(h.llm_health(), (true, json!("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_rate_limits_back_off_then_succeed_within_the_budget() {
    let llm = LlmStandIn::start(Reply::Json(valid())).await;
    let h = harness(LlmSettings {
        timeout: Duration::from_secs(5),
        ..settings(&llm.url())
    });

    llm.script([Reply::Status(503, None), Reply::Status(429, Some(1))]);
    let started = Instant::now();
    let c = h.call().await.expect("served after backing off");
    let took = started.elapsed();
    assert!(!c.reasked);
    assert_eq!(llm.requests(), 3);
    assert!(
        took >= Duration::from_secs(1),
        "Retry-After: 1 honoured ({took:?})"
    );
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert_eq!(
        h.metric("pipeline_llm_retries_total{reason=\"overloaded\"}"),
        1.0
    );
    assert_eq!(
        h.metric("pipeline_llm_retries_total{reason=\"rate_limited\"}"),
        1.0
    );

    // A Retry-After beyond the budget: no point waiting, the caller decides now.
    llm.script([Reply::Status(429, Some(120))]);
    let started = Instant::now();
    assert_eq!(
        h.call().await.expect_err("rate limited"),
        LlmError::RateLimited
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(llm.requests(), 4, "not sent again");

    // Overloaded on every attempt: a bounded number of attempts, then Overloaded.
    llm.set_default(Reply::Status(503, None));
    let before = llm.requests();
    assert_eq!(
        h.call().await.expect_err("overloaded"),
        LlmError::Overloaded
    );
    assert_eq!(llm.requests() - before, 4, "four attempts in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_times_out_and_a_closed_connection_is_unavailable() {
    let llm = LlmStandIn::start(Reply::Slow(
        Duration::from_secs(3),
        Box::new(Reply::Json(valid())),
    ))
    .await;
    let h = harness(LlmSettings {
        timeout: Duration::from_millis(300),
        ..settings(&llm.url())
    });
    let started = Instant::now();
    let err = h.call().await.expect_err("too slow");
    assert_eq!(err, LlmError::Timeout(Duration::from_millis(300)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(1),
        "{took:?}"
    );
    assert_eq!(
        h.metric("pipeline_llm_failures_total{kind=\"timeout\"}"),
        1.0
    );
    assert_eq!(h.metric("pipeline_llm_in_flight"), 0.0);

    let llm = LlmStandIn::start(Reply::Reset).await;
    let h = harness(LlmSettings {
        timeout: Duration::from_secs(5),
        ..settings(&llm.url())
    });
    let err = h.call().await.expect_err("no answer");
    assert!(matches!(err, LlmError::Unavailable(_)), "{err:?}");
    assert_eq!(
        llm.requests(),
        4,
        "closed connections are retried, a bounded number of times"
    );
    assert_eq!(
        h.metric("pipeline_llm_retries_total{reason=\"unavailable\"}"),
        3.0
    );
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_fails_fast_probes_once_and_closes() {
    let slow = Reply::Slow(Duration::from_secs(1), Box::new(Reply::Json(valid())));
    let llm = LlmStandIn::start(slow).await;
    let h = harness(LlmSettings {
        timeout: Duration::from_millis(200),
        ..settings(&llm.url())
    });
    for i in 0..3 {
        assert!(matches!(h.call().await, Err(LlmError::Timeout(_))));
        let expected = if i < 2 { "degraded" } else { "open" };
        assert_eq!(
            h.llm_health(),
            (true, json!(expected)),
            "after {} timeouts",
            i + 1
        );
    }
    assert_eq!(h.client.breaker_state(), BreakerState::Open);
    assert_eq!(h.client.condition(), LlmCondition::Open);
    assert_eq!(h.metric("pipeline_llm_breaker_state"), 1.0);
    assert_eq!(h.health.report().1["checks"]["llm"], false);

    // Open: no request, no wait.
    let before = llm.requests();
    let started = Instant::now();
    assert_eq!(h.call().await.expect_err("open"), LlmError::BreakerOpen);
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(llm.requests(), before);

    // After the cool-down, one probe; it fails, so the breaker opens again.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(matches!(h.call().await, Err(LlmError::Timeout(_))));
    assert_eq!(llm.requests(), before + 1, "one probe");
    assert_eq!(h.client.breaker_state(), BreakerState::Open);

    // The server recovers: after the cool-down the probe goes alone (a concurrent call
    // is refused), succeeds, and the breaker closes.
    llm.set_default(Reply::Slow(
        Duration::from_millis(100),
        Box::new(Reply::Json(valid())),
    ));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (probe, other) = tokio::join!(h.call(), h.call());
    assert!(probe.is_ok(), "{probe:?}");
    assert_eq!(
        other.expect_err("one probe at a time"),
        LlmError::BreakerOpen
    );
    assert_eq!(llm.requests(), before + 2);
    assert_eq!(h.client.breaker_state(), BreakerState::Closed);
    assert_eq!(h.metric("pipeline_llm_breaker_state"), 0.0);
    assert_eq!(h.llm_health(), (true, json!("ok")));
    assert!(h.call().await.is_ok());
    assert_eq!(
        h.metric("pipeline_llm_failures_total{kind=\"breaker_open\"}"),
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_never_exceeds_the_limit_and_the_queue_wait_is_bounded() {
    let llm = LlmStandIn::start(Reply::Slow(
        Duration::from_millis(100),
        Box::new(Reply::Json(valid())),
    ))
    .await;
    let h = harness(LlmSettings {
        max_concurrency: 3,
        timeout: Duration::from_secs(5),
        ..settings(&llm.url())
    });
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = h.client.clone();
            tokio::spawn(async move { client.complete_json(ask(), &schema(), accept).await })
        })
        .collect();
    for call in calls {
        let answer: Result<pfm::llm::Completion<Triage>, _> = call.await.expect("task");
        assert!(answer.is_ok(), "{answer:?}");
    }
    assert_eq!(llm.requests(), 20);
    assert_eq!(
        llm.max_concurrent(),
        3,
        "the limit is reached, never passed"
    );
    assert_eq!(h.metric("pipeline_llm_in_flight"), 0.0);
    assert_eq!(h.metric("pipeline_llm_queue_wait_seconds_count"), 20.0);

    // One slot, held by a slow call: the next call gives up after LLM_QUEUE_TIMEOUT
    // without sending anything.
    llm.set_default(Reply::Slow(
        Duration::from_secs(1),
        Box::new(Reply::Json(valid())),
    ));
    let h = harness(LlmSettings {
        max_concurrency: 1,
        queue_timeout: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        ..settings(&llm.url())
    });
    let holder = {
        let client = h.client.clone();
        tokio::spawn(async move { client.complete_json(ask(), &schema(), accept).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = llm.requests();
    let started = Instant::now();
    assert_eq!(
        h.call().await.expect_err("no slot"),
        LlmError::QueueTimeout(Duration::from_millis(200))
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(700),
        "{waited:?}"
    );
    assert_eq!(llm.requests(), before, "nothing sent");
    let held: Result<pfm::llm::Completion<Triage>, _> = holder.await.expect("task");
    assert!(held.is_ok());
    assert_eq!(
        h.metric("pipeline_llm_failures_total{kind=\"queue_timeout\"}"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_builds_the_client_only_when_llm_url_is_set() {
    let err = Config::from_lookup(env(&[("LLM_URL", "http://localhost:11434")]))
        .expect_err("LLM_MODEL is required");
    assert_eq!(err.variable, "LLM_MODEL");
    assert!(
        err.to_string().starts_with("invalid LLM_MODEL: expected"),
        "{err}"
    );
    let err = Config::from_lookup(env(&[
        ("LLM_URL", "http://localhost:11434"),
        ("LLM_MODEL", "m"),
        ("LLM_API_KEY", "sk-standin-secret 0123456789"),
    ]))
    .expect_err("a key with a space");
    assert_eq!(err.variable, "LLM_API_KEY");
    no_key(&err.to_string());

    let off = Config::from_lookup(env(&[])).expect("defaults");
    let mut registry = Registry::default();
    let health = Arc::new(Health::new(false, false));
    assert!(pfm::app::llm_client(&off, &mut registry, &health)
        .expect("no error")
        .is_none());
    assert!(health.report().1.get("llm").is_none());

    let llm = LlmStandIn::start(Reply::Json(valid())).await;
    let url = llm.url();
    let on = Config::from_lookup(env(&[
        ("LLM_URL", &url),
        ("LLM_MODEL", "standin-model"),
        ("LLM_API_KEY", KEY),
    ]))
    .expect("valid");
    no_key(&format!("{on:?}"));
    let health = Arc::new(Health::new(false, false).with_llm());
    let client = pfm::app::llm_client(&on, &mut registry, &health)
        .expect("built")
        .expect("LLM_URL is set");
    let answer: pfm::llm::Completion<Triage> = client
        .complete_json(ask(), &schema(), accept)
        .await
        .expect("answered");
    assert_eq!(answer.value.action, "escalate");
    assert_eq!(
        llm.seen()[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    assert!(
        text.contains("pipeline_llm_calls_total{outcome=\"ok\"} 1"),
        "{text}"
    );
    no_key(&text);
    assert_eq!(health.report().1["llm"], "ok");
}
