//! The consumer thread. librdkafka runs rebalance callbacks inside `poll`, so one plain
//! thread owns the polling: it forwards messages to the async batch loop, pauses the
//! partitions when the loop falls behind, measures the lag, and in the callbacks
//! (a) seeks newly assigned partitions to the offsets stored in the database, and
//! (b) holds a revocation until the loop has committed every record it was handed from
//!     the revoked partitions.

mod poller;

use super::KafkaError;
use crate::config::KafkaConfig;
use crate::telemetry::health::Health;
use crate::telemetry::metrics::{Metrics, PartitionLabel};
use poller::Poller;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError as RdError;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc as sync_mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a revocation waits for the batch loop to commit the revoked partitions' records.
/// Past it the partitions are released anyway: the next owner re-reads from the database's
/// offsets, and the store recognises any record committed twice as a replay.
const REVOKE_WAIT: Duration = Duration::from_secs(10);
/// Bound on one assignment's offset lookup; past it the group's committed offsets are used.
pub const OFFSET_LOOKUP_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);
/// After an assignment is lost, the group should assign again within a rebalance. A consumer
/// that has heard nothing for this long is replaced by a new one (a new member): seen with
/// tansu, whose coordinator can leave a member that lost its assignment waiting forever.
/// The same holds for a member left with no partitions at all: the deployment keeps replicas
/// at most the partitions (the HPA's maximum), so an empty assignment that lasts is a group
/// that kept departed members (seen with tansu after SIGKILLs), not a spare replica.
const REJOIN_AFTER: Duration = Duration::from_secs(30);
/// The group's committed offsets are informational (the database holds the real ones), but
/// operators' tools and any external lag exporter read them. An asynchronous commit can be
/// lost to a broker restart or a coordinator move, and an idle partition sends no new one,
/// so every owned partition's position is sent again at this interval, and at once after a
/// commit is reported failed.
const GROUP_OFFSETS_REFRESH: Duration = Duration::from_secs(5);

/// What the consumer thread hands to the batch loop, in order.
pub enum Event {
    Message {
        partition: i32,
        offset: i64,
        payload: Vec<u8>,
        /// The message's timestamp (producer's create time), Unix milliseconds.
        timestamp_ms: Option<i64>,
    },
    /// The batch loop commits what it holds, then sends on `done` to release the partitions.
    Revoked {
        partitions: Vec<i32>,
        /// The group already gave them to another member (session timeout): what is held
        /// for them must not be committed.
        lost: bool,
        done: sync_mpsc::SyncSender<()>,
    },
}

/// Loads the stored offsets (partition → next offset) of this source.
pub type OffsetLookup = Box<dyn Fn() -> Result<HashMap<i32, i64>, String> + Send + Sync + 'static>;

