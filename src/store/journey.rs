//! The lineage role: the stored facts of one record's journey, from its source position to
//! the reporting tables, the topics and the lake (`pipeline lineage` and the MCP tool
//! `record_lineage`; `crate::journey` assembles them). Read-only, named queries with bound
//! values.
//!
//! Object safe (boxed futures) like [`GovernanceQueries`](super::GovernanceQueries), which
//! extends it so the MCP server reaches both through one handle. Both backends run the same
//! statements, built once per dialect ([`LineageStatements`]), and one body implements the
//! trait for both (`lineage_impl.rs`).

use super::sql::Dialect;
use super::{DecisionEntry, Investigation, StoreError, VerifyReport};
use futures::future::BoxFuture;
use serde::Serialize;
use std::sync::LazyLock;

type Fut<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// Where a payload was read: the key of dead letters, stored with every row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourcePosition {
    /// `kafka:<topic>`, `file:<absolute path>`, `stdin` or `synthetic:<seed>`.
    pub source: String,
    pub partition: i32,
    /// The Kafka offset, or the line number of a file (from 1).
    pub offset: i64,
}

/// A governed record's row in `transactions` or `quarantine`, without its ciphertexts: only
/// which PII fields were encrypted and under which data key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowFacts {
    pub table: &'static str,
    pub transaction_id: String,
    pub account_id: String,
    pub timestamp: String,
    pub amount: String,
    pub currency: String,
    pub merchant: String,
    pub mcc: String,
    pub country: String,
    pub channel: String,
    pub category: String,
    /// The customer fields stored encrypted (`customer_name`, `customer_email`, …).
    pub encrypted_fields: Vec<&'static str>,
    pub key_id: Option<String>,
    pub risk_score: f64,
    pub findings: serde_json::Value,
    pub decision: String,
    pub reasons: serde_json::Value,
    pub policy_version: String,
    pub position: SourcePosition,
    /// `None` for rows committed before migration 0012.
    pub received_at: Option<String>,
    pub committed_at: String,
    /// The PII kinds scrubbed from free text; `None` before migration 0012.
    pub pii_removed: Option<serde_json::Value>,
}

/// A dead letter, without its payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterFacts {
    pub position: SourcePosition,
    pub transaction_id: Option<String>,
    pub reason: String,
    pub detail: String,
    pub received_at: String,
    /// `None` for dead letters committed before migration 0012.
    pub committed_at: Option<String>,
}

/// A record seen again after it was committed, with the same content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayFacts {
    pub position: SourcePosition,
    pub seen_at: String,
}

/// What a transaction id names in the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdFacts {
    pub row: Option<RowFacts>,
    /// Its decision-log entry (the first, if ever more than one).
    pub decision: Option<DecisionEntry>,
    /// Dead letters carrying the id: `duplicate_id` ones, or records that failed validation.
    pub dead_letters: Vec<DeadLetterFacts>,
    pub replays: Vec<ReplayFacts>,
}

/// What a source position holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionFacts {
    /// The id of the row read there.
    pub row: Option<String>,
    pub dead_letter: Option<DeadLetterFacts>,
    /// The id of the committed record that was replayed from there.
    pub replay_of: Option<String>,
}

/// One message published for a record: acknowledged (`offset` set) or still in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicationFacts {
    pub topic: String,
    /// `None` while the relay has not chosen it yet.
    pub partition: Option<i32>,
    /// `None` while the message waits in the outbox.
    pub offset: Option<i64>,
    pub published_at: Option<String>,
}

/// The export-ledger range holding a decision-log row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerFacts {
    /// `(start, end]`.
    pub start_seq: i64,
    pub end_seq: i64,
    /// `pending` or `done`.
    pub status: String,
    pub objects: Vec<String>,
    pub finished_at: Option<String>,
}

/// An account's erasures and the data key it holds now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErasureFacts {
    /// `(erased_at, destroyed key id)`, oldest first.
    pub erasures: Vec<(String, Option<String>)>,
    pub current_key_id: Option<String>,
}

