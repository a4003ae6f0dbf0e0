//! The embedded store on SQLite, one file per role. One file, WAL mode, so readers never
//! block the writer and several processes (`pipeline run`, `pipeline worker`, `pipeline
//! mcp`) can share it; a writer waits up to the busy timeout for the write lock.
//! `synchronous=NORMAL` keeps every commit across a process crash (the WAL is written before
//! commit returns); only an OS crash or power loss can drop the newest commits, and the
//! source offsets roll back with them.

mod audit;
mod commit;
mod export;
mod governance;
mod journey;
mod keys;
mod lineage;
mod outbox;
mod workflow;

use super::sql::{self, Dialect};
use super::{migrations, Database, StoreError};
use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

/// Rows per multi-row statement: 28 columns × 1000 stays under SQLite's 32,766 variables.
const CHUNK: usize = 1000;

/// The shared statements in SQLite's dialect.
fn stmts() -> &'static sql::Statements {
    Dialect::Sqlite.sql()
}

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        // A process creating the file while another migrates it can get SQLITE_BUSY from
        // the connection's own set-up (switching to WAL), which the busy timeout does not
        // cover: connecting again once the other's transaction ends is enough.
        let mut attempt = 0;
        let pool = loop {
            match SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.clone())
                .await
            {
                Ok(pool) => break pool,
                Err(e) if attempt < 20 && is_busy(&e) => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "database file busy; connecting again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("5") | Some("6")),
        _ => false,
    }
}

fn expected_version() -> i64 {
    migrations::SQLITE.latest_version()
}

/// Timestamps are stored as RFC 3339 text ([`crate::store::format_ts`]).
fn parse_ts(s: &str) -> Result<chrono::DateTime<Utc>, sqlx::Error> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl Database for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    /// Another process may migrate the same file at the same moment (`pipeline run` and
    /// `pipeline worker` started together): SQLite has no migration lock, so the loser of
    /// that race fails on a table the winner created. Each migration is one transaction,
    /// so it only has to run again: what the other applied is then skipped.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            match migrations::SQLITE.migrator().await?.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 10 => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "migration collided; running it again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn check_schema(&self) -> Result<(), StoreError> {
        let exists: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        let found: i64 = match exists {
            None => 0,
            Some(_) => {
                sqlx::query_scalar(sql::SCHEMA_VERSION)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        StoreError::check_version(found, expected_version())
    }

    async fn ping(&self) -> bool {
        sqlx::query(sql::SELECT_ONE)
            .execute(&self.pool)
            .await
            .is_ok()
    }
}
