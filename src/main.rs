//! The `pipeline` binary: parses the command line and the environment, wires the
//! components, and turns library errors into messages with context and exit codes.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use pfm::config::{Config, DatabaseConfig};
use pfm::crypto::KekRing;
use pfm::runtime::health::Health;
use pfm::runtime::http::{serve, HttpState};
use pfm::runtime::metrics::Metrics;
use pfm::runtime::{build_processor, run_loop, shutdown_signal};
use pfm::sink::Lakehouse;
use pfm::source::{FileSource, KafkaSource, SyntheticSource};
use pfm::store::{audit_verify, KeyStore, PgStore, SqliteStore, Store, VerifyReport};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "pipeline",
    version,
    about = "agentic-pfm: governed streaming pipeline for financial transactions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: consume, process and commit until drained or signalled.
    Run(RunArgs),
    /// Write synthetic transactions (with labels) as JSON lines to stdout.
    Generate(GenerateArgs),
    /// Create or upgrade the database schema (idempotent, safe to run concurrently).
    Migrate,
    /// Exit 0 if the database is reachable, 1 otherwise.
    Healthcheck,
    /// Decision-log audit commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run durable workflow steps (investigations, audits) until SIGTERM.
    Worker(pfm::workflow::WorkerArgs),
    /// After an ENCRYPTION_KEY rotation: re-wrap every data key still under a previous KEK
    /// (ENCRYPTION_KEY_PREVIOUS) with the current one. Idempotent; safe while running.
    Reencrypt,
    /// GDPR erasure by crypto-shredding: destroy the account's data key, so its PII is
    /// unreadable everywhere (database, lake, topics) without rewriting anything.
    Erase {
        /// The account to erase.
        #[arg(long, value_name = "ID")]
        account: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Process this JSON-lines file (`-` for stdin) and exit when it is drained.
    #[arg(long, value_name = "FILE", conflicts_with = "count")]
    input: Option<String>,
    /// Process N synthetic records and exit.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Seed of the synthetic source.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Number of transactions to write.
    #[arg(long, value_name = "N")]
    count: u64,
    /// Seed: the same seed gives the same output.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Share of records that belong to an injected fraud/AML pattern (0..=1).
    #[arg(long, default_value_t = 0.02)]
    fraud_rate: f64,
    /// Produce to KAFKA_TOPIC (keyed by account_id) instead of writing to stdout.
    #[arg(long)]
    to_kafka: bool,
    /// With --to-kafka: records per second (default: as fast as the broker takes them).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the decision log's hash chain; exit 0 if intact, 1 and the first broken row if not.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // migrate and healthcheck never touch encrypted data: the pre-deploy Job runs without
    // ENCRYPTION_KEY (least privilege, issue 18).
    let loaded = if matches!(cli.command, Command::Migrate | Command::Healthcheck) {
        Config::from_env_key_optional()
    } else {
        Config::from_env()
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let logs_to_stderr = matches!(cli.command, Command::Generate(_));
    init_logging(&cfg, logs_to_stderr);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, cfg)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "fatal");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cfg: &Config, to_stderr: bool) {
    let builder = tracing_subscriber::fmt()
        .json()
        .with_max_level(cfg.log_level.as_filter())
        .with_current_span(false)
        .flatten_event(true);
    if to_stderr {
        builder.with_writer(std::io::stderr).init();
    } else {
        builder.with_writer(std::io::stdout).init();
    }
}

