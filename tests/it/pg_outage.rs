//! Database outage mid-run: PostgreSQL is stopped (immediate mode) while the pipeline
//! streams, then restarted. The pipeline pauses, reports 503 with `database:false`, stays
//! live, resumes by itself, and finishes with exact counts. Uses a private PostgreSQL
//! instance (scripts/pg-test-server.sh) because it must be stopped.

use crate::common;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pg_script(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/pg-test-server.sh"
        ))
        .args(args)
        .output()
        .expect("pg script");
    assert!(
        out.status.success(),
        "pg script {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct PrivatePg(String);

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/pg-test-server.sh"
            ))
            .args(["stop", &self.0])
            .status();
    }
}

fn wait_health(port: u16, want: u16, timeout: Duration) -> Option<Value> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok((code, body)) = common::http_get(port, "/health") {
            if code == want {
                return serde_json::from_str(&body).ok();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn pipeline_pauses_during_a_database_outage_and_resumes_by_itself() {
    if common::pg_server_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pg_dir = tempfile::Builder::new()
        .prefix("pfm-outage")
        .tempdir_in("/tmp")
        .expect("tmp");
    let pg_path = pg_dir.path().join("pg").to_string_lossy().into_owned();
    // Durable settings: this test crashes PostgreSQL, and with the test suite's usual
    // `synchronous_commit=off` a crash may drop commits the server already acknowledged
    // (RDS, like any production server, runs with it on).
    let url = pg_script(&[
        "start",
        &pg_path,
        &common::free_port().to_string(),
        "--durable",
    ]);
    let _guard = PrivatePg(pg_path.clone());
    let migrate = common::pipeline_cmd(dir.path(), Some(&url))
        .arg("migrate")
        .status()
        .expect("migrate");
    assert!(migrate.success());
    let input = common::generated_input(30_000, 5);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, &input).expect("write");

    let port = common::free_port();
    let child = common::pipeline_cmd(dir.path(), Some(&url))
        .env("HTTP_PORT", port.to_string())
        .env("BATCH_SIZE", "20")
        .args(["run", "--input", file.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert!(
        wait_health(port, 200, Duration::from_secs(10)).is_some(),
        "healthy before the outage"
    );
    std::thread::sleep(Duration::from_millis(800));

    pg_script(&["crash", &pg_path]);
    let degraded = wait_health(port, 503, Duration::from_secs(15))
        .expect("/health turns 503 during the outage");
    assert_eq!(degraded["status"], "degraded");
    assert_eq!(degraded["checks"]["database"], false);
    let (live, _) = common::http_get(port, "/live").expect("live");
    assert_eq!(live, 200, "an outage must not fail liveness");
    std::thread::sleep(Duration::from_secs(2));
    pg_script(&["restart", &pg_path]);

    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "the run finishes by itself: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = common::pg_integrity(&url).await;
    println!("after outage: {c:?}");
    assert_eq!(c.total(), 30_000);
    assert_eq!(c.distinct_ids, 30_000);
    assert_eq!(c.duplicate_decisions, 0);
}

#[test]
fn start_up_fails_fast_when_the_database_is_unreachable() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("postgres://postgres@127.0.0.1:{}/none", common::free_port());
    let started = Instant::now();
    let out = common::pipeline_cmd(dir.path(), Some(&url))
        .args(["run", "--count", "1"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(30), "bounded retry");
    assert!(String::from_utf8_lossy(&out.stderr).contains("database unreachable"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(common::TEST_KEY));
}
