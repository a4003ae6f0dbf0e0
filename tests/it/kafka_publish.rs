//! Publication through the outbox against a real broker (tansu) and PostgreSQL: every
//! committed record is published exactly once across SIGKILLs, dead letters reach the
//! dead-letter topic with their reason and coordinates, nothing published holds plaintext
//! PII, and a broker outage only delays publication. Outputs are read back with kafka-python.
//! The first test also carries the lineage over Kafka: the OpenLineage events on their topic
//! (`OPENLINEAGE_KAFKA_TOPIC`) and where each message landed (`publications`, which
//! `pipeline lineage` reports).

use crate::common;

use crate::common::kafka::{self as k, Replica, ReplicaSpec};
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::time::{Duration, Instant};

async fn scalar(url: &str, sql: &str) -> i64 {
    let s = pfm::store::PgStore::connect(url, 1).await.expect("connect");
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(s.pool())
        .await
        .expect(sql)
}

/// The plaintext PII the generator put in the input, as one regex of literals.
fn pii_matcher(input: &str) -> regex::Regex {
    let mut values = HashSet::new();
    for line in input.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for field in ["customer_name", "customer_email", "card_number", "iban"] {
            if let Some(s) = v[field].as_str().filter(|s| s.len() >= 6) {
                values.insert(regex::escape(s));
            }
        }
    }
    assert!(values.len() > 100, "the input carries PII to look for");
    let pattern = values.into_iter().collect::<Vec<_>>().join("|");
    regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 28)
        .dfa_size_limit(1 << 28)
        .build()
        .expect("PII regex")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_committed_record_is_published_once_across_sigkills_and_dead_letters_reach_the_dlq() {
    const RECORDS: u64 = 6_000;
    const SEED: u64 = 515;
    let Some(bootstrap) = k::bootstrap() else {
        return;
    };
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let input = k::unique("pub-in");
    let processed = k::unique("pub-processed");
    let alerts = k::unique("pub-alerts");
    let dlq = k::unique("pub-dlq");
    let lineage = k::unique("pub-lineage");
    k::create_topic(&bootstrap, &input, 4);
    k::create_topic(&bootstrap, &lineage, 1);
    k::create_topic(&bootstrap, &processed, 4);
    k::create_topic(&bootstrap, &alerts, 2);
    k::create_topic(&bootstrap, &dlq, 2);
    k::produce(&bootstrap, &input, RECORDS, SEED);
    let malformed: Vec<u8> = [
        &b"{\"transaction_id\":\"bad-1\",\"amount\":\"-5\"}"[..],
        b"not json at all",
        b"{\"transaction_id\":\"bad-2\"}",
        b"\xff\xfe invalid utf-8",
        b"{\"transaction_id\":\"bad-3\",\"amount\":1e309}",
        b"[]",
    ]
    .join(&b'\n');
    k::tools(
        &python,
        &["produce-lines", &bootstrap, &input],
        Some(&malformed),
    );
    let expected = RECORDS as i64 + 6;

    let env = [
        ("ENABLE_KAFKA_PUBLISH", "true"),
        ("KAFKA_PUBLISH_TOPIC", processed.as_str()),
        ("KAFKA_ALERTS_TOPIC", alerts.as_str()),
        ("KAFKA_DLQ_TOPIC", dlq.as_str()),
        ("BATCH_SIZE", "100"),
        ("OPENLINEAGE_KAFKA_TOPIC", lineage.as_str()),
        ("OPENLINEAGE_INTERVAL", "1s"),
    ];
    let group = k::unique("pub-group");
    let spec = ReplicaSpec {
        dir: dir.path(),
        database_url: &url,
        bootstrap: &bootstrap,
        topic: &input,
        group: &group,
        extra_env: &env,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261127);
    let mut kills = 0;
    let started = Instant::now();
    let mut replica = Replica::start("p0", &spec);
    while kills < 4 {
        std::thread::sleep(Duration::from_millis(rng.gen_range(1_500..4_000)));
        replica.kill();
        kills += 1;
        replica = Replica::start(&format!("p{kills}"), &spec);
    }
    let done = k::wait_until(Duration::from_secs(240), || {
        replica.metric_sum("pipeline_kafka_assigned_partitions") == Some(4.0)
            && replica.metric("kafka_consumer_lag").len() == 4
            && replica.metric_sum("kafka_consumergroup_lag_sum") == Some(0.0)
            && replica.metric_sum("pipeline_outbox_backlog") == Some(0.0)
    });
    assert!(
        done,
        "drained: {}",
        replica
            .log_text()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let c = common::pg_integrity(&url).await;
    assert_eq!(c.total(), expected, "every input record stored once: {c:?}");
    assert_eq!(scalar(&url, "SELECT COUNT(*) FROM outbox").await, 0);
    assert!(replica.stop().success());

    let out = k::dump(&python, &bootstrap, &processed);
    let out_alerts = k::dump(&python, &bootstrap, &alerts);
    let out_dlq = k::dump(&python, &bootstrap, &dlq);
    let flagged = scalar(
        &url,
        "SELECT (SELECT COUNT(*) FROM transactions WHERE decision <> 'allow' OR findings::text <> '[]') + \
         (SELECT COUNT(*) FROM quarantine WHERE decision <> 'allow' OR findings::text <> '[]')",
    )
    .await;
    let in_doubt_checks: usize = (0..=kills)
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("p{i}.log")))
                .unwrap_or_default()
                .matches("whose delivery was in doubt")
                .count()
        })
        .sum();
    println!(
        "kills={kills} in_doubt_checks={in_doubt_checks} seconds={:.1} transactions={} quarantine={} dead_letters={} published: processed={} alerts={} dlq={}",
        started.elapsed().as_secs_f64(),
        c.transactions,
        c.quarantine,
        c.dead_letters,
        out.len(),
        out_alerts.len(),
        out_dlq.len()
    );
    let ids: HashSet<String> = out
        .iter()
        .filter_map(|m| {
            let v: serde_json::Value = serde_json::from_str(m["value"].as_str()?).ok()?;
            Some(v["transaction_id"].as_str()?.to_owned())
        })
        .collect();
    assert_eq!(
        out.len() as i64,
        c.transactions + c.quarantine,
        "one message per governed record"
    );
    assert_eq!(ids.len(), out.len(), "no record published twice");
    assert_eq!(
        out_alerts.len() as i64,
        flagged,
        "one alert per flagged record"
    );
    assert_eq!(
        out_dlq.len() as i64,
        c.dead_letters,
        "one DLQ message per dead letter"
    );
    for m in &out_dlq {
        let h = &m["headers"];
        assert!(
            h["pfm-reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{m}"
        );
        assert_eq!(h["pfm-source"], format!("kafka:{input}"), "{m}");
        assert!(
            h["pfm-source-partition"].as_str().is_some()
                && h["pfm-source-offset"].as_str().is_some()
        );
    }
    for m in &out {
        let v: serde_json::Value =
            serde_json::from_str(m["value"].as_str().expect("value")).expect("JSON");
        assert_eq!(m["key"], v["account_id"], "keyed by account");
        for field in ["customer_name", "customer_email", "card_number", "iban"] {
            assert!(v.get(field).is_none(), "plain {field} published: {v}");
        }
    }
    let pii = pii_matcher(&common::generated_input(RECORDS, SEED));
    let leaks = out
        .iter()
        .chain(&out_alerts)
        .chain(&out_dlq)
        .filter(|m| pii.is_match(m["value"].as_str().unwrap_or_default()))
        .count();
    assert_eq!(leaks, 0, "published messages with plaintext PII");

    assert_publications_match_the_topics(
        &url,
        &[(&processed, &out), (&alerts, &out_alerts), (&dlq, &out_dlq)],
    )
    .await;
    assert_journey_names_where_it_was_published(dir.path(), &url, &processed, &out);
    assert_lineage_over_kafka(dir.path(), &python, &bootstrap, &lineage, &c);
}

