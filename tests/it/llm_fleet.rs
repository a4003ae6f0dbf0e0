//! A fleet of `pipeline worker` processes sharing one LLM server (issue 15): the cluster
//! limit `LLM_CLUSTER_CONCURRENCY` under load, and a worker killed while its call is in
//! flight.
//!
//! The LLM server is the STAND-IN of tests/it/common/llm_standin.rs, because no model can
//! run here: a scripted server speaking the chat-completions protocol, in its limited mode
//! like an Ollama with `OLLAMA_NUM_PARALLEL=1` and a short queue (more requests than it
//! holds get 503). Everything else is real: PostgreSQL, `pipeline run`, and separate
//! `pipeline worker` processes that share nothing but the database.

use crate::common;

use common::llm_standin::{LlmStandIn, Reply};
use pfm::store::PgStore;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A finding every investigation lists, so the scripted answer is valid for any record.
const CITE: &str = "factor:pipeline_risk";

fn triage() -> Reply {
    Reply::Json(json!({
        "action": "escalate",
        "rationale": "because the amount is unusual",
        "cited_findings": [CITE]
    }))
}

/// `pipeline worker --once` against `db_url` with the stand-in as its LLM.
fn worker(
    dir: &Path,
    db_url: &str,
    llm: &LlmStandIn,
    name: &str,
    extra: &[(&str, &str)],
) -> Command {
    let mut c = common::pipeline_cmd(dir, Some(db_url));
    c.args(["worker", "--once", "--worker-id", name])
        .env("LLM_URL", llm.url())
        .env("LLM_MODEL", "standin-model")
        .env("LLM_TIMEOUT", "60s")
        .env("AUDIT_WINDOW_MINUTES", "0")
        .env("WORKFLOW_POLL_INTERVAL", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

/// Per investigation workflow: its status, its case rows, the notes drafted and the LLM
/// calls journalled for it.
async fn investigations(store: &PgStore) -> Vec<(String, String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT w.workflow_id, w.status, \
           (SELECT count(*) FROM investigation_cases c WHERE c.workflow_id = w.workflow_id), \
           (SELECT count(*) FROM workflow_effects e WHERE e.workflow_id = w.workflow_id \
              AND e.effect = 'case_event' AND e.payload::text LIKE '%note_drafted%'), \
           (SELECT count(*) FROM workflow_effects e WHERE e.workflow_id = w.workflow_id \
              AND e.effect = 'llm_call') \
         FROM workflows w WHERE w.kind = 'investigation' ORDER BY w.workflow_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("investigations")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_workers_share_two_cluster_slots_and_finish_every_investigation_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db_url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    // The reviews are decided by `pipeline run`; their investigations are left to the fleet.
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, common::generated_input(3500, 15)).expect("input");
    let out = common::pipeline_cmd(dir.path(), Some(&db_url))
        .args(["run", "--input", input.to_str().expect("path")])
        .env("WORKFLOWS_IN_PROCESS", "false")
        .env("AUDIT_WINDOW_MINUTES", "0")
        .output()
        .expect("pipeline run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = PgStore::connect(&db_url, 2).await.expect("connect");
    let reviews: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transactions WHERE decision = 'review'")
            .fetch_one(store.pool())
            .await
            .expect("reviews");
    let pending = investigations(&store).await;
    assert!(
        reviews >= 20,
        "a few dozen reviews to investigate, got {reviews}"
    );
    assert_eq!(
        pending.len() as i64,
        reviews,
        "one investigation per review"
    );
    assert!(pending.iter().all(|w| w.1 == "runnable"), "none done yet");

    // One answer at a time, one more held: a third concurrent request would get a 503.
    let llm = LlmStandIn::start_limited(
        Reply::Slow(Duration::from_millis(150), Box::new(triage())),
        1,
        1,
    )
    .await;
    let started = Instant::now();
    let fleet: Vec<Child> = (0..10)
        .map(|n| {
            worker(
                dir.path(),
                &db_url,
                &llm,
                &format!("fleet-{n}"),
                &[
                    ("LLM_CLUSTER_CONCURRENCY", "2"),
                    ("LLM_MAX_CONCURRENCY", "1"),
                    ("LLM_QUEUE_TIMEOUT", "60s"),
                ],
            )
            .spawn()
            .expect("start pipeline worker")
        })
        .collect();
    for (n, child) in fleet.into_iter().enumerate() {
        let out = child.wait_with_output().expect("worker");
        assert!(
            out.status.success(),
            "worker {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let took = started.elapsed();

    assert!(
        llm.max_concurrent() <= 2,
        "the server saw {} requests at once with LLM_CLUSTER_CONCURRENCY=2",
        llm.max_concurrent()
    );
    assert_eq!(
        llm.rejected(),
        0,
        "no request was refused by the server's queue"
    );
    let done = investigations(&store).await;
    assert_eq!(done.len(), pending.len());
    for (id, status, cases, notes, calls) in &done {
        assert_eq!(status, "completed", "{id}");
        assert_eq!((*cases, *notes), (1, 1), "{id}: one case, one note");
        assert!(*calls <= 1, "{id}: the LLM call is journalled once");
    }
    let cases: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT c.transaction_id) FROM investigation_cases c \
         JOIN transactions t USING (transaction_id) WHERE t.decision = 'review'",
    )
    .fetch_one(store.pool())
    .await
    .expect("cases");
    assert_eq!(cases, reviews, "one case per reviewed transaction");
    let by: Vec<(String, i64)> = sqlx::query_as(
        "SELECT decided_by, count(*) FROM investigation_cases GROUP BY decided_by ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("decided_by");
    let total: i64 = by.iter().map(|b| b.1).sum();
    assert_eq!(total, reviews);
    let by_llm = by.iter().find(|b| b.0 == "llm").map_or(0, |b| b.1);
    assert_eq!(
        by_llm, reviews,
        "with a generous queue timeout every investigation got its answer: {by:?}"
    );
    assert_eq!(llm.requests() as i64, reviews, "one call per investigation");
    eprintln!(
        "{reviews} investigations by 10 workers through 2 cluster slots, 150 ms stand-in \
         latency: {:.1} s ({:.1}/s), max {} concurrent at the server, {} rejected, by {by:?}",
        took.as_secs_f64(),
        reviews as f64 / took.as_secs_f64(),
        llm.max_concurrent(),
        llm.rejected()
    );
}

/// Kills the process on drop, so a failed assertion leaves nothing running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_call_frees_the_slot_and_its_investigation_completes_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db_url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let input = dir.path().join("in.jsonl");
    let record = json!({
        "transaction_id": "crash-1", "account_id": "acct-crash",
        "timestamp": "2026-03-01T10:00:00Z", "amount": "12000", "currency": "EUR",
        "merchant": "Bookshop", "mcc": "5942", "country": "DE", "channel": "online",
        "description": "a large order"
    });
    std::fs::write(&input, format!("{record}\n")).expect("input");
    let out = common::pipeline_cmd(dir.path(), Some(&db_url))
        .args(["run", "--input", input.to_str().expect("path")])
        .env("WORKFLOWS_IN_PROCESS", "false")
        .env("AUDIT_WINDOW_MINUTES", "0")
        .output()
        .expect("pipeline run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = PgStore::connect(&db_url, 2).await.expect("connect");
    assert_eq!(
        investigations(&store).await.len(),
        1,
        "the large amount is reviewed"
    );

    // The model takes 20 s: the first worker holds the only cluster slot when it dies.
    let llm = LlmStandIn::start(Reply::Slow(Duration::from_secs(20), Box::new(triage()))).await;
    let pool = [
        ("LLM_CLUSTER_CONCURRENCY", "1"),
        ("LLM_SLOT_LEASE", "2s"),
        ("WORKFLOW_LEASE", "2s"),
    ];
    let mut first = Reaped(
        worker(dir.path(), &db_url, &llm, "doomed", &pool)
            .spawn()
            .expect("start the first worker"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while llm.requests() == 0 {
        assert!(
            Instant::now() < deadline,
            "the call never reached the model"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM llm_slots WHERE holder IS NOT NULL AND lease_until > now()",
    )
    .fetch_one(store.pool())
    .await
    .expect("slots");
    assert_eq!(held, 1, "the call in flight holds the cluster slot");
    first.0.kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = first.0.wait();

    // The second worker waits at most 4 s for the slot: a slot not freed within its 2 s
    // lease (after the workflow's own 2 s lease) ends in the queue-timeout fallback.
    llm.set_default(triage());
    let out = worker(
        dir.path(),
        &db_url,
        &llm,
        "survivor",
        &[pool[0], pool[1], pool[2], ("LLM_QUEUE_TIMEOUT", "4s")],
    )
    .output()
    .expect("the second worker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = killed.elapsed();
    // Both leases are 2 s: well before the 20 s answer the dead worker was waiting for.
    assert!(
        took < Duration::from_secs(10),
        "the investigation completed {took:?} after the kill"
    );
    assert_eq!(
        llm.requests(),
        2,
        "the unanswered call was asked again, once"
    );
    let done = investigations(&store).await;
    let (id, status, cases, notes, calls) = &done[0];
    assert_eq!(status, "completed", "{id}");
    assert_eq!(
        (*cases, *notes, *calls),
        (1, 1, 1),
        "{id}: one case, one note, one call"
    );
    let (by, fallback): (String, Option<String>) =
        sqlx::query_as("SELECT decided_by, fallback FROM investigation_cases")
            .fetch_one(store.pool())
            .await
            .expect("case");
    assert_eq!(
        (by.as_str(), fallback),
        ("llm", None),
        "the second worker got the slot and an answer"
    );
    eprintln!("killed mid-call; the investigation completed {took:?} after the kill");
}
