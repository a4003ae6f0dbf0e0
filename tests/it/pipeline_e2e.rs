//! End to end on the embedded default (SQLite, local files): through the real binary where
//! the command line, signals or exit codes are under test, in-process otherwise.

use crate::common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

fn pipeline(data_dir: &Path) -> Command {
    common::pipeline_cmd(data_dir, None)
}

fn summary(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().expect("a summary line");
    serde_json::from_str(last).expect("summary is JSON")
}

/// Hostile and malformed lines, each of which must become exactly one dead letter.
fn bad_lines() -> Vec<String> {
    let ok = r#""account_id":"a","timestamp":"2026-01-01T00:00:00Z","currency":"EUR","merchant":"m","mcc":"5411","country":"DE","channel":"online""#;
    vec![
        "{not json".into(),
        "[1,2,3]".into(),
        format!(r#"{{"transaction_id":"bad-1","amount":"-5",{ok}}}"#),
        format!(r#"{{"transaction_id":"bad-2","amount":"0",{ok}}}"#),
        format!(r#"{{"transaction_id":"bad-3","amount":"NaN",{ok}}}"#),
        format!(r#"{{"transaction_id":"bad-4","amount":1e309,{ok}}}"#),
        format!(
            r#"{{"transaction_id":"bad-5","amount":"10","currency":"XXY","account_id":"a","timestamp":"2026-01-01T00:00:00Z","merchant":"m","mcc":"5411","country":"DE","channel":"online"}}"#
        ),
        format!(
            r#"{{"transaction_id":"bad-6","amount":"10","account_id":"a","timestamp":"2026-02-30T00:00:00Z","currency":"EUR","merchant":"m","mcc":"5411","country":"DE","channel":"online"}}"#
        ),
        r#"{"transaction_id":"bad-7","customer_email":"leak.me@example.com"}"#.into(),
        format!(
            r#"{{"transaction_id":"bad-8","amount":"1","pad":"{}",{ok}}}"#,
            "x".repeat(1_100_000)
        ),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
    ]
}

fn sqlite_counts(db: &Path) -> (i64, i64, i64, i64) {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let s = pfm::store::SqliteStore::open(db).await.expect("open");
        let c = pfm::store::CommitStore::counts(&s).await.expect("counts");
        (c.transactions, c.quarantine, c.dead_letters, c.decision_log)
    })
}

#[test]
fn every_record_is_accounted_for_once_and_rerun_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut input = common::generated_input(3000, 7);
    let bad = bad_lines();
    for b in &bad {
        input.push_str(b);
        input.push('\n');
    }
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, &input).expect("write input");
    let run = || {
        pipeline(dir.path())
            .env("ENABLE_S3_LAKEHOUSE_EXPORT", "false")
            .args(["run", "--input", file.to_str().expect("path")])
            .output()
            .expect("run")
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out.stdout);
    assert_eq!(s["records_in"], 3000 + bad.len() as u64);
    let (t, q, d, log) = sqlite_counts(&dir.path().join("pipeline.db"));
    println!("transactions={t} quarantine={q} dead_letters={d} decision_log={log}");
    assert_eq!(
        t + q + d,
        3000 + bad.len() as i64,
        "every record lands in exactly one table"
    );
    assert_eq!(
        d,
        bad.len() as i64,
        "each malformed line is one dead letter"
    );
    assert_eq!(log, t + q, "one decision per governed record");
    assert!(q > 0, "the policy denies some generated fraud");
    assert_eq!(s["transactions"].as_i64(), Some(t));

    let again = run();
    assert!(again.status.success());
    assert_eq!(
        sqlite_counts(&dir.path().join("pipeline.db")),
        (t, q, d, log),
        "rerun changes nothing"
    );

    // Same records through stdin (no stored position): recognised as replays by id + digest.
    let mut child = pipeline(dir.path())
        .args(["run", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let s = summary(&out.stdout);
    assert_eq!(s["replays"], 3000);
    assert_eq!(s["transactions"], 0);
    let (t2, q2, _, log2) = sqlite_counts(&dir.path().join("pipeline.db"));
    assert_eq!((t2, q2, log2), (t, q, log));

    let verify = pipeline(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// In-process (`pfm::app::App`): what is stored is under test, not the process boundary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_pii_in_the_database_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = common::generated_input(2000, 11);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, &input).expect("write");
    let summary = common::in_process::InProcess::new(dir.path(), None)
        .run_file(&file)
        .await
        .expect("the run ends without an error");
    assert_eq!(summary.records_in, 2000);
    let secrets = pii_values(&input);
    assert!(
        secrets.len() > 1000,
        "the corpus must carry PII to be a meaningful test"
    );
    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("ls").flatten() {
        let p = entry.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pipeline.db"))
        {
            haystack.extend(std::fs::read(&p).expect("read db file"));
        }
    }
    let text = String::from_utf8_lossy(&haystack);
    let leaked: Vec<_> = secrets
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .take(5)
        .collect();
    assert!(
        leaked.is_empty(),
        "plaintext PII found in the database: {leaked:?}"
    );
}

#[test]
fn serves_health_and_metrics_while_streaming_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = common::free_port();
    let child = pipeline(dir.path())
        .env("HTTP_PORT", port.to_string())
        .env("BATCH_SIZE", "50")
        .args(["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut health = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok((200, body)) = common::http_get(port, "/health") {
            health = Some(body);
            break;
        }
    }
    let body = health.expect("/health answered 200 while streaming");
    let v: Value = serde_json::from_str(&body).expect("health JSON");
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["checks"]["database"], true);
    assert!(v["checks"].get("kafka").is_none(), "kafka is not in use");
    let (code, _) = common::http_get(port, "/live").expect("live");
    assert_eq!(code, 200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, metrics) = common::http_get(port, "/metrics").expect("metrics");
    assert_eq!(code, 200);
    for name in [
        "pipeline_records_total{outcome=\"transaction\"}",
        "pipeline_batch_duration_seconds_bucket",
        "pipeline_stage_duration_seconds_count{stage=\"govern\"}",
        "pipeline_policy_decisions_total{result=\"allow\"}",
        "pipeline_database_up 1",
    ] {
        assert!(metrics.contains(name), "missing {name} in /metrics");
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "exit 0 after SIGTERM: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out.stdout);
    assert_eq!(s["stopped_by_signal"], true);
    let (t, q, d, _) = sqlite_counts(&dir.path().join("pipeline.db"));
    assert_eq!(
        s["records_in"].as_i64(),
        Some(t + q + d),
        "the batch in flight was committed"
    );
    // Logs are JSON lines on stdout, before the summary.
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        serde_json::from_str::<Value>(line).expect("every stdout line is JSON");
    }
}

#[test]
fn bad_settings_stop_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tmp");
    for (var, val) in [
        ("BATCH_SIZE", "lots"),
        ("HTTP_PORT", "-1"),
        ("ENCRYPTION_KEY", "short"),
    ] {
        let out = pipeline(dir.path())
            .env(var, val)
            .args(["run", "--count", "1"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var) && err.contains("expected"), "{err}");
        assert!(
            !err.contains(val) || val == "-1",
            "the value is not echoed: {err}"
        );
    }
}