struct Shared {
    topic: String,
    stop: AtomicBool,
    /// Messages handed to the batch loop and not yet committed.
    in_flight: AtomicUsize,
    /// Owned partitions → next offset committed to the database (`None`: none yet).
    positions: Mutex<BTreeMap<i32, Option<i64>>>,
    joined: AtomicBool,
    rebalances: AtomicU64,
    /// Set when an assignment was lost (session expired); cleared by the next assignment.
    lost_at: Mutex<Option<Instant>>,
    /// Since when this member has owned no partition (after a rebalance); cleared when it
    /// owns one.
    empty_since: Mutex<Option<Instant>>,
    /// The poller stopped to be replaced by a new consumer (see `REJOIN_AFTER`).
    rejoin: AtomicBool,
    /// An offset commit to the group failed: the next round sends every position again.
    commit_failed: AtomicBool,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

impl Shared {
    fn positions(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Option<i64>>> {
        // A poisoned lock only means a panic elsewhere; the map itself stays consistent.
        self.positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_kafka_health(&self, reachable: bool) {
        if let Some(k) = &self.health.kafka {
            k.store(
                reachable && self.joined.load(Ordering::Relaxed),
                Ordering::Relaxed,
            );
        }
    }

    /// After a rebalance: starts or clears the empty-assignment clock.
    fn note_owned(&self, owned: usize) {
        let mut since = self
            .empty_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match (owned, *since) {
            (0, None) => *since = Some(Instant::now()),
            (0, Some(_)) => {}
            _ => *since = None,
        }
    }

    /// The reason to replace this consumer by a new member, if there is one.
    fn stranded(&self) -> Option<&'static str> {
        let long = |m: &Mutex<Option<Instant>>| {
            m.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some_and(|t| t.elapsed() >= REJOIN_AFTER)
        };
        if long(&self.lost_at) {
            Some("no assignment since the last one was lost: rejoining the group as a new member")
        } else if self.joined.load(Ordering::Relaxed) && long(&self.empty_since) {
            Some("no partition owned since the last rebalance (more replicas than partitions, or departed members still held): rejoining the group as a new member")
        } else {
            None
        }
    }

    fn forget_lag(&self, partitions: &[i32]) {
        for p in partitions {
            self.metrics.consumer_lag.remove(&PartitionLabel {
                topic: self.topic.clone(),
                partition: p.to_string(),
            });
        }
    }
}

struct Ctx {
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Event>,
    lookup: OffsetLookup,
}

impl ClientContext for Ctx {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::log_line(level, fac, message);
    }

    fn error(&self, error: RdError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        ) {
            self.shared.set_kafka_health(false);
        }
        tracing::warn!(error = %error, reason, "kafka client error");
    }
}

impl ConsumerContext for Ctx {
    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        offsets: &TopicPartitionList,
    ) {
        let partition_failed = offsets.elements().iter().any(|e| e.error().is_err());
        if result.is_err() || partition_failed {
            self.shared.commit_failed.store(true, Ordering::Relaxed);
            tracing::debug!(error = ?result.err(), partition_failed, "kafka offset commit failed; sent again on the next round");
        }
    }

    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let known = self.seek_to_stored(tpl);
                let r = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                // The group's offsets follow the database's, so standard tools (and the lag
                // they compute) see a partition's progress even before new records arrive.
                if r.is_ok() && known.count() > 0 {
                    if let Err(e) = consumer.commit(&known, CommitMode::Async) {
                        tracing::debug!(error = %e, "kafka offset commit not sent");
                    }
                }
                r
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                self.drain_revoked(tpl, lost);
                if lost {
                    *self
                        .shared
                        .lost_at
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                }
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::error!(error = ?other, "kafka rebalance error: dropping the assignment");
                let owned: Vec<i32> = self.shared.positions().keys().copied().collect();
                self.shared.positions().clear();
                self.shared.forget_lag(&owned);
                self.shared.note_owned(0);
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "kafka (un)assign failed");
        }
        self.shared.rebalances.fetch_add(1, Ordering::Relaxed);
        self.shared.metrics.rebalances.inc();
    }
}

