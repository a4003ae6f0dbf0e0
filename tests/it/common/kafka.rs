//! Kafka test harness: the broker started by scripts/test.sh (tansu), topic creation, the
//! load generator, pipeline replicas as child processes, and the independent lag check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The broker from scripts/test.sh. Missing in CI is a failure; locally a skip.
pub fn bootstrap() -> Option<String> {
    match std::env::var("PFM_TEST_KAFKA") {
        Ok(b) if !b.is_empty() => Some(b),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PFM_TEST_KAFKA is unset in CI: run the tests through scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: PFM_TEST_KAFKA is unset; run scripts/test.sh to start the broker");
            None
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

pub fn create_topic(bootstrap: &str, name: &str, partitions: u32) {
    let status = Command::new("bash")
        .arg(repo().join("scripts/kafka-test-server.sh"))
        .args(["topic", bootstrap, name, &partitions.to_string()])
        .status()
        .expect("run kafka-test-server.sh topic");
    assert!(status.success(), "creating topic {name}");
}

/// `pipeline generate --to-kafka`, one record per produce batch: tansu 0.6 mis-serves
/// fetches that start inside a multi-record batch (../shared/TESTING.md), a broker bug the
/// tests must not mistake for a pipeline one.
pub fn producer(bootstrap: &str, topic: &str, count: u64, seed: u64, rate: Option<u32>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipeline"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOG_LEVEL", "WARN")
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
        .env("KAFKA_TOPIC", topic)
        .env("KAFKA_PRODUCER_PROPERTIES", "batch.num.messages=1")
        .args([
            "generate",
            "--to-kafka",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(r) = rate {
        c.args(["--rate", &r.to_string()]);
    }
    c
}

pub fn produce(bootstrap: &str, topic: &str, count: u64, seed: u64) {
    let out = producer(bootstrap, topic, count, seed, None)
        .output()
        .expect("run generate --to-kafka");
    assert!(
        out.status.success(),
        "generate --to-kafka failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One `pipeline run` consuming from Kafka, with its own HTTP port and log file.
pub struct Replica {
    pub name: String,
    pub port: u16,
    pub log: PathBuf,
    child: Option<Child>,
}

pub struct ReplicaSpec<'a> {
    pub dir: &'a Path,
    pub database_url: &'a str,
    pub bootstrap: &'a str,
    pub topic: &'a str,
    pub group: &'a str,
    pub extra_env: &'a [(&'a str, &'a str)],
}

impl Replica {
    pub fn start(name: &str, spec: &ReplicaSpec<'_>) -> Self {
        Self::start_with(name, spec, &[])
    }

    /// `pipeline run ARGS…` (`--input PATH` reads a file instead of the topic).
    pub fn start_with(name: &str, spec: &ReplicaSpec<'_>, args: &[&str]) -> Self {
        let port = super::free_port();
        let log = spec.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let err = file.try_clone().expect("log file");
        let mut c = super::pipeline_cmd(spec.dir, Some(spec.database_url));
        c.env("HTTP_PORT", port.to_string())
            .env("LOG_LEVEL", "INFO")
            .env("HOSTNAME", name)
            .env("KAFKA_BOOTSTRAP_SERVERS", spec.bootstrap)
            .env("KAFKA_TOPIC", spec.topic)
            .env("KAFKA_GROUP_ID", spec.group)
            .env("KAFKA_SESSION_TIMEOUT_MS", "10000")
            .env("KAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            // The rebalance timeout: tansu evicts a member killed mid-rebalance only then.
            .env("KAFKA_MAX_POLL_INTERVAL_MS", "20000")
            .env("KAFKA_LAG_INTERVAL_MS", "1000")
            .env("BATCH_SIZE", "250")
            .env("KAFKA_PRODUCER_PROPERTIES", "batch.num.messages=1");
        for (k, v) in spec.extra_env {
            c.env(k, v);
        }
        let child = c
            .arg("run")
            .args(args)
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("spawn pipeline run");
        Self {
            name: name.to_owned(),
            port,
            log,
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig} {}", self.name);
    }

    /// SIGTERM, then waits for the drain; returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(Duration::from_secs(60))
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let mut c = self.child.take().expect("replica already stopped");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = c.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "{} did not exit within {limit:?}; log: {}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Each series of `metric` as (labels, value); empty if the endpoint does not answer.
    pub fn metric(&self, metric: &str) -> Vec<(String, f64)> {
        let Ok((200, body)) = super::http_get(self.port, "/metrics") else {
            return Vec::new();
        };
        parse_metric(&body, metric)
    }

    pub fn metric_sum(&self, metric: &str) -> Option<f64> {
        let series = self.metric(metric);
        (!series.is_empty()).then(|| series.iter().map(|(_, v)| v).sum())
    }

    /// Every partition this replica was ever assigned, from its logs.
    pub fn partitions_assigned(&self) -> BTreeSet<i32> {
        log_partitions(&self.log_text(), "partitions assigned")
    }

    /// Assignment and revocation callbacks this replica logged.
    pub fn rebalance_events(&self) -> usize {
        self.log_text()
            .lines()
            .filter(|l| {
                l.contains("\"partitions assigned\"") || l.contains("\"partitions revoked\"")
            })
            .count()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn parse_metric(body: &str, metric: &str) -> Vec<(String, f64)> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (name, labels) = match key.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (key, ""),
            };
            (name == metric).then(|| Some((labels.to_owned(), value.parse().ok()?)))?
        })
        .collect()
}

fn log_partitions(log: &str, message: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["message"] != message {
            continue;
        }
        let list = v["partitions"].as_str().unwrap_or_default();
        for p in list.trim_matches(|c| c == '[' || c == ']').split(',') {
            if let Ok(n) = p.trim().parse() {
                out.insert(n);
            }
        }
    }
    out
}

/// The group's lag computed by kafka-python from the broker's offsets.
pub fn broker_lag(python: &str, bootstrap: &str, group: &str, topic: &str) -> serde_json::Value {
    let out = tools(python, &["lag", bootstrap, group, topic], None);
    serde_json::from_slice(&out).expect("lag JSON")
}

/// Runs tests/kafka_tools.py; returns its stdout.
pub fn tools(python: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg(repo().join("tests/kafka_tools.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kafka_tools.py");
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(data) = stdin {
            pipe.write_all(data).expect("write to kafka_tools.py");
        }
    }
    let out = child.wait_with_output().expect("kafka_tools.py");
    assert!(
        out.status.success(),
        "kafka_tools.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every message of `topic`, read by kafka-python.
pub fn dump(python: &str, bootstrap: &str, topic: &str) -> Vec<serde_json::Value> {
    let out = tools(python, &["dump", bootstrap, topic], None);
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("dump line"))
        .collect()
}

/// Waits until `done` holds, up to `limit`; returns whether it did.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    done()
}
