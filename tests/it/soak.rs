//! The soak run: the whole stack (PostgreSQL with its default durability, the Kafka broker,
//! the S3 server), pipeline replicas in one group, and a steady load for a set time. Every
//! window it records each replica's RSS, open file descriptors and sockets, and the p99 of
//! the batch duration and of produce→commit latency (from the replicas' own histograms). At
//! the end it checks for leaks and that every record was stored exactly once.
//!
//! One command: `bash scripts/soak.sh [SECONDS] [RATE]` (release build; the documented run is
//! 30 minutes at 5,000 records/s). CI runs a 2-minute version through scripts/test.sh.
//! Settings: PFM_SOAK_SECONDS (120), PFM_SOAK_RATE (records/s, 1000), PFM_SOAK_REPLICAS (3),
//! PFM_SOAK_WINDOW (seconds, 15), PFM_SOAK_PUBLISH (true), PFM_SOAK_REPORT (a file for the
//! JSON report), PFM_SOAK_SOURCE (`kafka`, or `fifo`).
//!
//! `fifo` feeds each replica through a named pipe (`run --input FIFO`) at its share of the
//! rate instead of the topic: the replicas, PostgreSQL and S3 are the same, but the load no
//! longer depends on the test broker, which cannot sustain 5,000 records/s for 30 minutes on
//! this machine (docs/reliability.md). Kafka publication still goes to the broker.

use crate::common;

use crate::common::kafka::{self as k, parse_metric, Replica, ReplicaSpec};
use crate::common::stack::Stack;
use serde_json::json;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
struct ProcStats {
    rss_mb: f64,
    peak_rss_mb: f64,
    fds: usize,
    sockets: usize,
}

fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| -> Option<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let mut fds = 0;
    let mut sockets = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        fds += 1;
        if std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:")) {
            sockets += 1;
        }
    }
    Some(ProcStats {
        rss_mb: kb("VmRSS:")? / 1024.0,
        peak_rss_mb: kb("VmHWM:")? / 1024.0,
        fds,
        sockets,
    })
}

type Buckets = Vec<(f64, f64)>;

/// Cumulative histogram buckets (upper bound, count) of `metric` from a /metrics body.
fn buckets(body: &str, metric: &str) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = parse_metric(body, &format!("{metric}_bucket"))
        .into_iter()
        .filter_map(|(labels, count)| {
            let le = labels.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, count))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The p99 of the observations between two scrapes: the upper bound of the bucket holding
/// the 99th percentile of the difference (`None` if nothing was observed).
fn p99_between(before: &[(f64, f64)], after: &[(f64, f64)]) -> Option<f64> {
    let diff: Vec<(f64, f64)> = after
        .iter()
        .map(|(b, n)| {
            let prev = before
                .iter()
                .find(|(pb, _)| pb == b)
                .map(|(_, c)| *c)
                .unwrap_or(0.0);
            (*b, n - prev)
        })
        .collect();
    let total = diff.last()?.1;
    if total <= 0.0 {
        return None;
    }
    diff.iter()
        .find(|(_, c)| *c >= 0.99 * total)
        .map(|(b, _)| *b)
}

