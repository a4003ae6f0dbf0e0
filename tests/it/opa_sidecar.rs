//! The remote OPA client against a STAND-IN OPA server (crates/testkit/src/opa_standin.rs): no
//! OPA binary can be installed here, so a small server that follows OPA's REST API and
//! evaluates the same `policies/` with regorus plays the sidecar. All runs use SQLite.

use crate::common;

use common::in_process::InProcess;
use pfm::app::{SourceChoice, UNAVAILABLE_PROVENANCE};
use pfm::config::OpaSettings;
use pfm::policy::{BreakerState, Failure, RemoteOutcome, RemotePolicy};
use pfm::telemetry::metrics::OpaMetrics;
use pfm_testkit::opa_standin::{Fault, OpaStandIn};
use sqlx::Row;
use std::path::Path;
use std::time::{Duration, Instant};

const REVISION: &str = "rev-test-1";

fn policies_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

async fn db(dir: &Path) -> sqlx::SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "sqlite://{}?mode=ro",
            dir.join("pipeline.db").display()
        ))
        .await
        .expect("open the pipeline's database")
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .expect(sql)
        .get::<i64, _>(0)
}

/// `(transaction_id, result, reasons)` of every decision, sorted.
async fn decisions(dir: &Path) -> Vec<(String, String, String)> {
    let pool = db(dir).await;
    let rows = sqlx::query(
        "SELECT transaction_id, result, reasons FROM decision_log ORDER BY transaction_id, seq",
    )
    .fetch_all(&pool)
    .await
    .expect("decision log");
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn versions(dir: &Path) -> Vec<String> {
    let pool = db(dir).await;
    sqlx::query("SELECT DISTINCT policy_version FROM decision_log")
        .fetch_all(&pool)
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn remote(dir: &Path, opa: &OpaStandIn) -> InProcess {
    InProcess::new(dir, None)
        .env("OPA_URL", opa.url())
        .env("BATCH_SIZE", "100")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_are_equal_embedded_and_remote_on_10000_generated_records() {
    let opa = OpaStandIn::start(&policies_dir(), "agentic/allow", Some(REVISION));
    let (embedded_dir, remote_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = || SourceChoice::Synthetic {
        seed: 14,
        count: Some(10_000),
    };
    let e = InProcess::new(embedded_dir.path(), None)
        .env("BATCH_SIZE", "100")
        .run(source())
        .await
        .expect("embedded run");
    // Generous limits: this test is about equal decisions, and 2 shared cores running the
    // pipeline and the stand-in in one debug process can exceed the 200 ms default.
    let r = remote(remote_dir.path(), &opa)
        .env("OPA_TIMEOUT", "10s")
        .env("OPA_BATCH_TIMEOUT", "60s")
        .run(source())
        .await
        .expect("remote run");
    let (e_rows, r_rows) = (
        decisions(embedded_dir.path()).await,
        decisions(remote_dir.path()).await,
    );
    assert!(e_rows.len() >= 9_000, "{} decisions", e_rows.len());
    assert_eq!(e_rows.len(), r_rows.len());
    for (a, b) in e_rows.iter().zip(&r_rows) {
        assert_eq!(a, b, "embedded vs remote");
    }
    assert_eq!(
        (e.decisions.allow, e.decisions.review, e.decisions.deny),
        (r.decisions.allow, r.decisions.review, r.decisions.deny)
    );
    assert!(
        e.decisions.allow > 0 && e.decisions.review > 0 && e.decisions.deny > 0,
        "the sample exercises every result: {:?}",
        e.decisions
    );
    assert_eq!(
        opa.decisions(),
        r_rows.len() as u64,
        "every decision came from the server"
    );
    // Audit evidence names the policy that decided.
    let ev = versions(embedded_dir.path()).await;
    assert!(
        ev.len() == 1 && ev[0].starts_with("embedded:2026."),
        "{ev:?}"
    );
    assert_eq!(
        versions(remote_dir.path()).await,
        vec![format!("opa:policies@{REVISION}")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_a_deny_that_names_it() {
    let opa = OpaStandIn::start(&policies_dir(), "agentic/allow", None);
    for (fault, reason) in [
        (
            Fault::Slow(Duration::from_millis(400)),
            "policy_unavailable",
        ),
        (Fault::Undefined, "policy_undefined"),
        (Fault::Malformed, "policy_malformed_response"),
        (Fault::Status(500), "policy_unavailable"),
    ] {
        opa.set_fault(fault.clone());
        let dir = tempfile::tempdir().unwrap();
        let s = remote(dir.path(), &opa)
            .env("OPA_TIMEOUT", "100ms")
            .run(SourceChoice::Synthetic {
                seed: 3,
                count: Some(300),
            })
            .await
            .expect("run");
        assert_eq!(
            s.decisions.allow + s.decisions.review,
            0,
            "{fault:?}: {s:?}"
        );
        assert!(s.decisions.deny > 250, "{fault:?}: {s:?}");
        assert_eq!(
            s.quarantined, s.decisions.deny,
            "{fault:?}: denied records are quarantined"
        );
        let rows = decisions(dir.path()).await;
        let want = format!("[\"{reason}\"]");
        assert!(
            rows.iter()
                .all(|(_, result, reasons)| result == "deny" && *reasons == want),
            "{fault:?}: {:?}",
            rows.iter().find(|(_, _, r)| *r != want)
        );
    }
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_in_deny_mode_allows_nothing_then_recovers() {
    let mut opa = OpaStandIn::start(&policies_dir(), "agentic/allow", Some(REVISION));
    let dir = tempfile::tempdir().unwrap();
    let running = remote(dir.path(), &opa)
        .env("OPA_BREAKER_COOLDOWN", "200ms")
        .start(SourceChoice::Synthetic {
            seed: 5,
            count: None,
        })
        .await
        .expect("start");
    let pool = db(dir.path()).await;
    let count = "SELECT count(*) FROM decision_log";
    wait_until(
        "decisions before the kill",
        Duration::from_secs(60),
        || async { scalar(&pool, count).await >= 500 },
    )
    .await;
    opa.kill();
    let unavailable = format!(
        "SELECT count(*) FROM decision_log WHERE policy_version = '{UNAVAILABLE_PROVENANCE}'"
    );
    wait_until("denials while down", Duration::from_secs(60), || async {
        scalar(&pool, &unavailable).await >= 500
    })
    .await;
    let decided_by_server = opa.decisions();
    opa.restart();
    let allowed_at_restart = scalar(
        &pool,
        "SELECT count(*) FROM decision_log WHERE result = 'allow'",
    )
    .await;
    wait_until(
        "allows after the restart",
        Duration::from_secs(60),
        || async {
            scalar(
                &pool,
                "SELECT count(*) FROM decision_log WHERE result = 'allow'",
            )
            .await
                > allowed_at_restart + 100
        },
    )
    .await;
    let summary = running.stop().await.expect("clean stop");
    assert!(summary.records_in > 1_000);
    // Everything decided while the server was down is a deny naming the failure.
    let bad = scalar(
        &pool,
        &format!(
            "SELECT count(*) FROM decision_log WHERE policy_version = '{UNAVAILABLE_PROVENANCE}' \
             AND (result <> 'deny' OR reasons <> '[\"policy_unavailable\"]')"
        ),
    )
    .await;
    assert_eq!(bad, 0);
    // Every allow is an answer the server gave: none was made while it was down.
    let allows_without_answer = scalar(
        &pool,
        &format!(
            "SELECT count(*) FROM decision_log WHERE result = 'allow' \
             AND policy_version <> 'opa:policies@{REVISION}'"
        ),
    )
    .await;
    assert_eq!(allows_without_answer, 0);
    assert!(allowed_at_restart as u64 <= decided_by_server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_in_pause_mode_processes_nothing_and_resumes() {
    let mut opa = OpaStandIn::start(&policies_dir(), "agentic/allow", Some(REVISION));
    let dir = tempfile::tempdir().unwrap();
    let running = remote(dir.path(), &opa)
        .env("OPA_FAILURE_MODE", "pause")
        .env("OPA_BREAKER_COOLDOWN", "200ms")
        .start(SourceChoice::Synthetic {
            seed: 6,
            count: None,
        })
        .await
        .expect("start");
    let port = running.port();
    let pool = db(dir.path()).await;
    let count = "SELECT count(*) FROM decision_log";
    wait_until(
        "decisions before the kill",
        Duration::from_secs(60),
        || async { scalar(&pool, count).await >= 500 },
    )
    .await;
    opa.kill();
    // The batch whose decisions were all in before the kill may still commit.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let held = scalar(&pool, count).await;
    let (status, body) = common::http_get(port, "/health").expect("health");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"opa\":false"), "{body}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        scalar(&pool, count).await,
        held,
        "nothing is processed while OPA is down"
    );
    let (status, _) = common::http_get(port, "/live").expect("live");
    assert_eq!(status, 200, "a pause is not a stall");
    opa.restart();
    wait_until(
        "progress after the restart",
        Duration::from_secs(60),
        || async { scalar(&pool, count).await > held + 500 },
    )
    .await;
    wait_until(
        "readiness after the restart",
        Duration::from_secs(30),
        || async { common::http_get(port, "/health").is_ok_and(|(s, _)| s == 200) },
    )
    .await;
    running.stop().await.expect("clean stop");
    assert_eq!(
        scalar(
            &pool,
            "SELECT count(*) FROM decision_log WHERE reasons LIKE '%policy_unavailable%'"
        )
        .await,
        0,
        "pause mode quarantines nothing for an outage"
    );
    assert_eq!(
        scalar(&pool, &format!("SELECT count(*) FROM decision_log WHERE policy_version <> 'opa:policies@{REVISION}'")).await,
        0
    );
}

fn input(amount: f64) -> regorus::Value {
    regorus::Value::from(serde_json::json!({
        "transaction": {"id": "t", "amount": amount, "currency": "EUR", "country": "DE", "category": "groceries"},
        "risk": {"findings": [], "max_score": 0.0},
        "pii": {"description_kinds": []}
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_after_repeated_failures_and_recovers_after_a_probe() {
    let opa = OpaStandIn::start(&policies_dir(), "agentic/allow", None);
    let metrics = OpaMetrics::default();
    let settings = OpaSettings {
        max_concurrency: 1,
        breaker_failures: 3,
        breaker_cooldown: Duration::from_millis(300),
        ..OpaSettings::default()
    };
    let client =
        RemotePolicy::new(&opa.url(), "agentic/allow", settings, metrics.clone()).expect("client");
    let inputs: Vec<_> = (0..10).map(|i| input(10.0 + f64::from(i))).collect();
    let ok = client.evaluate_batch(&inputs).await;
    assert!(ok
        .iter()
        .all(|o| matches!(o, RemoteOutcome::Decided { .. })));
    assert!(client.healthy().await);

    opa.set_fault(Fault::Status(500));
    let before = opa.requests();
    let out = client.evaluate_batch(&inputs).await;
    assert_eq!(
        opa.requests() - before,
        3,
        "no request once the breaker is open"
    );
    assert!(out[..3]
        .iter()
        .all(|o| *o == RemoteOutcome::Unavailable(Failure::Status(500))));
    assert!(out[3..]
        .iter()
        .all(|o| *o == RemoteOutcome::Unavailable(Failure::BreakerOpen)));
    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert_eq!(metrics.breaker_state.get(), 1);
    assert!(!client.healthy().await);

    // Still failing after the cool-down: one probe, and open again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let before = opa.requests();
    client.evaluate_batch(&inputs).await;
    assert_eq!(opa.requests() - before, 1, "one probe");
    assert_eq!(client.breaker_state(), BreakerState::Open);

    opa.set_fault(Fault::None);
    let out = client.evaluate_batch(&inputs).await;
    assert!(out
        .iter()
        .all(|o| *o == RemoteOutcome::Unavailable(Failure::BreakerOpen)));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let out = client.evaluate_batch(&inputs).await;
    assert!(
        out.iter()
            .all(|o| matches!(o, RemoteOutcome::Decided { .. })),
        "{out:?}"
    );
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    assert_eq!(metrics.breaker_state.get(), 0);

    // A slow server: past the per-request timeout is a timeout, never a decision.
    opa.set_fault(Fault::Slow(Duration::from_millis(500)));
    let out = client.evaluate_batch(&inputs[..1]).await;
    assert_eq!(out, vec![RemoteOutcome::Unavailable(Failure::Timeout)]);
}