pub trait LineageQueries: Send + Sync + 'static {
    /// The row, decision, dead letters and replays of a transaction id.
    fn facts_by_id<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, IdFacts>;
    fn facts_at<'a>(&'a self, at: &'a SourcePosition) -> Fut<'a, PositionFacts>;
    /// The messages published (or waiting to be) for the record read at `at`.
    fn publications_of<'a>(&'a self, at: &'a SourcePosition) -> Fut<'a, Vec<PublicationFacts>>;
    /// The export range that covers decision-log row `seq`, if one was claimed.
    fn export_covering(&self, seq: i64) -> Fut<'_, Option<LedgerFacts>>;
    /// A workflow's state, steps and case, on either backend.
    fn workflow_of<'a>(&'a self, workflow_id: &'a str) -> Fut<'a, Option<Investigation>>;
    fn erasure_of<'a>(&'a self, account_id: &'a str) -> Fut<'a, ErasureFacts>;
    /// Checks the hash chain from genesis through row `seq`.
    fn chain_verified_through(&self, seq: i64) -> Fut<'_, VerifyReport>;
}

/// The encrypted customer fields, in the order the row query returns their flags.
pub(crate) const ENCRYPTED_FIELDS: [&str; 4] =
    ["customer_name", "customer_email", "card_number", "iban"];

/// A header of an outbox message (its `headers` column holds a JSON object of strings).
fn header(d: Dialect, key: &str) -> String {
    match d {
        Dialect::Postgres => format!("(o.headers::jsonb ->> '{key}')"),
        Dialect::Sqlite => format!("json_extract(o.headers, '$.\"{key}\"')"),
    }
}

/// The lineage statements of one dialect, built once.
pub(crate) struct LineageStatements {
    /// `$1` transaction id: `[transactions, quarantine]`.
    pub row: [String; 2],
    /// `$1` source, `$2` partition, `$3` offset: the id of the row read there.
    pub row_at: [String; 2],
    pub dead_letters_with_id: String,
    pub dead_letter_at: String,
    pub replays_of: String,
    pub replay_at: String,
    pub publications_of: String,
    /// `$1` source, `$2` partition, `$3` offset, the last two as text (header values).
    pub pending_publications_of: String,
    /// `$1` seq.
    pub export_covering: String,
    /// `$1` account.
    pub erasures_of: String,
    pub current_key_of: &'static str,
    /// Where settled outbox messages landed, into `publications`: this head, then the
    /// publication time, then [`Self::publish_tail`]. The caller supplies `d(id, off)`: the
    /// delivered outbox ids and their offsets (a CTE).
    pub publish_head: String,
    /// Only messages the relay marked and that carry their record's source position (every
    /// message `outbox::entries` writes does).
    pub publish_tail: String,
}

static POSTGRES: LazyLock<LineageStatements> =
    LazyLock::new(|| LineageStatements::new(Dialect::Postgres));
static SQLITE: LazyLock<LineageStatements> =
    LazyLock::new(|| LineageStatements::new(Dialect::Sqlite));

pub(crate) fn statements(d: Dialect) -> &'static LineageStatements {
    match d {
        Dialect::Postgres => &POSTGRES,
        Dialect::Sqlite => &SQLITE,
    }
}

const AT: &str = "source = $1 AND source_partition = $2 AND source_offset = $3";

