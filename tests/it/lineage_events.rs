//! OpenLineage run events (decision 0013), against a stand-in backend that receives them
//! over HTTP as Marquez would (`common::lineage_receiver`): every event is accepted by
//! openlineage-python's own event model (tests/lineage_check.py), runs pair up and link to
//! their parents, the intervals' statistics add up to what the database holds, a backend
//! that is down blocks nothing, and a killed process's runs are closed by the next start
//! without an interval being lost or reported twice. In-process through `pfm::app::App`,
//! except where the process boundary (SIGKILL) is the point.

use crate::common;
use crate::common::in_process::InProcess;
use crate::common::lineage_receiver::{check_runs, interval_rows, python_check, Receiver, Run};
use pfm::app::SourceChoice;
use pfm::store::{CommitStore, Counts, PgStore, SqliteStore};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEY: &str = "lineage-test-key-7f3a";

/// Generated records plus lines that can only be dead letters.
fn input_file(dir: &Path, count: u64, seed: u64) -> PathBuf {
    let mut text = common::generated_input(count, seed);
    for bad in [
        "{not json",
        "[1,2,3]",
        r#"{"transaction_id":"lineage-bad-1","amount":"-5"}"#,
    ] {
        text.push_str(bad);
        text.push('\n');
    }
    let path = dir.join("in.jsonl");
    std::fs::write(&path, text).expect("write input");
    path
}

async fn counts(dir: &Path, url: Option<&str>) -> Counts {
    match url {
        Some(url) => {
            let s = PgStore::connect(url, 1).await.expect("connect");
            s.counts().await.expect("counts")
        }
        None => {
            let s = SqliteStore::open(&dir.join("pipeline.db"))
                .await
                .expect("open");
            s.counts().await.expect("counts")
        }
    }
}

async fn completed_investigations(dir: &Path, url: Option<&str>) -> i64 {
    let sql =
        "SELECT COUNT(*) FROM workflows WHERE kind = 'investigation' AND status = 'completed'";
    match url {
        Some(url) => {
            let s = PgStore::connect(url, 1).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(s.pool())
                .await
                .expect(sql)
        }
        None => {
            let s = SqliteStore::open(&dir.join("pipeline.db"))
                .await
                .expect("open");
            sqlx::query_scalar(sql)
                .fetch_one(s.pool())
                .await
                .expect(sql)
        }
    }
}

async fn lineage_backlog(dir: &Path, url: Option<&str>) -> i64 {
    let sql = "SELECT COUNT(*) FROM lineage_outbox";
    match url {
        Some(url) => {
            let s = PgStore::connect(url, 1).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(s.pool())
                .await
                .expect(sql)
        }
        None => {
            let s = SqliteStore::open(&dir.join("pipeline.db"))
                .await
                .expect("open");
            sqlx::query_scalar(sql)
                .fetch_one(s.pool())
                .await
                .expect(sql)
        }
    }
}

fn jobs<'a>(runs: &'a BTreeMap<String, Run>, job: &str) -> Vec<&'a Run> {
    runs.values().filter(|r| r.job == job).collect()
}

/// The intervals' statistics against the database, table by table.
fn assert_statistics_match(runs: &BTreeMap<String, Run>, c: &Counts) {
    for (table, n) in [
        ("transactions", c.transactions),
        ("quarantine", c.quarantine),
        ("dead_letters", c.dead_letters),
        ("decision_log", c.decision_log),
    ] {
        assert_eq!(
            interval_rows(runs, table),
            n,
            "rows the intervals reported for {table} against the table"
        );
    }
}

fn output<'a>(event: &'a Value, suffix: &str) -> &'a Value {
    event["outputs"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|o| o["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
        })
        .unwrap_or_else(|| panic!("no output named *{suffix} in {event}"))
}

fn metric(port: u16, name: &str) -> f64 {
    let Ok((_, body)) = common::http_get(port, "/metrics") else {
        return -1.0;
    };
    body.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.strip_prefix(' ') {
                Some(v) => v,
                None => rest.strip_prefix('{')?.split_once("} ")?.1,
            };
            value.trim().parse::<f64>().ok()
        })
        .sum()
}

async fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn describe_run_and_match_the_database(url: Option<&str>, dir: &Path) {
    let receiver = Receiver::start().await;
    let input = input_file(dir, 3000, 7);
    let app = InProcess::new(dir, url)
        .env("OPENLINEAGE_URL", receiver.url())
        .env("OPENLINEAGE_API_KEY", KEY)
        .env("OPENLINEAGE_NAMESPACE", "it-lineage")
        .env("OPENLINEAGE_INTERVAL", "100ms")
        .env("BATCH_SIZE", "20")
        .env("ENABLE_S3_LAKEHOUSE_EXPORT", "true");
    let summary = app.run_file(&input).await.expect("run");
    assert_eq!(summary.records_in, 3003);
    // On PostgreSQL the investigations run on a worker, whose run is a command's.
    if let Some(url) = url {
        let worker = common::pipeline_cmd(dir, Some(url))
            .env("OPENLINEAGE_URL", receiver.url())
            .env("OPENLINEAGE_API_KEY", KEY)
            .env("OPENLINEAGE_NAMESPACE", "it-lineage")
            .args(["worker", "--once"])
            .output()
            .expect("worker");
        assert!(
            worker.status.success(),
            "worker: {}",
            String::from_utf8_lossy(&worker.stderr)
        );
    }

    // A bounded run delivers its events before it returns.
    let events = receiver.events();
    assert_eq!(lineage_backlog(dir, url).await, 0, "lineage_outbox drained");
    let runs = check_runs(&events);
    let process = jobs(&runs, "pipeline.run");
    assert_eq!(process.len(), 1, "one run per process");
    assert_eq!(process[0].end_type(), "COMPLETE");
    assert_eq!(process[0].start["job"]["namespace"], "it-lineage");
    let intervals = jobs(&runs, "pipeline.run.commits");
    assert!(
        intervals.len() >= 2,
        "a 100 ms interval over {} batches closes more than once: {}",
        summary.batches,
        intervals.len()
    );
    assert!(
        (intervals.len() as u64) < summary.batches,
        "never one run per batch"
    );
    assert!(intervals
        .iter()
        .all(|r| r.end_type() == "COMPLETE"
            && r.parent.as_deref() == Some(process[0].run_id.as_str())));
    let c = counts(dir, url).await;
    assert!(
        c.transactions > 0 && c.quarantine > 0 && c.dead_letters == 3,
        "{c:?}"
    );
    assert_statistics_match(&runs, &c);

    // Datasets by the naming conventions, with their facets.
    let first = intervals[0];
    let input_ds = &first.start["inputs"][0];
    assert_eq!(input_ds["namespace"], "file");
    assert_eq!(
        input_ds["name"],
        std::path::absolute(&input)
            .expect("abs")
            .display()
            .to_string()
    );
    let transactions = output(&first.start, ".transactions");
    let ns = transactions["namespace"].as_str().unwrap_or_default();
    match url {
        Some(_) => assert!(
            ns.starts_with("postgres://")
                && transactions["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(".public.transactions")),
            "{transactions}"
        ),
        None => assert!(
            ns.starts_with("sqlite:///") && transactions["name"] == "main.transactions",
            "{transactions}"
        ),
    }
    let lineage = &transactions["facets"]["columnLineage"]["fields"];
    let transform = |column: &str| lineage[column]["inputFields"][0]["transformations"][0].clone();
    for masked in [
        "card_number_enc",
        "iban_enc",
        "customer_email_enc",
        "customer_name_enc",
        "description",
    ] {
        assert_eq!(transform(masked)["masking"], true, "{masked} is masked");
    }
    assert_eq!(transform("amount")["masking"], false);
    assert_eq!(transform("amount")["subtype"], "IDENTITY");
    assert!(transform("iban_enc")["description"]
        .as_str()
        .is_some_and(|d| d.contains("encryption")));

    // Data quality: dead letters and quarantine by reason, in the intervals that had them.
    let reasons: Vec<Value> = intervals
        .iter()
        .flat_map(|r| {
            r.end["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let dead: i64 = reasons
        .iter()
        .filter(|a| a["assertion"] == "dead_letter")
        .map(|a| {
            a["actual"]
                .as_str()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(dead, c.dead_letters, "dead letters by reason: {reasons:?}");
    assert!(reasons.iter().any(|a| a["assertion"] == "policy_deny"));
    let decided: i64 = intervals
        .iter()
        .flat_map(|r| {
            r.end["run"]["facets"]["pfm_policy"]["decisionsByPolicyVersion"]
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .map(|(version, n)| {
            assert!(version.starts_with("embedded:"), "{version}");
            n.as_i64().unwrap_or(0)
        })
        .sum();
    assert_eq!(decided, c.decision_log, "decisions by policy version");

    // The lakehouse export at shutdown is a child run with what it wrote.
    let exports = jobs(&runs, "pipeline.run.lakehouse_export");
    assert!(!exports.is_empty(), "the final flush is reported");
    let exported = |table: &str| -> i64 {
        exports
            .iter()
            .filter(|r| r.end_type() == "COMPLETE")
            .map(|r| {
                output(&r.end, &format!("table={table}"))["outputFacets"]["outputStatistics"]
                    ["rowCount"]
                    .as_i64()
                    .unwrap_or(0)
            })
            .sum()
    };
    assert_eq!(exported("transactions"), c.transactions);
    assert_eq!(exported("decision_log"), c.decision_log);

    // Each completed workflow is a run of its own job, child of the process that ran it.
    let investigations = jobs(&runs, "pipeline.workflow.investigation");
    let completed = completed_investigations(dir, url).await;
    assert!(completed > 0, "the run had reviews to investigate");
    assert_eq!(
        investigations.len() as i64,
        completed,
        "one run per completed investigation"
    );
    let (parent_job, parent_run) = match url {
        None => ("pipeline.run", process[0].run_id.clone()),
        Some(_) => {
            let w = jobs(&runs, "pipeline.worker");
            assert_eq!(w.len(), 1, "one worker run");
            ("pipeline.worker", w[0].run_id.clone())
        }
    };
    for r in &investigations {
        assert_eq!(r.end_type(), "COMPLETE");
        assert_eq!(
            r.parent.as_deref(),
            Some(parent_run.as_str()),
            "{parent_job}"
        );
        output(&r.start, "investigation_cases");
    }

    let auth = receiver.authorization();
    let bearer = format!("Bearer {KEY}");
    assert!(
        !auth.is_empty() && auth.iter().all(|a| a.as_deref() == Some(bearer.as_str())),
        "every request carries the key as a bearer token"
    );
    if let Some(summary) = python_check(&events, dir) {
        assert_eq!(summary["events"], events.len(), "{summary}");
    }
    receiver.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_describe_the_run_and_match_the_database_on_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    describe_run_and_match_the_database(None, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_describe_the_run_and_match_the_database_on_postgres() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    describe_run_and_match_the_database(Some(&url), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_is_down_blocks_nothing_and_the_backlog_drains_when_it_returns() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = common::free_port();
    let app = InProcess::new(dir.path(), None)
        .env("OPENLINEAGE_URL", format!("http://127.0.0.1:{port}"))
        .env("OPENLINEAGE_INTERVAL", "200ms")
        .env("BATCH_SIZE", "50");
    let running = app
        .start(SourceChoice::Synthetic {
            seed: 3,
            count: None,
        })
        .await
        .expect("start");
    let http = running.port();
    let m = move |name: &str| metric(http, name);
    wait_for(
        "a lineage backlog while the backend is down",
        Duration::from_secs(60),
        || m("pipeline_lineage_backlog") >= 4.0 && m("pipeline_lineage_send_failures_total") >= 1.0,
    )
    .await;
    let before = m("pipeline_records_total");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        m("pipeline_records_total") > before,
        "processing goes on while the backend is down"
    );
    assert_eq!(m("pipeline_lineage_events_sent_total"), 0.0);

    let receiver = Receiver::start_on(port).await;
    wait_for("the backlog to drain", Duration::from_secs(60), || {
        m("pipeline_lineage_backlog") == 0.0 && m("pipeline_lineage_events_sent_total") >= 4.0
    })
    .await;
    running.stop().await.expect("stop");
    let runs = check_runs(&receiver.events());
    let process = jobs(&runs, "pipeline.run");
    assert_eq!(process.len(), 1);
    assert_eq!(process[0].end_type(), "COMPLETE");
    assert!(jobs(&runs, "pipeline.run.commits").len() >= 3);
    assert_statistics_match(&runs, &counts(dir.path(), None).await);
    receiver.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_is_closed_by_the_next_start_and_no_interval_is_lost_or_doubled() {
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = Receiver::start().await;
    let input = input_file(dir.path(), 20_000, 11);
    let run = || {
        let mut c = common::pipeline_cmd(dir.path(), None);
        c.env("OPENLINEAGE_URL", receiver.url())
            .env("OPENLINEAGE_INTERVAL", "150ms")
            .env("BATCH_SIZE", "25")
            .args(["run", "--input", input.to_str().expect("utf-8 path")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let mut first = run().spawn().expect("spawn");
    let closed_intervals = || {
        receiver
            .events()
            .iter()
            .filter(|e| e["job"]["name"] == "pipeline.run.commits" && e["eventType"] == "COMPLETE")
            .count()
    };
    wait_for(
        "two intervals of the first process",
        Duration::from_secs(60),
        || closed_intervals() >= 2,
    )
    .await;
    first.kill().expect("SIGKILL");
    let status = first.wait().expect("wait");
    assert_eq!(
        status.code(),
        None,
        "killed mid-run, not finished: {status:?}"
    );
    let killed_run = receiver
        .events()
        .iter()
        .find(|e| e["job"]["name"] == "pipeline.run")
        .and_then(|e| e["run"]["runId"].as_str().map(str::to_owned))
        .expect("the first process's START");

    let out = run().output().expect("restart");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = check_runs(&receiver.events());
    let process = jobs(&runs, "pipeline.run");
    assert_eq!(process.len(), 2, "two processes");
    let killed = &runs[&killed_run];
    assert_eq!(killed.end_type(), "ABORT", "closed by the next start");
    assert!(killed.end["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("next start")));
    assert!(process
        .iter()
        .any(|r| r.run_id != killed_run && r.end_type() == "COMPLETE"));
    let killed_children: Vec<_> = runs
        .values()
        .filter(|r| r.parent.as_deref() == Some(killed_run.as_str()))
        .collect();
    assert!(
        killed_children.len() >= 3,
        "its intervals, the open one included"
    );
    assert_statistics_match(&runs, &counts(dir.path(), None).await);
    receiver.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_live_replicas_run_stays_open_and_a_killed_ones_is_closed() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut replica = common::pipeline_cmd(dir.path(), Some(&url))
        .env("OPENLINEAGE_URL", receiver.url())
        .env("OPENLINEAGE_INTERVAL", "200ms")
        .env("BATCH_SIZE", "50")
        .args(["run", "--seed", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let starts = || {
        receiver
            .events()
            .iter()
            .filter(|e| e["job"]["name"] == "pipeline.run" && e["eventType"] == "START")
            .filter_map(|e| e["run"]["runId"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    wait_for("the replica's run", Duration::from_secs(60), || {
        !starts().is_empty()
    })
    .await;
    let live = starts()[0].clone();
    let app = InProcess::new(dir.path(), Some(&url)).env("OPENLINEAGE_URL", receiver.url());
    app.run(SourceChoice::Synthetic {
        seed: 2,
        count: Some(200),
    })
    .await
    .expect("second replica");
    let ended = |id: &str| {
        receiver
            .events()
            .iter()
            .any(|e| e["run"]["runId"] == id && e["eventType"] != "START")
    };
    assert!(!ended(&live), "a live replica's run is left open");
    replica.kill().expect("SIGKILL");
    let _ = replica.wait();
    // PostgreSQL releases the killed process's advisory locks when it notices the
    // connection is gone: the next start must see the run's lock free.
    let admin = PgStore::connect(&url, 1).await.expect("connect");
    let t = Instant::now();
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(admin.pool())
        .await
        .expect("pg_locks");
        if held == 0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the killed replica's locks linger"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.run(SourceChoice::Synthetic {
        seed: 3,
        count: Some(100),
    })
    .await
    .expect("third replica");
    let runs = check_runs(&receiver.events());
    assert_eq!(jobs(&runs, "pipeline.run").len(), 3);
    assert_eq!(runs[&live].end_type(), "ABORT");
    assert_statistics_match(&runs, &counts(dir.path(), Some(&url)).await);
    receiver.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_transport_and_the_commands_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("events.jsonl");
    let app = InProcess::new(dir.path(), None).env("OPENLINEAGE_FILE", file.display().to_string());
    app.run(SourceChoice::Synthetic {
        seed: 5,
        count: Some(300),
    })
    .await
    .expect("run");
    let cfg = app.config();
    pfm::app::migrate(&cfg).await.expect("migrate");
    pfm::app::reencrypt(&cfg).await.expect("reencrypt");
    pfm::app::verify_audit_log(&cfg)
        .await
        .expect("audit verify");
    let account = pfm::domain::AccountId::parse("acct-lineage").expect("account id");
    pfm::app::erase(&cfg, &account).await.expect("erase");

    let events: Vec<Value> = std::fs::read_to_string(&file)
        .expect("events file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    let runs = check_runs(&events);
    for job in [
        "pipeline.run",
        "pipeline.migrate",
        "pipeline.reencrypt",
        "pipeline.audit_verify",
        "pipeline.erase",
    ] {
        let found = jobs(&runs, job);
        assert_eq!(found.len(), 1, "{job}");
        assert_eq!(found[0].end_type(), "COMPLETE", "{job}");
    }
    let input = &jobs(&runs, "pipeline.run.commits")[0].start["inputs"][0];
    assert_eq!(input["namespace"], "synthetic://agentic-pfm");
    if let Some(summary) = python_check(&events, dir.path()) {
        assert_eq!(summary["events"], events.len(), "{summary}");
    }
}

#[test]
fn a_bad_lineage_setting_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tmp");
    for (var, value) in [
        ("OPENLINEAGE_URL", "marquez:5000"),
        ("OPENLINEAGE_INTERVAL", "soon"),
        ("OPENLINEAGE_KAFKA_TOPIC", "lineage"),
    ] {
        let out = common::pipeline_cmd(dir.path(), None)
            .env(var, value)
            .args(["run", "--count", "1"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("invalid {var}")), "{err}");
    }
}