#[test]
fn run_count_processes_synthetic_records_and_healthcheck_works() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = pipeline(dir.path())
        .args(["run", "--count", "500"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out.stdout)["records_in"], 500);
    let hc = pipeline(dir.path())
        .arg("healthcheck")
        .status()
        .expect("healthcheck");
    assert!(hc.success());
    let bad = pipeline(dir.path())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env(
            "ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .arg("healthcheck")
        .status()
        .expect("healthcheck");
    assert_eq!(bad.code(), Some(1));
}

/// Every PII value of the generated input: the customer fields and labelled spans.
fn pii_values(input: &str) -> std::collections::BTreeSet<String> {
    let mut secrets = std::collections::BTreeSet::new();
    for line in input.lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        for f in ["customer_email", "card_number", "iban", "customer_name"] {
            if let Some(s) = v[f].as_str() {
                secrets.insert(s.to_owned());
            }
        }
        for span in v["label"]["pii"].as_array().into_iter().flatten() {
            let text = span["text"].as_str().unwrap_or_default();
            // Short name fragments would match inside ordinary words; full names do not.
            let long_enough = span["kind"] != "person_name" || text.chars().count() >= 8;
            if long_enough && !text.is_empty() {
                secrets.insert(text.to_owned());
            }
        }
    }
    secrets
}

/// In-process (`pfm::app::App`), including the final lakehouse flush of `run_until`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lakehouse_parquet_matches_the_database_and_holds_no_plaintext_pii() {
    let Some(py) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let input = common::generated_input(4000, 21);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, &input).expect("write");
    let summary = common::in_process::InProcess::new(dir.path(), None)
        .env("ENABLE_S3_LAKEHOUSE_EXPORT", "true")
        .env("BATCH_SIZE", "250")
        .run_file(&file)
        .await
        .expect("the run ends without an error");
    assert_eq!(summary.records_in, 4000);
    let db = dir.path().join("pipeline.db");
    let (t, q, _, log) = tokio::task::spawn_blocking(move || sqlite_counts(&db))
        .await
        .expect("counts");
    let secrets = pii_values(&input);
    let secrets_file = dir.path().join("secrets.txt");
    std::fs::write(
        &secrets_file,
        secrets.iter().cloned().collect::<Vec<_>>().join("\n"),
    )
    .expect("write");
    let lake = dir.path().join("lakehouse");
    let rb = Command::new(&py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/lake_readback.py"
        ))
        .arg(&lake)
        .arg(&secrets_file)
        .output()
        .expect("python");
    assert!(
        rb.status.success(),
        "{}",
        String::from_utf8_lossy(&rb.stderr)
    );
    let v: Value = serde_json::from_slice(&rb.stdout).expect("json");
    println!("read back: {v}");
    assert_eq!(v["rows"]["transactions"].as_i64(), Some(t));
    assert_eq!(v["rows"]["quarantine"].as_i64(), Some(q));
    assert_eq!(v["rows"]["decision_log"].as_i64(), Some(log));
    assert_eq!(v["types"]["transactions"]["amount"], "decimal128(17, 4)");
    assert_eq!(v["types"]["transactions"]["ts"], "timestamp[us, tz=UTC]");
    assert_eq!(
        v["leaks"], 0,
        "plaintext PII in Parquet: {}",
        v["leak_examples"]
    );
    // Small commits are gathered into one range: one file per table and date, not per batch.
    let files = v["files"]["transactions"].as_i64().unwrap_or(0);
    assert!(
        files <= 40,
        "{files} files for 4000 rows: exports must not be one file per batch"
    );
}