impl LineageStatements {
    fn new(d: Dialect) -> Self {
        let text = |c: &str| d.cast(c, "text");
        let row_cols = format!(
            "transaction_id, account_id, {}, {}, currency, merchant, mcc, country, channel, category, \
             key_id, risk_score, {}, decision, {}, policy_version, source, source_partition, source_offset, \
             {}, {}, pii_removed, customer_name_enc IS NOT NULL, customer_email_enc IS NOT NULL, \
             card_number_enc IS NOT NULL, iban_enc IS NOT NULL",
            d.ts_text("ts"),
            text("amount"),
            text("findings"),
            text("reasons"),
            d.ts_text("received_at"),
            d.ts_text("committed_at"),
        );
        let dead_cols = format!(
            "source, source_partition, source_offset, transaction_id, reason, detail, {}, {}",
            d.ts_text("received_at"),
            d.ts_text("committed_at")
        );
        let int = |e: String| match d {
            Dialect::Postgres => format!("{e}::int8"),
            Dialect::Sqlite => format!("CAST({e} AS INTEGER)"),
        };
        Self {
            row: ["transactions", "quarantine"]
                .map(|t| format!("SELECT {row_cols} FROM {t} WHERE transaction_id = $1")),
            row_at: ["transactions", "quarantine"]
                .map(|t| format!("SELECT transaction_id FROM {t} WHERE {AT} LIMIT 1")),
            dead_letters_with_id: format!(
                "SELECT {dead_cols} FROM dead_letters WHERE transaction_id = $1 \
                 ORDER BY received_at, source, source_partition, source_offset LIMIT 100"
            ),
            dead_letter_at: format!("SELECT {dead_cols} FROM dead_letters WHERE {AT}"),
            replays_of: format!(
                "SELECT source, source_partition, source_offset, {} FROM record_replays \
                 WHERE transaction_id = $1 ORDER BY seen_at, source, source_offset LIMIT 100",
                d.ts_text("seen_at")
            ),
            replay_at: format!("SELECT transaction_id FROM record_replays WHERE {AT} LIMIT 1"),
            publications_of: format!(
                "SELECT topic, out_partition, out_offset, {} FROM publications WHERE {AT} \
                 ORDER BY published_at, topic",
                d.ts_text("published_at")
            ),
            pending_publications_of: format!(
                "SELECT o.topic, o.out_partition FROM outbox o WHERE {} = $1 AND {} = $2 AND {} = $3 \
                 ORDER BY o.id LIMIT 100",
                header(d, "pfm-source"),
                header(d, "pfm-source-partition"),
                header(d, "pfm-source-offset"),
            ),
            export_covering: format!(
                "SELECT start_seq, end_seq, status, {}, {} FROM export_ledger WHERE start_seq < $1 \
                 ORDER BY start_seq DESC LIMIT 1",
                text("objects"),
                d.ts_text("finished_at")
            ),
            erasures_of: format!(
                "SELECT {}, key_id FROM erasures WHERE account_id = $1 ORDER BY id",
                d.ts_text("erased_at")
            ),
            current_key_of: "SELECT key_id FROM data_keys WHERE account_id = $1",
            publish_head: format!(
                "INSERT INTO publications (topic, out_partition, out_offset, source, source_partition, \
                 source_offset, published_at) SELECT o.topic, o.out_partition, d.off, {}, {}, {}, ",
                header(d, "pfm-source"),
                match d {
                    Dialect::Postgres => format!("{}::int4", header(d, "pfm-source-partition")),
                    Dialect::Sqlite => int(header(d, "pfm-source-partition")),
                },
                int(header(d, "pfm-source-offset")),
            ),
            publish_tail: format!(
                " FROM outbox o JOIN d ON o.id = d.id WHERE o.out_partition IS NOT NULL \
                 AND {} IS NOT NULL ON CONFLICT DO NOTHING",
                header(d, "pfm-source")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_follow_their_dialect() {
        let pg = statements(Dialect::Postgres);
        assert!(
            pg.row[0].contains("to_char(ts AT TIME ZONE 'UTC'"),
            "{}",
            pg.row[0]
        );
        assert!(pg.row[1].ends_with("FROM quarantine WHERE transaction_id = $1"));
        assert!(pg
            .publish_head
            .contains("(o.headers::jsonb ->> 'pfm-source-offset')::int8"));
        let lite = statements(Dialect::Sqlite);
        for text in [&lite.row[0], &lite.export_covering, &lite.publish_head] {
            assert!(!text.contains("::"), "{text}");
        }
        assert!(lite
            .pending_publications_of
            .contains(r#"json_extract(o.headers, '$."pfm-source"') = $1"#));
    }
}
