//! Durable workflows on the embedded SQLite store: a bounded `pipeline run` investigates
//! every `review` before it exits; SIGTERM during that wait stops it within
//! SHUTDOWN_TIMEOUT and a worker finishes the rest; a `pipeline worker` process killed
//! mid-workflow is resumed after its lease expires, each step once; a worker process and a
//! `pipeline run` process share one database file. On PostgreSQL `pipeline run` still leaves
//! the workflows to the worker deployments.

use crate::common;
use crate::common::in_process::InProcess;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use pfm::app::{SourceChoice, WorkerExit, WorkerOptions};
use pfm::store::{format_ts, CommitBatch, CommitStore, Database, OffsetRow, SqliteStore, TxnRow};
use sqlx::SqlitePool;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: i64 = 5;

/// The pipeline's database in `dir`, opened as the pipeline opens it (WAL, busy timeout).
async fn db(dir: &Path) -> SqlitePool {
    SqliteStore::open(&dir.join("pipeline.db"))
        .await
        .expect("open the pipeline's database")
        .pool()
        .clone()
}

async fn scalar(pool: &SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every `review` decision has exactly one completed investigation with a case note, and
/// each of its steps was checkpointed, journalled and run successfully exactly once.
async fn assert_every_review_investigated(pool: &SqlitePool, reviews: i64) {
    assert_eq!(
        scalar(
            pool,
            "SELECT count(*) FROM decision_log WHERE result = 'review'"
        )
        .await,
        reviews
    );
    let missing = scalar(
        pool,
        "SELECT count(*) FROM decision_log d \
         LEFT JOIN workflows w ON w.workflow_id = 'investigation:' || d.transaction_id \
         LEFT JOIN investigation_cases c ON c.workflow_id = w.workflow_id \
         WHERE d.result = 'review' AND (w.status IS NULL OR w.status <> 'completed' \
           OR w.next_step <> 5 OR w.lease_owner IS NOT NULL OR c.note IS NULL OR length(c.note) = 0)",
    )
    .await;
    assert_eq!(
        missing, 0,
        "reviews without a completed, noted investigation"
    );
    let (cases, subjects): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT transaction_id) FROM investigation_cases")
            .fetch_one(pool)
            .await
            .expect("cases");
    assert_eq!((cases, subjects), (reviews, reviews), "one case per review");
    for table in ["workflow_checkpoints", "workflow_effects"] {
        let n = scalar(
            pool,
            &format!("SELECT count(*) FROM {table} WHERE workflow_id LIKE 'investigation:%'"),
        )
        .await;
        assert_eq!(n, STEPS * reviews, "{table}: one per step");
    }
    let runs = scalar(
        pool,
        "SELECT count(*) FROM workflow_step_runs WHERE workflow_id LIKE 'investigation:%' \
         AND outcome = 'checkpointed'",
    )
    .await;
    assert_eq!(runs, STEPS * reviews, "one successful run per step");
    let rerun = scalar(
        pool,
        "SELECT count(*) FROM workflow_step_runs r JOIN workflow_checkpoints c \
         USING (workflow_id, step_index) WHERE r.started_at > c.created_at",
    )
    .await;
    assert_eq!(rerun, 0, "a checkpointed step was started again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_run_investigates_every_review_before_it_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = InProcess::new(dir.path(), None)
        .run(SourceChoice::Synthetic {
            seed: 7,
            count: Some(3_000),
        })
        .await
        .expect("run");
    let reviews = summary.decisions.review as i64;
    assert!(
        reviews >= 20,
        "the synthetic records hold reviews: {summary:?}"
    );
    let w = summary
        .workflows
        .as_ref()
        .expect("the embedded store runs the workflows in-process");
    assert_eq!(w.left, Some(0), "{w:?}");
    assert!(!w.report.stopped_by_signal);
    assert!(w.report.completed as i64 >= reviews, "{w:?}");
    let line = serde_json::to_value(&summary).expect("summary json");
    assert_eq!(line["workflows"]["left"], 0, "{line}");
    assert_every_review_investigated(&db(dir.path()).await, reviews).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_run_drains_its_reviews_stops_within_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = 2_000;
    let pipeline = InProcess::new(dir.path(), None)
        .env("WORKFLOW_STEP_DELAY_MS", "100")
        .env("SHUTDOWN_TIMEOUT", "2s")
        .env("AUDIT_WINDOW_MINUTES", "0");
    let running = pipeline
        .start(SourceChoice::Synthetic {
            seed: 3,
            count: Some(count),
        })
        .await
        .expect("start");
    let pool = db(dir.path()).await;
    // The source has drained once its last offset is committed; the engine then works
    // through the reviews at 100 ms a step, which takes far longer than the deadline.
    let deadline = Instant::now() + Duration::from_secs(180);
    while scalar(
        &pool,
        "SELECT COALESCE(MAX(next_offset), 0) FROM source_offsets WHERE source = 'synthetic:3'",
    )
    .await
        < count as i64
    {
        assert!(Instant::now() < deadline, "the source never drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let summary = running.stop().await.expect("run");
    let took = asked.elapsed();
    assert!(
        took < Duration::from_millis(3_500),
        "stopped {took:?} after the request; SHUTDOWN_TIMEOUT is 2s"
    );
    assert!(
        !summary.stopped_by_signal,
        "the source had drained by itself"
    );
    let w = summary.workflows.as_ref().expect("in-process workflows");
    assert!(w.report.stopped_by_signal, "{w:?}");
    assert!(
        w.left.is_some_and(|n| n > 0),
        "stopped before the end: {w:?}"
    );
    let held = scalar(
        &pool,
        "SELECT count(*) FROM workflows WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL",
    )
    .await;
    assert_eq!(held, 0, "every lease released");
    let open = scalar(
        &pool,
        "SELECT count(*) FROM workflow_step_runs WHERE finished_at IS NULL",
    )
    .await;
    assert_eq!(open, 0, "the step in flight was finished and checkpointed");

    let exit = InProcess::new(dir.path(), None)
        .env("AUDIT_WINDOW_MINUTES", "0")
        .worker(WorkerOptions {
            once: true,
            worker_id: Some("after".into()),
        })
        .await;
    assert!(matches!(exit, Ok(WorkerExit::Finished(_))), "{exit:?}");
    assert_every_review_investigated(&pool, summary.decisions.review as i64).await;
}

/// A migrated database in `dir` with `reviews` records decided `review` on two accounts
/// that have some history.
async fn seeded(dir: &Path, reviews: usize) -> SqlitePool {
    let store = SqliteStore::open(&dir.join("pipeline.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    let row = |id: String, i: i64, decision: &str, amount: &str, at| TxnRow {
        account_id: format!("acct-{}", i % 2),
        ts: at,
        decided_at: at,
        amount: amount.into(),
        risk_score: 0.6,
        findings: r#"[{"detector":"velocity","score":0.6}]"#.into(),
        decision: decision.into(),
        digest: format!("d-{id}"),
        offset: i,
        ..common::sample_row(&id)
    };
    let mut rows: Vec<TxnRow> = (0..10)
        .map(|i| {
            row(
                format!("h-{i}"),
                i,
                "allow",
                "40",
                t0 + ChronoDuration::minutes(i),
            )
        })
        .collect();
    for i in 0..reviews as i64 {
        let at = t0 + ChronoDuration::hours(2) + ChronoDuration::minutes(i);
        rows.push(row(format!("r-{i}"), 10 + i, "review", "2500", at));
    }
    let next = rows.len() as i64;
    store
        .commit(&CommitBatch {
            rows,
            offsets: vec![OffsetRow {
                source: "file:test".into(),
                partition: 0,
                next_offset: next,
            }],
            ..Default::default()
        })
        .await
        .expect("commit");
    store.pool().clone()
}

/// `pipeline worker` on the database in `dir`, its log in `dir/<id>.log`.
fn worker_process(dir: &Path, id: &str, step_delay_ms: u64, lease: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{id}.log"))).expect("log file");
    let mut c = common::pipeline_cmd(dir, None);
    c.env("AUDIT_WINDOW_MINUTES", "0")
        .env("WORKFLOW_STEP_DELAY_MS", step_delay_ms.to_string())
        .env("WORKFLOW_LEASE", lease)
        .env("WORKFLOW_POLL_INTERVAL", "100ms")
        .args(["worker", "--worker-id", id])
        .stdout(Stdio::from(log))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker")
}

/// Polls until `sql` (with `$1` bound to `now - age`) returns a row.
async fn wait_for(pool: &SqlitePool, sql: &str, age: ChronoDuration, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = sqlx::query_scalar::<_, String>(sql)
            .bind(format_ts(Utc::now() - age))
            .fetch_optional(pool)
            .await
            .expect("poll")
        {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_resumed_after_its_lease_expires_with_one_case_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = seeded(dir.path(), 4).await;
    let mut w1 = worker_process(dir.path(), "w1", 1000, "2s");
    // Kill when w1 is well inside a step of a workflow that already has a checkpoint.
    let victim = wait_for(
        &pool,
        "SELECT r.workflow_id FROM workflow_step_runs r JOIN workflows w USING (workflow_id) \
         WHERE r.worker_id = 'w1' AND r.finished_at IS NULL AND r.started_at < $1 \
           AND w.next_step BETWEEN 1 AND 3 LIMIT 1",
        ChronoDuration::milliseconds(200),
        Duration::from_secs(60),
    )
    .await;
    w1.kill().expect("SIGKILL");
    let _ = w1.wait();
    let (held_by, next_step, expires): (Option<String>, i32, String) = sqlx::query_as(
        "SELECT lease_owner, next_step, lease_expires_at FROM workflows WHERE workflow_id = $1",
    )
    .bind(&victim)
    .fetch_one(&pool)
    .await
    .expect("victim");
    assert_eq!(
        held_by.as_deref(),
        Some("w1"),
        "the dead worker still holds its lease"
    );
    assert!(
        (1..4).contains(&next_step),
        "killed mid-workflow, at step {next_step}"
    );
    let interrupted = scalar(
        &pool,
        "SELECT count(*) FROM workflow_step_runs WHERE worker_id = 'w1' AND finished_at IS NULL",
    )
    .await;
    assert_eq!(interrupted, 1, "one step was interrupted by the kill");

    let exit = tokio::time::timeout(
        Duration::from_secs(60),
        InProcess::new(dir.path(), None)
            .env("AUDIT_WINDOW_MINUTES", "0")
            .env("WORKFLOW_LEASE", "2s")
            .env("WORKFLOW_POLL_INTERVAL", "100ms")
            .worker(WorkerOptions {
                once: true,
                worker_id: Some("w2".into()),
            }),
    )
    .await
    .expect("the second worker finishes");
    assert!(matches!(exit, Ok(WorkerExit::Finished(_))), "{exit:?}");

    let pending = scalar(
        &pool,
        "SELECT count(*) FROM workflows WHERE status <> 'completed'",
    )
    .await;
    assert_eq!(pending, 0);
    let per_workflow: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT w.workflow_id, (SELECT count(*) FROM investigation_cases c WHERE c.workflow_id = w.workflow_id), \
           (SELECT count(*) FROM workflow_checkpoints c WHERE c.workflow_id = w.workflow_id) \
         FROM workflows w ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("per workflow");
    assert_eq!(per_workflow.len(), 4);
    for (wf, cases, checkpoints) in &per_workflow {
        assert_eq!(
            (*cases, *checkpoints),
            (1, STEPS),
            "{wf}: case notes, checkpoints"
        );
    }
    let runs = scalar(
        &pool,
        "SELECT count(*) FROM workflow_step_runs WHERE outcome = 'checkpointed'",
    )
    .await;
    assert_eq!(runs, 4 * STEPS, "every step succeeded exactly once");
    // Resumed, not restarted: the victim's early checkpoints are w1's, the rest w2's, and
    // w2 touched it only once w1's lease had expired.
    let by: Vec<(i32, String)> = sqlx::query_as(
        "SELECT step_index, worker_id FROM workflow_checkpoints WHERE workflow_id = $1 ORDER BY step_index",
    )
    .bind(&victim)
    .fetch_all(&pool)
    .await
    .expect("checkpoints");
    for (step, w) in &by {
        let expected = if *step < next_step { "w1" } else { "w2" };
        assert_eq!(w, expected, "step {step} of {victim}");
    }
    let resumed_at: String = sqlx::query_scalar(
        "SELECT min(started_at) FROM workflow_step_runs WHERE workflow_id = $1 AND worker_id = 'w2'",
    )
    .bind(&victim)
    .fetch_one(&pool)
    .await
    .expect("w2's first run");
    assert!(
        resumed_at >= expires,
        "resumed at {resumed_at}, lease ran to {expires}"
    );
    let redone = scalar(
        &pool,
        "SELECT count(*) FROM workflow_step_runs r JOIN workflow_checkpoints c USING (workflow_id, step_index) \
         WHERE r.worker_id = 'w1' AND r.finished_at IS NULL AND c.worker_id = 'w2'",
    )
    .await;
    assert_eq!(redone, 1, "the interrupted step was run again by w2");
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_and_a_run_process_share_the_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, common::generated_input(4_000, 5)).expect("write input");
    // Both start on a file that does not exist yet: each migrates it (SQLite has no
    // migration lock, so the one that loses the race retries).
    let mut worker = worker_process(dir.path(), "side", 0, "30s");
    let run = common::pipeline_cmd(dir.path(), None)
        .env("WORKFLOWS_IN_PROCESS", "false")
        .args(["run", "--input"])
        .arg(&input)
        .output()
        .expect("pipeline run");
    assert!(
        run.status.success(),
        "run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = String::from_utf8_lossy(&run.stdout)
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str(l)
                .ok()
                .filter(|v: &serde_json::Value| v.get("records_in").is_some())
        })
        .expect("summary line");
    assert!(
        summary.get("workflows").is_none(),
        "WORKFLOWS_IN_PROCESS=false: {summary}"
    );
    let reviews = summary["decisions"]["review"].as_i64().expect("reviews");
    assert!(reviews > 0, "{summary}");
    let pool = db(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while scalar(&pool, "SELECT count(*) FROM investigation_cases").await < reviews {
        assert!(
            Instant::now() < deadline,
            "the worker did not investigate every review"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = wait_exit(&mut worker, Duration::from_secs(20));
    assert!(status.success(), "worker exits 0 after SIGTERM");
    let log = std::fs::read_to_string(dir.path().join("side.log")).expect("worker log");
    assert!(!log.contains("database is locked"), "{log}");
    assert_every_review_investigated(&pool, reviews).await;
    let others = scalar(
        &pool,
        "SELECT count(*) FROM workflow_step_runs WHERE worker_id <> 'side' AND workflow_id LIKE 'investigation:%'",
    )
    .await;
    assert_eq!(others, 0, "the worker process ran every investigation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_pipeline_run_leaves_the_workflows_to_the_workers() {
    let Some(url) = common::fresh_pg_database().await else {
        return;
    };
    let store = pfm::store::PgStore::connect(&url, 2)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = InProcess::new(dir.path(), Some(&url))
        .run(SourceChoice::Synthetic {
            seed: 7,
            count: Some(1_000),
        })
        .await
        .expect("run");
    assert!(summary.workflows.is_none(), "{summary:?}");
    let runnable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM workflows WHERE kind = 'investigation' AND status = 'runnable' \
         AND lease_owner IS NULL",
    )
    .fetch_one(store.pool())
    .await
    .expect("runnable");
    assert_eq!(runnable, summary.decisions.review as i64);
}
