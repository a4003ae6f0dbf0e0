//! The one-shot commands: `migrate`, `healthcheck`, `reencrypt`, `erase`, `audit verify`,
//! `lineage` and `generate`. Each returns what the binary prints; none prints itself except
//! `generate`, whose output is the records. With OpenLineage on, those that touch the
//! database report a run of their own job (`pipeline.<command>`).

use super::lineage::CommandRun;
use super::stores::{load_kek, open_store, reachable, OpenError, Schema};
use crate::config::Config;
use crate::domain::AccountId;
use crate::journey::{Journey, Lookup};
use crate::lineage::Datasets;
use crate::store::{
    audit_verify, rewrap_all, Erasure, KeyStore, RewrapReport, Store, StoreError, VerifyReport,
};
use crate::with_store;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("producing to {topic}: {source}")]
    Produce {
        topic: String,
        #[source]
        source: Box<crate::kafka::KafkaError>,
    },
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("encoding a record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Runs `work` as a lineage run of `job` (when OpenLineage is on): START, then COMPLETE, or
/// FAIL with the error or with what `verdict` finds wrong in the result.
async fn traced<S: Store, T, E: std::fmt::Display>(
    cfg: &Config,
    store: &S,
    job: &str,
    io: impl FnOnce(&Datasets) -> (Vec<Value>, Vec<Value>),
    work: impl std::future::Future<Output = Result<T, E>>,
    verdict: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, E> {
    let run = CommandRun::start(cfg, store, job, io).await;
    let result = work.await;
    if let Some(run) = run {
        let outcome = match &result {
            Ok(v) => verdict(v),
            Err(e) => Err(e.to_string()),
        };
        run.end(store, outcome).await;
    }
    result
}

fn none(_: &Datasets) -> (Vec<Value>, Vec<Value>) {
    (Vec::new(), Vec::new())
}

/// Applies the embedded migrations; returns the backend's name. Its lineage run is recorded
/// once the lineage tables exist, that is after a migration that succeeded.
pub async fn migrate(cfg: &Config) -> Result<&'static str, CommandError> {
    let store = open_store(cfg, 2, Schema::Migrate).await?;
    with_store!(&store, s => {
        traced(cfg, s, "pipeline.migrate", none, async { Ok::<_, StoreError>(()) }, |_| Ok(())).await
    })?;
    Ok(store.kind())
}

/// Whether the database answers.
pub async fn healthcheck(cfg: &Config) -> bool {
    reachable(cfg).await
}

/// Re-wraps every data key still under a previous KEK with the current one.
pub async fn reencrypt(cfg: &Config) -> Result<RewrapReport, CommandError> {
    let ring = load_kek(cfg)?;
    let store = open_store(cfg, 2, Schema::Check).await?;
    let keys = |d: &Datasets| (d.tables(&["data_keys"]), d.tables(&["data_keys"]));
    Ok(with_store!(&store, s => {
        traced(cfg, s, "pipeline.reencrypt", keys, rewrap_all(s, &ring), |r| match r.unreadable {
            0 => Ok(()),
            n => Err(format!("{n} data keys are wrapped by a KEK the ring does not hold")),
        })
        .await
    })?)
}

/// Crypto-shreds one account: its data key and detector history are destroyed.
pub async fn erase(cfg: &Config, account: &AccountId) -> Result<Erasure, CommandError> {
    let store = open_store(cfg, 2, Schema::Check).await?;
    let tables = |d: &Datasets| {
        (
            Vec::new(),
            d.tables(&["data_keys", "detector_state", "erasures"]),
        )
    };
    Ok(with_store!(&store, s => {
        traced(cfg, s, "pipeline.erase", tables, s.erase_account(account.as_str()), |_| Ok(())).await
    })?)
}

/// Recomputes the decision log's hash chain.
pub async fn verify_audit_log(cfg: &Config) -> Result<VerifyReport, CommandError> {
    let store = open_store(cfg, 2, Schema::AsIs).await?;
    let log = |d: &Datasets| (d.tables(&["decision_log"]), Vec::new());
    Ok(with_store!(&store, s => {
        traced(cfg, s, "pipeline.audit_verify", log, audit_verify(s), |r| match r {
            VerifyReport::Intact { .. } => Ok(()),
            VerifyReport::Broken { seq, problem } => {
                Err(format!("decision log broken at seq {seq}: {problem}"))
            }
        })
        .await
    })?)
}

/// The journey of one record, its hash chain verified from genesis through its decision;
/// `None` when nothing stored names it.
pub async fn lineage(cfg: &Config, lookup: &Lookup) -> Result<Option<Journey>, CommandError> {
    // Reads only, and only what this binary's schema holds.
    let store = open_store(cfg, 2, Schema::Check).await?;
    Ok(with_store!(&store, s => {
        match crate::journey::trace(s, lookup).await? {
            Some(mut j) => {
                j.verify_chain(s).await?;
                Some(j)
            }
            None => None,
        }
    }))
}

/// What `pipeline generate` produces.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub count: u64,
    pub seed: u64,
    pub fraud_rate: f64,
    /// Produce to `KAFKA_TOPIC` at this many records per second (`Some(None)`: as fast as
    /// the broker takes them) instead of writing to stdout (`None`).
    pub to_kafka: Option<Option<f64>>,
}

/// Writes labelled synthetic records as JSON lines, or produces them to Kafka and returns
/// the producer's report.
pub fn generate(
    cfg: &Config,
    opts: &GenerateOptions,
) -> Result<Option<crate::kafka::ProduceReport>, CommandError> {
    if !(0.0..=1.0).contains(&opts.fraud_rate) {
        return Err(CommandError::InvalidArgument(
            "--fraud-rate must be between 0 and 1".into(),
        ));
    }
    let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: opts.seed,
        fraud_rate: opts.fraud_rate,
        ..pfm_synth::GenConfig::default()
    });
    if let Some(rate) = opts.to_kafka {
        if rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(CommandError::InvalidArgument(
                "--rate must be a positive number of records per second".into(),
            ));
        }
        let Some(kafka) = &cfg.kafka else {
            return Err(CommandError::InvalidArgument(
                "--to-kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port[,host:port...])".into(),
            ));
        };
        let records = gen.take(opts.count as usize).filter_map(|txn| {
            let payload = serde_json::to_vec(&txn).ok()?;
            Some((txn.account_id.clone(), payload))
        });
        let report = crate::kafka::produce_synthetic(kafka, records, rate, Duration::from_secs(60))
            .map_err(|source| CommandError::Produce {
                topic: kafka.topic.clone(),
                source: Box::new(source),
            })?;
        return Ok(Some(report));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    for txn in gen.take(opts.count as usize) {
        serde_json::to_writer(&mut out, &txn)?;
        match out.write_all(b"\n") {
            Ok(()) => {}
            // A closed pipe (e.g. `| head`) is a normal way to stop.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(None),
    }
}
