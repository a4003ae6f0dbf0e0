//! Pooled LLM concurrency across the fleet (decision 0015): the cluster-wide limit
//! `LLM_CLUSTER_CONCURRENCY` through leased `llm_slots` rows, and the `LLM_VIA_MCP` route
//! through a real `pipeline mcp --http` process.
//!
//! The model's server is the STAND-IN of tests/it/common/llm_standin.rs: no model can run
//! here, so a scripted server speaks the chat-completions wire protocol. In its limited
//! mode it behaves like an Ollama with `OLLAMA_NUM_PARALLEL=1` and a short queue: one
//! answer at a time, a few held, the rest refused with 503. Everything else is real: the
//! PostgreSQL (or SQLite) store, the `pipeline` binary, the MCP server and its audit.

use crate::common;

use common::llm_standin::{LlmStandIn, Reply};
use pfm::app::StoreSlots;
use pfm::config::{ClusterLimit, LlmRoute, LlmSettings, Secret};
use pfm::llm::{ChatRequest, LlmClient, LlmError, LlmMetrics, Message, OutputSchema};
use pfm::store::{LlmSlotStore, PgStore, SqliteStore};
use serde::Deserialize;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "pool-test-token-0123456789abcdef"; // pragma: allowlist secret
/// A prompt that must never reach the database: `mcp_audit` keeps the arguments' digest.
const PROMPT: &str = "t-77 9,500.00 EUR to a new payee, description ZEBRA-QUOKKA-4471";

#[derive(Debug, Deserialize, PartialEq)]
struct Triage {
    action: String,
}

fn schema() -> OutputSchema {
    OutputSchema::new(
        "triage",
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["action"],
            "properties": {"action": {"type": "string", "enum": ["escalate", "clear"]}}
        }),
    )
    .expect("schema")
}

fn ask() -> ChatRequest {
    ChatRequest::new(vec![
        Message::system("You triage flagged transactions. Answer in JSON."),
        Message::user(PROMPT),
    ])
    .temperature(0.0)
}

fn answer() -> Reply {
    Reply::Json(json!({"action": "escalate"}))
}

fn settings(url: &str, max_concurrency: usize, queue: Duration) -> LlmSettings {
    LlmSettings {
        timeout: Duration::from_secs(20),
        max_concurrency,
        queue_timeout: queue,
        breaker_failures: 1000,
        ..LlmSettings::new(url, "standin-model")
    }
}

/// One "worker process": its own client, its own connection pool to the database, its own
/// holder name. Nothing is shared with the others but the database.
async fn worker(
    db_url: &str,
    llm_url: &str,
    limit: Option<u32>,
    lease: Duration,
    n: usize,
) -> LlmClient {
    let client = LlmClient::new(
        settings(llm_url, 4, Duration::from_secs(30)),
        LlmMetrics::default(),
        None,
    )
    .expect("client");
    let Some(limit) = limit else {
        return client;
    };
    let store = PgStore::connect(db_url, 2).await.expect("connect");
    let slots = StoreSlots::prepare(store, ClusterLimit { limit, lease })
        .await
        .expect("prepare slots");
    client
        .with_cluster_slots(Arc::new(slots), format!("worker-{n}"))
        .expect("slots")
}

