//! Test harness shared by the integration tests.
#![allow(
    dead_code,
    reason = "the harness offers more than the tests use today (Running::stop, Proxy::open_connections)"
)]

pub mod in_process;
pub mod kafka;
pub mod keys;
pub mod lineage_receiver;
pub mod llm_standin;
pub mod logs;
pub mod proxy;
pub mod stack;

use pfm::store::{PgStore, SqliteStore};
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL server started by scripts/test.sh. In CI a missing server is a failure,
/// never a skip; locally, tests that need it say so and return.
pub fn pg_server_url() -> Option<String> {
    match std::env::var("PFM_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PFM_TEST_PG_URL is unset in CI: run the tests through scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: PFM_TEST_PG_URL is unset; run scripts/test.sh to start PostgreSQL");
            None
        }
    }
}

static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the test server; returns its URL.
pub async fn fresh_pg_database() -> Option<String> {
    let server = pg_server_url()?;
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    );
    let admin = PgStore::connect(&server, 1)
        .await
        .expect("connect to the test server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .expect("create test database");
    let base = server
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(server);
    Some(format!("{base}/{name}"))
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub async fn fresh_sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open sqlite");
    (store, dir)
}

/// A fresh database, migrated by the binary (`pipeline migrate`); returns its URL.
pub async fn fresh_migrated_pg_database(dir: &std::path::Path) -> Option<String> {
    let url = fresh_pg_database().await?;
    let ok = pipeline_cmd(dir, Some(&url))
        .arg("migrate")
        .status()
        .expect("migrate")
        .success();
    assert!(ok, "migrate");
    Some(url)
}

/// Holds every commit of a pipeline on `url` until the transaction is dropped or rolled
/// back: an EXCLUSIVE lock on `source_offsets` blocks writes but still allows the reads the
/// pipeline makes, so lag stands still while it is measured.
pub async fn hold_commits(url: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let blocker = PgStore::connect(url, 1).await.expect("connect");
    let mut tx = blocker.pool().begin().await.expect("begin");
    sqlx::query("LOCK TABLE source_offsets IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .expect("lock");
    tx
}

pub async fn fresh_pg() -> Option<PgStore> {
    let url = fresh_pg_database().await?;
    Some(
        PgStore::connect(&url, 4)
            .await
            .expect("connect to fresh database"),
    )
}

/// Finds a free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Minimal HTTP GET (no client dependency): returns (status, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

pub const TEST_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The binary with a clean environment pointing at `database_url`.
pub fn pipeline_cmd(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("HTTP_PORT", "0")
        .env("LOG_LEVEL", "WARN");
    if let Some(url) = database_url {
        c.env("DATABASE_URL", url).env("ENCRYPTION_KEY", TEST_KEY);
    }
    c
}

/// `pipeline generate --count COUNT --seed SEED`, in the tests' clean environment.
pub fn generate_cmd(count: u64, seed: u64) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOG_LEVEL", "WARN")
        .args([
            "generate",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
        ]);
    c
}

/// `pipeline generate` output.
pub fn generated_input(count: u64, seed: u64) -> String {
    let out = generate_cmd(count, seed).output().expect("run generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// Per-table counts and integrity figures of a PostgreSQL database after a run.
pub async fn pg_integrity(url: &str) -> PgIntegrity {
    // Retried: with several replicas and other tests on 2 cores, one connect can time out.
    let mut attempt = 0;
    let s = loop {
        match PgStore::connect(url, 2).await {
            Ok(s) => break s,
            Err(e) if attempt < 5 => {
                attempt += 1;
                eprintln!("pg_integrity: connect failed ({e}), retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => panic!("connect: {e:?}"),
        }
    };
    let one = |sql: &'static str| {
        let pool = s.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    PgIntegrity {
        transactions: one("SELECT COUNT(*) FROM transactions").await,
        quarantine: one("SELECT COUNT(*) FROM quarantine").await,
        dead_letters: one("SELECT COUNT(*) FROM dead_letters").await,
        decision_log: one("SELECT COUNT(*) FROM decision_log").await,
        distinct_ids: one(
            "SELECT COUNT(DISTINCT id) FROM (SELECT transaction_id AS id FROM transactions UNION ALL \
             SELECT transaction_id FROM quarantine UNION ALL \
             SELECT COALESCE(transaction_id, source || ':' || source_offset) FROM dead_letters) x",
        )
        .await,
        duplicate_decisions: one(
            "SELECT COUNT(*) FROM (SELECT transaction_id FROM decision_log GROUP BY transaction_id HAVING COUNT(*) > 1) x",
        )
        .await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgIntegrity {
    pub transactions: i64,
    pub quarantine: i64,
    pub dead_letters: i64,
    pub decision_log: i64,
    pub distinct_ids: i64,
    pub duplicate_decisions: i64,
}

impl PgIntegrity {
    pub fn total(&self) -> i64 {
        self.transactions + self.quarantine + self.dead_letters
    }
}

/// A Python with pyarrow and boto3 (from scripts/install-test-deps.sh): the independent
/// reader of the lakehouse. Missing in CI is a failure, locally a skip.
pub fn test_python() -> Option<String> {
    match std::env::var("PFM_TEST_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PFM_TEST_PYTHON (a Python with pyarrow and boto3) is missing in CI: run scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: PFM_TEST_PYTHON unset; run scripts/install-test-deps.sh and scripts/test.sh");
            None
        }
    }
}

/// A plain allowed grocery purchase as a store row; tests override what they exercise with
/// struct update syntax.
pub fn sample_row(id: &str) -> pfm::store::TxnRow {
    use chrono::TimeZone;
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date");
    pfm::store::TxnRow {
        transaction_id: id.into(),
        digest: format!("digest-{id}"),
        account_id: "acct-1".into(),
        ts: at,
        amount: "10".into(),
        currency: "EUR".into(),
        merchant: "Shop".into(),
        mcc: "5411".into(),
        country: "DE".into(),
        channel: "online".into(),
        category: "groceries".into(),
        description: None,
        customer_name_enc: None,
        customer_email_enc: None,
        card_number_enc: None,
        iban_enc: None,
        key_id: None,
        extra: "{}".into(),
        risk_score: 0.1,
        findings: "[]".into(),
        decision: "allow".into(),
        reasons: "[]".into(),
        policy_path: "agentic/allow".into(),
        policy_version: "v1".into(),
        decided_at: at,
        source: "file:test".into(),
        partition: 0,
        offset: 0,
        received_at: Some(at),
        pii_removed: Some("[]".into()),
    }
}

/// Every row of every table of the database at `url`, as text: what a scan for leaked
/// values reads.
pub async fn database_text(url: &str) -> String {
    let store = PgStore::connect(url, 1).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(store.pool())
    .await
    .expect("tables");
    let mut all = String::new();
    for t in tables {
        let text: String = sqlx::query_scalar(&format!(
            "SELECT coalesce(string_agg(x::text, E'\\n'), '') FROM \"{t}\" x"
        ))
        .fetch_one(store.pool())
        .await
        .expect("table text");
        all.push_str(&text);
        all.push('\n');
    }
    all
}
