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

/// A mock broker with one topic `payments`, a fresh PostgreSQL database, and the directory
/// the replicas log to. `None` when the services of the Kafka tests are absent (not in CI).
struct Mock {
    dir: tempfile::TempDir,
    url: String,
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    bootstrap: String,
}

impl Mock {
    async fn start(partitions: i32) -> Option<Mock> {
        // The shared broker's presence says the Kafka tests are meant to run (CI).
        k::bootstrap()?;
        let dir = tempfile::tempdir().expect("tmp");
        let url = common::fresh_migrated_pg_database(dir.path()).await?;
        let cluster = MockCluster::new(1).expect("mock cluster");
        cluster
            .create_topic("payments", partitions, 1)
            .expect("topic");
        let bootstrap = cluster.bootstrap_servers();
        Some(Mock {
            dir,
            url,
            cluster,
            bootstrap,
        })
    }

    fn spec<'a>(&'a self, group: &'a str, extra_env: &'a [(&'a str, &'a str)]) -> ReplicaSpec<'a> {
        ReplicaSpec {
            dir: self.dir.path(),
            database_url: &self.url,
            bootstrap: &self.bootstrap,
            topic: "payments",
            group,
            extra_env,
        }
    }

    /// Waits (at most `limit`) until `n` records are committed; returns the count then.
    async fn committed(&self, n: i64, limit: Duration) -> common::PgIntegrity {
        let deadline = Instant::now() + limit;
        loop {
            let c = common::pg_integrity(&self.url).await;
            if c.total() >= n || Instant::now() >= deadline {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_recovers_by_itself_when_the_broker_returns_with_its_data() {
    let Some(m) = Mock::start(4).await else {
        return;
    };
    let (url, cluster) = (&m.url, &m.cluster);
    k::produce(&m.bootstrap, "payments", RECORDS as u64, 61);
    let spec = m.spec("outage", &[("BATCH_SIZE", "50")]);
    let mut replica = Replica::start("survivor", &spec);
    let deadline = Instant::now() + Duration::from_secs(120);
    while common::pg_integrity(url).await.total() < 2_000 {
        assert!(
            Instant::now() < deadline,
            "no progress: {}",
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.broker_down(1).expect("broker down");
    let at_outage = common::pg_integrity(url).await.total();
    let unready = k::wait_until(Duration::from_secs(20), || {
        common::http_get(replica.port, "/health").is_ok_and(|(s, _)| s == 503)
    });
    let during = common::pg_integrity(url).await.total();
    assert!(replica.is_running(), "the pipeline survives the outage");
    cluster.broker_up(1).expect("broker up");
    let returned = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let c = common::pg_integrity(url).await;
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
    let c = common::pg_integrity(url).await;
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

/// The group's committed offsets per partition, read with an OffsetFetch (no join).
fn group_offsets(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("offset reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = reader
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("OffsetFetch");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

/// A failed offset commit to the group is sent again: the database holds the real offsets,
/// but operators' tools read the group's, and an idle partition sends no new commit by
/// itself (a chaos run once ended with the group 112 records behind the database).
/// The mock broker fails every OffsetCommit while the records are processed, then stops
/// failing; the group's offsets must reach the end while the replica sits idle.
#[tokio::test(flavor = "multi_thread")]
async fn failed_group_offset_commits_are_sent_again_while_idle() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    const N: i64 = 2_000;
    let Some(m) = Mock::start(4).await else {
        return;
    };
    let (bootstrap, cluster) = (&m.bootstrap, &m.cluster);
    k::produce(bootstrap, "payments", N as u64, 62);
    // A permanent error: librdkafka reports it and does not retry the request itself.
    let errors = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE; 10_000];
    cluster.request_errors(RDKafkaApiKey::OffsetCommit, &errors);

    let mut replica = Replica::start("idle", &m.spec("commits", &[]));
    m.committed(N, Duration::from_secs(120)).await;
    // Past the first refresh interval: the re-sent commits fail as well.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let committed = common::pg_integrity(&m.url).await.total();
    let while_failing = group_offsets(bootstrap, "commits", "payments", 4);
    cluster.clear_request_errors(RDKafkaApiKey::OffsetCommit);
    let cleared = Instant::now();
    let mut after = Vec::new();
    let caught_up = k::wait_until(Duration::from_secs(20), || {
        after = group_offsets(bootstrap, "commits", "payments", 4);
        after.iter().sum::<i64>() == N
    });
    println!(
        "records committed {committed}; group offsets while commits failed {while_failing:?}, \
         after {after:?} ({:.1} s after the errors stopped)",
        cleared.elapsed().as_secs_f64()
    );
    assert_eq!(
        committed,
        N,
        "every record committed: {}",
        replica.log_text()
    );
    assert!(
        while_failing.iter().sum::<i64>() < N,
        "the injected errors kept the group's offsets behind: {while_failing:?}"
    );
    assert!(caught_up, "the group's offsets reach the end: {after:?}");
    assert!(replica.stop().success());
}

/// A member left with no partition rejoins the group as a new member after 30 s, and the
/// group loses and duplicates nothing for it. With the supported deployment (replicas at most
/// partitions) an empty assignment that lasts means the coordinator still counts departed
/// members: a CI run once ended with the last replica owning nothing for 240 s after four
/// SIGKILLs (tansu). That coordinator fault cannot be made on demand here, so this shows the
/// mechanism on a healthy broker, where the spare member (2 replicas, 1 partition) rejoins
/// and stays spare.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_owning_no_partition_for_30_s_rejoins_as_a_new_member() {
    const N: i64 = 3_000;
    let Some(m) = Mock::start(1).await else {
        return;
    };
    let spec = m.spec("spare", &[]);
    let mut owner = Replica::start("owner", &spec);
    assert!(
        k::wait_until(Duration::from_secs(30), || owner
            .metric_sum("pipeline_kafka_assigned_partitions")
            == Some(1.0)),
        "the first replica owns the partition: {}",
        owner.log_text()
    );
    let mut spare = Replica::start("spare", &spec);
    let started = Instant::now();
    let rejoined = k::wait_until(Duration::from_secs(60), || {
        spare
            .log_text()
            .contains("no partition owned since the last rebalance")
    });
    let after = started.elapsed().as_secs_f64();
    k::produce(&m.bootstrap, "payments", N as u64, 63);
    let c = m.committed(N, Duration::from_secs(120)).await;
    println!("spare rejoined after {after:.1} s; {c:?}");
    assert!(rejoined, "the spare member rejoins: {}", spare.log_text());
    assert!(
        after >= 29.0,
        "not before 30 s without a partition ({after:.1} s)"
    );
    assert!(spare.is_running() && owner.is_running());
    assert_eq!(c.total(), N, "every record once: {c:?}");
    assert_eq!(c.distinct_ids, N);
    assert_eq!(c.duplicate_decisions, 0);
    assert!(spare.stop().success());
    assert!(owner.stop().success());
}