async fn dispatch(command: Command, cfg: Config) -> Result<ExitCode> {
    match command {
        Command::Generate(args) => generate(args, &cfg).map(|_| ExitCode::SUCCESS),
        Command::Run(args) => match &cfg.database {
            DatabaseConfig::Sqlite { path } => {
                let store = SqliteStore::open(path)
                    .await
                    .context("opening the embedded database")?;
                store
                    .migrate()
                    .await
                    .context("migrating the embedded database")?;
                run(store, cfg, args).await
            }
            DatabaseConfig::Postgres { url } => {
                let store = connect_pg(url.expose(), 8).await?;
                store
                    .check_schema()
                    .await
                    .context("checking the database schema")?;
                run(store, cfg, args).await
            }
        },
        Command::Migrate => {
            with_store(
                &cfg,
                |s| async move { s.migrate().await.context("migrating") },
            )
            .await?;
            tracing::info!(database = cfg.database.kind(), "schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck => {
            let ok = match &cfg.database {
                DatabaseConfig::Sqlite { path } => match SqliteStore::open(path).await {
                    Ok(s) => s.ping().await,
                    Err(_) => false,
                },
                DatabaseConfig::Postgres { url } => match PgStore::connect(url.expose(), 1).await {
                    Ok(s) => s.ping().await,
                    Err(_) => false,
                },
            };
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Reencrypt => {
            let ring = load_kek(&cfg)?;
            let report = match &cfg.database {
                DatabaseConfig::Sqlite { path } => {
                    pfm::store::rewrap_all(&open_sqlite(path).await?, &ring).await?
                }
                DatabaseConfig::Postgres { url } => {
                    pfm::store::rewrap_all(&checked_pg(url.expose()).await?, &ring).await?
                }
            };
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.unreadable == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Erase { account } => {
            let account = pfm::domain::AccountId::parse(&account)
                .map_err(|e| anyhow::anyhow!("--account: {e}"))?;
            let erased = match &cfg.database {
                DatabaseConfig::Sqlite { path } => {
                    open_sqlite(path)
                        .await?
                        .erase_account(account.as_str())
                        .await?
                }
                DatabaseConfig::Postgres { url } => {
                    checked_pg(url.expose())
                        .await?
                        .erase_account(account.as_str())
                        .await?
                }
            };
            tracing::info!(account = %erased.account_id, key_id = ?erased.key_id, "account erased (data key destroyed)");
            println!(
                "{}",
                serde_json::json!({"account": erased.account_id, "destroyed_key": erased.key_id})
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(args) => pfm::workflow::run_worker(&cfg, args)
            .await
            .context("workflow worker"),
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let report = match &cfg.database {
                DatabaseConfig::Sqlite { path } => {
                    audit_verify(&SqliteStore::open(path).await?).await?
                }
                DatabaseConfig::Postgres { url } => {
                    audit_verify(&connect_pg(url.expose(), 2).await?).await?
                }
            };
            match report {
                VerifyReport::Intact { rows } => {
                    println!("{}", serde_json::json!({"status": "intact", "rows": rows}));
                    Ok(ExitCode::SUCCESS)
                }
                VerifyReport::Broken { seq, problem } => {
                    println!(
                        "{}",
                        serde_json::json!({"status": "broken", "first_broken_seq": seq, "problem": problem})
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn open_sqlite(path: &std::path::Path) -> Result<SqliteStore> {
    let store = SqliteStore::open(path)
        .await
        .context("opening the embedded database")?;
    store
        .check_schema()
        .await
        .context("checking the database schema")?;
    Ok(store)
}

async fn checked_pg(url: &str) -> Result<PgStore> {
    let store = connect_pg(url, 2).await?;
    store
        .check_schema()
        .await
        .context("checking the database schema")?;
    Ok(store)
}

async fn with_store<F, Fut>(cfg: &Config, f: F) -> Result<()>
where
    F: FnOnce(AnyStore) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let store = match &cfg.database {
        DatabaseConfig::Sqlite { path } => AnyStore::Sqlite(SqliteStore::open(path).await?),
        DatabaseConfig::Postgres { url } => AnyStore::Postgres(connect_pg(url.expose(), 2).await?),
    };
    f(store).await
}

enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    async fn migrate(&self) -> Result<(), pfm::store::StoreError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }
}

/// Start-up fails fast: a database that stays unreachable after a short bounded retry is a
/// non-zero exit with the cause.
async fn connect_pg(url: &str, max_connections: u32) -> Result<PgStore> {
    let mut last = None;
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        match PgStore::connect(url, max_connections).await {
            Ok(s) => return Ok(s),
            Err(e) => {
                tracing::warn!(attempt, error = %e, "database not reachable yet");
                last = Some(e);
                if attempt < ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
            }
        }
    }
    match last {
        Some(e) => Err(e).context(format!("database unreachable after {ATTEMPTS} attempts")),
        None => bail!("database unreachable"),
    }
}

fn load_kek(cfg: &Config) -> Result<KekRing> {
    let previous = cfg.previous_encryption_keys.expose();
    match &cfg.encryption_key {
        Some(k) => Ok(KekRing::new(k.expose(), previous)),
        None => {
            let (key, created) = pfm::crypto::load_or_create_embedded_kek(&cfg.data_dir)
                .context("reading or creating the embedded encryption key")?;
            if created {
                tracing::warn!(
                    path = %cfg.data_dir.join(pfm::crypto::EMBEDDED_KEY_FILE).display(),
                    "ENCRYPTION_KEY is unset: generated an embedded key; set ENCRYPTION_KEY outside local use"
                );
            }
            Ok(KekRing::new(&key, previous))
        }
    }
}

async fn run<S: Store + Clone>(store: S, cfg: Config, args: RunArgs) -> Result<ExitCode> {
    if cfg.opa_url.is_some() {
        bail!("OPA_URL is set, but this build has no remote OPA client yet; unset it to use the embedded engine");
    }
    let kek = Arc::new(load_kek(&cfg)?);
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));
    let health = {
        let h = Health::new(uses_kafka(&cfg, &args), false);
        Arc::new(if cfg.lakehouse.enabled {
            h.with_s3()
        } else {
            h
        })
    };
    health.attach_database_gauge(metrics.database_up.clone());
    health.set_database(store.ping().await);
    let (mut processor, policy) =
        build_processor(&cfg, kek, metrics.clone()).context("loading the governance policies")?;
    let shutdown = shutdown_signal();
    let state = HttpState {
        health: health.clone(),
        registry: Arc::new(registry),
    };
    let (addr, http) = serve(cfg.http_port, state, shutdown.clone())
        .await
        .with_context(|| format!("binding HTTP_PORT {}", cfg.http_port))?;
    tracing::info!(
        http = %addr, database = store.kind(), batch_size = cfg.batch_size,
        policy_version = policy.version(), "pipeline started"
    );
    let deadline = pfm::runtime::drain_deadline(shutdown.clone(), cfg.shutdown_timeout);
    let lakehouse = if cfg.lakehouse.enabled {
        let lh = Arc::new(
            Lakehouse::from_config(&cfg.lakehouse).context("configuring the lakehouse export")?,
        );
        // Fail soft: an unreachable store or a missing bucket is logged, not fatal.
        let probe = lh.clone();
        tokio::spawn(async move { probe.log_readiness().await });
        let (store, lh2, metrics, health, stop) = (
            store.clone(),
            lh.clone(),
            metrics.clone(),
            health.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move { export_periodically(store, lh2, metrics, health, stop).await });
        Some(lh)
    } else {
        None
    };
    // Kafka output: processed records and alerts when ENABLE_KAFKA_PUBLISH, dead letters
    // whenever Kafka is the source; all through the outbox.
    let (loop_done_tx, loop_done) = tokio::sync::watch::channel(false);
    let relay = match &cfg.kafka {
        Some(kafka) => {
            processor.publish = pfm::store::PublishTopics {
                processed: kafka.publish_enabled.then(|| kafka.publish_topic.clone()),
                alerts: kafka.publish_enabled.then(|| kafka.alerts_topic.clone()),
                dlq: uses_kafka(&cfg, &args).then(|| kafka.dlq_topic.clone()),
            };
            (!processor.publish.is_empty()).then(|| {
                tokio::spawn(pfm::sink::kafka_publisher::run_relay(
                    store.clone(),
                    kafka.clone(),
                    metrics.clone(),
                    loop_done,
                    // Part of the shutdown budget; what is left waits in the outbox.
                    cfg.shutdown_timeout / 4,
                ))
            })
        }
        None => None,
    };
    let summary = {
        let work = async {
            match (&args.input, &cfg.kafka) {
                (None, Some(kafka)) if args.count.is_none() => {
                    let factory = {
                        let (kafka, store, metrics, health) = (
                            kafka.clone(),
                            store.clone(),
                            metrics.clone(),
                            health.clone(),
                        );
                        let high_water = cfg.batch_size.saturating_mul(4).max(50_000);
                        Box::new(move || {
                            pfm::kafka::ConsumerHandle::start(
                                &kafka,
                                offset_lookup(&store, &kafka.topic),
                                metrics.clone(),
                                health.clone(),
                                high_water,
                            )
                        }) as pfm::source::ConsumerFactory
                    };
                    let mut src = KafkaSource::new(factory, kafka.batch_linger)?;
                    let r = run_loop(
                        &store,
                        &mut src,
                        &mut processor,
                        &health,
                        cfg.batch_size,
                        shutdown.clone(),
                    )
                    .await;
                    src.close().await;
                    r
                }
                (Some(path), _) => {
                    let mut src = FileSource::open(path).await?;
                    run_loop(
                        &store,
                        &mut src,
                        &mut processor,
                        &health,
                        cfg.batch_size,
                        shutdown.clone(),
                    )
                    .await
                }
                (None, _) => {
                    let mut src = SyntheticSource::new(args.seed, args.count);
                    run_loop(
                        &store,
                        &mut src,
                        &mut processor,
                        &health,
                        cfg.batch_size,
                        shutdown.clone(),
                    )
                    .await
                }
            }
        };
        tokio::select! {
            r = work => r.context("pipeline stopped")?,
            _ = deadline => {
                bail!("drain exceeded SHUTDOWN_TIMEOUT ({:?}); the uncommitted batch will be re-read on restart", cfg.shutdown_timeout);
            }
        }
    };
    let _ = loop_done_tx.send(true);
    if let Some(relay) = relay {
        // Bounded by the relay itself (a quarter of SHUTDOWN_TIMEOUT); the rest waits.
        if tokio::time::timeout(cfg.shutdown_timeout / 2, relay)
            .await
            .is_err()
        {
            tracing::warn!("kafka publisher did not stop in time; the outbox keeps the rest");
        }
    }
    if let Some(lh) = lakehouse {
        // Fail soft and bounded: what cannot be exported now stays pending in the ledger.
        match tokio::time::timeout(cfg.shutdown_timeout, lh.export_ready(&store, true))
            .await
            .unwrap_or_else(|_| Err(pfm::sink::LakehouseError::Parquet("flush timed out".into())))
        {
            Ok(r) => tracing::info!(
                rows = r.rows,
                objects = r.objects.len(),
                bytes = r.bytes,
                "lakehouse export flushed"
            ),
            Err(e) => tracing::warn!(error = %e, "lakehouse export deferred"),
        }
    }
    http.abort();
    tracing::info!(records_in = summary.records_in, "pipeline stopped");
    let line = serde_json::to_string(&summary).context("encoding the summary")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").context("writing the summary")?;
    Ok(ExitCode::SUCCESS)
}

/// The Kafka source is used unless `--input` or `--count` picks another one.
fn uses_kafka(cfg: &Config, args: &RunArgs) -> bool {
    cfg.kafka.is_some() && args.input.is_none() && args.count.is_none()
}

/// How the consumer thread asks the database where an assigned partition resumes.
fn offset_lookup<S: Store + Clone>(store: &S, topic: &str) -> pfm::kafka::OffsetLookup {
    let store = store.clone();
    let name = KafkaSource::source_name(topic);
    let handle = tokio::runtime::Handle::current();
    Box::new(move || {
        handle.block_on(async {
            match tokio::time::timeout(pfm::kafka::OFFSET_LOOKUP_WAIT, store.load_offsets(&name))
                .await
            {
                Ok(Ok(map)) => Ok(map),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no answer within {:?}",
                    pfm::kafka::OFFSET_LOOKUP_WAIT
                )),
            }
        })
    })
}

/// Exports every few seconds: a full range as soon as one is ready, and whatever is waiting
/// at least every `FLUSH_EVERY`, so files stay large without data waiting long.
async fn export_periodically<S: Store>(
    store: S,
    lakehouse: Arc<Lakehouse>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    const TICK: Duration = Duration::from_secs(5);
    const FLUSH_EVERY: Duration = Duration::from_secs(60);
    let mut last_flush = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|v| *v) => return,
        }
        health.set_s3(lakehouse.probe().await);
        let flush = last_flush.elapsed() >= FLUSH_EVERY;
        match lakehouse.export_ready(&store, flush).await {
            Ok(r) => {
                if flush {
                    last_flush = std::time::Instant::now();
                }
                if r.rows > 0 {
                    metrics.exported_rows.inc_by(r.rows);
                    tracing::info!(
                        rows = r.rows,
                        objects = r.objects.len(),
                        bytes = r.bytes,
                        "lakehouse export"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "lakehouse export failed; will retry"),
        }
        if let Ok(n) = store.export_backlog().await {
            metrics.export_backlog.set(n);
        }
        if let Ok(oldest) = store.export_oldest_waiting().await {
            let age = oldest.map_or(0.0, |t| {
                (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.export_backlog_age.set(age);
        }
    }
}

fn generate(args: GenerateArgs, cfg: &Config) -> Result<()> {
    if !(0.0..=1.0).contains(&args.fraud_rate) {
        bail!("--fraud-rate must be between 0 and 1");
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            bail!("--rate must be a positive number of records per second");
        }
    }
    let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: args.seed,
        fraud_rate: args.fraud_rate,
        ..pfm_synth::GenConfig::default()
    });
    if args.to_kafka {
        let Some(kafka) = &cfg.kafka else {
            bail!("--to-kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port[,host:port...])");
        };
        let records = gen.take(args.count as usize).filter_map(|txn| {
            let payload = serde_json::to_vec(&txn).ok()?;
            Some((txn.account_id.clone(), payload))
        });
        let report =
            pfm::kafka::produce_synthetic(kafka, records, args.rate, Duration::from_secs(60))
                .with_context(|| format!("producing to {}", kafka.topic))?;
        println!(
            "{}",
            serde_json::to_string(&report).context("encoding the report")?
        );
        return Ok(());
    }
    if args.rate.is_some() {
        bail!("--rate applies to --to-kafka only");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    for txn in gen.take(args.count as usize) {
        serde_json::to_writer(&mut out, &txn).context("encoding a record")?;
        match out.write_all(b"\n") {
            Ok(()) => {}
            // A closed pipe (e.g. `| head`) is a normal way to stop.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).context("writing to stdout"),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}
