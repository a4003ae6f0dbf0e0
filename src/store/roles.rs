//! The store's roles, one trait each. A backend implements every role; the pipeline asks for
//! the [`Store`] that combines them, and code that needs one job asks for that role only
//! (the lake exporter an [`ExportLedger`], `audit verify` an [`AuditLog`], the key commands a
//! [`KeyStore`](super::KeyStore), the workflow worker a [`WorkflowStore`](super::WorkflowStore)).

use super::{
    ChainRow, CommitBatch, CommitOutcome, Counts, Delivered, ExportRange, ExportRows, KeyStore,
    LineageStep, LlmSlotStore, OpenRun, OutboxEntry, RelayLease, SentTo, StoreError, VerifyReport,
    WorkflowStore,
};
use crate::crypto::WrappedKey;
use std::collections::HashMap;
use std::future::Future;

/// What every backend is: its name, its schema and whether it answers.
pub trait Database: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Applies the embedded migrations; safe when several processes run it at once.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Refuses a schema older (or newer) than this binary expects.
    fn check_schema(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn ping(&self) -> impl Future<Output = bool> + Send;
}

/// The pipeline's write path: what a batch needs before it commits (offsets, detector state,
/// data keys), the commit itself, and the counts that report on it.
pub trait CommitStore: Send + Sync + 'static {
    /// Whether a batch may be prepared while the previous one commits. A store with one
    /// writer (SQLite) gains nothing from it: the next batch's data-key writes would only
    /// queue behind the commit.
    fn overlaps_commits(&self) -> bool {
        false
    }
    /// Does the CPU-only part of committing `batch` now, on the caller's thread, so that it
    /// overlaps the commit in flight instead of lengthening the next one.
    fn encode_ahead(&self, _batch: &mut CommitBatch) {}
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
}

/// The lake export's ledger: which decision-log ranges are exported, pending or waiting.
pub trait ExportLedger: Send + Sync + 'static {
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
    /// Marks the range exported; `lineage` (the export run's terminal event) is written in
    /// the same transaction.
    fn export_done(
        &self,
        range: ExportRange,
        objects: &[String],
        rows: i64,
        lineage: Option<LineageStep>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Decision-log rows committed but not exported yet.
    fn export_backlog(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// When the oldest not-yet-exported decision was made (`None`: nothing waits). Read from
    /// the store, so every replica reports the same age, across restarts too.
    fn export_oldest_waiting(
        &self,
    ) -> impl Future<Output = Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>> + Send;
}

/// The transactional outbox, as the relay sees it.
pub trait OutboxStore: Send + Sync + 'static {
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
    /// Deletes the acknowledged messages, keeping where each landed (`publications`, for a
    /// record's journey), and returns the others to "not sent".
    fn outbox_settle(
        &self,
        delivered: &[Delivered],
        not_delivered: &[i64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn outbox_backlog(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// `None` while another replica relays.
    fn relay_lease(&self) -> impl Future<Output = Result<Option<RelayLease>, StoreError>> + Send;
}

/// OpenLineage runs and their events (decision 0013).
pub trait LineageStore: Send + Sync + 'static {
    /// Every run still open, oldest first.
    fn lineage_open_runs(&self) -> impl Future<Output = Result<Vec<OpenRun>, StoreError>> + Send;
    /// One transaction: closes the runs of `step.close` that are still open, writes the
    /// events `step.render` makes of them, then opens `step.open` with their START events.
    /// Returns how many events were written.
    fn lineage_apply(
        &self,
        step: LineageStep,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Marks `run_id`'s process alive for as long as the lease is held: `None` while another
    /// process holds it. On PostgreSQL a session advisory lock on a dedicated connection,
    /// released when that process dies; the embedded database has one process.
    fn lineage_run_lease(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RelayLease>, StoreError>> + Send;
    /// Events waiting for the lineage relay, oldest first (refused ones excluded).
    fn lineage_pending(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, StoreError>> + Send;
    /// Deletes the delivered events and keeps the refused ones with the reason.
    fn lineage_settle(
        &self,
        delivered: &[i64],
        rejected: &[(i64, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Events waiting for the relay.
    fn lineage_backlog(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// `None` while another replica relays lineage events.
    fn lineage_relay_lease(
        &self,
    ) -> impl Future<Output = Result<Option<RelayLease>, StoreError>> + Send;
}

/// The hash-chained decision log, read back.
pub trait AuditLog: Send + Sync + 'static {
    /// The decision log in chain order, from `after_seq`, at most `limit` rows.
    fn chain_rows(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ChainRow>, StoreError>> + Send;
    fn chain_head(&self) -> impl Future<Output = Result<(i64, String), StoreError>> + Send;
}

/// Every role the pipeline uses, for code that runs the whole pipeline on one backend
/// (the workflow role too: `pipeline run` can drive the workflows in-process; and the LLM
/// slots of the cluster-wide limit, which its agents take).
pub trait Store:
    Database
    + CommitStore
    + ExportLedger
    + OutboxStore
    + AuditLog
    + KeyStore
    + WorkflowStore
    + LineageStore
    + LlmSlotStore
{
}

impl<T> Store for T where
    T: Database
        + CommitStore
        + ExportLedger
        + OutboxStore
        + AuditLog
        + KeyStore
        + WorkflowStore
        + LineageStore
        + LlmSlotStore
{
}

/// Walks the whole decision log in pages and checks the hash chain.
pub async fn audit_verify<S: AuditLog>(store: &S) -> Result<VerifyReport, StoreError> {
    let head = store.chain_head().await?;
    let mut state = super::chain::Verifier::default();
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

/// Checks the hash chain over rows `from..=to` only. The row before `from` anchors the walk:
/// its own hash is checked, and the range must link to it. The head is not compared (the
/// range need not end at it); [`audit_verify`] checks the whole chain and its head.
pub async fn audit_verify_range<S: AuditLog>(
    store: &S,
    from: i64,
    to: i64,
) -> Result<VerifyReport, StoreError> {
    let mut state = if from <= 1 {
        super::chain::Verifier::default()
    } else {
        let anchor = store.chain_rows(from - 2, 1).await?;
        match anchor.first() {
            Some(a) if a.seq == from - 1 && a.compute_hash() == a.row_hash => {
                super::chain::Verifier::anchored(a.seq, a.row_hash.clone())
            }
            Some(a) if a.seq == from - 1 => {
                return Ok(VerifyReport::Broken {
                    seq: a.seq,
                    problem: "row content does not match its hash (row altered)".into(),
                })
            }
            _ => {
                return Ok(VerifyReport::Broken {
                    seq: from - 1,
                    problem: format!("row {} is missing (rows removed)", from - 1),
                })
            }
        }
    };
    let mut after = from.max(1) - 1;
    while after < to {
        let rows = store.chain_rows(after, (to - after).min(10_000)).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        if let Some(report) = state.feed(&rows) {
            return Ok(report);
        }
    }
    if state.last_seq() < to {
        return Ok(VerifyReport::Broken {
            seq: state.last_seq() + 1,
            problem: format!(
                "the log ends at seq {} before {to} (rows removed)",
                state.last_seq()
            ),
        });
    }
    Ok(VerifyReport::Intact {
        rows: to - from.max(1) + 1,
    })
}