impl Ctx {
    /// The database, not the group, says where each partition resumes. When it cannot be
    /// asked, the group's committed offsets are used: they are written after the database
    /// commit, so they never run ahead of it and can only cause replays, which are recognised.
    /// Returns the partitions whose database offsets are known, with those offsets.
    fn seek_to_stored(&self, tpl: &mut TopicPartitionList) -> TopicPartitionList {
        let topic = self.shared.topic.clone();
        let partitions: Vec<i32> = tpl
            .elements_for_topic(&topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        let stored = (self.lookup)();
        let mut known_list = TopicPartitionList::new();
        let mut positions = self.shared.positions();
        for &p in &partitions {
            let (offset, known) = match &stored {
                Ok(map) => match map.get(&p) {
                    Some(&o) => (Offset::Offset(o), Some(o)),
                    None => (Offset::Beginning, None),
                },
                Err(_) => (Offset::Stored, None),
            };
            if let Err(e) = tpl.set_partition_offset(&topic, p, offset) {
                tracing::error!(partition = p, error = %e, "cannot set the start offset");
            }
            if let Some(o) = known {
                let _ = known_list.add_partition_offset(&topic, p, Offset::Offset(o));
            }
            positions.insert(p, known);
        }
        drop(positions);
        if let Err(e) = &stored {
            tracing::warn!(error = %e, "stored offsets unavailable at assignment: resuming from the group's committed offsets");
        }
        self.shared.joined.store(true, Ordering::Relaxed);
        *self
            .shared
            .lost_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.shared.set_kafka_health(true);
        let owned = self.shared.positions().len();
        self.shared.note_owned(owned);
        self.shared.metrics.assigned_partitions.set(owned as i64);
        tracing::info!(topic = %topic, partitions = ?partitions, from = ?stored.as_ref().ok().map(|m| partitions.iter().map(|p| (*p, m.get(p).copied())).collect::<Vec<_>>()), "partitions assigned");
        known_list
    }

    fn drain_revoked(&self, tpl: &TopicPartitionList, lost: bool) {
        let partitions: Vec<i32> = tpl
            .elements_for_topic(&self.shared.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        let started = Instant::now();
        if !self.shared.stop.load(Ordering::Relaxed) {
            let (done, wait) = sync_mpsc::sync_channel(1);
            let sent = self.events.send(Event::Revoked {
                partitions: partitions.clone(),
                lost,
                done,
            });
            if sent.is_ok() {
                match wait.recv_timeout(REVOKE_WAIT) {
                    Ok(()) | Err(sync_mpsc::RecvTimeoutError::Disconnected) => {}
                    Err(sync_mpsc::RecvTimeoutError::Timeout) => tracing::warn!(
                        partitions = ?partitions,
                        "revoked partitions not committed in time: releasing them; the next owner resumes from the database"
                    ),
                }
            }
        }
        let mut positions = self.shared.positions();
        for p in &partitions {
            positions.remove(p);
        }
        let owned = positions.len();
        drop(positions);
        self.shared.forget_lag(&partitions);
        self.shared.note_owned(owned);
        self.shared.metrics.assigned_partitions.set(owned as i64);
        tracing::info!(partitions = ?partitions, lost, waited_ms = started.elapsed().as_millis() as u64, "partitions revoked");
    }
}

/// The async side's handle on the consumer thread.
pub struct ConsumerHandle {
    consumer: Arc<BaseConsumer<Ctx>>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What the database has committed, per partition: re-committed to Kafka on close.
    committed: BTreeMap<i32, i64>,
    /// When every owned position was last sent to the group (`GROUP_OFFSETS_REFRESH`).
    refreshed: Instant,
}

impl ConsumerHandle {
    /// Subscribes and starts polling. `high_water`: messages in flight at which the
    /// partitions are paused until the loop catches up.
    pub fn start(
        cfg: &KafkaConfig,
        lookup: OffsetLookup,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        high_water: usize,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Event>), KafkaError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            topic: cfg.topic.clone(),
            stop: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            positions: Mutex::new(BTreeMap::new()),
            joined: AtomicBool::new(false),
            rebalances: AtomicU64::new(0),
            lost_at: Mutex::new(None),
            empty_since: Mutex::new(None),
            rejoin: AtomicBool::new(false),
            commit_failed: AtomicBool::new(false),
            metrics,
            health,
        });
        let ctx = Ctx {
            shared: shared.clone(),
            events: tx.clone(),
            lookup,
        };
        let consumer: BaseConsumer<Ctx> = super::consumer_config(cfg)
            .create_with_context(ctx)
            .map_err(|source| KafkaError::Create {
                role: "consumer",
                source,
            })?;
        consumer
            .subscribe(&[&cfg.topic])
            .map_err(|source| KafkaError::Subscribe {
                topic: cfg.topic.clone(),
                source,
            })?;
        let consumer = Arc::new(consumer);
        let poller = Poller {
            consumer: consumer.clone(),
            shared: shared.clone(),
            events: tx,
            lag_interval: cfg.lag_interval,
            high_water: high_water.max(1),
        };
        let thread = std::thread::Builder::new()
            .name("kafka-consumer".into())
            .spawn(move || poller.run())
            .map_err(KafkaError::Thread)?;
        Ok((
            Self {
                consumer,
                shared,
                thread: Some(thread),
                committed: BTreeMap::new(),
                refreshed: Instant::now(),
            },
            rx,
        ))
    }

    pub fn topic(&self) -> &str {
        &self.shared.topic
    }

    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// The poller stopped so that a new consumer replaces this one.
    pub fn wants_rejoin(&self) -> bool {
        self.shared.rejoin.load(Ordering::Relaxed)
    }

    /// Produce-to-commit latency of the records just committed (replayed records included:
    /// after a restart their old timestamps show how long they waited).
    pub fn observe_latency(&self, produced_ms: &[i64]) {
        let now = chrono::Utc::now().timestamp_millis();
        for t in produced_ms {
            self.shared
                .metrics
                .produce_to_commit
                .observe((now - t).max(0) as f64 / 1000.0);
        }
    }

    /// After the database commit: the lag is measured from these offsets from now on, and
    /// the group's committed offsets follow (asynchronously; they are informational).
    pub fn committed(&mut self, offsets: &[(i32, i64)], records: usize) {
        self.shared.in_flight.fetch_sub(
            records.min(self.shared.in_flight.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        let refresh = self.shared.commit_failed.swap(false, Ordering::Relaxed)
            || self.refreshed.elapsed() >= GROUP_OFFSETS_REFRESH;
        if offsets.is_empty() && !refresh {
            return;
        }
        let mut send: BTreeMap<i32, i64> = BTreeMap::new();
        {
            let mut positions = self.shared.positions();
            for &(p, next) in offsets {
                if let Some(slot) = positions.get_mut(&p) {
                    *slot = Some(slot.map_or(next, |cur| cur.max(next)));
                }
                let e = self.committed.entry(p).or_insert(next);
                *e = (*e).max(next);
                send.insert(p, next);
            }
            if refresh {
                self.refreshed = Instant::now();
                for (&p, next) in positions.iter() {
                    if let Some(next) = *next {
                        send.entry(p).or_insert(next);
                    }
                }
            }
        }
        if send.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (p, next) in send {
            if let Err(e) = tpl.add_partition_offset(&self.shared.topic, p, Offset::Offset(next)) {
                tracing::debug!(error = %e, "cannot build the commit list");
            }
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            tracing::debug!(error = %e, "kafka offset commit not sent (the database holds them)");
        }
    }

    /// Records handed out but dropped (their partitions were lost), so no longer in flight.
    pub fn discarded(&self, records: usize) {
        self.shared.in_flight.fetch_sub(
            records.min(self.shared.in_flight.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }

    /// Commits the last positions to the group synchronously, then leaves the group (the
    /// remaining members take over at once instead of after a session timeout).
    pub async fn close(mut self) {
        let mut tpl = TopicPartitionList::new();
        let owned = self.shared.positions().clone();
        for (p, next) in &self.committed {
            if owned.contains_key(p) {
                let _ = tpl.add_partition_offset(&self.shared.topic, *p, Offset::Offset(*next));
            }
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        let consumer = self.consumer.clone();
        let thread = self.thread.take();
        let join = tokio::task::spawn_blocking(move || {
            if tpl.count() > 0 {
                if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                    tracing::warn!(error = %e, "final kafka offset commit failed (the database holds the offsets)");
                }
            }
            drop(consumer);
            if let Some(t) = thread {
                let _ = t.join();
            }
        });
        drop(self);
        if tokio::time::timeout(Duration::from_secs(15), join)
            .await
            .is_err()
        {
            tracing::warn!("kafka consumer did not close within 15 s");
        }
    }
}

impl Drop for ConsumerHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}
