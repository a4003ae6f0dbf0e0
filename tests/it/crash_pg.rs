//! Crash test: SIGKILL `pipeline run --input` against PostgreSQL at random moments and
//! restart it; afterwards every record is stored exactly once and the decision log has no
//! duplicates. Prints the number of kills and the per-table counts.

use crate::common;

use rand::{Rng, SeedableRng};
use std::process::Stdio;
use std::time::{Duration, Instant};

const RECORDS: u64 = 50_000;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let Some(url) = common::fresh_pg_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let migrate = common::pipeline_cmd(dir.path(), Some(&url))
        .arg("migrate")
        .status()
        .expect("migrate");
    assert!(migrate.success());
    let mut input = common::generated_input(RECORDS, 99);
    // A few malformed lines too: dead letters must not duplicate either.
    for i in 0..20 {
        input.push_str(&format!(
            "{{\"transaction_id\":\"broken-{i}\",\"amount\":\"-1\"}}\n"
        ));
    }
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, &input).expect("write");
    let expected = RECORDS as i64 + 20;

    let mut rng = rand::rngs::StdRng::seed_from_u64(20261127);
    let mut kills = 0;
    let started = Instant::now();
    loop {
        let mut child = common::pipeline_cmd(dir.path(), Some(&url))
            .env("BATCH_SIZE", "200")
            .args(["run", "--input", file.to_str().expect("path")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Short enough to land several kills in a run of about 2 s (batches overlap commits).
        let kill_after = Duration::from_millis(rng.gen_range(150..900));
        let deadline = Instant::now() + kill_after;
        let mut finished = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        match finished {
            Some(status) => {
                assert!(status.success(), "a run that was not killed must exit 0");
                break;
            }
            None if kills < 8 => {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                kills += 1;
            }
            None => {
                // Enough kills: let this one finish.
                let status = child.wait().expect("wait");
                assert!(status.success());
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "crash test took too long"
        );
    }
    let c = common::pg_integrity(&url).await;
    println!(
        "kills={kills} transactions={} quarantine={} dead_letters={} decision_log={} distinct_ids={}",
        c.transactions, c.quarantine, c.dead_letters, c.decision_log, c.distinct_ids
    );
    assert!(
        kills >= 3,
        "the test must actually kill the pipeline several times ({kills})"
    );
    assert_eq!(c.total(), expected, "every record stored exactly once");
    assert_eq!(c.distinct_ids, expected, "no transaction_id in two places");
    assert_eq!(
        c.decision_log,
        c.transactions + c.quarantine,
        "one decision per governed record"
    );
    assert_eq!(c.duplicate_decisions, 0);
    let verify = common::pipeline_cmd(dir.path(), Some(&url))
        .args(["audit", "verify"])
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
