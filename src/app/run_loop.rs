//! The batch loop: read, process, commit, report to the source, until the source drains or
//! shutdown is requested.

use super::processor::{BatchError, BatchProcessor};
use crate::source::{Source, SourceError};
use crate::store::{CommitBatch, CommitOutcome, Store, StoreError};
use crate::telemetry::health::Health;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the commit task failed: {0}")]
    CommitTask(#[from] tokio::task::JoinError),
}

/// The one-line JSON printed on exit.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub records_in: u64,
    pub transactions: u64,
    pub quarantined: u64,
    pub dead_letters: u64,
    pub replays: u64,
    pub duplicate_ids: u64,
    pub decisions: Decisions,
    pub batches: u64,
    pub elapsed_seconds: f64,
    pub records_per_second: f64,
    pub stopped_by_signal: bool,
    /// What the in-process workflow engine did (absent when this process ran none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflows: Option<super::worker::WorkflowSummary>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Decisions {
    pub allow: u64,
    pub review: u64,
    pub deny: u64,
}

/// A batch whose commit runs while the next batch is read and prepared.
struct InFlight {
    task: tokio::task::JoinHandle<Result<CommitOutcome, RunError>>,
    commit: Arc<CommitBatch>,
    records: u64,
    started: Instant,
}

/// Reads, processes and commits batches until the source drains or `shutdown` flips.
/// A batch in flight when the signal arrives is finished and committed first.
///
/// Where the store allows it ([`Store::overlaps_commits`]), batch N commits on its own
/// task while batch N+1 is read and run through the stages: the stages and the database
/// then use separate cores. Commits stay strictly in order, one at a time, so offsets and
/// the decision-log chain advance exactly as without the overlap (decision 0006).
pub async fn run_loop<S: Store + Clone, Src: Source>(
    store: &S,
    source: &mut Src,
    processor: &mut BatchProcessor,
    health: &Arc<Health>,
    batch_size: usize,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let mut progress = Progress::default();
    let name = source.name().to_owned();
    let offsets = retry(health, || store.load_offsets(&name)).await?;
    source.resume(&offsets).await?;
    processor.metrics.up.set(1);
    let overlap = store.overlaps_commits();
    let mut in_flight: Option<InFlight> = None;
    let result = loop {
        health.beat();
        // A commit that has landed is reported to the source (Kafka offsets, lag) now,
        // not after the next batch has been read.
        if in_flight.as_ref().is_some_and(|f| f.task.is_finished()) {
            if let Some(f) = in_flight.take() {
                if let Err(e) = finish(f, source, processor, health, &mut progress).await {
                    break Err(e);
                }
            }
        }
        if *shutdown.borrow() {
            progress.summary.stopped_by_signal = true;
            break Ok(());
        }
        if processor.lineage.as_ref().is_some_and(|l| l.due()) {
            // The interval closes with no commit in flight: every batch it tallied is in.
            if let Some(f) = in_flight.take() {
                if let Err(e) = finish(f, source, processor, health, &mut progress).await {
                    break Err(e);
                }
            }
            if let Err(e) = roll_interval(store, processor, health).await {
                break Err(e);
            }
        }
        let next = tokio::select! {
            b = source.next_batch(batch_size) => b,
            _ = shutdown.changed() => continue,
        };
        let input = match next {
            Ok(Some(input)) => input,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.into()),
        };
        if input.envelopes.is_empty() {
            // Sources are told of commits in order: the batch in flight comes first.
            if let Some(f) = in_flight.take() {
                if let Err(e) = finish(f, source, processor, health, &mut progress).await {
                    break Err(e);
                }
            }
            source.committed(&input.offsets).await;
            continue;
        }
        let batch_started = Instant::now();
        let prepared = loop {
            match processor.prepare(store, &input).await {
                Ok(c) => break Ok(c),
                Err(e) if e.is_conflict() => conflict_pause(&e).await,
                Err(e) if e.is_transient() => {
                    wait_for_database(health, &e).await;
                }
                Err(e) => break Err(e),
            }
        };
        let commit = match prepared {
            Ok(mut c) => {
                store.encode_ahead(&mut c);
                Arc::new(c)
            }
            Err(e) => break Err(e.into()),
        };
        if let Some(f) = in_flight.take() {
            if let Err(e) = finish(f, source, processor, health, &mut progress).await {
                break Err(e);
            }
        }
        let task = {
            let (store, health, commit) = (store.clone(), health.clone(), commit.clone());
            tokio::spawn(async move { retry(&health, || store.commit(&commit)).await })
        };
        let f = InFlight {
            task,
            commit,
            records: input.envelopes.len() as u64,
            started: batch_started,
        };
        if overlap {
            in_flight = Some(f);
        } else if let Err(e) = finish(f, source, processor, health, &mut progress).await {
            break Err(e);
        }
    };
    // On every exit, including an error, the batch in flight is committed first.
    let drained = match in_flight.take() {
        Some(f) => finish(f, source, processor, health, &mut progress).await,
        None => Ok(()),
    };
    processor.metrics.up.set(0);
    result?;
    drained?;
    Ok(progress.into_summary(started.elapsed().as_secs_f64()))
}

