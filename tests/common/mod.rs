//! Test harness shared by the integration tests.
#![allow(dead_code)]

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