/// `publications` holds exactly the messages the topics hold: each one's partition and
/// offset, recorded when the broker acknowledged it or found when a crash left it in doubt.
async fn assert_publications_match_the_topics(url: &str, topics: &[(&str, &[serde_json::Value])]) {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    for (topic, messages) in topics {
        let stored: HashSet<(i32, i64)> =
            sqlx::query_as("SELECT out_partition, out_offset FROM publications WHERE topic = $1")
                .bind(topic)
                .fetch_all(&pool)
                .await
                .expect("publications")
                .into_iter()
                .collect();
        let on_topic: HashSet<(i32, i64)> = messages
            .iter()
            .map(|m| {
                (
                    m["partition"].as_i64().expect("partition") as i32,
                    m["offset"].as_i64().expect("offset"),
                )
            })
            .collect();
        assert_eq!(
            stored.len(),
            messages.len(),
            "one publications row per message on {topic}"
        );
        assert_eq!(stored, on_topic, "publications against the topic {topic}");
    }
}

/// `pipeline lineage` of a published record names the partition and offset it holds on the
/// topic.
fn assert_journey_names_where_it_was_published(
    dir: &std::path::Path,
    url: &str,
    topic: &str,
    out: &[serde_json::Value],
) {
    for m in out.iter().step_by(out.len().max(1).div_ceil(3)) {
        let v: serde_json::Value =
            serde_json::from_str(m["value"].as_str().expect("value")).expect("JSON");
        let id = v["transaction_id"].as_str().expect("transaction_id");
        let run = common::pipeline_cmd(dir, Some(url))
            .args(["lineage", "--transaction-id", id])
            .output()
            .expect("pipeline lineage");
        assert!(
            run.status.success(),
            "lineage {id}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let journey: serde_json::Value = serde_json::from_slice(&run.stdout).expect("journey JSON");
        let text = journey.to_string();
        let published = journey
            .pointer("/record/published")
            .and_then(|p| p.as_array())
            .unwrap_or_else(|| panic!("no published list in {text}"));
        assert!(
            published.iter().any(|p| p["topic"] == topic
                && p["partition"] == m["partition"]
                && p["offset"] == m["offset"]),
            "journey of {id} does not name {topic}/{}/{}: {text}",
            m["partition"],
            m["offset"]
        );
    }
}

/// The OpenLineage events that went through the Kafka outbox: openlineage-python's model
/// accepts them, every run ends once (the killed replicas' runs closed by the next start),
/// and the intervals' statistics add up to the tables.
fn assert_lineage_over_kafka(
    dir: &std::path::Path,
    python: &str,
    bootstrap: &str,
    topic: &str,
    c: &common::PgIntegrity,
) {
    use crate::common::lineage_receiver::{check_runs, interval_rows, python_check};
    let events: Vec<serde_json::Value> = k::dump(python, bootstrap, topic)
        .iter()
        .map(|m| serde_json::from_str(m["value"].as_str().expect("value")).expect("event JSON"))
        .collect();
    assert!(!events.is_empty(), "no lineage events on {topic}");
    println!("lineage events over Kafka: {}", events.len());
    python_check(&events, dir);
    let runs = check_runs(&events);
    let processes: Vec<_> = runs.values().filter(|r| r.job == "pipeline.run").collect();
    assert_eq!(
        processes.len(),
        5,
        "one run per replica process (four killed)"
    );
    assert_eq!(
        processes.iter().filter(|r| r.end_type() == "ABORT").count(),
        4,
        "each killed replica's run closed by the next start"
    );
    for (table, n) in [
        ("transactions", c.transactions),
        ("quarantine", c.quarantine),
        ("dead_letters", c.dead_letters),
    ] {
        assert_eq!(interval_rows(&runs, table), n, "interval rows of {table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_outage_keeps_processing_and_the_outbox_drains_exactly_when_it_returns() {
    const RECORDS: u64 = 20_000;
    let Some(_) = k::bootstrap() else { return };
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    // A private broker, so stopping it disturbs no other test. Its storage is in memory, so
    // after the restart the topics are recreated empty: what they then hold is exactly what
    // waited in the outbox.
    let port = common::free_port().to_string();
    let broker_dir = dir.path().join("broker");
    let server = |cmd: &str| {
        let out = std::process::Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/kafka-test-server.sh"
            ))
            .args([cmd, broker_dir.to_str().expect("path"), &port])
            .output()
            .expect("kafka-test-server.sh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let bootstrap = server("start");
    k::create_topic(&bootstrap, "processed", 2);
    k::create_topic(&bootstrap, "alerts", 2);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, common::generated_input(RECORDS, 808)).expect("write");
    let run = || {
        let mut c = common::pipeline_cmd(dir.path(), Some(&url));
        c.env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
            .env("ENABLE_KAFKA_PUBLISH", "true")
            .env("KAFKA_PUBLISH_TOPIC", "processed")
            .env("KAFKA_ALERTS_TOPIC", "alerts")
            .env("KAFKA_PRODUCER_PROPERTIES", "batch.num.messages=1")
            .env("SHUTDOWN_TIMEOUT", "40s")
            .env("BATCH_SIZE", "100")
            .args(["run", "--input", file.to_str().expect("path")]);
        c
    };
    let mut first = run()
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Early in the run, so most of it happens while the broker is down.
    while common::pg_integrity(&url).await.total() < 200 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server("stop");
    let status = first.wait().expect("first run");
    assert!(
        status.success(),
        "processing goes on and exits 0 without Kafka"
    );
    let c = common::pg_integrity(&url).await;
    assert_eq!(
        c.total(),
        RECORDS as i64,
        "every record committed during the outage"
    );
    let waiting = scalar(&url, "SELECT COUNT(*) FROM outbox").await;
    let waiting_processed = scalar(
        &url,
        "SELECT COUNT(*) FROM outbox WHERE topic = 'processed'",
    )
    .await;
    assert!(
        waiting > 0,
        "publications wait durably while the broker is down"
    );

    assert_eq!(server("start"), bootstrap);
    k::create_topic(&bootstrap, "processed", 2);
    k::create_topic(&bootstrap, "alerts", 2);
    // Nothing new to process (every record is a replay); the relay drains the outbox.
    let second = run().output().expect("second run");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let left = scalar(&url, "SELECT COUNT(*) FROM outbox").await;
    let out = k::dump(&python, &bootstrap, "processed");
    let out_alerts = k::dump(&python, &bootstrap, "alerts");
    server("stop");
    println!(
        "waiting_at_outage={waiting} published_after={} (processed={} alerts={}) left={left}",
        out.len() + out_alerts.len(),
        out.len(),
        out_alerts.len()
    );
    assert_eq!(left, 0, "the outbox drained");
    assert_eq!(
        out.len() as i64,
        waiting_processed,
        "exactly the waiting records, once each"
    );
    assert_eq!((out.len() + out_alerts.len()) as i64, waiting);
    let ids: HashSet<&str> = out
        .iter()
        .filter_map(|m| m["headers"]["pfm-outbox-id"].as_str())
        .collect();
    assert_eq!(ids.len(), out.len(), "no duplicates");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_in_doubt_after_a_crash_are_checked_against_the_topic_and_not_sent_twice() {
    const RECORDS: u64 = 300;
    let Some(bootstrap) = k::bootstrap() else {
        return;
    };
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let processed = k::unique("doubt-processed");
    let alerts = k::unique("doubt-alerts");
    k::create_topic(&bootstrap, &processed, 1);
    k::create_topic(&bootstrap, &alerts, 1);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, common::generated_input(RECORDS, 909)).expect("write");
    let run = |servers: &str| {
        let mut c = common::pipeline_cmd(dir.path(), Some(&url));
        c.env("KAFKA_BOOTSTRAP_SERVERS", servers)
            .env("ENABLE_KAFKA_PUBLISH", "true")
            .env("KAFKA_PUBLISH_TOPIC", &processed)
            .env("KAFKA_ALERTS_TOPIC", &alerts)
            .env("KAFKA_PRODUCER_PROPERTIES", "batch.num.messages=1")
            .env("SHUTDOWN_TIMEOUT", "20s")
            .args(["run", "--input", file.to_str().expect("path")])
            .output()
            .expect("run")
    };
    // 1. Commit with no broker reachable: everything waits in the outbox.
    let unreachable = format!("127.0.0.1:{}", common::free_port());
    assert!(run(&unreachable).status.success());
    let store = pfm::store::PgStore::connect(&url, 1)
        .await
        .expect("connect");
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, topic, message_key, payload FROM outbox ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("outbox");
    assert!(
        rows.len() as u64 >= RECORDS,
        "outbox holds the publications"
    );
    // 2. Stand in for a relay that marked every message, sent the first half, and died
    //    before deleting them: their delivery is in doubt.
    sqlx::query("UPDATE outbox SET out_partition = 0, floor_offset = 0")
        .execute(store.pool())
        .await
        .expect("mark");
    let half = rows.len() / 2;
    let lines: String = rows[..half]
        .iter()
        .map(|(id, topic, key, payload)| {
            serde_json::json!({"topic": topic, "partition": 0, "key": key, "value": payload,
                "headers": {"pfm-outbox-id": id.to_string()}})
            .to_string()
                + "\n"
        })
        .collect();
    k::tools(
        &python,
        &["produce-json", &bootstrap],
        Some(lines.as_bytes()),
    );
    // 3. The next relay checks the topic: the first half is settled, the rest sent once.
    let second = run(&bootstrap);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .expect("count");
    let mut seen: Vec<i64> = k::dump(&python, &bootstrap, &processed)
        .into_iter()
        .chain(k::dump(&python, &bootstrap, &alerts))
        .filter_map(|m| m["headers"]["pfm-outbox-id"].as_str()?.parse().ok())
        .collect();
    seen.sort_unstable();
    let mut expected: Vec<i64> = rows.iter().map(|r| r.0).collect();
    expected.sort_unstable();
    println!(
        "outbox={} in_doubt_sent_before_crash={half} published_total={} left={left}",
        rows.len(),
        seen.len()
    );
    assert_eq!(left, 0, "the outbox drained");
    assert_eq!(
        seen, expected,
        "every message exactly once: none lost, none sent twice"
    );
}