/// What the loop has committed so far.
#[derive(Default)]
struct Progress {
    summary: Summary,
    total: CommitOutcome,
}

impl Progress {
    fn into_summary(self, elapsed: f64) -> Summary {
        let Self { mut summary, total } = self;
        summary.transactions = total.transactions;
        summary.quarantined = total.quarantined;
        summary.dead_letters = total.dead_letters;
        summary.replays = total.replays;
        summary.duplicate_ids = total.duplicate_ids;
        summary.decisions = Decisions {
            allow: total.allow,
            review: total.review,
            deny: total.deny,
        };
        summary.elapsed_seconds = (elapsed * 1000.0).round() / 1000.0;
        summary.records_per_second = if elapsed > 0.0 {
            (summary.records_in as f64 / elapsed).round()
        } else {
            0.0
        };
        summary
    }
}

/// Waits for a batch's commit, then tells the source and records the metrics.
async fn finish<Src: Source>(
    f: InFlight,
    source: &mut Src,
    processor: &mut BatchProcessor,
    health: &Health,
    progress: &mut Progress,
) -> Result<(), RunError> {
    let outcome = f.task.await??;
    source.committed(&f.commit.offsets).await;
    if !health.set_database(true) {
        tracing::info!("database available again: resuming");
    }
    let m = &processor.metrics;
    m.batch_duration.observe(f.started.elapsed().as_secs_f64());
    m.last_commit
        .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    processor.record_metrics(&f.commit, &outcome);
    if let Some(l) = processor.lineage.as_mut() {
        l.committed();
    }
    progress.summary.records_in += f.records;
    progress.summary.batches += 1;
    progress.total.add(&outcome);
    Ok(())
}

/// Closes the open lineage interval and opens the next (OpenLineage on).
async fn roll_interval<S: Store>(
    store: &S,
    processor: &mut BatchProcessor,
    health: &Health,
) -> Result<(), RunError> {
    let Some(runs) = processor.lineage.as_mut() else {
        return Ok(());
    };
    let next = runs.next_interval();
    retry(health, || store.lineage_apply(runs.roll_step(&next))).await?;
    runs.rolled(next);
    Ok(())
}

/// Retries `op` while the database is unavailable: `/health` turns 503, nothing commits,
/// and the loop resumes by itself when the database returns.
async fn retry<T, F, Fut>(health: &Health, mut op: F) -> Result<T, RunError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_conflict() => conflict_pause(&e).await,
            Err(e) if e.is_unavailable() => {
                wait_for_database(health, &e).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A deadlock or serialization failure with another replica: the database is fine, so
/// health stays up; a short, jittered pause lets the other transaction finish first.
async fn conflict_pause(error: &(dyn std::fmt::Display + Sync)) {
    tracing::warn!(error = %error, "transaction conflicted with a concurrent one: retrying it");
    let jitter = u64::from(chrono::Utc::now().timestamp_subsec_micros() % 200);
    tokio::time::sleep(Duration::from_millis(20 + jitter)).await;
}

async fn wait_for_database(health: &Health, error: &(dyn std::fmt::Display + Sync)) {
    let was_up = health
        .database
        .swap(false, std::sync::atomic::Ordering::Relaxed);
    if was_up {
        tracing::error!(error = %error, "database unavailable: pausing consumption until it returns");
    }
    for _ in 0..4 {
        health.beat();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    health.beat();
}
