//! Durable state, one trait per role ([`Database`], [`CommitStore`], [`ExportLedger`],
//! [`OutboxStore`], [`AuditLog`], [`KeyStore`], [`WorkflowStore`], [`GovernanceQueries`],
//! [`LineageStore`], [`LineageQueries`], [`LlmSlotStore`]), with SQLite (embedded)
//! and PostgreSQL implementations laid out by role (`postgres/`, `sqlite/`) that pass the
//! same conformance suite. SQL both backends run is written once, in `sql.rs`. A batch's
//! rows, dead letters, decision-log entries, detector state and source offsets are
//! committed in one database transaction.

mod chain;
mod copy_text;
mod governance;
mod journey;
mod journey_impl;
mod keys;
mod lineage;
mod llm_slots;
mod migrations;
mod outbox;
mod postgres;
mod roles;
mod rows;
mod sql;
mod sqlite;
mod workflow;
mod workflow_impl;
mod workflow_sql;

pub use chain::{verify_chain, ChainRow, VerifyReport, GENESIS};
pub use copy_text::CopyLines;
pub use governance::{
    AuditFindingRef, ComplianceCounts, DeadLetterRef, DecisionEntry, DecisionQuery,
    GovernanceQueries, Investigation, InvestigationCase, InvestigationLookup, InvestigationStep,
    McpAuditEntry, RecordOutcome, MAX_SEARCH_LIMIT,
};
pub use journey::{
    DeadLetterFacts, ErasureFacts, IdFacts, LedgerFacts, LineageQueries, PositionFacts,
    PublicationFacts, ReplayFacts, RowFacts, SourcePosition,
};
pub use keys::{rewrap_all, Erasure, KeyStore, RewrapReport};
pub use lineage::{
    ClosedRun, LineageEvent, LineageRoute, LineageStep, LineageTarget, OpenRun, RenderEvents, Tally,
};
pub use llm_slots::{LlmSlotStore, MAX_LLM_SLOTS};
pub use outbox::{
    record_payload, Delivered, OutboxEntry, OutboxRow, PublishTopics, RelayLease, SentTo,
};
pub use postgres::PgStore;
pub use roles::{
    audit_verify, audit_verify_range, AuditLog, CommitStore, Database, ExportLedger, LineageStore,
    OutboxStore, Store,
};
pub use rows::*;
pub use sqlite::SqliteStore;
pub use workflow::*;

/// The role traits, for code that calls store methods on a concrete backend
/// (`use pfm::store::prelude::*;`). Generic code bound by `S: Store` needs no import.
pub mod prelude {
    pub use super::{
        AuditLog, CommitStore, Database, ExportLedger, GovernanceQueries, KeyStore, LineageQueries,
        LineageStore, LlmSlotStore, OutboxStore, Store, WorkflowStore,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Deadlock or serialization failure: PostgreSQL rolled the transaction back because of
    /// a concurrent one (another replica). Retrying the whole transaction is safe.
    #[error("transaction aborted by a concurrent one: {0}")]
    Conflict(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database schema is at version {found}, this binary needs {expected}: run `pipeline migrate`")]
    SchemaTooOld { found: i64, expected: i64 },
    #[error("database schema is at version {found}, newer than this binary ({expected}); upgrade the binary")]
    SchemaTooNew { found: i64, expected: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Connection-level failures pause the pipeline and are retried; others are bugs or
    /// data problems.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }

    /// The applied schema version against the one this binary was built for.
    pub(crate) fn check_version(found: i64, expected: i64) -> Result<(), StoreError> {
        match found.cmp(&expected) {
            std::cmp::Ordering::Less => Err(Self::SchemaTooOld { found, expected }),
            std::cmp::Ordering::Greater => Err(Self::SchemaTooNew { found, expected }),
            std::cmp::Ordering::Equal => Ok(()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40P01") | Some("40001")) =>
            {
                Self::Conflict(e)
            }
            _ => Self::Query(e),
        }
    }
}

fn is_unavailable_code(code: Option<&str>) -> bool {
    // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failures;
    // a lock or statement timeout (contention or overload: retrying later is right).
    matches!(
        code,
        Some("55P03")
            | Some("57014")
            | Some("57P01")
            | Some("57P02")
            | Some("57P03")
            | Some("08000")
            | Some("08003")
            | Some("08006")
    )
}
