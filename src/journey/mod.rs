//! The journey of one record: the regulator's question "the complete journey of this
//! transaction record from source system to reporting database", answered from stored facts
//! only (`pipeline lineage`, and the MCP server's `record_lineage`).
//!
//! From a transaction id or a source position it finds what the record became (a
//! transaction, a quarantined record, a dead letter, a replay of a committed one) and
//! follows it: where it was read, when it arrived and committed, what each stage did (PII
//! kinds removed, category, detector findings, the policy's decision, reasons and version),
//! its decision-log entry with the hash chain verified up to it, the table it landed in,
//! where it was published, the lake object and export range that hold it, its investigation
//! and whether its account was erased. It never shows PII: not even ciphertexts, only which
//! fields were encrypted and under which key.
//!
//! A layer between `store` and the layer-4 modules: the app (the command) and the MCP
//! server both use it.

mod position;
mod text;

pub use position::{parse_position, Origin, PositionError};

use crate::store::{
    DeadLetterFacts, IdFacts, Investigation, LedgerFacts, LineageQueries, PublicationFacts,
    ReplayFacts, RowFacts, SourcePosition, StoreError, VerifyReport,
};
use serde::Serialize;

/// What the journey is asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    TransactionId(String),
    SourcePosition(SourcePosition),
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TransactionId(id) => write!(f, "transaction_id {id:?}"),
            Self::SourcePosition(p) => write!(f, "source position {}", Origin::of(p).describe()),
        }
    }
}

/// One record's path through the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journey {
    pub query: Lookup,
    /// What the record asked about became: `transaction`, `quarantine`, `dead_letter`, or
    /// `replay` (a position where a committed record was read again).
    pub path: &'static str,
    pub transaction_id: Option<String>,
    /// The governed record with this id: for a `duplicate_id` dead letter or a replay, the
    /// original that was committed first.
    pub record: Option<RecordJourney>,
    /// Dead letters: the one asked about, or every one carrying the id (a `duplicate_id`
    /// is a later record that reused it with different content).
    pub dead_letters: Vec<DeadLetterJourney>,
    /// Where and when the committed record was read again with the same content. A replay
    /// changes nothing: no row, decision or publication.
    pub replays: Vec<ReplayFacts>,
}

/// A governed record from its source position to the lake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordJourney {
    pub source: Origin,
    /// When the pipeline took the record's batch from its source (`null`: committed
    /// before this was recorded).
    pub received_at: Option<String>,
    pub decided_at: Option<String>,
    pub committed_at: String,
    pub record: RecordSummary,
    pub stages: Stages,
    /// The table it landed in: `transactions` (allow, review) or `quarantine` (deny).
    pub table: &'static str,
    pub decision_log: Option<DecisionLogEntry>,
    /// Messages published for it (topic, partition, offset), or waiting in the outbox.
    pub published: Vec<PublicationFacts>,
    pub lake: Lake,
    /// The investigation a `review` decision started.
    pub investigation: Option<Investigation>,
    pub erasure: ErasureState,
}

