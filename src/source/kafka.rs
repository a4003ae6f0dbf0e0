use super::{Source, SourceBatch, SourceError};
use crate::domain::{Envelope, OffsetRow, Position};
use crate::kafka::{ConsumerHandle, Event};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{mpsc as sync_mpsc, Arc};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// While nothing arrives, `next_batch` returns an empty batch this often, so the run loop
/// keeps beating (liveness) and notices shutdown.
const IDLE: Duration = Duration::from_secs(1);

/// The input topic, consumed in a group. Offsets are stored as `kafka:<topic>`, partition by
/// partition; the consumer thread seeks to them whenever a partition is assigned.
/// Starts a consumer (subscribed, polling) and returns it with its event stream.
pub type ConsumerFactory = Box<
    dyn Fn() -> Result<(ConsumerHandle, mpsc::UnboundedReceiver<Event>), crate::kafka::KafkaError>
        + Send,
>;

pub struct KafkaSource {
    name: Arc<str>,
    consumer: Option<ConsumerHandle>,
    events: mpsc::UnboundedReceiver<Event>,
    factory: ConsumerFactory,
    linger: Duration,
    /// One per batch handed out and not yet committed, oldest first.
    outstanding: VecDeque<Ticket>,
}

/// What a batch's commit settles: its records leave the in-flight count, its producer
/// timestamps give the produce-to-commit latency, and partitions revoked while it was read
/// are released only after it is committed (it may hold their records).
struct Ticket {
    records: usize,
    produced_ms: Vec<i64>,
    releases: Vec<sync_mpsc::SyncSender<()>>,
}

impl KafkaSource {
    pub fn source_name(topic: &str) -> String {
        format!("kafka:{topic}")
    }

    pub fn new(factory: ConsumerFactory, linger: Duration) -> Result<Self, SourceError> {
        let (consumer, events) = factory()?;
        Ok(Self {
            name: Self::source_name(consumer.topic()).into(),
            consumer: Some(consumer),
            events,
            factory,
            linger,
            outstanding: VecDeque::new(),
        })
    }

    /// Replaces a consumer whose poller stopped to rejoin the group. Nothing is held for its
    /// partitions: everything handed out was committed before `next_batch` was called.
    async fn rejoin(&mut self) -> Result<(), SourceError> {
        if let Some(old) = self.consumer.take() {
            old.close().await;
        }
        let (consumer, events) = (self.factory)()?;
        self.consumer = Some(consumer);
        self.events = events;
        Ok(())
    }

    /// Commits the last positions to the group and leaves it.
    pub async fn close(mut self) {
        self.outstanding.clear();
        self.events.close();
        if let Some(c) = self.consumer.take() {
            c.close().await;
        }
    }
}

impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    /// Nothing to do here: each partition is sought to its stored offset when assigned.
    async fn resume(&mut self, _offsets: &HashMap<i32, i64>) -> Result<(), SourceError> {
        Ok(())
    }

    async fn next_batch(&mut self, max: usize) -> Result<Option<SourceBatch>, SourceError> {
        if self
            .consumer
            .as_ref()
            .is_some_and(|c| c.wants_rejoin() && !c.is_running())
        {
            self.rejoin().await?;
        }
        let mut envelopes: Vec<Envelope> = Vec::new();
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        let mut produced: Vec<(i32, Option<i64>)> = Vec::new();
        let mut releases = Vec::new();
        let idle_until = Instant::now() + IDLE;
        let mut linger_until: Option<Instant> = None;
        while envelopes.len() < max {
            let until = linger_until.unwrap_or(idle_until);
            let event = match tokio::time::timeout_at(until, self.events.recv()).await {
                Ok(Some(e)) => e,
                Ok(None) if self.consumer.as_ref().is_some_and(|c| c.wants_rejoin()) => break,
                Ok(None) => return Err(SourceError::Kafka(crate::kafka::KafkaError::ConsumerGone)),
                Err(_) => break,
            };
            match event {
                Event::Message {
                    partition,
                    offset,
                    payload,
                    timestamp_ms,
                } => {
                    produced.push((partition, timestamp_ms));
                    envelopes.push(Envelope {
                        position: Position {
                            source: self.name.clone(),
                            partition,
                            offset,
                        },
                        payload,
                    });
                    let n = next.entry(partition).or_insert(offset + 1);
                    *n = (*n).max(offset + 1);
                    if linger_until.is_none() {
                        linger_until = Some(Instant::now() + self.linger);
                    }
                }
                Event::Revoked {
                    partitions,
                    lost,
                    done,
                } => {
                    if lost {
                        // Another member owns them now and re-reads from the database.
                        let gone: HashSet<i32> = partitions.into_iter().collect();
                        let before = envelopes.len();
                        envelopes.retain(|e| !gone.contains(&e.position.partition));
                        produced.retain(|(p, _)| !gone.contains(p));
                        next.retain(|p, _| !gone.contains(p));
                        if let Some(c) = &self.consumer {
                            c.discarded(before - envelopes.len());
                        }
                    }
                    // Commit what is held (the revoked partitions' records included), then
                    // release them.
                    releases.push(done);
                    break;
                }
            }
        }
        if envelopes.is_empty()
            && self
                .consumer
                .as_ref()
                .is_some_and(|c| !c.is_running() && !c.wants_rejoin())
        {
            return Err(SourceError::Kafka(crate::kafka::KafkaError::ConsumerGone));
        }
        self.outstanding.push_back(Ticket {
            records: envelopes.len(),
            produced_ms: produced.into_iter().filter_map(|(_, t)| t).collect(),
            releases,
        });
        let offsets = next
            .into_iter()
            .map(|(partition, next_offset)| OffsetRow {
                source: self.name.to_string(),
                partition,
                next_offset,
            })
            .collect();
        Ok(Some(SourceBatch { envelopes, offsets }))
    }

    async fn committed(&mut self, offsets: &[OffsetRow]) {
        let pairs: Vec<(i32, i64)> = offsets
            .iter()
            .map(|o| (o.partition, o.next_offset))
            .collect();
        let ticket = self.outstanding.pop_front();
        if let Some(c) = self.consumer.as_mut() {
            let (produced, records) = ticket
                .as_ref()
                .map_or((&[][..], 0), |t| (&t.produced_ms[..], t.records));
            c.observe_latency(produced);
            c.committed(&pairs, records);
        }
        for done in ticket.into_iter().flat_map(|t| t.releases) {
            let _ = done.send(());
        }
    }
}
