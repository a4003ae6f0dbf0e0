//! The Kafka publisher: relays the outbox (written in each batch's transaction) to the
//! output topics with an idempotent producer, so publication is neither lost nor duplicated
//! when a pod dies.
//!
//! - One relay at a time across replicas ([`RelayLease`]).
//! - Before a message is first sent, its partition (murmur2 of the key, as Java clients
//!   choose) and that partition's end offset (the floor) are stored.
//! - Acknowledged messages are deleted. A message whose send was not acknowledged (a crash,
//!   a broker outage) is "in doubt": the next relay reads its partition from the floor, and
//!   the `pfm-outbox-id` headers it finds say which were delivered. Only the others are
//!   sent again.
//! - Kafka down means fail soft: the outbox grows (`pipeline_outbox_backlog`) and drains
//!   when the broker returns.

use crate::config::KafkaConfig;
use crate::store::{Delivered, OutboxEntry, RelayLease, SentTo, Store, StoreError};
use crate::telemetry::metrics::{Metrics, TopicLabel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const ROUND: i64 = 1_000;
const OUTBOX_ID: &str = "pfm-outbox-id";
const BROKER_WAIT: Duration = Duration::from_secs(5);
/// A send is settled within the producer's queue timeout (5 s) plus `message.timeout.ms`
/// (15 s). Only messages marked longer ago than this are checked: a younger one may still be
/// on its way from a relay that lost its lease (a database restart ends every lease at once),
/// and resending it would duplicate it. Found by the chaos run.
const IN_DOUBT_AFTER_SECONDS: f64 = 30.0;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("topic {0} has no partitions (does it exist?)")]
    NoPartitions(String),
    #[error("{failed} of {total} messages not acknowledged (first error: {first})")]
    NotAcknowledged {
        failed: usize,
        total: usize,
        first: String,
    },
    #[error("checking in-doubt messages on {topic}/{partition} timed out")]
    CheckTimedOut { topic: String, partition: i32 },
}

/// The partition Java's default partitioner picks for a key.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

/// Kafka's murmur2 (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

struct Relay {
    cfg: KafkaConfig,
    producer: Option<FutureProducer>,
    partitions: HashMap<String, (i32, Instant)>,
    metrics: Arc<Metrics>,
}

impl Relay {
    fn producer(&mut self) -> Result<&FutureProducer, PublishError> {
        let producer = match self.producer.take() {
            Some(p) => p,
            None => {
                let mut c = ClientConfig::new();
                // Failures surface in seconds, not the default five minutes: an
                // unacknowledged message stays in the outbox either way.
                c.set("message.timeout.ms", "15000");
                for (k, v) in crate::kafka::producer_config(&self.cfg).config_map() {
                    c.set(k, v);
                }
                c.create()?
            }
        };
        Ok(self.producer.insert(producer))
    }

    fn partition_count(&mut self, topic: &str) -> Result<i32, PublishError> {
        if let Some((n, at)) = self.partitions.get(topic) {
            if at.elapsed() < Duration::from_secs(60) {
                return Ok(*n);
            }
        }
        let producer = self.producer()?;
        let md = tokio::task::block_in_place(|| {
            producer.client().fetch_metadata(Some(topic), BROKER_WAIT)
        })?;
        let n = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map_or(0, |t| t.partitions().len() as i32);
        if n == 0 {
            return Err(PublishError::NoPartitions(topic.to_owned()));
        }
        self.partitions
            .insert(topic.to_owned(), (n, Instant::now()));
        Ok(n)
    }

    fn end_offset(&mut self, topic: &str, partition: i32) -> Result<i64, PublishError> {
        let producer = self.producer()?;
        let (_, high) = tokio::task::block_in_place(|| {
            producer
                .client()
                .fetch_watermarks(topic, partition, BROKER_WAIT)
        })?;
        Ok(high)
    }

