//! Replicas whose batches share accounts commit side by side without deadlocking. Kafka keys
//! by account, so this happens only briefly there (a rebalance, a paused zombie), but several
//! file-fed replicas on one database share all 5,000 generated accounts all the time: the soak
//! run with named pipes died within a minute on "deadlock detected" before upserts took their
//! row locks in key order and conflicts were retried.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_accounts_commit_without_deadlock() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    const PER_REPLICA: u64 = 15_000;
    // The replicas run in-process (`pfm::app::App`), each with its own store pool: the
    // database's row locks, not the process boundary, are under test.
    let replicas: Vec<_> = (0..3u64)
        .map(|i| {
            // Different seeds: distinct transaction ids, the same account ids.
            let file = dir.path().join(format!("in-{i}.jsonl"));
            std::fs::write(&file, common::generated_input(PER_REPLICA, 300 + i))
                .expect("write input");
            let pipeline =
                common::in_process::InProcess::new(dir.path(), Some(&url)).env("BATCH_SIZE", "250");
            tokio::spawn(async move { pipeline.run_file(&file).await })
        })
        .collect();
    for (i, replica) in replicas.into_iter().enumerate() {
        let result = replica.await.expect("the replica task does not panic");
        assert!(result.is_ok(), "replica {i} ends without error: {result:?}");
    }
    let c = common::pg_integrity(&url).await;
    println!("{c:?}");
    let expected = 3 * PER_REPLICA as i64;
    assert_eq!(c.total(), expected, "every record stored");
    assert_eq!(c.distinct_ids, expected, "each record once");
    assert_eq!(c.duplicate_decisions, 0);
}
