//! Durable state behind one trait, with SQLite (embedded) and PostgreSQL implementations
//! that pass the same conformance suite. A batch's rows, dead letters, decision-log
//! entries, detector state and source offsets are committed in one database transaction.

mod chain;
mod copy_text;
mod keys;
mod outbox;
mod postgres;
mod rows;
mod sqlite;

pub use chain::{verify_chain, ChainRow, VerifyReport, GENESIS};
pub use copy_text::CopyLines;
pub use keys::{rewrap_all, Erasure, KeyStore, RewrapReport};
pub use outbox::{record_payload, OutboxEntry, OutboxRow, PublishTopics, SentTo};
pub use postgres::PgStore;
pub use rows::*;
pub use sqlite::SqliteStore;

use crate::crypto::WrappedKey;
use std::collections::HashMap;
use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Deadlock or serialization failure: PostgreSQL rolled the transaction back because of
    /// a concurrent one (another replica). Retrying the whole transaction is safe.
    #[error("transaction aborted by a concurrent one: {0}")]
    Conflict(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database schema is at version {found}, this binary needs {expected}: run `pipeline migrate`")]
    SchemaTooOld { found: i64, expected: i64 },
    #[error("database schema is at version {found}, newer than this binary ({expected}); upgrade the binary")]
    SchemaTooNew { found: i64, expected: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Connection-level failures pause the pipeline and are retried; others are bugs or
    /// data problems.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }

    /// The applied schema version against the one this binary was built for.
    pub(crate) fn check_version(found: i64, expected: i64) -> Result<(), StoreError> {
        match found.cmp(&expected) {
            std::cmp::Ordering::Less => Err(Self::SchemaTooOld { found, expected }),
            std::cmp::Ordering::Greater => Err(Self::SchemaTooNew { found, expected }),
            std::cmp::Ordering::Equal => Ok(()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40P01") | Some("40001")) =>
            {
                Self::Conflict(e)
            }
            _ => Self::Query(e),
        }
    }
}

fn is_unavailable_code(code: Option<&str>) -> bool {
    // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failures;
    // a lock or statement timeout (contention or overload: retrying later is right).
    matches!(
        code,
        Some("55P03")
            | Some("57014")
            | Some("57P01")
            | Some("57P02")
            | Some("57P03")
            | Some("08000")
            | Some("08003")
            | Some("08006")
    )
}

pub trait Store: KeyStore + Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Whether a batch may be prepared while the previous one commits. A store with one
    /// writer (SQLite) gains nothing from it: the next batch's data-key writes would only
    /// queue behind the commit.
    fn overlaps_commits(&self) -> bool {
        false
    }
    /// Does the CPU-only part of committing `batch` now, on the caller's thread, so that it
    /// overlaps the commit in flight instead of lengthening the next one.
    fn encode_ahead(&self, _batch: &mut CommitBatch) {}
    /// Applies the embedded migrations; safe when several processes run it at once.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Refuses a schema older (or newer) than this binary expects.
    fn check_schema(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn ping(&self) -> impl Future<Output = bool> + Send;
    fn load_offsets(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<HashMap<i32, i64>, StoreError>> + Send;
    fn load_detector_state(
        &self,
        accounts: &[String],
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    /// Stores each proposed key unless the account already has one; returns the key each
    /// account actually has (so concurrent replicas agree on one key per account).
    fn get_or_create_data_keys(
        &self,
        proposed: &[(String, WrappedKey)],
    ) -> impl Future<Output = Result<Vec<(String, WrappedKey)>, StoreError>> + Send;
    fn commit(
        &self,
        batch: &CommitBatch,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;
    fn counts(&self) -> impl Future<Output = Result<Counts, StoreError>> + Send;
    /// The decision log in chain order, from `after_seq`, at most `limit` rows.
    fn chain_rows(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ChainRow>, StoreError>> + Send;
    fn chain_head(&self) -> impl Future<Output = Result<(i64, String), StoreError>> + Send;
    /// The next decision-log range to export: a pending one left by a crash, else a new
    /// range after the last exported one, recorded as pending. `None` when fewer than
    /// `min_rows` are waiting (unless `flush`).
    fn export_claim(
        &self,
        min_rows: i64,
        max_rows: i64,
        flush: bool,
    ) -> impl Future<Output = Result<Option<ExportRange>, StoreError>> + Send;
    fn export_rows(
        &self,
        range: ExportRange,
    ) -> impl Future<Output = Result<ExportRows, StoreError>> + Send;
    fn export_done(
        &self,
        range: ExportRange,
        objects: &[String],
        rows: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Decision-log rows committed but not exported yet.
    fn export_backlog(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Outbox messages not yet acknowledged, oldest first.
    fn outbox_pending(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;
    /// Records where each message is about to be sent (before sending), for the messages no
    /// other relay has marked yet; returns their ids: only those may be sent.
    fn outbox_mark_sent(
        &self,
        sent: &[(i64, SentTo)],
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;
    /// Deletes the acknowledged messages and returns the others to "not sent".
    fn outbox_settle(
        &self,
        delivered: &[i64],
        not_delivered: &[i64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn outbox_backlog(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// `None` while another replica relays.
    fn relay_lease(&self) -> impl Future<Output = Result<Option<RelayLease>, StoreError>> + Send;
    /// When the oldest not-yet-exported decision was made (`None`: nothing waits). Read from
    /// the store, so every replica reports the same age, across restarts too.
    fn export_oldest_waiting(
        &self,
    ) -> impl Future<Output = Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>> + Send;
}

/// The right to relay the outbox: one replica at a time, so the in-doubt check after a
/// crash can trust that nobody else published the same messages. On PostgreSQL it is a
/// session advisory lock held on a dedicated connection: it ends when the process or its
/// connection dies.
pub struct RelayLease {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl RelayLease {
    /// The embedded database has one process by construction.
    pub(crate) fn embedded() -> Self {
        Self { conn: None }
    }

    pub(crate) fn held(conn: sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        Self { conn: Some(conn) }
    }

    /// `false` once the lock's connection is gone (another replica may hold it now).
    pub async fn still_held(&mut self) -> bool {
        match self.conn.as_mut() {
            None => true,
            Some(c) => sqlx::query("SELECT 1").execute(&mut **c).await.is_ok(),
        }
    }
}

impl Drop for RelayLease {
    fn drop(&mut self) {
        // Closing the connection, rather than returning it to the pool, releases the lock.
        if let Some(c) = self.conn.take() {
            drop(c.detach());
        }
    }
}

/// Walks the whole decision log in pages and checks the hash chain.
pub async fn audit_verify<S: Store>(store: &S) -> Result<VerifyReport, StoreError> {
    let head = store.chain_head().await?;
    let mut state = chain::Verifier::default();
    let mut after = 0;
    loop {
        let rows = store.chain_rows(after, 10_000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        if let Some(report) = state.feed(&rows) {
            return Ok(report);
        }
    }
    Ok(state.finish(head))
}
