//! Durable investigation workflows against PostgreSQL: a worker process killed mid-workflow
//! is resumed by another process without repeating a completed step; two workers never run
//! the same step; an expired lease is taken over and its old owner fenced out; SIGTERM
//! finishes the step in flight and releases the leases; old checkpoints are pruned.

use crate::common;

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use pfm::app::{WorkerExit, WorkerOptions};
use pfm::store::{CommitBatch, CommitStore, Database, OffsetRow, PgStore, TxnRow};
use pfm::workflow::{
    investigation, retention, Engine, EngineSettings, Progress, StepOutcome, WorkflowError,
};
use sqlx::PgPool;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_pipeline");
const STEPS: i64 = 5;

fn row(id: &str, account: &str, decision: &str, amount: &str, at: DateTime<Utc>) -> TxnRow {
    TxnRow {
        account_id: account.into(),
        ts: at,
        amount: amount.into(),
        risk_score: 0.6,
        findings: r#"[{"detector":"velocity","score":0.6,"reason":"6 in 1h"}]"#.into(),
        decision: decision.into(),
        reasons: if decision == "review" {
            r#"["risk_velocity"]"#.into()
        } else {
            "[]".into()
        },
        decided_at: at,
        ..common::sample_row(id)
    }
}

/// A fresh migrated database with `reviews` records decided `review` (each starts an
/// investigation in the commit) on two accounts that have some history.
async fn seeded(reviews: usize) -> Option<(String, PgStore)> {
    let url = common::fresh_pg_database().await?;
    let store = PgStore::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    let mut rows = Vec::new();
    for i in 0..10 {
        let acct = format!("acct-{}", i % 2);
        let at = t0 + ChronoDuration::minutes(i);
        rows.push(row(&format!("h-{i:02}"), &acct, "allow", "40", at));
    }
    rows.push(row("h-deny", "acct-0", "deny", "900", t0));
    for i in 0..reviews {
        let acct = format!("acct-{}", i % 2);
        let at = t0 + ChronoDuration::hours(2) + ChronoDuration::minutes(i as i64);
        rows.push(row(&format!("r-{i:02}"), &acct, "review", "2500", at));
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.offset = i as i64;
    }
    let n = rows.len() as i64;
    let outcome = store
        .commit(&CommitBatch {
            rows,
            dead_letters: vec![],
            offsets: vec![OffsetRow {
                source: "file:test".into(),
                partition: 0,
                next_offset: n,
            }],
            detector_state: vec![],
            ..Default::default()
        })
        .await
        .expect("commit");
    assert_eq!(outcome.review as usize, reviews);
    let wf: i64 = scalar(
        store.pool(),
        "SELECT count(*) FROM workflows WHERE kind = 'investigation'",
    )
    .await;
    assert_eq!(wf as usize, reviews, "one investigation per review");
    Some((url, store))
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn worker(
    url: &str,
    id: &str,
    step_delay_ms: u64,
    lease: &str,
    once: bool,
    log: &std::path::Path,
) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env(
            "ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("HTTP_PORT", "0")
        .env("AUDIT_WINDOW_MINUTES", "0")
        .env("WORKFLOW_STEP_DELAY_MS", step_delay_ms.to_string())
        .env("WORKFLOW_LEASE", lease)
        .env("WORKFLOW_POLL_INTERVAL", "100ms")
        .args(["worker", "--worker-id", id]);
    if once {
        c.arg("--once");
    }
    c.stdout(Stdio::from(out))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker")
}

/// The same worker in-process (`pfm::app::run_worker`), for the workers whose process is
/// not under test (nobody signals or kills them); `Ok(Finished)` is the binary's exit 0.
async fn worker_in_process(
    url: &str,
    id: &str,
    step_delay_ms: u64,
    lease: &str,
    within: Duration,
) -> Result<WorkerExit, WorkflowError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let pipeline = common::in_process::InProcess::new(dir.path(), Some(url))
        .env(
            "ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("AUDIT_WINDOW_MINUTES", "0")
        .env("WORKFLOW_STEP_DELAY_MS", step_delay_ms.to_string())
        .env("WORKFLOW_LEASE", lease)
        .env("WORKFLOW_POLL_INTERVAL", "100ms");
    let run = pipeline.worker(WorkerOptions {
        once: true,
        worker_id: Some(id.into()),
    });
    tokio::time::timeout(within, run)
        .await
        .unwrap_or_else(|_| panic!("worker did not exit within {within:?}"))
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("worker did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls until `sql` returns a row, then returns its first column.
async fn wait_for(pool: &PgPool, sql: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = sqlx::query_scalar::<_, String>(sql)
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

/// Every investigation completed, with one checkpoint, one successful run and one effect
/// per step, one case per workflow, and no step started again once it was checkpointed.
async fn assert_exactly_once(pool: &PgPool, workflows: i64) {
    let done = scalar(
        pool,
        "SELECT count(*) FROM workflows WHERE kind = 'investigation' AND status = 'completed' \
         AND next_step = 5 AND lease_owner IS NULL",
    )
    .await;
    assert_eq!(done, workflows, "every workflow completed and released");
    let per_step: Vec<(String, i32, i64, i64, i64)> = sqlx::query_as(
        "SELECT w.workflow_id, s.i, \
           (SELECT count(*) FROM workflow_checkpoints c WHERE c.workflow_id = w.workflow_id AND c.step_index = s.i), \
           (SELECT count(*) FROM workflow_effects e WHERE e.workflow_id = w.workflow_id AND e.step_index = s.i), \
           (SELECT count(*) FROM workflow_step_runs r WHERE r.workflow_id = w.workflow_id AND r.step_index = s.i \
              AND r.outcome = 'checkpointed') \
         FROM workflows w CROSS JOIN generate_series(0, 4) AS s(i) WHERE w.kind = 'investigation' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .expect("per step");
    assert_eq!(per_step.len() as i64, workflows * STEPS);
    for (wf, step, checkpoints, effects, runs) in &per_step {
        assert_eq!(
            (*checkpoints, *effects, *runs),
            (1, 1, 1),
            "{wf} step {step}: checkpoints, effects, successful runs"
        );
    }
    let rerun = scalar(
        pool,
        "SELECT count(*) FROM workflow_step_runs r JOIN workflow_checkpoints c USING (workflow_id, step_index) \
         WHERE r.started_at > c.created_at",
    )
    .await;
    assert_eq!(rerun, 0, "a checkpointed step was started again");
    let cases = scalar(pool, "SELECT count(*) FROM investigation_cases").await;
    assert_eq!(cases, workflows, "one case per investigation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_is_resumed_by_another_process_without_repeating_steps() {
    let Some((url, store)) = seeded(4).await else {
        return;
    };
    let pool = store.pool();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w1 = worker(&url, "w1", 1000, "2s", false, &dir.path().join("w1.log"));
    // Kill when w1 is well inside a step of a workflow that already has a checkpoint.
    let victim = wait_for(
        pool,
        "SELECT r.workflow_id FROM workflow_step_runs r JOIN workflows w USING (workflow_id) \
         WHERE r.worker_id = 'w1' AND r.finished_at IS NULL AND r.started_at < now() - interval '200 milliseconds' \
           AND w.next_step BETWEEN 1 AND 3 LIMIT 1",
        Duration::from_secs(60),
    )
    .await;
    w1.kill().expect("SIGKILL");
    let _ = w1.wait();
    let (held_by, next_step): (Option<String>, i32) =
        sqlx::query_as("SELECT lease_owner, next_step FROM workflows WHERE workflow_id = $1")
            .bind(&victim)
            .fetch_one(pool)
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
        pool,
        "SELECT count(*) FROM workflow_step_runs WHERE worker_id = 'w1' AND finished_at IS NULL",
    )
    .await;
    assert_eq!(interrupted, 1, "one step was interrupted by the kill");

    let exit = worker_in_process(&url, "w2", 0, "2s", Duration::from_secs(60)).await;
    assert!(
        matches!(exit, Ok(WorkerExit::Finished(_))),
        "second worker exits 0 when all is done: {exit:?}"
    );

    assert_exactly_once(pool, 4).await;
    // Resumed, not restarted: the victim's early checkpoints are w1's, the rest w2's.
    let by: Vec<(i32, String)> = sqlx::query_as(
        "SELECT step_index, worker_id FROM workflow_checkpoints WHERE workflow_id = $1 ORDER BY step_index",
    )
    .bind(&victim)
    .fetch_all(pool)
    .await
    .expect("checkpoints");
    for (step, w) in &by {
        let expected = if *step < next_step { "w1" } else { "w2" };
        assert_eq!(w, expected, "step {step} of {victim}");
    }
    let interrupted_step_done_by_w2 = scalar(
        pool,
        "SELECT count(*) FROM workflow_step_runs r JOIN workflow_checkpoints c USING (workflow_id, step_index) \
         WHERE r.worker_id = 'w1' AND r.finished_at IS NULL AND c.worker_id = 'w2'",
    )
    .await;
    assert_eq!(interrupted_step_done_by_w2, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_in_parallel_never_run_the_same_step_twice() {
    let Some((url, store)) = seeded(12).await else {
        return;
    };
    let pool = store.pool();
    let (a, b) = tokio::join!(
        worker_in_process(&url, "wa", 30, "5s", Duration::from_secs(90)),
        worker_in_process(&url, "wb", 30, "5s", Duration::from_secs(90)),
    );
    assert!(matches!(a, Ok(WorkerExit::Finished(_))), "{a:?}");
    assert!(matches!(b, Ok(WorkerExit::Finished(_))), "{b:?}");
    assert_exactly_once(pool, 12).await;
    let runs = scalar(pool, "SELECT count(*) FROM workflow_step_runs").await;
    assert_eq!(runs, 12 * STEPS, "every step ran exactly once, none twice");
    let workers = scalar(
        pool,
        "SELECT count(DISTINCT worker_id) FROM workflow_step_runs",
    )
    .await;
    assert_eq!(workers, 2, "both workers took part");
}

fn engine(store: &PgStore, id: &str, lease: Duration) -> Engine {
    Engine::new(
        store.clone(),
        id,
        vec![investigation::definition(
            investigation::InvestigationConfig::default(),
        )],
        EngineSettings {
            lease,
            ..EngineSettings::default()
        },
    )
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_out() {
    let Some((_url, store)) = seeded(1).await else {
        return;
    };
    let pool = store.pool();
    let (_tx, stop) = watch::channel(false);
    let a = engine(&store, "a", Duration::from_millis(300));
    let b = engine(&store, "b", Duration::from_millis(300));
    let mut stale = a.claim().await.expect("claim").expect("one workflow");
    assert_eq!(
        a.run_step(&mut stale, &stop).await.expect("step"),
        StepOutcome::Checkpointed { completed: false }
    );
    assert!(
        b.claim().await.expect("claim").is_none(),
        "the lease is live"
    );
    // `a` stalls past its lease.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = b.claim().await.expect("claim").expect("expired lease");
    assert_eq!(taken.claim.next_step, 1, "resumes after the checkpoint");
    assert!(taken.input.raw("gather_history").is_some());
    assert_eq!(
        a.run_step(&mut stale, &stop).await.expect("fenced"),
        StepOutcome::LeaseLost,
        "the old owner may not run another step"
    );
    assert_eq!(
        b.drive(taken, &stop).await.expect("drive"),
        Progress::Completed
    );
    assert_exactly_once(pool, 1).await;
    let by: Vec<String> =
        sqlx::query_scalar("SELECT worker_id FROM workflow_checkpoints ORDER BY step_index")
            .fetch_all(pool)
            .await
            .expect("checkpoints");
    assert_eq!(by, vec!["a", "b", "b", "b", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_step_in_flight_checkpoints_and_releases_leases() {
    let Some((url, store)) = seeded(3).await else {
        return;
    };
    let pool = store.pool();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("w.log");
    // A long lease: only an explicit release lets another worker in quickly.
    let mut w = worker(&url, "w", 1500, "60s", false, &log);
    wait_for(
        pool,
        "SELECT workflow_id FROM workflow_step_runs WHERE finished_at IS NULL \
         AND started_at < now() - interval '300 milliseconds' LIMIT 1",
        Duration::from_secs(60),
    )
    .await;
    let before = scalar(pool, "SELECT count(*) FROM workflow_checkpoints").await;
    let sent = Command::new("kill")
        .args(["-TERM", &w.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = wait_exit(&mut w, Duration::from_secs(20));
    assert!(status.success(), "exit 0 after SIGTERM");
    let text = std::fs::read_to_string(&log).expect("log");
    let summary: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str(l)
                .ok()
                .filter(|v: &serde_json::Value| v.get("stopped_by_signal").is_some())
        })
        .expect("summary line");
    assert_eq!(summary["stopped_by_signal"], true);
    let after = scalar(pool, "SELECT count(*) FROM workflow_checkpoints").await;
    assert_eq!(
        after,
        before + 1,
        "the step in flight was finished and checkpointed"
    );
    let unfinished = scalar(
        pool,
        "SELECT count(*) FROM workflow_step_runs WHERE finished_at IS NULL OR outcome <> 'checkpointed'",
    )
    .await;
    assert_eq!(unfinished, 0, "no step was abandoned");
    let leased = scalar(
        pool,
        "SELECT count(*) FROM workflows WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL",
    )
    .await;
    assert_eq!(leased, 0, "every lease released");
    let pending = scalar(
        pool,
        "SELECT count(*) FROM workflows WHERE status = 'runnable'",
    )
    .await;
    assert!(pending > 0, "stopped before the end");
    // Released, so the next worker starts at once rather than after the 60 s lease.
    let started = Instant::now();
    let next = worker_in_process(&url, "next", 0, "60s", Duration::from_secs(30)).await;
    assert!(matches!(next, Ok(WorkerExit::Finished(_))), "{next:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_exactly_once(pool, 3).await;
}

#[tokio::test]
async fn pruning_deletes_old_checkpoints_of_finished_workflows_only() {
    let Some((_url, store)) = seeded(3).await else {
        return;
    };
    let pool = store.pool();
    let (_tx, stop) = watch::channel(false);
    let e = engine(&store, "p", Duration::from_secs(30));
    for _ in 0..2 {
        assert_eq!(
            e.work_once(&stop).await.expect("work"),
            Some(Progress::Completed)
        );
    }
    let mut partial = e.claim().await.expect("claim").expect("third");
    assert_eq!(
        e.run_step(&mut partial, &stop).await.expect("step"),
        StepOutcome::Checkpointed { completed: false }
    );
    e.release_all().await.expect("release");
    // The first investigation finished ten days ago; the second just now.
    sqlx::query(
        "UPDATE workflows SET completed_at = now() - interval '10 days' WHERE workflow_id = 'investigation:r-00'",
    )
    .execute(pool)
    .await
    .expect("age");
    let week = Duration::from_secs(7 * 24 * 3600);
    let r = retention::prune(&store, week, 1).await.expect("prune");
    assert_eq!(
        (r.workflows, r.checkpoints, r.step_runs, r.effects),
        (1, STEPS as u64, STEPS as u64, STEPS as u64)
    );
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT workflow_id, count(*) FROM workflow_checkpoints GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("left");
    assert_eq!(
        left,
        vec![
            ("investigation:r-01".to_owned(), STEPS),
            ("investigation:r-02".to_owned(), 1)
        ],
        "recent and runnable workflows keep their checkpoints"
    );
    let case = scalar(
        pool,
        "SELECT count(*) FROM investigation_cases WHERE workflow_id = 'investigation:r-00'",
    )
    .await;
    assert_eq!(case, 1, "the case outlives its checkpoints");
    assert_eq!(
        retention::prune(&store, week, 100)
            .await
            .expect("again")
            .workflows,
        0
    );
    // Even with no retention at all, a runnable workflow keeps its checkpoints.
    retention::prune(&store, Duration::ZERO, 100)
        .await
        .expect("prune all");
    let runnable = scalar(
        pool,
        "SELECT count(*) FROM workflow_checkpoints WHERE workflow_id = 'investigation:r-02'",
    )
    .await;
    assert_eq!(runnable, 1);
    assert_eq!(
        e.work_once(&stop).await.expect("resume"),
        Some(Progress::Completed),
        "pruning leaves a runnable workflow resumable"
    );
}
