//! The `pipeline` binary: the command line. It parses arguments and the environment, calls
//! the library (`pfm::app`), prints results and maps errors to exit codes with context.

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use pfm::app::{
    self, App, GenerateOptions, McpTransport, Shutdown, SourceChoice, WorkerExit, WorkerOptions,
};
use pfm::config::{Config, McpSettings};
use pfm::journey::{self, Lookup};
use pfm::store::VerifyReport;
use pfm::workflow::WorkerSettings;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

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
    Run {
        /// Process this JSON-lines file (`-` for stdin) and exit when it is drained.
        #[arg(long, value_name = "FILE", conflicts_with = "count")]
        input: Option<String>,
        /// Process N synthetic records and exit.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Seed of the synthetic source.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Write synthetic transactions (with labels) as JSON lines to stdout.
    Generate {
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
    },
    /// Create or upgrade the database schema (idempotent, safe to run concurrently).
    Migrate,
    /// Exit 0 if the database is reachable, 1 otherwise.
    Healthcheck,
    /// Decision-log audit commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run durable workflow steps (investigations, audits) until SIGTERM, on PostgreSQL or
    /// the embedded SQLite file (beside a running `pipeline run` too).
    Worker {
        /// Exit 0 once no workflow is left to run, instead of waiting for new ones.
        #[arg(long)]
        once: bool,
        /// Name of this worker in leases (default: $HOSTNAME-<pid>-<random>).
        #[arg(long, value_name = "ID")]
        worker_id: Option<String>,
    },
    /// After an ENCRYPTION_KEY rotation: re-wrap every data key still under a previous KEK
    /// (ENCRYPTION_KEY_PREVIOUS) with the current one. Idempotent; safe while running.
    Reencrypt,
    /// Serve the MCP governance server: read-only governance tools for agents and people,
    /// over stdio (the default) or Streamable HTTP (`--http`, or MCP_PORT).
    Mcp {
        /// Serve Streamable HTTP (stateless) on MCP_PORT (default 8080) instead of stdio.
        #[arg(long)]
        http: bool,
    },
    /// GDPR erasure by crypto-shredding: destroy the account's data key, so its PII is
    /// unreadable everywhere (database, lake, topics) without rewriting anything.
    Erase {
        /// The account to erase.
        #[arg(long, value_name = "ID")]
        account: String,
    },
    /// The journey of one record from its source to the reporting tables, the topics and the
    /// lake, from stored facts: source position, arrival and commit times, each stage's
    /// outcome, its decision-log entry with the hash chain verified up to it, where it was
    /// published and exported, its investigation and its account's erasure. No PII is shown.
    /// Exits 1 when nothing stored names the record.
    #[command(group(clap::ArgGroup::new("record").required(true)))]
    Lineage {
        /// The record's transaction_id.
        #[arg(long, value_name = "ID", group = "record")]
        transaction_id: Option<String>,
        /// Where it was read: `topic:partition:offset` (Kafka) or `file:line`; also
        /// `kafka:topic:partition:offset`, `file:PATH:line`, `stdin:line`.
        #[arg(long, value_name = "POSITION", group = "record")]
        source_position: Option<String>,
        /// `json` (the default) or `text` (readable).
        #[arg(long, value_enum, default_value_t = LineageFormat::Json)]
        format: LineageFormat,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LineageFormat {
    Json,
    Text,
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
        Err(e) => return config_error(e),
    };
    // stdout carries the protocol of `mcp` on stdio, the records of `generate` and the
    // journey of `lineage`.
    let logs_to_stderr = matches!(
        cli.command,
        Command::Generate { .. } | Command::Mcp { http: false } | Command::Lineage { .. }
    );
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

fn config_error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("configuration error: {e}");
    ExitCode::from(2)
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

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints one JSON line on stdout: the summary or report a command ends with.
fn print_line(value: &impl serde::Serialize) -> Result<()> {
    let line = serde_json::to_string(value).context("encoding the result")?;
    writeln!(std::io::stdout().lock(), "{line}").context("writing the result")
}

async fn dispatch(command: Command, cfg: Config) -> Result<ExitCode> {
    match command {
        Command::Run { input, count, seed } => {
            // The WORKFLOW_* settings too: the embedded store runs the workflows in-process.
            let workflows = match WorkerSettings::from_env() {
                Ok(s) => s,
                Err(e) => return Ok(config_error(e)),
            };
            let source = SourceChoice::from_args(&cfg, input, count, seed);
            let shutdown = Shutdown::on_signals(cfg.shutdown_timeout);
            let summary = App::build(cfg, source, workflows)
                .await?
                .run_until(shutdown)
                .await?;
            tracing::info!(records_in = summary.records_in, "pipeline stopped");
            print_line(&summary)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            count,
            seed,
            fraud_rate,
            to_kafka,
            rate,
        } => {
            if rate.is_some() && !to_kafka {
                bail!("--rate applies to --to-kafka only");
            }
            let opts = GenerateOptions {
                count,
                seed,
                fraud_rate,
                to_kafka: to_kafka.then_some(rate),
            };
            if let Some(report) = app::generate(&cfg, &opts)? {
                print_line(&report)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let kind = app::migrate(&cfg).await.context("migrating")?;
            tracing::info!(database = kind, "schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck => Ok(exit(app::healthcheck(&cfg).await)),
        Command::Reencrypt => {
            let report = app::reencrypt(&cfg).await?;
            print_line(&report)?;
            Ok(exit(report.unreadable == 0))
        }
        Command::Erase { account } => {
            let account = pfm::domain::AccountId::parse(&account)
                .map_err(|e| anyhow::anyhow!("--account: {e}"))?;
            let erased = app::erase(&cfg, &account).await?;
            tracing::info!(account = %erased.account_id, key_id = ?erased.key_id, "account erased (data key destroyed)");
            print_line(&json!({"account": erased.account_id, "destroyed_key": erased.key_id}))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker { once, worker_id } => {
            let settings = match WorkerSettings::from_env() {
                Ok(s) => s,
                Err(e) => return Ok(config_error(e)),
            };
            let shutdown = Shutdown::on_signals(cfg.shutdown_timeout);
            let opts = WorkerOptions { once, worker_id };
            match app::run_worker(&cfg, settings, opts, shutdown)
                .await
                .context("workflow worker")?
            {
                WorkerExit::Finished(report) => {
                    print_line(&report)?;
                    Ok(ExitCode::SUCCESS)
                }
                WorkerExit::DrainTimeout => Ok(ExitCode::FAILURE),
            }
        }
        Command::Mcp { http } => {
            let settings = match McpSettings::from_env() {
                Ok(s) => s,
                Err(e) => return Ok(config_error(e)),
            };
            let transport = McpTransport::choose(http, &settings);
            if transport != McpTransport::Stdio && settings.tokens.expose().is_empty() {
                return Ok(config_error(
                    "invalid MCP_TOKENS: expected at least one bearer token to serve HTTP",
                ));
            }
            let shutdown = Shutdown::on_signals(cfg.shutdown_timeout);
            app::run_mcp(&cfg, settings, transport, shutdown)
                .await
                .context("MCP governance server")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lineage {
            transaction_id,
            source_position,
            format,
        } => {
            let lookup = match (transaction_id, source_position) {
                (Some(id), _) => Lookup::TransactionId(id.trim().to_owned()),
                (None, Some(p)) => Lookup::SourcePosition(
                    journey::parse_position(&p)
                        .map_err(|e| anyhow::anyhow!("--source-position: {e}"))?,
                ),
                (None, None) => bail!("give --transaction-id or --source-position"),
            };
            let Some(journey) = app::lineage(&cfg, &lookup).await? else {
                eprintln!("error: no record found for {lookup}: no stored row, decision, dead letter or replay names it");
                return Ok(ExitCode::from(1));
            };
            let text = match format {
                LineageFormat::Json => {
                    serde_json::to_string_pretty(&journey).context("encoding the journey")? + "\n"
                }
                LineageFormat::Text => journey.to_text(),
            };
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .context("writing the journey")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => match app::verify_audit_log(&cfg).await? {
            VerifyReport::Intact { rows } => {
                print_line(&json!({"status": "intact", "rows": rows}))?;
                Ok(ExitCode::SUCCESS)
            }
            VerifyReport::Broken { seq, problem } => {
                print_line(
                    &json!({"status": "broken", "first_broken_seq": seq, "problem": problem}),
                )?;
                Ok(ExitCode::from(1))
            }
        },
    }
}
