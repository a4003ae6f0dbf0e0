//! Prometheus metrics. Names are part of the contract (dashboards, alerts and the HPA read
//! them): see docs/ARCHITECTURE.md.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabel {
    pub topic: String,
    pub partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// The remote OPA client's metrics (all zero with the embedded engine).
#[derive(Clone)]
pub struct OpaMetrics {
    /// 0 closed, 1 open, 2 half-open.
    pub breaker_state: Gauge,
    /// Requests sent to OPA, by outcome (`decided`, `undefined`, `malformed`, `failed`).
    pub calls: Family<OutcomeLabel, Counter>,
    pub latency: Histogram,
    /// Records OPA gave no decision for, by kind (`timeout`, `connect`, `status_5xx`,
    /// `status_4xx`, `malformed_response`, `breaker_open`, `batch_deadline`).
    pub failures: Family<KindLabel, Counter>,
}

impl Default for OpaMetrics {
    fn default() -> Self {
        Self {
            breaker_state: Gauge::default(),
            calls: Family::default(),
            // 0.5 ms to ~16 s: a localhost sidecar answers in well under a millisecond.
            latency: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            failures: Family::default(),
        }
    }
}

impl OpaMetrics {
    pub fn failure(&self, kind: &str) {
        self.failures
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    pub fn call(&self, outcome: &str, seconds: f64) {
        self.calls
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.latency.observe(seconds);
    }
}

pub struct Metrics {
    pub records: Family<OutcomeLabel, Counter>,
    pub batch_duration: Histogram,
    pub stage_duration: Family<StageLabel, Histogram>,
    pub decisions: Family<ResultLabel, Counter>,
    pub dead_letters: Family<ReasonLabel, Counter>,
    pub consumer_lag: Family<PartitionLabel, Gauge>,
    pub group_lag: Family<TopicLabel, Gauge>,
    pub rebalances: Counter,
    pub assigned_partitions: Gauge,
    pub kafka_in_flight: Gauge,
    pub outbox_backlog: Gauge,
    pub produce_to_commit: Histogram,
    pub published: Family<TopicLabel, Counter>,
    pub database_up: Gauge,
    pub up: Gauge,
    pub export_backlog: Gauge,
    pub export_backlog_age: Gauge<f64, AtomicU64>,
    pub exported_rows: Counter,
    pub last_commit: Gauge<f64, AtomicU64>,
    pub opa: OpaMetrics,
    pub lineage_backlog: Gauge,
    pub lineage_sent: Counter,
    pub lineage_rejected: Counter,
    pub lineage_failures: Counter,
}

impl Metrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            records: Family::default(),
            batch_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            stage_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.00005, 2.0, 16))
            }),
            decisions: Family::default(),
            dead_letters: Family::default(),
            consumer_lag: Family::default(),
            group_lag: Family::default(),
            rebalances: Counter::default(),
            assigned_partitions: Gauge::default(),
            kafka_in_flight: Gauge::default(),
            outbox_backlog: Gauge::default(),
            // 5 ms to ~30 s in steps of 25 %: fine enough for p50/p99 from the buckets.
            produce_to_commit: Histogram::new(exponential_buckets(0.005, 1.25, 40)),
            published: Family::default(),
            database_up: Gauge::default(),
            up: Gauge::default(),
            export_backlog: Gauge::default(),
            export_backlog_age: Gauge::default(),
            exported_rows: Counter::default(),
            last_commit: Gauge::default(),
            opa: OpaMetrics::default(),
            lineage_backlog: Gauge::default(),
            lineage_sent: Counter::default(),
            lineage_rejected: Counter::default(),
            lineage_failures: Counter::default(),
        };
        registry.register(
            "pipeline_records",
            "Input records by final outcome (transaction, quarantine, dead_letter, replay)",
            m.records.clone(),
        );
        registry.register(
            "pipeline_batch_duration_seconds",
            "Wall time per batch from read to commit",
            m.batch_duration.clone(),
        );
        registry.register(
            "pipeline_stage_duration_seconds",
            "Wall time per stage per batch",
            m.stage_duration.clone(),
        );
        registry.register(
            "pipeline_policy_decisions",
            "Governance decisions by result",
            m.decisions.clone(),
        );
        registry.register(
            "pipeline_dead_letters",
            "Dead letters by reason",
            m.dead_letters.clone(),
        );
        registry.register(
            "kafka_consumer_lag",
            "Messages behind the high watermark, per partition this pod owns",
            m.consumer_lag.clone(),
        );
        registry.register(
            "kafka_consumergroup_lag_sum",
            "Sum of kafka_consumer_lag over this pod's partitions",
            m.group_lag.clone(),
        );
        registry.register(
            "pipeline_kafka_rebalances",
            "Partition assignments and revocations this pod has seen",
            m.rebalances.clone(),
        );
        registry.register(
            "pipeline_kafka_assigned_partitions",
            "Partitions of the input topic this pod owns",
            m.assigned_partitions.clone(),
        );
        registry.register(
            "pipeline_kafka_in_flight",
            "Messages consumed and not yet committed (fetching pauses above max(4 batches, 50,000))",
            m.kafka_in_flight.clone(),
        );
        registry.register(
            "pipeline_kafka_produce_to_commit_seconds",
            "From a message's producer timestamp to the commit of its batch",
            m.produce_to_commit.clone(),
        );
        registry.register(
            "pipeline_outbox_backlog",
            "Messages committed to the outbox and not yet acknowledged by Kafka",
            m.outbox_backlog.clone(),
        );
        registry.register(
            "pipeline_published_messages",
            "Messages the outbox relay published, by topic",
            m.published.clone(),
        );
        registry.register(
            "pipeline_database_up",
            "1 when the last database check succeeded",
            m.database_up.clone(),
        );
        registry.register(
            "pipeline_up",
            "1 while the pipeline loop runs",
            m.up.clone(),
        );
        registry.register(
            "pipeline_export_backlog",
            "Decision-log rows committed but not yet exported to the lakehouse",
            m.export_backlog.clone(),
        );
        registry.register(
            "pipeline_export_backlog_age_seconds",
            "Age of the oldest unexported commit",
            m.export_backlog_age.clone(),
        );
        registry.register(
            "pipeline_exported_rows",
            "Rows written to the lakehouse by table",
            m.exported_rows.clone(),
        );
        registry.register(
            "pipeline_last_commit_timestamp_seconds",
            "Unix time of the last committed batch",
            m.last_commit.clone(),
        );
        registry.register(
            "pipeline_opa_breaker_state",
            "The OPA client's circuit breaker: 0 closed, 1 open, 2 half-open",
            m.opa.breaker_state.clone(),
        );
        registry.register(
            "pipeline_opa_calls",
            "Requests to the remote OPA by outcome (decided, undefined, malformed, failed)",
            m.opa.calls.clone(),
        );
        registry.register(
            "pipeline_opa_request_duration_seconds",
            "Latency of one request to the remote OPA",
            m.opa.latency.clone(),
        );
        registry.register(
            "pipeline_opa_failures",
            "Records the remote OPA gave no decision for, by kind",
            m.opa.failures.clone(),
        );
        registry.register(
            "pipeline_lineage_backlog",
            "OpenLineage events committed to lineage_outbox and not yet delivered",
            m.lineage_backlog.clone(),
        );
        registry.register(
            "pipeline_lineage_events_sent",
            "OpenLineage events the lineage relay delivered",
            m.lineage_sent.clone(),
        );
        registry.register(
            "pipeline_lineage_events_rejected",
            "OpenLineage events the backend refused for good (kept in lineage_outbox)",
            m.lineage_rejected.clone(),
        );
        registry.register(
            "pipeline_lineage_send_failures",
            "Lineage delivery rounds that stopped on an unavailable backend",
            m.lineage_failures.clone(),
        );
        m
    }

    pub fn outcome(&self, outcome: &str, n: u64) {
        if n > 0 {
            self.records
                .get_or_create(&OutcomeLabel {
                    outcome: outcome.to_owned(),
                })
                .inc_by(n);
        }
    }
}
