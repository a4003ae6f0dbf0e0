//! The consumer's polling thread: reads the broker into the batch loop's channel, pauses
//! the assignment when the loop falls behind, and measures the lag.

use super::{Ctx, Event, Shared, POLL, REJOIN_AFTER};
use crate::telemetry::metrics::{PartitionLabel, TopicLabel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(super) struct Poller {
    pub(super) consumer: Arc<BaseConsumer<Ctx>>,
    pub(super) shared: Arc<Shared>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    pub(super) lag_interval: Duration,
    pub(super) high_water: usize,
}

impl Poller {
    pub(super) fn run(self) {
        let mut last_lag: Option<Instant> = None;
        let mut paused = false;
        let mut seen_rebalances = 0;
        let mut last_error: Option<Instant> = None;
        while !self.shared.stop.load(Ordering::Relaxed) {
            if last_lag.is_none_or(|t| t.elapsed() >= self.lag_interval) {
                self.refresh_lag();
                last_lag = Some(Instant::now());
            }
            if let Some(why) = self.shared.stranded() {
                tracing::warn!(after_s = REJOIN_AFTER.as_secs(), "{why}");
                self.shared.rejoin.store(true, Ordering::Relaxed);
                break;
            }
            let rebalances = self.shared.rebalances.load(Ordering::Relaxed);
            if rebalances != seen_rebalances && paused {
                // Newly assigned partitions start unpaused: pause the whole assignment again.
                self.set_paused(true);
            }
            seen_rebalances = rebalances;
            let in_flight = self.shared.in_flight.load(Ordering::Relaxed);
            self.shared.metrics.kafka_in_flight.set(in_flight as i64);
            if !paused && in_flight >= self.high_water {
                paused = self.set_paused(true);
                if paused {
                    tracing::debug!(in_flight, "batch loop behind: partitions paused");
                }
            } else if paused && in_flight <= self.high_water / 2 {
                paused = !self.set_paused(false);
                if !paused {
                    tracing::debug!(in_flight, "partitions resumed");
                }
            }
            match self.consumer.poll(POLL) {
                None => {}
                Some(Ok(m)) => {
                    self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
                    let event = Event::Message {
                        partition: m.partition(),
                        offset: m.offset(),
                        payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                        timestamp_ms: m.timestamp().to_millis(),
                    };
                    if self.events.send(event).is_err() {
                        break;
                    }
                }
                Some(Err(e))
                    if last_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) =>
                {
                    tracing::warn!(error = %e, "kafka poll error");
                    last_error = Some(Instant::now());
                }
                Some(Err(_)) => {}
            }
        }
        tracing::info!("kafka consumer leaving the group");
        // Dropping the last handle closes the consumer, which runs the final revocation
        // (without waiting: `stop` is set) and leaves the group.
    }

    fn set_paused(&self, pause: bool) -> bool {
        let Ok(assignment) = self.consumer.assignment() else {
            return false;
        };
        let r = if pause {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        r.is_ok()
    }

    /// `kafka_consumer_lag` for each owned partition: the high watermark minus the next
    /// offset committed to the database. A partition whose database offset this replica does
    /// not know yet (assigned while the database could not be asked, and nothing committed
    /// since) is measured from the group's committed offset, which follows the database's,
    /// and from the low watermark only when the group has none. Measuring such a partition
    /// from the low watermark reported a fully consumed partition as wholly behind until a
    /// new record arrived: found by a chaos run, where the autoscaler would have scaled out.
    fn refresh_lag(&self) {
        let topic = &self.shared.topic;
        let owned: Vec<(i32, Option<i64>)> = self
            .shared
            .positions()
            .iter()
            .map(|(p, o)| (*p, *o))
            .collect();
        let unknown: Vec<i32> = owned
            .iter()
            .filter(|(_, o)| o.is_none())
            .map(|(p, _)| *p)
            .collect();
        let group = self.group_offsets(&unknown);
        let mut reachable = true;
        let mut measured = Vec::with_capacity(owned.len());
        for (p, committed) in owned {
            match self
                .consumer
                .fetch_watermarks(topic, p, Duration::from_secs(2))
            {
                Ok((low, high)) => {
                    let from = committed
                        .or_else(|| group.get(&p).copied())
                        .unwrap_or(low)
                        .max(low);
                    measured.push((p, (high - from).max(0)));
                }
                Err(e) => {
                    tracing::debug!(partition = p, error = %e, "watermarks unavailable");
                    reachable = false;
                    break;
                }
            }
        }
        if measured.is_empty() && reachable {
            reachable = self
                .consumer
                .fetch_metadata(Some(topic), Duration::from_secs(2))
                .is_ok();
        }
        // Only partitions still owned: one revoked while measuring must not reappear.
        let positions = self.shared.positions();
        let mut total = 0;
        for (p, lag) in measured {
            if positions.contains_key(&p) {
                self.shared
                    .metrics
                    .consumer_lag
                    .get_or_create(&PartitionLabel {
                        topic: topic.clone(),
                        partition: p.to_string(),
                    })
                    .set(lag);
                total += lag;
            }
        }
        drop(positions);
        if reachable {
            self.shared
                .metrics
                .group_lag
                .get_or_create(&TopicLabel {
                    topic: topic.clone(),
                })
                .set(total);
        }
        self.shared.set_kafka_health(reachable);
    }

    /// The group's committed offsets of `partitions` (those it has).
    fn group_offsets(&self, partitions: &[i32]) -> BTreeMap<i32, i64> {
        if partitions.is_empty() {
            return BTreeMap::new();
        }
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition(&self.shared.topic, p);
        }
        match self.consumer.committed_offsets(tpl, Duration::from_secs(2)) {
            Ok(list) => list
                .elements_for_topic(&self.shared.topic)
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.partition(), o)),
                    _ => None,
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "group offsets unavailable for the lag");
                BTreeMap::new()
            }
        }
    }
}
