//! Where records come from. Every source yields batches of payloads with their positions,
//! and the offsets to store with the batch so a restart resumes after it.

mod file;
mod kafka;
mod synthetic;

pub use file::FileSource;
pub use kafka::{ConsumerFactory, KafkaSource};
pub use synthetic::SyntheticSource;

use crate::domain::{Envelope, OffsetRow};

pub struct SourceBatch {
    pub envelopes: Vec<Envelope>,
    /// Positions to resume from once this batch is committed.
    pub offsets: Vec<OffsetRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read input {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Kafka(#[from] crate::kafka::KafkaError),
}

pub trait Source: Send {
    /// Stable identity, used as the key of stored offsets and dead letters.
    fn name(&self) -> &str;
    /// Skips what a previous run committed, given the stored offsets.
    fn resume(
        &mut self,
        offsets: &std::collections::HashMap<i32, i64>,
    ) -> impl std::future::Future<Output = Result<(), SourceError>> + Send;
    /// `None` when the source is drained (bounded sources only). An unbounded source may
    /// return an empty batch when idle, so the caller keeps control.
    fn next_batch(
        &mut self,
        max: usize,
    ) -> impl std::future::Future<Output = Result<Option<SourceBatch>, SourceError>> + Send;
    /// Called once per batch, in the order `next_batch` returned them, when that batch is
    /// committed (or was empty). One more batch may be read before the previous one's call.
    fn committed(
        &mut self,
        _offsets: &[OffsetRow],
    ) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}
