//! Broker outage: the broker goes down mid-run and comes back with its data; the pipeline
//! recovers by itself and every record is committed exactly once.
//!
//! The broker here is librdkafka's mock cluster (`rdkafka::mocking::MockCluster`): it speaks
//! the Kafka protocol on a real TCP port and can take a broker down and bring it back with
//! its log intact. tansu cannot show "comes back with its data" here: its memory storage is
//! lost on restart, and with S3 storage (tried against moto) one partition stopped being
//! served after the restart (../shared/TESTING.md lists both options).

use crate::common;

use crate::common::kafka::{self as k, Replica, ReplicaSpec};
use rdkafka::mocking::MockCluster;
use std::time::{Duration, Instant};

const RECORDS: i64 = 20_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_recovers_by_itself_when_the_broker_returns_with_its_data() {
    // The shared broker's presence says the Kafka tests are meant to run (CI).
    let Some(_) = k::bootstrap() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("payments", 4, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    k::produce(&bootstrap, "payments", RECORDS as u64, 61);

    let spec = ReplicaSpec {
        dir: dir.path(),
        database_url: &url,
        bootstrap: &bootstrap,
        topic: "payments",
        group: "outage",
        extra_env: &[("BATCH_SIZE", "50")],
    };
    let mut replica = Replica::start("survivor", &spec);
    let deadline = Instant::now() + Duration::from_secs(120);
    while common::pg_integrity(&url).await.total() < 2_000 {
        assert!(
            Instant::now() < deadline,
            "no progress: {}",
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.broker_down(1).expect("broker down");
    let at_outage = common::pg_integrity(&url).await.total();
    let unready = k::wait_until(Duration::from_secs(20), || {
        common::http_get(replica.port, "/health").is_ok_and(|(s, _)| s == 503)
    });
    let during = common::pg_integrity(&url).await.total();
    assert!(replica.is_running(), "the pipeline survives the outage");
    cluster.broker_up(1).expect("broker up");
    let returned = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let c = common::pg_integrity(&url).await;
        if c.total() >= RECORDS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stuck at {} after the broker returned: {}",
            c.total(),
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let caught_up = returned.elapsed();
    let ready = k::wait_until(Duration::from_secs(30), || {
        common::http_get(replica.port, "/health")
            .is_ok_and(|(s, b)| s == 200 && b.contains("\"kafka\":true"))
    });
    let c = common::pg_integrity(&url).await;
    println!(
        "committed_at_outage={at_outage} committed_while_down={during} unready_during_outage={unready} \
         total={} transactions={} quarantine={} dead_letters={} caught_up_after_return={:.1}s",
        c.total(),
        c.transactions,
        c.quarantine,
        c.dead_letters,
        caught_up.as_secs_f64()
    );
    assert!(at_outage < RECORDS, "the outage happened mid-run");
    assert!(ready, "ready again after the broker returned");
    assert_eq!(c.total(), RECORDS, "every record exactly once: {c:?}");
    assert_eq!(c.distinct_ids, RECORDS);
    assert_eq!(c.duplicate_decisions, 0);
    assert!(replica.stop().success());
}