/// 6 workers × 4 calls in flight each against a server that answers one request at a time
/// and queues one more: the calls that go out at once, cluster-wide, is what it sees.
async fn burst(db_url: &str, limit: Option<u32>) -> (LlmStandIn, Vec<Result<(), LlmError>>) {
    let server = LlmStandIn::start_limited(
        Reply::Slow(Duration::from_millis(40), Box::new(answer())),
        1,
        1,
    )
    .await;
    let mut calls = Vec::new();
    for n in 0..6 {
        let client = worker(db_url, &server.url(), limit, Duration::from_secs(5), n).await;
        for _ in 0..4 {
            let client = client.clone();
            calls.push(tokio::spawn(async move {
                client
                    .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
                    .await
                    .map(|c| assert_eq!(c.value.action, "escalate"))
            }));
        }
    }
    let mut results = Vec::new();
    for c in calls {
        results.push(c.await.expect("call task"));
    }
    (server, results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cluster_limit_holds_across_workers_on_postgres() {
    let Some(db_url) = common::fresh_pg_database().await else {
        return;
    };
    let store = PgStore::connect(&db_url, 2).await.expect("connect");
    pfm::store::Database::migrate(&store)
        .await
        .expect("migrate");

    // Without the limit the server is flooded: the test can see a breach.
    let (flooded, _) = burst(&db_url, None).await;
    assert!(
        flooded.max_concurrent() > 2 && flooded.rejected() > 0,
        "without a cluster limit 24 calls reach the server at once (max {}, 503s {})",
        flooded.max_concurrent(),
        flooded.rejected()
    );

    let started = Instant::now();
    let (server, results) = burst(&db_url, Some(2)).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "every call completes: {failed:?}");
    assert_eq!(server.requests(), 24, "each call asked once");
    assert!(
        server.max_concurrent() <= 2,
        "the server saw {} requests at once with LLM_CLUSTER_CONCURRENCY=2",
        server.max_concurrent()
    );
    assert_eq!(
        server.rejected(),
        0,
        "no request failed on the server's queue"
    );
    // Releases run on their own tasks as the calls end.
    let deadline = Instant::now() + Duration::from_secs(3);
    while store.llm_slots_held(2).await.expect("held") > 0 {
        assert!(
            Instant::now() < deadline,
            "slots still held after every call ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "24 calls of 40 ms through 2 cluster slots: {:?}",
        started.elapsed()
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pipeline mcp --http` with the LLM at `llm_url` and `extra` settings.
fn start_mcp(dir: &Path, db: Option<&str>, llm_url: &str, extra: &[(&str, &str)]) -> (Server, u16) {
    let port = common::free_port();
    let mut c = common::pipeline_cmd(dir, db);
    c.args(["mcp", "--http"])
        .env("MCP_PORT", port.to_string())
        .env("MCP_TOKENS", TOKEN)
        .env("LLM_URL", llm_url)
        .env("LLM_MODEL", "standin-model")
        .env("LLM_TIMEOUT", "60s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        c.env(k, v);
    }
    let server = Server(c.spawn().expect("start pipeline mcp --http"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(common::http_get(port, "/readyz"), Ok((200, _))) {
        assert!(Instant::now() < deadline, "mcp --http never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

fn via_mcp(port: u16, token: &str) -> LlmClient {
    let s = LlmSettings {
        route: LlmRoute::Mcp {
            url: format!("http://127.0.0.1:{port}/mcp"),
            token: Secret::new(token.to_owned()),
        },
        ..settings("", 2, Duration::from_secs(5))
    };
    LlmClient::new(s, LlmMetrics::default(), None).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_via_mcp_goes_through_the_servers_pool_and_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("pipeline.db");
    let store = SqliteStore::open(&db_path).await.expect("open");
    pfm::store::Database::migrate(&store)
        .await
        .expect("migrate");
    let llm = LlmStandIn::start(answer()).await;
    // pipeline_cmd's DATA_DIR holds the embedded database, pipeline.db.
    let (_server, port) = start_mcp(dir.path(), None, &llm.url(), &[]);

    let client = via_mcp(port, TOKEN);
    assert!(client.via_mcp());
    let c = client
        .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
        .await
        .expect("an answer through llm_complete");
    assert_eq!(c.value.action, "escalate");
    assert_eq!(c.model, "standin-model");
    assert!(c.usage.prompt_tokens > 0);
    assert_eq!(llm.requests(), 1, "the MCP server asked the model once");
    let sent = &llm.seen()[0].body;
    assert_eq!(sent["messages"][1]["content"], PROMPT);
    assert_eq!(sent["response_format"]["json_schema"]["name"], "triage");

    // The server's typed error comes back as the same LlmError.
    llm.script([Reply::Status(400, None)]);
    let err = client
        .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
        .await
        .expect_err("400");
    assert_eq!(err, LlmError::Http(400));
    // An answer the worker's validator rejects is asked again, through the tool.
    llm.script([Reply::Json(json!({"action": "clear"}))]);
    let c = client
        .complete_json::<Triage>(ask(), &schema(), |t: &Triage| {
            (t.action != "clear")
                .then_some(())
                .ok_or_else(|| "clear is not allowed here".to_owned())
        })
        .await
        .expect("the second answer");
    assert!(c.reasked && c.value.action == "escalate");
    let second = llm.seen().last().expect("seen").body.clone();
    let turns = second["messages"].as_array().expect("messages");
    assert!(turns.iter().any(|m| m["content"]
        .as_str()
        .is_some_and(|t| t.contains("clear is not allowed here"))));

    // A wrong token is refused by the server (401): a typed error, nothing sent.
    let before = llm.requests();
    let err = via_mcp(port, "wrong-token-0123456789abcdef") // pragma: allowlist secret
        .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
        .await
        .expect_err("401");
    assert_eq!(err, LlmError::Http(401));
    assert_eq!(llm.requests(), before);

    // The pool's metrics are on the MCP port.
    let (status, metrics) = common::http_get(port, "/metrics").expect("scrape");
    assert_eq!(status, 200);
    let ok = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pipeline_llm_calls_total{outcome=\"ok\"} "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert_eq!(ok, Some(3.0), "{metrics}");
    assert!(metrics.contains("pipeline_llm_cluster_slots_held"));
    assert!(!metrics.contains(TOKEN) && !metrics.contains("ZEBRA"));

    // Audited like every tool, without the prompt.
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT tool, outcome, args_sha256 FROM mcp_audit ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("audit");
    let calls: Vec<_> = rows.iter().filter(|r| r.0 == "llm_complete").collect();
    assert_eq!(calls.len(), 4, "{rows:?}");
    assert_eq!(
        calls.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["ok", "error", "ok", "ok"]
    );
    assert!(calls.iter().all(|r| r.2.len() == 64));
    let everything: Vec<(String,)> = sqlx::query_as(
        "SELECT COALESCE(error, '') || ' ' || caller || ' ' || args_sha256 FROM mcp_audit",
    )
    .fetch_all(store.pool())
    .await
    .expect("audit text");
    assert!(
        everything
            .iter()
            .all(|(t,)| !t.contains("ZEBRA") && !t.contains(TOKEN)),
        "no prompt or token in the audit trail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_slot_frees_within_the_lease() {
    let Some(db_url) = common::fresh_pg_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PgStore::connect(&db_url, 2).await.expect("connect");
    pfm::store::Database::migrate(&store)
        .await
        .expect("migrate");
    // The MCP server holds the one cluster slot in a call the model takes minutes to answer.
    let llm = LlmStandIn::start(Reply::Slow(Duration::from_secs(120), Box::new(answer()))).await;
    let lease = Duration::from_secs(2);
    let (mut server, port) = start_mcp(
        dir.path(),
        Some(&db_url),
        &llm.url(),
        &[("LLM_CLUSTER_CONCURRENCY", "1"), ("LLM_SLOT_LEASE", "2s")],
    );
    let holder = via_mcp(port, TOKEN);
    let call = tokio::spawn(async move {
        holder
            .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while llm.requests() == 0 {
        assert!(
            Instant::now() < deadline,
            "the call never reached the model"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Renewed past its lease while the call runs: another worker cannot get in.
    tokio::time::sleep(lease + Duration::from_secs(1)).await;
    assert_eq!(store.llm_slots_held(1).await.expect("held"), 1);
    let other = worker(&db_url, &llm.url(), Some(1), lease, 9).await;
    let blocked = LlmClient::new(
        settings(&llm.url(), 1, Duration::from_millis(500)),
        LlmMetrics::default(),
        None,
    )
    .expect("client");
    let slots = StoreSlots::prepare(
        PgStore::connect(&db_url, 1).await.expect("connect"),
        ClusterLimit { limit: 1, lease },
    )
    .await
    .expect("slots");
    let blocked = blocked
        .with_cluster_slots(Arc::new(slots), "blocked")
        .expect("slots");
    let err = blocked
        .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
        .await
        .expect_err("the slot is held");
    assert_eq!(err, LlmError::QueueTimeout(Duration::from_millis(500)));

    // Killed mid-call: no release, no renewal. The slot is back within the lease.
    server.0.kill().expect("kill");
    let killed = Instant::now();
    let _ = server.0.wait();
    llm.set_default(answer());
    let c = other
        .complete_json::<Triage>(ask(), &schema(), |_| Ok(()))
        .await
        .expect("the dead holder's slot");
    let freed = killed.elapsed();
    assert_eq!(c.value.action, "escalate");
    assert!(
        freed <= lease + Duration::from_millis(800),
        "the slot came free {freed:?} after the kill (lease {lease:?})"
    );
    let _ = call.await;
    eprintln!("a killed holder's slot was taken again {freed:?} after the kill");
}

#[test]
fn bad_pool_settings_stop_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (cmd, vars, variable) in [
        (
            "worker",
            vec![("LLM_CLUSTER_CONCURRENCY", "0")],
            "LLM_CLUSTER_CONCURRENCY",
        ),
        (
            "worker",
            vec![("LLM_SLOT_LEASE", "100ms")],
            "LLM_SLOT_LEASE",
        ),
        ("mcp", vec![("LLM_VIA_MCP", "perhaps")], "LLM_VIA_MCP"),
        (
            "worker",
            vec![("LLM_VIA_MCP", "true"), ("LLM_MCP_TOKEN", TOKEN)],
            "LLM_MCP_URL",
        ),
        (
            "worker",
            vec![
                ("LLM_VIA_MCP", "true"),
                ("LLM_MCP_URL", "http://127.0.0.1:1/mcp"),
                ("LLM_MCP_TOKEN", TOKEN),
                ("LLM_CLUSTER_CONCURRENCY", "2"),
            ],
            "LLM_CLUSTER_CONCURRENCY",
        ),
    ] {
        let mut c: Command = common::pipeline_cmd(dir.path(), None);
        c.arg(cmd)
            .env("LLM_URL", "http://127.0.0.1:1")
            .env("LLM_MODEL", "m");
        for (k, v) in &vars {
            c.env(k, v);
        }
        let out = c.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd} {vars:?} started");
        assert!(
            stderr.contains("configuration error") && stderr.contains(variable),
            "{cmd} {vars:?}: {stderr}"
        );
        assert!(!stderr.contains(TOKEN), "the token is never printed");
    }
}

/// An MCP server configured for the MCP route itself would call itself: it refuses.
#[test]
fn the_mcp_server_refuses_the_mcp_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = common::pipeline_cmd(dir.path(), None)
        .args(["mcp", "--http"])
        .env("MCP_PORT", common::free_port().to_string())
        .env("MCP_TOKENS", TOKEN)
        .env("LLM_VIA_MCP", "true")
        .env("LLM_MCP_URL", "http://127.0.0.1:1/mcp")
        .env("LLM_MCP_TOKEN", TOKEN)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("LLM_VIA_MCP"), "{stderr}");
}
