//! The whole stack for the chaos and soak runs, owned by one test so that it can restart
//! and cut its services without disturbing other tests: its own PostgreSQL (restartable,
//! data kept), tansu behind a proxy (clients are told the proxy's address, so a broker
//! outage cuts and refuses every client connection while the broker keeps its data: tansu's
//! memory engine cannot survive a real restart), and moto behind a proxy (moto keeps
//! objects in memory, so an S3 outage must not restart it either).

use super::proxy::Proxy;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(repo().join("scripts").join(args[0]))
        .args(&args[1..])
        .output()
        .expect("run a test-server script");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn free_port() -> u16 {
    super::free_port()
}

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub python: String,
    /// The database the replicas use (its URL carries a password that trust auth ignores:
    /// a planted secret the scans look for).
    pub database_url: String,
    pub pg_password: String,
    pub kafka: Proxy,
    pub kafka_direct: String,
    pub s3: Proxy,
    pub s3_direct: String,
    pub bucket: String,
}

impl Stack {
    /// Starts everything; `None` (a skip) when the test services are not available locally.
    pub async fn start(tag: &str) -> Option<Self> {
        super::kafka::bootstrap()?;
        let python = super::test_python()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let d = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        // PostgreSQL's default durability: with the test servers' synchronous_commit=off, a
        // crash loses commits already acknowledged (and offsets already committed to the
        // group), which the first chaos runs showed as lost records.
        let port = free_port().to_string();
        let server = script(&["pg-test-server.sh", "start", &d("pg"), &port, "--durable"]);
        let pg_password = format!("pg-secret-{}", rand::random::<u64>());
        let admin = pfm::store::PgStore::connect(&server, 1)
            .await
            .expect("connect to the stack's PostgreSQL");
        sqlx::query("CREATE DATABASE agentic_pfm")
            .execute(admin.pool())
            .await
            .expect("create database");
        admin.pool().close().await;
        let base = server
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .expect("server URL");
        let database_url = format!(
            "{}/agentic_pfm",
            base.replace("postgres@", &format!("postgres:{pg_password}@"))
        );

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind kafka proxy");
        let proxy_port = listener.local_addr().expect("addr").port();
        let kafka = Proxy::on(listener, "127.0.0.1:1");
        let broker_port = free_port().to_string();
        let kafka_direct = script(&[
            "kafka-test-server.sh",
            "start",
            &d("kafka"),
            &broker_port,
            "memory://tansu/",
            &proxy_port.to_string(),
        ]);
        kafka.set_upstream(&kafka_direct);

        let s3_direct = script(&["s3-test-server.sh", "start", &d("s3")]);
        let s3 = Proxy::start(&s3_direct);
        let bucket = format!("pfm-{tag}");
        let stack = Self {
            dir,
            python,
            database_url,
            pg_password,
            kafka,
            kafka_direct,
            s3,
            s3_direct,
            bucket,
        };
        stack.create_bucket();
        let ok = super::pipeline_cmd(stack.dir.path(), Some(&stack.database_url))
            .arg("migrate")
            .status()
            .expect("migrate")
            .success();
        assert!(ok, "migrate");
        Some(stack)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What clients use: the proxy in front of the broker.
    pub fn bootstrap(&self) -> String {
        self.kafka.addr()
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        script(&[
            "kafka-test-server.sh",
            "topic",
            &self.kafka_direct,
            name,
            &partitions.to_string(),
        ]);
    }

    fn create_bucket(&self) {
        use std::io::{Read, Write};
        let host = self.s3_direct.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).expect("connect to moto");
        write!(
            s,
            "PUT /{} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.bucket
        )
        .expect("send");
        let mut raw = String::new();
        let _ = s.read_to_string(&mut raw);
        assert!(raw.starts_with("HTTP/1.1 200"), "CreateBucket: {raw}");
    }

    /// PostgreSQL stops at once (`-m immediate`: like a crash; committed data is kept).
    pub fn pg_crash(&self) {
        script(&["pg-test-server.sh", "crash", &self.pg_dir()]);
    }

    pub fn pg_restart(&self) {
        script(&["pg-test-server.sh", "restart", &self.pg_dir()]);
    }

    fn pg_dir(&self) -> String {
        self.dir.path().join("pg").to_string_lossy().into_owned()
    }

    /// The lake read back by tests/lake_readback.py (boto3 + pyarrow, straight from moto),
    /// scanning every string value for the lines of `secrets`.
    pub fn lake_read_back(&self, secrets: &Path) -> serde_json::Value {
        let out = Command::new(&self.python)
            .arg(repo().join("tests/lake_readback.py"))
            .arg(format!("s3://{}", self.bucket))
            .arg(secrets)
            .env("S3_ENDPOINT", &self.s3_direct)
            .env("AWS_ACCESS_KEY_ID", "chaos")
            .env("AWS_SECRET_ACCESS_KEY", "chaos")
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("run lake_readback.py");
        assert!(
            out.status.success(),
            "lake_readback.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("read-back JSON")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let d = |n: &str| self.dir.path().join(n).to_string_lossy().into_owned();
        for (s, sub) in [
            ("kafka-test-server.sh", "kafka"),
            ("s3-test-server.sh", "s3"),
            ("pg-test-server.sh", "pg"),
        ] {
            let _ = Command::new("bash")
                .arg(repo().join("scripts").join(s))
                .args(["stop", &d(sub)])
                .status();
        }
    }
}