    /// The outbox ids present in `topic/partition` from offset `from` to the end, with the
    /// offset each was found at.
    fn delivered_ids(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
    ) -> Result<HashMap<i64, i64>, PublishError> {
        let mut c = ClientConfig::new();
        for (k, v) in crate::kafka::consumer_config(&self.cfg).config_map() {
            c.set(k, v);
        }
        c.set("group.id", "agentic-pfm-outbox-check")
            .set("enable.partition.eof", "true");
        let consumer: BaseConsumer = c.create()?;
        tokio::task::block_in_place(|| {
            let (low, high) = consumer.fetch_watermarks(topic, partition, BROKER_WAIT)?;
            let start = from.clamp(low, high);
            let mut found = HashMap::new();
            if start >= high {
                return Ok(found);
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, partition, Offset::Offset(start))?;
            consumer.assign(&tpl)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                match consumer.poll(Duration::from_millis(500)) {
                    None => {}
                    Some(Ok(m)) => {
                        if let Some(h) = m.headers() {
                            for i in 0..h.count() {
                                let hd = h.get(i);
                                if hd.key == OUTBOX_ID {
                                    if let Some(id) = hd
                                        .value
                                        .and_then(|v| std::str::from_utf8(v).ok())
                                        .and_then(|v| v.parse().ok())
                                    {
                                        found.insert(id, m.offset());
                                    }
                                }
                            }
                        }
                    }
                    Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return Ok(found),
                    Some(Err(e)) => return Err(PublishError::Kafka(e)),
                }
            }
            Err(PublishError::CheckTimedOut {
                topic: topic.to_owned(),
                partition,
            })
        })
    }

    /// One round: settles in-doubt messages, or sends the next fresh ones. Returns how many
    /// messages left the outbox.
    async fn round<S: Store>(&mut self, store: &S) -> Result<usize, PublishError> {
        let rows = store.outbox_pending(ROUND).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let (doubt, fresh): (Vec<&OutboxEntry>, Vec<&OutboxEntry>) =
            rows.iter().partition(|r| r.sent.is_some());
        if !doubt.is_empty() {
            let ripe: Vec<&OutboxEntry> = doubt
                .into_iter()
                .filter(|r| r.sent_seconds_ago >= IN_DOUBT_AFTER_SECONDS)
                .collect();
            if ripe.is_empty() {
                return Ok(0);
            }
            return self.settle_in_doubt(store, &ripe).await;
        }
        let mut floors: HashMap<(String, i32), i64> = HashMap::new();
        let mut plan = Vec::with_capacity(fresh.len());
        for r in &fresh {
            let n = self.partition_count(&r.topic)?;
            let partition = partition_for(r.key.as_bytes(), n);
            let key = (r.topic.clone(), partition);
            let floor = match floors.get(&key) {
                Some(f) => *f,
                None => {
                    let f = self.end_offset(&r.topic, partition)?;
                    floors.insert(key, f);
                    f
                }
            };
            plan.push((r.id, SentTo { partition, floor }));
        }
        // Only what this relay marked: another one (with a lease it has not noticed losing)
        // may have marked some of the same rows first.
        let marked: HashSet<i64> = store.outbox_mark_sent(&plan).await?.into_iter().collect();
        let producer = self.producer()?.clone();
        let mut pending = Vec::with_capacity(fresh.len());
        for (r, (id, to)) in fresh.iter().zip(&plan) {
            if !marked.contains(id) {
                continue;
            }
            let id_text = id.to_string();
            let mut headers = OwnedHeaders::new().insert(Header {
                key: OUTBOX_ID,
                value: Some(id_text.as_str()),
            });
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_str::<serde_json::Value>(&r.headers)
            {
                for (k, v) in &map {
                    if let Some(v) = v.as_str() {
                        headers = headers.insert(Header {
                            key: k,
                            value: Some(v),
                        });
                    }
                }
            }
            let record = FutureRecord::to(&r.topic)
                .partition(to.partition)
                .key(r.key.as_str())
                .payload(r.payload.as_str())
                .headers(headers);
            pending.push((
                *id,
                r.topic.clone(),
                producer.send(record, Duration::from_secs(5)),
            ));
        }
        let mut delivered = Vec::new();
        let mut first_error = None;
        let total = pending.len();
        let mut by_topic: BTreeMap<String, u64> = BTreeMap::new();
        for (id, topic, fut) in pending {
            match fut.await {
                Ok(d) => {
                    delivered.push(Delivered {
                        id,
                        offset: d.offset,
                    });
                    *by_topic.entry(topic).or_default() += 1;
                }
                Err((e, _)) => {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        // Unacknowledged ones stay marked: the next round checks whether they arrived.
        store.outbox_settle(&delivered, &[]).await?;
        for (topic, n) in by_topic {
            self.metrics
                .published
                .get_or_create(&TopicLabel { topic })
                .inc_by(n);
        }
        match first_error {
            None => Ok(delivered.len()),
            Some(first) => Err(PublishError::NotAcknowledged {
                failed: total - delivered.len(),
                total,
                first,
            }),
        }
    }

    async fn settle_in_doubt<S: Store>(
        &mut self,
        store: &S,
        doubt: &[&OutboxEntry],
    ) -> Result<usize, PublishError> {
        let mut groups: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for r in doubt {
            if let Some(s) = r.sent {
                let f = groups
                    .entry((r.topic.clone(), s.partition))
                    .or_insert(s.floor);
                *f = (*f).min(s.floor);
            }
        }
        let mut present: HashMap<(String, i32, i64), i64> = HashMap::new();
        for ((topic, partition), floor) in &groups {
            for (id, offset) in self.delivered_ids(topic, *partition, *floor)? {
                present.insert((topic.clone(), *partition, id), offset);
            }
        }
        let mut delivered = Vec::new();
        let mut again = Vec::new();
        for r in doubt {
            let p = r.sent.map_or(-1, |s| s.partition);
            match present.get(&(r.topic.clone(), p, r.id)) {
                Some(&offset) => delivered.push(Delivered { id: r.id, offset }),
                None => again.push(r.id),
            }
        }
        tracing::info!(
            delivered = delivered.len(),
            resend = again.len(),
            "outbox: settled messages whose delivery was in doubt"
        );
        store.outbox_settle(&delivered, &again).await?;
        Ok(delivered.len())
    }
}

/// Relays until `drain_by` holds a deadline (the loop has stopped), then drains what it
/// can until that deadline and returns. The deadline is the process's one shutdown
/// deadline, so relaying never lengthens the shutdown.
pub async fn run_relay<S: Store>(
    store: S,
    cfg: KafkaConfig,
    metrics: Arc<Metrics>,
    mut drain_by: watch::Receiver<Option<Instant>>,
) {
    let mut relay = Relay {
        cfg,
        producer: None,
        partitions: HashMap::new(),
        metrics: metrics.clone(),
    };
    let mut lease: Option<RelayLease> = None;
    let mut backoff = Duration::from_millis(200);
    let mut drain_until: Option<Instant> = None;
    let mut last_warning: Option<Instant> = None;
    loop {
        if drain_until.is_none() {
            drain_until = *drain_by.borrow();
        }
        if drain_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        if lease.is_none() {
            lease = store.relay_lease().await.ok().flatten();
        }
        let mut idle = true;
        if let Some(l) = lease.as_mut() {
            if !l.still_held().await {
                tracing::warn!("outbox relay lease lost");
                lease = None;
            } else {
                match relay.round(&store).await {
                    Ok(n) => {
                        idle = n == 0;
                        backoff = Duration::from_millis(200);
                    }
                    Err(e) => {
                        if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                            tracing::warn!(error = %e, "kafka publish failed; the outbox keeps the messages and retries");
                            last_warning = Some(Instant::now());
                        }
                        relay.producer = None;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        idle = true;
                    }
                }
            }
        }
        let backlog = store.outbox_backlog().await.unwrap_or(-1);
        if backlog >= 0 {
            metrics.outbox_backlog.set(backlog);
        }
        if drain_until.is_some() && backlog == 0 {
            break;
        }
        if idle {
            let wait = if lease.is_some() {
                backoff
            } else {
                Duration::from_secs(2)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = drain_by.changed(), if drain_until.is_none() => {}
            }
        }
    }
    if let Ok(n) = store.outbox_backlog().await {
        metrics.outbox_backlog.set(n);
        if n > 0 {
            tracing::warn!(
                backlog = n,
                "outbox not fully published at exit; the next relay sends the rest"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 3] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input) as i32,
                expected,
                "{:?}",
                std::str::from_utf8(input)
            );
        }
        assert!((0..12).contains(&partition_for(b"acct-1", 12)));
    }
}