/// The record's identity, without PII.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSummary {
    pub account_id: String,
    pub timestamp: String,
    pub amount: String,
    pub currency: String,
    pub merchant: String,
    pub mcc: String,
    pub country: String,
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stages {
    pub scrub: ScrubStage,
    pub categorise: CategoriseStage,
    pub risk: RiskStage,
    pub govern: GovernStage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScrubStage {
    /// PII kinds removed from free text (replaced by tokens); `null`: not recorded.
    pub pii_removed: Option<serde_json::Value>,
    /// Customer fields the protect stage encrypted with the account's data key.
    pub encrypted_fields: Vec<&'static str>,
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoriseStage {
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskStage {
    pub score: f64,
    pub findings: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovernStage {
    pub decision: String,
    pub reasons: serde_json::Value,
    pub policy_path: Option<String>,
    pub policy_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionLogEntry {
    pub seq: i64,
    pub row_hash: String,
    pub prev_hash: String,
    /// `null` until checked ([`Journey::verify_chain`]).
    pub chain: Option<ChainStatus>,
}

/// Whether the decision log's hash chain verifies from genesis through the record's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainStatus {
    pub verified: bool,
    pub through_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ChainStatus {
    pub fn from_report(through_seq: i64, r: &VerifyReport) -> Self {
        match r {
            VerifyReport::Intact { .. } => Self {
                verified: true,
                through_seq,
                first_broken_seq: None,
                problem: None,
            },
            VerifyReport::Broken { seq, problem } => Self {
                verified: false,
                through_seq,
                first_broken_seq: Some(*seq),
                problem: Some(problem.clone()),
            },
        }
    }
}

/// Where the record is in the lake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lake {
    /// `exported` (its range is done), `exporting` (claimed, not done), `waiting` (no range
    /// covers it yet: export off, or not its turn) or `not_applicable` (no decision).
    pub status: &'static str,
    /// The decision-log range `(start, end]` its objects belong to.
    pub range: Option<(i64, i64)>,
    pub object_key: Option<String>,
    pub decision_log_object_key: Option<String>,
    pub exported_at: Option<String>,
}

/// Erasure of the record's account (crypto-shredding: its data key is destroyed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErasureState {
    pub account_erased: bool,
    pub erased_at: Option<String>,
    pub destroyed_key_ids: Vec<String>,
    /// `none_stored` (no encrypted PII), `readable` (its key exists) or `shredded` (its key
    /// was destroyed: no one can read it, anywhere).
    pub record_pii: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterJourney {
    pub source: Origin,
    pub transaction_id: Option<String>,
    /// `bad_json`, `invalid_field`, `duplicate_id`, …
    pub reason: String,
    pub detail: String,
    pub received_at: String,
    pub committed_at: Option<String>,
    /// The dead-letter topic's message, when Kafka was the source.
    pub published: Vec<PublicationFacts>,
}

/// Follows the record named by `lookup`; `None` when nothing stored names it. The chain is
/// not checked yet: [`Journey::verify_chain`] or [`Journey::set_chain`] does that.
pub async fn trace<S: LineageQueries + ?Sized>(
    store: &S,
    lookup: &Lookup,
) -> Result<Option<Journey>, StoreError> {
    let (id, asked_dead, asked_replay) = match lookup {
        Lookup::TransactionId(id) => (Some(id.clone()), None, false),
        Lookup::SourcePosition(at) => {
            let found = store.facts_at(at).await?;
            match (found.row, found.dead_letter, found.replay_of) {
                (Some(id), _, _) => (Some(id), None, false),
                (None, Some(dead), _) => (dead.transaction_id.clone(), Some(dead), false),
                (None, None, Some(id)) => (Some(id), None, true),
                (None, None, None) => return Ok(None),
            }
        }
    };
    let facts = match &id {
        Some(id) => store.facts_by_id(id).await?,
        None => IdFacts::default(),
    };
    let asked_a_dead_letter = asked_dead.is_some();
    let dead: Vec<DeadLetterFacts> = match asked_dead {
        Some(d) => vec![d],
        None => facts.dead_letters.clone(),
    };
    let path = if asked_replay {
        "replay"
    } else if asked_a_dead_letter {
        "dead_letter"
    } else if let Some(r) = &facts.row {
        path_of(r.table)
    } else if !dead.is_empty() {
        "dead_letter"
    } else {
        return Ok(None);
    };
    let record = match &facts.row {
        Some(row) => Some(record_journey(store, row, &facts).await?),
        None => None,
    };
    let mut dead_letters = Vec::with_capacity(dead.len());
    for d in dead {
        dead_letters.push(DeadLetterJourney {
            source: Origin::of(&d.position),
            published: store.publications_of(&d.position).await?,
            transaction_id: d.transaction_id,
            reason: d.reason,
            detail: d.detail,
            received_at: d.received_at,
            committed_at: d.committed_at,
        });
    }
    Ok(Some(Journey {
        query: lookup.clone(),
        path,
        transaction_id: id,
        record,
        dead_letters,
        replays: facts.replays,
    }))
}

fn path_of(table: &str) -> &'static str {
    if table == "quarantine" {
        "quarantine"
    } else {
        "transaction"
    }
}

async fn record_journey<S: LineageQueries + ?Sized>(
    store: &S,
    row: &RowFacts,
    facts: &IdFacts,
) -> Result<RecordJourney, StoreError> {
    let entry = facts.decision.as_ref();
    let ledger = match entry {
        Some(e) => store.export_covering(e.seq).await?,
        None => None,
    };
    let investigation = store
        .workflow_of(&format!("investigation:{}", row.transaction_id))
        .await?;
    let erasures = store.erasure_of(&row.account_id).await?;
    let destroyed: Vec<String> = erasures
        .erasures
        .iter()
        .filter_map(|(_, k)| k.clone())
        .collect();
    let record_pii = match &row.key_id {
        None => "none_stored",
        Some(k) if erasures.current_key_id.as_ref() == Some(k) => "readable",
        Some(_) => "shredded",
    };
    Ok(RecordJourney {
        source: Origin::of(&row.position),
        received_at: row.received_at.clone(),
        decided_at: entry.map(|e| e.decided_at.clone()),
        committed_at: row.committed_at.clone(),
        record: RecordSummary {
            account_id: row.account_id.clone(),
            timestamp: row.timestamp.clone(),
            amount: row.amount.clone(),
            currency: row.currency.clone(),
            merchant: row.merchant.clone(),
            mcc: row.mcc.clone(),
            country: row.country.clone(),
            channel: row.channel.clone(),
        },
        stages: Stages {
            scrub: ScrubStage {
                pii_removed: row.pii_removed.clone(),
                encrypted_fields: row.encrypted_fields.clone(),
                key_id: row.key_id.clone(),
            },
            categorise: CategoriseStage {
                category: row.category.clone(),
            },
            risk: RiskStage {
                score: row.risk_score,
                findings: row.findings.clone(),
            },
            govern: GovernStage {
                decision: row.decision.clone(),
                reasons: row.reasons.clone(),
                policy_path: entry.map(|e| e.policy_path.clone()),
                policy_version: row.policy_version.clone(),
            },
        },
        table: row.table,
        decision_log: entry.map(|e| DecisionLogEntry {
            seq: e.seq,
            row_hash: e.row_hash.clone(),
            prev_hash: e.prev_hash.clone(),
            chain: None,
        }),
        published: store.publications_of(&row.position).await?,
        lake: lake(row, entry.map(|e| e.decided_at.as_str()), ledger),
        investigation,
        erasure: ErasureState {
            account_erased: !erasures.erasures.is_empty(),
            erased_at: erasures.erasures.last().map(|(at, _)| at.clone()),
            destroyed_key_ids: destroyed,
            record_pii,
        },
    })
}

/// The lake objects named by the exporter's rule (`ExportRange::object_key`): the row's by
/// the date of its timestamp, the decision's by the date it was made.
fn lake(row: &RowFacts, decided_at: Option<&str>, ledger: Option<LedgerFacts>) -> Lake {
    let Some(decided_at) = decided_at else {
        return Lake {
            status: "not_applicable",
            range: None,
            object_key: None,
            decision_log_object_key: None,
            exported_at: None,
        };
    };
    let Some(l) = ledger else {
        return Lake {
            status: "waiting",
            range: None,
            object_key: None,
            decision_log_object_key: None,
            exported_at: None,
        };
    };
    let range = crate::store::ExportRange {
        start: l.start_seq,
        end: l.end_seq,
    };
    let date = |ts: &str| {
        chrono::DateTime::parse_from_rfc3339(ts)
            .map(|t| t.to_utc().date_naive().to_string())
            .unwrap_or_else(|_| ts.get(..10).unwrap_or(ts).to_owned())
    };
    let row_key = range.object_key(row.table, &date(&row.timestamp));
    let decision_key = range.object_key("decision_log", decided_at.get(..10).unwrap_or(decided_at));
    let done = l.status == "done";
    // A done range lists the objects it wrote: name only those.
    let listed = |k: String| (!done || l.objects.contains(&k)).then_some(k);
    Lake {
        status: if done { "exported" } else { "exporting" },
        range: Some((l.start_seq, l.end_seq)),
        object_key: listed(row_key),
        decision_log_object_key: listed(decision_key),
        exported_at: l.finished_at,
    }
}

impl Journey {
    /// The decision-log row the journey rests on: `(seq, stored hash)`.
    pub fn decision_row(&self) -> Option<(i64, &str)> {
        let e = self.record.as_ref()?.decision_log.as_ref()?;
        Some((e.seq, e.row_hash.as_str()))
    }

    pub fn set_chain(&mut self, status: ChainStatus) {
        if let Some(e) = self.record.as_mut().and_then(|r| r.decision_log.as_mut()) {
            e.chain = Some(status);
        }
    }

    /// Checks the hash chain from genesis through the record's decision-log row.
    pub async fn verify_chain<S: LineageQueries + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<(), StoreError> {
        if let Some((seq, _)) = self.decision_row() {
            let report = store.chain_verified_through(seq).await?;
            self.set_chain(ChainStatus::from_report(seq, &report));
        }
        Ok(())
    }

    /// The readable form (`--format text`).
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}
