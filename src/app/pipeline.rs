//! `pipeline run` assembled: [`App::build`] opens the store, loads the policy and the keys,
//! binds the HTTP endpoints, opens the OpenLineage run and starts the exporter;
//! [`App::run_until`] runs the batch loop with the outbox relays (and, on the embedded store,
//! the workflow engine) until the source drains or shutdown is requested, then stops
//! everything within the one shutdown deadline.

use super::lineage::{pipeline_lineage, ProcessRuns};
use super::processor::{build_processor, BatchProcessor};
use super::run_loop::{run_loop, RunError, Summary};
use super::shutdown::Shutdown;
use super::sources::{offset_lookup, SourceChoice};
use super::stores::{load_kek, open_store, AnyStore, OpenError, Schema};
use super::worker::InProcessWorkflows;
use crate::config::Config;
use crate::lineage::{DatasetId, Ending, PolicyInfo};
use crate::policy::PolicyError;
use crate::sink::lineage_relay::{run_lineage_relay, LineageSendError, LineageSender};
use crate::sink::{export_periodically, flush_before, kafka_publisher, Lakehouse, LakehouseError};
use crate::source::{FileSource, KafkaSource, SourceError, SyntheticSource};
use crate::store::{PgStore, PublishTopics, SqliteStore, Store};
use crate::telemetry::health::Health;
use crate::telemetry::http::{serve, HttpState};
use crate::telemetry::metrics::Metrics;
use crate::workflow::{WorkerSettings, WorkflowError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("recording the OpenLineage run: {0}")]
    Lineage(#[source] crate::store::StoreError),
    #[error("configuring the OpenLineage transport: {0}")]
    LineageRelay(#[source] LineageSendError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("loading the governance policies: {0}")]
    Policy(#[from] PolicyError),
    #[error("binding HTTP_PORT {port}: {source}")]
    Http {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("configuring the lakehouse export: {0}")]
    Lakehouse(#[from] LakehouseError),
    #[error("setting up the workflows: {0}")]
    Workflows(#[from] WorkflowError),
    #[error("opening the source: {0}")]
    Source(#[from] SourceError),
    #[error("pipeline stopped: {0}")]
    Run(#[from] RunError),
    #[error("the Kafka source needs KAFKA_BOOTSTRAP_SERVERS (host:port[,host:port...])")]
    KafkaNotConfigured,
    #[error(
        "drain exceeded SHUTDOWN_TIMEOUT ({0:?}); the uncommitted batch will be re-read on restart"
    )]
    DrainTimeout(std::time::Duration),
}

/// A pipeline ready to run.
pub struct App {
    backend: Backend,
    http_addr: SocketAddr,
}

enum Backend {
    Sqlite(Pipeline<SqliteStore>),
    Postgres(Pipeline<PgStore>),
}

struct Pipeline<S> {
    store: S,
    cfg: Config,
    source: SourceChoice,
    processor: BatchProcessor,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    lakehouse: Option<Arc<Lakehouse>>,
    /// Delivers the OpenLineage events (HTTP, file or console), when configured.
    lineage_sender: Option<LineageSender>,
    /// The workflow engine, when this process drives the workflows too.
    workflows: Option<InProcessWorkflows>,
    /// Flips when the run is over: stops the exporter and the HTTP server.
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
}

impl App {
    /// Everything that can fail on a bad setting or an unreachable dependency fails here,
    /// before a record is read. `workflows` says whether and how this process also runs
    /// the workflow engine ([`WorkerSettings::runs_in_process`]).
    pub async fn build(
        cfg: Config,
        source: SourceChoice,
        workflows: WorkerSettings,
    ) -> Result<Self, AppError> {
        if source.is_kafka() && cfg.kafka.is_none() {
            return Err(AppError::KafkaNotConfigured);
        }
        let schema = if cfg.database.is_embedded() {
            Schema::Migrate
        } else {
            Schema::Check
        };
        // OpenLineage holds two more connections: its run's lease and the relay's.
        let connections = if cfg.lineage.is_some() { 10 } else { 8 };
        let store = open_store(&cfg, connections, schema).await?;
        let (backend, http_addr) = match store {
            AnyStore::Sqlite(s) => {
                let (p, addr) = Pipeline::build(s, cfg, source, workflows).await?;
                (Backend::Sqlite(p), addr)
            }
            AnyStore::Postgres(s) => {
                let (p, addr) = Pipeline::build(s, cfg, source, workflows).await?;
                (Backend::Postgres(p), addr)
            }
        };
        Ok(Self { backend, http_addr })
    }

    /// Where `/health`, `/live` and `/metrics` answer (`HTTP_PORT=0` picks a free port).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Runs until the source drains or `shutdown` is requested; then the batch in flight is
    /// committed, the relay and the lakehouse flush get what is left of the same deadline,
    /// and the summary is returned. A source that drained by itself also waits for the
    /// in-process workflow engine to finish every workflow it can claim (unless shutdown is
    /// requested meanwhile, which bounds it by the same deadline).
    pub async fn run_until(self, shutdown: Shutdown) -> Result<Summary, AppError> {
        match self.backend {
            Backend::Sqlite(p) => p.run_until(shutdown).await,
            Backend::Postgres(p) => p.run_until(shutdown).await,
        }
    }
}

impl<S: Store + Clone> Pipeline<S> {
    async fn build(
        store: S,
        cfg: Config,
        source: SourceChoice,
        workflows: WorkerSettings,
    ) -> Result<(Self, SocketAddr), AppError> {
        let kek = Arc::new(load_kek(&cfg)?);
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Arc::new(Metrics::new(&mut registry));
        let in_process = workflows.runs_in_process(cfg.database.is_embedded());
        let health = {
            let mut h = Health::new(source.is_kafka(), cfg.opa_url.is_some());
            if cfg.lakehouse.enabled {
                h = h.with_s3();
            }
            // The agents ask the LLM only where the workflows run.
            if in_process && cfg.llm.is_some() {
                h = h.with_llm();
            }
            Arc::new(h)
        };
        health.attach_database_gauge(metrics.database_up.clone());
        health.set_database(store.ping().await);
        let (mut processor, policy) = build_processor(&cfg, kek, metrics.clone())?;
        let remote_policy = processor.remote.as_mut().map(|r| {
            r.health = Some(health.clone());
            r.policy.clone()
        });
        if let Some(kafka) = &cfg.kafka {
            // Processed records and alerts when ENABLE_KAFKA_PUBLISH, dead letters whenever
            // Kafka is the source; all through the outbox.
            processor.publish = PublishTopics {
                processed: kafka.publish_enabled.then(|| kafka.publish_topic.clone()),
                alerts: kafka.publish_enabled.then(|| kafka.alerts_topic.clone()),
                dlq: source.is_kafka().then(|| kafka.dlq_topic.clone()),
            };
        }
        let mut lakehouse = match cfg.lakehouse.enabled {
            true => Some(Lakehouse::from_config(&cfg.lakehouse)?),
            false => None,
        };
        let lineage_sender = match cfg.lineage.as_ref().and_then(|l| l.transport.as_ref()) {
            Some(t) => Some(LineageSender::new(t).map_err(AppError::LineageRelay)?),
            None => None,
        };
        let mut workflows = match in_process {
            true => Some(
                InProcessWorkflows::new(store.clone(), &cfg, workflows, &mut registry, &health)
                    .await?,
            ),
            false => None,
        };
        let (stop, stopped) = watch::channel(false);
        let state = HttpState {
            health: health.clone(),
            registry: Arc::new(registry),
        };
        let (addr, http) =
            serve(cfg.http_port, state, stopped.clone())
                .await
                .map_err(|source| AppError::Http {
                    port: cfg.http_port,
                    source,
                })?;
        // The process's run opens last: every check that can fail start-up has passed.
        if let Some(lc) = &cfg.lineage {
            let input = match &source {
                SourceChoice::Kafka => cfg
                    .kafka
                    .as_ref()
                    .map(|k| DatasetId::kafka(&k.bootstrap_servers, &k.topic))
                    .unwrap_or_else(|| DatasetId::synthetic(0)),
                SourceChoice::File(path) => DatasetId::file(path),
                SourceChoice::Synthetic { seed, .. } => DatasetId::synthetic(*seed),
            };
            let policy_info = PolicyInfo {
                path: cfg.opa_policy_path.clone(),
                engine: if cfg.opa_url.is_some() {
                    "opa"
                } else {
                    "embedded"
                }
                .into(),
                version: match &cfg.opa_url {
                    Some(url) => format!("opa:{url}"),
                    None => policy.provenance(),
                },
            };
            let lineage = pipeline_lineage(&cfg, lc, input, &processor.publish, policy_info);
            let runs = match ProcessRuns::start(&store, lineage).await {
                Ok(runs) => runs,
                Err(e) => {
                    http.abort();
                    return Err(AppError::Lineage(e));
                }
            };
            if let Some(lh) = lakehouse.as_mut() {
                lh.runs = Some(runs.export_runs());
            }
            workflows = workflows.map(|w| w.with_lineage(runs.workflow_lineage()));
            tracing::info!(
                run_id = runs.process_run_id(),
                namespace = %lc.namespace,
                transport = %lc.transport.as_ref().map_or_else(|| "kafka outbox".into(), |t| t.describe()),
                "openlineage run started"
            );
            processor.lineage = Some(runs);
        }
        let lakehouse = lakehouse.map(Arc::new);
        if let Some(opa) = remote_policy {
            tokio::spawn(super::remote_govern::probe_health(
                opa,
                health.clone(),
                stopped.clone(),
            ));
        }
        if let Some(lh) = &lakehouse {
            // Fail soft: an unreachable store or a missing bucket is logged, not fatal.
            let probe = lh.clone();
            tokio::spawn(async move { probe.log_readiness().await });
            tokio::spawn(export_periodically(
                store.clone(),
                lh.clone(),
                metrics.clone(),
                health.clone(),
                stopped,
            ));
        }
        tracing::info!(
            http = %addr, database = store.kind(), batch_size = cfg.batch_size,
            workflows_in_process = workflows.is_some(),
            policy = %match &cfg.opa_url {
                Some(url) => format!("opa {url} ({:?} on failure)", cfg.opa.failure_mode),
                None => policy.provenance(),
            },
            "pipeline started"
        );
        let pipeline = Self {
            store,
            cfg,
            source,
            processor,
            metrics,
            health,
            lakehouse,
            lineage_sender,
            workflows,
            stop,
            http,
        };
        Ok((pipeline, addr))
    }

    async fn run_until(mut self, shutdown: Shutdown) -> Result<Summary, AppError> {
        let (drain_by_tx, drain_by) = watch::channel(None);
        let lineage_topic = self
            .cfg
            .lineage
            .as_ref()
            .and_then(|l| l.kafka_topic.as_ref());
        let relay = match &self.cfg.kafka {
            Some(kafka) if !self.processor.publish.is_empty() || lineage_topic.is_some() => {
                Some(tokio::spawn(kafka_publisher::run_relay(
                    self.store.clone(),
                    kafka.clone(),
                    self.metrics.clone(),
                    drain_by.clone(),
                )))
            }
            _ => None,
        };
        let lineage_relay = self.lineage_sender.take().map(|sender| {
            tokio::spawn(run_lineage_relay(
                self.store.clone(),
                sender,
                self.metrics.clone(),
                drain_by,
            ))
        });
        let workflows = self.workflows.take().map(InProcessWorkflows::start);
        let outcome = tokio::select! {
            r = self.consume(&shutdown) => r,
            _ = shutdown.expired() => Err(AppError::DrainTimeout(shutdown.timeout())),
        };
        // From here on, everything shares what is left of the one deadline. A run that
        // ended by itself (a drained file) gets a fresh SHUTDOWN_TIMEOUT for the rest.
        let deadline = shutdown
            .deadline()
            .unwrap_or_else(|| tokio::time::Instant::now() + shutdown.timeout());
        let _ = self.stop.send(true);
        // After a failure the loop exits at once, as before; the outboxes keep the rest.
        let relay = match relay {
            Some(r) if outcome.is_err() => {
                r.abort();
                None
            }
            other => other,
        };
        // The last export runs as a child of the process's run, and the in-process workflows
        // finish what they can: both before the run closes. The relays keep relaying meanwhile.
        // Async blocks capture whole variables, not fields: borrow the fields first.
        let (store, lakehouse) = (&self.store, self.lakehouse.as_deref());
        let flushed = async {
            if let (Some(lh), Ok(_)) = (lakehouse, &outcome) {
                flush_before(store, lh, deadline).await;
            }
        };
        // A bounded source that drained by itself lets the engine finish what it can claim.
        let drained = matches!(&outcome, Ok(s) if !s.stopped_by_signal);
        let workflows_done = async {
            match workflows {
                Some(w) => w.finish(drained, &shutdown, deadline).await,
                None => None,
            }
        };
        let ((), workflows) = tokio::join!(flushed, workflows_done);
        if let Some(runs) = self.processor.lineage.take() {
            // A drain that outlasted the deadline may still be committing its batch: the
            // next start closes that interval, with the batch in its tallies.
            let (ending, close_interval) = match &outcome {
                Ok(_) => (Ending::Complete, true),
                Err(e @ AppError::DrainTimeout(_)) => (Ending::Fail(e.to_string()), false),
                Err(e) => (Ending::Fail(e.to_string()), true),
            };
            let finished = runs.finish(&self.store, ending, close_interval);
            match tokio::time::timeout_at(deadline, finished).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(
                    error = %e,
                    "could not close the openlineage run; the next start closes it"
                ),
                Err(_) => tracing::warn!(
                    "SHUTDOWN_TIMEOUT reached before the openlineage run closed; the next start closes it"
                ),
            }
        }
        // After a failure, the lineage relay gets a moment to deliver the FAIL.
        let drain_until = match &outcome {
            Ok(_) => deadline,
            Err(_) => deadline.min(tokio::time::Instant::now() + Duration::from_secs(2)),
        };
        let _ = drain_by_tx.send(Some(drain_until.into_std()));
        for (name, task) in [("kafka publisher", relay), ("lineage relay", lineage_relay)] {
            if let Some(task) = task {
                if tokio::time::timeout_at(drain_until, task).await.is_err() {
                    tracing::warn!(
                        task = name,
                        "relay did not stop in time; its outbox keeps the rest"
                    );
                }
            }
        }
        self.http.abort();
        outcome.map(|mut summary| {
            summary.workflows = workflows;
            summary
        })
    }

    async fn consume(&mut self, shutdown: &Shutdown) -> Result<Summary, AppError> {
        let (store, processor, health) = (&self.store, &mut self.processor, &self.health);
        let batch_size = self.cfg.batch_size;
        // One body for every source type (`Source` is generic, not object-safe).
        macro_rules! drive {
            ($src:expr) => {
                run_loop(store, $src, processor, health, batch_size, shutdown.flag()).await
            };
        }
        let summary = match (&self.source, &self.cfg.kafka) {
            (SourceChoice::Kafka, Some(kafka)) => {
                let factory = {
                    let (kafka, store, metrics, health) = (
                        kafka.clone(),
                        store.clone(),
                        self.metrics.clone(),
                        health.clone(),
                    );
                    let high_water = batch_size.saturating_mul(4).max(50_000);
                    Box::new(move || {
                        crate::kafka::ConsumerHandle::start(
                            &kafka,
                            offset_lookup(&store, &kafka.topic),
                            metrics.clone(),
                            health.clone(),
                            high_water,
                        )
                    }) as crate::source::ConsumerFactory
                };
                let mut src = KafkaSource::new(factory, kafka.batch_linger)?;
                let r = drive!(&mut src);
                src.close().await;
                r?
            }
            (SourceChoice::File(path), _) => drive!(&mut FileSource::open(path).await?)?,
            (SourceChoice::Synthetic { seed, count }, _) => {
                drive!(&mut SyntheticSource::new(*seed, *count))?
            }
            (SourceChoice::Kafka, None) => return Err(AppError::KafkaNotConfigured),
        };
        Ok(summary)
    }
}
