//! Kafka clients (librdkafka through `rdkafka`): the settings every consumer and producer of
//! the binary shares, the consumer-group source's consumer thread, and the load generator.

mod consumer;
mod generate;

pub use consumer::{ConsumerHandle, Event, OffsetLookup, OFFSET_LOOKUP_WAIT};
pub use generate::{produce_synthetic, ProduceReport};

use crate::config::KafkaConfig;
use rdkafka::ClientConfig;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("cannot create the Kafka {role}: {source}")]
    Create {
        role: &'static str,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot subscribe to topic {topic}: {source}")]
    Subscribe {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("the Kafka consumer thread stopped")]
    ConsumerGone,
    #[error(
        "{failed} of {total} records were not acknowledged by the broker (first error: {first})"
    )]
    Delivery {
        failed: u64,
        total: u64,
        first: String,
    },
    #[error("cannot spawn the Kafka consumer thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// The client identity: the pod name on Kubernetes, so broker-side tools show which pod
/// owns which partitions.
fn client_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .map(|h| format!("agentic-pfm-{h}"))
        .unwrap_or_else(|| "agentic-pfm".into())
}

/// Consumer settings: manual commits (the database is the source of truth for offsets),
/// cooperative-sticky assignment, then the user's typed and free-form properties.
pub fn consumer_config(cfg: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("group.id", &cfg.group_id)
        .set("client.id", client_id())
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        // Also the rebalance timeout: how long a rebalance waits for a member that died
        // mid-rebalance (some brokers, tansu among them, evict it only then). The poller never
        // blocks longer than a revocation's wait, so a minute is ample.
        .set("max.poll.interval.ms", "60000")
        .set("enable.partition.eof", "false");
    apply(&mut c, cfg.client_properties.expose());
    apply(&mut c, cfg.consumer_properties.expose());
    c
}

/// Producer settings: idempotent, acknowledged by all in-sync replicas.
pub fn producer_config(cfg: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("client.id", client_id())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5");
    let consumer_only = [
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "fetch.max.bytes",
        "max.partition.fetch.bytes",
        "auto.offset.reset",
    ];
    let shared: Vec<(String, String)> = cfg
        .client_properties
        .expose()
        .iter()
        .filter(|(k, _)| !consumer_only.contains(&k.as_str()))
        .cloned()
        .collect();
    apply(&mut c, &shared);
    apply(&mut c, cfg.producer_properties.expose());
    c
}

fn apply(c: &mut ClientConfig, props: &[(String, String)]) {
    for (k, v) in props {
        c.set(k, v);
    }
}

/// librdkafka's log lines, at their own level, through `tracing` (so they are JSON too).
fn log_line(level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
    use rdkafka::config::RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error => {
            tracing::error!(facility = fac, "librdkafka: {message}")
        }
        L::Warning => tracing::warn!(facility = fac, "librdkafka: {message}"),
        L::Notice | L::Info => tracing::info!(facility = fac, "librdkafka: {message}"),
        L::Debug => tracing::debug!(facility = fac, "librdkafka: {message}"),
    }
}