/// Merges the buckets of several replicas (same bounds).
fn merge(all: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for one in all {
        for (b, n) in one {
            match out.iter_mut().find(|(ob, _)| ob == b) {
                Some(e) => e.1 += n,
                None => out.push((*b, *n)),
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Writes generated records into a named pipe at a steady rate, then keeps the pipe open
/// (the replica keeps running) until dropped.
struct Feeder {
    thread: Option<std::thread::JoinHandle<std::fs::File>>,
    pipe: Option<std::fs::File>,
}

impl Feeder {
    fn start(fifo: &std::path::Path, count: u64, seed: u64, rate: f64) -> Self {
        use std::io::{BufRead, Write};
        let fifo = fifo.to_owned();
        let thread = std::thread::spawn(move || {
            let mut gen = common::generate_cmd(count, seed)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("generator");
            let lines = std::io::BufReader::new(gen.stdout.take().expect("stdout")).lines();
            // Opening blocks until the replica opens its end.
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open fifo");
            let started = Instant::now();
            let mut chunk = Vec::new();
            for (n, line) in lines.enumerate() {
                chunk.extend_from_slice(line.expect("generated line").as_bytes());
                chunk.push(b'\n');
                let due = started + Duration::from_secs_f64((n + 1) as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    pipe.write_all(&chunk).expect("write fifo");
                    chunk.clear();
                    std::thread::sleep(wait);
                }
            }
            pipe.write_all(&chunk).expect("write fifo");
            assert!(gen.wait().is_ok_and(|s| s.success()), "generator exits 0");
            pipe
        });
        Self {
            thread: Some(thread),
            pipe: None,
        }
    }

    /// Waits until every record is written; the pipe stays open.
    fn written(mut self) -> Self {
        if let Some(t) = self.thread.take() {
            self.pipe = Some(t.join().expect("feeder thread"));
        }
        self
    }
}

#[test]
fn soak_holds_a_steady_load_without_leaks() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(stack) = rt.block_on(Stack::start("soak")) else {
        return;
    };
    let seconds: u64 = env_or("PFM_SOAK_SECONDS", 120);
    let rate: u64 = env_or("PFM_SOAK_RATE", 1_000);
    let replicas: usize = env_or("PFM_SOAK_REPLICAS", 3);
    let window: u64 = env_or("PFM_SOAK_WINDOW", 15);
    let records = rate * seconds;
    println!("soak: {seconds} s at {rate} records/s, {replicas} replicas, windows of {window} s");
    let bootstrap = stack.bootstrap();
    stack.create_topic("soak-in", 6);
    stack.create_topic("soak-processed", 3);
    stack.create_topic("soak-alerts", 1);
    let s3 = stack.s3.url();
    let publish = if env_or("PFM_SOAK_PUBLISH", true) {
        "true"
    } else {
        "false"
    };
    println!("publishing to Kafka: {publish}");
    let extra = [
        ("ENABLE_KAFKA_PUBLISH", publish),
        ("KAFKA_PUBLISH_TOPIC", "soak-processed"),
        ("KAFKA_ALERTS_TOPIC", "soak-alerts"),
        ("ENABLE_S3_LAKEHOUSE_EXPORT", "true"),
        ("S3_ENDPOINT", s3.as_str()),
        ("S3_BUCKET", stack.bucket.as_str()),
        ("MINIO_ROOT_USER", "soak"),
        ("MINIO_ROOT_PASSWORD", "soak"),
        ("BATCH_SIZE", "500"),
        ("LOG_LEVEL", "WARN"),
    ];
    let spec = ReplicaSpec {
        dir: stack.path(),
        database_url: &stack.database_url,
        bootstrap: &bootstrap,
        topic: "soak-in",
        group: "soak",
        extra_env: &extra,
    };
    let fifo_mode = env_or("PFM_SOAK_SOURCE", "kafka".to_owned()) == "fifo";
    let fifos: Vec<std::path::PathBuf> = (1..=replicas)
        .map(|i| stack.path().join(format!("in-{i}.fifo")))
        .collect();
    if fifo_mode {
        for f in &fifos {
            let made = std::process::Command::new("mkfifo").arg(f).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", f.display());
        }
    }
    let mut group: Vec<Replica> = (1..=replicas)
        .map(|i| {
            let name = format!("s{i}");
            match fifos.get(i - 1).and_then(|f| f.to_str()) {
                Some(f) if fifo_mode => Replica::start_with(&name, &spec, &["--input", f]),
                _ => Replica::start(&name, &spec),
            }
        })
        .collect();
    let healthy = |g: &[Replica]| {
        g.iter()
            .all(|r| matches!(common::http_get(r.port, "/health"), Ok((200, _))))
    };
    assert!(
        k::wait_until(Duration::from_secs(90), || healthy(&group)),
        "replicas healthy"
    );
    let producer_err = stack.path().join("producer.err");
    let (mut producer, feeders) = if fifo_mode {
        // Unique ids across feeders: the generator's ids carry its seed.
        let share = records / replicas as u64;
        let feeders: Vec<Feeder> = fifos
            .iter()
            .enumerate()
            .map(|(i, f)| Feeder::start(f, share, 100 + i as u64, rate as f64 / replicas as f64))
            .collect();
        (None, feeders)
    } else {
        let p = k::producer(&bootstrap, "soak-in", records, 7, Some(rate as u32))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&producer_err).expect("file"))
            .spawn()
            .expect("start the load");
        (Some(p), Vec::new())
    };
    let records = if fifo_mode {
        records / replicas as u64 * replicas as u64
    } else {
        records
    };

    let scrape = |g: &[Replica]| -> (Buckets, Buckets, f64) {
        let mut batch = Vec::new();
        let mut e2e = Vec::new();
        let mut committed = 0.0;
        for r in g {
            if let Ok((200, body)) = common::http_get(r.port, "/metrics") {
                batch.push(buckets(&body, "pipeline_batch_duration_seconds"));
                e2e.push(buckets(&body, "pipeline_kafka_produce_to_commit_seconds"));
                committed += parse_metric(&body, "pipeline_records_total")
                    .iter()
                    .map(|(_, v)| v)
                    .sum::<f64>();
            }
        }
        (merge(&batch), merge(&e2e), committed)
    };
    let started = Instant::now();
    let mut windows = Vec::new();
    let mut first: Option<Vec<ProcStats>> = None;
    let mut prev = scrape(&group);
    let mut last_stats = Vec::new();
    let mut baseline = vec![0.0f64; replicas];
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(window));
        let now = scrape(&group);
        let stats: Vec<ProcStats> = group
            .iter()
            .map(|r| proc_stats(r.pid()).unwrap_or_default())
            .collect();
        let t = started.elapsed().as_secs_f64();
        let rate_seen = (now.2 - prev.2) / window as f64;
        let p99_batch = p99_between(&prev.0, &now.0);
        let p99_e2e = p99_between(&prev.1, &now.1);
        println!(
            "t={t:6.0}s committed/s={rate_seen:7.0} p99 batch={} p99 produce→commit={} rss MB={:?} fds={:?} sockets={:?}",
            p99_batch.map_or("-".into(), |v| format!("{v:.3}s")),
            p99_e2e.map_or("-".into(), |v| format!("{v:.3}s")),
            stats.iter().map(|s| s.rss_mb.round()).collect::<Vec<_>>(),
            stats.iter().map(|s| s.fds).collect::<Vec<_>>(),
            stats.iter().map(|s| s.sockets).collect::<Vec<_>>(),
        );
        windows.push(
            json!({"t": t, "committed_per_s": rate_seen, "p99_batch_s": p99_batch,
            "p99_produce_to_commit_s": p99_e2e, "replicas": stats}),
        );
        if first.is_none() {
            first = Some(stats.clone());
        }
        // The memory baseline: the peak RSS (VmHWM) of the first half, which includes at
        // least one lakehouse export (it holds up to 50,000 rows while it writes a file;
        // the allocator keeps most of that resident afterwards).
        if t <= seconds as f64 / 2.0 + 1.0 {
            for (b, s) in baseline.iter_mut().zip(&stats) {
                *b = b.max(s.peak_rss_mb);
            }
        }
        last_stats = stats;
        prev = now;
    }
    if let Some(p) = producer.as_mut() {
        let status = p.wait().expect("producer");
        let producer_log = std::fs::read_to_string(&producer_err).unwrap_or_default();
        assert!(status.success(), "load generator: {producer_log}");
    }
    let feeders: Vec<Feeder> = feeders.into_iter().map(Feeder::written).collect();
    let db_url = stack.database_url.clone();
    let drained = k::wait_until(Duration::from_secs(300), || {
        rt.block_on(common::pg_integrity(&db_url)).total() == records as i64
    });
    let after_drain: Vec<ProcStats> = group
        .iter()
        .map(|r| proc_stats(r.pid()).unwrap_or_default())
        .collect();
    // A file-fed replica ends by itself when its pipe closes.
    drop(feeders);
    for r in &mut group {
        let status = if fifo_mode {
            r.wait(Duration::from_secs(60))
        } else {
            r.stop()
        };
        assert!(status.success(), "{} exits 0", r.name);
    }
    let integrity = rt.block_on(common::pg_integrity(&db_url));
    let first = first.expect("at least one window");
    println!("\nsoak result: {records} records at {rate}/s over {seconds} s, {replicas} replicas");
    println!(
        "{:<8} {:>14} {:>14} {:>15} {:>12} {:>12} {:>16}",
        "replica",
        "RSS first (MB)",
        "RSS final (MB)",
        "peak RSS (MB)",
        "fds first",
        "fds final",
        "sockets first→final"
    );
    for (i, (a, b)) in first.iter().zip(&after_drain).enumerate() {
        println!(
            "{:<8} {:>14.1} {:>14.1} {:>15.1} {:>12} {:>12} {:>10}→{}",
            format!("s{}", i + 1),
            a.rss_mb,
            b.rss_mb,
            b.peak_rss_mb,
            a.fds,
            b.fds,
            a.sockets,
            b.sockets
        );
    }
    println!("stored: {integrity:?}");
    if let Ok(path) = std::env::var("PFM_SOAK_REPORT") {
        let report = json!({"seconds": seconds, "rate": rate, "replicas": replicas,
            "records": records, "windows": windows, "first": first, "last_window": last_stats,
            "after_drain": after_drain, "first_half_max_rss_mb": baseline, "drained": drained});
        std::fs::write(path, serde_json::to_string_pretty(&report).expect("json")).expect("report");
    }

    assert!(drained, "every record stored");
    assert_eq!(integrity.distinct_ids, records as i64, "each record once");
    assert_eq!(integrity.duplicate_decisions, 0);
    // Replicas do the same work and any of them may run an export, so the bound is the
    // highest first-half peak of any replica.
    // The slack covers the allocator, not a leak: glibc keeps each thread arena's high-water
    // mark, and a lakehouse export (up to 20,000 rows, about 60 MB while encoding) that runs
    // on a worker thread whose arena has not held one yet raises RSS by a step. The CI run
    // saw one such step of 39 MB in its second export. A leak grows with the records
    // instead: 1 KB per record is 120 MB in the CI run and 9 GB in the 30-minute one.
    let bound = baseline.iter().copied().fold(0.0, f64::max) * 1.25 + 32.0;
    for (i, (a, b)) in first.iter().zip(&after_drain).enumerate() {
        // Descriptors and sockets: pools and the broker connections are open from the first
        // window on; a leak grows with the records processed.
        assert!(
            b.fds <= a.fds + 8,
            "replica s{}: fds {} → {}",
            i + 1,
            a.fds,
            b.fds
        );
        assert!(
            b.sockets <= a.sockets + 6,
            "replica s{}: sockets {} → {}",
            i + 1,
            a.sockets,
            b.sockets
        );
        // Memory: caches are bounded; by the end RSS must not have grown past the first
        // half's high-water mark (plus allocator slack).
        assert!(
            b.rss_mb <= bound,
            "replica s{}: RSS {:.1} MB at the end, above {bound:.1} MB (first-half peaks {baseline:?})",
            i + 1,
            b.rss_mb
        );
    }
}
