//! Which source a run reads, and how the Kafka consumer thread asks the database where an
//! assigned partition resumes.

use crate::config::Config;
use crate::source::KafkaSource;
use crate::store::Store;

/// Where `pipeline run` reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChoice {
    /// A JSON-lines file, or stdin for `-`; the run ends when it is drained.
    File(String),
    /// Generated records: `count` of them, or endless.
    Synthetic { seed: u64, count: Option<u64> },
    /// The `KAFKA_TOPIC` consumer group.
    Kafka,
}

impl SourceChoice {
    /// The command line's choice: `--input`, else `--count`, else the Kafka topic when
    /// `KAFKA_BOOTSTRAP_SERVERS` is set, else endless synthetic records.
    pub fn from_args(cfg: &Config, input: Option<String>, count: Option<u64>, seed: u64) -> Self {
        match (input, count) {
            (Some(path), _) => Self::File(path),
            (None, None) if cfg.kafka.is_some() => Self::Kafka,
            (None, count) => Self::Synthetic { seed, count },
        }
    }

    pub fn is_kafka(&self) -> bool {
        matches!(self, Self::Kafka)
    }
}

/// Answers on the consumer's own thread (librdkafka's rebalance callback is synchronous),
/// so it blocks on the runtime for at most [`crate::kafka::OFFSET_LOOKUP_WAIT`].
pub(super) fn offset_lookup<S: Store + Clone>(
    store: &S,
    topic: &str,
) -> crate::kafka::OffsetLookup {
    let store = store.clone();
    let name = KafkaSource::source_name(topic);
    let handle = tokio::runtime::Handle::current();
    Box::new(move || {
        handle.block_on(async {
            match tokio::time::timeout(crate::kafka::OFFSET_LOOKUP_WAIT, store.load_offsets(&name))
                .await
            {
                Ok(Ok(map)) => Ok(map),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no answer within {:?}",
                    crate::kafka::OFFSET_LOOKUP_WAIT
                )),
            }
        })
    })
}
